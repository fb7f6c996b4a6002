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

static inline float relu_of(float v) { return v < 0.0f ? 0.0f : v; /* a NaN passes through */ }

/* s0[c], s1[c] = the chunks' d0[c], d1[c] added in chunk order. */
static void sum_chunks(void *scratch, int C, int nc, double *s0, double *s1) {
    for (int c = 0; c < C; c++) {
        double s = 0, q = 0;
        for (int ch = 0; ch < nc; ch++) {
            chunk_acc a = chunk_of(scratch, C, ch);
            s += a.d0[c];
            q += a.d1[c];
        }
        s0[c] = s;
        s1[c] = q;
    }
}

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
    sum_chunks(scratch, C, nc, mean, var); /* sums of x - k and (x - k)^2 */
    for (int c = 0; c < C; c++) {
        double m = mean[c] / (double)rows, v = var[c] / (double)rows - m * m;
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
            for (int c = 0; c < C; c++) yr[c] = relu_of(xr[c] * scale[c] + shift[c]);
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
    sum_chunks(scratch, C, nc, sg, sgc);
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

/* Batch norm, a residual and ReLU (bn_kernels.h): y = max((x * scale + shift) + r, 0); backward masks dy by
 * y > 0. */
DF_SIMD_CLONES static void add_relu_rows(const float *x, const float *r, float *y, size_t n_rows, int C,
                                         const float *restrict scale, const float *restrict shift) {
    for (size_t i = 0; i < n_rows; i++) {
        const float *xr = x + i * C, *rr = r + i * C;
        float *yr = y + i * C;
        for (int c = 0; c < C; c++) {
            float t = xr[c] * scale[c] + shift[c];
            yr[c] = relu_of(t + rr[c]);
        }
    }
}

void df_bn_add_relu_apply(size_t rows, int C, const float *x, const float *r, float *y, const float *scale,
                          const float *shift) {
    const size_t rb = rows_per_block(C);
    const long nb = (long)((rows + rb - 1) / rb);
#pragma omp parallel for schedule(static)
    for (long b = 0; b < nb; b++) {
        size_t r0 = (size_t)b * rb, n = rows - r0 < rb ? rows - r0 : rb;
        add_relu_rows(x + r0 * C, r + r0 * C, y + r0 * C, n, C, scale, shift);
    }
}

DF_SIMD_CLONES static void masked_sums_chunk(const float *restrict dy, const float *restrict y,
                                             const float *restrict x, size_t r0, size_t r1, int C,
                                             const float *restrict mean, float *restrict f0, float *restrict f1,
                                             double *restrict d0, double *restrict d1) {
    for (int c = 0; c < C; c++) d0[c] = d1[c] = 0.0;
    for (size_t r = r0; r < r1; r += FLOAT_ROWS) {
        size_t re = r + FLOAT_ROWS < r1 ? r + FLOAT_ROWS : r1;
        for (int c = 0; c < C; c++) f0[c] = f1[c] = 0.0f;
        for (size_t rr = r; rr < re; rr++) {
            const float *xr = x + rr * C, *gr = dy + rr * C, *yr = y + rr * C;
            for (int c = 0; c < C; c++) {
                float g = yr[c] > 0.0f ? gr[c] : 0.0f;
                f0[c] += g;
                f1[c] += g * (xr[c] - mean[c]);
            }
        }
        for (int c = 0; c < C; c++) {
            d0[c] += f0[c];
            d1[c] += f1[c];
        }
    }
}

void df_bn_add_relu_grad_sums(size_t rows, int C, const float *dy, const float *y, const float *x,
                              const float *mean, double *sg, double *sgc, void *scratch) {
    const int nc = n_chunks(rows);
#pragma omp parallel for schedule(static)
    for (int ch = 0; ch < nc; ch++) {
        chunk_acc a = chunk_of(scratch, C, ch);
        masked_sums_chunk(dy, y, x, rows * ch / nc, rows * (ch + 1) / nc, C, mean, a.f0, a.f1, a.d0, a.d1);
    }
    sum_chunks(scratch, C, nc, sg, sgc);
}

/* One output of the masked backward: stored, or added when acc. */
static inline void put(float *p, float v, int acc) { *p = acc ? *p + v : v; }

DF_SIMD_CLONES static void masked_apply_rows(const float *dy, const float *y, const float *x, float *dx,
                                             float *dr, size_t n_rows, int C, const float *restrict mean,
                                             const float *restrict a, const float *restrict b,
                                             const float *restrict d, int acc_x, int acc_r) {
    for (size_t r = 0; r < n_rows; r++) {
        const float *xr = x + r * C, *gr = dy + r * C, *yr = y + r * C;
        float *dxr = dx ? dx + r * C : NULL, *drr = dr ? dr + r * C : NULL;
        if (dxr)
            for (int c = 0; c < C; c++) {
                float g = yr[c] > 0.0f ? gr[c] : 0.0f;
                put(dxr + c, a[c] * g + b[c] * (xr[c] - mean[c]) + d[c], acc_x);
            }
        if (drr)
            for (int c = 0; c < C; c++) put(drr + c, yr[c] > 0.0f ? gr[c] : 0.0f, acc_r);
    }
}

void df_bn_add_relu_grad_apply(size_t rows, int C, const float *dy, const float *y, const float *x, float *dx,
                               float *dr, const float *mean, const float *a, const float *b, const float *d,
                               int accumulate_x, int accumulate_r) {
    const size_t rb = rows_per_block(C);
    const long nb = (long)((rows + rb - 1) / rb);
#pragma omp parallel for schedule(static)
    for (long k = 0; k < nb; k++) {
        size_t r0 = (size_t)k * rb, n = rows - r0 < rb ? rows - r0 : rb;
        masked_apply_rows(dy + r0 * C, y + r0 * C, x + r0 * C, dx ? dx + r0 * C : NULL, dr ? dr + r0 * C : NULL, n,
                          C, mean, a, b, d, accumulate_x, accumulate_r);
    }
}

/* Batch norm, ReLU and 2x2/2 max pooling over (B, H, W, C) in NHWC. Output row (b, oh) of the pooling covers
 * input rows 2oh and 2oh+1 of image b; its windows are the pixel pairs (2ow, 2ow+1) of both. Inside a window
 * the taps are taken in the order (0,0), (0,1), (1,0), (1,1) exactly as df_maxpool does on the output of
 * df_batchnorm_relu: the first maximum wins, and a NaN wins (so it reaches the output, as in PyTorch). */

/* Whether v takes the place of the window's maximum so far, m. */
static inline int beats(float v, float m) { return v > m || v != v; }

DF_SIMD_CLONES static void pool_apply_row(const float *restrict x0, const float *restrict x1, float *restrict y,
                                          int OW, int C, const float *restrict scale,
                                          const float *restrict shift) {
    for (int ow = 0; ow < OW; ow++) {
        const float *p0 = x0 + (size_t)2 * ow * C, *p1 = p0 + C, *p2 = x1 + (size_t)2 * ow * C, *p3 = p2 + C;
        float *yo = y + (size_t)ow * C;
        for (int c = 0; c < C; c++) {
            float m = relu_of(p0[c] * scale[c] + shift[c]);
            float v = relu_of(p1[c] * scale[c] + shift[c]);
            m = beats(v, m) ? v : m;
            v = relu_of(p2[c] * scale[c] + shift[c]);
            m = beats(v, m) ? v : m;
            v = relu_of(p3[c] * scale[c] + shift[c]);
            yo[c] = beats(v, m) ? v : m;
        }
    }
}

void df_bn_relu_pool_apply(int B, int H, int W, int C, const float *x, float *y, const float *scale,
                           const float *shift) {
    const int OH = H / 2, OW = W / 2;
    const size_t in_row = (size_t)W * C;
#pragma omp parallel for schedule(static)
    for (long r = 0; r < (long)B * OH; r++) {
        const float *x0 = x + ((size_t)(r / OH) * H + 2 * (size_t)(r % OH)) * in_row;
        pool_apply_row(x0, x0 + in_row, y + (size_t)r * OW * C, OW, C, scale, shift);
    }
}

/* The pooled gradient gc routed back through the window's max and ReLU: to the tap that won (the forward's
 * comparisons on the same pre-activation values v0..v3) if it passed the ReLU, 0 to the rest. A later tap
 * that wins by exceeding a number (>= 0 after the ReLU) passed it; one that wins by being NaN did not, and
 * neither did a tap 0 that is not positive. Written as selects on floats so the loops vectorise. */
static inline void route_window(float v0, float v1, float v2, float v3, float gc, float g[4]) {
    float r0 = relu_of(v0), r1 = relu_of(v1), r2 = relu_of(v2), r3 = relu_of(v3);
    float m1 = beats(r1, r0) ? r1 : r0, m2 = beats(r2, m1) ? r2 : m1;
    g[3] = r3 > m2 ? gc : 0.0f;
    float rest = beats(r3, m2) ? 0.0f : gc;
    g[2] = r2 > m1 ? rest : 0.0f;
    rest = beats(r2, m1) ? 0.0f : rest;
    g[1] = r1 > r0 ? rest : 0.0f;
    rest = beats(r1, r0) ? 0.0f : rest;
    g[0] = v0 > 0.0f ? rest : 0.0f;
}

DF_SIMD_CLONES static void pool_grad_sums_row(const float *restrict dy, const float *restrict x0,
                                              const float *restrict x1, int OW, int C,
                                              const float *restrict mean, const float *restrict scale,
                                              const float *restrict shift, float *restrict f0,
                                              float *restrict f1) {
    for (int c = 0; c < C; c++) f0[c] = f1[c] = 0.0f;
    for (int ow = 0; ow < OW; ow++) {
        const float *p0 = x0 + (size_t)2 * ow * C, *p1 = p0 + C, *p2 = x1 + (size_t)2 * ow * C, *p3 = p2 + C;
        const float *g = dy + (size_t)ow * C;
        for (int c = 0; c < C; c++) {
            float a0 = p0[c], a1 = p1[c], a2 = p2[c], a3 = p3[c], gc = g[c];
            float v0 = a0 * scale[c] + shift[c], v1 = a1 * scale[c] + shift[c];
            float v2 = a2 * scale[c] + shift[c], v3 = a3 * scale[c] + shift[c];
            float gt[4];
            route_window(v0, v1, v2, v3, gc, gt);
            /* one of the four is nonzero: these sums are that term exactly */
            f0[c] += (gt[0] + gt[1]) + (gt[2] + gt[3]);
            f1[c] += (gt[0] * (a0 - mean[c]) + gt[1] * (a1 - mean[c])) + (gt[2] * (a2 - mean[c]) + gt[3] * (a3 - mean[c]));
        }
    }
}

void df_bn_relu_pool_grad_sums(int B, int H, int W, int C, const float *dy, const float *x, const float *mean,
                               const float *scale, const float *shift, double *sg, double *sgc, void *scratch) {
    const int OH = H / 2, OW = W / 2;
    const size_t in_row = (size_t)W * C, rows = (size_t)B * OH;
    const int nc = n_chunks(rows);
#pragma omp parallel for schedule(static)
    for (int ch = 0; ch < nc; ch++) {
        chunk_acc a = chunk_of(scratch, C, ch);
        for (int c = 0; c < C; c++) a.d0[c] = a.d1[c] = 0.0;
        for (size_t r = rows * ch / nc; r < rows * (ch + 1) / nc; r++) {
            const float *x0 = x + ((r / OH) * H + 2 * (r % OH)) * in_row;
            pool_grad_sums_row(dy + r * OW * C, x0, x0 + in_row, OW, C, mean, scale, shift, a.f0, a.f1);
            for (int c = 0; c < C; c++) {
                a.d0[c] += a.f0[c];
                a.d1[c] += a.f1[c];
            }
        }
    }
    sum_chunks(scratch, C, nc, sg, sgc);
}

/* dx of n pixels that no window covers (the last row or column of an odd size): g = 0. */
DF_SIMD_CLONES static void pool_grad_uncovered(const float *restrict x, float *restrict dx, int n, int C,
                                               const float *restrict mean, const float *restrict b,
                                               const float *restrict d, int acc) {
    for (int p = 0; p < n; p++)
        for (int c = 0; c < C; c++) {
            float v = b[c] * (x[(size_t)p * C + c] - mean[c]) + d[c];
            dx[(size_t)p * C + c] = acc ? dx[(size_t)p * C + c] + v : v;
        }
}

/* dx of the four taps of each window of an output row, stored (ACC 0) or added (ACC 1). */
#define POOL_GRAD_APPLY_LOOP(ACC)                                                                            \
    for (int c = 0; c < C; c++) {                                                                            \
        float a0 = p0[c], a1 = p1[c], a2 = p2[c], a3 = p3[c], gt[4], e;                                      \
        route_window(a0 * scale[c] + shift[c], a1 * scale[c] + shift[c], a2 * scale[c] + shift[c],           \
                     a3 * scale[c] + shift[c], g[c], gt);                                                    \
        e = a[c] * gt[0] + b[c] * (a0 - mean[c]) + d[c], q0[c] = ACC ? q0[c] + e : e;                  \
        e = a[c] * gt[1] + b[c] * (a1 - mean[c]) + d[c], q1[c] = ACC ? q1[c] + e : e;                  \
        e = a[c] * gt[2] + b[c] * (a2 - mean[c]) + d[c], q2[c] = ACC ? q2[c] + e : e;                  \
        e = a[c] * gt[3] + b[c] * (a3 - mean[c]) + d[c], q3[c] = ACC ? q3[c] + e : e;                  \
    }

DF_SIMD_CLONES static void pool_grad_apply_row(const float *restrict dy, const float *restrict x0,
                                               const float *restrict x1, float *restrict d0,
                                               float *restrict d1, int OW, int C, const float *restrict mean,
                                               const float *restrict scale, const float *restrict shift,
                                               const float *restrict a, const float *restrict b,
                                               const float *restrict d, int acc) {
    for (int ow = 0; ow < OW; ow++) {
        const size_t o = (size_t)2 * ow * C;
        const float *p0 = x0 + o, *p1 = p0 + C, *p2 = x1 + o, *p3 = p2 + C;
        float *q0 = d0 + o, *q1 = q0 + C, *q2 = d1 + o, *q3 = q2 + C;
        const float *g = dy + (size_t)ow * C;
        if (acc)
            POOL_GRAD_APPLY_LOOP(1)
        else
            POOL_GRAD_APPLY_LOOP(0)
    }
}

void df_bn_relu_pool_grad_apply(int B, int H, int W, int C, const float *dy, const float *x, float *dx,
                                const float *mean, const float *scale, const float *shift, const float *a,
                                const float *b, const float *d, int accumulate) {
    const int OH = H / 2, OW = W / 2;
    const size_t in_row = (size_t)W * C;
#pragma omp parallel for schedule(static)
    for (long r = 0; r < (long)B * OH; r++) {
        const int oh = (int)(r % OH);
        const size_t off = ((size_t)(r / OH) * H + 2 * (size_t)oh) * in_row;
        pool_grad_apply_row(dy + (size_t)r * OW * C, x + off, x + off + in_row, dx + off, dx + off + in_row, OW,
                            C, mean, scale, shift, a, b, d, accumulate);
        /* Odd sizes: the last column of both rows, and the image's last row with the last output row. */
        for (int i = 0; i < 2 && W % 2; i++) {
            const size_t last = off + i * in_row + (size_t)(W - 1) * C;
            pool_grad_uncovered(x + last, dx + last, 1, C, mean, b, d, accumulate);
        }
        if (H % 2 && oh == OH - 1)
            pool_grad_uncovered(x + off + 2 * in_row, dx + off + 2 * in_row, W, C, mean, b, d, accumulate);
    }
}
