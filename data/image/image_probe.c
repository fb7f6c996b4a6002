/* image_probe.c: whether an image file stores gray pixels, from its header alone (see image.h). A PNG's
 * colour type is byte 25 of the file (the IHDR chunk comes first); a JPEG's component count is in its
 * start-of-frame segment, found by walking the segments that precede it. */
#include <stdlib.h>
#include <string.h>

#include "core/io/files.h"
#include "data/image/image.h"

static int png_gray(const unsigned char *b, size_t n, const char *path, int *gray, df_error *err) {
    if (n < 26 || memcmp(b + 12, "IHDR", 4) != 0) return df_fail(err, "%s: PNG without an IHDR chunk first", path);
    *gray = b[25] == 0 || b[25] == 4; /* gray, gray + alpha */
    return 0;
}

/* SOF0..SOF15 but DHT (C4), JPG (C8) and DAC (CC), which share the range. */
static int is_sof(unsigned char m) { return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC; }

static int jpeg_gray(const unsigned char *b, size_t n, const char *path, int *gray, df_error *err) {
    size_t i = 2;
    while (i + 4 <= n) {
        if (b[i] != 0xFF) return df_fail(err, "%s: corrupt JPEG: no marker at byte %zu", path, i);
        unsigned char m = b[i + 1];
        if (m == 0xFF) { /* fill byte */
            i++;
            continue;
        }
        if (m == 0x01 || (m >= 0xD0 && m <= 0xD7)) { /* markers without a length */
            i += 2;
            continue;
        }
        size_t len = (size_t)b[i + 2] << 8 | b[i + 3];
        if (is_sof(m)) {
            if (i + 10 > n) break;
            *gray = b[i + 9] == 1;
            return 0;
        }
        if (m == 0xDA || m == 0xD9 || len < 2) break; /* scan data or the end before any frame header */
        i += 2 + len;
    }
    return df_fail(err, "%s: corrupt or truncated JPEG: no frame header", path);
}

int df_image_is_gray(const char *path, int *gray, df_error *err) {
    unsigned char *buf;
    size_t len;
    if (df_read_file(path, DF_IMAGE_MAX_FILE_BYTES, &buf, &len, err)) return -1;
    static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    int rc;
    if (len >= 8 && !memcmp(buf, png_sig, 8))
        rc = png_gray(buf, len, path, gray, err);
    else if (len >= 3 && buf[0] == 0xFF && buf[1] == 0xD8 && buf[2] == 0xFF)
        rc = jpeg_gray(buf, len, path, gray, err);
    else
        rc = df_fail(err, "%s: not a JPEG or PNG file", path);
    free(buf);
    return rc;
}
