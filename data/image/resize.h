/* resize.h: antialiased image resizing.
 *
 * Each axis is resampled on its own (separable). Output pixel i of an axis covers the source interval
 * [x0 + i*s, x0 + (i+1)*s], s = source length / output length. When shrinking (s >= 1) the output is the
 * exact area average of the source over that interval (a box filter as wide as the output pixel), so fine
 * patterns average out instead of aliasing: a 2x2 block becomes its mean, a one-pixel checkerboard becomes
 * flat grey. When enlarging (s < 1) it is bilinear interpolation between pixel centres, with edges clamped.
 * Any channel count works (3 for RGB, 1 for masks). */
#ifndef DF_RESIZE_H
#define DF_RESIZE_H

#include "data/image/image.h"

/* Resamples the source box [x0, x1) x [y0, y1) (in source pixels, fractional allowed, inside the image) to
 * dw x dh, writing floats in the source's 0..255 range to dst (dh, dw, c). */
void df_resize_region_f32(const unsigned char *src, int sw, int sh, int c, float x0, float y0, float x1, float y1,
                          float *dst, int dw, int dh);

/* Whole image to dw x dh (aspect not kept), rounded to bytes. dst is allocated here. */
void df_resize(const df_image *src, int dw, int dh, df_image *dst);

/* Scales so the shorter side becomes `size`, then keeps the centred size x size square, in one resampling
 * pass (no double blur). dst is allocated here. */
void df_resize_short_center_crop(const df_image *src, int size, df_image *dst);

#endif
