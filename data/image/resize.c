/* resize.c: separable area/bilinear resampling (see resize.h for the filter's definition). */
#include "data/image/resize.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
    int *first;   /* [n] first source index */
    int *count;   /* [n] taps */
    float *w;     /* [n * max_taps] weights, summing to 1 per output */
    int max_taps;
} taps;

static void taps_free(taps *t) {
    free(t->first);
    free(t->count);
    free(t->w);
}

/* Weights of output samples 0..n-1 covering [a, b) of a source axis of length len. */
static void taps_build(taps *t, int len, double a, double b, int n) {
    double s = (b - a) / n;
    t->max_taps = s >= 1.0 ? (int)ceil(s) + 2 : 2;
    t->first = df_malloc(sizeof(int) * n);
    t->count = df_malloc(sizeof(int) * n);
    t->w = df_calloc((size_t)n * t->max_taps, sizeof(float));
    for (int i = 0; i < n; i++) {
        float *w = t->w + (size_t)i * t->max_taps;
        if (s >= 1.0) {
            double lo = a + i * s, hi = lo + s;
            int j0 = (int)floor(lo), j1 = (int)ceil(hi) - 1;
            if (j0 < 0) j0 = 0;
            if (j1 > len - 1) j1 = len - 1;
            if (j1 < j0) j1 = j0;
            double sum = 0;
            int k = 0;
            for (int j = j0; j <= j1 && k < t->max_taps; j++, k++) {
                double ov = fmin(hi, j + 1.0) - fmax(lo, (double)j);
                w[k] = ov > 0 ? (float)ov : 0.0f;
                sum += w[k];
            }
            t->first[i] = j0;
            t->count[i] = k;
            for (int q = 0; q < k; q++) w[q] = sum > 0 ? (float)(w[q] / sum) : 1.0f / k;
        } else {
            double c = a + (i + 0.5) * s - 0.5;
            int j0 = (int)floor(c);
            double f = c - j0;
            int ja = j0 < 0 ? 0 : (j0 > len - 1 ? len - 1 : j0);
            int jb = j0 + 1 < 0 ? 0 : (j0 + 1 > len - 1 ? len - 1 : j0 + 1);
            if (ja == jb) {
                t->first[i] = ja;
                t->count[i] = 1;
                w[0] = 1.0f;
            } else {
                t->first[i] = ja;
                t->count[i] = 2;
                w[0] = (float)(1.0 - f);
                w[1] = (float)f;
            }
        }
    }
}

void df_resize_region_f32(const unsigned char *src, int sw, int sh, int c, float x0, float y0, float x1, float y1,
                          float *dst, int dw, int dh) {
    DF_ASSERT(sw > 0 && sh > 0 && dw > 0 && dh > 0 && x1 > x0 && y1 > y0);
    taps tx, ty;
    taps_build(&tx, sw, x0, x1, dw);
    taps_build(&ty, sh, y0, y1, dh);
    /* Source rows that any output row reads. */
    int r0 = sh, r1 = -1;
    for (int i = 0; i < dh; i++) {
        if (ty.first[i] < r0) r0 = ty.first[i];
        if (ty.first[i] + ty.count[i] - 1 > r1) r1 = ty.first[i] + ty.count[i] - 1;
    }
    int nrows = r1 - r0 + 1;
    float *tmp = df_malloc(sizeof(float) * (size_t)nrows * dw * c); /* (nrows, dw, c) */
    for (int r = 0; r < nrows; r++) {
        const unsigned char *row = src + (size_t)(r0 + r) * sw * c;
        float *out = tmp + (size_t)r * dw * c;
        for (int i = 0; i < dw; i++) {
            const float *w = tx.w + (size_t)i * tx.max_taps;
            const unsigned char *p = row + (size_t)tx.first[i] * c;
            for (int ch = 0; ch < c; ch++) {
                float acc = 0;
                for (int k = 0; k < tx.count[i]; k++) acc += w[k] * p[k * c + ch];
                out[i * c + ch] = acc;
            }
        }
    }
    for (int i = 0; i < dh; i++) {
        const float *w = ty.w + (size_t)i * ty.max_taps;
        float *out = dst + (size_t)i * dw * c;
        for (int q = 0; q < dw * c; q++) out[q] = 0;
        for (int k = 0; k < ty.count[i]; k++) {
            const float *in = tmp + (size_t)(ty.first[i] + k - r0) * dw * c;
            float wk = w[k];
            for (int q = 0; q < dw * c; q++) out[q] += wk * in[q];
        }
    }
    free(tmp);
    taps_free(&tx);
    taps_free(&ty);
}

static void region_to_bytes(const df_image *src, float x0, float y0, float x1, float y1, int dw, int dh,
                            df_image *dst) {
    df_image_alloc(dst, dw, dh, src->c);
    size_t n = (size_t)dw * dh * src->c;
    float *f = df_malloc(sizeof(float) * n);
    df_resize_region_f32(src->data, src->w, src->h, src->c, x0, y0, x1, y1, f, dw, dh);
    for (size_t i = 0; i < n; i++) {
        float v = f[i] + 0.5f;
        dst->data[i] = (unsigned char)(v < 0 ? 0 : (v > 255 ? 255 : v));
    }
    free(f);
}

void df_resize(const df_image *src, int dw, int dh, df_image *dst) {
    region_to_bytes(src, 0, 0, (float)src->w, (float)src->h, dw, dh, dst);
}

void df_resize_short_center_crop(const df_image *src, int size, df_image *dst) {
    float side = (float)(src->w < src->h ? src->w : src->h);
    float x0 = (src->w - side) * 0.5f, y0 = (src->h - side) * 0.5f;
    region_to_bytes(src, x0, y0, x0 + side, y0 + side, size, size, dst);
}
