/* test_cache.c: the image cache is built with the expected pixels, reused on the next open, rebuilt when a
 * source changes (new mtime or content) or the size changes, and a bad source fails the build cleanly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include "check.h"
#include "data/image/cache.h"
#include "data/synth/synth.h"

#define N 6

int main(void) {
    char dir[64] = "/tmp/df_test_cache_XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char *paths[N], cache[128];
    df_error err;
    df_synth_opts o;
    df_synth_defaults(&o, 60, 45, 2);
    for (int i = 0; i < N; i++) {
        paths[i] = malloc(128);
        snprintf(paths[i], 128, "%s/img%d.%s", dir, i, i % 2 ? "png" : "jpg");
        df_image img;
        df_synth_draw(&o, 1, i, i % 2, &img, NULL, NULL);
        CHECK((i % 2 ? df_image_save_png(paths[i], &img, &err) : df_image_save_jpeg(paths[i], &img, 90, &err)) == 0);
        df_image_free(&img);
    }
    snprintf(cache, sizeof cache, "%s/c.bin", dir);
    /* what a build killed before its rename leaves (no process has that pid) goes before the next build */
    char leftover[160];
    snprintf(leftover, sizeof leftover, "%s.tmp.999999999", cache);
    FILE *lf = fopen(leftover, "w");
    fputs("half a cache", lf);
    fclose(lf);
    df_cache *c;
    int rebuilt = -1;
    CHECK(df_cache_open(cache, paths, N, 32, 3, &c, &rebuilt, &err) == 0);
    CHECK(rebuilt == 1 && df_cache_count(c) == N && df_cache_size(c) == 32);
    CHECK_MSG(access(leftover, F_OK) != 0, "%s should be removed", leftover);
    for (int i = 0; i < N; i++) {
        df_image ref;
        CHECK(df_base_image_load(paths[i], 32, 3, &ref, &err) == 0);
        CHECK_MSG(memcmp(ref.data, df_cache_image(c, i), 32 * 32 * 3) == 0, "cached image %d differs", i);
        df_image_free(&ref);
    }
    df_cache_close(c);

    CHECK(df_cache_open(cache, paths, N, 32, 3, &c, &rebuilt, &err) == 0);
    CHECK_MSG(rebuilt == 0, "unchanged sources: the cache should be reused");
    df_cache_close(c);

    /* A new mtime on one source. */
    struct timespec ts[2] = {{.tv_sec = 1000000000, .tv_nsec = 0}, {.tv_sec = 1000000000, .tv_nsec = 0}};
    CHECK(utimensat(AT_FDCWD, paths[3], ts, 0) == 0);
    CHECK(df_cache_open(cache, paths, N, 32, 3, &c, &rebuilt, &err) == 0);
    CHECK_MSG(rebuilt == 1, "a touched source should rebuild the cache");
    df_cache_close(c);

    /* New content (same name): the new pixels are served. */
    df_image img;
    df_synth_draw(&o, 99, 0, 1, &img, NULL, NULL);
    CHECK(df_image_save_png(paths[1], &img, &err) == 0);
    df_image_free(&img);
    ts[0].tv_sec = ts[1].tv_sec = 1100000000;
    CHECK(utimensat(AT_FDCWD, paths[1], ts, 0) == 0);
    CHECK(df_cache_open(cache, paths, N, 32, 3, &c, &rebuilt, &err) == 0);
    CHECK(rebuilt == 1);
    CHECK(df_base_image_load(paths[1], 32, 3, &img, &err) == 0);
    CHECK(memcmp(img.data, df_cache_image(c, 1), 32 * 32 * 3) == 0);
    df_image_free(&img);
    df_cache_close(c);

    /* Another size rebuilds; then reopened at that size it is reused. */
    CHECK(df_cache_open(cache, paths, N, 24, 3, &c, &rebuilt, &err) == 0 && rebuilt == 1 && df_cache_size(c) == 24);
    df_cache_close(c);
    CHECK(df_cache_open(cache, paths, N, 24, 3, &c, &rebuilt, &err) == 0 && rebuilt == 0);
    df_cache_close(c);

    /* A corrupt source: the error names it, no cache or temporary file is left behind. */
    FILE *f = fopen(paths[4], "wb");
    fputs("not an image", f);
    fclose(f);
    c = NULL;
    CHECK(df_cache_open(cache, paths, N, 24, 3, &c, &rebuilt, &err) == -1 && c == NULL);
    CHECK_MSG(strstr(err.msg, paths[4]) != NULL, "message: %s", err.msg);
    struct stat st;
    CHECK(stat(cache, &st) == 0); /* the old cache is still the last good one */
    char cmd[256];
    snprintf(cmd, sizeof cmd, "ls %s | grep -c tmp > /dev/null", dir);
    CHECK(system(cmd) != 0);
    /* A missing source is an error too. */
    remove(paths[5]);
    CHECK(df_cache_open(cache, paths, N, 24, 3, &c, &rebuilt, &err) == -1 && strstr(err.msg, paths[5]));

    for (int i = 0; i < N; i++) free(paths[i]);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return check_report();
}
