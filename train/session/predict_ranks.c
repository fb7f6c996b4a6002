/* predict_ranks.c: see predict_ranks.h. */
#include "train/session/predict_ranks.h"

#include <math.h>
#include <stdlib.h>

#include "core/dist/dist.h"

/* Every rank's bytes in rank order, on every rank (a gather to rank 0, then its broadcast); frees buf. */
static void *all_gather(const df_dist *d, void *buf, size_t bytes, size_t *total) {
    int n = df_dist_size(d);
    size_t *sizes = df_malloc(sizeof(size_t) * (size_t)n);
    void *all = df_dist_gather(d, buf, bytes, 0, sizes);
    *total = 0;
    if (df_dist_rank(d) == 0)
        for (int r = 0; r < n; r++) *total += sizes[r];
    df_dist_bcast(d, total, sizeof *total, 0);
    if (df_dist_rank(d) != 0) all = df_malloc(*total ? *total : 1);
    df_dist_bcast(d, all, *total, 0);
    free(sizes);
    free(buf);
    return all;
}

int df_predict_ranks(df_model *m, df_loader *l, int keep_features, df_predictions *out, df_error *err) {
    const df_dist *d = df_dist_training();
    int N = df_dist_size(d), r = df_dist_rank(d);
    if (N == 1) return df_predict_split(m, l, keep_features, out, err);
    long nb = df_loader_batches_per_epoch(l);
    int first = (int)(nb * r / N), end = (int)(nb * (r + 1) / N);
    double *batch_loss = df_malloc(sizeof(double) * (size_t)(end > first ? end - first : 1));
    if (df_predict_batches(m, l, first, end, keep_features, out, batch_loss, err)) {
        free(batch_loss);
        return -1;
    }
    size_t n = (size_t)out->n, K = (size_t)out->K, F = (size_t)out->feature_dim, bytes;
    out->prob = all_gather(d, out->prob, n * K * sizeof(float), &bytes);
    out->n = (int)(bytes / (K * sizeof(float)));
    out->labels = all_gather(d, out->labels, n * sizeof(int), &bytes);
    out->indices = all_gather(d, out->indices, n * sizeof(int), &bytes);
    if (keep_features) out->features = all_gather(d, out->features, n * F * sizeof(float), &bytes);
    batch_loss = all_gather(d, batch_loss, (size_t)(end - first) * sizeof(double), &bytes);
    double loss_sum = 0.0;
    for (long b = 0; b < nb; b++) loss_sum += batch_loss[b];
    out->loss = out->n ? loss_sum / out->n : NAN;
    free(batch_loss);
    return 0;
}
