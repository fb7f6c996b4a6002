/* test_conv_direct.c: the convolution kernels that read the patch matrix in place (layers/conv/conv_avx2.h,
 * conv_avx512.h), each against df_sgemm on the stored patch matrix on its own backend: the same bits while
 * the summed dimension fits one of df_sgemm's k blocks, within rounding beyond; the same bits on 1 thread as
 * on 2; a workspace of exactly the advertised size. The direct forward is also the stride-1 input gradient
 * (dY's patches times the flipped weights, trans_b 0), so both directions run on each shape.
 *
 * The shapes cover every tile size of both direct forwards (AVX2: rows of 3..6 pixels for 9..16 channels,
 * 6..12 for up to 8; AVX-512: 7..14 for up to 32, 4..8 for 48, 3..6 for 64), panel rests and masked last
 * vectors, stride 2 (AVX2), and the weight gradients' row and column tiles (AVX2: 1..6 output channels, 8 or
 * 16 input channels; AVX-512: 16-128), one block of pixels and several.
 * Each kernel set runs where the CPU has its instructions; the test exits 77 (skipped) only on a CPU with
 * neither AVX2 nor AVX-512F, where none of these kernels ever runs. */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/gemm/gemm.h"
#include "core/gemm/gemm_internal.h"
#include "layers/conv/conv_avx2.h"
#include "layers/conv/conv_avx512.h"

/* One backend's direct kernels, behind the same signatures. */
typedef struct {
    const char *name;
    df_gemm_backend backend;
    const df_gemm_kernel *gemm; /* its df_sgemm kernel (the k block) */
    int (*fwd_applies)(const df_conv_patches *pt);
    size_t (*ws_floats)(const df_conv_patches *pt, int N, int threads);
    void (*fwd)(const df_conv_patches *pt, int trans_b, int N, float alpha, const float *B, int ldb, float beta,
                float *C, int ldc, float *ws, size_t ws_floats);
    int (*wgrad_applies)(const df_conv_patches *pt);
    void (*wgrad)(int M, float alpha, const float *A, int lda, const df_conv_patches *pt, float beta, float *C,
                  int ldc);
} kernel_set;

/* The inline contracts of the headers as functions. */
static int avx2_fwd_applies(const df_conv_patches *pt) { return df_conv_direct_avx2_applies(pt); }
static size_t avx2_ws(const df_conv_patches *pt, int N, int t) { return df_conv_direct_avx2_ws_floats(pt, N, t); }
static int avx2_wgrad_applies(const df_conv_patches *pt) { return df_conv_wgrad_avx2_applies(pt); }
static int avx512_fwd_applies(const df_conv_patches *pt) { return df_conv_direct_avx512_applies(pt); }
static size_t avx512_ws(const df_conv_patches *pt, int N, int t) { return df_conv_direct_avx512_ws_floats(pt, N, t); }
static int avx512_wgrad_applies(const df_conv_patches *pt) { return df_conv_wgrad_avx512_applies(pt); }

static const kernel_set sets[] = {
    {"avx2", DF_GEMM_AVX2, &df_gemm_kernel_avx2, avx2_fwd_applies, avx2_ws, df_conv_direct_avx2,
     avx2_wgrad_applies, df_conv_wgrad_avx2},
    {"avx512", DF_GEMM_AVX512, &df_gemm_kernel_avx512, avx512_fwd_applies, avx512_ws, df_conv_direct_avx512,
     avx512_wgrad_applies, df_conv_wgrad_avx512},
};

static uint64_t rng_state = 0x2545f4914f6cdd1du;

/* Uniform in [-1, 1), xorshift64*. */
static float frand(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (float)((double)((rng_state * 0x2545f4914f6cdd1du) >> 40) / (double)(1u << 24) * 2.0 - 1.0);
}

static float *random_floats(size_t n) {
    float *m = malloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) m[i] = frand();
    return m;
}

/* The patch matrix, stored: row (b, oh, ow), column (i, j, c). */
static float *stored_patches(const df_conv_patches *pt) {
    const int cols = df_conv_patches_cols(pt);
    float *col = malloc(sizeof(float) * (size_t)df_conv_patches_rows(pt) * cols);
    for (int b = 0; b < pt->n; b++)
        for (int oh = 0; oh < pt->OH; oh++)
            for (int ow = 0; ow < pt->OW; ow++)
                for (int i = 0; i < pt->k; i++)
                    for (int j = 0; j < pt->k; j++) {
                        int h = oh * pt->stride + i - pt->pad, w = ow * pt->stride + j - pt->pad;
                        float *dst = col + (((size_t)b * pt->OH + oh) * pt->OW + ow) * cols + (i * pt->k + j) * pt->C;
                        for (int c = 0; c < pt->C; c++)
                            dst[c] = h >= 0 && h < pt->H && w >= 0 && w < pt->W
                                         ? pt->x[(((size_t)b * pt->H + h) * pt->W + w) * pt->C + c]
                                         : 0.0f;
                    }
    return col;
}

/* Exact where one k block holds the sum, else within rounding of a sum of k products of values in [-1, 1). */
static int count_bad(const float *want, const float *got, size_t n, int exact, int k) {
    int bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += exact ? memcmp(&want[i], &got[i], sizeof(float)) != 0
                     : !(fabsf(want[i] - got[i]) <= 4e-7f * (float)k * (1.0f + fabsf(want[i])));
    return bad;
}

/* Forward: patches (rows x cols) times op(B) (cols x N), alpha 0.5, beta 0 (C full of NaN) or -0.5. */
static void check_direct(const kernel_set *ks, const df_conv_patches *pt, const float *col, int N, size_t shape) {
    const int rows = df_conv_patches_rows(pt), cols = df_conv_patches_cols(pt);
    const size_t count = (size_t)rows * N;
    for (int t = 0; t < 2; t++) {
        const float beta = t ? -0.5f : 0.0f;
        float *B = random_floats((size_t)cols * N), *want = random_floats(count);
        if (!t)
            for (size_t i = 0; i < count; i++) want[i] = NAN;
        float *got = malloc(sizeof(float) * count), *one = malloc(sizeof(float) * count);
        memcpy(got, want, sizeof(float) * count);
        memcpy(one, want, sizeof(float) * count);
        df_sgemm(0, t, rows, N, cols, 0.5f, col, cols, B, t ? cols : N, beta, want, N);
        const int threads = omp_get_max_threads();
        size_t ws_floats = ks->ws_floats(pt, N, threads);
        float *ws = malloc(sizeof(float) * ws_floats);
        ks->fwd(pt, t, N, 0.5f, B, t ? cols : N, beta, got, N, ws, ws_floats);
        omp_set_num_threads(1);
        ks->fwd(pt, t, N, 0.5f, B, t ? cols : N, beta, one, N, ws, ks->ws_floats(pt, N, 1));
        omp_set_num_threads(threads);
        const int exact = cols <= ks->gemm->kc;
        int bad = count_bad(want, got, count, exact, cols);
        CHECK_MSG(bad == 0, "%s direct forward, shape %zu, trans_b %d: %d of %zu elements differ%s", ks->name,
                  shape, t, bad, count, exact ? " (exact)" : "");
        CHECK_MSG(!memcmp(got, one, sizeof(float) * count), "%s direct forward, shape %zu, trans_b %d: 1 and %d "
                  "threads differ", ks->name, shape, t, threads);
        free(B), free(want), free(got), free(one), free(ws);
    }
}

/* Weight gradient: A^T (M x rows) times patches (rows x cols), A being rows x M; alpha 0.5, beta 0 or -0.5. */
static void check_wgrad(const kernel_set *ks, const df_conv_patches *pt, const float *col, int M, size_t shape) {
    const int rows = df_conv_patches_rows(pt), cols = df_conv_patches_cols(pt);
    const size_t count = (size_t)M * cols;
    for (int t = 0; t < 2; t++) {
        const float beta = t ? -0.5f : 0.0f;
        float *A = random_floats((size_t)rows * M), *want = random_floats(count);
        if (!t)
            for (size_t i = 0; i < count; i++) want[i] = NAN;
        float *got = malloc(sizeof(float) * count), *one = malloc(sizeof(float) * count);
        memcpy(got, want, sizeof(float) * count);
        memcpy(one, want, sizeof(float) * count);
        df_sgemm(1, 0, M, cols, rows, 0.5f, A, M, col, cols, beta, want, cols);
        ks->wgrad(M, 0.5f, A, M, pt, beta, got, cols);
        const int threads = omp_get_max_threads();
        omp_set_num_threads(1);
        ks->wgrad(M, 0.5f, A, M, pt, beta, one, cols);
        omp_set_num_threads(threads);
        const int exact = rows <= ks->gemm->kc;
        int bad = count_bad(want, got, count, exact, rows);
        CHECK_MSG(bad == 0, "%s direct weight gradient, shape %zu, beta %g: %d of %zu elements differ%s", ks->name,
                  shape, beta, bad, count, exact ? " (exact)" : "");
        CHECK_MSG(!memcmp(got, one, sizeof(float) * count), "%s direct weight gradient, shape %zu: 1 and %d "
                  "threads differ", ks->name, shape, threads);
        free(A), free(want), free(got), free(one);
    }
}

/* n, H, W, C, k, stride, pad, N (forward) or M (weight gradient). */
static const int shapes[][8] = {
    {3, 6, 6, 40, 3, 1, 2, 64},   {1, 3, 33, 16, 3, 1, 1, 19},  {1, 4, 40, 32, 3, 1, 0, 40},
    {1, 3, 64, 16, 5, 1, 4, 16},  {1, 3, 31, 128, 3, 1, 2, 70}, {3, 5, 40, 16, 3, 1, 1, 48},
    {1, 3, 28, 16, 3, 1, 1, 19},  {2, 4, 27, 32, 3, 1, 1, 33},  {1, 3, 15, 16, 3, 1, 1, 21},
    {1, 2, 12, 32, 3, 1, 1, 9},   {1, 3, 9, 64, 3, 1, 0, 17},   {1, 2, 6, 16, 3, 1, 1, 16},
    {1, 3, 9, 32, 3, 1, 0, 64},   {2, 3, 9, 16, 3, 1, 1, 40},   {1, 4, 13, 16, 3, 1, 1, 136},
    {1, 4, 9, 48, 3, 1, 1, 20},   {2, 3, 8, 80, 3, 1, 1, 13},   {1, 2, 7, 16, 3, 1, 1, 8},
    {1, 2, 8, 32, 3, 1, 1, 16},   {1, 2, 9, 16, 3, 1, 1, 12},   {1, 2, 9, 16, 3, 1, 1, 24},
    {1, 2, 10, 32, 3, 1, 1, 30},  {1, 2, 12, 16, 3, 1, 1, 20},  {1, 2, 13, 32, 3, 1, 1, 32},
    {1, 2, 11, 16, 3, 1, 1, 10},  {1, 3, 20, 32, 3, 1, 1, 56},  {2, 3, 17, 16, 3, 1, 1, 120},
    {2, 9, 9, 32, 3, 2, 1, 20},
    /* AVX2: rows of 7 (4 + 3), 13 (5 + 4 + 4) and 19 pixels (6 + 6 + 7 for one vector), one-vector rests
     * of 1..8 channels over 6..12-pixel tiles, stride 2 with and without padding, 1x1 stride 2 (which
     * skips the last input column), 512 channels, weight-gradient rests of 8 input channels and 1..5
     * output channels. */
    {2, 3, 7, 16, 3, 1, 1, 17},   {1, 3, 13, 32, 3, 1, 1, 23},  {1, 2, 19, 16, 3, 1, 1, 7},
    {1, 3, 25, 16, 3, 1, 1, 5},   {1, 2, 7, 64, 3, 1, 1, 1},    {2, 9, 16, 16, 3, 2, 1, 24},
    {1, 7, 29, 32, 3, 2, 0, 13},  {2, 6, 16, 16, 1, 2, 0, 40},  {1, 5, 15, 64, 1, 2, 0, 16},
    {1, 2, 8, 512, 3, 1, 1, 18},  {1, 3, 12, 24, 3, 1, 1, 4},   {2, 4, 11, 8, 3, 2, 1, 3},
    {1, 4, 9, 16, 5, 2, 2, 2},    {2, 9, 30, 16, 3, 1, 1, 11},
};

int main(void) {
    int sets_run = 0;
    for (size_t k = 0; k < sizeof sets / sizeof sets[0]; k++) {
        const kernel_set *ks = &sets[k];
        if (df_gemm_set_backend(ks->backend) != 0) {
            printf("%s: not supported by this CPU, skipped\n", ks->name);
            continue;
        }
        int n_direct = 0, n_wgrad = 0, n_strided = 0;
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            const int *sh = shapes[s];
            float *x = random_floats((size_t)sh[0] * sh[1] * sh[2] * sh[3]);
            df_conv_patches pt = df_conv_patches_make(x, sh[0], sh[1], sh[2], sh[3], sh[4], sh[5], sh[6]);
            float *col = stored_patches(&pt);
            if (ks->fwd_applies(&pt)) check_direct(ks, &pt, col, sh[7], s), n_direct++, n_strided += sh[5] > 1;
            if (ks->wgrad_applies(&pt)) check_wgrad(ks, &pt, col, sh[7], s), n_wgrad++;
            free(x), free(col);
        }
        CHECK_MSG(n_direct >= 25 && n_wgrad >= 25, "%s: shapes that reach the kernels: %d forward, %d weight "
                  "gradient", ks->name, n_direct, n_wgrad);
        CHECK_MSG(ks->backend != DF_GEMM_AVX2 || n_strided >= 4, "avx2: %d strided shapes", n_strided);
        printf("%s: direct forward on %d shapes (%d strided), weight gradient on %d\n", ks->name, n_direct,
               n_strided, n_wgrad);
        sets_run++;
    }
    if (!sets_run) {
        printf("skipped: this CPU has neither AVX2 nor AVX-512F, where the direct kernels never run\n");
        return 77;
    }
    return check_report();
}
