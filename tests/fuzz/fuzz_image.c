/* fuzz_image.c: the JPEG and PNG decoders with resizing, as the batch loader reads an image (built twice:
 * fuzz_jpeg and fuzz_png, FUZZ_PNG set for the latter; each starts from its own format's corpus).
 *
 * Input: a whole image file. For each input, df_base_image_load as the image cache does it (decode, at a
 * reduced DCT scale for JPEG, then the short side resized to the network's input size and the centre
 * square kept), at an input size of 8, 17, 64 or 128 pixels chosen by the input's length; a decoded image
 * is then augmented as training does (random crop, flips, rotation, jitter) into the float input. Every
 * fourth input is also read as a lesion mask (df_image_load_gray) and resized.
 *
 * Seeds: with DF_FUZZ_WRITE_SEEDS=<folder> set, initialisation writes images of shapes the synthetic
 * generator does not draw (gray, not square) there with the project's own writers.
 *
 * fuzz_png's mutator recomputes every chunk's CRC after libFuzzer's byte mutation (most of the time), so
 * mutated chunks reach libpng's decoding instead of its CRC check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/io/safetensors.h" /* df_st_crc32: PNG uses the same CRC-32 */
#include "data/image/augment.h"
#include "data/image/cache.h"
#include "data/image/image.h"
#include "data/image/resize.h"
#include "fuzz_util.h"

/* A w x h image of c channels with a smooth pattern. */
static void pattern(df_image *img, int w, int h, int c) {
    df_image_alloc(img, w, h, c);
    for (int i = 0; i < w * h * c; i++) img->data[i] = (unsigned char)(i * 37 + i / (w * c) * 11);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    const char *dir = getenv("DF_FUZZ_WRITE_SEEDS");
    if (!dir) return 0;
    df_image gray, wide;
    pattern(&gray, 13, 7, 1);
    pattern(&wide, 40, 6, 3);
    char path[4096];
    df_error err;
    int rc = 0;
#ifdef FUZZ_PNG
    snprintf(path, sizeof path, "%s/written_wide_rgb.png", dir);
    rc |= df_image_save_png(path, &wide, &err);
    snprintf(path, sizeof path, "%s/written_gray.png", dir);
    rc |= df_image_save_png(path, &gray, &err);
#else
    snprintf(path, sizeof path, "%s/written_gray_q75.jpg", dir);
    rc |= df_image_save_jpeg(path, &gray, 75, &err);
    snprintf(path, sizeof path, "%s/written_wide_q95.jpg", dir);
    rc |= df_image_save_jpeg(path, &wide, 95, &err);
#endif
    if (rc) fuzz_fail("writing seeds: %s", err.msg);
    df_image_free(&gray);
    df_image_free(&wide);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const int sizes[] = {8, 17, 64, 128};
    int side = sizes[size % 4];
    fuzz_reset();
    const char *path = fuzz_write("image", data, size);
    df_image img;
    df_error err;
    if (df_base_image_load(path, side, 3, &img, &err) == 0) {
        if (img.w != side || img.h != side || img.c != 3)
            fuzz_fail("an image loaded for %d pixels is %dx%dx%d", side, img.w, img.h, img.c);
        df_augment_opts o;
        df_augment_defaults(&o, side, side);
        o.train = 1;
        float *out = malloc((size_t)side * side * 3 * sizeof *out);
        df_augment(&img, NULL, &o, df_augment_key(1, 0, (int64_t)size), out, NULL);
        free(out);
        df_image_free(&img);
    } else {
        fuzz_note("df_base_image_load", err.msg);
    }
    if (size % 4 == 0) {
        df_image mask, small;
        if (df_image_load_gray(path, &mask, &err) == 0) {
            df_resize_short_center_crop(&mask, side, &small);
            df_image_free(&small);
            df_image_free(&mask);
        }
    }
    return 0;
}

#ifdef FUZZ_PNG
/* Recomputes the CRC of every whole chunk after the 8-byte signature. */
static void fix_png_crcs(uint8_t *data, size_t size) {
    size_t pos = 8;
    while (pos + 12 <= size) {
        uint32_t len = (uint32_t)data[pos] << 24 | (uint32_t)data[pos + 1] << 16 | (uint32_t)data[pos + 2] << 8 |
                       data[pos + 3];
        if (len > size - pos - 12) break;
        uint32_t crc = df_st_crc32(0, data + pos + 4, (size_t)len + 4);
        uint8_t *at = data + pos + 8 + len;
        at[0] = (uint8_t)(crc >> 24), at[1] = (uint8_t)(crc >> 16), at[2] = (uint8_t)(crc >> 8), at[3] = (uint8_t)crc;
        pos += 12 + (size_t)len;
    }
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed) {
    size_t n = LLVMFuzzerMutate(data, size, max_size);
    if (seed % 4) fix_png_crcs(data, n);
    return n;
}
#endif
