/* run.h: a run of any fusion mode, as the command line and the study see it: one graph's run goes through
 * a session and the trainer, late fusion through its two parts (late_fusion.h). */
#ifndef DF_RUN_H
#define DF_RUN_H

#include "train/session/evaluate.h"
#include "train/session/run_data.h"
#include "train/session/trainer.h"

/* Trains cfg's run (model.fusion decides how); returns as df_train_run does. */
int df_run_train(const df_run_config *cfg, const df_train_opts *opts, int *stopped, df_error *err);

/* Predictions of cfg's finished run on one split from <run dir>/<checkpoint> (late fusion: of its parts,
 * combined), with the penultimate features when keep_features. rd (may be NULL) receives the run's data,
 * for sample ids and class names; *late_weight (may be NULL) the late combination's image weight, NaN
 * otherwise. */
int df_run_predict(const df_run_config *cfg, const char *checkpoint, int split, int keep_features,
                   df_predictions *out, df_run_data *rd, double *late_weight, df_error *err);

#endif
