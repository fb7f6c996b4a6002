/* study.h: what `dermfuse compare` (train/compare.c) holds about a study while it writes its results, shared
 * with the part that writes the HTML report (train/study_report.c). */
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
    char *name, *out_dir, *config, *baseline;
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
    char *layout, *split, *source, *group_by;
    int n_views, meta_dim;
    double valid_fraction, test_fraction;
} df_study_data;

/* Writes <study dir>/report.html from the study's first-seed runs res[0 .. n_models) and its tables. */
int df_study_write_report(const df_study_cfg *st, const df_study_run *res, const df_study_data *data,
                          const df_report_table *tables, int n_tables, const char *path, df_error *err);

#endif
