/* pixel_stats.c: per-channel pixel statistics (see pixel_stats.h). */
#include "data/pixel_stats.h"

#include <math.h>
#include <string.h>

void df_pixel_stats_init(df_pixel_stats *s, int channels) {
    DF_ASSERT(channels == 1 || channels == 3);
    memset(s, 0, sizeof *s);
    s->channels = channels;
}

void df_pixel_stats_add(df_pixel_stats *s, const float *px, size_t n_pixels) {
    int C = s->channels;
    for (size_t i = 0; i < n_pixels; i++)
        for (int c = 0; c < C; c++) {
            double v = px[i * C + c];
            s->sum[c] += v;
            s->sumsq[c] += v * v;
        }
    s->n += (long long)n_pixels;
}

int df_pixel_stats_result(const df_pixel_stats *s, float *mean, float *std, df_error *err) {
    if (s->n <= 0) return df_fail(err, "pixel statistics: no pixels");
    for (int c = 0; c < s->channels; c++) {
        double m = s->sum[c] / (double)s->n, var = s->sumsq[c] / (double)s->n - m * m;
        double sd = var > 0 ? sqrt(var) : 0;
        /* below this the channel is constant but for rounding (sumsq - n m^2 cancels to ~1e-16) */
        if (!(sd > 1e-6))
            return df_fail(err, "pixel statistics: channel %d is constant (every pixel %g of 255), so its standard "
                           "deviation is 0", c, m * 255.0);
        mean[c] = (float)m;
        std[c] = (float)sd;
    }
    return 0;
}

int df_loader_pixel_stats(df_loader *l, const df_loader_opts *o, int n_views, float *mean, float *std,
                          df_error *err) {
    int C = o->aug.channels;
    for (int c = 0; c < C; c++)
        DF_ASSERT(o->load_images && !o->shuffle && !o->aug.train && o->aug.mean[c] == 0 && o->aug.std[c] == 1);
    df_pixel_stats st;
    df_pixel_stats_init(&st, C);
    size_t plane = (size_t)o->aug.out_w * o->aug.out_h;
    df_loader_start_epoch(l, 0, 0);
    const df_batch *b;
    int rc;
    while ((rc = df_loader_next(l, &b, err)) == 1)
        for (int v = 0; v < n_views; v++) df_pixel_stats_add(&st, b->images[v], plane * (size_t)b->n);
    if (rc < 0) return -1;
    return df_pixel_stats_result(&st, mean, std, err);
}
