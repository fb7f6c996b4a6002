/* conv_small.h: the weight gradient of a convolution with a short patch (few input channels, e.g. the first
 * layer on RGB: 3x3x3 = 27 values), where a general GEMM spends its time packing and on edge tiles.
 * Internal to layers/ (conv2d.c).
 *
 *   weight grad  dW (CO, Kt) += dY^T (CO, P) col (P, Kt)
 *
 * An AVX-512 register-blocked loop keeps 9 patch positions x 32 channels and streams the pixels. The sum
 * runs over a number of pixel chunks that depends on P only, the chunks added in order, so results are the
 * same for any thread count. Used only when df_sgemm runs its AVX-512 backend, so that choosing another
 * backend (a reference run) changes every product at once. (The forward of such layers goes through the
 * implicit GEMM, which measured faster than a kernel of this kind.) */
#ifndef DF_LAYERS_CONV_SMALL_H
#define DF_LAYERS_CONV_SMALL_H

#include <stddef.h>

/* Whether the kernel applies: AVX-512 backend, CO a multiple of 16, Kt at most DF_CONV_SMALL_MAX_K. */
#define DF_CONV_SMALL_MAX_K 48
int df_conv_small_applies(int Kt, int CO);

/* Scratch bytes the call needs for this shape. */
size_t df_conv_small_scratch_bytes(int Kt, int CO);

void df_conv_small_weight_grad(long P, int Kt, int CO, const float *col, const float *dy, float *dw,
                               void *scratch);

#endif
