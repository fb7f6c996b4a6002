/* predict_ranks.h: a split's predictions shared out over the training ranks (df_dist_training).
 *
 * Rank r of N predicts the split's evaluation batches [nb r / N, nb (r + 1) / N): the very batches, of the
 * very sizes, a single process would run, so every sample's outputs are the same bits as there (inference
 * mode uses batch norm's running statistics; nothing else mixes samples). The pieces are gathered in rank
 * order, which is the split's order, the batch losses added in batch order, and the whole result is sent to
 * every rank: each computes the same metrics and so takes the same decisions (best epoch, early stopping).
 * One rank: df_predict_split. */
#ifndef DF_PREDICT_RANKS_H
#define DF_PREDICT_RANKS_H

#include "train/session/evaluate.h"

int df_predict_ranks(df_model *m, df_loader *l, int keep_features, df_predictions *out, df_error *err);

#endif
