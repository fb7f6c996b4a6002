/* bn_kernels.c: batch-norm passes over (rows, C), channels last (see bn_kernels.h). Each pass is a parallel
 * loop over blocks of rows calling a vectorised per-block function; lanes run across channels. */
#include "layers/bn_kernels.h"

#include <stdint.h>

#include "layers/simd.h"

/* Chunks of a sum (at most; fewer when there are fewer rows) and rows summed in float before each addition
 * into double. Both are fixed, so the sums do not depend on the thread count. */
#define CHUNKS 64
#define FLOAT_ROWS 32

typedef struct {
    float *f0, *f1;  /* (C) float block accumulators */
    double *d0, *d1; /* (C) chunk sums */
} chunk_acc;

size_t df_bn_scratch_bytes(int C) { return (size_t)CHUNKS * C * (2 * sizeof(float) + 2 * sizeof(double)); }

static chunk_acc chunk_of(void *scratch, int C, int ch) {
    double *d = (double *)scratch + (size_t)ch * 2 * C;
    float *f = (float *)((double *)scratch + (size_t)CHUNKS * 2 * C) + (size_t)ch * 2 * C;
    chunk_acc a = {f, f + C, d, d + C};
    return a;
}

static int n_chunks(size_t rows) { return rows < CHUNKS ? (int)rows : CHUNKS; }

/* Over rows [r0, r1): d0 = sum (x - k), d1 = sum (x - k)^2. The shift k (a sample of the channel) keeps the
 * variance from cancelling when the mean is large against the spread. */
DF_SIMD_CLONES static void stats_chunk(const float *restrict x, size_t r0, size_t r1, int C,
                                       const float *restrict k, float *restrict f0, float *restrict f1,
                                       double *restrict d0, double *restrict d1) {
    for (int c = 0; c < C; c++) d0[c] = d1[c] = 0.0;
    for (size_t r = r0; r < r1; r += FLOAT_ROWS) {
        size_t re = r + FLOAT_ROWS < r1 ? r + FLOAT_ROWS : r1;
        for (int c = 0; c < C; c++) f0[c] = f1[c] = 0.0f;
        for (size_t rr = r; rr < re; rr++) {
            const float *xr = x + rr * C;
            for (int c = 0; c < C; c++) {
                float v = xr[c] - k[c];
                f0[c] += v;
                f1[c] += v * v;
            }
        }
        for (int c = 0; c < C; c++) {
            d0[c] += f0[c];
            d1[c] += f1[c];
        }
    }
}

void df_bn_stats(size_t rows, int C, const float *x, double *mean, double *var, void *scratch) {
    const int nc = n_chunks(rows);
    const float *k = x; /* row 0 */
#pragma omp parallel for schedule(static)
    for (int ch = 0; ch < nc; ch++) {
        chunk_acc a = chunk_of(scratch, C, ch);
        stats_chunk(x, rows * ch / nc, rows * (ch + 1) / nc, C, k, a.f0, a.f1, a.d0, a.d1);
    }
    for (int c = 0; c < C; c++) {
        double s = 0, q = 0;
        for (int ch = 0; ch < nc; ch++) {
            chunk_acc a = chunk_of(scratch, C, ch);
            s += a.d0[c];
            q += a.d1[c];
        }
        double m = s / (double)rows, v = q / (double)rows - m * m;
        mean[c] = (double)k[c] + m;
        var[c] = v < 0 ? 0 : v;
    }
}

DF_SIMD_CLONES static void apply_rows(const float *x, float *y, size_t n_rows, int C, const float *restrict scale,
                                      const float *restrict shift, int relu) {
    for (size_t r = 0; r < n_rows; r++) {
        const float *xr = x + r * C;
        float *yr = y + r * C;
        if (relu)
            for (int c = 0; c < C; c++) {
                float v = xr[c] * scale[c] + shift[c];
                yr[c] = v < 0.0f ? 0.0f : v; /* a NaN passes through */
            }
        else
            for (int c = 0; c < C; c++) yr[c] = xr[c] * scale[c] + shift[c];
    }
}

static size_t rows_per_block(int C) {
    size_t r = DF_ELEMENTS_PER_BLOCK / (size_t)C;
    return r ? r : 1;
}

void df_bn_apply(size_t rows, int C, const float *x, float *y, const float *scale, const float *shift,
                 int relu) {
    const size_t rb = rows_per_block(C);
    const long nb = (long)((rows + rb - 1) / rb);
#pragma omp parallel for schedule(static)
    for (long b = 0; b < nb; b++) {
        size_t r0 = (size_t)b * rb, n = rows - r0 < rb ? rows - r0 : rb;
        apply_rows(x + r0 * C, y + r0 * C, n, C, scale, shift, relu);
    }
}

DF_SIMD_CLONES static void grad_sums_chunk(const float *restrict dy, const float *restrict x, size_t r0,
                                           size_t r1, int C, const float *restrict mean,
                                           const float *restrict rs, const float *restrict rh,
                                           float *restrict f0, float *restrict f1, double *restrict d0,
                                           double *restrict d1) {
    for (int c = 0; c < C; c++) d0[c] = d1[c] = 0.0;
    for (size_t r = r0; r < r1; r += FLOAT_ROWS) {
        size_t re = r + FLOAT_ROWS < r1 ? r + FLOAT_ROWS : r1;
        for (int c = 0; c < C; c++) f0[c] = f1[c] = 0.0f;
        for (size_t rr = r; rr < re; rr++) {
            const float *xr = x + rr * C, *gr = dy + rr * C;
            if (rs)
                for (int c = 0; c < C; c++) {
                    float g = xr[c] * rs[c] + rh[c] > 0.0f ? gr[c] : 0.0f;
                    f0[c] += g;
                    f1[c] += g * (xr[c] - mean[c]);
                }
            else
                for (int c = 0; c < C; c++) {
                    f0[c] += gr[c];
                    f1[c] += gr[c] * (xr[c] - mean[c]);
                }
        }
        for (int c = 0; c < C; c++) {
            d0[c] += f0[c];
            d1[c] += f1[c];
        }
    }
}

void df_bn_grad_sums(size_t rows, int C, const float *dy, const float *x, const float *mean,
                     const float *relu_scale, const float *relu_shift, double *sg, double *sgc, void *scratch) {
    const int nc = n_chunks(rows);
#pragma omp parallel for schedule(static)
    for (int ch = 0; ch < nc; ch++) {
        chunk_acc a = chunk_of(scratch, C, ch);
        grad_sums_chunk(dy, x, rows * ch / nc, rows * (ch + 1) / nc, C, mean, relu_scale, relu_shift, a.f0,
                        a.f1, a.d0, a.d1);
    }
    for (int c = 0; c < C; c++) {
        double s = 0, q = 0;
        for (int ch = 0; ch < nc; ch++) {
            chunk_acc a = chunk_of(scratch, C, ch);
            s += a.d0[c];
            q += a.d1[c];
        }
        sg[c] = s;
        sgc[c] = q;
    }
}

DF_SIMD_CLONES static void grad_apply_rows(const float *dy, const float *x, float *dx, size_t n_rows, int C,
                                           const float *restrict mean, const float *restrict rs,
                                           const float *restrict rh, const float *restrict a,
                                           const float *restrict b, const float *restrict d, int acc) {
    for (size_t r = 0; r < n_rows; r++) {
        const float *xr = x + r * C, *gr = dy + r * C;
        float *dr = dx + r * C;
        if (rs && acc)
            for (int c = 0; c < C; c++) {
                float g = xr[c] * rs[c] + rh[c] > 0.0f ? gr[c] : 0.0f;
                dr[c] += a[c] * g + b[c] * (xr[c] - mean[c]) + d[c];
            }
        else if (rs)
            for (int c = 0; c < C; c++) {
                float g = xr[c] * rs[c] + rh[c] > 0.0f ? gr[c] : 0.0f;
                dr[c] = a[c] * g + b[c] * (xr[c] - mean[c]) + d[c];
            }
        else if (acc)
            for (int c = 0; c < C; c++) dr[c] += a[c] * gr[c] + b[c] * (xr[c] - mean[c]) + d[c];
        else
            for (int c = 0; c < C; c++) dr[c] = a[c] * gr[c] + b[c] * (xr[c] - mean[c]) + d[c];
    }
}

void df_bn_grad_apply(size_t rows, int C, const float *dy, const float *x, float *dx, const float *mean,
                      const float *relu_scale, const float *relu_shift, const float *a, const float *b,
                      const float *d, int accumulate) {
    const size_t rb = rows_per_block(C);
    const long nb = (long)((rows + rb - 1) / rb);
#pragma omp parallel for schedule(static)
    for (long k = 0; k < nb; k++) {
        size_t r0 = (size_t)k * rb, n = rows - r0 < rb ? rows - r0 : rb;
        grad_apply_rows(dy + r0 * C, x + r0 * C, dx + r0 * C, n, C, mean, relu_scale, relu_shift, a, b, d,
                        accumulate);
    }
}
