/* run_splits.c: see run_splits.h. */
#include "train/config/run_splits.h"

#include <stdarg.h>
#include <stdio.h>

/* Fails with the message prefixed by where the key `at` was given (file:line:column), or by the config file
 * when the key was left at its default (at NULL). */
static int fail_at(const df_run_config *c, const df_cfg_node *at, df_error *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail_at(const df_run_config *c, const df_cfg_node *at, df_error *err, const char *fmt, ...) {
    char msg[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return at ? df_cfg_fail(err, at, "%s", msg) : df_fail(err, "%s: %s", c->source, msg);
}

int df_run_has_validation(const df_data_section *d) {
    return d->split == DF_SPLIT_PUBLISHED ? d->valid_csv[0] != '\0' : d->valid_fraction > 0;
}

/* milk10k is one set of files under data.root: its splits are always carved (holdout). */
static int resolve_milk10k(df_run_config *c, const df_cfg_node *root, df_error *err) {
    df_data_section *d = &c->data;
    const char *const keys[3] = {"data.train_csv", "data.valid_csv", "data.test_csv"};
    const char *const values[3] = {d->train_csv, d->valid_csv, d->test_csv};
    for (int i = 0; i < 3; i++)
        if (values[i][0])
            return fail_at(c, df_cfg_find(root, keys[i]), err, "%s is for layouts isic and csv; layout milk10k "
                           "reads its files from data.root and carves validation and test out of them (data.split: "
                           "holdout)", keys[i]);
    const df_cfg_node *split = df_cfg_find(root, "data.split");
    if (split && d->split == DF_SPLIT_PUBLISHED)
        return fail_at(c, split, err, "data.split: published needs split files, which layout milk10k does not "
                       "have; use data.split: holdout");
    d->split = DF_SPLIT_HOLDOUT;
    return 0;
}

/* k-fold cross-validation: the test split is one fold of train_csv, so a test file or test fraction would
 * contradict it. */
static int resolve_folds(df_run_config *c, const df_cfg_node *root, df_error *err) {
    df_data_section *d = &c->data;
    const df_cfg_node *folds = df_cfg_find(root, "data.folds"), *tf = df_cfg_find(root, "data.test_fraction");
    if (d->folds < 2)
        return fail_at(c, folds, err, "data.folds is %d: a cross-validation needs at least 2 folds (0: off)", d->folds);
    if (d->fold >= d->folds)
        return fail_at(c, df_cfg_find(root, "data.fold"), err, "data.fold is %d but data.folds is %d: the folds are "
                       "numbered 0 .. %d", d->fold, d->folds, d->folds - 1);
    if (d->test_csv[0])
        return fail_at(c, df_cfg_find(root, "data.test_csv"), err, "data.test_csv is given but data.folds is %d, "
                       "whose test split is a fold of data.train_csv; remove one of them", d->folds);
    if (tf && d->test_fraction > 0)
        return fail_at(c, tf, err, "data.test_fraction is %g but data.folds is %d, whose test split is one fold "
                       "(1/%d of data.train_csv); remove data.test_fraction (or set it to 0)", d->test_fraction,
                       d->folds, d->folds);
    d->test_fraction = 0;
    if (d->split == DF_SPLIT_HOLDOUT && d->valid_fraction + 1.0 / d->folds >= 1)
        return fail_at(c, df_cfg_find(root, "data.valid_fraction"), err, "data.valid_fraction (%g) + one fold (1/%d) "
                       "must be below 1", d->valid_fraction, d->folds);
    return 0;
}

int df_run_resolve_splits(df_run_config *c, const df_cfg_node *root, df_error *err) {
    df_data_section *d = &c->data;
    const df_cfg_node *vf = df_cfg_find(root, "data.valid_fraction"), *tf = df_cfg_find(root, "data.test_fraction");
    if (d->layout == DF_LAYOUT_MILK10K) {
        if (resolve_milk10k(c, root, err)) return -1;
    } else if (d->root[0]) {
        return fail_at(c, df_cfg_find(root, "data.root"), err, "data.root is for layout milk10k; layout %s reads "
                       "data.train_csv", df_layout_names[d->layout]);
    }
    if (d->split == DF_SPLIT_PUBLISHED) {
        if (vf && d->valid_fraction > 0)
            return fail_at(c, vf, err, "data.valid_fraction is for data.split: holdout; with split: published the "
                           "validation split is data.valid_csv (empty: none), so remove data.valid_fraction");
        d->valid_fraction = 0;
    } else if (d->valid_csv[0]) {
        return fail_at(c, df_cfg_find(root, "data.valid_csv"), err, "data.valid_csv is given but data.split is "
                       "holdout, which carves validation out of data.train_csv (data.valid_fraction); use data.split: "
                       "published to validate on data.valid_csv");
    }
    if (d->folds) {
        if (resolve_folds(c, root, err)) return -1;
    } else if (d->fold != 0) {
        return fail_at(c, df_cfg_find(root, "data.fold"), err, "data.fold is %d; it chooses the test fold of a "
                       "cross-validation, but data.folds is 0 (off); set data.folds to the number of folds", d->fold);
    } else if (d->test_csv[0]) {
        if (tf && d->test_fraction > 0)
            return fail_at(c, tf, err, "data.test_fraction is %g but data.test_csv is given, and is the test "
                           "split; remove data.test_fraction (or set it to 0)", d->test_fraction);
        d->test_fraction = 0;
    } else if (d->test_fraction == 0) {
        return fail_at(c, tf, err, "data.test_fraction is 0 and data.test_csv is empty: a run needs a test split");
    }
    if (d->split == DF_SPLIT_HOLDOUT && d->valid_fraction + d->test_fraction >= 1)
        return fail_at(c, vf ? vf : tf, err, "data.valid_fraction (%g) + data.test_fraction (%g) must be below 1",
                       d->valid_fraction, d->test_fraction);
    return 0;
}

int df_run_check_validation_keys(const df_run_config *c, const df_cfg_node *root, df_error *err) {
    if (df_run_has_validation(&c->data)) return 0;
    const char *none = c->data.split == DF_SPLIT_PUBLISHED ? "data.valid_csv is empty (data.split: published)"
                                                            : "data.valid_fraction is 0 (data.split: holdout)";
    if (c->train.test_checkpoint == DF_TEST_BEST)
        return fail_at(c, df_cfg_find(root, "train.test_checkpoint"), err, "%s, so the run has no validation split "
                       "and no best epoch; set train.test_checkpoint: last to test the final weights", none);
    if (c->train.patience > 0)
        return fail_at(c, df_cfg_find(root, "train.patience"), err, "train.patience is %d but %s: there is no "
                       "validation metric to stop early on; set train.patience: 0", c->train.patience, none);
    if (c->model.fusion == DF_FUSION_LATE && c->model.late_combine != DF_LATE_MEAN)
        return fail_at(c, df_cfg_find(root, "model.late_combine"), err, "model.late_combine '%s' is fitted on the "
                       "validation split, but %s; use model.late_combine: mean",
                       df_late_rule_names[c->model.late_combine], none);
    return 0;
}
