/* run_data.c: see run_data.h. */
#include "train/session/run_data.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/graph.h"
#include "core/rng.h"
#include "data/layouts/datasets.h"
#include "data/table/split.h"

const char *const df_split_names[DF_N_SPLITS] = {"train", "valid", "test"};

static const char *opt(const char *s) { return s && *s ? s : NULL; }

static int load_file(const df_run_config *cfg, const char *csv, int with_images, const df_dataset *classes_from,
                     df_dataset **out, df_error *err) {
    const df_data_section *d = &cfg->data;
    df_dataset *ds = df_calloc(1, sizeof *ds);
    int skipped = 0, rc;
    switch (d->layout) {
    case DF_LAYOUT_ISIC: {
        df_isic_options o = {csv, opt(d->image_dir), with_images, d->skip_bad_rows, opt(d->group_by),
                             d->allow_outside_paths};
        rc = df_isic_load(ds, &o, &skipped, err);
        break;
    }
    case DF_LAYOUT_MILK10K: {
        df_milk10k_options o = {d->root, NULL, NULL, NULL, with_images, d->skip_bad_rows, d->allow_outside_paths};
        rc = df_milk10k_load(ds, &o, &skipped, err);
        break;
    }
    case DF_LAYOUT_CSV:
    default: {
        df_generic_options o = {csv, opt(d->image_dir), opt(d->image_column), d->label_column,
                                classes_from ? (const char *const *)classes_from->class_names : NULL,
                                classes_from ? classes_from->n_classes : 0, NULL, opt(d->group_by), NULL,
                                with_images, d->skip_bad_rows, d->allow_outside_paths};
        rc = df_generic_load(ds, &o, &skipped, err);
        break;
    }
    }
    if (rc) {
        df_dataset_free(ds);
        free(ds);
        return -1;
    }
    if (skipped) fprintf(stderr, "warning: %s: skipped %d rows with a missing image\n", csv ? csv : d->root, skipped);
    *out = ds;
    return 0;
}

static void set_split(df_run_data *rd, int split, df_dataset *ds, int *idx, int n) {
    rd->ds[split] = ds;
    rd->idx[split] = idx;
    rd->n[split] = n;
}

static int *all_indices(const df_dataset *ds) {
    int *idx = df_malloc((size_t)(ds->n_samples ? ds->n_samples : 1) * sizeof *idx);
    for (int i = 0; i < ds->n_samples; i++) idx[i] = i;
    return idx;
}

/* Moves a df_split's arrays into the run's splits a and b. */
static void take_split(df_run_data *rd, df_dataset *ds, df_split *s, int a, int b) {
    set_split(rd, a, ds, s->train, s->n_train);
    set_split(rd, b, ds, s->test, s->n_test);
    s->train = s->test = NULL;
}

/* Loads a split file checked disjoint from the files loaded before it (rd->owned[0 .. slot-1]). */
static int load_split_file(const df_run_config *cfg, const char *csv, int with_images, df_run_data *rd, int slot,
                           df_error *err) {
    static const char *const what[DF_N_SPLITS] = {"training", "validation", "test"};
    df_dataset *ds;
    if (load_file(cfg, csv, with_images, rd->owned[0], &ds, err)) return -1;
    rd->owned[slot] = ds;
    for (int s = 0; s < slot; s++)
        if (rd->owned[s] && df_dataset_check_disjoint(rd->owned[s], what[s], ds, what[slot], err)) return -1;
    set_split(rd, slot, ds, all_indices(ds), ds->n_samples);
    return 0;
}

/* A split file is taken whole; what no file gives is carved out of the training file, the test split first
 * (test_fraction, or with data.folds one fold of a grouped, stratified k-fold assignment drawn with the run
 * seed), then validation (split holdout, valid_fraction of the training file) out of the rest. The config
 * loader has resolved the keys (train/config/run_splits.h): a fraction not used is 0. */
static int make_splits(const df_run_config *cfg, df_run_data *rd, int with_images, df_error *err) {
    const df_data_section *d = &cfg->data;
    uint64_t seed = (uint64_t)cfg->run.seed;
    int milk = d->layout == DF_LAYOUT_MILK10K;
    df_dataset *train;
    if (load_file(cfg, milk ? NULL : d->train_csv, with_images, NULL, &train, err)) return -1;
    rd->owned[0] = train;
    /* milk10k has no split files: always a hold-out (the config loader resolves its keys so) */
    int published = d->split == DF_SPLIT_PUBLISHED && !milk;
    if (published && opt(d->valid_csv) && load_split_file(cfg, d->valid_csv, with_images, rd, DF_SPLIT_VALID, err))
        return -1;
    if (!milk && opt(d->test_csv) && load_split_file(cfg, d->test_csv, with_images, rd, DF_SPLIT_TEST, err))
        return -1;
    df_split first = {0}, second;
    /* the share of the file that the test split takes, so that valid_fraction is a share of the whole file */
    double test_share = d->folds ? 1.0 / d->folds : d->test_fraction;
    if (d->folds) {
        int *fold_of = df_malloc(sizeof *fold_of * (size_t)train->n_samples);
        int rc = df_split_kfold(train, NULL, 0, d->folds, df_rng_key(seed, 3), fold_of, err);
        if (rc == 0) {
            df_split_fold(NULL, train->n_samples, fold_of, d->fold, &first);
            set_split(rd, DF_SPLIT_TEST, train, first.test, first.n_test);
            first.test = NULL;
        }
        free(fold_of);
        if (rc) return df_fail_prefix(err, "%s: data.folds", cfg->source), -1;
    } else if (!rd->ds[DF_SPLIT_TEST]) {
        if (df_split_holdout(train, NULL, 0, d->test_fraction, df_rng_key(seed, 1), &first, err)) return -1;
        set_split(rd, DF_SPLIT_TEST, train, first.test, first.n_test);
        first.test = NULL;
    } else {
        first.train = all_indices(train);
        first.n_train = train->n_samples;
    }
    int rc = 0;
    if (!published && d->valid_fraction > 0) {
        double vf = d->valid_fraction / (1.0 - test_share);
        if (vf >= 1.0)
            rc = df_fail(err, "%s: data.valid_fraction + data.test_fraction must be below 1", cfg->source);
        else if ((rc = df_split_holdout(train, first.train, first.n_train, vf, df_rng_key(seed, 2), &second, err)) == 0)
            take_split(rd, train, &second, DF_SPLIT_TRAIN, DF_SPLIT_VALID);
    } else {
        set_split(rd, DF_SPLIT_TRAIN, train, first.train, first.n_train);
        first.train = NULL;
    }
    df_split_free(&first);
    return rc;
}

/* The training split must show the model every class; the validation split chooses the best epoch, and
 * with a class missing its AUC (the default monitor) is undefined. */
static int check_classes(const df_run_data *rd, df_error *err) {
    static const char *const what[2] = {"training split", "validation split, which chooses the best epoch,"};
    for (int s = DF_SPLIT_TRAIN; s <= DF_SPLIT_VALID; s++)
        if (rd->ds[s] && df_dataset_check_classes(rd->ds[s], rd->idx[s], rd->n[s], what[s], err)) return -1;
    return 0;
}

int df_run_data_load(const df_run_config *cfg, int with_images, const char *encoder_json, df_run_data *rd,
                     df_error *err) {
    memset(rd, 0, sizeof *rd);
    const df_data_section *d = &cfg->data;
    int rc = make_splits(cfg, rd, with_images, err);
    if (rc == 0) {
        df_dataset *train = rd->ds[DF_SPLIT_TRAIN];
        rd->n_classes = train->n_classes;
        rd->n_views = train->n_views;
        rd->has_images = with_images;
        for (int s = 0; s < DF_N_SPLITS; s++)
            if (rd->ds[s] && rd->n[s] == 0) rc = df_fail(err, "%s: the %s split is empty", cfg->source, df_split_names[s]);
        if (rc == 0) rc = check_classes(rd, err);
    }
    if (rc == 0 && d->n_numeric + d->n_categorical > 0) {
        if (encoder_json) {
            rc = df_meta_from_json(&rd->enc, encoder_json, err);
        } else {
            df_meta_spec spec = {(const char *const *)d->numeric, d->n_numeric, (const char *const *)d->categorical,
                                 d->n_categorical, d->layout == DF_LAYOUT_ISIC ? "class" : opt(d->label_column),
                                 d->allow_leaky, d->skip_bad_rows};
            int n_bad = 0;
            rc = df_meta_fit(&rd->enc, &spec, rd->ds[DF_SPLIT_TRAIN], rd->idx[DF_SPLIT_TRAIN], rd->n[DF_SPLIT_TRAIN],
                             &n_bad, err);
            if (rc == 0 && n_bad)
                fprintf(stderr, "warning: %d training rows have an unparsable metadata field (encoded as missing)\n",
                        n_bad);
        }
        rd->meta_dim = rc == 0 ? rd->enc.dim : 0;
        /* Encode each distinct dataset once, indexed by sample index as the loader expects. */
        for (int s = 0; rc == 0 && s < DF_N_SPLITS; s++) {
            for (int t = 0; t < s; t++)
                if (rd->ds[t] == rd->ds[s]) rd->meta[s] = rd->meta[t];
            if (rd->meta[s] || !rd->ds[s]) continue;
            df_dataset *ds = rd->ds[s];
            rd->meta[s] = df_malloc((size_t)ds->n_samples * rd->meta_dim * sizeof(float) + sizeof(float));
            unsigned char *bad = d->skip_bad_rows ? df_malloc((size_t)ds->n_samples + 1) : NULL;
            rc = df_meta_encode(&rd->enc, ds, NULL, 0, rd->meta[s], bad, NULL, err);
            free(bad);
        }
        if (rc == 0 && !encoder_json) {
            const df_dataset *train = rd->ds[DF_SPLIT_TRAIN];
            float *x = df_malloc((size_t)rd->n[0] * rd->meta_dim * sizeof(float) + sizeof(float));
            int *labels = df_malloc((size_t)rd->n[0] * sizeof(int) + sizeof(int));
            for (int i = 0; i < rd->n[0]; i++) {
                int j = rd->idx[0][i];
                memcpy(x + (size_t)i * rd->meta_dim, rd->meta[0] + (size_t)j * rd->meta_dim,
                       (size_t)rd->meta_dim * sizeof(float));
                labels[i] = train->labels[j];
            }
            char msg[1024];
            if (df_meta_perfect_separators(&rd->enc, x, labels, rd->n[0], rd->n_classes, msg, sizeof msg))
                fprintf(stderr, "warning: %s\n", msg);
            free(x);
            free(labels);
        }
    }
    if (rc) df_run_data_free(rd);
    return rc;
}

void df_run_data_free(df_run_data *rd) {
    for (int s = 0; s < DF_N_SPLITS; s++) {
        free(rd->idx[s]);
        int shared = 0;
        for (int t = 0; t < s; t++) shared |= rd->meta[t] == rd->meta[s];
        if (!shared) free(rd->meta[s]);
    }
    for (int s = 0; s < DF_N_SPLITS; s++)
        if (rd->owned[s]) {
            df_dataset_free(rd->owned[s]);
            free(rd->owned[s]);
        }
    if (rd->meta_dim || rd->enc.features) df_meta_encoder_free(&rd->enc);
    memset(rd, 0, sizeof *rd);
}

void df_run_data_fingerprint(const df_run_data *rd, char out[17]) {
    uint64_t h = 1469598103934665603ULL;
    const df_dataset *ds = rd->ds[DF_SPLIT_TRAIN];
    for (int i = 0; i < rd->n[DF_SPLIT_TRAIN]; i++) {
        int j = rd->idx[DF_SPLIT_TRAIN][i];
        for (const char *c = ds->ids[j]; *c; c++) h = (h ^ (unsigned char)*c) * 1099511628211ULL;
        h = (h ^ (uint64_t)(ds->labels[j] + 1)) * 1099511628211ULL;
    }
    snprintf(out, 17, "%016" PRIx64, h);
}

void df_run_data_balanced_weights(const df_run_data *rd, float *w) {
    int K = rd->n_classes, count[DF_MAX_CLASSES] = {0};
    DF_ASSERT(K <= DF_MAX_CLASSES); /* the dataset loaders refuse more classes */
    const df_dataset *ds = rd->ds[DF_SPLIT_TRAIN];
    for (int i = 0; i < rd->n[DF_SPLIT_TRAIN]; i++) count[ds->labels[rd->idx[DF_SPLIT_TRAIN][i]]]++;
    double sum = 0;
    for (int k = 0; k < K; k++) sum += w[k] = count[k] ? (float)rd->n[DF_SPLIT_TRAIN] / ((float)K * count[k]) : 1.0f;
    for (int k = 0; k < K; k++) w[k] = (float)(w[k] * K / sum);
}
