/* pixel_stats.h: per-channel mean and standard deviation of images' pixels, for normalising a network's input
 * by its own training data.
 *
 * Pixels are added as floats in 0..1 (x / 255), interleaved by channel; sums are kept in double and added in
 * the order given, so the same pixels in the same order give the same bits. The standard deviation is the
 * population one (divided by the pixel count). df_loader_pixel_stats runs a loader's epoch 0 through it in
 * batch order: with an unshuffled evaluation loader whose normalisation is mean 0, std 1, that is every image
 * of the split after the evaluation transform, in split order, the same for any number of workers. */
#ifndef DF_PIXEL_STATS_H
#define DF_PIXEL_STATS_H

#include <stddef.h>

#include "data/loader.h"

typedef struct {
    int channels;          /* 1 or 3 */
    double sum[3], sumsq[3];
    long long n;           /* pixels per channel so far */
} df_pixel_stats;

void df_pixel_stats_init(df_pixel_stats *s, int channels);
/* n_pixels pixels of s->channels floats each. */
void df_pixel_stats_add(df_pixel_stats *s, const float *px, size_t n_pixels);
/* mean[c], std[c] for c < channels; -1 (naming the channel) when there were no pixels or a channel is
 * constant, as dividing by a zero deviation would make every input infinite. */
int df_pixel_stats_result(const df_pixel_stats *s, float *mean, float *std, df_error *err);

/* Every view's images of every batch of l's epoch 0; l must load images with mean 0 and std 1 (checked). */
int df_loader_pixel_stats(df_loader *l, const df_loader_opts *o, int n_views, float *mean, float *std,
                          df_error *err);

#endif
