/* test_gemm.c: every GEMM backend this CPU can run, held to df_sgemm_ref on odd shapes, all transpose
 * combinations, padded leading dimensions, alpha != 1 and beta in {0 (C full of NaN), 1, -0.5}; each
 * kernel's own packers against the generic ones; plus
 * bit-identical results for 1 and 2 threads, the nested-parallel path, and the no-multiply cases. */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/gemm/gemm.h"
#include "core/gemm/gemm_internal.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

/* Uniform in [-1, 1). xorshift64*, so the test needs nothing but itself. */
static float frand(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    uint64_t r = rng_state * 0x2545f4914f6cdd1du;
    return (float)((double)(r >> 40) / (double)(1u << 24) * 2.0 - 1.0);
}

/* rows x cols with row stride ld; the padding past cols holds NaN so a kernel that reads it poisons C. */
static float *random_matrix(int rows, int cols, int ld) {
    float *m = malloc(sizeof(float) * (size_t)(rows > 0 ? rows : 1) * (size_t)ld);
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < ld; c++) m[(size_t)r * ld + c] = c < cols ? frand() : NAN;
    return m;
}

static const float pad_sentinel = 12345.0f;

static int round_up_int(int a, int b) { return (a + b - 1) / b * b; }

static df_gemm_backend backends[4];
static int nbackends;
static int bad_elements[4];

/* One product, computed by the reference and by every backend in `backends`; counts wrong elements per
 * backend into bad_elements. The reference and the error bound are computed once for all backends. */
static void compare_one(int ta, int tb, int M, int N, int K, float alpha, float beta) {
    int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 2, ldc = N + 5;
    float *A = random_matrix(ta ? K : M, ta ? M : K, lda);
    float *B = random_matrix(tb ? N : K, tb ? K : N, ldb);
    float *C0 = random_matrix(M, N, ldc);
    size_t csize = (size_t)M * ldc;
    /* beta == 0 promises C is not read: fill it with NaN, which would survive any read. */
    for (size_t i = 0; i < csize; i++)
        C0[i] = (int)(i % (size_t)ldc) >= N ? pad_sentinel : beta == 0.0f ? NAN : C0[i];
    float *C = malloc(sizeof(float) * csize), *R = malloc(sizeof(float) * csize);
    double *tol = malloc(sizeof(double) * (size_t)M * N);
    memcpy(R, C0, sizeof(float) * csize);
    df_sgemm_ref(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, R, ldc);

    /* Error bound: a float sum of K products in any order is within gamma_K * sum|a_k b_k| of the exact
     * value, gamma_K ~= K * u with u = 2^-24 (Higham, recursive/blocked summation; FMA only reduces the
     * error). Reference and backend may each be off by that much in opposite directions, and the alpha
     * and beta updates and the per-kc-block additions add a few roundings more: 2u(K + 4) per side. A
     * wrong index or a missed product is off by about |a b| ~ 0.3, far beyond this. */
    const double u = 1.0 / (1 << 24);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double abs_sum = 0.0;
            for (int k = 0; k < K; k++) {
                double a = ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                double b = tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                abs_sum += fabs(a * b);
            }
            double c0 = beta == 0.0f ? 0.0 : fabs(C0[(size_t)i * ldc + j]);
            tol[(size_t)i * N + j] = 4.0 * u * (K + 4) * (fabs(alpha) * abs_sum + fabs(beta) * c0) + 1e-30;
        }

    for (int be = 0; be < nbackends; be++) {
        df_gemm_set_backend(backends[be]);
        memcpy(C, C0, sizeof(float) * csize);
        df_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        int bad = 0;
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                double got = C[(size_t)i * ldc + j], want = R[(size_t)i * ldc + j];
                if (!(fabs(got - want) <= tol[(size_t)i * N + j])) {
                    if (bad < 3)
                        fprintf(stderr, "  %s ta=%d tb=%d M=%d N=%d K=%d alpha=%g beta=%g: C[%d][%d] = %.9g, "
                                        "ref %.9g, tol %.3g\n",
                                df_gemm_backend_name(backends[be]), ta, tb, M, N, K, alpha, beta, i, j, got,
                                want, tol[(size_t)i * N + j]);
                    bad++;
                }
            }
        for (int i = 0; i < M; i++)
            for (int j = N; j < ldc; j++)
                if (C[(size_t)i * ldc + j] != pad_sentinel) bad++;
        bad_elements[be] += bad;
    }
    free(A);
    free(B);
    free(C0);
    free(C);
    free(R);
    free(tol);
}

static const int sizes[] = {1, 2, 3, 7, 13, 17, 31, 33, 65, 100, 257};
enum { NSIZES = sizeof sizes / sizeof sizes[0] };

static void test_against_ref(void) {
    static const float alphas[] = {0.75f, -2.0f, 1.0f};
    static const float betas[] = {0.0f, 1.0f, -0.5f};
    int cases = 0;
    for (int im = 0; im < NSIZES; im++)
        for (int in = 0; in < NSIZES; in++)
            for (int ik = 0; ik < NSIZES; ik++) {
                int M = sizes[im], N = sizes[in], K = sizes[ik];
                /* At most one dimension of 257 keeps the run (reference included) within seconds. */
                if ((M == 257) + (N == 257) + (K == 257) > 1) continue;
                for (int t = 0; t < 4; t++, cases++)
                    compare_one(t & 1, t >> 1, M, N, K, alphas[cases % 3], betas[(cases / 3) % 3]);
            }
    for (int be = 0; be < nbackends; be++)
        CHECK_MSG(bad_elements[be] == 0, "backend %s: %d wrong elements over %d cases",
                  df_gemm_backend_name(backends[be]), bad_elements[be], cases);
}

/* The same product with 1 and 2 threads must agree bit for bit (threads split C, never K). Shapes are
 * chosen so the driver's task grids cut rows and columns, rows only (a convolution's tall C), and columns
 * only into tasks wider than one B block (40 x 3500). */
static void test_thread_determinism(df_gemm_backend be) {
    static const int shapes[][3] = {{300, 500, 700}, {700, 300, 500}, {64, 2000, 300}, {2000, 64, 300},
                                    {40, 3500, 300}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        for (int t = 0; t < 4; t += s == 0 ? 1 : 3) { /* all transposes on the first shape only */
            int ta = t & 1, tb = t >> 1;
            float *A = random_matrix(ta ? K : M, ta ? M : K, ta ? M : K);
            float *B = random_matrix(tb ? N : K, tb ? K : N, tb ? K : N);
            float *C1 = calloc((size_t)M * N, sizeof(float)), *C2 = calloc((size_t)M * N, sizeof(float));
            omp_set_num_threads(1);
            df_sgemm(ta, tb, M, N, K, 0.5f, A, ta ? M : K, B, tb ? K : N, 0.0f, C1, N);
            omp_set_num_threads(2);
            df_sgemm(ta, tb, M, N, K, 0.5f, A, ta ? M : K, B, tb ? K : N, 0.0f, C2, N);
            CHECK_MSG(memcmp(C1, C2, sizeof(float) * (size_t)M * N) == 0, "%s %dx%dx%d ta=%d tb=%d",
                      df_gemm_backend_name(be), M, N, K, ta, tb);
            free(A);
            free(B);
            free(C1);
            free(C2);
        }
    }
}

/* Called from inside a parallel region, each call runs on its own thread; results equal the serial one. */
static void test_nested(df_gemm_backend be) {
    int M = 97, N = 130, K = 211;
    float *A = random_matrix(M, K, K), *B = random_matrix(K, N, N);
    float *want = calloc((size_t)M * N, sizeof(float)), *got = calloc(2 * (size_t)M * N, sizeof(float));
    df_sgemm(0, 0, M, N, K, 1.0f, A, K, B, N, 0.0f, want, N);
#pragma omp parallel for num_threads(2)
    for (int t = 0; t < 2; t++) df_sgemm(0, 0, M, N, K, 1.0f, A, K, B, N, 0.0f, got + (size_t)t * M * N, N);
    for (int t = 0; t < 2; t++)
        CHECK_MSG(memcmp(want, got + (size_t)t * M * N, sizeof(float) * (size_t)M * N) == 0, "%s thread %d",
                  df_gemm_backend_name(be), t);
    free(A);
    free(B);
    free(want);
    free(got);
}

/* K == 0 or alpha == 0: C = beta * C, and with beta == 0 zeros even over NaN. */
static void test_no_multiply(void) {
    float A[4] = {NAN, NAN, NAN, NAN}, B[4] = {NAN, NAN, NAN, NAN};
    float C[4] = {NAN, NAN, NAN, NAN};
    df_sgemm(0, 0, 2, 2, 0, 1.0f, A, 1, B, 2, 0.0f, C, 2);
    for (int i = 0; i < 4; i++) CHECK(C[i] == 0.0f);
    float D[4] = {1, 2, 3, 4};
    df_sgemm(0, 0, 2, 2, 2, 0.0f, A, 2, B, 2, 2.0f, D, 2);
    CHECK(D[0] == 2.0f && D[1] == 4.0f && D[2] == 6.0f && D[3] == 8.0f);
    df_sgemm(0, 0, 0, 2, 2, 1.0f, A, 2, B, 2, 0.0f, D, 2); /* M == 0: nothing to do, nothing touched */
    CHECK(D[0] == 2.0f);
}

static void test_names(void) {
    df_gemm_backend b;
    CHECK(df_gemm_backend_parse("avx2", &b) == 0 && b == DF_GEMM_AVX2);
    CHECK(df_gemm_backend_parse("openblas", &b) == 0 && b == DF_GEMM_OPENBLAS);
    CHECK(df_gemm_backend_parse("fast", &b) == -1);
    CHECK(strcmp(df_gemm_backend_name(DF_GEMM_PORTABLE), "portable") == 0);
    CHECK(df_gemm_set_backend(DF_GEMM_AUTO) == 0 && df_gemm_get_backend() != DF_GEMM_AUTO);
}

/* A convolution's patch matrix as an operand (df_sgemm_patches_a / _b) must give exactly what df_sgemm gives
 * on the stored matrix (the packers gather the same values); OpenBLAS, which stores it in slices, within
 * rounding. Exactness holds while the summed dimension (cols for patches as A, rows as B) fits one kc
 * block of df_sgemm (256 at least); beyond that the patch GEMMs block the sum otherwise, and are held to
 * rounding too. Every hand-written backend gives the same bits on 1 thread as on several. Shapes: padding, strides, channel runs that straddle packing panels, kc blocks that end
 * inside a kernel tap. */
static void store_patches(const df_conv_patches *pt, float *col) {
    int cols = df_conv_patches_cols(pt);
    for (int b = 0; b < pt->n; b++)
        for (int oh = 0; oh < pt->OH; oh++)
            for (int ow = 0; ow < pt->OW; ow++)
                for (int i = 0; i < pt->k; i++)
                    for (int j = 0; j < pt->k; j++)
                        for (int c = 0; c < pt->C; c++) {
                            int h = oh * pt->stride + i - pt->pad, w = ow * pt->stride + j - pt->pad;
                            int inside = h >= 0 && h < pt->H && w >= 0 && w < pt->W;
                            col[(((size_t)b * pt->OH + oh) * pt->OW + ow) * cols + (i * pt->k + j) * pt->C + c] =
                                inside ? pt->x[(((size_t)b * pt->H + h) * pt->W + w) * pt->C + c] : 0.0f;
                        }
}

/* The hand-written backends' k block: up to it, a patch-matrix product is one sum per element, as df_sgemm's
 * on the stored matrix is, so the two must agree bit for bit. */
static int k_block(df_gemm_backend be) {
    return be == DF_GEMM_AVX512 ? df_gemm_kernel_avx512.kc
           : be == DF_GEMM_AVX2 ? df_gemm_kernel_avx2.kc
                                : df_gemm_kernel_portable.kc;
}

/* No workspace: the per-thread stand-in buffers. */
static const df_gemm_ws no_ws = {NULL, 0};

static void test_patches(df_gemm_backend be) {
    static const int shapes[][8] = {/* n, H, W, C, k, stride, pad, N (or M) */
                                    {2, 9, 7, 5, 3, 1, 1, 19},  {1, 11, 13, 3, 7, 2, 3, 33},
                                    {3, 6, 6, 40, 3, 1, 2, 64}, {1, 8, 5, 64, 3, 2, 0, 17},
                                    {2, 12, 10, 17, 1, 1, 0, 30}, {1, 4, 4, 70, 3, 1, 1, 45},
                                    {1, 3, 33, 60, 3, 1, 1, 24},  {1, 4, 31, 7, 2, 1, 1, 5},
                                    /* channel counts of AVX-512's unpacked paths (conv_direct_avx512.c with
                                     * rows cut into tiles of 7..14 pixels for N <= 32, 4..8 for 48, 3..6
                                     * for 64, panels of 64 plus a rest, or rows too short: 6; and
                                     * conv_wgrad_avx512.c, 16-80 channels, column tiles of 64 plus a
                                     * rest of 1-3 vectors): */
                                    {1, 3, 33, 16, 3, 1, 1, 19},  {1, 4, 40, 32, 3, 1, 0, 40},
                                    {1, 3, 64, 16, 5, 1, 4, 16},  {1, 3, 31, 128, 3, 1, 2, 70},
                                    {3, 5, 40, 16, 3, 1, 1, 48},  {1, 2, 20, 64, 1, 1, 0, 8},
                                    {2, 9, 9, 32, 3, 2, 1, 20},   {1, 3, 28, 16, 3, 1, 1, 19},
                                    {2, 4, 27, 32, 3, 1, 1, 33},  {1, 3, 15, 16, 3, 1, 1, 21},
                                    {1, 2, 12, 32, 3, 1, 1, 9},   {2, 3, 8, 16, 1, 1, 0, 40},
                                    {1, 3, 9, 64, 3, 1, 0, 17},   {1, 2, 6, 16, 3, 1, 1, 16},
                                    {1, 3, 9, 32, 3, 1, 0, 64},   {2, 3, 9, 16, 3, 1, 1, 40},
                                    {1, 4, 13, 16, 3, 1, 1, 136}, {1, 4, 9, 48, 3, 1, 1, 20},
                                    {2, 3, 8, 80, 3, 1, 1, 13},
                                    /* every direct tile size: one row of 7..14 pixels for N <= 32, and
                                     * masked last vectors of a 4-vector panel (N = 56, 64 + 56) */
                                    {1, 2, 7, 16, 3, 1, 1, 8},    {1, 2, 8, 32, 3, 1, 1, 16},
                                    {1, 2, 9, 16, 3, 1, 1, 12},   {1, 2, 9, 16, 3, 1, 1, 24},
                                    {1, 2, 10, 32, 3, 1, 1, 30},  {1, 2, 12, 16, 3, 1, 1, 20},
                                    {1, 2, 13, 32, 3, 1, 1, 32},  {1, 2, 11, 16, 3, 1, 1, 10},
                                    {1, 3, 20, 32, 3, 1, 1, 56},  {2, 3, 17, 16, 3, 1, 1, 120}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int *sh = shapes[s];
        float *x = random_matrix(sh[0] * sh[1] * sh[2], sh[3], sh[3]);
        df_conv_patches pt = df_conv_patches_make(x, sh[0], sh[1], sh[2], sh[3], sh[4], sh[5], sh[6]);
        const int rows = df_conv_patches_rows(&pt), cols = df_conv_patches_cols(&pt), N = sh[7];
        float *col = malloc(sizeof(float) * (size_t)rows * cols);
        store_patches(&pt, col);
        for (int t = 0; t < 2; t++) {
            const float beta = t ? -0.5f : 0.0f;
            /* patches (rows x cols) * op(B) (cols x N) */
            float *B = random_matrix(t ? N : cols, t ? cols : N, t ? cols : N);
            float *C1 = random_matrix(rows, N, N), *C2 = malloc(sizeof(float) * (size_t)rows * N);
            if (!t)
                for (size_t i = 0; i < (size_t)rows * N; i++) C1[i] = NAN;
            memcpy(C2, C1, sizeof(float) * (size_t)rows * N);
            df_sgemm(0, t, rows, N, cols, 0.5f, col, cols, B, t ? cols : N, beta, C1, N);
            float *C3 = malloc(sizeof(float) * (size_t)rows * N);
            memcpy(C3, C2, sizeof(float) * (size_t)rows * N);
            df_sgemm_patches_a(&pt, t, N, 0.5f, B, t ? cols : N, beta, C2, N, no_ws);
            if (be != DF_GEMM_OPENBLAS) { /* the same bits on one thread */
                int threads = omp_get_max_threads();
                omp_set_num_threads(1);
                df_sgemm_patches_a(&pt, t, N, 0.5f, B, t ? cols : N, beta, C3, N, no_ws);
                omp_set_num_threads(threads);
                CHECK_MSG(!memcmp(C2, C3, sizeof(float) * (size_t)rows * N),
                          "%s patches as A, shape %zu, trans_b %d: 1 and %d threads differ",
                          df_gemm_backend_name(be), s, t, threads);
            }
            free(C3);
            int exact = be != DF_GEMM_OPENBLAS && cols <= k_block(be), bad = 0;
            for (size_t i = 0; i < (size_t)rows * N; i++)
                bad += !exact ? !(fabsf(C1[i] - C2[i]) <= 1e-4f * (1.0f + fabsf(C1[i])))
                                              : memcmp(&C1[i], &C2[i], sizeof(float)) != 0;
            CHECK_MSG(bad == 0, "%s patches as A, shape %zu, trans_b %d: %d elements differ%s",
                      df_gemm_backend_name(be), s, t, bad, exact ? " (exact)" : "");
            free(B), free(C1), free(C2);

            /* op(A) (N x rows) * patches (rows x cols) */
            float *A = random_matrix(t ? rows : N, t ? N : rows, t ? N : rows);
            float *D1 = random_matrix(N, cols, cols), *D2 = malloc(sizeof(float) * (size_t)N * cols);
            if (!t)
                for (size_t i = 0; i < (size_t)N * cols; i++) D1[i] = NAN;
            memcpy(D2, D1, sizeof(float) * (size_t)N * cols);
            df_sgemm(t, 0, N, cols, rows, 0.5f, A, t ? N : rows, col, cols, beta, D1, cols);
            float *D3 = malloc(sizeof(float) * (size_t)N * cols);
            memcpy(D3, D2, sizeof(float) * (size_t)N * cols);
            df_sgemm_patches_b(t, N, 0.5f, A, t ? N : rows, &pt, beta, D2, cols, no_ws);
            if (be != DF_GEMM_OPENBLAS) {
                int threads = omp_get_max_threads();
                omp_set_num_threads(1);
                df_sgemm_patches_b(t, N, 0.5f, A, t ? N : rows, &pt, beta, D3, cols, no_ws);
                omp_set_num_threads(threads);
                CHECK_MSG(!memcmp(D2, D3, sizeof(float) * (size_t)N * cols),
                          "%s patches as B, shape %zu, trans_a %d: 1 and %d threads differ",
                          df_gemm_backend_name(be), s, t, threads);
            }
            free(D3);
            exact = be != DF_GEMM_OPENBLAS && rows <= k_block(be), bad = 0;
            for (size_t i = 0; i < (size_t)N * cols; i++)
                bad += !exact ? !(fabsf(D1[i] - D2[i]) <= 1e-4f * (1.0f + fabsf(D1[i])))
                                              : memcmp(&D1[i], &D2[i], sizeof(float)) != 0;
            CHECK_MSG(bad == 0, "%s patches as B, shape %zu, trans_a %d: %d elements differ%s",
                      df_gemm_backend_name(be), s, t, bad, exact ? " (exact)" : "");
            free(A), free(D1), free(D2);
        }
        free(x), free(col);
    }
}

/* A kernel's own packers (the AVX2 and AVX-512 transposes) must write exactly what the generic ones write,
 * bit for bit, and nothing past the panels: every transpose, full and partial panels, k lengths around the
 * 8-column steps, padded leading dimensions, and patch rows that are NULL (padding taps). */
enum { PACK_GUARD = 64 };

static int same_packing(const float *want, const float *got, size_t n) {
    for (size_t i = 0; i < n + PACK_GUARD; i++)
        if (memcmp(&want[i], &got[i], sizeof(float))) return 0;
    return 1;
}

static void test_packers(df_gemm_backend be) {
    df_gemm_kernel kern;
    if (!df_gemm_kernel_of(be, &kern) || (!kern.pack_a && !kern.pack_b && !kern.pack_rows && !kern.pack_b_patches)) return;
    const int mr = kern.mr, nr = kern.nr, ld_pad = 3;
    static const int lens[] = {1, 3, 7, 8, 9, 15, 16, 17, 31, 40};
    enum { NLENS = sizeof lens / sizeof lens[0] };
    const int max_len = 40, max_rows = 3 * 16 + 5;
    const size_t cap = (size_t)(max_rows + 16) * (max_len + 64) + PACK_GUARD;
    float *want = malloc(sizeof(float) * cap), *got = malloc(sizeof(float) * cap);
    float *src = random_matrix(max_rows + max_len + 8, max_rows + max_len + 8, max_rows + max_len + 8 + ld_pad);
    const int ld = max_rows + max_len + 8 + ld_pad;
    int bad = 0, cases = 0;
    for (int li = 0; li < NLENS; li++) {
        const int kc = lens[li], k0 = li % 3;
        for (int t = 0; t < 2; t++) {
            /* A: rows up to three panels and an edge; i0 and k0 off any alignment. */
            for (int rows = 1; rows <= 3 * mr + 1 && kern.pack_a; rows += rows < mr + 2 ? 1 : mr - 1, cases++) {
                const size_t n = (size_t)round_up_int(rows, mr) * kc;
                for (size_t i = 0; i < n + PACK_GUARD; i++) want[i] = got[i] = pad_sentinel;
                df_gemm_pack_a(mr, t, src, ld, 1, rows, k0, kc, want);
                kern.pack_a(mr, t, src, ld, 1, rows, k0, kc, got);
                if (!same_packing(want, got, n) && bad++ < 3)
                    fprintf(stderr, "  %s pack_a trans %d rows %d kc %d\n", df_gemm_backend_name(be), t, rows, kc);
            }
            /* B: one panel of 1..nr columns. */
            for (int cols = 1; cols <= nr && kern.pack_b; cols++, cases++) {
                const size_t n = (size_t)nr * kc;
                for (size_t i = 0; i < n + PACK_GUARD; i++) want[i] = got[i] = pad_sentinel;
                df_gemm_pack_b(nr, t, src, ld, k0, kc, 2, cols, want);
                kern.pack_b(nr, t, src, ld, k0, kc, 2, cols, got);
                if (!same_packing(want, got, n) && bad++ < 3)
                    fprintf(stderr, "  %s pack_b trans %d cols %d kc %d\n", df_gemm_backend_name(be), t, cols, kc);
            }
        }
        /* Patch rows: mr pointers into the input, some NULL. */
        for (int nulls = 0; nulls < 4 && kern.pack_rows; nulls++, cases++) {
            const float *rows[16];
            for (int i = 0; i < mr; i++) rows[i] = (i + nulls) % 4 == 3 ? NULL : src + (size_t)(2 * i + 1) * ld + k0;
            const size_t n = (size_t)mr * kc;
            for (size_t i = 0; i < n + PACK_GUARD; i++) want[i] = got[i] = pad_sentinel;
            df_gemm_pack_rows(mr, rows, kc, want);
            kern.pack_rows(mr, rows, kc, got);
            if (!same_packing(want, got, n) && bad++ < 3)
                fprintf(stderr, "  %s pack_rows nulls %d kc %d\n", df_gemm_backend_name(be), nulls, kc);
        }
    }
    /* Patch matrix as B: a 3 x 3 convolution with padding over 32 and 20 channels, so panels lie inside one
     * tap, straddle two, and end past the last column; pixel runs that start and end anywhere. */
    static const int channels[] = {32, 20};
    for (int ci = 0; ci < 2 && kern.pack_b_patches; ci++) {
        const df_conv_patches pt = df_conv_patches_make(src, 2, 3, 4, channels[ci], 3, 1, 1);
        const int pcols = df_conv_patches_cols(&pt), prows = df_conv_patches_rows(&pt);
        for (int j0 = 0; j0 < pcols; j0 += 8)
            for (int li = 0; li < NLENS; li++, cases++) {
                const int cols = pcols - j0 < nr ? pcols - j0 : nr, kc = lens[li] < prows ? lens[li] : prows;
                const int k0 = (j0 / 8 + li) % (prows - kc + 1);
                const size_t n = (size_t)nr * kc;
                for (size_t i = 0; i < n + PACK_GUARD; i++) want[i] = got[i] = pad_sentinel;
                df_gemm_pack_b_patches(nr, &pt, k0, kc, j0, cols, want);
                kern.pack_b_patches(nr, &pt, k0, kc, j0, cols, got);
                if (!same_packing(want, got, n) && bad++ < 3)
                    fprintf(stderr, "  %s pack_b_patches C %d j0 %d k0 %d kc %d\n", df_gemm_backend_name(be),
                            channels[ci], j0, k0, kc);
            }
    }
    CHECK_MSG(bad == 0, "%s: %d of %d packings differ from the generic packers", df_gemm_backend_name(be), bad, cases);
    free(want), free(got), free(src);
}

/* Which CPUs halve their FMAs, from CPUID signatures (leaf 1 EAX) of real parts. */
static void test_fma_halved(void) {
    static const struct {
        const char *vendor, *part;
        unsigned signature;
        int halved;
    } cpus[] = {
        {"AuthenticAMD", "EPYC 7601 (Zen 1, family 17h model 01h)", 0x00800f12, 1},
        {"AuthenticAMD", "Ryzen 7 2700X (Zen+, model 08h)", 0x00800f82, 1},
        {"AuthenticAMD", "EPYC 7742 (Zen 2, model 31h)", 0x00830f10, 0},
        {"AuthenticAMD", "Ryzen 9 3900X (Zen 2, model 71h)", 0x00870f10, 0},
        {"AuthenticAMD", "EPYC 7763 (Zen 3, family 19h model 01h)", 0x00a00f11, 0},
        {"AuthenticAMD", "EPYC 9654 (Zen 4, family 19h model 11h)", 0x00a10f11, 0},
        {"AuthenticAMD", "Zen 5 (family 1Ah)", 0x00b00f21, 0},
        {"HygonGenuine", "Dhyana (family 18h)", 0x00900f01, 1},
        {"GenuineIntel", "Xeon Ice Lake (family 6 model 6Ah)", 0x000606a6, 0},
        {"GenuineIntel", "Core i7-4770 (Haswell)", 0x000306c3, 0},
    };
    for (size_t i = 0; i < sizeof cpus / sizeof cpus[0]; i++)
        CHECK_MSG(df_gemm_fma_halved_of(cpus[i].vendor, cpus[i].signature) == cpus[i].halved,
                  "%s: halved FMAs %s", cpus[i].part, cpus[i].halved ? "not detected" : "detected wrongly");
    printf("this CPU's 256-bit FMAs: %s\n", df_gemm_fma_halved() ? "halved" : "full width");
}

int main(void) {
    static const df_gemm_backend all[] = {DF_GEMM_AVX512, DF_GEMM_AVX2, DF_GEMM_PORTABLE, DF_GEMM_OPENBLAS};
    test_names();
    test_fma_halved();
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (df_gemm_set_backend(all[i]) != 0) {
            printf("skipping %s: not supported by this CPU\n", df_gemm_backend_name(all[i]));
            continue;
        }
        backends[nbackends++] = all[i];
        test_no_multiply();
        test_packers(all[i]);
        test_patches(all[i]);
        if (all[i] != DF_GEMM_OPENBLAS) { /* OpenBLAS makes no such promise */
            test_thread_determinism(all[i]);
            test_nested(all[i]);
        }
    }
    test_against_ref();
    printf("checked:");
    for (int be = 0; be < nbackends; be++) printf(" %s", df_gemm_backend_name(backends[be]));
    printf("\n");
    return check_report();
}
