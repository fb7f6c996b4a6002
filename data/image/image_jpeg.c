/* image_jpeg.c: JPEG decoding with libjpeg(-turbo) (see image.h).
 *
 * libjpeg reports fatal errors through error_exit, which must not return: ours longjmps back to the decoder
 * with the library's message. Its warnings are mostly harmless, except the ones meaning the data ended early
 * (a truncated download): those become errors too, as a half-grey image would silently train a model. */
#include "data/image/image.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
    unsigned char *pixels; /* owned until handed to the caller; freed on a longjmp */
} jpeg_ctx;

static void on_error_exit(j_common_ptr cinfo) {
    jpeg_ctx *ctx = (jpeg_ctx *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, ctx->msg);
    longjmp(ctx->jump, 1);
}

static void on_message(j_common_ptr cinfo, int level) {
    /* level -1 is a warning; others are trace messages. */
    if (level != -1) return;
    int code = cinfo->err->msg_code;
    if (code == JWRN_JPEG_EOF || code == JWRN_HIT_MARKER) on_error_exit(cinfo);
    cinfo->err->num_warnings++;
}

/* Smallest M in 1..8 with ceil(w*M/8) >= tw and ceil(h*M/8) >= th. */
static int pick_scale(int w, int h, int tw, int th) {
    if (tw <= 0 && th <= 0) return 8;
    for (int m = 1; m < 8; m++) {
        int sw = (w * m + 7) / 8, sh = (h * m + 7) / 8;
        if (sw >= tw && sh >= th) return m;
    }
    return 8;
}

int df_image_decode_jpeg(const unsigned char *buf, size_t len, const char *name, int target_w, int target_h,
                         df_image *img, df_error *err) {
    struct jpeg_decompress_struct cinfo;
    jpeg_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    img->data = NULL;
    cinfo.err = jpeg_std_error(&ctx.pub);
    ctx.pub.error_exit = on_error_exit;
    ctx.pub.emit_message = on_message;
    if (setjmp(ctx.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free(ctx.pixels);
        return df_fail(err, "%s: corrupt or truncated JPEG: %s", name, ctx.msg);
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, buf, (unsigned long)len);
    jpeg_read_header(&cinfo, TRUE);
    long long w = cinfo.image_width, h = cinfo.image_height;
    if (w > DF_IMAGE_MAX_SIDE || h > DF_IMAGE_MAX_SIDE || w * h > DF_IMAGE_MAX_PIXELS) {
        jpeg_destroy_decompress(&cinfo);
        return df_fail(err, "%s: JPEG header claims %lldx%lld pixels, over the limit of %d per side and %lld in all",
                       name, w, h, DF_IMAGE_MAX_SIDE, DF_IMAGE_MAX_PIXELS);
    }
    if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
        jpeg_destroy_decompress(&cinfo);
        return df_fail(err, "%s: CMYK JPEG is not supported (convert it to RGB)", name);
    }
    cinfo.out_color_space = JCS_RGB;
    cinfo.scale_num = (unsigned)pick_scale((int)w, (int)h, target_w, target_h);
    cinfo.scale_denom = 8;
    jpeg_calc_output_dimensions(&cinfo);
    int ow = (int)cinfo.output_width, oh = (int)cinfo.output_height;
    ctx.pixels = df_malloc((size_t)ow * oh * 3);
    jpeg_start_decompress(&cinfo);
    DF_ASSERT(cinfo.output_components == 3);
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = ctx.pixels + (size_t)cinfo.output_scanline * ow * 3;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    img->w = ow;
    img->h = oh;
    img->c = 3;
    img->data = ctx.pixels;
    return 0;
}
