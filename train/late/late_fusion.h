/* late_fusion.h: decision-level fusion, built above the trainer. An image model and a metadata model are
 * trained separately, as sub-runs <run>/image and <run>/meta of the late-fusion run, each with its own early
 * stopping; then their class probabilities on the validation and test splits are combined:
 *   mean       p = (p_image + p_meta) / 2
 *   weighted   p = w p_image + (1 - w) p_meta, w on a grid of 0, 0.05, ..., 1 chosen on validation data by
 *              the monitored metric
 *   stacking   multinomial logistic regression on [log p_image, log p_meta], fitted on validation data
 * The parts' checkpoints are those train.test_checkpoint names (best or last) in both the validation
 * predictions and the test predictions. The combination is evaluated on the test split and written like any
 * run's test results; test_metrics.json also holds "late_combine", "checkpoint" and, for mean and weighted,
 * "late_image_weight". Without a validation split only mean can combine (the config loader refuses the others).
 *
 * A study that trains the image and metadata models anyway hands their finished runs over as the parts
 * (df_late_parts): late fusion then trains no sub-runs and combines those runs' test checkpoints. */
#ifndef DF_LATE_FUSION_H
#define DF_LATE_FUSION_H

#include "train/session/evaluate.h"
#include "train/session/run_data.h"
#include "train/session/trainer.h"

/* Where late fusion's parts are: each NULL for its own sub-run <run>/<part>, or the config of a finished run
 * of that part (trained with the same keys but model.fusion and run.name) whose directory is used. */
typedef struct {
    const df_run_config *image, *meta;
} df_late_parts;

/* Trains both parts (skipping a finished one, resuming as opts says), then combines them on the test split
 * and writes the late-fusion run's config.yaml, test_metrics.json and test_predictions.csv. */
int df_late_train(const df_run_config *cfg, const df_train_opts *opts, int *stopped, df_error *err);
/* The same with the parts given (parts may be NULL): a given part is not trained, only its checkpoint read. */
int df_late_train_parts(const df_run_config *cfg, const df_late_parts *parts, const df_train_opts *opts,
                        int *stopped, df_error *err);

/* Combines two models' probabilities (n x K) into out by the rule, fitting on the validation pair; *weight is
 * the image model's weight (NaN for stacking). */
int df_late_combine(df_late_rule rule, df_metric_id monitor, const df_predictions *valid_img,
                    const df_predictions *valid_meta, const df_predictions *img, const df_predictions *meta,
                    df_predictions *out, double *weight, df_error *err);

/* Predictions of a finished late-fusion run on one split: its two parts' `checkpoint` on the validation
 * split fit the combination, which is applied to `split`. With keep_features, the features are the two
 * parts' penultimate features side by side. rd (may be NULL) receives the run's data. */
int df_late_predict(const df_run_config *cfg, const char *checkpoint, int split, int keep_features,
                    df_predictions *out, df_run_data *rd, double *weight, df_error *err);
/* The same with the parts given (parts may be NULL). */
int df_late_predict_parts(const df_run_config *cfg, const df_late_parts *parts, const char *checkpoint, int split,
                          int keep_features, df_predictions *out, df_run_data *rd, double *weight, df_error *err);

/* A copy of cfg naming late fusion's part (DF_FUSION_IMAGE or DF_FUSION_META), trained in
 * <run dir>/<part name>; strings are borrowed from cfg except the run name, written into name. */
df_run_config df_late_part_config(const df_run_config *cfg, df_fusion part, char *name, size_t size);
/* The config of a part as parts says: the given run's config, or df_late_part_config's. */
df_run_config df_late_part_of(const df_run_config *cfg, const df_late_parts *parts, df_fusion part, char *name,
                              size_t size);

#endif
