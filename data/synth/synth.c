/* synth.c: the synthetic lesion drawer (see synth.h for what the class carries, data/synth/SYNTH.md for the
 * tables). All randomness comes from core/rng.h streams keyed by (seed, index): the lesion stream (features,
 * shape, colours, skin tone; shared by both views) and a per-view stream (hairs, lighting, grain, surround). */
#include "data/synth/synth.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"

enum { F_SIZE, F_IRREG, F_ASYM, F_COLOURS, F_DARK, F_VEIL, F_DOTS, F_NETWORK, F_RED, F_SCALE };

static const char *feature_names[DF_SYNTH_NFEAT] = {"size", "irregularity", "asymmetry", "colours", "darkness",
                                                    "veil", "dots", "network", "red", "scale"};

/* Class profiles; columns in the order of feature_names. */
static const float two_class[2][DF_SYNTH_NFEAT] = {
    /*          size  irreg asym  cols  dark  veil  dots  net   red   scale */
    /* benign */ {0.30f, 0.10f, 0.10f, 0.20f, 0.40f, 0.00f, 0.20f, 0.65f, 0.05f, 0.05f},
    /* malig. */ {0.70f, 0.75f, 0.70f, 0.90f, 0.75f, 0.70f, 0.60f, 0.30f, 0.15f, 0.05f},
};
static const char *two_class_names[2] = {"benign", "malignant"};

static const float milk_class[DF_SYNTH_MAX_CLASSES][DF_SYNTH_NFEAT] = {
    /*           size  irreg asym  cols  dark  veil  dots  net   red   scale */
    /* AKIEC  */ {0.45f, 0.40f, 0.30f, 0.30f, 0.15f, 0.00f, 0.20f, 0.00f, 0.60f, 0.80f},
    /* BCC    */ {0.50f, 0.40f, 0.40f, 0.50f, 0.35f, 0.60f, 0.60f, 0.00f, 0.70f, 0.10f},
    /* BEN_OTH*/ {0.35f, 0.20f, 0.20f, 0.20f, 0.30f, 0.00f, 0.10f, 0.20f, 0.30f, 0.20f},
    /* BKL    */ {0.50f, 0.30f, 0.30f, 0.40f, 0.55f, 0.00f, 0.30f, 0.10f, 0.10f, 0.60f},
    /* DF     */ {0.30f, 0.10f, 0.10f, 0.30f, 0.35f, 0.00f, 0.10f, 0.50f, 0.20f, 0.60f},
    /* INF    */ {0.55f, 0.30f, 0.30f, 0.20f, 0.10f, 0.00f, 0.10f, 0.00f, 0.80f, 0.30f},
    /* MAL_OTH*/ {0.60f, 0.60f, 0.60f, 0.60f, 0.50f, 0.30f, 0.40f, 0.20f, 0.40f, 0.30f},
    /* MEL    */ {0.70f, 0.75f, 0.70f, 0.90f, 0.75f, 0.70f, 0.60f, 0.30f, 0.15f, 0.05f},
    /* NV     */ {0.30f, 0.10f, 0.10f, 0.20f, 0.45f, 0.00f, 0.30f, 0.70f, 0.05f, 0.00f},
    /* SCCKA  */ {0.55f, 0.50f, 0.40f, 0.40f, 0.15f, 0.00f, 0.10f, 0.00f, 0.60f, 0.90f},
    /* VASC   */ {0.35f, 0.20f, 0.20f, 0.20f, 0.10f, 0.10f, 0.80f, 0.00f, 1.00f, 0.00f},
};
static const char *milk_names[DF_SYNTH_MAX_CLASSES] = {"AKIEC", "BCC",  "BEN_OTH", "BKL",   "DF",  "INF",
                                                       "MAL_OTH", "MEL", "NV",      "SCCKA", "VASC"};

/* Skin palette, light to dark (tones 1..6). */
static const float skin_rgb[6][3] = {{238, 208, 190}, {226, 186, 158}, {204, 158, 120},
                                     {168, 118, 84},  {118, 80, 56},   {78, 54, 40}};
static const float skin_prob[6] = {0.20f, 0.35f, 0.25f, 0.12f, 0.05f, 0.03f};

const char *df_synth_feature_name(int f) { return f >= 0 && f < DF_SYNTH_NFEAT ? feature_names[f] : "?"; }

const char *df_synth_class_name(int n_classes, int k) {
    if (n_classes == 2) return k >= 0 && k < 2 ? two_class_names[k] : "?";
    return k >= 0 && k < n_classes && k < DF_SYNTH_MAX_CLASSES ? milk_names[k] : "?";
}

void df_synth_defaults(df_synth_opts *o, int w, int h, int n_classes) {
    *o = (df_synth_opts){.w = w, .h = h, .n_classes = n_classes, .signal = 0.6f, .view = DF_SYNTH_DERMOSCOPIC,
                         .skin_tone = 0, .hair = 1};
}

int df_synth_check(const df_synth_opts *o, df_error *err) {
    if (o->w < 16 || o->h < 16 || o->w > DF_IMAGE_MAX_SIDE || o->h > DF_IMAGE_MAX_SIDE)
        return df_fail(err, "synth: image size %dx%d must be in 16..%d per side", o->w, o->h, DF_IMAGE_MAX_SIDE);
    if ((long long)o->w * o->h > DF_IMAGE_MAX_PIXELS)
        return df_fail(err, "synth: image size %dx%d is over %lld pixels", o->w, o->h, DF_IMAGE_MAX_PIXELS);
    if (o->n_classes < 2 || o->n_classes > DF_SYNTH_MAX_CLASSES)
        return df_fail(err, "synth: %d classes; must be 2..%d", o->n_classes, DF_SYNTH_MAX_CLASSES);
    if (!(o->signal >= 0 && o->signal <= 1)) return df_fail(err, "synth: signal %g must be in [0, 1]", o->signal);
    if (o->skin_tone < 0 || o->skin_tone > 6) return df_fail(err, "synth: skin tone %d must be 0..6", o->skin_tone);
    if (o->view != DF_SYNTH_DERMOSCOPIC && o->view != DF_SYNTH_CLINICAL) return df_fail(err, "synth: unknown view");
    return 0;
}

static const float *profile(int n, int k) { return n == 2 ? two_class[k] : milk_class[k]; }

static float clamp01(float v) { return v < 0 ? 0 : (v > 1 ? 1 : v); }
static float smooth(float e0, float e1, float x) {
    float t = clamp01((x - e0) / (e1 - e0));
    return t * t * (3 - 2 * t);
}
static float mixf(float a, float b, float t) { return a + (b - a) * t; }
static float unif(df_rng *r, float a, float b) { return a + (b - a) * df_rng_uniform(r); }

/* Value noise: smoothly interpolated hashed lattice values in [-1, 1]. */
static float lattice(uint64_t key, int ix, int iy) {
    uint64_t h = df_mix64(key + (uint64_t)(uint32_t)ix * 0x9E3779B97F4A7C15ULL +
                          (uint64_t)(uint32_t)iy * 0xC2B2AE3D27D4EB4FULL);
    return (float)(h >> 40) * (2.0f / 16777216.0f) - 1.0f;
}
static float vnoise(uint64_t key, float x, float y) {
    float fx = floorf(x), fy = floorf(y);
    int ix = (int)fx, iy = (int)fy;
    float tx = x - fx, ty = y - fy;
    tx = tx * tx * (3 - 2 * tx);
    ty = ty * ty * (3 - 2 * ty);
    float a = lattice(key, ix, iy), b = lattice(key, ix + 1, iy);
    float c = lattice(key, ix, iy + 1), d = lattice(key, ix + 1, iy + 1);
    return mixf(mixf(a, b, tx), mixf(c, d, tx), ty);
}
static float fbm(uint64_t key, float x, float y) {
    return (vnoise(key, x, y) + 0.5f * vnoise(key + 1, 2.03f * x, 2.03f * y) +
            0.25f * vnoise(key + 2, 4.11f * x, 4.11f * y)) *
           (1.0f / 1.75f);
}

#define NTAB 512

typedef struct {
    float feat[DF_SYNTH_NFEAT];
    int tone;
    float rtab[NTAB + 1]; /* border radius / R by angle, max-normalised to fit */
    float cx, cy;         /* centre offset as a fraction of the shorter side */
    float orient, elong;
    float size_frac;      /* R / shorter side (dermoscopic) */
    uint64_t kcol;        /* keys of the colour noise fields */
    float net_angle, net_freq;
    int n_dots;
    float dot_th[40], dot_rr[40], dot_rad[40], dot_kind[40];
} lesion;

static void draw_lesion(lesion *L, const df_synth_opts *o, uint64_t seed, int64_t index, int label) {
    uint64_t base = df_rng_subkey(df_rng_key(seed, DF_STREAM_SYNTH), (uint64_t)index);
    df_rng r = {df_rng_subkey(base, 0), 0};
    const float *p = profile(o->n_classes, label);
    for (int f = 0; f < DF_SYNTH_NFEAT; f++) {
        float m = 0;
        for (int k = 0; k < o->n_classes; k++) m += profile(o->n_classes, k)[f];
        m /= (float)o->n_classes;
        L->feat[f] = clamp01(m + o->signal * (p[f] - m) + 0.12f * df_rng_normal(&r));
    }
    float u = df_rng_uniform(&r), acc = 0;
    L->tone = 6;
    for (int t = 0; t < 6; t++) {
        acc += skin_prob[t];
        if (u < acc) {
            L->tone = t + 1;
            break;
        }
    }
    if (o->skin_tone) L->tone = o->skin_tone;
    float irreg = L->feat[F_IRREG], asym = L->feat[F_ASYM];
    float a1 = 0.25f * asym * unif(&r, 0.6f, 1.0f), ph1 = unif(&r, 0, 6.2831853f);
    float ak[9], phk[9];
    for (int k = 3; k <= 8; k++) {
        ak[k] = (0.02f + 0.09f * irreg * unif(&r, 0.5f, 1.5f)) / (1.0f + 0.15f * (k - 3));
        phk[k] = unif(&r, 0, 6.2831853f);
    }
    float rmax = 0;
    for (int i = 0; i <= NTAB; i++) {
        float th = 6.2831853f * i / NTAB;
        float v = 1 + a1 * cosf(th - ph1);
        for (int k = 3; k <= 8; k++) v += ak[k] * cosf(k * th + phk[k]);
        if (v < 0.3f) v = 0.3f;
        L->rtab[i] = v;
        if (v > rmax) rmax = v;
    }
    L->orient = unif(&r, 0, 3.1415927f);
    L->elong = 1 + 0.45f * asym * unif(&r, 0.3f, 1.0f);
    L->cx = unif(&r, -0.06f, 0.06f);
    L->cy = unif(&r, -0.06f, 0.06f);
    float R = 0.12f + 0.16f * L->feat[F_SIZE];
    /* The farthest border point must stay inside 0.42 of the shorter side from the image centre. */
    float reach = R * rmax * L->elong + sqrtf(L->cx * L->cx + L->cy * L->cy);
    if (reach > 0.42f) R *= (0.42f - sqrtf(L->cx * L->cx + L->cy * L->cy)) / (R * rmax * L->elong);
    L->size_frac = R;
    L->kcol = df_rng_subkey(base, 7) * 16;
    L->net_angle = unif(&r, 0, 3.1415927f);
    L->net_freq = unif(&r, 7.0f, 10.0f);
    L->n_dots = (int)(2 + L->feat[F_DOTS] * 36);
    for (int d = 0; d < L->n_dots; d++) {
        L->dot_th[d] = unif(&r, 0, 6.2831853f);
        L->dot_rr[d] = 0.85f * sqrtf(df_rng_uniform(&r));
        L->dot_rad[d] = unif(&r, 0.025f, 0.07f);
        L->dot_kind[d] = df_rng_uniform(&r);
    }
}

static float border_at(const lesion *L, float th) {
    float t = th * (NTAB / 6.2831853f);
    if (t < 0) t += NTAB;
    int i = (int)t;
    if (i >= NTAB) i = NTAB - 1;
    float f = t - i;
    return L->rtab[i] * (1 - f) + L->rtab[i + 1] * f;
}

/* Lesion colour at normalised position (lx, ly) (units of R), radial fraction rr = rho / border. */
static void lesion_colour(const lesion *L, float lx, float ly, float rr, float structure, float out[3]) {
    const float *f = L->feat;
    float dark = f[F_DARK], cols = f[F_COLOURS];
    float c[3];
    for (int k = 0; k < 3; k++) {
        static const float tan_[3] = {160, 106, 70}, brown[3] = {86, 52, 36};
        c[k] = mixf(tan_[k], brown[k], dark) * (1.0f - 0.18f * (1 - rr) * (1 - cols));
    }
    uint64_t kc = L->kcol;
    float n1 = fbm(kc, 1.3f * lx + 11, 1.3f * ly), n2 = fbm(kc + 8, 1.6f * lx, 1.6f * ly + 5);
    float wd = smooth(0.40f - 0.45f * cols, 0.60f - 0.45f * cols, n1) * clamp01(1.6f * cols);
    float wb = smooth(0.55f - 0.45f * cols, 0.75f - 0.45f * cols, n2) * clamp01(1.6f * cols - 0.3f);
    float wt = smooth(0.45f - 0.4f * cols, 0.65f - 0.4f * cols, -n1) * cols;
    static const float black[3] = {42, 28, 24}, bluegrey[3] = {100, 106, 128}, light[3] = {192, 146, 106};
    for (int k = 0; k < 3; k++) {
        c[k] = mixf(c[k], light[k], 0.8f * wt);
        c[k] = mixf(c[k], black[k], 0.85f * wd);
        c[k] = mixf(c[k], bluegrey[k], 0.75f * wb);
    }
    /* Pigment network: dark lines on a warped grid, fading at the border. */
    if (f[F_NETWORK] > 0 && structure > 0) {
        float ca = cosf(L->net_angle), sa = sinf(L->net_angle);
        float warp = 0.25f + 0.6f * f[F_IRREG];
        float nu = (ca * lx + sa * ly) * L->net_freq + warp * vnoise(kc + 3, 2 * lx, 2 * ly);
        float nv = (-sa * lx + ca * ly) * L->net_freq + warp * vnoise(kc + 4, 2 * lx + 7, 2 * ly);
        float g = fminf(fabsf(sinf(3.1415927f * nu)), fabsf(sinf(3.1415927f * nv)));
        float line = 1 - smooth(0.08f, 0.3f, g);
        float s = 0.35f * f[F_NETWORK] * line * (1 - smooth(0.85f, 1.0f, rr)) * structure;
        for (int k = 0; k < 3; k++) c[k] *= 1 - s;
    }
    /* Blue-white veil: a hazy blob, preferring the centre. */
    if (f[F_VEIL] > 0) {
        float n3 = fbm(kc + 12, 1.1f * lx, 1.1f * ly) + 0.4f * (1 - rr);
        float wv = f[F_VEIL] * smooth(0.65f - 0.5f * f[F_VEIL], 0.85f - 0.5f * f[F_VEIL], n3);
        static const float veil[3] = {150, 162, 192};
        for (int k = 0; k < 3; k++) c[k] = mixf(c[k], veil[k], 0.75f * wv);
    }
    /* Red: an overall pink tint plus thin vessels along the zero set of a noise field. */
    if (f[F_RED] > 0) {
        static const float pink[3] = {206, 104, 110}, vessel[3] = {165, 30, 42};
        float n4 = vnoise(kc + 20, 2.5f * lx, 2.5f * ly);
        float wv = (1 - smooth(0.0f, 0.07f, fabsf(n4))) * f[F_RED] * (0.4f + 0.6f * structure);
        for (int k = 0; k < 3; k++) {
            c[k] = mixf(c[k], pink[k], 0.6f * f[F_RED]);
            c[k] = mixf(c[k], vessel[k], 0.85f * wv);
        }
    }
    /* Keratin scale: white-yellow flakes. */
    if (f[F_SCALE] > 0) {
        float n5 = fbm(kc + 24, 2.2f * lx, 2.2f * ly);
        float ws = f[F_SCALE] * smooth(0.5f - 0.5f * f[F_SCALE], 0.7f - 0.5f * f[F_SCALE], n5);
        static const float keratin[3] = {232, 222, 196};
        for (int k = 0; k < 3; k++) c[k] = mixf(c[k], keratin[k], 0.8f * ws);
    }
    memcpy(out, c, sizeof c);
}

/* Adds coverage cov (0..1) of a disc of radius rad at (x, y) into buf (max-combined). */
static void stamp_disc(float *buf, int w, int h, float x, float y, float rad) {
    int x0 = (int)floorf(x - rad - 1), x1 = (int)ceilf(x + rad + 1);
    int y0 = (int)floorf(y - rad - 1), y1 = (int)ceilf(y + rad + 1);
    if (x0 < 0) x0 = 0;
    if (y0 < 0) y0 = 0;
    if (x1 > w - 1) x1 = w - 1;
    if (y1 > h - 1) y1 = h - 1;
    for (int py = y0; py <= y1; py++)
        for (int px = x0; px <= x1; px++) {
            float d = hypotf(px + 0.5f - x, py + 0.5f - y);
            float c = clamp01(rad + 0.5f - d);
            float *b = buf + (size_t)py * w + px;
            if (c > *b) *b = c;
        }
}

void df_synth_draw(const df_synth_opts *o, uint64_t seed, int64_t index, int label, df_image *rgb,
                   unsigned char *mask, df_synth_info *info) {
    DF_ASSERT(label >= 0 && label < o->n_classes && o->n_classes <= DF_SYNTH_MAX_CLASSES);
    lesion L;
    draw_lesion(&L, o, seed, index, label);
    int w = o->w, h = o->h, clinical = o->view == DF_SYNTH_CLINICAL;
    float S = (float)(w < h ? w : h);
    uint64_t kview = df_rng_subkey(df_rng_subkey(df_rng_key(seed, DF_STREAM_SYNTH), (uint64_t)index), 1 + o->view);
    df_rng vr = {kview, 0};
    float mag = clinical ? 0.5f : 1.0f;
    float R = L.size_frac * S * mag;
    float cx = 0.5f * w + L.cx * S * mag, cy = 0.5f * h + L.cy * S * mag;
    float co = cosf(L.orient), so = sinf(L.orient);
    float structure = clinical ? 0.3f : 1.0f;
    float edge = 0.6f + R * (0.02f + 0.06f * (1 - L.feat[F_IRREG]));
    /* Lighting: dermoscopes light evenly; a clinical photo has a gradient and a warmer cast. */
    float gang = unif(&vr, 0, 6.2831853f), gamp = clinical ? unif(&vr, 0.08f, 0.2f) : 0.03f;
    float warm[3] = {1, 1, 1};
    if (clinical) {
        warm[0] = 1.04f;
        warm[2] = 0.9f;
    }
    float grain = clinical ? 5.0f : 3.0f;
    uint64_t kbg = df_rng_subkey(kview, 1) * 16;
    const float *skin = skin_rgb[L.tone - 1];
    int lesion_px = 0;
    df_image_alloc(rgb, w, h, 3);
    float *img = df_malloc(sizeof(float) * (size_t)w * h * 3);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            float fx = (x + 0.5f) / S, fy = (y + 0.5f) / S;
            float t = fbm(kbg, 3 * fx, 3 * fy), blot = fbm(kbg + 5, 5 * fx, 5 * fy);
            float c[3];
            for (int k = 0; k < 3; k++) c[k] = skin[k] * (1 + 0.07f * t);
            c[0] += 10 * clamp01(blot);
            float dx = x + 0.5f - cx, dy = y + 0.5f - cy;
            float u = (co * dx + so * dy) / L.elong, v = -so * dx + co * dy;
            float rho = hypotf(u, v), rb = R * border_at(&L, atan2f(v, u));
            int in = rho < rb;
            if (mask) mask[(size_t)y * w + x] = in ? 255 : 0;
            lesion_px += in;
            float a = smooth(-edge, edge, rb - rho);
            if (a > 0) {
                float lc[3];
                lesion_colour(&L, dx / R, dy / R, rho / rb, structure, lc);
                float op = 0.75f + 0.2f * L.feat[F_DARK];
                for (int k = 0; k < 3; k++) c[k] = mixf(c[k], lc[k], a * op);
            }
            float light = 1 + gamp * (cosf(gang) * (x / (float)w - 0.5f) + sinf(gang) * (y / (float)h - 0.5f)) * 2;
            float g = grain * (float)(df_rng_at(kview, (uint64_t)y * w + x + 1000) >> 40) * (2.0f / 16777216.0f) - grain;
            for (int k = 0; k < 3; k++) img[((size_t)y * w + x) * 3 + k] = c[k] * light * warm[k] + g;
        }
    }
    /* Dots and globules (faint and few in the clinical view). */
    float *cov = df_calloc((size_t)w * h, sizeof(float));
    for (int d = 0; d < L.n_dots; d++) {
        if (clinical && d % 3) continue;
        float th = L.dot_th[d], rho = L.dot_rr[d] * R * border_at(&L, th);
        float u = rho * cosf(th) * L.elong, v = rho * sinf(th);
        float x = cx + co * u - so * v, y = cy + so * u + co * v;
        float rad = L.dot_rad[d] * R;
        stamp_disc(cov, w, h, x, y, rad);
        float col[3] = {55, 36, 28};
        if (L.dot_kind[d] < L.feat[F_RED]) col[0] = 150, col[1] = 28, col[2] = 48;
        else if (L.dot_kind[d] > 1 - 0.6f * L.feat[F_VEIL]) col[0] = 88, col[1] = 96, col[2] = 124;
        int x0 = (int)(x - rad - 2), x1 = (int)(x + rad + 2), y0 = (int)(y - rad - 2), y1 = (int)(y + rad + 2);
        for (int py = y0 < 0 ? 0 : y0; py <= y1 && py < h; py++)
            for (int px = x0 < 0 ? 0 : x0; px <= x1 && px < w; px++) {
                float a = cov[(size_t)py * w + px] * 0.85f * structure;
                float *q = img + ((size_t)py * w + px) * 3;
                for (int k = 0; k < 3; k++) q[k] = mixf(q[k], col[k], a);
                cov[(size_t)py * w + px] = 0;
            }
    }
    /* Hairs: quadratic Bezier strokes, few or none in most images. */
    int n_hair = o->hair ? (int)(7 * df_rng_uniform(&vr) * df_rng_uniform(&vr)) : 0;
    if (n_hair) {
        for (int i = 0; i < n_hair; i++) {
            float x0 = unif(&vr, 0, (float)w), y0 = unif(&vr, 0, (float)h), ang = unif(&vr, 0, 6.2831853f);
            float len = S * unif(&vr, 0.4f, 1.0f), bend = len * unif(&vr, -0.3f, 0.3f);
            float thick = fmaxf(0.5f, S * unif(&vr, 0.002f, 0.0045f) * (clinical ? 0.5f : 1.0f));
            float x2 = x0 + len * cosf(ang), y2 = y0 + len * sinf(ang);
            float x1 = 0.5f * (x0 + x2) - bend * sinf(ang), y1 = 0.5f * (y0 + y2) + bend * cosf(ang);
            int steps = (int)(2 * len / fmaxf(thick, 0.5f)) + 2;
            for (int s = 0; s <= steps; s++) {
                float t = (float)s / steps, m = 1 - t;
                stamp_disc(cov, w, h, m * m * x0 + 2 * m * t * x1 + t * t * x2, m * m * y0 + 2 * m * t * y1 + t * t * y2,
                           thick);
            }
        }
        float hc = unif(&vr, 30, 65);
        for (size_t i = 0; i < (size_t)w * h; i++)
            for (int k = 0; k < 3; k++) img[3 * i + k] = mixf(img[3 * i + k], hc, 0.9f * cov[i]);
    }
    free(cov);
    /* The dermoscope's dark circular surround. */
    float rv = 0.5f * hypotf((float)w, (float)h) * unif(&vr, 0.80f, 0.92f), vw = 0.04f * S;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            float *q = img + ((size_t)y * w + x) * 3;
            float k = clinical ? 0 : smooth(rv - vw, rv + vw, hypotf(x + 0.5f - 0.5f * w, y + 0.5f - 0.5f * h));
            for (int c = 0; c < 3; c++) {
                float val = mixf(q[c], 8.0f, k) + 0.5f;
                rgb->data[((size_t)y * w + x) * 3 + c] = (unsigned char)(val < 0 ? 0 : (val > 255 ? 255 : val));
            }
        }
    free(img);
    if (info) {
        info->skin_tone = L.tone;
        memcpy(info->feature, L.feat, sizeof L.feat);
        info->lesion_pixels = lesion_px;
    }
}
