/* test_conv_direct.c: the AVX-512 convolution kernels that read the patch matrix in place
 * (layers/conv/conv_avx512.h) against df_sgemm on the stored patch matrix, on the AVX-512 backend: the same
 * bits while the summed dimension fits one of df_sgemm's k blocks, within rounding beyond; the same bits on
 * 1 thread as on 2; a workspace of exactly the advertised size. The shapes cover every tile size of the
 * direct forward (rows of 7..14 pixels for up to 32 output channels, 4..8 for 48, 3..6 for 64, panels of 64
 * plus a rest, masked last vectors) and the weight gradient's column tiles (16-128 channels).
 * Exits 77 (skipped) on a CPU without AVX-512F, where these kernels never run. */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/gemm/gemm.h"
#include "core/gemm/gemm_internal.h"
#include "layers/conv/conv_avx512.h"

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
static void check_direct(const df_conv_patches *pt, const float *col, int N, size_t shape) {
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
        size_t ws_floats = df_conv_direct_avx512_ws_floats(pt, N, threads);
        float *ws = malloc(sizeof(float) * ws_floats);
        df_conv_direct_avx512(pt, t, N, 0.5f, B, t ? cols : N, beta, got, N, ws, ws_floats);
        omp_set_num_threads(1);
        df_conv_direct_avx512(pt, t, N, 0.5f, B, t ? cols : N, beta, one, N, ws,
                              df_conv_direct_avx512_ws_floats(pt, N, 1));
        omp_set_num_threads(threads);
        const int exact = cols <= df_gemm_kernel_avx512.kc;
        int bad = count_bad(want, got, count, exact, cols);
        CHECK_MSG(bad == 0, "direct forward, shape %zu, trans_b %d: %d of %zu elements differ%s", shape, t, bad,
                  count, exact ? " (exact)" : "");
        CHECK_MSG(!memcmp(got, one, sizeof(float) * count), "direct forward, shape %zu, trans_b %d: 1 and %d "
                  "threads differ", shape, t, threads);
        free(B), free(want), free(got), free(one), free(ws);
    }
}

/* Weight gradient: A^T (M x rows) times patches (rows x cols), A being rows x M; alpha 0.5, beta 0 or -0.5. */
static void check_wgrad(const df_conv_patches *pt, const float *col, int M, size_t shape) {
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
        df_conv_wgrad_avx512(M, 0.5f, A, M, pt, beta, got, cols);
        const int threads = omp_get_max_threads();
        omp_set_num_threads(1);
        df_conv_wgrad_avx512(M, 0.5f, A, M, pt, beta, one, cols);
        omp_set_num_threads(threads);
        const int exact = rows <= df_gemm_kernel_avx512.kc;
        int bad = count_bad(want, got, count, exact, rows);
        CHECK_MSG(bad == 0, "direct weight gradient, shape %zu, beta %g: %d of %zu elements differ%s", shape,
                  beta, bad, count, exact ? " (exact)" : "");
        CHECK_MSG(!memcmp(got, one, sizeof(float) * count), "direct weight gradient, shape %zu: 1 and %d "
                  "threads differ", shape, threads);
        free(A), free(want), free(got), free(one);
    }
}

int main(void) {
    if (df_gemm_set_backend(DF_GEMM_AVX512) != 0) {
        printf("skipped: this CPU has no AVX-512F, where the direct kernels never run\n");
        return 77;
    }
    static const int shapes[][8] = {/* n, H, W, C, k, stride, pad, N (forward) or M (weight gradient) */
                                    {3, 6, 6, 40, 3, 1, 2, 64},   {1, 3, 33, 16, 3, 1, 1, 19},
                                    {1, 4, 40, 32, 3, 1, 0, 40},  {1, 3, 64, 16, 5, 1, 4, 16},
                                    {1, 3, 31, 128, 3, 1, 2, 70}, {3, 5, 40, 16, 3, 1, 1, 48},
                                    {1, 3, 28, 16, 3, 1, 1, 19},  {2, 4, 27, 32, 3, 1, 1, 33},
                                    {1, 3, 15, 16, 3, 1, 1, 21},  {1, 2, 12, 32, 3, 1, 1, 9},
                                    {1, 3, 9, 64, 3, 1, 0, 17},   {1, 2, 6, 16, 3, 1, 1, 16},
                                    {1, 3, 9, 32, 3, 1, 0, 64},   {2, 3, 9, 16, 3, 1, 1, 40},
                                    {1, 4, 13, 16, 3, 1, 1, 136}, {1, 4, 9, 48, 3, 1, 1, 20},
                                    {2, 3, 8, 80, 3, 1, 1, 13},   {1, 2, 7, 16, 3, 1, 1, 8},
                                    {1, 2, 8, 32, 3, 1, 1, 16},   {1, 2, 9, 16, 3, 1, 1, 12},
                                    {1, 2, 9, 16, 3, 1, 1, 24},   {1, 2, 10, 32, 3, 1, 1, 30},
                                    {1, 2, 12, 16, 3, 1, 1, 20},  {1, 2, 13, 32, 3, 1, 1, 32},
                                    {1, 2, 11, 16, 3, 1, 1, 10},  {1, 3, 20, 32, 3, 1, 1, 56},
                                    {2, 3, 17, 16, 3, 1, 1, 120}, {2, 9, 9, 32, 3, 2, 1, 20}};
    int n_direct = 0, n_wgrad = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int *sh = shapes[s];
        float *x = random_floats((size_t)sh[0] * sh[1] * sh[2] * sh[3]);
        df_conv_patches pt = df_conv_patches_make(x, sh[0], sh[1], sh[2], sh[3], sh[4], sh[5], sh[6]);
        float *col = stored_patches(&pt);
        if (df_conv_direct_avx512_applies(&pt)) check_direct(&pt, col, sh[7], s), n_direct++;
        if (df_conv_wgrad_avx512_applies(&pt)) check_wgrad(&pt, col, sh[7], s), n_wgrad++;
        free(x), free(col);
    }
    CHECK_MSG(n_direct >= 25 && n_wgrad >= 25, "shapes that reach the kernels: %d forward, %d weight gradient",
              n_direct, n_wgrad);
    printf("direct forward on %d shapes, weight gradient on %d\n", n_direct, n_wgrad);
    return check_report();
}
