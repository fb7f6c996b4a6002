/* conv_small.h: the two products of a convolution with a short patch (few input channels, e.g. the first
 * layer on RGB: 3x3x3 = 27 values), where a general GEMM spends its time packing and on edge tiles.
 * Internal to layers/ (conv2d.c).
 *
 *   forward      y (P, CO) = col (P, Kt) W^T          W (CO, Kt)
 *   weight grad  dW (CO, Kt) += dY^T (CO, P) col (P, Kt)
 *
 * AVX-512 register-blocked loops: the forward keeps 8 pixels x 32 output channels in registers and streams
 * the patch values; the weight gradient keeps 9 patch positions x 32 channels and streams the pixels. The
 * weight gradient is summed over a number of pixel chunks that depends on P only, the chunks added in order,
 * so results are the same for any thread count. Used only when df_sgemm runs its AVX-512 backend, so that
 * choosing another backend (a reference run) changes every product at once. */
#ifndef DF_LAYERS_CONV_SMALL_H
#define DF_LAYERS_CONV_SMALL_H

#include <stddef.h>

/* Whether the kernels apply: AVX-512 backend, CO a multiple of 16, Kt at most DF_CONV_SMALL_MAX_K. */
#define DF_CONV_SMALL_MAX_K 48
int df_conv_small_applies(int Kt, int CO);

/* Scratch bytes both calls need for this shape. */
size_t df_conv_small_scratch_bytes(int Kt, int CO);

/* y = col W^T, or y += col W^T when accumulate (y holds a bias). */
void df_conv_small_forward(long P, int Kt, int CO, const float *col, const float *w, float *y, int accumulate,
                           void *scratch);
void df_conv_small_weight_grad(long P, int Kt, int CO, const float *col, const float *dy, float *dw,
                               void *scratch);

#endif
