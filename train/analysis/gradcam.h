/* gradcam.h: Grad-CAM class-activation maps (Selvaraju et al. 2017) and the heat-map index.
 *
 * For sample i and class c, with A (h, w, C) the last feature maps of one view's backbone:
 *   w_k   = (1 / hw) sum_{y,x} d logit_c / d A[y, x, k]          (spatial mean of the gradient)
 *   cam   = ReLU(sum_k w_k A[:, :, k])                             (h, w)
 * The gradient is taken in inference mode (batch norm with running statistics, no dropout), by filling the
 * logits' gradient with a one-hot row and running the graph's backward from the logits. For a binary
 * sigmoid head (one logit z = log p1/p0) the evidence for class 1 is z and for class 0 it is -z, so the
 * logit's gradient is +1 or -1: the same class semantics as a two-logit softmax head.
 *
 * The map is then upsampled bilinearly to the input size (pixel centres aligned, edges clamped) and divided
 * by its maximum, so it lies in [0, 1]; dividing instead of min-max stretching keeps the ratios of the
 * heat, which the heat-map index measures. An all-zero map (no positive evidence) stays zero.
 *
 * Heat-map index: the share of the map's mass inside the lesion mask, sum(cam * mask) / sum(cam), with the
 * mask in [0, 1]; NaN when the map has no mass. */
#ifndef DF_GRADCAM_H
#define DF_GRADCAM_H

#include "core/error.h"
#include "data/image/image.h"
#include "train/model/model.h"

/* Grad-CAM of the batch already fed to m (df_model_feed), for view `view` (which must have last maps).
 * cls (batch) gives the class to explain per sample, or NULL for the predicted class (argmax; p1 > 0.5 for
 * a sigmoid head), which is then written to pred (batch, may be NULL). Outputs, at the last maps'
 * resolution h x w (read them from the node's shape): cam (batch, h, w) after the ReLU, not normalised;
 * weights (batch, C) may be NULL. Runs forward and backward; leaves the graph's parameter gradients zero
 * and the graph in inference mode. Fails when the model has no image branch for the view. */
int df_gradcam_batch(df_model *m, int view, const int *cls, int *pred, float *cam, float *weights,
                     df_error *err);

/* Side of the last feature maps of a view (h, w) and their channels. */
void df_gradcam_map_shape(const df_model *m, int view, int *h, int *w, int *channels);

/* Bilinear upsampling of one map (h, w) to (out_h, out_w) with pixel centres aligned (scale h / out_h). */
void df_gradcam_upsample(const float *cam, int h, int w, int out_h, int out_w, float *out);

/* Divides a map of n values by its maximum (into [0, 1]); a map without positive values becomes zero. */
void df_gradcam_normalise(float *cam, int n);

/* sum(cam * mask) / sum(cam) over n pixels; NaN when sum(cam) is 0. */
double df_gradcam_mask_index(const float *cam, const float *mask, int n);

/* An RGB overlay: the image (h, w, 3) in [0, 255] blended with a colour-mapped cam (h, w) in [0, 1]
 * (blue -> cyan -> yellow -> red); the heat's opacity grows with its value up to alpha. out is allocated. */
void df_gradcam_overlay(const unsigned char *rgb, const float *cam, int w, int h, float alpha, df_image *out);

/* The colour map alone: cam value t in [0, 1] to RGB. */
void df_gradcam_colour(float t, unsigned char rgb[3]);

#endif
