/* run_input.c: a run's image input, resolved and stored (see run_input.h). */
#include "train/session/run_input.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/io/files.h"
#include "core/io/json.h"
#include "data/image/image.h"
#include "data/pixel_stats.h"

#define INPUT_FILE "input.json"

static void set_imagenet(df_run_input *in) {
    for (int c = 0; c < 3; c++) {
        in->mean[c] = in->channels == 3 ? df_imagenet_mean[c]
                                        : (df_imagenet_mean[0] + df_imagenet_mean[1] + df_imagenet_mean[2]) / 3;
        in->std[c] = in->channels == 3 ? df_imagenet_std[c]
                                       : (df_imagenet_std[0] + df_imagenet_std[1] + df_imagenet_std[2]) / 3;
    }
}

void df_run_input_default(df_run_input *in) {
    memset(in, 0, sizeof *in);
    in->channels = 3;
    in->normalize = DF_NORMALIZE_IMAGENET;
    set_imagenet(in);
}

void df_run_input_apply(const df_run_input *in, df_augment_opts *aug) {
    aug->channels = in->channels;
    for (int c = 0; c < 3; c++) {
        aug->mean[c] = c < in->channels ? in->mean[c] : 0;
        aug->std[c] = c < in->channels ? in->std[c] : 1;
    }
}

int df_run_input_same(const df_run_input *a, const df_run_input *b) {
    if (a->channels != b->channels || a->normalize != b->normalize) return 0;
    for (int c = 0; c < a->channels; c++)
        if (a->mean[c] != b->mean[c] || a->std[c] != b->std[c]) return 0;
    return 1;
}

int df_run_input_is_default(const df_run_input *in) {
    df_run_input d;
    df_run_input_default(&d);
    return df_run_input_same(in, &d);
}

char *df_run_input_json(const df_run_input *in) {
    df_json_writer w;
    df_json_writer_init(&w);
    df_json_object_begin(&w);
    df_json_key(&w, "channels");
    df_json_int(&w, in->channels);
    df_json_key(&w, "normalize");
    df_json_string(&w, df_normalize_mode_names[in->normalize]);
    const float *lists[2] = {in->mean, in->std};
    for (int k = 0; k < 2; k++) {
        df_json_key(&w, k ? "std" : "mean");
        df_json_array_begin(&w);
        for (int c = 0; c < in->channels; c++) df_json_number(&w, lists[k][c]);
        df_json_array_end(&w);
    }
    df_json_object_end(&w);
    char *text = df_strdup(w.text);
    df_json_writer_free(&w);
    return text;
}

static int parse_list(const df_json *root, const char *key, int n, float *out, const char *what, df_error *err) {
    const df_json *a = df_json_get(root, key);
    if (!a || a->type != DF_JSON_ARRAY || a->count != n)
        return df_fail(err, "%s: \"%s\" must be a list of %d numbers", what, key, n);
    for (int c = 0; c < n; c++) {
        if (a->items[c].type != DF_JSON_NUMBER) return df_fail(err, "%s: \"%s\"[%d] is not a number", what, key, c);
        out[c] = (float)a->items[c].number;
    }
    return 0;
}

int df_run_input_parse(const char *text, size_t len, const char *what, df_run_input *in, df_error *err) {
    df_json_doc *doc;
    if (df_json_parse(text, len, &doc, err)) return df_fail_prefix(err, "%s", what);
    const df_json *root = df_json_root(doc), *ch = df_json_get(root, "channels"), *mode = df_json_get(root, "normalize");
    df_run_input_default(in);
    int rc = 0, m = -1;
    for (int i = 0; mode && mode->type == DF_JSON_STRING && df_normalize_mode_names[i]; i++)
        if (!strcmp(mode->str, df_normalize_mode_names[i])) m = i;
    if (!ch || ch->type != DF_JSON_NUMBER || !ch->is_integer || (ch->integer != 1 && ch->integer != 3))
        rc = df_fail(err, "%s: \"channels\" must be 1 or 3", what);
    else if (m < 0)
        rc = df_fail(err, "%s: \"normalize\" must be one of imagenet, dataset, given, none", what);
    if (rc == 0) {
        in->channels = (int)ch->integer;
        in->normalize = (df_normalize_mode)m;
        rc = parse_list(root, "mean", in->channels, in->mean, what, err);
        if (rc == 0) rc = parse_list(root, "std", in->channels, in->std, what, err);
        for (int c = 0; rc == 0 && c < in->channels; c++)
            if (!(in->std[c] > 0 && in->std[c] < 1e30f && in->mean[c] > -1e30f && in->mean[c] < 1e30f))
                rc = df_fail(err, "%s: channel %d: mean %g, std %g (std must be positive, both finite)", what, c,
                             in->mean[c], in->std[c]);
    }
    df_json_free(doc);
    return rc;
}

int df_run_input_write(const char *dir, const df_run_input *in, df_error *err) {
    char *path = df_path_join(dir, INPUT_FILE), *text = df_run_input_json(in);
    size_t len = strlen(text);
    text = realloc(text, len + 2);
    if (!text) df_abort_at(__FILE__, __LINE__, "out of memory");
    text[len] = '\n';
    int rc = df_write_file_atomic(path, text, len + 1, err);
    free(text);
    free(path);
    return rc;
}

static int exists(const char *dir, const char *name) {
    char *path = df_path_join(dir, name);
    struct stat st;
    int rc = stat(path, &st) == 0;
    free(path);
    return rc;
}

/* The recorded input of a run that has trained, against what the config says now. 1: none recorded. */
static int recorded(const df_run_config *cfg, const char *dir, df_run_input *in, df_error *err) {
    if (!exists(dir, "last.safetensors") || !exists(dir, INPUT_FILE)) return 1;
    char *path = df_path_join(dir, INPUT_FILE);
    unsigned char *buf;
    size_t len;
    int rc = df_read_file(path, 1 << 16, &buf, &len, err);
    if (rc == 0) {
        rc = df_run_input_parse((const char *)buf, len, path, in, err);
        free(buf);
    }
    const df_data_section *d = &cfg->data;
    int want = d->channels == DF_CHANNELS_1 ? 1 : d->channels == DF_CHANNELS_3 ? 3 : in->channels;
    if (rc == 0 && want != in->channels)
        rc = df_fail(err, "data.channels is %d but the run was trained with %d input channels (%s)", want,
                     in->channels, path);
    if (rc == 0 && d->normalize != in->normalize)
        rc = df_fail(err, "data.normalize is '%s' but the run was trained with '%s' (%s)",
                     df_normalize_mode_names[d->normalize], df_normalize_mode_names[in->normalize], path);
    for (int c = 0; rc == 0 && d->normalize == DF_NORMALIZE_GIVEN && c < in->channels; c++)
        if ((float)d->mean[c] != in->mean[c] || (float)d->std[c] != in->std[c])
            rc = df_fail(err, "data.mean / data.std differ from those the run was trained with (%s)", path);
    if (rc) df_fail_prefix(err, "%s", cfg->source);
    in->recorded = rc == 0;
    free(path);
    return rc;
}

static int first_training_image_gray(const df_run_data *rd, int *gray, df_error *err) {
    const df_dataset *ds = rd->ds[DF_SPLIT_TRAIN];
    int first = rd->idx[DF_SPLIT_TRAIN][0];
    for (int i = 1; i < rd->n[DF_SPLIT_TRAIN]; i++)
        if (rd->idx[DF_SPLIT_TRAIN][i] < first) first = rd->idx[DF_SPLIT_TRAIN][i];
    const char *path = ds->image_paths[(size_t)first * ds->n_views];
    return df_image_is_gray(path, gray, err) ? df_fail_prefix(err, "data.channels auto") : 0;
}

static int dataset_stats(const df_run_config *cfg, const df_run_data *rd, int quiet, df_run_input *in,
                         df_error *err) {
    df_loader_opts o;
    df_loader_defaults(&o, cfg->data.image_size, cfg->data.image_size);
    o.batch_size = cfg->train.batch_size;
    o.n_workers = cfg->data.workers;
    o.shuffle = 0;
    o.use_cache = cfg->data.cache;
    o.seed = (uint64_t)cfg->run.seed;
    o.aug.channels = in->channels;
    for (int c = 0; c < 3; c++) o.aug.mean[c] = 0, o.aug.std[c] = 1;
    char *cache_dir = df_path_join(cfg->run.out_dir, "cache");
    o.cache_dir = cache_dir;
    df_loader *l = NULL;
    int rc = o.use_cache ? df_make_dirs(cache_dir, err) : 0;
    if (rc == 0)
        rc = df_loader_create(rd->ds[DF_SPLIT_TRAIN], rd->idx[DF_SPLIT_TRAIN], rd->n[DF_SPLIT_TRAIN], NULL, 0, &o,
                              &l, err);
    if (rc == 0) rc = df_loader_pixel_stats(l, &o, rd->n_views, in->mean, in->std, err);
    df_loader_free(l);
    free(cache_dir);
    if (rc) return df_fail_prefix(err, "data.normalize dataset");
    if (!quiet) {
        printf("data.normalize dataset: %d training images, mean", rd->n[DF_SPLIT_TRAIN] * rd->n_views);
        for (int c = 0; c < in->channels; c++) printf(" %.6f", in->mean[c]);
        printf(", std");
        for (int c = 0; c < in->channels; c++) printf(" %.6f", in->std[c]);
        printf(" (fractions of 255)\n");
    }
    return 0;
}

int df_run_input_resolve(const df_run_config *cfg, const df_run_data *rd, const char *dir, int quiet,
                         df_run_input *in, df_error *err) {
    int rc = recorded(cfg, dir, in, err);
    if (rc <= 0) return rc;
    const df_data_section *d = &cfg->data;
    df_run_input_default(in);
    in->normalize = d->normalize;
    if (d->channels == DF_CHANNELS_AUTO) {
        int gray;
        if (first_training_image_gray(rd, &gray, err)) return -1;
        in->channels = gray ? 1 : 3;
    } else {
        in->channels = d->channels == DF_CHANNELS_1 ? 1 : 3;
    }
    switch (d->normalize) {
    case DF_NORMALIZE_IMAGENET: set_imagenet(in); return 0;
    case DF_NORMALIZE_NONE:
        for (int c = 0; c < 3; c++) in->mean[c] = 0, in->std[c] = 1;
        return 0;
    case DF_NORMALIZE_GIVEN:
        if (d->n_mean != in->channels)
            return df_fail(err, "%s: data.mean and data.std have %d values but the input has %d channels "
                           "(data.channels auto found the first training image %s)", cfg->source, d->n_mean,
                           in->channels, in->channels == 1 ? "gray" : "in colour");
        for (int c = 0; c < in->channels; c++) in->mean[c] = (float)d->mean[c], in->std[c] = (float)d->std[c];
        return 0;
    case DF_NORMALIZE_DATASET: return dataset_stats(cfg, rd, quiet, in, err);
    }
    return 0;
}
