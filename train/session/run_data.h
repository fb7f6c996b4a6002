/* run_data.h: the data of a run: the datasets named by the config, the train / validation / test splits,
 * and the metadata encoder fitted on the training split, with every split's metadata encoded once.
 *
 * Splits. The test split is the test file if one is given, else a grouped, stratified share (test_fraction)
 * held out of the training file. Validation: `published`, the validation file, or none when it is empty (the
 * split then has no dataset: ds[DF_SPLIT_VALID] is NULL and n 0); `holdout`, a grouped, stratified share
 * (valid_fraction) of the training file, or none when that is 0. Shares are fixed by the run seed. */
#ifndef DF_RUN_DATA_H
#define DF_RUN_DATA_H

#include "data/table/dataset.h"
#include "data/table/meta.h"
#include "train/config/run_config.h"

enum { DF_SPLIT_TRAIN = 0, DF_SPLIT_VALID = 1, DF_SPLIT_TEST = 2, DF_N_SPLITS = 3 };

typedef struct {
    df_dataset *owned[DF_N_SPLITS]; /* distinct datasets loaded (NULL where unused) */
    df_dataset *ds[DF_N_SPLITS];    /* the dataset each split draws from (NULL: the run has no such split) */
    int *idx[DF_N_SPLITS];          /* sample indices into ds[split] */
    int n[DF_N_SPLITS];
    float *meta[DF_N_SPLITS];       /* [ds[split]->n_samples x meta_dim], NULL when meta_dim == 0 */
    df_meta_encoder enc;
    int meta_dim;
    int n_classes;
    int n_views;
    int has_images;
} df_run_data;

extern const char *const df_split_names[DF_N_SPLITS];

/* Loads and splits the data, fits the encoder (or, when encoder_json is non-NULL, restores it: evaluation
 * and prediction encode exactly as training did). with_images 0 skips image paths (metadata-only runs). */
int df_run_data_load(const df_run_config *cfg, int with_images, const char *encoder_json, df_run_data *rd,
                     df_error *err);
void df_run_data_free(df_run_data *rd);

/* A fingerprint of the training split (ids and labels), stored in checkpoints. */
void df_run_data_fingerprint(const df_run_data *rd, char out[17]);
/* Class weights inversely proportional to training class frequency, normalised to mean 1. */
void df_run_data_balanced_weights(const df_run_data *rd, float *w);

#endif
