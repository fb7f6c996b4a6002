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
 *
 * The short-patch kernels (layers/conv/conv_small.h: Kt = k*k*C <= 160, both instruction sets) are checked
 * the same way on C = 1, 3, 4 (and 16, 17: the bound), k = 2..7, strides 1..3, padding 0 to wider than the
 * kernel, odd widths, CO 8..64 (CO % 16 == 8 on AVX2 only, whose tiles also take 8-channel blocks): the
 * forward without bias equals df_sgemm on the stored patch matrix bit for bit (one k block, the same FMA
 * order), with a bias within rounding; the weight gradient, added onto an existing one, within rounding; 1 and
 * 2 threads the same bits; AVX2 and AVX-512 the same bits where the CPU runs both; a scratch area of exactly
 * the advertised size. The shapes take in rows wholly in the padding, strides larger than the kernel, rows of
 * two segments in either direction, more output rows than the weight gradient's chunks, and an output large
 * enough for the forward's streamed stores.
 *
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
#include "layers/conv/conv_small.h"

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
    const df_conv_small_isa *small; /* its short-patch kernels */
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
     avx2_wgrad_applies, df_conv_wgrad_avx2, &df_conv_small_avx2},
    {"avx512", DF_GEMM_AVX512, &df_gemm_kernel_avx512, avx512_fwd_applies, avx512_ws, df_conv_direct_avx512,
     avx512_wgrad_applies, df_conv_wgrad_avx512, &df_conv_small_avx512},
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

/* n, H, W, C, k, stride, pad, CO: short patches (Kt = k*k*C <= DF_CONV_SMALL_MAX_K, CO a multiple of 16). */
static const int small_shapes[][8] = {
    {2, 13, 29, 3, 3, 1, 1, 32},  {1, 11, 25, 1, 3, 1, 1, 16},  {3, 9, 14, 3, 3, 2, 1, 48},
    {1, 27, 31, 3, 5, 2, 2, 64},  {2, 15, 17, 3, 7, 2, 3, 64},  {2, 12, 19, 1, 5, 1, 2, 32},
    {1, 14, 33, 4, 5, 2, 1, 64},  {2, 11, 7, 1, 7, 1, 3, 16},   {1, 6, 6, 3, 7, 2, 3, 32},
    {2, 9, 9, 4, 3, 1, 0, 32},    {1, 10, 23, 4, 2, 3, 1, 16},  /* stride 3 > kernel 2 */
    {1, 5, 5, 3, 3, 1, 3, 16},    /* output rows whose input rows are all padding */
    {1, 3, 200, 3, 3, 1, 1, 64},  /* weight gradient: rows of 3 segments */
    {1, 5, 413, 3, 7, 2, 3, 16},  /* forward: rows of 2 segments */
    {3, 17, 10, 3, 3, 1, 1, 16},  /* 51 output rows, more than the weight gradient's 32 chunks */
    {2, 8, 11, 16, 3, 1, 1, 16},  {1, 9, 13, 17, 3, 2, 1, 32}, /* Kt 144 and 153 */
    {8, 64, 64, 3, 3, 1, 1, 64},  /* an 8 MiB output: streamed stores */
    /* AVX2 only (the AVX-512 tiles take CO % 16 == 0): 8-channel blocks, alone and after 16-channel ones */
    {2, 13, 29, 3, 3, 1, 1, 8},   {1, 27, 31, 3, 5, 2, 2, 24},  {2, 15, 17, 3, 7, 2, 3, 8},
    {1, 10, 23, 4, 2, 3, 1, 40},  {2, 8, 11, 16, 3, 1, 1, 8},   {64, 64, 64, 3, 3, 1, 1, 8}, /* streamed */
};
enum { N_SMALL = sizeof small_shapes / sizeof small_shapes[0], N_SMALL_AVX2_ONLY = 6 };

/* The first kernel set's outputs (forward with bias, weight gradient) per shape, for the second's bits. */
static float *small_seen[N_SMALL][2];

static float *aligned_floats(size_t n) { return aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64); }

/* Forward y = patches W^T (+ bias) and weight gradient dW += dY^T patches, W (CO x Kt), against df_sgemm. */
static void check_small(const kernel_set *ks, const df_conv_patches *pt, const float *col, int CO, size_t shape) {
    const int rows = df_conv_patches_rows(pt), Kt = df_conv_patches_cols(pt), threads = omp_get_max_threads();
    const size_t ny = (size_t)rows * CO, nw = (size_t)CO * Kt;
    void *scratch = malloc(df_conv_small_scratch_bytes(Kt, CO));
    float *w = random_floats(nw), *bias = random_floats((size_t)CO), *dy = random_floats(ny);
    float *y = aligned_floats(ny), *one = aligned_floats(ny), *want = malloc(sizeof(float) * ny);
    for (size_t i = 0; i < ny; i++) y[i] = NAN;
    df_sgemm(0, 1, rows, CO, Kt, 1.0f, col, Kt, w, Kt, 0.0f, want, CO);
    df_conv_small_forward(ks->small, pt, w, NULL, CO, y, scratch);
    const int exact = Kt <= ks->gemm->kc;
    int bad = count_bad(want, y, ny, exact, Kt);
    CHECK_MSG(bad == 0, "%s short-patch forward, shape %zu: %d of %zu elements differ%s", ks->name, shape, bad, ny,
              exact ? " (exact)" : "");
    for (int r = 0; r < rows; r++) memcpy(want + (size_t)r * CO, bias, sizeof(float) * CO);
    df_sgemm(0, 1, rows, CO, Kt, 1.0f, col, Kt, w, Kt, 1.0f, want, CO);
    df_conv_small_forward(ks->small, pt, w, bias, CO, y, scratch);
    bad = count_bad(want, y, ny, 0, Kt + 1);
    CHECK_MSG(bad == 0, "%s short-patch forward with bias, shape %zu: %d of %zu elements differ", ks->name, shape,
              bad, ny);
    omp_set_num_threads(1);
    df_conv_small_forward(ks->small, pt, w, bias, CO, one, scratch);
    omp_set_num_threads(threads);
    CHECK_MSG(!memcmp(y, one, sizeof(float) * ny), "%s short-patch forward, shape %zu: 1 and %d threads differ",
              ks->name, shape, threads);

    float *dw = random_floats(nw), *dw_one = malloc(sizeof(float) * nw), *want_w = malloc(sizeof(float) * nw);
    memcpy(dw_one, dw, sizeof(float) * nw);
    memcpy(want_w, dw, sizeof(float) * nw);
    df_sgemm(1, 0, CO, Kt, rows, 1.0f, dy, CO, col, Kt, 1.0f, want_w, Kt);
    df_conv_small_weight_grad(ks->small, pt, dy, CO, dw, scratch);
    bad = count_bad(want_w, dw, nw, 0, rows + 1);
    CHECK_MSG(bad == 0, "%s short-patch weight gradient, shape %zu: %d of %zu elements differ", ks->name, shape, bad,
              nw);
    omp_set_num_threads(1);
    df_conv_small_weight_grad(ks->small, pt, dy, CO, dw_one, scratch);
    omp_set_num_threads(threads);
    CHECK_MSG(!memcmp(dw, dw_one, sizeof(float) * nw), "%s short-patch weight gradient, shape %zu: 1 and %d "
              "threads differ", ks->name, shape, threads);

    if (small_seen[shape][0]) {
        CHECK_MSG(!memcmp(small_seen[shape][0], y, sizeof(float) * ny) &&
                      !memcmp(small_seen[shape][1], dw, sizeof(float) * nw),
                  "short-patch shape %zu: %s and the first kernel set differ", shape, ks->name);
        free(small_seen[shape][0]), free(small_seen[shape][1]);
        small_seen[shape][0] = small_seen[shape][1] = NULL;
        free(y), free(dw);
    } else {
        small_seen[shape][0] = y, small_seen[shape][1] = dw;
    }
    free(scratch), free(w), free(bias), free(dy), free(one), free(want), free(dw_one), free(want_w);
}

/* The short-patch shapes that fit one kernel set; inputs seeded per shape, so every set sees the same ones. */
static int run_small(const kernel_set *ks) {
    int ran = 0;
    for (size_t s = 0; s < N_SMALL; s++) {
        const int *sh = small_shapes[s];
        const int Kt = sh[4] * sh[4] * sh[3];
        CHECK_MSG(df_conv_small_fits(NULL, Kt, sh[7]), "short-patch shape %zu fits no kernel set", s);
        if (!df_conv_small_fits(ks->small, Kt, sh[7])) continue;
        rng_state = 0x9e3779b97f4a7c15u * (s + 1);
        float *x = random_floats((size_t)sh[0] * sh[1] * sh[2] * sh[3]);
        const df_conv_patches pt = df_conv_patches_make(x, sh[0], sh[1], sh[2], sh[3], sh[4], sh[5], sh[6]);
        float *col = stored_patches(&pt);
        check_small(ks, &pt, col, sh[7], s);
        free(x), free(col);
        ran++;
    }
    return ran;
}

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
        const int n_small = run_small(ks);
        const int want_small = ks->backend == DF_GEMM_AVX2 ? N_SMALL : N_SMALL - N_SMALL_AVX2_ONLY;
        CHECK_MSG(n_small == want_small, "%s: %d short-patch shapes, expected %d", ks->name, n_small, want_small);
        printf("%s: short-patch forward and weight gradient on %d shapes\n", ks->name, n_small);
        sets_run++;
    }
    for (size_t s = 0; s < N_SMALL; s++) free(small_seen[s][0]), free(small_seen[s][1]);
    if (!sets_run) {
        printf("skipped: this CPU has neither AVX2 nor AVX-512F, where the direct kernels never run\n");
        return 77;
    }
    return check_report();
}
