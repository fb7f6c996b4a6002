/* test_augment.c: augmentation is a pure function of (image, options, key); evaluation mode is deterministic
 * and equals the plain resize; flips and rotations produce exactly the mirrored/rotated evaluation output;
 * masks follow the geometry; normalisation and colour jitter behave. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "data/image/augment.h"
#include "data/image/resize.h"

#define S 16

static void make_image(df_image *a, df_image *m) {
    df_image_alloc(a, 2 * S, 2 * S, 3);
    df_image_alloc(m, 2 * S, 2 * S, 1);
    for (int y = 0; y < 2 * S; y++)
        for (int x = 0; x < 2 * S; x++) {
            unsigned char *p = a->data + (y * 2 * S + x) * 3;
            p[0] = (unsigned char)((x * 13 + y * 7) % 256);
            p[1] = (unsigned char)(x * 8);
            p[2] = (unsigned char)(y * 5 + 40);
            m->data[y * 2 * S + x] = p[0];
        }
}

static int same(const float *a, const float *b, int n) { return memcmp(a, b, sizeof(float) * n) == 0; }

/* out(y, x) of an S x S output compared with a transform of ref. */
static int matches(const float *out, const float *ref, int rot, int hf) {
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            int u = x, v = y, px, py;
            switch (rot) {
            case 0: px = u; py = v; break;
            case 1: px = S - 1 - v; py = u; break;
            case 2: px = S - 1 - u; py = S - 1 - v; break;
            default: px = v; py = S - 1 - u; break;
            }
            if (hf) px = S - 1 - px;
            for (int c = 0; c < 3; c++)
                if (out[(y * S + x) * 3 + c] != ref[(py * S + px) * 3 + c]) return 0;
        }
    return 1;
}

int main(void) {
    df_image a, m;
    make_image(&a, &m);
    df_augment_opts o;
    df_augment_defaults(&o, S, S);
    df_error err;
    CHECK(df_augment_check(&o, &err) == 0);
    int n = S * S * 3;
    float *ev = malloc(sizeof(float) * n), *ev2 = malloc(sizeof(float) * n), *out = malloc(sizeof(float) * n);
    float *outs[6], *mask_out = malloc(sizeof(float) * S * S);

    /* Evaluation: independent of the key, equal to the 2x2 area average, normalised. */
    df_augment(&a, NULL, &o, 1, ev, NULL);
    df_augment(&a, NULL, &o, 999, ev2, NULL);
    CHECK(same(ev, ev2, n));
    float ref[S * S * 3];
    df_resize_region_f32(a.data, 2 * S, 2 * S, 3, 0, 0, 2 * S, 2 * S, ref, S, S);
    int bad = 0;
    for (int i = 0; i < n; i++) bad += fabsf(ev[i] - (ref[i] / 255 - o.mean[i % 3]) / o.std[i % 3]) > 1e-5f;
    CHECK_MSG(bad == 0, "%d evaluation outputs differ from the normalised area average", bad);

    /* Training: same key, same result, whatever the call order; different keys differ. */
    o.train = 1;
    uint64_t keys[6];
    for (int k = 0; k < 6; k++) {
        keys[k] = df_augment_key(42, 3, k);
        outs[k] = malloc(sizeof(float) * n);
        df_augment(&a, NULL, &o, keys[k], outs[k], NULL);
    }
    for (int k = 5; k >= 0; k--) {
        df_augment(&a, NULL, &o, keys[k], out, NULL);
        CHECK_MSG(same(out, outs[k], n), "key %d gave a different result on the second call", k);
    }
    CHECK(!same(outs[0], outs[1], n));
    CHECK(df_augment_key(42, 3, 0) != df_augment_key(42, 4, 0) && df_augment_key(42, 3, 0) != df_augment_key(43, 3, 0));

    /* Geometry only (full box, no jitter): every output is the evaluation output flipped and rotated, and
     * all four rotations and both mirror states occur. */
    o.scale_min = o.scale_max = 1;
    o.ratio_min = o.ratio_max = 1;
    o.brightness = o.contrast = o.saturation = 0;
    o.vflip = 0;
    int seen[4][2] = {{0}};
    for (int k = 0; k < 64; k++) {
        df_augment(&a, NULL, &o, df_augment_key(7, 0, k), out, NULL);
        int found = 0;
        for (int r = 0; r < 4 && !found; r++)
            for (int h = 0; h < 2 && !found; h++)
                if (matches(out, ev, r, h)) {
                    seen[r][h]++;
                    found = 1;
                }
        CHECK_MSG(found, "key %d: output is not a flip/rotation of the evaluation output", k);
    }
    for (int r = 0; r < 4; r++) CHECK_MSG(seen[r][0] + seen[r][1] > 0, "rotation %d never drawn", r);
    CHECK(seen[0][1] + seen[1][1] + seen[2][1] + seen[3][1] > 0);

    /* The mask follows the geometry: it was made equal to the red channel. */
    o.scale_min = 0.3f;
    o.ratio_min = 0.75f;
    o.ratio_max = 1.33f;
    o.vflip = 1;
    bad = 0;
    for (int k = 0; k < 8; k++) {
        df_augment(&a, &m, &o, df_augment_key(9, 1, k), out, mask_out);
        for (int i = 0; i < S * S; i++) {
            float red = (out[3 * i] * o.std[0] + o.mean[0]);
            bad += fabsf(red - mask_out[i]) > 1e-4f;
        }
    }
    CHECK_MSG(bad == 0, "%d mask pixels do not follow the image", bad);

    /* Colour jitter: a grey image stays grey (saturation and contrast act per pixel on grey), a constant
     * image stays constant, and brightness moves it. */
    df_image g;
    df_image_alloc(&g, 20, 20, 3);
    memset(g.data, 100, 20 * 20 * 3);
    o.brightness = o.contrast = o.saturation = 0.4f;
    for (int c = 0; c < 3; c++) o.mean[c] = 0, o.std[c] = 1;
    int moved = 0;
    for (int k = 0; k < 8; k++) {
        df_augment(&g, NULL, &o, df_augment_key(5, 0, k), out, NULL);
        float v = out[0];
        int flat = 1;
        for (int i = 0; i < n; i++) flat &= fabsf(out[i] - v) < 1e-6f;
        CHECK(flat);
        CHECK(v >= 0.6f * 100 / 255 - 1e-6f && v <= 1.4f * 100 / 255 + 1e-6f);
        moved += fabsf(v - 100.0f / 255) > 1e-3f;
    }
    CHECK(moved >= 6);
    o.contrast = -1;
    CHECK(df_augment_check(&o, &err) == -1 && strstr(err.msg, "jitter"));

    for (int k = 0; k < 6; k++) free(outs[k]);
    free(ev);
    free(ev2);
    free(out);
    free(mask_out);
    df_image_free(&g);
    df_image_free(&a);
    df_image_free(&m);
    return check_report();
}
