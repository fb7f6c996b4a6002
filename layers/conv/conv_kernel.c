/* conv_kernel.c: which kernel runs each direction of a convolution, and the workspace they need (the table
 * is in conv_kernel.h). Sizing covers every backend this CPU runs, not only the selected one: the backend
 * is process-wide state that tests and reference runs change after a graph is compiled, and the graph
 * plans its scratch once. */
#include "layers/conv/conv_kernel.h"

#include "core/error.h"
#include "layers/conv/conv_avx2.h"
#include "layers/conv/conv_avx512.h"

/* Target size of one group's patch gradient (explicit input gradient). */
#define GROUP_BYTES ((size_t)6 << 20)

static int kt_of(df_conv_shape d) { return d.k * d.k * d.C; }

int df_conv_small_possible(df_conv_shape d) {
    return !df_conv_is_pointwise(d) && df_conv_small_fits(NULL, kt_of(d), d.CO);
}

const df_conv_small_isa *df_conv_small_isa_of(df_conv_kernel k) {
    return k == DF_CONV_SMALL_AVX512 ? &df_conv_small_avx512 : k == DF_CONV_SMALL_AVX2 ? &df_conv_small_avx2 : NULL;
}

df_conv_patches df_conv_input_patches(df_conv_shape d, int n, const float *x) {
    return df_conv_patches_make(x, n, d.H, d.W, d.C, d.k, d.s, d.p);
}

df_conv_patches df_conv_dgrad_patches(df_conv_shape d, int n, const float *dy) {
    df_conv_patches pt = df_conv_patches_make(dy, n, d.OH, d.OW, d.CO, d.k, 1, d.k - 1 - d.p);
    DF_ASSERT(pt.OH == d.H && pt.OW == d.W);
    return pt;
}

/* Whether backend b has a direct kernel for direction dir on these patches (the input patches, or dY's for
 * the input gradient): a property of the shape alone. */
static int direct_applies(const df_conv_patches *pt, df_conv_dir dir, df_gemm_backend b) {
    const int wgrad = dir == DF_CONV_WEIGHT_GRAD;
    if (b == DF_GEMM_AVX512) return wgrad ? df_conv_wgrad_avx512_applies(pt) : df_conv_direct_avx512_applies(pt);
    if (b == DF_GEMM_AVX2) return wgrad ? df_conv_wgrad_avx2_applies(pt) : df_conv_direct_avx2_applies(pt);
    return 0;
}

/* Where the AVX2 direct kernels beat the implicit GEMM (conv_kernel.h, note 4): on a core that halves its
 * FMAs, every kernel wider than 1x1; on a full-width one, the weight gradient of stride-1 layers of at most
 * 64 input channels only. */
static int avx2_direct_pays(const df_conv_patches *pt, df_conv_dir dir) {
    if (pt->k == 1) return 0;
    return df_gemm_fma_halved() || (dir == DF_CONV_WEIGHT_GRAD && pt->stride == 1 && pt->C <= 64);
}

/* The direct kernel of backend b for direction dir on these patches, or IMPLICIT_GEMM where it has none or
 * where the GEMM is faster. */
static df_conv_kernel direct_kernel(const df_conv_patches *pt, df_conv_dir dir, df_gemm_backend b) {
    if (!direct_applies(pt, dir, b)) return DF_CONV_IMPLICIT_GEMM;
    if (b == DF_GEMM_AVX512) return DF_CONV_DIRECT_AVX512;
    return avx2_direct_pays(pt, dir) ? DF_CONV_DIRECT_AVX2 : DF_CONV_IMPLICIT_GEMM;
}

/* The short-patch kernel of backend b for direction dir (forward or weight gradient), or -1. On AVX2 only
 * for kernels wider than 1x1 where the AVX2 direct kernel has no instance for the direction (fewer than 16,
 * or 8, input channels), whatever the CPU: see conv_kernel.h for the measurements. */
static int small_kernel(df_conv_shape d, df_conv_dir dir, df_gemm_backend b) {
    if (!df_conv_small_possible(d)) return -1;
    /* The AVX2 tiles give the AVX-512 ones' bits (conv_small.h), so they take the channel counts those do not
     * (CO % 16 == 8; every AVX-512 CPU has AVX2 and FMA). */
    if (b == DF_GEMM_AVX512)
        return df_conv_small_fits(&df_conv_small_avx512, kt_of(d), d.CO) ? DF_CONV_SMALL_AVX512
               : df_gemm_backend_supported(DF_GEMM_AVX2)                 ? DF_CONV_SMALL_AVX2
                                                                         : -1;
    if (b != DF_GEMM_AVX2 || d.k == 1 || !df_conv_small_fits(&df_conv_small_avx2, kt_of(d), d.CO)) return -1;
    const df_conv_patches pt = df_conv_input_patches(d, 1, NULL);
    return direct_applies(&pt, dir, b) ? -1 : DF_CONV_SMALL_AVX2;
}

df_conv_kernel df_conv_choose(df_conv_shape d, df_conv_dir dir, df_gemm_backend b) {
    const int small = dir == DF_CONV_INPUT_GRAD ? -1 : small_kernel(d, dir, b);
    if (small >= 0) return (df_conv_kernel)small;
    if (df_conv_is_pointwise(d)) return DF_CONV_POINTWISE_GEMM;
    if (dir == DF_CONV_INPUT_GRAD && !df_conv_dgrad_implicit(d)) return DF_CONV_EXPLICIT_COL2IM;
    const df_conv_patches pt = dir == DF_CONV_INPUT_GRAD ? df_conv_dgrad_patches(d, 1, NULL)
                                                         : df_conv_input_patches(d, 1, NULL);
    return direct_kernel(&pt, dir, b);
}

const char *df_conv_kernel_name(df_conv_kernel k) {
    static const char *const names[] = {"small_avx512",   "small_avx2",    "direct_avx512", "direct_avx2",
                                        "pointwise_gemm", "implicit_gemm", "explicit_col2im"};
    return names[k];
}

int df_conv_group(df_conv_shape d, int max_batch) {
    size_t per_image = (size_t)d.OH * d.OW * kt_of(d) * sizeof(float);
    size_t gsz = GROUP_BYTES / (per_image ? per_image : 1);
    if (gsz < 1) gsz = 1;
    if (gsz > (size_t)max_batch) gsz = (size_t)max_batch;
    return (int)gsz;
}

static size_t max_size(size_t a, size_t b) { return a > b ? a : b; }

/* The direct forward kernels' workspace, the most of those this CPU could run on these patches (0: none). */
static size_t direct_bytes(const df_conv_patches *pt, int N, int threads) {
    size_t floats = 0;
    if (df_gemm_backend_supported(DF_GEMM_AVX512) && df_conv_direct_avx512_applies(pt))
        floats = df_conv_direct_avx512_ws_floats(pt, N, threads);
    if (df_gemm_backend_supported(DF_GEMM_AVX2) && df_conv_direct_avx2_applies(pt))
        floats = max_size(floats, df_conv_direct_avx2_ws_floats(pt, N, threads));
    return floats * sizeof(float);
}

size_t df_conv_ws_bytes(df_conv_shape d, int max_batch, int threads) {
    const int P = d.OH * d.OW, K = kt_of(d), rows = max_batch * P;
    if (df_conv_is_pointwise(d))
        return max_size(df_sgemm_ws_bytes(rows, d.CO, K, threads),
                        max_size(df_sgemm_ws_bytes(d.CO, K, rows, threads), df_sgemm_ws_bytes(rows, K, d.CO, threads)));
    const df_conv_patches pt = df_conv_input_patches(d, max_batch, NULL);
    size_t ws = max_size(df_sgemm_patches_a_ws_bytes(&pt, d.CO, threads), direct_bytes(&pt, d.CO, threads));
    ws = max_size(ws, df_sgemm_patches_b_ws_bytes(d.CO, &pt, threads));
    if (df_conv_dgrad_implicit(d)) {
        const df_conv_patches dpt = df_conv_dgrad_patches(d, max_batch, NULL);
        ws = max_size(ws, max_size(df_sgemm_patches_a_ws_bytes(&dpt, d.C, threads), direct_bytes(&dpt, d.C, threads)));
    } else {
        ws = max_size(ws, df_sgemm_ws_bytes(df_conv_group(d, max_batch) * P, K, d.CO, threads));
    }
    return ws;
}

void df_conv_patches_times(df_conv_kernel kind, const df_conv_patches *pt, int trans_b, int N, const float *B,
                           int ldb, float beta, float *C, int ldc, df_gemm_ws ws) {
    const size_t floats = ws.bytes / sizeof(float);
    if (kind == DF_CONV_DIRECT_AVX512)
        df_conv_direct_avx512(pt, trans_b, N, 1.0f, B, ldb, beta, C, ldc, ws.p, floats);
    else if (kind == DF_CONV_DIRECT_AVX2)
        df_conv_direct_avx2(pt, trans_b, N, 1.0f, B, ldb, beta, C, ldc, ws.p, floats);
    else
        df_sgemm_patches_a(pt, trans_b, N, 1.0f, B, ldb, beta, C, ldc, ws);
}

void df_conv_wgrad_times(df_conv_kernel kind, int CO, const float *dy, const df_conv_patches *pt, float *dw,
                         int ldw, df_gemm_ws ws) {
    if (kind == DF_CONV_DIRECT_AVX512)
        df_conv_wgrad_avx512(CO, 1.0f, dy, CO, pt, 1.0f, dw, ldw);
    else if (kind == DF_CONV_DIRECT_AVX2)
        df_conv_wgrad_avx2(CO, 1.0f, dy, CO, pt, 1.0f, dw, ldw);
    else
        df_sgemm_patches_b(1, CO, 1.0f, dy, CO, pt, 1.0f, dw, ldw, ws);
}
