/* conv_avx2.h: the AVX2 + FMA convolution kernels that read the patch matrix in place instead of packing it
 * (conv_direct_avx2.c, conv_wgrad_avx2.c), the counterparts of conv_avx512.h for CPUs with 16 ymm registers.
 * Internal to layers/conv: conv_kernel.c decides when they run. The kernels are compiled with -mavx2 -mfma
 * and may only be called where the CPU has both; what is inline here (when they apply, their workspace) is
 * ordinary code, safe on any CPU. */
#ifndef DF_LAYERS_CONV_AVX2_H
#define DF_LAYERS_CONV_AVX2_H

#include <stddef.h>

#include "core/gemm/gemm.h"

/* The direct forward's output-channel panel (two ymm vectors), the shortest output row it takes, and the
 * target size of a band's padded input copy (a quarter of a 512 KiB L2, which also holds a B panel). */
enum { DF_CONV_AVX2_PANEL = 16, DF_CONV_AVX2_MIN_ROW = 7 };
#define DF_CONV_AVX2_BAND_BYTES ((size_t)128 << 10)

/* df_sgemm_patches_a without packing A, for patch matrices of stride 1 or 2 with pad <= k - 1, C in {16, 32,
 * 64, 128, 256, 512} and output width >= 7 (a row is cut into tiles of at least half the longest). Same
 * contract as df_sgemm_patches_a (N > 0, alpha != 0); equal to the blocked driver's result when it runs K as
 * one block. */
static inline int df_conv_direct_avx2_applies(const df_conv_patches *pt) {
    if (pt->stride > 2 || pt->pad > pt->k - 1 || pt->OW < DF_CONV_AVX2_MIN_ROW) return 0;
    switch (pt->C) {
    case 16: case 32: case 64: case 128: case 256: case 512: return 1;
    default: return 0;
    }
}

/* A band of `rows` output rows reads (rows - 1) * stride + k padded input rows of Wp pixels. */
static inline int df_conv_avx2_padded_width(const df_conv_patches *pt) { return (pt->OW - 1) * pt->stride + pt->k; }
static inline int df_conv_avx2_band_in_rows(const df_conv_patches *pt, int rows) {
    return (rows - 1) * pt->stride + pt->k;
}
/* Output rows per band: the padded copy near DF_CONV_AVX2_BAND_BYTES, at least one row, at most OH. */
static inline int df_conv_avx2_band_rows(const df_conv_patches *pt) {
    const size_t row_bytes = (size_t)df_conv_avx2_padded_width(pt) * pt->C * sizeof(float);
    const int in_rows = (int)(DF_CONV_AVX2_BAND_BYTES / row_bytes);
    const int rows = in_rows < pt->k ? 1 : (in_rows - pt->k) / pt->stride + 1;
    return rows > pt->OH ? pt->OH : rows;
}
static inline size_t df_conv_avx2_band_floats(const df_conv_patches *pt) {
    return (size_t)df_conv_avx2_band_in_rows(pt, df_conv_avx2_band_rows(pt)) * df_conv_avx2_padded_width(pt) *
           pt->C;
}
/* Workspace floats on `threads` threads: the packed B panels (shared), then one band copy per thread. Neither
 * depends on the batch. */
static inline size_t df_conv_direct_avx2_ws_floats(const df_conv_patches *pt, int N, int threads) {
    const size_t panels = (size_t)(N + DF_CONV_AVX2_PANEL - 1) / DF_CONV_AVX2_PANEL * DF_CONV_AVX2_PANEL *
                          pt->k * pt->k * pt->C;
    return panels + (size_t)(threads < 1 ? 1 : threads) * df_conv_avx2_band_floats(pt);
}
void df_conv_direct_avx2(const df_conv_patches *pt, int trans_b, int N, float alpha, const float *B, int ldb,
                         float beta, float *C, int ldc, float *ws, size_t ws_floats);

/* df_sgemm_patches_b with trans_a (a weight gradient: A is dY, pixels x M) without packing either operand, for
 * C a multiple of 8, any stride; needs no workspace. Same contract; equal to the blocked driver's result
 * while the pixels fit one block (256). */
static inline int df_conv_wgrad_avx2_applies(const df_conv_patches *pt) { return pt->C % 8 == 0; }
void df_conv_wgrad_avx2(int M, float alpha, const float *A, int lda, const df_conv_patches *pt, float beta,
                        float *C, int ldc);

#endif
