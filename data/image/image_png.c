/* image_png.c: PNG decoding with libpng to RGB8 (see image.h for the colour conversions).
 *
 * libpng reports errors by longjmp to the setjmp in png_jmpbuf; its error callback stores the message first.
 * CRC errors in critical chunks (IHDR, IDAT, ...) are errors by libpng's default policy, which we keep; a bad
 * CRC in an ancillary chunk only drops that chunk. Chunk lengths are checked against the file before libpng
 * sees it. */
#include "data/image/image.h"
#include "data/image/png_error.h"

#include <png.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const unsigned char *buf;
    size_t len, pos;
    char msg[DF_PNG_MSG];
    unsigned char *pixels; /* (h, w, 4) RGBA before compositing; freed on a longjmp */
    png_bytep *rows;
} png_ctx;

void df_png_on_error(png_structp png, png_const_charp msg) {
    snprintf(png_get_error_ptr(png), DF_PNG_MSG, "%s", msg);
    png_longjmp(png, 1);
}

void df_png_on_warning(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg;
}

static void on_read(png_structp png, png_bytep out, size_t n) {
    png_ctx *ctx = png_get_io_ptr(png);
    if (ctx->len - ctx->pos < n) png_error(png, "file ends early (truncated PNG)");
    memcpy(out, ctx->buf + ctx->pos, n);
    ctx->pos += n;
}

/* Every chunk's length must fit in the file. libpng allocates (and zeroes) the length a text chunk claims
 * before reading it, so a few bytes claiming a gigabyte would cost a gigabyte of memory. */
static int check_chunk_lengths(const unsigned char *buf, size_t len, const char *name, df_error *err) {
    for (size_t pos = 8; len >= pos && len - pos >= 8;) {
        const unsigned char *c = buf + pos;
        uint32_t n = (uint32_t)c[0] << 24 | (uint32_t)c[1] << 16 | (uint32_t)c[2] << 8 | c[3];
        if ((uint64_t)n + 12 > len - pos) {
            int letters = 1;
            for (int i = 4; i < 8; i++) letters &= (c[i] >= 'A' && c[i] <= 'Z') || (c[i] >= 'a' && c[i] <= 'z');
            char type[32];
            if (letters) snprintf(type, sizeof type, "'%.4s'", (const char *)c + 4);
            else snprintf(type, sizeof type, "of type 0x%02x%02x%02x%02x", c[4], c[5], c[6], c[7]);
            size_t left = len - pos >= 12 ? len - pos - 12 : 0;
            return df_fail(err, "%s: corrupt PNG (at byte %zu): chunk %s claims %u bytes, more than the %zu left in the "
                           "file (truncated PNG?)", name, pos, type, n, left);
        }
        if (!memcmp(c + 4, "IEND", 4)) break;
        pos += 12 + (size_t)n;
    }
    return 0;
}

int df_image_decode_png(const unsigned char *buf, size_t len, const char *name, df_image *img, df_error *err) {
    img->data = NULL;
    if (check_chunk_lengths(buf, len, name, err)) return -1;
    png_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.buf = buf;
    ctx.len = len;
    img->data = NULL;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, ctx.msg, df_png_on_error, df_png_on_warning);
    if (!png) return df_fail(err, "%s: libpng could not be initialised", name);
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return df_fail(err, "%s: libpng could not be initialised", name);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(ctx.pixels);
        free(ctx.rows);
        return df_fail(err, "%s: corrupt PNG (at byte %zu): %s", name, ctx.pos, ctx.msg);
    }
    png_set_read_fn(png, &ctx, on_read);
    png_read_info(png, info);
    long long w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    if (w > DF_IMAGE_MAX_SIDE || h > DF_IMAGE_MAX_SIDE || w * h > DF_IMAGE_MAX_PIXELS) {
        png_destroy_read_struct(&png, &info, NULL);
        return df_fail(err, "%s: PNG header claims %lldx%lld pixels, over the limit of %d per side and %lld in all",
                       name, w, h, DF_IMAGE_MAX_SIDE, DF_IMAGE_MAX_PIXELS);
    }
    int type = png_get_color_type(png, info);
    /* Everything becomes 8-bit RGBA; alpha is composited below. */
    if (png_get_bit_depth(png, info) == 16) png_set_strip_16(png);
    if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (type == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    if (type == PNG_COLOR_TYPE_GRAY || type == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
    png_set_add_alpha(png, 0xFF, PNG_FILLER_AFTER);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != (size_t)w * 4) png_error(png, "unexpected row layout after conversion");
    ctx.pixels = df_malloc((size_t)w * h * 4);
    ctx.rows = df_malloc(sizeof(png_bytep) * (size_t)h);
    for (long long y = 0; y < h; y++) ctx.rows[y] = ctx.pixels + (size_t)y * w * 4;
    png_read_image(png, ctx.rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    free(ctx.rows);

    df_image_alloc(img, (int)w, (int)h, 3);
    size_t n = (size_t)w * h;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *p = ctx.pixels + 4 * i;
        unsigned a = p[3];
        for (int k = 0; k < 3; k++) img->data[3 * i + k] = (unsigned char)((p[k] * a + 127) / 255);
    }
    free(ctx.pixels);
    return 0;
}
