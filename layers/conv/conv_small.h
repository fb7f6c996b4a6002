/* conv_small.h: convolutions with a short patch (few input channels, e.g. the first layer on RGB: 3x3x3 = 27
 * values per output pixel), where a GEMM spends its time packing 3-float runs and on edge tiles. Direct
 * kernels read x (n, H, W, C) straight from NHWC: per output row they copy the k input rows it needs into
 * small zero-padded per-thread buffers, in which kernel row i's taps for output pixel ow are k*C contiguous
 * floats, so a tap is an offset and no patch matrix is stored. Internal to layers/ (conv2d.c).
 *
 *   forward      y (n, OH, OW, CO) = bias + sum over taps of x_tap * W      (stored)
 *   weight grad  dW (CO, k, k, C) += sum over pixels of dY (pixel, CO) x_tap (added)
 *
 * Two instruction sets share one driver (conv_small.c: buffers, threads, the reduction) and bring their own
 * register tiles: AVX-512 (conv_small_avx512.c) and AVX2 + FMA (conv_small_avx2.c). Each output of the
 * forward is written by one thread. The weight gradient sums a number of chunks of output rows that depends
 * on the shape only (the batch included), each into its own partial, the partials added in chunk order:
 * results are the same bits for any thread count, and the same on both instruction sets (every element is
 * the same products summed in the same order; only the tiles differ). Within a chunk, one output row's dY
 * stays in L1 while groups of taps x channels of accumulators stream over it, so dY is read from memory once.
 *
 * Each set runs only where df_sgemm runs a SIMD backend (conv_kernel.h decides): its own, and the AVX2 set
 * also on the AVX-512 backend for the channel counts the AVX-512 tiles do not take (the same bits). Choosing
 * the portable or OpenBLAS backend (a reference run) still changes every product at once. */
#ifndef DF_LAYERS_CONV_SMALL_H
#define DF_LAYERS_CONV_SMALL_H

#include <stddef.h>

#include "core/gemm/gemm.h"

/* Whether instruction set isa's kernels fit the shape: CO a multiple of its channel block (16 on AVX-512, 8 on
 * AVX2), Kt = k*k*C at most DF_CONV_SMALL_MAX_K; isa NULL: whether either set's do (scratch planning, which
 * covers every set). They run only where conv_kernel.h chooses them. Stride and padding may be anything. The
 * bound takes in the 7x7 stride-2 stem on RGB (147) and 3x3 with up to 17 input channels. Measured against
 * the implicit GEMM with AVX-512 (batch 32, 2 threads): weight gradient 1.15 to 5x faster on every shape
 * tried; forward 1.7 to 4x on RGB 5x5 and 7x7, level at 3x3 with 16 input channels; with 32 input channels
 * (288 values) the GEMM's forward was faster. The AVX2 figures are in conv_small_avx2.c. */
#define DF_CONV_SMALL_MAX_K 160

/* An instruction set's register tiles (conv_small_drive.h); call only where the CPU has its instructions. */
typedef struct df_conv_small_geom df_conv_small_geom;
typedef struct df_conv_small_isa df_conv_small_isa;
extern const df_conv_small_isa df_conv_small_avx512, df_conv_small_avx2;

int df_conv_small_fits(const df_conv_small_isa *isa, int Kt, int CO);

/* Scratch bytes either call needs for this shape (a function of Kt and CO only, the same for both sets). */
size_t df_conv_small_scratch_bytes(int Kt, int CO);

/* x, the batch and the geometry come from pt (core/gemm.h); w (CO, k, k, C); bias (CO) or NULL. */
void df_conv_small_forward(const df_conv_small_isa *isa, const df_conv_patches *pt, const float *w,
                           const float *bias, int CO, float *y, void *scratch);

/* dy (n, OH, OW, CO); dw (CO, k, k, C) is added to. */
void df_conv_small_weight_grad(const df_conv_small_isa *isa, const df_conv_patches *pt, const float *dy, int CO,
                               float *dw, void *scratch);

#endif
