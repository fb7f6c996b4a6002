/* test_resize.c: the resampler against simple references: constants stay constant, 2x2 blocks average,
 * a one-pixel checkerboard shrinks to flat grey (no aliasing), enlarging interpolates linearly, fractional
 * regions weigh partial pixels by area, and the shorter-side + centre-crop helper keeps the centre. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "data/image/resize.h"

static void test_constant(void) {
    df_image a, b;
    df_image_alloc(&a, 37, 23, 3);
    for (int i = 0; i < 37 * 23; i++) a.data[3 * i] = 200, a.data[3 * i + 1] = 17, a.data[3 * i + 2] = 99;
    int sizes[][2] = {{10, 7}, {37, 23}, {80, 51}, {3, 29}, {1, 1}};
    for (int s = 0; s < 5; s++) {
        df_resize(&a, sizes[s][0], sizes[s][1], &b);
        int bad = 0;
        for (int i = 0; i < b.w * b.h; i++)
            bad += b.data[3 * i] != 200 || b.data[3 * i + 1] != 17 || b.data[3 * i + 2] != 99;
        CHECK_MSG(bad == 0, "constant image resized to %dx%d changed in %d pixels", b.w, b.h, bad);
        df_image_free(&b);
    }
    df_image_free(&a);
}

static void test_block_average(void) {
    df_image a, b;
    df_image_alloc(&a, 8, 6, 1);
    for (int i = 0; i < 48; i++) a.data[i] = (unsigned char)((i * 37) % 251);
    float out[12];
    df_resize_region_f32(a.data, 8, 6, 1, 0, 0, 8, 6, out, 4, 3);
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 4; x++) {
            const unsigned char *p = a.data + 2 * y * 8 + 2 * x;
            double ref = (p[0] + p[1] + p[8] + p[9]) / 4.0;
            CHECK_CLOSE(out[y * 4 + x], ref, 1e-3, 0);
        }
    /* Half a pixel at each side of a 2-pixel-wide box: weights 0.5, 1, 0.5 over 2. */
    df_resize_region_f32(a.data, 8, 6, 1, 0.5f, 0, 2.5f, 1, out, 1, 1);
    CHECK_CLOSE(out[0], (0.5 * a.data[0] + a.data[1] + 0.5 * a.data[2]) / 2.0, 1e-3, 0);
    df_resize(&a, 4, 3, &b);
    CHECK(b.c == 1 && b.data[0] == (unsigned char)lround((a.data[0] + a.data[1] + a.data[8] + a.data[9]) / 4.0));
    df_image_free(&b);
    df_image_free(&a);
}

static void test_checkerboard(void) {
    df_image a, b;
    df_image_alloc(&a, 64, 64, 3);
    for (int y = 0; y < 64; y++)
        for (int x = 0; x < 64; x++) memset(a.data + (y * 64 + x) * 3, (x + y) % 2 ? 255 : 0, 3);
    /* Non-integer factors too: an unfiltered (nearest or bilinear) shrink would give stripes of 0 and 255. */
    int sizes[] = {32, 21, 13, 7};
    for (int s = 0; s < 4; s++) {
        df_resize(&a, sizes[s], sizes[s], &b);
        int lo = 255, hi = 0;
        for (int i = 0; i < b.w * b.h * 3; i++) {
            if (b.data[i] < lo) lo = b.data[i];
            if (b.data[i] > hi) hi = b.data[i];
        }
        CHECK_MSG(lo >= 110 && hi <= 145, "checkerboard to %d: values %d..%d, expected near 127.5", sizes[s], lo, hi);
        df_image_free(&b);
    }
    df_image_free(&a);
}

static void test_enlarge(void) {
    unsigned char src[2] = {0, 200};
    float out[4];
    /* Output centres at source coordinates -0.25, 0.25, 0.75, 1.25 (pixel centres at 0 and 1). */
    df_resize_region_f32(src, 2, 1, 1, 0, 0, 2, 1, out, 4, 1);
    CHECK_CLOSE(out[0], 0, 1e-4, 0);
    CHECK_CLOSE(out[1], 50, 1e-3, 0);
    CHECK_CLOSE(out[2], 150, 1e-3, 0);
    CHECK_CLOSE(out[3], 200, 1e-4, 0);
}

static void test_short_center_crop(void) {
    df_image a, b;
    df_image_alloc(&a, 300, 100, 3);
    for (int y = 0; y < 100; y++)
        for (int x = 0; x < 300; x++) {
            unsigned char v = x < 100 ? 10 : (x < 200 ? 128 : 240);
            memset(a.data + (y * 300 + x) * 3, v, 3);
        }
    df_resize_short_center_crop(&a, 50, &b);
    CHECK(b.w == 50 && b.h == 50);
    int all_mid = 1;
    for (int i = 0; i < 50 * 50 * 3; i++) all_mid &= b.data[i] == 128;
    CHECK_MSG(all_mid, "centre crop of a 300x100 image should see only its middle third");
    df_image_free(&b);
    df_image_free(&a);
}

int main(void) {
    test_constant();
    test_block_average();
    test_checkerboard();
    test_enlarge();
    test_short_center_crop();
    return check_report();
}
