/* evaluate.h: running a model over a split without training, and the glue between loader batches and the
 * model's input nodes (shared by training, evaluation and prediction). */
#ifndef DF_EVALUATE_H
#define DF_EVALUATE_H

#include "data/loader.h"
#include "train/metrics/metrics.h"
#include "train/model/model.h"

/* Copies a loader batch into the model's inputs and sets the graph's batch size. */
void df_model_feed(df_model *m, const df_batch *b);

typedef struct {
    int n, K;
    float *prob;   /* (n, K) */
    int *labels;   /* (n) */
    int *indices;  /* (n) dataset sample indices */
    float *features; /* (n, feature_dim) when asked for, else NULL */
    int feature_dim;
    double loss;   /* mean loss over the split */
} df_predictions;

/* Runs the model in inference mode over every batch of l's current epoch order (the loader must not shuffle),
 * collecting probabilities and, with keep_features, the penultimate features. */
int df_predict_split(df_model *m, df_loader *l, int keep_features, df_predictions *out, df_error *err);
/* The same over batches [first, end) of l's order only, loss not set: batch_loss[b - first] gets batch b's
 * loss times its sample count, for the caller to add in batch order. */
int df_predict_batches(df_model *m, df_loader *l, int first, int end, int keep_features, df_predictions *out,
                       double *batch_loss, df_error *err);
void df_predictions_free(df_predictions *p);

/* Metrics of predictions (threshold 0.5 for binary). */
int df_predictions_metrics(const df_predictions *p, df_metrics *m, df_error *err);

#endif
