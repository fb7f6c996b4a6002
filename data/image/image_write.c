/* image_write.c: PNG and JPEG writers (see image.h). Files are written whole or reported as failed; a
 * failed write leaves no partial file behind. */
#include "data/image/image.h"
#include "data/image/png_error.h"

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>


static int save_png(const char *path, const unsigned char *data, int w, int h, int c, df_error *err) {
    DF_ASSERT(c == 1 || c == 3);
    FILE *f = fopen(path, "wb");
    if (!f) return df_fail(err, "%s: cannot create: %s", path, strerror(errno));
    char msg[DF_PNG_MSG] = "";
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, msg, df_png_on_error, df_png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        fclose(f);
        remove(path);
        return df_fail(err, "%s: libpng could not be initialised", path);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        fclose(f);
        remove(path);
        return df_fail(err, "%s: writing PNG failed: %s", path, msg);
    }
    png_init_io(png, f);
    /* Level 3 is most of the size gain at a fraction of the time of the default. */
    png_set_compression_level(png, 3);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, c == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < h; y++) png_write_row(png, (png_const_bytep)(data + (size_t)y * w * c));
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    if (fclose(f) != 0) {
        remove(path);
        return df_fail(err, "%s: writing PNG failed: %s", path, strerror(errno));
    }
    return 0;
}

int df_image_save_png(const char *path, const df_image *img, df_error *err) {
    return save_png(path, img->data, img->w, img->h, img->c, err);
}

int df_image_save_gray_png(const char *path, const unsigned char *gray, int w, int h, df_error *err) {
    return save_png(path, gray, w, h, 1, err);
}

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
} jpeg_wctx;

static void jpeg_on_error(j_common_ptr cinfo) {
    jpeg_wctx *ctx = (jpeg_wctx *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, ctx->msg);
    longjmp(ctx->jump, 1);
}

int df_image_save_jpeg(const char *path, const df_image *img, int quality, df_error *err) {
    if (quality < 1 || quality > 100) return df_fail(err, "%s: JPEG quality %d is outside 1..100", path, quality);
    if (img->c != 1 && img->c != 3) return df_fail(err, "%s: cannot write a %d-channel image as JPEG", path, img->c);
    FILE *f = fopen(path, "wb");
    if (!f) return df_fail(err, "%s: cannot create: %s", path, strerror(errno));
    struct jpeg_compress_struct cinfo;
    jpeg_wctx ctx;
    memset(&ctx, 0, sizeof ctx);
    cinfo.err = jpeg_std_error(&ctx.pub);
    ctx.pub.error_exit = jpeg_on_error;
    if (setjmp(ctx.jump)) {
        jpeg_destroy_compress(&cinfo);
        fclose(f);
        remove(path);
        return df_fail(err, "%s: writing JPEG failed: %s", path, ctx.msg);
    }
    jpeg_create_compress(&cinfo);
    jpeg_stdio_dest(&cinfo, f);
    cinfo.image_width = (JDIMENSION)img->w;
    cinfo.image_height = (JDIMENSION)img->h;
    cinfo.input_components = img->c;
    cinfo.in_color_space = img->c == 3 ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    if (img->c == 3 && quality >= 90) {
        cinfo.comp_info[0].h_samp_factor = cinfo.comp_info[0].v_samp_factor = 1;
    }
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = img->data + (size_t)cinfo.next_scanline * img->w * img->c;
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    if (fclose(f) != 0) {
        remove(path);
        return df_fail(err, "%s: writing JPEG failed: %s", path, strerror(errno));
    }
    return 0;
}
