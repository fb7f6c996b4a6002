/* study.h: a study (`dermfuse compare STUDY.yaml`): every model of a list trained with every seed, each run
 * skipped when finished and resumed when interrupted, then compared. study_run.c says what a study file holds
 * and what it writes; study_config.c binds the file, study_tables.c writes the tables, study_report.c the
 * HTML report. */
#ifndef DF_STUDY_H
#define DF_STUDY_H

#include "core/limits.h"

#include <stdio.h>

#include "train/analysis/analysis.h"
#include "train/session/evaluate.h"
#include "train/metrics/metrics.h"
#include "train/report/report.h"
#include "train/session/run_data.h"

#define DF_STUDY_MAX_MODELS DF_LIMIT_STUDY_MODELS
#define DF_STUDY_MAX_SEEDS DF_LIMIT_STUDY_SEEDS

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
    int n_sets;
    char *sets[32];
    int n_transfer_sets;
    char *transfer_sets[16]; /* added to the runs of models listed as "<model>+transfer" */
    int bootstrap;
    int gradcam_samples;  /* test images explained per model (first seed) */
    int gradcam_overlays; /* overlays kept per model for the report */
    df_study_eval eval;
} df_study_cfg;

/* One run (model x seed): its test predictions and metrics, and for the first seed its analyses. */
typedef struct {
    df_predictions p; /* features kept for the first seed */
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
    struct df_study_calib *calib;   /* calibration on the test split (study_eval.h); NULL until evaluated */
    struct df_study_groups *groups; /* subgroups of the test split and each one's metrics; NULL: none */
} df_study_run;

/* The study's verdict (df_study_analyse), for results.md and the report: per metric (AUC, balanced
 * accuracy, F1) the best model by its mean over seeds, and each model against the baseline. The first seed's
 * test split gives the p-values (DeLong for AUC, McNemar on paired correctness for balanced accuracy and F1),
 * Holm-adjusted over the models compared with the baseline; every seed's split is tested the same way to
 * count the seeds where a model beats the baseline, and where it does so with Holm p < 0.05. */
#define DF_VERDICT_METRICS 3
extern const char *const df_study_verdict_metrics[DF_VERDICT_METRICS]; /* "AUC", "balanced accuracy", "F1" */
typedef struct {
    int baseline;                  /* index in models, -1: no baseline listed (no tests) */
    int best[DF_VERDICT_METRICS];  /* the best model by mean over seeds */
    double mean[DF_VERDICT_METRICS][DF_STUDY_MAX_MODELS];   /* mean over seeds */
    double diff[DF_VERDICT_METRICS][DF_STUDY_MAX_MODELS];   /* first seed: model - baseline */
    double p[DF_VERDICT_METRICS][DF_STUDY_MAX_MODELS];      /* first seed, raw; NaN for the baseline */
    double p_holm[DF_VERDICT_METRICS][DF_STUDY_MAX_MODELS]; /* first seed, Holm-adjusted */
    int n_better[DF_VERDICT_METRICS][DF_STUDY_MAX_MODELS];  /* seeds where the model beats the baseline */
    int n_significant[DF_VERDICT_METRICS][DF_STUDY_MAX_MODELS]; /* ... with Holm p < 0.05 */
    int n_seeds, n_compared;       /* n_compared: models tested against the baseline */
    int min_class_test;            /* samples of the smallest class in the first seed's test split */
    int warn_one_seed;             /* one seed: no spread, no agreement over seeds */
    int warn_small_test;           /* min_class_test < 100: the tests have little power */
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

/* The run config of a model entry ("intermediate", "image+transfer") and seed. */
int df_study_run_config(const df_study_cfg *st, const char *model, long seed, df_run_config *cfg, df_error *err);
/* The run config with model's keys (the study's sets, and its transfer sets for a "+transfer" entry) but
 * model.fusion = fusion and the run name of entry name_entry: equal to name_entry's own config exactly when
 * the two entries' runs differ in nothing but the model (how late fusion checks a run it would reuse). */
int df_study_run_config_as(const df_study_cfg *st, const char *model, df_fusion fusion, const char *name_entry,
                           long seed, df_run_config *cfg, df_error *err);

/* Trains, evaluates and analyses every run, then writes the results (df_study_write_results). Collective
 * over the world's ranks (study_dist.c): with one rank it is df_study_evaluate(.., DF_STUDY_TRAIN |
 * DF_STUDY_EVALUATE, ..). Fails when the world's size is not a multiple of opts->ranks_per_run. */
int df_study_compare(const df_study_cfg *st, const df_study_opts *opts, df_error *err);

/* What df_study_run_one does with a run: train it (skipped when finished), evaluate and analyse it (it must
 * be finished when it is not also trained here). */
enum { DF_STUDY_TRAIN = 1, DF_STUDY_EVALUATE = 2 };

/* Run `index` (seed-major: seed index * n_models + model index) of the study; r and data are filled when
 * evaluating. Its message names the model and seed. */
int df_study_run_one(const df_study_cfg *st, int index, const df_study_opts *opts, unsigned what, df_study_run *r,
                     df_study_data *data, df_error *err);

/* The order the runs train in: seed by seed, within a seed the models other than late fusion (phase 0), then
 * late fusion (phase 1), which may reuse the phase-0 runs of its seed. Fills order[0..n) with run indices and
 * phase[0..n) with their phases (n = n_models * n_seeds); returns n. */
int df_study_run_order(const df_study_cfg *st, int *order, int *phase);

/* Every run in df_study_run_order with `what`, then the analysis and the results (df_study_write_results). */
int df_study_evaluate(const df_study_cfg *st, const df_study_opts *opts, unsigned what, df_error *err);

/* Fills every run's tests (auc_lo .. mcnemar_p) and data->verdict from the runs res (seed-major). */
void df_study_analyse(const df_study_cfg *st, df_study_run *res, df_study_data *data);

/* The verdict as text (Markdown bullets, readable as plain text): the baseline and tests used, per metric the
 * best model and every model against the baseline, and the warnings. */
void df_study_verdict_text(const df_study_cfg *st, const df_study_run *res, const df_study_data *d, FILE *f);

/* results.md, results.csv, analysis.csv and report.html in <out_dir>/<name>, from all runs res (seed-major). */
int df_study_write_results(const df_study_cfg *st, const df_study_run *res, const df_study_data *data,
                           df_error *err);

/* Writes <study dir>/report.html from the study's first-seed runs res[0 .. n_models), its tables and its own
 * sections after them (calibration, subgroups). */
int df_study_write_report(const df_study_cfg *st, const df_study_run *res, const df_study_data *data,
                          const df_report_table *tables, int n_tables, const df_report_section *sections,
                          int n_sections, const char *path, df_error *err);

#endif
