/* loader.c: the prefetching batch loader (see loader.h for the contract).
 *
 * Batches are handed to workers in order (next_produce); batch b goes to ring slot b % prefetch and may only
 * be started once that slot is empty, i.e. batch b - prefetch has been released by the consumer. One mutex
 * guards the positions and slot states; the pixels are written outside it. Repositioning waits until no
 * worker is busy, so nothing stale can land in a slot. */
#include "data/loader.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "data/image/cache.h"
#include "data/image/resize.h"

enum { SLOT_EMPTY, SLOT_FILLING, SLOT_READY, SLOT_HELD };

typedef struct {
    df_batch b;
    int state, batch_no, failed;
    df_error err;
} slot;

struct df_loader {
    const df_dataset *ds;
    int *split, n_split;
    const float *meta;
    int M;
    df_loader_opts o;
    int base, nb;
    df_cache *cache[DF_MAX_VIEWS];
    int *order;
    int end; /* the epoch (or range) ends before this batch */
    int epoch, next_produce, next_consume, held, busy, quit, started;
    unsigned gen;
    slot *slots;
    int P;
    pthread_t *threads;
    int n_threads;
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_ready, cv_idle;
};

void df_loader_defaults(df_loader_opts *o, int out_w, int out_h) {
    memset(o, 0, sizeof *o);
    o->batch_size = 32;
    o->n_workers = 4;
    o->shuffle = 1;
    o->load_images = 1;
    df_augment_defaults(&o->aug, out_w, out_h);
}

int df_loader_batches_per_epoch(const df_loader *l) { return l->nb; }

/* Loads the base image of view v of sample s, into *img (owned if *owned). */
static int base_image(df_loader *l, int s, int v, df_image *img, int *owned, df_error *err) {
    if (l->cache[v]) {
        img->w = img->h = l->base;
        img->c = l->o.aug.channels;
        img->data = (unsigned char *)df_cache_image(l->cache[v], s);
        *owned = 0;
        return 0;
    }
    *owned = 1;
    return df_base_image_load(l->ds->image_paths[(size_t)s * l->ds->n_views + v], l->base, l->o.aug.channels, img,
                              err);
}

static int base_mask(df_loader *l, const char *path, df_image *out, df_error *err) {
    df_image m;
    if (df_image_load_gray(path, &m, err)) return -1;
    df_resize_short_center_crop(&m, l->base, out);
    df_image_free(&m);
    return 0;
}

static int fill(df_loader *l, slot *sl, int b, df_error *err) {
    const df_dataset *ds = l->ds;
    int bs = l->o.batch_size, start = b * bs, parts = l->o.parts > 1 ? l->o.parts : 1;
    int total = l->n_split - start < bs ? l->n_split - start : bs;
    int lo = (int)((long)total * l->o.part / parts), n = (int)((long)total * (l->o.part + 1) / parts) - lo;
    start += lo;
    df_batch *B = &sl->b;
    B->n = n;
    B->offset = lo;
    B->total = total;
    B->epoch = l->epoch;
    B->batch = b;
    int ow = l->o.aug.out_w, oh = l->o.aug.out_h, C = l->o.aug.channels;
    size_t plane = (size_t)ow * oh;
    for (int j = 0; j < n; j++) {
        int s = l->order[start + j];
        B->indices[j] = s;
        B->labels[j] = (float)ds->labels[s];
        if (l->meta) memcpy(B->meta + (size_t)j * l->M, l->meta + (size_t)s * l->M, sizeof(float) * l->M);
        if (!l->o.load_images) continue;
        uint64_t key = df_augment_key(l->o.seed, l->epoch, s);
        for (int v = 0; v < ds->n_views; v++) {
            df_image img, mask = {0};
            int owned, with_mask = v == 0 && l->o.load_masks;
            const char *mpath = with_mask ? ds->mask_paths[s] : NULL;
            if (base_image(l, s, v, &img, &owned, err)) goto fail;
            if (mpath && base_mask(l, mpath, &mask, err)) {
                if (owned) df_image_free(&img);
                goto fail;
            }
            float *mout = with_mask ? B->masks + plane * j : NULL;
            df_augment(&img, mpath ? &mask : NULL, &l->o.aug, df_rng_subkey(key, (uint64_t)v),
                       B->images[v] + plane * C * j, mpath ? mout : NULL);
            if (with_mask && !mpath)
                for (size_t q = 0; q < plane; q++) mout[q] = -1.0f; /* no mask known for this sample */
            if (owned) df_image_free(&img);
            df_image_free(&mask);
            continue;
        fail:
            if (ds->source && ds->source_rows)
                df_fail_prefix(err, "%s:%d (sample %s)", ds->source, ds->source_rows[s], ds->ids ? ds->ids[s] : "?");
            return -1;
        }
    }
    return 0;
}

static void *worker(void *arg) {
    df_loader *l = arg;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (!l->quit && !(l->started && l->next_produce < l->end && l->slots[l->next_produce % l->P].state == SLOT_EMPTY))
            pthread_cond_wait(&l->cv_work, &l->mu);
        if (l->quit) break;
        int b = l->next_produce++;
        slot *sl = &l->slots[b % l->P];
        sl->state = SLOT_FILLING;
        sl->batch_no = b;
        unsigned gen = l->gen;
        l->busy++;
        pthread_mutex_unlock(&l->mu);
        df_error e;
        int failed = fill(l, sl, b, &e) != 0;
        pthread_mutex_lock(&l->mu);
        l->busy--;
        if (gen == l->gen) {
            sl->failed = failed;
            if (failed) sl->err = e;
            sl->state = SLOT_READY;
            pthread_cond_broadcast(&l->cv_ready);
        } else {
            sl->state = SLOT_EMPTY;
        }
        if (l->busy == 0) pthread_cond_broadcast(&l->cv_idle);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

static void start_locked(df_loader *l, int epoch, int first_batch, int end_batch) {
    l->gen++;
    l->next_produce = l->end = l->nb; /* hand out nothing new while we wait */
    while (l->busy > 0) pthread_cond_wait(&l->cv_idle, &l->mu);
    for (int i = 0; i < l->P; i++) l->slots[i].state = SLOT_EMPTY;
    l->held = -1;
    l->epoch = epoch;
    memcpy(l->order, l->split, sizeof(int) * l->n_split);
    if (l->o.shuffle) {
        df_rng r = {df_rng_subkey(df_rng_key(l->o.seed, DF_STREAM_SHUFFLE), (uint64_t)epoch), 0};
        df_rng_shuffle(&r, l->order, l->n_split);
    }
    if (first_batch < 0) first_batch = 0;
    if (first_batch > l->nb) first_batch = l->nb;
    l->end = end_batch < first_batch ? first_batch : end_batch > l->nb ? l->nb : end_batch;
    l->next_produce = l->next_consume = first_batch;
    l->started = 1;
    pthread_cond_broadcast(&l->cv_work);
}

void df_loader_start_epoch(df_loader *l, int epoch, int first_batch) {
    df_loader_start_range(l, epoch, first_batch, l->nb);
}

void df_loader_start_range(df_loader *l, int epoch, int first_batch, int end_batch) {
    pthread_mutex_lock(&l->mu);
    start_locked(l, epoch, first_batch, end_batch);
    pthread_mutex_unlock(&l->mu);
}

int df_loader_next(df_loader *l, const df_batch **batch, df_error *err) {
    *batch = NULL;
    pthread_mutex_lock(&l->mu);
    if (!l->started) start_locked(l, 0, 0, l->nb);
    if (l->held >= 0) {
        l->slots[l->held].state = SLOT_EMPTY;
        l->held = -1;
        pthread_cond_broadcast(&l->cv_work);
    }
    if (l->next_consume >= l->end) {
        pthread_mutex_unlock(&l->mu);
        return 0;
    }
    int b = l->next_consume;
    slot *sl = &l->slots[b % l->P];
    while (!(sl->state == SLOT_READY && sl->batch_no == b)) pthread_cond_wait(&l->cv_ready, &l->mu);
    sl->state = SLOT_HELD;
    l->held = b % l->P;
    l->next_consume++;
    pthread_mutex_unlock(&l->mu);
    if (sl->failed) {
        if (err) *err = sl->err;
        return -1;
    }
    *batch = &sl->b;
    return 1;
}

/* Cache file name: the path list's hash keeps caches of different datasets apart in one folder, the "-gray"
 * suffix a gray cache apart from the RGB one of the same images (their headers tell them apart too, but two
 * runs would then rebuild one file in turn). */
static char *cache_file(const df_loader *l, int v) {
    uint64_t h = 0x5eed;
    const df_dataset *ds = l->ds;
    for (int s = 0; s < ds->n_samples; s++) {
        const char *p = ds->image_paths[(size_t)s * ds->n_views + v];
        for (; p && *p; p++) h = df_mix64(h ^ (unsigned char)*p);
        h = df_mix64(h + 1);
    }
    size_t len = strlen(l->o.cache_dir) + 64;
    char *path = df_malloc(len);
    snprintf(path, len, "%s/images-%016llx-v%d-%d%s.dfcache", l->o.cache_dir, (unsigned long long)h, v, l->base,
             l->o.aug.channels == 1 ? "-gray" : "");
    return path;
}

int df_loader_create(const df_dataset *ds, const int *split, int n_split, const float *meta, int meta_cols,
                     const df_loader_opts *o, df_loader **out, df_error *err) {
    *out = NULL;
    if (o->batch_size <= 0) return df_fail(err, "loader: batch_size %d must be positive", o->batch_size);
    if (o->n_workers < 1 || o->n_workers > 256) return df_fail(err, "loader: n_workers %d must be 1..256", o->n_workers);
    if (o->prefetch < 0) return df_fail(err, "loader: prefetch %d must be >= 0", o->prefetch);
    if (o->parts > 1 && (o->part < 0 || o->part >= o->parts))
        return df_fail(err, "loader: part %d of %d batch parts", o->part, o->parts);
    if (n_split < 0 || (n_split > 0 && !split)) return df_fail(err, "loader: bad split (%d samples)", n_split);
    if (meta && meta_cols <= 0) return df_fail(err, "loader: metadata given with %d columns", meta_cols);
    if (ds->n_views < 1 || ds->n_views > DF_MAX_VIEWS) return df_fail(err, "loader: dataset has %d views", ds->n_views);
    for (int i = 0; i < n_split; i++)
        if (split[i] < 0 || split[i] >= ds->n_samples)
            return df_fail(err, "loader: split entry %d is sample %d, outside 0..%d", i, split[i], ds->n_samples - 1);
    if (o->load_images) {
        if (df_augment_check(&o->aug, err)) return -1;
        if (!ds->image_paths) return df_fail(err, "loader: dataset %s has no image paths", ds->source ? ds->source : "");
        for (int i = 0; i < n_split; i++)
            for (int v = 0; v < ds->n_views; v++)
                if (!ds->image_paths[(size_t)split[i] * ds->n_views + v])
                    return df_fail(err, "loader: sample %s has no image for view %d",
                                   ds->ids ? ds->ids[split[i]] : "?", v);
        if (o->load_masks && !ds->mask_paths)
            return df_fail(err, "loader: masks requested but dataset %s has no mask paths", ds->source ? ds->source : "");
        if (o->use_cache && !o->cache_dir) return df_fail(err, "loader: use_cache needs a cache_dir");
    }
    df_loader *l = df_calloc(1, sizeof *l);
    l->ds = ds;
    l->n_split = n_split;
    l->split = df_malloc(sizeof(int) * (n_split ? n_split : 1));
    if (n_split) memcpy(l->split, split, sizeof(int) * n_split);
    l->order = df_malloc(sizeof(int) * (n_split ? n_split : 1));
    l->meta = meta;
    l->M = meta ? meta_cols : 0;
    l->o = *o;
    l->o.load_masks = o->load_images && o->load_masks;
    l->base = o->base_size > 0 ? o->base_size : (o->aug.out_w > o->aug.out_h ? o->aug.out_w : o->aug.out_h);
    l->nb = o->drop_last ? n_split / o->batch_size : (n_split + o->batch_size - 1) / o->batch_size;
    l->held = -1;
    if (o->load_images && o->use_cache) {
        for (int v = 0; v < ds->n_views; v++) {
            char **paths = df_malloc(sizeof(char *) * ds->n_samples);
            for (int s = 0; s < ds->n_samples; s++) paths[s] = ds->image_paths[(size_t)s * ds->n_views + v];
            char *file = cache_file(l, v);
            int rc = df_cache_open(file, paths, ds->n_samples, l->base, o->aug.channels, &l->cache[v], NULL, err);
            free(file);
            free(paths);
            if (rc) {
                l->n_threads = 0;
                df_loader_free(l);
                return -1;
            }
        }
    }
    l->P = o->prefetch > 0 ? o->prefetch : 2 * o->n_workers;
    l->slots = df_calloc(l->P, sizeof(slot));
    size_t bs = o->batch_size, plane = (size_t)o->aug.out_w * o->aug.out_h;
    for (int i = 0; i < l->P; i++) {
        df_batch *B = &l->slots[i].b;
        if (o->load_images)
            for (int v = 0; v < ds->n_views; v++)
                B->images[v] = df_aligned_alloc(sizeof(float) * bs * plane * o->aug.channels);
        if (l->o.load_masks) B->masks = df_aligned_alloc(sizeof(float) * bs * plane);
        if (meta) B->meta = df_malloc(sizeof(float) * bs * l->M);
        B->labels = df_malloc(sizeof(float) * bs);
        B->indices = df_malloc(sizeof(int) * bs);
    }
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv_work, NULL);
    pthread_cond_init(&l->cv_ready, NULL);
    pthread_cond_init(&l->cv_idle, NULL);
    l->threads = df_malloc(sizeof(pthread_t) * o->n_workers);
    for (int i = 0; i < o->n_workers; i++) {
        if (pthread_create(&l->threads[i], NULL, worker, l) != 0) {
            df_fail(err, "loader: cannot start worker thread %d of %d", i + 1, o->n_workers);
            df_loader_free(l);
            return -1;
        }
        l->n_threads++;
    }
    *out = l;
    return 0;
}

size_t df_loader_bytes(const df_loader_opts *o, int n_views, int meta_cols) {
    size_t slots = (size_t)(o->prefetch > 0 ? o->prefetch : 2 * o->n_workers), bs = (size_t)o->batch_size;
    size_t plane = (size_t)o->aug.out_w * o->aug.out_h;
    size_t per = bs * (sizeof(float) + sizeof(int) + sizeof(float) * (size_t)meta_cols);
    if (o->load_images) per += (size_t)n_views * sizeof(float) * bs * plane * (size_t)o->aug.channels;
    if (o->load_masks) per += sizeof(float) * bs * plane;
    return slots * per;
}

void df_loader_free(df_loader *l) {
    if (!l) return;
    if (l->slots) {
        pthread_mutex_lock(&l->mu);
        l->quit = 1;
        pthread_cond_broadcast(&l->cv_work);
        pthread_mutex_unlock(&l->mu);
        for (int i = 0; i < l->n_threads; i++) pthread_join(l->threads[i], NULL);
        pthread_mutex_destroy(&l->mu);
        pthread_cond_destroy(&l->cv_work);
        pthread_cond_destroy(&l->cv_ready);
        pthread_cond_destroy(&l->cv_idle);
        for (int i = 0; i < l->P; i++) {
            df_batch *B = &l->slots[i].b;
            for (int v = 0; v < DF_MAX_VIEWS; v++) free(B->images[v]);
            free(B->masks);
            free(B->meta);
            free(B->labels);
            free(B->indices);
        }
        free(l->slots);
    }
    free(l->threads);
    for (int v = 0; v < DF_MAX_VIEWS; v++) df_cache_close(l->cache[v]);
    free(l->split);
    free(l->order);
    free(l);
}
