/* layers.h: the layer builders. Each appends one node to a graph and returns its id, or -1 if the graph has
 * failed (the first error, naming the layer and the shapes, is in g->err). Image activations are NHWC
 * (batch, height, width, channels); feature activations (batch, features). Each op's forward and backward
 * live together in one file of layers/, with its math on the first line.
 *
 * Parameters are created under "<name>.<suffix>": weight, bias (linear, conv2d), weight, bias, running_mean,
 * running_var (batchnorm). Convolution weights are (Cout, KH, KW, Cin), linear weights (out, in). */
#ifndef DF_LAYERS_H
#define DF_LAYERS_H

#include "core/graph.h"

/* y = x W^T + b; x (B, in) -> (B, out), or a sequence (B, T, in) -> (B, T, out), every token alike
 * (attention's projections); image maps are refused. He-uniform init as in common practice for ReLU nets. */
int df_linear(df_graph *g, const char *name, int x, int out_features, int bias);

/* 2-D convolution, NHWC, square kernel k, zero padding pad, stride s: (B,H,W,Cin) -> (B,OH,OW,Cout),
 * OH = (H + 2 pad - k) / s + 1. */
int df_conv2d(df_graph *g, const char *name, int x, int out_channels, int k, int stride, int pad, int bias);

/* Batch normalisation over every dimension but the last (channels): (B,F) or (B,H,W,C). Training mode uses
 * batch statistics and updates running ones with `momentum` (PyTorch convention, 0.1 typical); inference
 * mode uses the running ones. */
int df_batchnorm(df_graph *g, const char *name, int x, float eps, float momentum);

typedef enum { DF_ACT_RELU, DF_ACT_SILU, DF_ACT_SIGMOID } df_activation;
int df_activation_layer(df_graph *g, const char *name, int x, df_activation kind);
static inline int df_relu(df_graph *g, const char *name, int x) {
    return df_activation_layer(g, name, x, DF_ACT_RELU);
}

/* Max and average pooling, square window k, stride s, padding pad; average pooling divides by k*k
 * (padding counts as zeros, PyTorch's count_include_pad). */
int df_maxpool(df_graph *g, const char *name, int x, int k, int stride, int pad);
int df_avgpool(df_graph *g, const char *name, int x, int k, int stride, int pad);
/* (B,H,W,C) -> (B,C), the mean over H and W. */
int df_global_avgpool(df_graph *g, const char *name, int x);

/* Inverted dropout with drop probability p in [0, 1); identity in inference mode. The mask is a function of
 * (graph seed, layer, step, element), so it does not depend on the thread count. */
int df_dropout(df_graph *g, const char *name, int x, float p);

/* (B, ...) -> (B, product of the rest). */
int df_flatten(df_graph *g, const char *name, int x);
/* Concatenation along the last dimension (channels or features); all other dimensions must match. */
int df_concat(df_graph *g, const char *name, const int *xs, int n);
/* y = a + b, same shapes (residual connections). */
int df_add(df_graph *g, const char *name, int a, int b);
/* y[b,h,w,c] = x[b,h,w,c] * s[b,c]: per-sample channel scaling (gated metadata fusion). */
int df_scale_channels(df_graph *g, const char *name, int x, int s);
/* (B, M) -> (B, H, W, M): a vector broadcast to constant planes (early fusion). */
int df_broadcast_planes(df_graph *g, const char *name, int x, int h, int w);

/* Layer normalisation over the last dimension of (B, ..., D), per row: y = (x - mean) / sqrt(var + eps) *
 * weight + bias, weight and bias (D) starting at one and zero (PyTorch's LayerNorm). eps > 0. */
int df_layernorm(df_graph *g, const char *name, int x, float eps);
/* Softmax over the last dimension of (B, ..., n), per row, with the row's maximum subtracted first. */
int df_softmax(df_graph *g, const char *name, int x);
/* Batched matrix product: y[s] = alpha op(a[s]) op(b[s]) for every sample s, op = transpose where the flag is
 * set; a (B, M, K) (trans_a: (B, K, M)), b (B, K, N) (trans_b: (B, N, K)) -> (B, M, N). Attention's scores are
 * df_bmm(q, k, 0, 1, 1/sqrt(d)), its output df_bmm(weights, v, 0, 0, 1). */
int df_bmm(df_graph *g, const char *name, int a, int b, int trans_a, int trans_b, float alpha);
/* FiLM: y[b,h,w,c] = (1 + gamma[b,c]) x[b,h,w,c] + beta[b,c]; x (B, H, W, C), gamma and beta (B, C). */
int df_film(df_graph *g, const char *name, int x, int gamma, int beta);
/* (B, ...) -> (B, sample...) with the same number of values per sample, in the same order. */
int df_reshape(df_graph *g, const char *name, int x, df_shape sample);

/* Mean softmax cross-entropy of logits (B, K) against class indices `target` (B) (stored as floats).
 * class_weights (K values, or NULL) weight each sample by its class, normalised by the weight sum;
 * label smoothing eps mixes the one-hot target with the uniform distribution (PyTorch's definition). */
int df_softmax_cross_entropy(df_graph *g, const char *name, int logits, int target, int n_classes,
                             const float *class_weights, float label_smoothing);
/* Mean binary cross-entropy of logits (B, 1) against 0/1 targets (B); class_weights[2] or NULL. */
int df_bce_with_logits(df_graph *g, const char *name, int logits, int target, const float *class_weights,
                       float label_smoothing);

#endif
