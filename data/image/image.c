/* image.c: image memory and format detection by magic bytes (see image.h); files are read whole through
 * core/io/files.h. */
#include "data/image/image.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/io/files.h"

void df_image_alloc(df_image *img, int w, int h, int c) {
    DF_ASSERT(w > 0 && h > 0 && (c == 1 || c == 3));
    img->w = w;
    img->h = h;
    img->c = c;
    img->data = df_malloc((size_t)w * h * c);
}

void df_image_free(df_image *img) {
    if (!img) return;
    free(img->data);
    img->data = NULL;
    img->w = img->h = img->c = 0;
}

static int is_jpeg(const unsigned char *b, size_t n) { return n >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF; }
static int is_png(const unsigned char *b, size_t n) {
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    return n >= 8 && memcmp(b, sig, 8) == 0;
}

static int decode_any(const char *path, int tw, int th, df_image *img, df_error *err) {
    unsigned char *buf;
    size_t len;
    if (df_read_file(path, DF_IMAGE_MAX_FILE_BYTES, &buf, &len, err)) return -1;
    if (len == 0) {
        free(buf);
        return df_fail(err, "%s: empty file (0 bytes)", path);
    }
    int rc;
    if (is_jpeg(buf, len))
        rc = df_image_decode_jpeg(buf, len, path, tw, th, img, err);
    else if (is_png(buf, len))
        rc = df_image_decode_png(buf, len, path, img, err);
    else
        rc = df_fail(err, "%s: not a JPEG or PNG file (first bytes %02x %02x %02x %02x)", path, buf[0],
                     len > 1 ? buf[1] : 0, len > 2 ? buf[2] : 0, len > 3 ? buf[3] : 0);
    free(buf);
    return rc;
}

int df_image_load(const char *path, int target_w, int target_h, df_image *img, df_error *err) {
    img->data = NULL;
    return decode_any(path, target_w, target_h, img, err);
}

int df_image_load_gray(const char *path, df_image *img, df_error *err) {
    df_image rgb = {0};
    if (decode_any(path, 0, 0, &rgb, err)) return -1;
    df_image_to_gray(&rgb, img);
    df_image_free(&rgb);
    return 0;
}

void df_image_to_gray(const df_image *rgb, df_image *gray) {
    DF_ASSERT(rgb->c == 3);
    df_image_alloc(gray, rgb->w, rgb->h, 1);
    size_t n = (size_t)rgb->w * rgb->h;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *p = rgb->data + 3 * i;
        gray->data[i] = (unsigned char)((299 * p[0] + 587 * p[1] + 114 * p[2] + 500) / 1000);
    }
}
