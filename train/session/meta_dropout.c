/* meta_dropout.c: see meta_dropout.h. */
#include "train/session/meta_dropout.h"

#include <stdlib.h>
#include <string.h>

#include "core/rng.h"

void df_meta_dropout_setup(df_meta_dropout *md, double p, uint64_t seed, const df_meta_encoder *enc) {
    memset(md, 0, sizeof *md);
    if (!(p > 0) || !enc->dim) return;
    md->p = (float)p;
    md->key = df_rng_key(seed, DF_STREAM_META_DROPOUT);
    md->dim = enc->dim;
    md->missing_row = df_calloc((size_t)md->dim, sizeof(float));
    df_meta_mask_rows(enc, NULL, md->missing_row, NULL, 1);
}

void df_meta_dropout_init(df_meta_dropout *md, const df_session *s) {
    memset(md, 0, sizeof *md);
    if (s->model->meta >= 0 && s->data.meta_dim)
        df_meta_dropout_setup(md, s->cfg->train.meta_dropout, (uint64_t)s->cfg->run.seed, &s->data.enc);
}

void df_meta_dropout_free(df_meta_dropout *md) {
    free(md->missing_row);
    memset(md, 0, sizeof *md);
}

int df_meta_dropout_drops(const df_meta_dropout *md, long step, int j) {
    /* uniform in [0, 1): never below 0, always below 1 */
    return md->p > 0 && df_uniform_at(df_rng_subkey(md->key, (uint64_t)step), (uint64_t)j) < md->p;
}

void df_meta_dropout_apply(const df_meta_dropout *md, df_model *m, const df_batch *b, long step) {
    if (!md->missing_row) return;
    DF_ASSERT(m->meta >= 0 && m->spec.meta_dim == md->dim);
    float *x = df_graph_out(m->g, m->meta); /* (n, meta_dim) */
    for (int i = 0; i < b->n; i++)
        if (df_meta_dropout_drops(md, step, b->offset + i))
            memcpy(x + (size_t)i * md->dim, md->missing_row, (size_t)md->dim * sizeof(float));
}
