/* run_splits.h: the rules between the keys that say where a run's validation and test splits come from, and
 * between the keys that need a validation split; applied by df_run_config_load after binding, on the merged
 * config tree, which tells a key the config gave from one left at its default.
 *
 * No key is silently ignored: a key the chosen splits do not use is an error when the config gives it a value
 * that would mean something (naming file:line:column of the key and the key that makes it unused), and is
 * resolved to its "unused" value otherwise (a fraction to 0, milk10k's split to holdout), so the saved config
 * says what the run does and loads again without error. */
#ifndef DF_RUN_SPLITS_H
#define DF_RUN_SPLITS_H

#include "train/config/config_tree.h"
#include "train/config/run_config.h"

/* data.split, valid_csv, test_csv, valid_fraction, test_fraction (and for milk10k the split files) checked
 * and resolved in c. */
int df_run_resolve_splits(df_run_config *c, const df_cfg_node *root, df_error *err);

/* Without a validation split: train.test_checkpoint must be last, train.patience 0, and late fusion's
 * model.late_combine mean (weighted and stacking are fitted on validation predictions). */
int df_run_check_validation_keys(const df_run_config *c, const df_cfg_node *root, df_error *err);

#endif
