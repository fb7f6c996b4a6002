/* bench_images.c: images per second of the image input path (decode + resize + augment to 224x224), from
 * JPEGs of 1024x768 and 4000x3000 drawn by the synthetic generator into a temporary folder, per thread and
 * with all threads; with DCT-scaled decoding (ours) against the full-size decode (ref), and from the cache.
 * Beside them, the rate at which a training step of the default VGG-style image model consumes 224x224 images
 * on all threads, to read how many loader threads keep training fed.
 * Prints `BENCH <name> ours=<x> ref=<y> unit=img/s ratio=<x/y>`. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data/image/augment.h"
#include "data/image/cache.h"
#include "data/image/resize.h"
#include "data/synth/synth.h"
#include "train/model/model.h"
#include "train/model/step.h"

#include "bench_util.h"

#define OUT 224


static int write_set(const char *dir, const char *tag, int w, int h, int n, char **paths) {
    df_synth_opts o;
    df_synth_defaults(&o, w, h, 2);
    int bad = 0;
#pragma omp parallel for schedule(dynamic, 1) reduction(+ : bad)
    for (int i = 0; i < n; i++) {
        paths[i] = malloc(256);
        snprintf(paths[i], 256, "%s/%s_%d.jpg", dir, tag, i);
        df_image img;
        df_error err;
        df_synth_draw(&o, 1, i, i % 2, &img, NULL, NULL);
        if (df_image_save_jpeg(paths[i], &img, 90, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            bad++;
        }
        df_image_free(&img);
    }
    return bad ? -1 : 0;
}

/* One sample through the pipeline; full = decode at full size (no DCT scaling). */
static int one(const char *path, int full, const df_augment_opts *ao, uint64_t key, float *out) {
    df_image img, base;
    df_error err;
    if (df_image_load(path, full ? 0 : OUT, full ? 0 : OUT, &img, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    df_resize_short_center_crop(&img, OUT, &base);
    df_augment(&base, NULL, ao, key, out, NULL);
    df_image_free(&img);
    df_image_free(&base);
    return 0;
}

/* Images per second over `reps` passes through paths with `threads` threads. */
static double rate(char **paths, int n, int reps, int threads, int full, const df_cache *cache,
                   const df_augment_opts *ao) {
    int total = n * reps, bad = 0;
    double t0 = bench_now();
#pragma omp parallel num_threads(threads) reduction(+ : bad)
    {
        float *out = malloc(sizeof(float) * OUT * OUT * 3);
#pragma omp for schedule(dynamic, 1)
        for (int k = 0; k < total; k++) {
            uint64_t key = df_augment_key(1, 0, k);
            if (cache) {
                df_image base = {OUT, OUT, 3, (unsigned char *)df_cache_image(cache, k % n)};
                df_augment(&base, NULL, ao, key, out, NULL);
            } else {
                bad += one(paths[k % n], full, ao, key, out) != 0;
            }
        }
        free(out);
    }
    double dt = bench_now() - t0;
    return bad ? 0 : total / dt;
}

static void line(const char *name, double ours, double ref) {
    printf("BENCH %s ours=%.1f ref=%.1f unit=img/s ratio=%.2f\n", name, ours, ref, ref > 0 ? ours / ref : 0);
    fflush(stdout);
}

/* Images per second of training steps (forward, backward, AdamW) of the default image model at OUT x OUT. */
static double training_rate(void) {
    enum { B = 16 };
    df_model_spec s = df_model_spec_default(DF_FUSION_IMAGE, 2, OUT, 0);
    df_error err;
    df_model *m = df_model_build(&s, B, 1, &err);
    df_optim_config oc = df_optim_defaults(DF_OPTIM_ADAMW);
    df_optim *o = m ? df_optim_new(m->g, &oc, &err) : NULL;
    if (!o) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    float *x = df_graph_out(m->g, m->image[0]), *t = df_graph_out(m->g, m->target);
    for (size_t i = 0; i < (size_t)B * OUT * OUT * 3; i++) x[i] = (float)(i % 255) / 255.0f - 0.5f;
    for (int i = 0; i < B; i++) t[i] = (float)(i % 2);
    df_train_step(m->g, m->loss, o, 1e-3f, 0); /* warm-up */
    int steps = 3;
    double t0 = bench_now();
    for (int i = 0; i < steps; i++) df_train_step(m->g, m->loss, o, 1e-3f, 0);
    double r = steps * B / (bench_now() - t0);
    df_optim_free(o);
    df_model_free(m);
    return r;
}

int main(void) {
    char dir[64] = "/tmp/df_bench_images_XXXXXX";
    if (!mkdtemp(dir)) return 1;
    int nt = omp_get_max_threads();
    enum { NS = 16, NL = 4 };
    char *small[NS], *large[NL];
    double t0 = bench_now();
    if (write_set(dir, "s", 1024, 768, NS, small) || write_set(dir, "l", 4000, 3000, NL, large)) return 1;
    printf("# drew %d JPEGs of 1024x768 and %d of 4000x3000 in %.1f s; %d threads\n", NS, NL, bench_now() - t0, nt);
    df_augment_opts ao;
    df_augment_defaults(&ao, OUT, OUT);
    ao.train = 1;

    char name[96];
    double s1 = rate(small, NS, 4, 1, 0, NULL, &ao), s1r = rate(small, NS, 2, 1, 1, NULL, &ao);
    line("decode_aug_1024x768_1thread", s1, s1r);
    double l1 = rate(large, NL, 3, 1, 0, NULL, &ao), l1r = rate(large, NL, 1, 1, 1, NULL, &ao);
    line("decode_aug_4000x3000_1thread", l1, l1r);
    if (nt > 1) {
        double sn = rate(small, NS, 8, nt, 0, NULL, &ao), snr = rate(small, NS, 4, nt, 1, NULL, &ao);
        snprintf(name, sizeof name, "decode_aug_1024x768_%dthreads_per_thread", nt);
        line(name, sn / nt, snr / nt);
        double ln = rate(large, NL, 4, nt, 0, NULL, &ao), lnr = rate(large, NL, 2, nt, 1, NULL, &ao);
        snprintf(name, sizeof name, "decode_aug_4000x3000_%dthreads_per_thread", nt);
        line(name, ln / nt, lnr / nt);
    }
    df_cache *c;
    df_error err;
    char cpath[128];
    snprintf(cpath, sizeof cpath, "%s/cache.bin", dir);
    if (df_cache_open(cpath, small, NS, OUT, 3, &c, NULL, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    double cached = rate(small, NS, 20, 1, 0, c, &ao);
    line("cache_aug_224_vs_full_decode_1024x768_1thread", cached, s1r);
    df_cache_close(c);
    double train = training_rate();
    printf("# a training step of the default 4-stage VGG-style model at %dx%d consumes %.1f img/s (%d threads);\n"
           "# the loader keeps it fed with about %.1f threads decoding 1024x768 JPEGs, %.1f from the cache\n",
           OUT, OUT, train, nt, train / s1, train / cached);

    for (int i = 0; i < NS; i++) free(small[i]);
    for (int i = 0; i < NL; i++) free(large[i]);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return 0;
}
