/* bn_kernels.h: the memory passes of batch normalisation over a (rows, C) matrix (channels last), shared by
 * the batchnorm op and the fused batchnorm+ReLU and batchnorm+ReLU+max-pool ops. Internal to layers/.
 *
 * Forward is two passes (statistics, then y = x*scale + shift, optionally clamped at 0); backward is two
 * (gradient sums, then dx). With the ReLU fused, the gradient reaching the norm is g = dy where
 * x*scale + shift > 0 and 0 elsewhere: the mask is recomputed from x with the saved scale and shift, the very
 * expression the forward clamped, so forward and backward agree on every element.
 *
 * Sums run over a number of row chunks that depends on `rows` only; within a chunk, blocks of rows are
 * summed in float and each block added to a double accumulator; the chunks are then added in order. So the
 * result is the same for any thread count (and any of the SIMD clones, see simd.h). */
#ifndef DF_LAYERS_BN_KERNELS_H
#define DF_LAYERS_BN_KERNELS_H

#include <stddef.h>

/* Scratch bytes the kernels below need for C channels. */
size_t df_bn_scratch_bytes(int C);

/* Batch mean and biased variance of each channel, in double. */
void df_bn_stats(size_t rows, int C, const float *x, double *mean, double *var, void *scratch);

/* y = x * scale[c] + shift[c]; with relu, y = max(that, 0). y may equal x. */
void df_bn_apply(size_t rows, int C, const float *x, float *y, const float *scale, const float *shift,
                 int relu);

/* sg[c] = sum g, sgc[c] = sum g * (x - mean[c]), where g = dy, or with relu_scale/relu_shift given, g = dy
 * masked by x * relu_scale + relu_shift > 0. */
void df_bn_grad_sums(size_t rows, int C, const float *dy, const float *x, const float *mean,
                     const float *relu_scale, const float *relu_shift, double *sg, double *sgc, void *scratch);

/* dx = a[c] * g + b[c] * (x - mean[c]) + d[c], g as above; stored, or added into dx when accumulate. */
void df_bn_grad_apply(size_t rows, int C, const float *dy, const float *x, float *dx, const float *mean,
                      const float *relu_scale, const float *relu_shift, const float *a, const float *b,
                      const float *d, int accumulate);

/* The same passes with a residual added before the ReLU: y = max(x * scale + shift + r, 0), both sums in that
 * order (as batch norm, then an add, then a ReLU compute it). Backward masks dy by the output, g = dy where
 * y > 0, which is the ReLU's own mask (y > 0 exactly where its input is); the sums are df_bn_grad_sums' over
 * g, and apply writes dx as df_bn_grad_apply does and dr = g, each stored or added by its own flag (NULL:
 * not wanted). */
void df_bn_add_relu_apply(size_t rows, int C, const float *x, const float *r, float *y, const float *scale,
                          const float *shift);
void df_bn_add_relu_grad_sums(size_t rows, int C, const float *dy, const float *y, const float *x,
                              const float *mean, double *sg, double *sgc, void *scratch);
void df_bn_add_relu_grad_apply(size_t rows, int C, const float *dy, const float *y, const float *x, float *dx,
                               float *dr, const float *mean, const float *a, const float *b, const float *d,
                               int accumulate_x, int accumulate_r);

/* The same passes with ReLU and 2x2 stride-2 max pooling after the norm, over x (B, H, W, C), H, W >= 2; the
 * output is (B, H/2, W/2, C) (a last odd row or column is in no window). Forward: y = max over each window of
 * max(x * scale + shift, 0). Backward from the pooled gradient dy: g is dy at the window's winning tap where
 * its x * scale + shift > 0, and 0 elsewhere; the winner is found again from x by the forward's comparisons,
 * so nothing per element is saved. */
void df_bn_relu_pool_apply(int B, int H, int W, int C, const float *x, float *y, const float *scale,
                           const float *shift);
void df_bn_relu_pool_grad_sums(int B, int H, int W, int C, const float *dy, const float *x, const float *mean,
                               const float *scale, const float *shift, double *sg, double *sgc, void *scratch);
void df_bn_relu_pool_grad_apply(int B, int H, int W, int C, const float *dy, const float *x, float *dx,
                                const float *mean, const float *scale, const float *shift, const float *a,
                                const float *b, const float *d, int accumulate);

#endif
