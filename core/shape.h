/* shape.h: tensor shapes.
 *
 * Activations are float32, contiguous, row-major. Image-like activations are NHWC (channels last:
 * d = {N, H, W, C}), which lets a convolution read each pixel's channels as one contiguous run and lets
 * batch norm vectorise across channels; feature vectors are {N, F}. Dimension 0 is always the batch. */
#ifndef DF_SHAPE_H
#define DF_SHAPE_H

#include <stddef.h>

#define DF_MAX_RANK 4

typedef struct {
    int rank;
    int d[DF_MAX_RANK];
} df_shape;

df_shape df_shape1(int a);
df_shape df_shape2(int a, int b);
df_shape df_shape4(int n, int h, int w, int c);

size_t df_shape_numel(df_shape s);
/* Elements per sample: the product of every dimension but the first. */
size_t df_shape_per_sample(df_shape s);
int df_shape_equal(df_shape a, df_shape b);
/* Writes e.g. "(32, 64, 64, 3)" into buf and returns buf. */
const char *df_shape_str(df_shape s, char *buf, size_t size);

#endif
