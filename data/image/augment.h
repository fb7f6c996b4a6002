/* augment.h: from a decoded 8-bit image (RGB, or gray for a 1-channel input) to a normalised float network
 * input, with random augmentation.
 *
 * Output: (out_h, out_w, C) floats, C = channels (3: RGB, 1: gray), NHWC order for one sample, each channel
 * normalised as (x / 255 - mean[c]) / std[c].
 *
 * Evaluation mode (train = 0) is deterministic: the centred box with the output's aspect ratio, shrunk to
 * eval_crop_frac of the largest such box that fits, resampled to the output size (for a square output this
 * is "resize the shorter side to out/eval_crop_frac, then centre crop", done in one pass).
 *
 * Training mode, in this order: a random resized crop (area fraction uniform in [scale_min, scale_max] of the
 * image, aspect ratio log-uniform in [ratio_min, ratio_max]; up to 10 draws, else the evaluation box), a
 * horizontal flip (p = 0.5), a vertical flip (p = 0.5), a rotation by k*90 degrees (k uniform in 0..3; for a
 * non-square output the crop is taken with swapped sides when k is odd), then colour jitter: brightness
 * factor, contrast factor (blend towards the crop's mean grey) and saturation factor (blend towards each
 * pixel's grey), each uniform in [1-a, 1+a], values clamped to 0..255 after each step. A gray input gets the
 * brightness and contrast factors only (it has no saturation; the draw is made all the same, so the other
 * factors are those an RGB input would get).
 *
 * Randomness: every decision reads a fixed slot of the counter-based stream `key` (core/rng.h), so the
 * result is a pure function of (image, options, key): the same whichever thread runs it and in whatever
 * order. Use df_augment_key for the per-sample key. A mask (c = 1, same size as the image) follows the
 * same geometric operations (no colour ops) into out_mask (out_h, out_w) as fractions 0..1. */
#ifndef DF_AUGMENT_H
#define DF_AUGMENT_H

#include <stdint.h>

#include "data/image/image.h"

typedef struct {
    int out_w, out_h;
    int train;                  /* 0: deterministic evaluation transform */
    int hflip, vflip, rot90;    /* enable the random flips / rotations (train only) */
    float scale_min, scale_max; /* random resized crop area fraction; scale_min = scale_max = 1 gives the whole box */
    float ratio_min, ratio_max; /* crop aspect ratio w/h range */
    float brightness, contrast, saturation; /* jitter amplitudes a, 0 = off */
    float eval_crop_frac;       /* (0, 1] */
    int channels;               /* 3: RGB, 1: gray; the source image has as many */
    float mean[3], std[3];      /* the first `channels` are used */
} df_augment_opts;

/* ImageNet's per-channel mean and standard deviation (RGB, as fractions of 255). */
extern const float df_imagenet_mean[3], df_imagenet_std[3];

/* out size, evaluation mode, flips/rotations on, crop scale [0.35, 1], ratio [3/4, 4/3], jitter 0.2/0.2/0.2,
 * eval_crop_frac 1, 3 channels, ImageNet mean/std (0.485, 0.456, 0.406) / (0.229, 0.224, 0.225). */
void df_augment_defaults(df_augment_opts *o, int out_w, int out_h);

/* Key of one sample's augmentation in one epoch: subkey(subkey(key(seed, AUGMENT), epoch), sample). */
uint64_t df_augment_key(uint64_t seed, int64_t epoch, int64_t sample);

/* Checks an options struct; returns -1 naming the bad field. */
int df_augment_check(const df_augment_opts *o, df_error *err);

/* src: c = o->channels. mask, out_mask: both NULL or both set. */
void df_augment(const df_image *src, const df_image *mask, const df_augment_opts *o, uint64_t key, float *out,
                float *out_mask);

/* The inverse of the normalisation: w x h normalised pixels (h, w, channels), as df_augment writes them, back
 * to RGB8: (x * std[c] + mean[c]) * 255, rounded and clamped to 0..255, a gray input's one channel written to
 * R, G and B. What a model's input looks like. */
void df_augment_denormalise(const float *img, int w, int h, const df_augment_opts *o, unsigned char *rgb);

#endif
