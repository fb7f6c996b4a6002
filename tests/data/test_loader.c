/* test_loader.c: the batch loader gives bit-identical batches for 1 and 4 workers and with or without the
 * cache, resumes exactly at (epoch, batch), carries labels/metadata/indices of the right samples, reports a
 * corrupt image as an error naming the file and moves on, and shuts down cleanly mid-epoch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "data/loader.h"
#include "data/synth/synth.h"

#define NS 23
#define M 3
#define OUT 16

static char dir[64];

typedef struct {
    int nb, n[16];
    float *img[16], *meta[16], *lab[16];
    int *idx[16];
} run_t;

static void make_dataset(df_dataset *ds, int n_views) {
    memset(ds, 0, sizeof *ds);
    ds->n_samples = NS;
    ds->n_classes = 2;
    ds->n_views = n_views;
    ds->image_paths = calloc((size_t)NS * n_views, sizeof(char *));
    ds->mask_paths = calloc(NS, sizeof(char *));
    ds->labels = calloc(NS, sizeof(int));
    ds->ids = calloc(NS, sizeof(char *));
    ds->source_rows = calloc(NS, sizeof(int));
    ds->source = strdup("hand-made.csv");
    df_synth_opts o;
    df_synth_defaults(&o, 40, 30, 2);
    df_error err;
    for (int s = 0; s < NS; s++) {
        ds->labels[s] = s % 2;
        ds->ids[s] = malloc(16);
        snprintf(ds->ids[s], 16, "S%d", s);
        ds->source_rows[s] = s + 2;
        for (int v = 0; v < n_views; v++) {
            char *p = malloc(160);
            snprintf(p, 160, "%s/v%d_s%d.%s", dir, v, s, s % 3 ? "jpg" : "png");
            o.view = v ? DF_SYNTH_CLINICAL : DF_SYNTH_DERMOSCOPIC;
            df_image img;
            unsigned char mask[40 * 30];
            df_synth_draw(&o, 1, s, s % 2, &img, mask, NULL);
            if (s % 3) df_image_save_jpeg(p, &img, 90, &err);
            else df_image_save_png(p, &img, &err);
            if (v == 0 && s % 4) {
                ds->mask_paths[s] = malloc(160);
                snprintf(ds->mask_paths[s], 160, "%s/m_s%d.png", dir, s);
                df_image_save_gray_png(ds->mask_paths[s], mask, 40, 30, &err);
            }
            ds->image_paths[(size_t)s * n_views + v] = p;
            df_image_free(&img);
        }
    }
}

static void free_dataset(df_dataset *ds) {
    for (int s = 0; s < NS; s++) {
        for (int v = 0; v < ds->n_views; v++) free(ds->image_paths[(size_t)s * ds->n_views + v]);
        free(ds->mask_paths[s]);
        free(ds->ids[s]);
    }
    free(ds->image_paths);
    free(ds->mask_paths);
    free(ds->labels);
    free(ds->ids);
    free(ds->source_rows);
    free(ds->source);
}

static void opts_for(df_loader_opts *o, int workers) {
    df_loader_defaults(o, OUT, OUT);
    o->batch_size = 4;
    o->n_workers = workers;
    o->seed = 77;
    o->aug.train = 1;
    o->base_size = 24;
}

/* Reads the rest of the current epoch into r. */
static void collect(df_loader *l, run_t *r) {
    const df_batch *b;
    df_error err;
    int rc;
    r->nb = 0;
    while ((rc = df_loader_next(l, &b, &err)) == 1) {
        int k = r->nb++, n = b->n;
        r->n[k] = n;
        r->img[k] = calloc((size_t)n * OUT * OUT * 3, sizeof(float));
        if (b->images[0]) memcpy(r->img[k], b->images[0], sizeof(float) * n * OUT * OUT * 3);
        r->meta[k] = calloc((size_t)n * M, sizeof(float));
        if (b->meta) memcpy(r->meta[k], b->meta, sizeof(float) * n * M);
        r->lab[k] = malloc(sizeof(float) * n);
        memcpy(r->lab[k], b->labels, sizeof(float) * n);
        r->idx[k] = malloc(sizeof(int) * n);
        memcpy(r->idx[k], b->indices, sizeof(int) * n);
    }
    CHECK_MSG(rc == 0, "loader error: %s", err.msg);
}

static void free_run(run_t *r) {
    for (int k = 0; k < r->nb; k++) free(r->img[k]), free(r->meta[k]), free(r->lab[k]), free(r->idx[k]);
}

/* Batches a[from..] equal b[0..]. */
static int same_run(const run_t *a, int from, const run_t *b) {
    if (a->nb - from != b->nb) return 0;
    for (int k = 0; k < b->nb; k++) {
        const int i = from + k, n = b->n[k];
        if (a->n[i] != n || memcmp(a->img[i], b->img[k], sizeof(float) * n * OUT * OUT * 3) ||
            memcmp(a->meta[i], b->meta[k], sizeof(float) * n * M) || memcmp(a->lab[i], b->lab[k], sizeof(float) * n) ||
            memcmp(a->idx[i], b->idx[k], sizeof(int) * n))
            return 0;
    }
    return 1;
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/df_test_loader_XXXXXX");
    if (!mkdtemp(dir)) return 1;
    df_dataset ds;
    make_dataset(&ds, 1);
    /* The split leaves out samples 0 and 5. */
    int split[NS], ns = 0;
    for (int s = 0; s < NS; s++)
        if (s != 0 && s != 5) split[ns++] = s;
    float meta[NS * M];
    for (int i = 0; i < NS * M; i++) meta[i] = (float)i * 0.5f;
    df_error err;
    df_loader_opts o;
    df_loader *l1, *l4;

    opts_for(&o, 1);
    CHECK(df_loader_create(&ds, split, ns, meta, M, &o, &l1, &err) == 0);
    CHECK(df_loader_batches_per_epoch(l1) == 6);
    run_t a[2], b[2];
    collect(l1, &a[0]);
    df_loader_start_epoch(l1, 1, 0);
    collect(l1, &a[1]);
    df_loader_free(l1);
    CHECK(a[0].nb == 6 && a[0].n[5] == 1);

    /* Contents: every split sample once per epoch, with its own label and metadata row; orders differ. */
    for (int e = 0; e < 2; e++) {
        int seen[NS] = {0}, bad = 0;
        for (int k = 0; k < a[e].nb; k++)
            for (int j = 0; j < a[e].n[k]; j++) {
                int s = a[e].idx[k][j];
                seen[s]++;
                bad += a[e].lab[k][j] != (float)ds.labels[s] || memcmp(a[e].meta[k] + j * M, meta + s * M, sizeof(float) * M);
            }
        CHECK(bad == 0);
        int ok = 1;
        for (int s = 0; s < NS; s++) ok &= seen[s] == (s != 0 && s != 5);
        CHECK_MSG(ok, "epoch %d is not a permutation of the split", e);
    }
    CHECK(memcmp(a[0].idx[0], a[1].idx[0], sizeof(int) * 4) != 0);

    opts_for(&o, 4);
    CHECK(df_loader_create(&ds, split, ns, meta, M, &o, &l4, &err) == 0);
    collect(l4, &b[0]);
    df_loader_start_epoch(l4, 1, 0);
    collect(l4, &b[1]);
    CHECK_MSG(same_run(&a[0], 0, &b[0]) && same_run(&a[1], 0, &b[1]), "1 and 4 workers differ");
    free_run(&b[0]);
    free_run(&b[1]);

    /* Resume: epoch 1 from batch 2, after a partly read epoch 0. */
    const df_batch *bt;
    df_loader_start_epoch(l4, 0, 0);
    CHECK(df_loader_next(l4, &bt, &err) == 1 && bt->epoch == 0 && bt->batch == 0);
    df_loader_start_epoch(l4, 1, 2);
    collect(l4, &b[0]);
    CHECK_MSG(same_run(&a[1], 2, &b[0]), "restart at epoch 1 batch 2 differs from the straight run");
    free_run(&b[0]);
    /* Past the end: an empty epoch. */
    df_loader_start_epoch(l4, 1, 6);
    CHECK(df_loader_next(l4, &bt, &err) == 0);
    /* Freed with batches in flight. */
    df_loader_start_epoch(l4, 2, 0);
    CHECK(df_loader_next(l4, &bt, &err) == 1);
    df_loader_free(l4);

    /* The cache serves the same pixels. */
    opts_for(&o, 3);
    o.use_cache = 1;
    o.cache_dir = dir;
    CHECK(df_loader_create(&ds, split, ns, meta, M, &o, &l4, &err) == 0);
    df_loader_start_epoch(l4, 1, 0);
    collect(l4, &b[1]);
    CHECK_MSG(same_run(&a[1], 0, &b[1]), "cached batches differ");
    free_run(&b[1]);
    df_loader_free(l4);

    /* drop_last, no shuffle, no images. */
    opts_for(&o, 2);
    o.drop_last = 1;
    o.shuffle = 0;
    o.load_images = 0;
    CHECK(df_loader_create(&ds, split, ns, NULL, 0, &o, &l4, &err) == 0);
    collect(l4, &b[0]);
    CHECK(b[0].nb == 5 && b[0].idx[0][0] == 1 && b[0].idx[4][3] == split[19]);
    free_run(&b[0]);
    df_loader_free(l4);

    /* Two views and masks in evaluation mode. */
    df_dataset ds2;
    make_dataset(&ds2, 2);
    opts_for(&o, 2);
    o.aug.train = 0;
    o.load_masks = 1;
    CHECK(df_loader_create(&ds2, split, ns, NULL, 0, &o, &l4, &err) == 0);
    int got = 0, mask_ok = 1, views_differ = 1;
    while (df_loader_next(l4, &bt, &err) == 1) {
        for (int j = 0; j < bt->n; j++) {
            const float *mk = bt->masks + (size_t)j * OUT * OUT;
            int s = bt->indices[j];
            float lo = 2, hi = -2;
            for (int q = 0; q < OUT * OUT; q++) lo = mk[q] < lo ? mk[q] : lo, hi = mk[q] > hi ? mk[q] : hi;
            mask_ok &= ds2.mask_paths[s] ? (lo >= 0 && hi <= 1 && hi > 0.5f && lo < 0.5f) : (lo == -1 && hi == -1);
            views_differ &= memcmp(bt->images[0] + (size_t)j * OUT * OUT * 3, bt->images[1] + (size_t)j * OUT * OUT * 3,
                                   sizeof(float) * OUT * OUT * 3) != 0;
        }
        got += bt->n;
    }
    CHECK(got == ns && mask_ok && views_differ);
    df_loader_free(l4);
    free_dataset(&ds2);

    /* A corrupt image: its batch fails with the file's name, the others arrive. */
    FILE *f = fopen(ds.image_paths[7], "wb");
    fputs("garbage", f);
    fclose(f);
    opts_for(&o, 4);
    CHECK(df_loader_create(&ds, split, ns, meta, M, &o, &l4, &err) == 0);
    int ok = 0, failed = 0, rc;
    while ((rc = df_loader_next(l4, &bt, &err)) != 0) {
        if (rc == 1) ok++;
        else {
            failed++;
            CHECK_MSG(strstr(err.msg, ds.image_paths[7]) && strstr(err.msg, "hand-made.csv:9"), "message: %s", err.msg);
        }
    }
    CHECK(ok == 5 && failed == 1);
    df_loader_free(l4);

    /* Bad options. */
    opts_for(&o, 0);
    CHECK(df_loader_create(&ds, split, ns, meta, M, &o, &l4, &err) == -1 && strstr(err.msg, "n_workers"));
    opts_for(&o, 1);
    split[3] = NS;
    CHECK(df_loader_create(&ds, split, ns, meta, M, &o, &l4, &err) == -1 && strstr(err.msg, "split"));

    free_run(&a[0]);
    free_run(&a[1]);
    free_dataset(&ds);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return check_report();
}
