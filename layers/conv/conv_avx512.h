/* conv_avx512.h: the AVX-512 convolution kernels that read the patch matrix in place instead of packing it
 * (conv_direct_avx512.c, conv_wgrad_avx512.c). Internal to layers/conv: conv_kernel.c decides when they run.
 * The kernels are compiled with AVX-512 flags and may only be called where the CPU has avx512f; what is
 * inline here (when they apply, their workspace) is ordinary code, safe on any CPU. */
#ifndef DF_LAYERS_CONV_AVX512_H
#define DF_LAYERS_CONV_AVX512_H

#include <stddef.h>

#include "core/gemm/gemm.h"

/* The direct forward's output-channel panel, and the target size of a band's padded input copy. */
enum { DF_CONV_DIRECT_PANEL = 64, DF_CONV_DIRECT_MIN_ROW = 7 };
#define DF_CONV_DIRECT_BAND_BYTES ((size_t)192 << 10)

/* df_sgemm_patches_a without packing A, for stride-1 patch matrices with pad <= k - 1, C in {16, 32, 64, 128,
 * 256, 512} and output width >= 7 (a row is cut into tiles of at least half the longest). Same contract as
 * df_sgemm_patches_a (N > 0, alpha != 0); equal to the blocked driver's result when it runs K as one block. */
static inline int df_conv_direct_avx512_applies(const df_conv_patches *pt) {
    if (pt->stride != 1 || pt->pad > pt->k - 1 || pt->OW < DF_CONV_DIRECT_MIN_ROW) return 0;
    switch (pt->C) {
    case 16: case 32: case 64: case 128: case 256: case 512: return 1;
    default: return 0;
    }
}

/* Output rows per band: the padded copy (rows + k - 1 input rows of Wp = OW + k - 1 pixels) near the target. */
static inline int df_conv_direct_band_rows(const df_conv_patches *pt) {
    const size_t row_bytes = (size_t)(pt->OW + pt->k - 1) * pt->C * sizeof(float);
    int rows = (int)(DF_CONV_DIRECT_BAND_BYTES / row_bytes) - (pt->k - 1);
    return rows < 1 ? 1 : rows > pt->OH ? pt->OH : rows;
}
static inline size_t df_conv_direct_band_floats(const df_conv_patches *pt) {
    return (size_t)(df_conv_direct_band_rows(pt) + pt->k - 1) * (pt->OW + pt->k - 1) * pt->C;
}
/* Workspace floats on `threads` threads: the packed B panels (shared), then one band copy per thread. Neither
 * depends on the batch. */
static inline size_t df_conv_direct_avx512_ws_floats(const df_conv_patches *pt, int N, int threads) {
    const size_t panels = (size_t)(N + DF_CONV_DIRECT_PANEL - 1) / DF_CONV_DIRECT_PANEL * DF_CONV_DIRECT_PANEL *
                          pt->k * pt->k * pt->C;
    return panels + (size_t)(threads < 1 ? 1 : threads) * df_conv_direct_band_floats(pt);
}
void df_conv_direct_avx512(const df_conv_patches *pt, int trans_b, int N, float alpha, const float *B, int ldb,
                           float beta, float *C, int ldc, float *ws, size_t ws_floats);

/* df_sgemm_patches_b with trans_a (a weight gradient: A is dY, pixels x M) without packing either operand, for
 * C a multiple of 16; needs no workspace. Same contract; equal to the blocked driver's result while the
 * pixels fit one block (512). */
static inline int df_conv_wgrad_avx512_applies(const df_conv_patches *pt) { return pt->C % 16 == 0; }
void df_conv_wgrad_avx512(int M, float alpha, const float *A, int lda, const df_conv_patches *pt, float beta,
                          float *C, int ldc);

#endif
