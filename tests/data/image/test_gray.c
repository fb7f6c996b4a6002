/* test_gray.c: gray input. RGB to luma with the BT.601 weights, a gray image read as R = G = B unchanged; a
 * file's header tells gray PNGs and JPEGs from colour ones; the base image and the cache at 1 channel hold the
 * luma of the 3-channel ones, and a cache of the other channel count is rebuilt; gray augmentation is the RGB
 * augmentation of the same image replicated (brightness and contrast), with saturation doing nothing; and
 * normalising then denormalising gives back the pixels for every normalisation, 1 and 3 channels. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "data/image/augment.h"
#include "data/image/cache.h"
#include "data/image/image.h"

#define S 16

static char dir[64];

static char *path_of(const char *name) {
    static char buf[4][160];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static void pattern(df_image *img, int c) {
    df_image_alloc(img, S, S, c);
    for (int i = 0; i < S * S * c; i++) img->data[i] = (unsigned char)((i * 37 + (i / c) * 11) % 256);
}

static void test_to_gray(void) {
    df_image rgb, g;
    df_image_alloc(&rgb, 3, 1, 3);
    const unsigned char px[9] = {255, 0, 0, 0, 255, 0, 10, 20, 30};
    memcpy(rgb.data, px, 9);
    df_image_to_gray(&rgb, &g);
    /* 0.299 * 255 = 76.245, 0.587 * 255 = 149.685, 0.299*10 + 0.587*20 + 0.114*30 = 18.15 */
    CHECK(g.c == 1 && g.data[0] == 76 && g.data[1] == 150 && g.data[2] == 18);
    df_image_free(&g);
    int same = 1;
    for (int v = 0; v < 256; v++) {
        rgb.data[0] = rgb.data[1] = rgb.data[2] = (unsigned char)v;
        df_image_to_gray(&rgb, &g);
        same &= g.data[0] == v;
        df_image_free(&g);
    }
    CHECK_MSG(same, "a gray pixel read as R = G = B comes back unchanged");
    df_image_free(&rgb);
}

static void test_probe(void) {
    df_error err;
    df_image rgb, g;
    pattern(&rgb, 3);
    pattern(&g, 1);
    CHECK(df_image_save_png(path_of("rgb.png"), &rgb, &err) == 0);
    CHECK(df_image_save_png(path_of("gray.png"), &g, &err) == 0);
    CHECK(df_image_save_jpeg(path_of("rgb.jpg"), &rgb, 95, &err) == 0);
    CHECK(df_image_save_jpeg(path_of("gray.jpg"), &g, 95, &err) == 0);
    const char *names[4] = {"rgb.png", "gray.png", "rgb.jpg", "gray.jpg"};
    for (int i = 0; i < 4; i++) {
        int gray = -1;
        CHECK_MSG(df_image_is_gray(path_of(names[i]), &gray, &err) == 0 && gray == (i % 2), "%s: gray %d", names[i],
                  gray);
    }
    FILE *f = fopen(path_of("junk.png"), "wb");
    fputs("not an image", f);
    fclose(f);
    int gray;
    CHECK(df_image_is_gray(path_of("junk.png"), &gray, &err) == -1 && strstr(err.msg, "junk.png"));
    /* a JPEG cut before its frame header */
    f = fopen(path_of("cut.jpg"), "wb");
    fwrite("\xFF\xD8\xFF\xE0\x00\x10JFIF", 1, 10, f);
    fclose(f);
    CHECK(df_image_is_gray(path_of("cut.jpg"), &gray, &err) == -1 && strstr(err.msg, "cut.jpg"));
    df_image_free(&rgb);
    df_image_free(&g);
}

static void test_base_and_cache(void) {
    df_error err;
    df_image b3, b1, luma;
    CHECK(df_base_image_load(path_of("rgb.png"), 8, 3, &b3, &err) == 0);
    CHECK(df_base_image_load(path_of("rgb.png"), 8, 1, &b1, &err) == 0 && b1.c == 1 && b1.w == 8);
    df_image_to_gray(&b3, &luma);
    CHECK(memcmp(luma.data, b1.data, 64) == 0);
    char *paths[2] = {path_of("rgb.png"), path_of("gray.png")};
    df_cache *c;
    int rebuilt = -1;
    const char *cache = path_of("c.dfcache");
    CHECK(df_cache_open(cache, paths, 2, 8, 1, &c, &rebuilt, &err) == 0 && rebuilt == 1);
    CHECK(c && memcmp(df_cache_image(c, 0), b1.data, 64) == 0);
    df_cache_close(c);
    CHECK(df_cache_open(cache, paths, 2, 8, 1, &c, &rebuilt, &err) == 0 && rebuilt == 0);
    df_cache_close(c);
    CHECK_MSG(df_cache_open(cache, paths, 2, 8, 3, &c, &rebuilt, &err) == 0 && rebuilt == 1,
              "a gray cache is not reused for RGB");
    CHECK(c && memcmp(df_cache_image(c, 0), b3.data, 64 * 3) == 0);
    df_cache_close(c);
    CHECK(df_cache_open(cache, paths, 2, 8, 2, &c, &rebuilt, &err) == -1 && strstr(err.msg, "channels"));
    df_image_free(&b3);
    df_image_free(&b1);
    df_image_free(&luma);
}

static void test_gray_augment(void) {
    df_image g, rgb;
    pattern(&g, 1);
    df_image_alloc(&rgb, S, S, 3);
    for (int i = 0; i < S * S; i++) rgb.data[3 * i] = rgb.data[3 * i + 1] = rgb.data[3 * i + 2] = g.data[i];
    df_augment_opts o3, o1;
    df_augment_defaults(&o3, S, S);
    o3.train = 1;
    o3.brightness = o3.contrast = 0.4f;
    o3.saturation = 0.4f;
    for (int c = 0; c < 3; c++) o3.mean[c] = 0.5f, o3.std[c] = 0.25f;
    o1 = o3;
    o1.channels = 1;
    df_error err;
    CHECK(df_augment_check(&o1, &err) == 0);
    float *out3 = malloc(sizeof(float) * S * S * 3), *out1 = malloc(sizeof(float) * S * S);
    double worst = 0;
    int changed = 0;
    for (uint64_t key = 1; key < 9; key++) {
        df_augment(&rgb, NULL, &o3, key, out3, NULL);
        df_augment(&g, NULL, &o1, key, out1, NULL);
        for (int i = 0; i < S * S; i++) {
            double d = fabs(out1[i] - out3[3 * i]);
            worst = d > worst ? d : worst;
        }
        /* against the plain evaluation output: the jitter did something */
        df_augment_opts ev = o1;
        ev.brightness = ev.contrast = ev.saturation = 0;
        float *plain = malloc(sizeof(float) * S * S);
        df_augment(&g, NULL, &ev, key, plain, NULL);
        changed += memcmp(plain, out1, sizeof(float) * S * S) != 0;
        /* saturation alone leaves a gray input as it is, but for the rounding of the contrast step's
         * (x - m) * 1 + m */
        ev.saturation = 0.9f;
        float *sat = malloc(sizeof(float) * S * S);
        df_augment(&g, NULL, &ev, key, sat, NULL);
        double off = 0;
        for (int i = 0; i < S * S; i++) off = fmax(off, fabs(plain[i] - sat[i]));
        CHECK_MSG(off < 1e-4, "saturation moved a gray input by %g", off);
        free(plain);
        free(sat);
    }
    /* the RGB path computes the grey with float weights summing to 1 within rounding */
    CHECK_MSG(worst < 1e-3, "gray and replicated-RGB jitter differ by %g", worst);
    CHECK(changed == 8);
    o1.channels = 2;
    CHECK(df_augment_check(&o1, &err) == -1 && strstr(err.msg, "channels"));
    free(out3);
    free(out1);
    df_image_free(&g);
    df_image_free(&rgb);
}

/* Evaluation at the image's own size samples every pixel as it is: denormalise(normalise(x)) == x. */
static void test_round_trip(void) {
    const float imagenet1 = (0.485f + 0.456f + 0.406f) / 3, imagenet1s = (0.229f + 0.224f + 0.225f) / 3;
    const float modes[4][2][3] = {
        {{0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}}, /* imagenet (1 channel: the means of these) */
        {{0.3127f, 0.2871f, 0.2544f}, {0.1873f, 0.1712f, 0.1699f}}, /* dataset-like statistics */
        {{0.5f, 0.4f, 0.6f}, {0.25f, 0.5f, 0.125f}},                /* given */
        {{0, 0, 0}, {1, 1, 1}},                                     /* none */
    };
    for (int C = 1; C <= 3; C += 2) {
        df_image img;
        pattern(&img, C);
        for (int m = 0; m < 4; m++) {
            df_augment_opts o;
            df_augment_defaults(&o, S, S);
            o.channels = C;
            for (int c = 0; c < 3; c++) o.mean[c] = modes[m][0][c], o.std[c] = modes[m][1][c];
            if (m == 0 && C == 1) o.mean[0] = imagenet1, o.std[0] = imagenet1s;
            float *x = malloc(sizeof(float) * S * S * C);
            unsigned char rgb[S * S * 3];
            df_augment(&img, NULL, &o, 0, x, NULL);
            if (m == 3) CHECK_CLOSE(x[1], img.data[1] / 255.0f, 1e-7, 0); /* none: x / 255 */
            df_augment_denormalise(x, S, S, &o, rgb);
            int bad = 0;
            for (int i = 0; i < S * S; i++)
                for (int k = 0; k < 3; k++) bad += rgb[3 * i + k] != img.data[C * i + (C == 1 ? 0 : k)];
            CHECK_MSG(bad == 0, "%d channels, mode %d: %d values differ after the round trip", C, m, bad);
            free(x);
        }
        df_image_free(&img);
    }
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/df_test_gray_%d", (int)getpid());
    CHECK(mkdir(dir, 0700) == 0);
    test_to_gray();
    test_probe();
    test_base_and_cache();
    test_gray_augment();
    test_round_trip();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return check_report();
}
