/* evaluate.c: see evaluate.h. */
#include "train/session/evaluate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void df_model_feed(df_model *m, const df_batch *b) {
    df_graph *g = m->g;
    df_graph_set_batch(g, b->n);
    for (int v = 0; v < 2; v++) {
        if (m->image[v] < 0) continue;
        DF_ASSERT(b->images[v]);
        size_t per = df_shape_per_sample(g->nodes[m->image[v]].shape);
        memcpy(df_graph_out(g, m->image[v]), b->images[v], (size_t)b->n * per * sizeof(float));
    }
    if (m->meta >= 0) {
        DF_ASSERT(b->meta);
        memcpy(df_graph_out(g, m->meta), b->meta, (size_t)b->n * (size_t)m->spec.meta_dim * sizeof(float));
    }
    memcpy(df_graph_out(g, m->target), b->labels, (size_t)b->n * sizeof(float));
}

int df_predict_split(df_model *m, df_loader *l, int keep_features, df_predictions *out, df_error *err) {
    int nb = df_loader_batches_per_epoch(l);
    double *batch_loss = df_malloc(sizeof(double) * (size_t)(nb ? nb : 1));
    int rc = df_predict_batches(m, l, 0, nb, keep_features, out, batch_loss, err);
    double loss_sum = 0.0;
    for (int b = 0; rc == 0 && b < nb; b++) loss_sum += batch_loss[b];
    if (rc == 0) out->loss = out->n ? loss_sum / out->n : NAN;
    free(batch_loss);
    return rc;
}

int df_predict_batches(df_model *m, df_loader *l, int first, int end, int keep_features, df_predictions *out,
                       double *batch_loss, df_error *err) {
    memset(out, 0, sizeof *out);
    int K = m->spec.n_classes, cap = 0, fdim = (int)df_shape_per_sample(m->g->nodes[m->features].shape);
    out->K = K;
    out->feature_dim = keep_features ? fdim : 0;
    df_graph_set_training(m->g, 0);
    df_loader_start_range(l, 0, first, end);
    const df_batch *b;
    int rc;
    while ((rc = df_loader_next(l, &b, err)) == 1) {
        if (out->n + b->n > cap) {
            cap = 2 * (out->n + b->n);
            out->prob = df_realloc(out->prob, (size_t)cap * K * sizeof(float));
            out->labels = df_realloc(out->labels, (size_t)cap * sizeof(int));
            out->indices = df_realloc(out->indices, (size_t)cap * sizeof(int));
            if (keep_features) out->features = df_realloc(out->features, (size_t)cap * fdim * sizeof(float));
        }
        df_model_feed(m, b);
        df_graph_forward(m->g);
        df_model_probabilities(m, out->prob + (size_t)out->n * K);
        batch_loss[b->batch - first] = (double)m->g->nodes[m->loss].out[0] * b->n;
        for (int i = 0; i < b->n; i++) {
            out->labels[out->n + i] = (int)b->labels[i];
            out->indices[out->n + i] = b->indices[i];
        }
        if (keep_features)
            memcpy(out->features + (size_t)out->n * fdim, df_graph_out(m->g, m->features),
                   (size_t)b->n * fdim * sizeof(float));
        out->n += b->n;
    }
    if (rc < 0) {
        df_predictions_free(out);
        return -1;
    }
    return 0;
}

void df_predictions_free(df_predictions *p) {
    free(p->prob);
    free(p->labels);
    free(p->indices);
    free(p->features);
    memset(p, 0, sizeof *p);
}

int df_predictions_metrics(const df_predictions *p, df_metrics *m, df_error *err) {
    return df_metrics_compute(p->prob, p->labels, p->n, p->K, 0.5, m, err);
}

