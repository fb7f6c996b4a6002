/* study.h: a study (`dermfuse compare STUDY.yaml`): every model of a list trained with every seed, each run
 * skipped when finished and resumed when interrupted, then compared. study_run.c says what a study file holds
 * and what it writes; study_config.c binds the file, study_tables.c writes the tables, study_report.c the
 * HTML report. */
#ifndef DF_STUDY_H
#define DF_STUDY_H

#include "train/analysis/analysis.h"
#include "train/session/evaluate.h"
#include "train/metrics/metrics.h"
#include "train/report/report.h"
#include "train/session/run_data.h"

#define DF_STUDY_MAX_MODELS 8
#define DF_STUDY_MAX_SEEDS 16

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
} df_study_cfg;

/* One run (model x seed): its test predictions and metrics, and for the first seed its analyses. */
typedef struct {
    df_predictions p; /* features kept for the first seed */
    df_metrics m;
    double seconds, images_per_second;
    int n_split[DF_N_SPLITS];
    int has_sep;
    df_separability sep;
    int has_cam;
    df_gradcam_summary cam;
    int n_curves;                 /* learning curves read (late fusion: its two parts) */
    df_report_curve curves[2];
    char curve_names[2][160];
} df_study_run;

/* Facts about the data for the report's text, from the first run. */
typedef struct {
    int K;
    char *class_names[DF_METRICS_MAX_CLASSES];
    df_layout layout;
    df_split_mode split;
    char *source, *group_by;
    int n_views, meta_dim;
    double valid_fraction, test_fraction;
} df_study_data;

typedef struct {
    int stop_after_steps; /* testing aid: stop each run after this many steps, as an interruption would */
} df_study_opts;

/* The schema a study file is bound through (study_config.c); `dermfuse config-keys` prints it. */
struct df_cfg_section;
extern const struct df_cfg_section df_study_schema;

/* Loads and checks a study file (with n_sets "study.key=value" overrides). */
int df_study_load(const char *path, const char *const *sets, int n_sets, df_study_cfg *st, df_error *err);
void df_study_release(df_study_cfg *st);

/* The run config of a model entry ("intermediate", "image+transfer") and seed. */
int df_study_run_config(const df_study_cfg *st, const char *model, long seed, df_run_config *cfg, df_error *err);

/* Trains, evaluates and analyses every run, then writes the results (df_study_write_results). */
int df_study_compare(const df_study_cfg *st, const df_study_opts *opts, df_error *err);

/* results.md, results.csv, analysis.csv and report.html in <out_dir>/<name>, from all runs res (seed-major). */
int df_study_write_results(const df_study_cfg *st, const df_study_run *res, const df_study_data *data,
                           df_error *err);

/* Writes <study dir>/report.html from the study's first-seed runs res[0 .. n_models) and its tables. */
int df_study_write_report(const df_study_cfg *st, const df_study_run *res, const df_study_data *data,
                          const df_report_table *tables, int n_tables, const char *path, df_error *err);

#endif
