/* cmd_show_batch.c: `dermfuse show-batch CONFIG [--out FILE.png] [--tensors FILE] [--batch N] [--split SPLIT]`:
 * one batch as the model sees it, drawn into a PNG grid (data/batch_grid.h) with each sample's class and raw
 * metadata under its image, and with --tensors also written as the model's input tensors. The training split
 * gives a batch of the training loader (shuffled and augmented, epoch 0: the batch of the run's first step);
 * the valid and test splits a batch of their evaluation loader (in order, the evaluation transform).
 *
 * The tensors file (safetensors) holds "input.image0" (and "input.image1" with two views) as (n, h, w, c)
 * normalised pixels, "input.meta" as (n, M) encoded metadata when the model reads it, and "input.target" as
 * (n) class indices, under the model's input names; its metadata "df.ids" is the JSON array of the samples'
 * ids in batch order, "df.split" and "df.batch" say which batch it is. */
#include <stdio.h>
#include <string.h>

#include "core/io/json.h"
#include "core/io/safetensors.h"
#include "data/batch_grid.h"
#include "train/cli/commands.h"
#include "train/session/session.h"

/* Opens the session of cfg (late fusion: its image model; a metadata-only model has no images to show). */
static int open_session(df_session *s, const df_run_config *cfg, const char *path, df_error *err) {
    df_fusion f = cfg->model.fusion == DF_FUSION_LATE ? DF_FUSION_IMAGE : cfg->model.fusion;
    if (f == DF_FUSION_META)
        return df_fail(err, "%s: model.fusion is meta, whose model sees no images; show-batch needs a model "
                       "with an image input", path);
    return df_session_open(s, cfg, f, DF_SESSION_TRAIN, 1, err);
}

/* The dataset columns of the config's metadata fields (data.numeric, then data.categorical), as indices into
 * ds->meta_cols; returns how many were found. */
static int caption_columns(const df_run_config *cfg, const df_dataset *ds, int *cols) {
    int n = 0;
    for (int k = 0; k < cfg->data.n_numeric + cfg->data.n_categorical; k++) {
        const char *name = k < cfg->data.n_numeric ? cfg->data.numeric[k] : cfg->data.categorical[k - cfg->data.n_numeric];
        for (int c = 0; c < ds->n_meta_cols && n < DF_GRID_MAX_LINES; c++)
            if (!strcmp(ds->meta_cols[c], name)) cols[n++] = c;
    }
    return n;
}

/* Writes batch b's model inputs to path (the layout is in the file comment). */
static int write_tensors(const df_session *s, const df_batch *b, int split, const char *path, df_error *err) {
    const df_model *m = s->model;
    const df_dataset *ds = s->data.ds[split];
    df_st_writer *w = df_st_writer_new();
    int rc = 0;
    for (int v = 0; v < 2 && rc == 0; v++) {
        if (m->image[v] < 0) continue;
        const df_shape *sh = &m->g->nodes[m->image[v]].shape;
        int64_t shape[4] = {b->n, sh->d[1], sh->d[2], sh->d[3]};
        char name[32];
        snprintf(name, sizeof name, "input.image%d", v);
        rc = df_st_add(w, name, 4, shape, b->images[v], err);
    }
    if (rc == 0 && m->meta >= 0 && b->meta) {
        int64_t shape[2] = {b->n, m->g->nodes[m->meta].shape.d[1]};
        rc = df_st_add(w, "input.meta", 2, shape, b->meta, err);
    }
    int64_t n = b->n;
    if (rc == 0) rc = df_st_add(w, "input.target", 1, &n, b->labels, err);
    df_json_writer j;
    df_json_writer_init(&j);
    df_json_array_begin(&j);
    for (int i = 0; i < b->n; i++) df_json_string(&j, ds->ids[b->indices[i]]);
    df_json_array_end(&j);
    char num[16];
    snprintf(num, sizeof num, "%d", b->batch);
    if (rc == 0) rc = df_st_add_meta(w, "df.ids", j.text, err);
    if (rc == 0) rc = df_st_add_meta(w, "df.split", df_split_names[split], err);
    if (rc == 0) rc = df_st_add_meta(w, "df.batch", num, err);
    if (rc == 0) rc = df_st_write(w, path, err);
    df_json_writer_free(&j);
    df_st_writer_free(w);
    return rc;
}

/* Draws batch `batch` of the split's loader into path, and writes its tensors to tensors_path if given. */
static int show(df_session *s, int split, int batch, const char *path, const char *tensors_path, df_error *err) {
    df_loader *l = split == DF_SPLIT_TRAIN ? s->train : df_session_eval_loader(s, split, err);
    if (!l) return -1;
    int nb = df_loader_batches_per_epoch(l);
    if (batch >= nb)
        return df_fail(err, "--batch %d: the %s split has %d batches of %d (0..%d)", batch, df_split_names[split],
                       nb, s->cfg->train.batch_size, nb - 1);
    df_loader_start_epoch(l, 0, batch);
    const df_batch *b;
    int rc = df_loader_next(l, &b, err);
    if (rc == 0) return df_fail(err, "the %s split has no batch %d", df_split_names[split], batch);
    if (rc < 0) return -1;
    df_loader_opts o;
    df_session_loader_opts(s, split == DF_SPLIT_TRAIN, &o);
    df_image grid;
    df_grid_layout g;
    const df_dataset *ds = s->data.ds[split];
    int cols[DF_GRID_MAX_LINES], n_cols = caption_columns(s->cfg, ds, cols);
    if (tensors_path && write_tensors(s, b, split, tensors_path, err)) return -1;
    if (df_batch_grid(b, 0, s->cfg->data.image_size, &o.aug, ds, cols, n_cols, &grid, &g, err)) return -1;
    rc = df_image_save_png(path, &grid, err);
    df_image_free(&grid);
    if (rc == 0)
        printf("wrote batch %d of the %s split (%d samples, %s, %dx%d pixels each, shown x%d) to %s%s%s\n", batch,
               df_split_names[split], b->n, split == DF_SPLIT_TRAIN ? "after augmentation" : "evaluation transform",
               g.side, g.side, g.zoom, path, tensors_path ? ", its tensors to " : "", tensors_path ? tensors_path : "");
    return rc;
}

int df_cmd_show_batch(int argc, char **argv) {
    static const char *const splits[] = {"train", "valid", "test", NULL};
    df_cli cli;
    memset(&cli, 0, sizeof cli);
    const char *out = "batch.png", *split_name = "train", *tensors = NULL;
    int batch = 0;
    df_arg_opt opts[] = {
        DF_OPT_STRING("--out", &out, "FILE.png", "where to write the grid", "batch.png"),
        DF_OPT_STRING("--tensors", &tensors, "FILE",
                      "also write the batch as the model's input tensors (safetensors: images, metadata, targets, "
                      "sample ids)", NULL),
        DF_OPT_INT("--batch", &batch, "N", "which batch of epoch 0", "0", 0, 100000000),
        DF_OPT_CHOICE("--split", &split_name, "SPLIT",
                      "train: the training loader (shuffled, augmented); valid, test: the evaluation loader",
                      "train", splits),
        DF_OPT_STRINGS("--set", &cli.sets, "KEY=VALUE", DF_CLI_SET_HELP),
        DF_OPT_INT("--threads", &cli.threads, "N", "OpenMP threads; wins over the config's run.threads",
                   "run.threads", 1, 1024),
    };
    df_arg_pos pos = {"CONFIG", &cli.config, "the run's YAML config"};
    df_args_spec spec = {"show-batch", DF_SUMMARY_SHOW_BATCH, opts, sizeof opts / sizeof *opts,
                         &pos, 1, DF_EXAMPLES_SHOW_BATCH};
    int st = df_args_parse(&spec, argc, argv, stdout, stderr);
    if (st) return df_args_exit_status(st);
    int split = DF_SPLIT_TRAIN;
    for (int k = 0; k < DF_N_SPLITS; k++)
        if (!strcmp(split_name, df_split_names[k])) split = k;
    df_run_config cfg;
    if (df_cli_load_config(&cli, &cfg)) return 1;
    df_session s;
    df_error err;
    int rc = open_session(&s, &cfg, cli.config, &err);
    if (rc == 0) {
        rc = show(&s, split, batch, out, tensors, &err);
        df_session_close(&s);
    }
    if (rc) fprintf(stderr, "dermfuse show-batch: %s\n", err.msg);
    df_run_config_free(&cfg);
    return rc ? 1 : 0;
}
