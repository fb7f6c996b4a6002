/* test_image.c: JPEG/PNG reading and writing: round trips, the PNG colour types, DCT-scaled decoding, and
 * clear errors (naming the file) on truncated, corrupt, empty, missing and oversized inputs. */
#include <png.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "data/image/image.h"
#include "data/image/resize.h"

static char dir[64];

static char *path_of(const char *name) {
    static char buf[8][256];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, 256, "%s/%s", dir, name);
    return p;
}

static void pattern(df_image *img, int w, int h) {
    df_image_alloc(img, w, h, 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            unsigned char *p = img->data + ((size_t)y * w + x) * 3;
            p[0] = (unsigned char)(x * 255 / (w - 1));
            p[1] = (unsigned char)(y * 255 / (h - 1));
            p[2] = (unsigned char)((x + y) * 127 / (w + h - 2) + 60);
        }
}

/* Writes a PNG with libpng directly: rows are packed as the given colour type and bit depth expects. */
static void write_raw_png(const char *path, int w, int h, int depth, int type, int interlace, unsigned char **rows,
                          png_colorp pal, int npal, png_bytep trns, int ntrns) {
    FILE *f = fopen(path, "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    png_init_io(png, f);
    png_set_IHDR(png, info, w, h, depth, type, interlace, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (pal) png_set_PLTE(png, info, pal, npal);
    if (trns) png_set_tRNS(png, info, trns, ntrns, NULL);
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    fclose(f);
}

static int load_ok(const char *path, df_image *img) {
    df_error err;
    int rc = df_image_load(path, 0, 0, img, &err);
    if (rc) fprintf(stderr, "unexpected error: %s\n", err.msg);
    return rc == 0;
}

static void check_px(const df_image *img, int x, int y, int r, int g, int b) {
    const unsigned char *p = img->data + ((size_t)y * img->w + x) * 3;
    CHECK_MSG(p[0] == r && p[1] == g && p[2] == b, "pixel (%d,%d) = (%d,%d,%d), expected (%d,%d,%d)", x, y, p[0], p[1],
              p[2], r, g, b);
}

static void test_round_trips(void) {
    df_image a, b;
    df_error err;
    pattern(&a, 67, 41);
    CHECK(df_image_save_png(path_of("rt.png"), &a, &err) == 0);
    CHECK(load_ok(path_of("rt.png"), &b));
    CHECK(b.w == 67 && b.h == 41 && b.c == 3);
    CHECK(memcmp(a.data, b.data, (size_t)67 * 41 * 3) == 0);
    df_image_free(&b);

    CHECK(df_image_save_jpeg(path_of("rt.jpg"), &a, 95, &err) == 0);
    CHECK(load_ok(path_of("rt.jpg"), &b));
    CHECK(b.w == 67 && b.h == 41);
    double mad = 0;
    for (size_t i = 0; i < (size_t)67 * 41 * 3; i++) mad += abs(a.data[i] - b.data[i]);
    mad /= 67.0 * 41 * 3;
    CHECK_MSG(mad < 2.0, "JPEG round trip mean abs difference %.3f", mad);
    df_image_free(&b);

    /* Format by magic bytes: a JPEG named .png still reads as JPEG. */
    CHECK(df_image_save_jpeg(path_of("misnamed.png"), &a, 90, &err) == 0);
    CHECK(load_ok(path_of("misnamed.png"), &b));
    CHECK(b.w == 67);
    df_image_free(&b);
    CHECK(df_image_save_jpeg(path_of("q.jpg"), &a, 0, &err) == -1);

    /* Gray masks. */
    unsigned char m[12 * 7];
    for (int i = 0; i < 12 * 7; i++) m[i] = (unsigned char)(i * 3);
    CHECK(df_image_save_gray_png(path_of("m.png"), m, 12, 7, &err) == 0);
    CHECK(df_image_load_gray(path_of("m.png"), &b, &err) == 0);
    CHECK(b.c == 1 && b.w == 12 && b.h == 7 && memcmp(b.data, m, sizeof m) == 0);
    df_image_free(&b);
    df_image_free(&a);
}

static void test_png_types(void) {
    df_image img;
    unsigned char buf[4][64], *rows[4] = {buf[0], buf[1], buf[2], buf[3]};
    /* 8-bit gray */
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++) buf[y][x] = (unsigned char)(y * 60 + x * 5);
    write_raw_png(path_of("g8.png"), 4, 4, 8, PNG_COLOR_TYPE_GRAY, 0, rows, NULL, 0, NULL, 0);
    CHECK(load_ok(path_of("g8.png"), &img));
    if (img.data) {
        check_px(&img, 3, 2, 135, 135, 135);
        df_image_free(&img);
    }
    /* 16-bit gray: the high byte is kept. */
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++) {
            buf[y][2 * x] = (unsigned char)(y * 60 + x);
            buf[y][2 * x + 1] = 0xEE;
        }
    write_raw_png(path_of("g16.png"), 4, 4, 16, PNG_COLOR_TYPE_GRAY, 0, rows, NULL, 0, NULL, 0);
    CHECK(load_ok(path_of("g16.png"), &img));
    if (img.data) {
        check_px(&img, 1, 3, 181, 181, 181);
        df_image_free(&img);
    }
    /* 16-bit RGB */
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++)
            for (int c = 0; c < 3; c++) {
                buf[y][6 * x + 2 * c] = (unsigned char)(10 * c + x + 40 * y);
                buf[y][6 * x + 2 * c + 1] = 0x80;
            }
    write_raw_png(path_of("rgb16.png"), 4, 4, 16, PNG_COLOR_TYPE_RGB, 0, rows, NULL, 0, NULL, 0);
    CHECK(load_ok(path_of("rgb16.png"), &img));
    if (img.data) {
        check_px(&img, 2, 1, 42, 52, 62);
        df_image_free(&img);
    }
    /* 4-bit palette with one semi-transparent entry (tRNS): composited onto black. */
    png_color pal[3] = {{255, 0, 0}, {0, 200, 0}, {10, 20, 250}};
    png_byte trns[3] = {255, 255, 128};
    for (int y = 0; y < 4; y++) {
        buf[y][0] = (unsigned char)((0 << 4) | 1); /* pixels 0, 1 */
        buf[y][1] = (unsigned char)((2 << 4) | 0); /* pixels 2, 3 */
    }
    write_raw_png(path_of("pal.png"), 4, 4, 4, PNG_COLOR_TYPE_PALETTE, 0, rows, pal, 3, trns, 3);
    CHECK(load_ok(path_of("pal.png"), &img));
    if (img.data) {
        check_px(&img, 0, 0, 255, 0, 0);
        check_px(&img, 1, 3, 0, 200, 0);
        check_px(&img, 2, 1, 5, 10, 125); /* (10, 20, 250) * 128 / 255, rounded */
        df_image_free(&img);
    }
    /* RGBA: alpha composited onto black. */
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++) {
            unsigned char *p = buf[y] + 4 * x;
            p[0] = 200, p[1] = 100, p[2] = 50, p[3] = (unsigned char)(x * 85);
        }
    write_raw_png(path_of("rgba.png"), 4, 4, 8, PNG_COLOR_TYPE_RGBA, 0, rows, NULL, 0, NULL, 0);
    CHECK(load_ok(path_of("rgba.png"), &img));
    if (img.data) {
        check_px(&img, 0, 0, 0, 0, 0);
        check_px(&img, 3, 0, 200, 100, 50);
        check_px(&img, 1, 2, 67, 33, 17); /* 85/255 of (200, 100, 50) */
        df_image_free(&img);
    }
    /* Gray + alpha */
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++) buf[y][2 * x] = 240, buf[y][2 * x + 1] = (unsigned char)(y == 0 ? 0 : 255);
    write_raw_png(path_of("ga.png"), 4, 4, 8, PNG_COLOR_TYPE_GRAY_ALPHA, 0, rows, NULL, 0, NULL, 0);
    CHECK(load_ok(path_of("ga.png"), &img));
    if (img.data) {
        check_px(&img, 2, 0, 0, 0, 0);
        check_px(&img, 2, 3, 240, 240, 240);
        df_image_free(&img);
    }
    /* 1-bit gray */
    for (int y = 0; y < 4; y++) buf[y][0] = 0xA0; /* 1 0 1 0 */
    write_raw_png(path_of("g1.png"), 4, 4, 1, PNG_COLOR_TYPE_GRAY, 0, rows, NULL, 0, NULL, 0);
    CHECK(load_ok(path_of("g1.png"), &img));
    if (img.data) {
        check_px(&img, 0, 1, 255, 255, 255);
        check_px(&img, 1, 1, 0, 0, 0);
        df_image_free(&img);
    }
    /* Interlaced (Adam7) RGB, larger so that all passes are used. */
    {
        int w = 19, h = 13;
        unsigned char *data = malloc((size_t)w * h * 3), **r = malloc(sizeof(unsigned char *) * h);
        for (int i = 0; i < w * h * 3; i++) data[i] = (unsigned char)(i * 7 + 3);
        for (int y = 0; y < h; y++) r[y] = data + (size_t)y * w * 3;
        write_raw_png(path_of("adam7.png"), w, h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_ADAM7, r, NULL, 0, NULL, 0);
        CHECK(load_ok(path_of("adam7.png"), &img));
    if (img.data) {
            CHECK(img.w == w && img.h == h && memcmp(img.data, data, (size_t)w * h * 3) == 0);
            df_image_free(&img);
        }
        free(data);
        free(r);
    }
}

static void test_dct_scaling(void) {
    df_image a, full, small;
    df_error err;
    pattern(&a, 800, 600);
    CHECK(df_image_save_jpeg(path_of("big.jpg"), &a, 92, &err) == 0);
    CHECK(df_image_load(path_of("big.jpg"), 0, 0, &full, &err) == 0 && full.w == 800 && full.h == 600);
    /* 1/8 gives 100x75 (too small), 2/8 gives 200x150: the smallest that covers 100x100. */
    CHECK(df_image_load(path_of("big.jpg"), 100, 100, &small, &err) == 0);
    CHECK_MSG(small.w == 200 && small.h == 150, "got %dx%d", small.w, small.h);
    /* The scaled decode looks like the area-averaged full decode. */
    df_image ref;
    df_resize(&full, 200, 150, &ref);
    double mad = 0;
    for (size_t i = 0; i < (size_t)200 * 150 * 3; i++) mad += abs(ref.data[i] - small.data[i]);
    mad /= 200.0 * 150 * 3;
    CHECK_MSG(mad < 3.0, "DCT-scaled vs resized full decode: mean abs difference %.3f", mad);
    df_image_free(&ref);
    df_image_free(&small);
    CHECK(df_image_load(path_of("big.jpg"), 100, 75, &small, &err) == 0 && small.w == 100 && small.h == 75);
    df_image_free(&small);
    CHECK(df_image_load(path_of("big.jpg"), 700, 10, &small, &err) == 0 && small.w == 700 && small.h == 525);
    df_image_free(&small);
    /* A target larger than the image never upsamples. */
    CHECK(df_image_load(path_of("big.jpg"), 2000, 2000, &small, &err) == 0 && small.w == 800 && small.h == 600);
    df_image_free(&small);
    df_image_free(&full);
    df_image_free(&a);
}

static unsigned char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*n);
    if (fread(b, 1, *n, f) != *n) *n = 0;
    fclose(f);
    return b;
}
static void spit(const char *path, const unsigned char *b, size_t n) {
    FILE *f = fopen(path, "wb");
    if (n) fwrite(b, 1, n, f);
    fclose(f);
}

static uint32_t crc32_of(const unsigned char *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
    }
    return c ^ 0xFFFFFFFFu;
}

/* Loading must fail with a message naming the file and containing `what`. */
static void expect_error(const char *path, const char *what) {
    df_image img = {0};
    df_error err = {{0}};
    int rc = df_image_load(path, 0, 0, &img, &err);
    CHECK_MSG(rc == -1 && img.data == NULL, "%s loaded", path);
    CHECK_MSG(strstr(err.msg, path) != NULL, "message does not name the file: %s", err.msg);
    CHECK_MSG(strstr(err.msg, what) != NULL, "message lacks '%s': %s", what, err.msg);
}

static void test_errors(void) {
    df_image a;
    df_error err;
    pattern(&a, 160, 120);
    CHECK(df_image_save_jpeg(path_of("ok.jpg"), &a, 90, &err) == 0);
    CHECK(df_image_save_png(path_of("ok.png"), &a, &err) == 0);
    size_t n;
    unsigned char *jpg = slurp(path_of("ok.jpg"), &n);
    spit(path_of("trunc.jpg"), jpg, n / 2);
    expect_error(path_of("trunc.jpg"), "JPEG");
    /* SOF0 dimensions patched to 30000x30000. */
    for (size_t i = 2; i + 9 < n; i++)
        if (jpg[i] == 0xFF && jpg[i + 1] == 0xC0) {
            jpg[i + 5] = 30000 >> 8, jpg[i + 6] = 30000 & 0xFF, jpg[i + 7] = 30000 >> 8, jpg[i + 8] = 30000 & 0xFF;
            break;
        }
    spit(path_of("huge.jpg"), jpg, n);
    expect_error(path_of("huge.jpg"), "30000x30000");
    free(jpg);

    unsigned char *png = slurp(path_of("ok.png"), &n);
    spit(path_of("trunc.png"), png, n - 40);
    expect_error(path_of("trunc.png"), "PNG");
    /* One CRC byte of the first IDAT flipped. */
    unsigned char *bad = malloc(n);
    memcpy(bad, png, n);
    for (size_t i = 8; i + 8 < n;) {
        uint32_t len = (uint32_t)bad[i] << 24 | bad[i + 1] << 16 | bad[i + 2] << 8 | bad[i + 3];
        if (memcmp(bad + i + 4, "IDAT", 4) == 0) {
            bad[i + 8 + len] ^= 0x01;
            break;
        }
        i += 12 + len;
    }
    spit(path_of("crc.png"), bad, n);
    expect_error(path_of("crc.png"), "CRC");
    /* IHDR claiming 30000x30000, with its CRC recomputed so that only the size is wrong. */
    memcpy(bad, png, n);
    unsigned char dims[8] = {0, 0, 30000 >> 8, 30000 & 0xFF, 0, 0, 30000 >> 8, 30000 & 0xFF};
    memcpy(bad + 16, dims, 8);
    uint32_t crc = crc32_of(bad + 12, 17);
    bad[29] = crc >> 24, bad[30] = (crc >> 16) & 0xFF, bad[31] = (crc >> 8) & 0xFF, bad[32] = crc & 0xFF;
    spit(path_of("huge.png"), bad, n);
    expect_error(path_of("huge.png"), "30000x30000");
    /* A text chunk after IHDR claiming 1.4 GB in a file of a few hundred bytes: refused before libpng would
     * allocate that much. */
    unsigned char *text = malloc(n + 16);
    memcpy(text, png, 33);
    memcpy(text + 33, "\x58\x00\x00\x04tEXta\0bc\x12\x34\x56\x78", 16);
    memcpy(text + 49, png + 33, n - 33);
    spit(path_of("claims.png"), text, n + 16);
    expect_error(path_of("claims.png"), "chunk 'tEXt' claims 1476395012 bytes");
    free(text);
    free(bad);
    free(png);

    spit(path_of("empty.jpg"), NULL, 0);
    expect_error(path_of("empty.jpg"), "empty");
    expect_error(path_of("missing.jpg"), "cannot open");
    spit(path_of("text.jpg"), (const unsigned char *)"hello, world", 12);
    expect_error(path_of("text.jpg"), "not a JPEG or PNG");
    df_image_free(&a);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/df_test_image_XXXXXX");
    if (!mkdtemp(dir)) return 1;
    test_round_trips();
    test_png_types();
    test_dct_scaling();
    test_errors();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (getenv("KEEP") == NULL && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return check_report();
}
