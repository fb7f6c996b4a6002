/* split.h: seeded, stratified, grouped splits of a df_dataset.
 *
 * Whole groups (d->groups: patient or lesion; every sample its own group when d->groups is NULL) are
 * assigned, so a group never straddles two sides. The groups are put in a seeded random order (stream
 * DF_STREAM_SPLIT), then larger groups first, and each group goes to the side or fold whose count of the
 * group's majority class lags furthest behind its target (ties: the side furthest behind in total, then the
 * lowest index). Class proportions therefore follow the overall ones as closely as the group sizes allow.
 * The result depends only on the samples, their order, and the seed. */
#ifndef DF_SPLIT_H
#define DF_SPLIT_H

#include <stdint.h>

#include "data/table/dataset.h"

typedef struct {
    int *train, n_train; /* dataset sample indices, ascending */
    int *test, n_test;
} df_split;

/* Splits samples idx[0..n) (all samples when idx is NULL) into train and test with test_fraction (0 < f < 1)
 * of each class in test. Fails when a side would be empty. */
int df_split_holdout(const df_dataset *d, const int *idx, int n, double test_fraction, uint64_t seed,
                     df_split *out, df_error *err);

/* Assigns samples idx[0..n) (all when idx is NULL) to k folds: fold_of[i] in 0..k-1 for idx[i]. Fails when
 * k < 2 or a fold would be empty. */
int df_split_kfold(const df_dataset *d, const int *idx, int n, int k, uint64_t seed, int *fold_of,
                   df_error *err);

/* Fold `fold` of a k-fold assignment as a split: test = that fold, train = the others. */
void df_split_fold(const int *idx, int n, const int *fold_of, int fold, df_split *out);

void df_split_free(df_split *s);

#endif
