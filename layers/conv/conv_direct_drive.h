/* conv_direct_drive.h: what the direct convolution kernels of every ISA share (conv_avx2.h, conv_avx512.h),
 * none of it vector code: the drivers that copy bands, pack B panels, hand out work to threads and call an
 * ISA's register-tile code. Internal to layers/conv; compiled with ordinary flags (conv_direct_drive.c).
 *
 * Direct forward (df_sgemm_patches_a without packing A): B is packed into panels of `panel` output channels
 * (K rows, each padded with zeros to a multiple of `vec` floats) in the shared head of the workspace; each
 * work item (image, band of output rows) gets a zero-padded copy of the input rows it reads in its thread's
 * slice, and the ISA's band function computes every panel from it. Items are handed out on demand; each
 * output element is computed by one tile whichever thread runs it, so results do not depend on the thread
 * count.
 *
 * Weight gradient (df_sgemm_patches_b with trans_a, neither operand packed): C is cut into tiles of up to
 * mr output channels x nr input channels of one tap; pixels are taken in blocks of whole output rows (about
 * block_pixels), and after each block a tile updates C (beta, then 1, as the blocked driver does after each
 * k block). Each thread owns a fixed set of tiles for the whole call: each C element is one sum in one
 * order, whatever the thread count. */
#ifndef DF_LAYERS_CONV_DIRECT_DRIVE_H
#define DF_LAYERS_CONV_DIRECT_DRIVE_H

#include <stddef.h>

#include "core/gemm/gemm.h"

/* Output rows [0, rows) of one band of one image, from its padded copy x: input rows of Wp = (OW - 1) *
 * stride + k pixels, output row r starting at input row r * stride. */
typedef struct {
    const float *x;
    int Wp, OW, rows, k, stride;
    float *c; /* C at the band's first output pixel */
    ptrdiff_t ldc;
    float alpha, beta;
} df_conv_band;

typedef struct {
    int panel;          /* output channels per packed B panel */
    int vec;            /* floats per vector: a panel's rows are padded to a multiple of it */
    int band_rows;      /* output rows per band */
    size_t band_floats; /* floats of one band's padded copy (band_rows of them) */
    /* Columns [j0, j0 + w) of C for the whole band, w <= panel, from the packed panel (K x vec-rounded w). */
    void (*band_panel)(const df_conv_band *band, int C, int w, const float *panel, int j0);
} df_conv_direct_isa;

void df_conv_direct_drive(const df_conv_patches *pt, int trans_b, int N, float alpha, const float *B, int ldb,
                          float beta, float *C, int ldc, float *ws, size_t ws_floats, const df_conv_direct_isa *isa);

typedef struct {
    const df_conv_patches *pt;
    const float *A;
    int lda;
    float *C;
    int ldc;
    float alpha;
} df_conv_wgrad_job;

typedef struct {
    int mr, nr;       /* tile: output channels, input channels */
    int block_pixels; /* pixels per block, rounded down to whole output rows (at least one) */
    /* One tile (rows <= mr output channels from co0, cols <= nr input channels from c0, tap t) over output
     * rows [r0, r1) of the whole batch, then its update of C with beta. */
    void (*tile)(const df_conv_wgrad_job *j, int rows, int cols, int co0, int t, int c0, long r0, long r1,
                 float beta);
} df_conv_wgrad_isa;

void df_conv_wgrad_drive(int M, float alpha, const float *A, int lda, const df_conv_patches *pt, float beta,
                         float *C, int ldc, const df_conv_wgrad_isa *isa);

/* [lo, hi) of the output positions along one axis (out positions, input size n) whose tap t lands inside
 * the input: o * stride + t - pad in [0, n). */
void df_conv_tap_range(int out, int n, int t, int stride, int pad, int *lo, int *hi);

#endif
