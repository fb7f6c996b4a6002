/* precise_bn.c: see precise_bn.h. */
#include "train/session/precise_bn.h"

#include <stdlib.h>

#include "core/dist/dist.h"
#include "core/io/files.h"
#include "layers/bn_precise.h"

static int has_batchnorm(const df_graph *g) {
    for (int i = 0; i < g->n_tensors; i++)
        if (g->tensors[i].kind == DF_BUFFER) return 1; /* running statistics are the only buffers */
    return 0;
}

/* The training split in the training loader's order and parts, with the evaluation transform. */
static int open_loader(df_session *s, df_loader **out, df_error *err) {
    df_loader_opts o;
    df_session_loader_opts(s, 0, &o);
    o.shuffle = 1;
    o.part = df_dist_rank(df_dist_training());
    o.parts = df_dist_size(df_dist_training());
    char *cache_dir = df_path_join(s->cfg->run.out_dir, "cache");
    o.cache_dir = cache_dir;
    int rc = df_loader_create(s->data.ds[DF_SPLIT_TRAIN], s->data.idx[DF_SPLIT_TRAIN], s->data.n[DF_SPLIT_TRAIN],
                              s->data.meta[DF_SPLIT_TRAIN], s->data.meta_dim, &o, out, err);
    free(cache_dir);
    return rc;
}

int df_session_precise_bn(df_session *s, int n_batches, df_error *err) {
    df_graph *g = s->model->g;
    if (n_batches <= 0 || !has_batchnorm(g)) return 0;
    df_loader *l;
    if (open_loader(s, &l, err)) return -1;
    int per_epoch = df_loader_batches_per_epoch(l), end = n_batches < per_epoch ? n_batches : per_epoch;
    int training = g->training, offset = g->sample_offset;
    uint64_t dropout_step = g->dropout_step;
    df_loader_start_range(l, 0, 0, end);
    df_graph_set_training(g, 1);
    df_bn_precise_begin(g);
    const df_batch *b;
    int rc;
    while ((rc = df_loader_next(l, &b, err)) == 1) {
        df_model_feed(s->model, b);
        g->sample_offset = b->offset;
        g->dropout_step = dropout_step; /* dropout draws as in the step training takes next */
        df_graph_forward(g); /* an empty part too: batch norm's sums over the ranks count on every rank */
    }
    df_bn_precise_end(g, df_dist_training());
    g->dropout_step = dropout_step;
    g->sample_offset = offset;
    df_graph_set_training(g, training);
    df_loader_free(l);
    return rc < 0 ? -1 : 0;
}
