/* study.h: a study (`dermfuse compare STUDY.yaml`): every model of a list trained with every seed, each run
 * skipped when finished and resumed when interrupted, then compared. study_run.c says what a study file holds
 * and what it writes; study_config.c binds the file, study_tables.c writes the tables, study_report.c the
 * HTML report. */
#ifndef DF_STUDY_H
#define DF_STUDY_H

#include "core/limits.h"

#include <stdio.h>

#include "train/analysis/analysis.h"
#include "train/late/late_fusion.h"
#include "train/session/evaluate.h"
#include "train/metrics/metrics.h"
#include "train/report/report.h"
#include "train/session/run_data.h"
#include "train/study/study_table.h"

#define DF_STUDY_MAX_MODELS DF_LIMIT_STUDY_MODELS
#define DF_STUDY_MAX_SEEDS DF_LIMIT_STUDY_SEEDS
#define DF_STUDY_MAX_FOLDS 20
#define DF_STUDY_MAX_REPS DF_LIMIT_STUDY_REPLICATES

/* The study file's eval section: calibration and subgroup analysis (study_eval.h). */
typedef struct {
    int calibrate;            /* fit a temperature on each run's validation split */
    int calibration_bins;     /* bins of the ECE and the reliability diagrams */
    int subgroups;            /* per-subgroup metrics over the metadata columns */
    int subgroup_min_samples, subgroup_min_class; /* below these a group is reported as too small */
} df_study_eval;

typedef struct {
    char *name, *out_dir, *config;
    df_fusion baseline;       /* the model the paired tests compare with */
    int baseline_index;       /* its place in models, -1 when it is not listed (set by df_study_load) */
    int n_models;
    char *models[DF_STUDY_MAX_MODELS];
    int n_seeds;
    long seeds[DF_STUDY_MAX_SEEDS];
    int folds; /* k-fold cross-validation of the training file per seed (data.folds); 0: one split per seed */
    int n_sets;
    char *sets[32];
    int n_transfer_sets;
    char *transfer_sets[16]; /* added to the runs of models listed as "<model>+transfer" */
    int bootstrap;
    int gradcam_samples;  /* test images explained per model (first seed) */
    int gradcam_overlays; /* overlays kept per model for the report */
    df_study_eval eval;
} df_study_cfg;

/* One run (model x replicate): its test predictions and metrics, and for the first replicate its analyses. */
typedef struct {
    df_predictions p; /* features kept for the first replicate */
    df_metrics m;
    double seconds, images_per_second; /* images_per_second: NaN for the metadata model (no images) */
    double late_weight; /* late fusion's image weight (mean: 0.5, weighted: chosen on validation), else NaN */
    int n_split[DF_N_SPLITS];
    int has_sep;
    df_separability sep;
    int has_cam;
    df_gradcam_summary cam;
    int late_combine;   /* late fusion's rule (df_late_rule), -1 for other models */
    /* Tests on the run's own test split (df_study_analyse): the AUC's 95% bootstrap interval, and DeLong's
     * (AUC, binary only) and McNemar's (paired correctness) p against the baseline's run of the same seed;
     * NaN where undefined, for the baseline itself, or without a baseline. */
    double auc_lo, auc_hi, delong_p, mcnemar_p;
    int n_curves;                 /* learning curves read (late fusion: its two parts) */
    df_report_curve curves[2];
    char curve_names[2][160];
    /* The test split with metadata withheld (study_missing.c): each field alone, in data.numeric then
     * data.categorical order, then "all"; n_masked 0 for a model without metadata. */
    int n_masked;
    char **masked_names;               /* (n_masked) the field's column, or "all" */
    double *masked_auc, *masked_bacc;  /* (n_masked) */
    struct df_study_calib *calib;   /* calibration on the test split (study_eval.h); NULL until evaluated */
    struct df_study_groups *groups; /* subgroups of the test split and each one's metrics; NULL: none */
} df_study_run;

/* The study's verdict (df_study_analyse), for results.md and the report: per metric (AUC, balanced
 * accuracy, F1) the best model by its mean over replicates, and each model against the baseline. The first
 * replicate's test split gives the p-values (DeLong for AUC, McNemar on paired correctness for balanced
 * accuracy and F1), Holm-adjusted over the models compared with the baseline; every replicate's split is tested
 * the same way to count the replicates where a model beats the baseline, and where it does so with Holm
 * p < 0.05. With study.folds, the differences over all folds and seeds also go through the corrected resampled
 * t-test (train/metrics/resampled_ttest.h), and DeLong compares the AUCs of each model's out-of-fold
 * predictions pooled over the first seed's folds (every sample of the training file once). */
#define DF_VERDICT_METRICS 3
extern const char *const df_study_verdict_metrics[DF_VERDICT_METRICS]; /* "AUC", "balanced accuracy", "F1" */
typedef struct {
    int baseline;                  /* index in models, -1: no baseline listed (no tests) */
    int best[DF_VERDICT_METRICS];  /* the best model by mean over replicates */
    double mean[DF_VERDICT_METRICS][DF_STUDY_MAX_MODELS];   /* mean over replicates */
    double diff[DF_VERDICT_METRICS][DF_STUDY_MAX_MODELS];   /* first replicate: model - baseline */
    double p[DF_VERDICT_METRICS][DF_STUDY_MAX_MODELS];      /* first replicate, raw; NaN for the baseline */
    double p_holm[DF_VERDICT_METRICS][DF_STUDY_MAX_MODELS]; /* first replicate, Holm-adjusted */
    int n_better[DF_VERDICT_METRICS][DF_STUDY_MAX_MODELS];  /* replicates where the model beats the baseline */
    int n_significant[DF_VERDICT_METRICS][DF_STUDY_MAX_MODELS]; /* ... with Holm p < 0.05 */
    int n_reps, n_compared;        /* n_compared: models tested against the baseline */
    int min_class_test;            /* samples of the smallest class in the first replicate's test split */
    int warn_one_seed;             /* one replicate: no spread, no agreement over splits */
    int warn_small_test;           /* min_class_test < 100: the tests have little power */
    /* Cross-validation (study.folds; NaN otherwise or for the baseline): mean difference from the baseline over
     * the replicates, the corrected t and its p, Holm-adjusted over the models; the test/train size ratio used.
     * pooled_*: the first seed's out-of-fold predictions, n_pooled samples. */
    double cv_diff[DF_VERDICT_METRICS][DF_STUDY_MAX_MODELS];
    double cv_t[DF_VERDICT_METRICS][DF_STUDY_MAX_MODELS];
    double cv_p[DF_VERDICT_METRICS][DF_STUDY_MAX_MODELS];
    double cv_p_holm[DF_VERDICT_METRICS][DF_STUDY_MAX_MODELS];
    double cv_ratio;
    double pooled_auc[DF_STUDY_MAX_MODELS];
    double pooled_delong_p[DF_STUDY_MAX_MODELS], pooled_delong_p_holm[DF_STUDY_MAX_MODELS];
    int n_pooled;
} df_study_verdict;

/* Facts about the data for the report's text, from the first run. */
typedef struct {
    int K;
    char *class_names[DF_METRICS_MAX_CLASSES];
    df_layout layout;
    df_split_mode split;
    char *source, *group_by;
    int n_views, meta_dim;
    double valid_fraction, test_fraction;
    int test_file, validated;      /* the test split is a file; the runs have a validation split */
    df_test_checkpoint test_checkpoint;
    df_study_verdict verdict;
} df_study_data;

typedef struct {
    int stop_after_steps; /* testing aid: stop each run after this many steps, as an interruption would */
    int ranks_per_run;    /* ranks that train one run together (compare --ranks-per-run); 0 means 1 */
} df_study_opts;

/* The schema a study file is bound through (study_config.c); `dermfuse config-keys` prints it. */
struct df_cfg_section;
extern const struct df_cfg_section df_study_schema;

/* Loads and checks a study file (with n_sets "study.key=value" overrides). */
int df_study_load(const char *path, const char *const *sets, int n_sets, df_study_cfg *st, df_error *err);
void df_study_release(df_study_cfg *st);

/* Replicates: every model is trained once per seed, or with study.folds once per fold of each seed's k-fold
 * split (repeated cross-validation), numbered seed-major: replicate r is seed r / k, fold r % k. */
int df_study_n_reps(const df_study_cfg *st);
long df_study_rep_seed(const df_study_cfg *st, int rep);
int df_study_rep_fold(const df_study_cfg *st, int rep); /* -1 without folds */
/* "seed 3" or "seed 3, fold 2", for messages and tables. */
const char *df_study_rep_name(const df_study_cfg *st, int rep, char *buf, size_t size);
/* The fold column of a CSV row of replicate rep: "" without study.folds. */
const char *df_study_fold_cell(const df_study_cfg *st, int rep, char *buf, size_t size);

/* The run config of a model entry ("intermediate", "image+transfer") and replicate: run.seed, and with folds
 * data.folds and data.fold, set; run.name <study>/<model>-seed<s>[-fold<f>]. */
int df_study_run_config(const df_study_cfg *st, const char *model, int rep, df_run_config *cfg, df_error *err);
/* The run config with model's keys (the study's sets, and its transfer sets for a "+transfer" entry) but
 * model.fusion = fusion and the run name of entry name_entry: equal to name_entry's own config exactly when
 * the two entries' runs differ in nothing but the model (how late fusion checks a run it would reuse). */
int df_study_run_config_as(const df_study_cfg *st, const char *model, df_fusion fusion, const char *name_entry,
                           int rep, df_run_config *cfg, df_error *err);

/* Trains, evaluates and analyses every run, then writes the results (df_study_write_results). Collective
 * over the world's ranks (study_dist.c): with one rank it is df_study_evaluate(.., DF_STUDY_TRAIN |
 * DF_STUDY_EVALUATE, ..). Fails when the world's size is not a multiple of opts->ranks_per_run. */
int df_study_compare(const df_study_cfg *st, const df_study_opts *opts, df_error *err);

/* What df_study_run_one does with a run: train it (skipped when finished), evaluate and analyse it (it must
 * be finished when it is not also trained here). */
enum { DF_STUDY_TRAIN = 1, DF_STUDY_EVALUATE = 2 };

/* Run `index` (replicate-major: replicate * n_models + model index) of the study; r and data are filled when
 * evaluating. Its message names the model, seed and fold. */
int df_study_run_one(const df_study_cfg *st, int index, const df_study_opts *opts, unsigned what, df_study_run *r,
                     df_study_data *data, df_error *err);

/* The order the runs train in: replicate by replicate, within one the models other than late fusion (phase 0),
 * then late fusion (phase 1), which may reuse the phase-0 runs of its replicate. Fills order[0..n) with run
 * indices and phase[0..n) with their phases (n = n_models * df_study_n_reps); returns n. */
int df_study_run_order(const df_study_cfg *st, int *order, int *phase);

/* Every run in df_study_run_order with `what`, then the analysis and the results (df_study_write_results). */
int df_study_evaluate(const df_study_cfg *st, const df_study_opts *opts, unsigned what, df_error *err);

/* Fills every run's tests (auc_lo .. mcnemar_p) and data->verdict from the runs res (replicate-major). */
void df_study_analyse(const df_study_cfg *st, df_study_run *res, df_study_data *data);

/* The verdict as text (Markdown bullets, readable as plain text): the baseline and tests used, per metric the
 * best model and every model against the baseline, and the warnings. */
void df_study_verdict_text(const df_study_cfg *st, const df_study_run *res, const df_study_data *d, FILE *f);

/* results.md, results.csv, analysis.csv and report.html in <out_dir>/<name>, from all runs res (replicate-major). */
int df_study_write_results(const df_study_cfg *st, const df_study_run *res, const df_study_data *data,
                           df_error *err);

/* Evaluation with metadata withheld (study_missing.c): fills r's masked_* for cfg's finished run (nothing for
 * a model without metadata), late fusion through parts as df_late_predict_parts takes them. */
int df_study_missing_eval(const df_run_config *cfg, const df_late_parts *parts, df_study_run *r, df_error *err);
void df_study_missing_free(df_study_run *r);

/* The missing-metadata results of all runs res (replicate-major): the CSV text, a report table (no rows when
 * no model uses metadata) and, appended to md, their results.md section. */
typedef struct {
    char *csv;
    df_study_table table;
} df_study_missing;
void df_study_missing_tables(const df_study_cfg *st, const df_study_run *res, FILE *md, df_study_missing *out);
/* Writes <dir>/missing_meta.csv when the table has rows. */
int df_study_missing_write(const df_study_missing *t, const char *dir, df_error *err);
void df_study_missing_release(df_study_missing *t);

/* Writes <study dir>/report.html from the study's first-seed runs res[0 .. n_models), its tables and its own
 * sections after them (calibration, subgroups). */
int df_study_write_report(const df_study_cfg *st, const df_study_run *res, const df_study_data *data,
                          const df_report_table *tables, int n_tables, const df_report_section *sections,
                          int n_sections, const char *path, df_error *err);

#endif
