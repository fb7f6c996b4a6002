/* image.h: 8-bit images in memory, and reading/writing them as JPEG and PNG files.
 *
 * An image is (h, w, c) bytes, row-major, channels interleaved (HWC); c is 3 (RGB) or 1 (gray, for lesion
 * masks). Readers detect the format by its magic bytes, never by the file name, and report any problem
 * (missing or empty file, unknown format, truncated or corrupt data, a bad PNG CRC, a header claiming an
 * absurd size) as an error naming the file and what went wrong; they never exit or print.
 *
 * Colour conversion on reading, to RGB8: gray and gray+alpha become R=G=B; palette entries are expanded;
 * 16-bit samples are reduced to their high byte; an alpha channel (or a tRNS transparency) is composited
 * onto black, out = colour * alpha / 255 rounded, so a transparent border reads as the black surround of a
 * dermoscope image rather than as whatever colour the transparent pixels happened to hold. CMYK JPEGs are
 * refused. Interlaced PNGs and progressive JPEGs are read like any other. */
#ifndef DF_IMAGE_H
#define DF_IMAGE_H

#include "core/limits.h"

#include "core/error.h"

/* Headers claiming more are refused before any pixel memory is allocated. */
#define DF_IMAGE_MAX_SIDE DF_LIMIT_IMAGE_SIDE
#define DF_IMAGE_MAX_PIXELS DF_LIMIT_IMAGE_PIXELS
/* Image files larger than this are refused unread. */
#define DF_IMAGE_MAX_FILE_BYTES DF_LIMIT_IMAGE_BYTES

typedef struct {
    int w, h, c;
    unsigned char *data; /* (h, w, c) */
} df_image;

/* Allocates an uninitialised w x h x c image; free with df_image_free. */
void df_image_alloc(df_image *img, int w, int h, int c);
void df_image_free(df_image *img);

/* Reads a JPEG or PNG file as RGB8 into img (allocated here; free with df_image_free).
 * target_w/target_h > 0 lets a JPEG decode at a reduced DCT scale M/8 (M = 1..8), the smallest whose
 * output is still at least target_w x target_h (so the image is at least as large as asked, never
 * upsampled; a 4000x3000 JPEG read for a 256x256 target decodes at 1/8, about 40 times less work).
 * Pass 0, 0 for the full size. PNGs are always read at full size. Returns 0, or -1 with err filled. */
int df_image_load(const char *path, int target_w, int target_h, df_image *img, df_error *err);

/* Reads a JPEG or PNG as one gray channel (c = 1): for masks. Colour images are reduced by their
 * luma (0.299 R + 0.587 G + 0.114 B). */
int df_image_load_gray(const char *path, df_image *img, df_error *err);

/* An RGB image's luma as a new c = 1 image: round(0.299 R + 0.587 G + 0.114 B) (ITU-R BT.601 weights), so a
 * gray image read as R = G = B comes back unchanged. */
void df_image_to_gray(const df_image *rgb, df_image *gray);

/* Whether the file stores gray pixels: a PNG of colour type gray or gray+alpha, a JPEG with one component.
 * Only the header is looked at (a palette PNG whose colours happen to be gray counts as colour). */
int df_image_is_gray(const char *path, int *gray, df_error *err);

/* Decoders on an in-memory file; `name` is used in messages only. */
int df_image_decode_jpeg(const unsigned char *buf, size_t len, const char *name, int target_w, int target_h,
                         df_image *img, df_error *err);
int df_image_decode_png(const unsigned char *buf, size_t len, const char *name, df_image *img, df_error *err);

/* Writers: PNG of a c = 3 (RGB) or c = 1 (gray) image, exact; JPEG of an RGB or gray image at quality
 * 1..100 (4:2:0 chroma subsampling below quality 90, 4:4:4 from 90). Return 0, or -1 naming the file. */
int df_image_save_png(const char *path, const df_image *img, df_error *err);
int df_image_save_jpeg(const char *path, const df_image *img, int quality, df_error *err);
/* A gray 8-bit PNG from a bare w x h buffer (masks). */
int df_image_save_gray_png(const char *path, const unsigned char *gray, int w, int h, df_error *err);

#endif
