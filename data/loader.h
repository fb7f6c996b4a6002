/* loader.h: a prefetching batch loader over one split of a df_dataset.
 *
 * Worker threads prepare whole batches ahead of the consumer into a ring of `prefetch` slots. A batch holds
 * n samples (n = batch_size, or fewer for the last batch unless drop_last): per view the images as floats
 * (n, out_h, out_w, C) NHWC, C = aug.channels, normalised by augment's mean/std, optionally the lesion masks (n, out_h, out_w)
 * in 0..1 (view 0's geometry), the encoded metadata rows (n, M), the labels as floats (n) and the dataset
 * indices of the samples (n).
 *
 * Every image goes through the same path: df_base_image_load at base_size (from the memory-mapped cache
 * when use_cache, which then gives the same pixels), then df_augment (training or evaluation transform).
 *
 * Reproducibility: the order of epoch e is the split shuffled by the stream subkey(key(seed, SHUFFLE), e)
 * (or the split order when shuffle is off); sample s in epoch e is augmented with df_augment_key(seed, e, s)
 * (view v uses subkey(that, v)). Nothing depends on which worker does what, so batches are bit-identical
 * for any n_workers, and df_loader_start_epoch(e, b) resumes exactly at batch b of epoch e.
 *
 * Data-parallel ranks each take a part of every batch: with `parts` P > 1, part p of a batch of n samples is
 * its samples [n p / P, n (p + 1) / P) (rounded down), so the parts of a batch cover it in order whatever n
 * is; a part of a last batch smaller than P may be empty (n = 0). Only that part's images are decoded.
 *
 * Errors in a worker (a corrupt image) are returned by the df_loader_next call that reaches that batch,
 * with the worker's message (file and problem); the loader stays usable. */
#ifndef DF_LOADER_H
#define DF_LOADER_H

#include <stdint.h>

#include "data/image/augment.h"
#include "data/table/dataset.h"

typedef struct {
    int batch_size;
    int base_size;     /* side of the square base image; 0: max(out_w, out_h) */
    int n_workers;     /* >= 1 */
    int prefetch;      /* batches in flight; 0: 2 * n_workers */
    int shuffle;
    int drop_last;
    int load_images;   /* 0: metadata and labels only */
    int load_masks;    /* needs dataset mask paths; evaluation use */
    int use_cache;
    const char *cache_dir; /* folder for cache files when use_cache */
    uint64_t seed;
    int part, parts;   /* this loader's part of each batch (see above); parts 0 or 1: whole batches */
    df_augment_opts aug; /* output size, train/eval transform, normalisation */
} df_loader_opts;

typedef struct {
    int n;
    int epoch, batch;                /* position of this batch */
    int offset, total;               /* the part's first sample in the whole batch, and the whole batch's size */
    float *images[DF_MAX_VIEWS];     /* [view] (n, out_h, out_w, aug.channels) or NULL */
    float *masks;                    /* (n, out_h, out_w) or NULL */
    float *meta;                     /* (n, M) or NULL */
    float *labels;                   /* (n) */
    int *indices;                    /* (n) dataset sample indices */
} df_batch;

typedef struct df_loader df_loader;

/* batch 32, 4 workers, shuffle, no drop_last, images on, no masks, no cache, seed 0, eval augmentation at
 * out_w x out_h. */
void df_loader_defaults(df_loader_opts *o, int out_w, int out_h);

/* The bytes of batch buffers a loader with these options allocates (its ring of prefetched batches), so a
 * caller can refuse a plan that does not fit in memory before anything is allocated. */
size_t df_loader_bytes(const df_loader_opts *o, int n_views, int meta_cols);

/* ds and meta must outlive the loader. split[0..n_split) are dataset sample indices; meta (may be NULL) is
 * [ds->n_samples x meta_cols] indexed by dataset sample index. With use_cache, the cache covers every sample
 * of ds (one file per view, shared by loaders over other splits of the same dataset) and is built here. */
int df_loader_create(const df_dataset *ds, const int *split, int n_split, const float *meta, int meta_cols,
                     const df_loader_opts *o, df_loader **out, df_error *err);
int df_loader_batches_per_epoch(const df_loader *l);
/* Positions the loader at batch first_batch of epoch `epoch`, dropping whatever was prefetched. The first
 * df_loader_next without a call starts epoch 0 at batch 0. */
void df_loader_start_epoch(df_loader *l, int epoch, int first_batch);
/* The same, ending the epoch before batch end_batch: a rank that evaluates a range of a split's batches. */
void df_loader_start_range(df_loader *l, int epoch, int first_batch, int end_batch);
/* 1: *batch is the next batch (valid until the next call); 0: the epoch is over; -1: err holds the error of
 * this batch (the next call moves on to the following batch). */
int df_loader_next(df_loader *l, const df_batch **batch, df_error *err);
void df_loader_free(df_loader *l);

#endif
