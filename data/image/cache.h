/* cache.h: decoded, resized images kept in one memory-mapped file, so later epochs do not decode again.
 *
 * The cache holds, for a list of image files, each image as df_base_image_load returns it at one size and
 * channel count (size x size RGB8 or gray8), in list order. The file starts with a 64-byte header: magic
 * "DFIMGCAC", format version, size, count, channels, and a 64-bit fingerprint of the sources (each path, file size and modification time in ns,
 * plus size and count); the pixels follow. Opening a cache whose header, length or fingerprint does not match
 * rebuilds it: the images are decoded in parallel (OpenMP, one image per iteration, each written at its
 * fixed offset, so the file is the same whatever the thread count) into a temporary file in the same folder,
 * which is flushed and renamed over the old one: a reader never sees a half-written cache. */
#ifndef DF_CACHE_H
#define DF_CACHE_H

#include <stdint.h>

#include "data/image/image.h"

typedef struct df_cache df_cache;

/* The image the cache stores and the loader works from: the file decoded (at a reduced JPEG DCT scale when
 * the image is larger than needed) to RGB, its shorter side resampled to `size`, centre-cropped to
 * size x size; with channels 1 then reduced to its luma (df_image_to_gray; a gray file comes back as it was
 * stored, resized). */
int df_base_image_load(const char *path, int size, int channels, df_image *out, df_error *err);

/* Opens the cache file for paths[0..n) at size x size and channels (1 or 3), (re)building it when missing or
 * stale (a cache of the other channel count is stale); *rebuilt (if not NULL) tells which. An unreadable
 * image fails the build with its message and leaves no cache file. */
int df_cache_open(const char *cache_path, char *const *paths, int n, int size, int channels, df_cache **out,
                  int *rebuilt, df_error *err);
/* Image i, (size, size, channels), valid until df_cache_close. */
const unsigned char *df_cache_image(const df_cache *c, int i);
int df_cache_count(const df_cache *c);
int df_cache_size(const df_cache *c);
void df_cache_close(df_cache *c);

/* The fingerprint df_cache_open compares; -1 with err if a source cannot be stat'ed. */
int df_cache_fingerprint(char *const *paths, int n, int size, uint64_t *fp, df_error *err);

#endif
