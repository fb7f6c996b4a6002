/* fused.h: layers that do the work of several in one pass over memory. Each gives the same result as the
 * composition it replaces (tests/layers/test_gradcheck.c holds them together), with the same parameter
 * names, so a checkpoint of the unfused model loads into the fused one.
 *
 * Activations are memory-bound: between a convolution and the next, batch norm and ReLU apart read and
 * write the feature map five times forward and eight times backward; fused, three and five. With the max
 * pooling that ends a VGG stage folded in as well, two and a quarter forward and three and a half backward.
 * At the end of a ResNet block, batch norm, the residual add and ReLU apart make eight passes forward and
 * eleven backward; fused, four and eight. */
#ifndef DF_LAYERS_FUSED_H
#define DF_LAYERS_FUSED_H

#include "core/graph.h"

/* y = max(0, batchnorm(x)): df_batchnorm followed by df_relu, as one node named `name` with the
 * batchnorm's parameters ("<name>.weight", ".bias", ".running_mean", ".running_var"). The ReLU's mask is
 * recomputed from x in backward, so nothing beyond the batch norm's per-channel values is saved. */
int df_batchnorm_relu(df_graph *g, const char *name, int x, float eps, float momentum);

/* df_batchnorm_relu followed by df_maxpool(2, 2, 0), as one node named `name` with the batchnorm's parameters:
 * input (B, H, W, C), H, W >= 2, output (B, H/2, W/2, C). The full-size normalised map is never written:
 * forward reads x twice (statistics, then normalise-clamp-pool) and writes the pooled map; backward finds
 * each window's winner again from x, so it reads x and the pooled gradient twice and writes dx once. */
int df_batchnorm_relu_maxpool(df_graph *g, const char *name, int x, float eps, float momentum);

/* y = max(0, batchnorm(x) + residual): df_batchnorm, then df_add with residual (of x's shape), then df_relu, as
 * one node named `name` with the batchnorm's parameters: a ResNet basic block's end. Forward reads x twice
 * and the residual once and writes y; backward masks dy by y > 0, reads dy, y and x twice and writes dx and the
 * residual's gradient; nothing beyond the batch norm's per-channel values is saved. */
int df_batchnorm_add_relu(df_graph *g, const char *name, int x, int residual, float eps, float momentum);

#endif
