/* precise_bn.h: train.precise_bn: every batch norm's running statistics recomputed with the model's current
 * weights before the model is evaluated or saved (layers/bn_precise.h says how they are combined).
 *
 * The statistics are taken over the first N batches of a fixed shuffled order of the training split (epoch
 * 0's, whatever the epoch in progress), with the evaluation transform (no augmentation, no metadata dropout),
 * in the model's training-mode forward over the ranks as training runs it (each rank its part of each batch,
 * sync batch norm as train.sync_bn says; the moments are combined over all ranks either way). Nothing but the
 * running statistics changes: no weight, no optimizer state, and not the dropout counter or the sample offset
 * that training goes on from. So the statistics are a function of the weights and the data alone, which keeps
 * resume exact: a checkpoint written mid-epoch holds them, and the run that did not stop there recomputes the
 * same values before anything reads them. */
#ifndef DF_PRECISE_BN_H
#define DF_PRECISE_BN_H

#include "train/session/session.h"

/* Recomputes the running statistics over min(n_batches, the training split's batches) batches; nothing when
 * n_batches is 0 or the model has no batch norm. Collective over the training ranks. */
int df_session_precise_bn(df_session *s, int n_batches, df_error *err);

#endif
