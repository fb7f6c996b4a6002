/* meta_dropout.h: train.meta_dropout: with probability p per training sample and step, the sample's metadata
 * fed to the model are all encoded as missing (data/table/meta.h's missing encoding, the row a sample with
 * every field empty has), so that a model that uses metadata learns to do without them.
 *
 * Whether sample j of the whole batch (j counted over the ranks' parts, so the draw does not depend on the
 * rank count) is dropped at global step t is draw j of the stream subkey(key(seed, META_DROPOUT), t): a
 * function of the run seed and the step alone, which the checkpoint holds, so resume stays exact. p = 0 drops
 * nothing and changes no bit; p = 1 drops every sample. */
#ifndef DF_META_DROPOUT_H
#define DF_META_DROPOUT_H

#include <stdint.h>

#include "data/loader.h"
#include "train/session/session.h"

typedef struct {
    float p;             /* 0: off */
    uint64_t key;
    float *missing_row;  /* (meta_dim): every feature missing; NULL when off */
    int dim;
} df_meta_dropout;

/* Off (nothing to free) unless train.meta_dropout > 0 and the session's model takes metadata. */
void df_meta_dropout_init(df_meta_dropout *md, const df_session *s);
/* The same from its parts: probability p, the run seed and the encoder (off when p is 0 or enc->dim 0). */
void df_meta_dropout_setup(df_meta_dropout *md, double p, uint64_t seed, const df_meta_encoder *enc);
void df_meta_dropout_free(df_meta_dropout *md);

/* Whether the sample at place j of the whole batch of global step `step` is dropped. */
int df_meta_dropout_drops(const df_meta_dropout *md, long step, int j);

/* After df_model_feed(m, b): rewrites the metadata input rows of b's dropped samples. */
void df_meta_dropout_apply(const df_meta_dropout *md, df_model *m, const df_batch *b, long step);

#endif
