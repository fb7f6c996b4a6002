/* augment.c: geometric and colour augmentation, normalisation (see augment.h for the exact transform). */
#include "data/image/augment.h"

#include <math.h>
#include <stdlib.h>

#include "core/rng.h"
#include "data/image/resize.h"

/* Stream slots, fixed so that switching one option off does not shift the draws of the others. */
enum { SLOT_HFLIP = 0, SLOT_VFLIP, SLOT_ROT, SLOT_BRIGHT, SLOT_CONTRAST, SLOT_SAT, SLOT_CROP = 16 };

const float df_imagenet_mean[3] = {0.485f, 0.456f, 0.406f}, df_imagenet_std[3] = {0.229f, 0.224f, 0.225f};

void df_augment_defaults(df_augment_opts *o, int out_w, int out_h) {
    *o = (df_augment_opts){
        .out_w = out_w, .out_h = out_h, .train = 0, .hflip = 1, .vflip = 1, .rot90 = 1,
        .scale_min = 0.35f, .scale_max = 1.0f, .ratio_min = 0.75f, .ratio_max = 4.0f / 3.0f,
        .brightness = 0.2f, .contrast = 0.2f, .saturation = 0.2f, .eval_crop_frac = 1.0f, .channels = 3,
    };
    for (int c = 0; c < 3; c++) o->mean[c] = df_imagenet_mean[c], o->std[c] = df_imagenet_std[c];
}

uint64_t df_augment_key(uint64_t seed, int64_t epoch, int64_t sample) {
    return df_rng_subkey(df_rng_subkey(df_rng_key(seed, DF_STREAM_AUGMENT), (uint64_t)epoch), (uint64_t)sample);
}

int df_augment_check(const df_augment_opts *o, df_error *err) {
    if (o->out_w <= 0 || o->out_h <= 0 || o->out_w > 8192 || o->out_h > 8192)
        return df_fail(err, "augment: output size %dx%d must be in 1..8192", o->out_w, o->out_h);
    if (!(o->scale_min > 0 && o->scale_min <= o->scale_max && o->scale_max <= 1))
        return df_fail(err, "augment: crop scale range [%g, %g] must satisfy 0 < min <= max <= 1", o->scale_min,
                       o->scale_max);
    if (!(o->ratio_min > 0 && o->ratio_min <= o->ratio_max))
        return df_fail(err, "augment: crop ratio range [%g, %g] must satisfy 0 < min <= max", o->ratio_min,
                       o->ratio_max);
    if (!(o->brightness >= 0 && o->brightness < 1 && o->contrast >= 0 && o->contrast < 1 && o->saturation >= 0 &&
          o->saturation < 1))
        return df_fail(err, "augment: jitter amplitudes (%g, %g, %g) must be in [0, 1)", o->brightness, o->contrast,
                       o->saturation);
    if (!(o->eval_crop_frac > 0 && o->eval_crop_frac <= 1))
        return df_fail(err, "augment: eval_crop_frac %g must be in (0, 1]", o->eval_crop_frac);
    if (o->channels != 1 && o->channels != 3)
        return df_fail(err, "augment: %d channels, need 1 (gray) or 3 (RGB)", o->channels);
    for (int c = 0; c < o->channels; c++)
        if (!(o->std[c] > 0)) return df_fail(err, "augment: std[%d] = %g must be positive", c, o->std[c]);
    return 0;
}

typedef struct {
    float x0, y0, x1, y1;
} box;

/* Centred box of aspect aw:ah covering frac of the largest that fits in w x h. */
static box centre_box(int w, int h, int aw, int ah, float frac) {
    float bw = (float)w, bh = (float)w * ah / aw;
    if (bh > h) {
        bh = (float)h;
        bw = (float)h * aw / ah;
    }
    bw *= frac;
    bh *= frac;
    box b = {(w - bw) * 0.5f, (h - bh) * 0.5f, 0, 0};
    b.x1 = b.x0 + bw;
    b.y1 = b.y0 + bh;
    return b;
}

static box random_crop(const df_augment_opts *o, int w, int h, int aw, int ah, uint64_t key) {
    float area = (float)w * h;
    float lr0 = logf(o->ratio_min), lr1 = logf(o->ratio_max);
    for (int t = 0; t < 10; t++) {
        uint64_t s = SLOT_CROP + 4 * (uint64_t)t;
        float a = area * (o->scale_min + (o->scale_max - o->scale_min) * df_uniform_at(key, s));
        float r = expf(lr0 + (lr1 - lr0) * df_uniform_at(key, s + 1)) * aw / ah;
        float cw = sqrtf(a * r), ch = sqrtf(a / r);
        if (cw <= w && ch <= h && cw >= 1 && ch >= 1) {
            box b;
            b.x0 = (w - cw) * df_uniform_at(key, s + 2);
            b.y0 = (h - ch) * df_uniform_at(key, s + 3);
            b.x1 = b.x0 + cw;
            b.y1 = b.y0 + ch;
            return b;
        }
    }
    return centre_box(w, h, aw, ah, 1.0f);
}

static float clamp255(float v) { return v < 0 ? 0 : (v > 255 ? 255 : v); }

/* Gray: the pixel is its own grey, so saturation has nothing to act on. */
static void gray_jitter(float *p, size_t n, float b, float c) {
    double mean = 0;
    for (size_t i = 0; i < n; i++) mean += p[i] = clamp255(p[i] * b);
    float m = (float)(mean / (double)n);
    for (size_t i = 0; i < n; i++) p[i] = clamp255((p[i] - m) * c + m);
}

static void colour_jitter(float *p, size_t n, const df_augment_opts *o, uint64_t key) {
    float b = 1 + o->brightness * (2 * df_uniform_at(key, SLOT_BRIGHT) - 1);
    float c = 1 + o->contrast * (2 * df_uniform_at(key, SLOT_CONTRAST) - 1);
    float s = 1 + o->saturation * (2 * df_uniform_at(key, SLOT_SAT) - 1);
    if (o->channels == 1) {
        gray_jitter(p, n, b, c);
        return;
    }
    double mean = 0;
    for (size_t i = 0; i < 3 * n; i++) {
        p[i] = clamp255(p[i] * b);
        if (i % 3 == 2) mean += 0.299 * p[i - 2] + 0.587 * p[i - 1] + 0.114 * p[i];
    }
    float m = (float)(mean / (double)n);
    for (size_t i = 0; i < 3 * n; i++) p[i] = clamp255((p[i] - m) * c + m);
    for (size_t i = 0; i < n; i++) {
        float *q = p + 3 * i;
        float g = 0.299f * q[0] + 0.587f * q[1] + 0.114f * q[2];
        for (int k = 0; k < 3; k++) q[k] = clamp255(g + (q[k] - g) * s);
    }
}

void df_augment(const df_image *src, const df_image *mask, const df_augment_opts *o, uint64_t key, float *out,
                float *out_mask) {
    int C = o->channels;
    DF_ASSERT(src->c == C);
    DF_ASSERT((mask == NULL) == (out_mask == NULL));
    DF_ASSERT(!mask || (mask->c == 1 && mask->w == src->w && mask->h == src->h));
    int ow = o->out_w, oh = o->out_h;
    int hf = 0, vf = 0, rot = 0;
    if (o->train) {
        hf = o->hflip && df_uniform_at(key, SLOT_HFLIP) < 0.5f;
        vf = o->vflip && df_uniform_at(key, SLOT_VFLIP) < 0.5f;
        rot = o->rot90 ? (int)(df_rng_at(key, SLOT_ROT) >> 62) : 0;
    }
    /* Pre-rotation size: a quarter turn swaps the sides. */
    int pw = rot & 1 ? oh : ow, ph = rot & 1 ? ow : oh;
    box b = o->train ? random_crop(o, src->w, src->h, pw, ph, key)
                     : centre_box(src->w, src->h, pw, ph, o->eval_crop_frac);
    size_t n = (size_t)ow * oh;
    float *tmp = df_malloc(sizeof(float) * n * C); /* (ph, pw, C) */
    df_resize_region_f32(src->data, src->w, src->h, C, b.x0, b.y0, b.x1, b.y1, tmp, pw, ph);
    float *mtmp = NULL;
    if (mask) {
        mtmp = df_malloc(sizeof(float) * n);
        df_resize_region_f32(mask->data, mask->w, mask->h, 1, b.x0, b.y0, b.x1, b.y1, mtmp, pw, ph);
    }
    if (o->train && (o->brightness > 0 || o->contrast > 0 || o->saturation > 0)) colour_jitter(tmp, n, o, key);

    float scale[3], shift[3];
    for (int c = 0; c < C; c++) {
        scale[c] = 1.0f / (255.0f * o->std[c]);
        shift[c] = -o->mean[c] / o->std[c];
    }
    /* Output (y, x) reads pre-rotation (py, px): flips first, then k counter-clockwise quarter turns. */
    for (int y = 0; y < oh; y++) {
        for (int x = 0; x < ow; x++) {
            int u = x, v = y; /* position in the flipped, unrotated frame of size (after rotation) */
            int px, py;
            switch (rot) {
            case 0: px = u; py = v; break;
            case 1: px = pw - 1 - v; py = u; break;
            case 2: px = pw - 1 - u; py = ph - 1 - v; break;
            default: px = v; py = ph - 1 - u; break;
            }
            if (hf) px = pw - 1 - px;
            if (vf) py = ph - 1 - py;
            const float *s = tmp + ((size_t)py * pw + px) * C;
            float *d = out + ((size_t)y * ow + x) * C;
            for (int c = 0; c < C; c++) d[c] = s[c] * scale[c] + shift[c];
            if (mask) out_mask[(size_t)y * ow + x] = mtmp[(size_t)py * pw + px] * (1.0f / 255.0f);
        }
    }
    free(tmp);
    free(mtmp);
}

void df_augment_denormalise(const float *img, int w, int h, const df_augment_opts *o, unsigned char *rgb) {
    int C = o->channels;
    for (size_t q = 0; q < (size_t)w * h; q++)
        for (int k = 0; k < 3; k++) {
            int c = C == 1 ? 0 : k;
            float v = (img[C * q + c] * o->std[c] + o->mean[c]) * 255.0f;
            rgb[3 * q + k] = (unsigned char)(v < 0.0f ? 0 : v > 255.0f ? 255 : lrintf(v));
        }
}
