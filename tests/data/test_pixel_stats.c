/* test_pixel_stats.c: per-channel pixel statistics on sets small enough to compute by hand; a constant
 * channel and an empty set refused; through a loader, the training images after the evaluation transform,
 * the same bits for 1 and 3 workers and from the cache. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "data/pixel_stats.h"

static void by_hand(void) {
    df_pixel_stats s;
    df_error err;
    float mean[3], std[3];
    /* one channel: 0, 0.5, 1, 0.5 -> mean 0.5, variance (0.25 + 0 + 0.25 + 0) / 4 = 0.125 */
    const float one[4] = {0, 0.5f, 1, 0.5f};
    df_pixel_stats_init(&s, 1);
    df_pixel_stats_add(&s, one, 2);
    df_pixel_stats_add(&s, one + 2, 2);
    CHECK(df_pixel_stats_result(&s, mean, std, &err) == 0);
    CHECK_CLOSE(mean[0], 0.5, 1e-7, 0);
    CHECK_CLOSE(std[0], sqrt(0.125), 1e-7, 0);
    /* three channels, two pixels: (0, 0.2, 1) and (1, 0.4, 0) -> means 0.5, 0.3, 0.5; stds 0.5, 0.1, 0.5 */
    const float three[6] = {0, 0.2f, 1, 1, 0.4f, 0};
    df_pixel_stats_init(&s, 3);
    df_pixel_stats_add(&s, three, 2);
    CHECK(df_pixel_stats_result(&s, mean, std, &err) == 0);
    CHECK_CLOSE(mean[0], 0.5, 1e-7, 0);
    CHECK_CLOSE(mean[1], 0.3, 1e-7, 0);
    CHECK_CLOSE(std[1], 0.1, 1e-6, 0);
    CHECK_CLOSE(std[2], 0.5, 1e-7, 0);
    /* a constant channel, no pixels */
    const float flat[4] = {0.2f, 0.7f, 0.2f, 0.1f};
    df_pixel_stats_init(&s, 1);
    df_pixel_stats_add(&s, flat, 1);
    df_pixel_stats_add(&s, flat + 2, 1);
    CHECK(df_pixel_stats_result(&s, mean, std, &err) == -1 && strstr(err.msg, "constant"));
    df_pixel_stats_init(&s, 3);
    CHECK(df_pixel_stats_result(&s, mean, std, &err) == -1 && strstr(err.msg, "no pixels"));
}

#define NS 5
#define SIDE 4

static void through_loader(const char *dir) {
    df_dataset ds;
    memset(&ds, 0, sizeof ds);
    ds.n_samples = NS;
    ds.n_classes = 2;
    ds.n_views = 1;
    ds.image_paths = calloc(NS, sizeof(char *));
    ds.labels = calloc(NS, sizeof(int));
    df_error err;
    double sum = 0, sumsq = 0;
    int split[3] = {4, 0, 2}; /* the training split: its own order, some samples left out */
    for (int s = 0; s < NS; s++) {
        df_image img;
        df_image_alloc(&img, SIDE, SIDE, 1);
        for (int i = 0; i < SIDE * SIDE; i++) img.data[i] = (unsigned char)(s * 40 + i * 7);
        ds.image_paths[s] = malloc(128);
        snprintf(ds.image_paths[s], 128, "%s/g%d.png", dir, s);
        CHECK(df_image_save_png(ds.image_paths[s], &img, &err) == 0);
        if (s != 1 && s != 3)
            for (int i = 0; i < SIDE * SIDE; i++) sum += img.data[i] / 255.0, sumsq += pow(img.data[i] / 255.0, 2);
        df_image_free(&img);
    }
    double n = 3 * SIDE * SIDE, want_mean = sum / n, want_std = sqrt(sumsq / n - want_mean * want_mean);
    float got[3][2];
    for (int k = 0; k < 3; k++) {
        df_loader_opts o;
        df_loader_defaults(&o, SIDE, SIDE);
        o.batch_size = 2;
        o.shuffle = 0;
        o.n_workers = k == 1 ? 3 : 1;
        o.use_cache = k == 2;
        o.cache_dir = dir;
        o.aug.channels = 1;
        o.aug.mean[0] = 0, o.aug.std[0] = 1;
        df_loader *l;
        CHECK(df_loader_create(&ds, split, 3, NULL, 0, &o, &l, &err) == 0);
        CHECK(df_loader_pixel_stats(l, &o, 1, &got[k][0], &got[k][1], &err) == 0);
        df_loader_free(l);
    }
    CHECK_CLOSE(got[0][0], want_mean, 1e-6, 0);
    CHECK_CLOSE(got[0][1], want_std, 1e-6, 0);
    CHECK_MSG(memcmp(got[0], got[1], sizeof got[0]) == 0 && memcmp(got[0], got[2], sizeof got[0]) == 0,
              "statistics differ with workers or cache");
    for (int s = 0; s < NS; s++) free(ds.image_paths[s]);
    free(ds.image_paths);
    free(ds.labels);
}

int main(void) {
    by_hand();
    char dir[64] = "/tmp/df_test_pixel_stats_XXXXXX";
    if (!mkdtemp(dir)) return 1;
    through_loader(dir);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return check_report();
}
