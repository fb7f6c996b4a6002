/* study_eval.h: a study's answers to "can the probabilities be trusted?" and "for whom does metadata help?",
 * set by the study file's eval section (study_config.c).
 *
 * Calibration (every run): the test split's ECE, Brier score and reliability bins over eval.calibration_bins
 * equal bins of the top-class probability (calibration.h). With eval.calibrate, a temperature T is fitted on
 * the run's validation split (its test checkpoint's predictions; late fusion: its combination's) by minimal
 * NLL, and the test split's ECE and Brier are given again for the probabilities at T. The logits are read
 * back from the predicted probabilities (df_logits_from_prob: log p, or for a sigmoid head the log-odds),
 * which the head maps to the same probabilities, so no run is evaluated twice. T changes no argmax, so
 * accuracy, AUC and every table but the calibration's stay as they were; test_predictions.csv and the
 * metrics stay uncalibrated. Without a validation split, or when the fit fails (calibration.h), the run says
 * why and has no "after".
 *
 * Subgroups (eval.subgroups): the test samples grouped by each data.categorical column's raw value and by
 * age bands of each numeric column named age or age_* (years: <30, 30-44, 45-59, 60-74, >=75); a missing
 * value is its own group "missing". Per group and run: AUC, sensitivity and specificity at the decision
 * threshold 0.5 (df_predictions_metrics') with 95% percentile bootstrap intervals over study.bootstrap
 * resamples (subgroups.h; seeded by the run's seed and the column, so they are the same every time), and the
 * counts; a group under eval.subgroup_min_samples samples or eval.subgroup_min_class of some class is "too
 * small". Each column's gap is the best minus the worst group's AUC; a model's gap is set against the
 * baseline's on the same seed: narrower (fusion evens out the groups) or wider.
 *
 * Written by study_calibration.c (calibration.csv, reliability.csv, a section of results.md and the report's
 * section#calibration with svg#reliability-<model>) and study_subgroups.c (subgroups.csv, subgroup_gaps.csv,
 * a section of results.md and the report's section#subgroups with table#subgroups and table#subgroup-gaps).
 *
 * Classes (more than two): per run and class the one-vs-rest AUC and the MILK10k challenge's per-class F1
 * (study_classes.c: classes.csv, a section of results.md and the report's section#classes). */
#ifndef DF_STUDY_EVAL_H
#define DF_STUDY_EVAL_H

#include <stdio.h>

#include "train/late/late_fusion.h"
#include "train/metrics/calibration.h"
#include "train/metrics/subgroups.h"
#include "train/session/run_files.h"
#include "train/session/session.h"
#include "train/study/study.h"
#include "train/study/study_table.h"

typedef struct df_study_calib {
    int n_bins;
    df_reliability_bin *before, *after; /* (n_bins) test reliability; after: NULL without a temperature */
    double ece_before, brier_before;
    int fitted;                          /* a temperature was fitted */
    char note[1024];                     /* why not (calibration asked for), else ""; a df_error message */
    int n_valid;
    df_temperature fit;                  /* on validation: T, NLL before and after */
    double valid_ece_before, valid_ece_after;
    double ece_after, brier_after;       /* test, at T; NaN when not fitted */
} df_study_calib;

/* One grouping of the test samples: a column's groups, each sample's group and each group's metrics. */
typedef struct {
    char *column;      /* the metadata column; "<column> (age band)" for age */
    int n_groups;
    char **names;      /* (n_groups) */
    int *of;           /* (n) group of each test prediction */
    df_subgroup *g;    /* (n_groups) */
} df_study_grouping;

typedef struct df_study_groups {
    int n;
    df_study_grouping *col; /* (n) */
} df_study_groups;

/* Calibration and subgroups of an evaluated run r (its test predictions r->p): s is the run's session (NULL
 * for late fusion, whose validation predictions come from its parts), rd the run's data. Failures of the
 * analyses are notes and warnings; it fails only when predicting the validation split fails. */
int df_study_eval_run(const df_study_cfg *st, const df_run_config *cfg, const df_late_parts *parts, df_session *s,
                      const df_run_data *rd, df_study_run *r, df_error *err);
void df_study_eval_free(df_study_run *r);

/* What the study writes of it: CSV texts, tables and report sections, owned. */
typedef struct {
    char *csv[5];   /* calibration.csv, reliability.csv, subgroups.csv, subgroup_gaps.csv, classes.csv; NULL: not
                     * written */
    size_t len[5];
    df_study_table tables[5];
    df_report_table report_tables[5]; /* the tables as the sections show them */
    int n_tables;
    char *charts;   /* the reliability diagrams */
    char *text[3];
    df_report_section sections[3];
    int n_sections;
} df_study_eval_out;
extern const char *const df_study_eval_files[5];

/* Appends the sections to results.md (md) and fills out. */
void df_study_eval_write(const df_study_cfg *st, const df_study_run *res, const df_study_data *d, FILE *md,
                         df_study_eval_out *out);
void df_study_eval_out_free(df_study_eval_out *out);

/* Adds a section of the report: its text (owned by out from here) and the last n_tables tables of out. */
void df_study_eval_section(df_study_eval_out *out, const char *id, const char *heading, char *text, int n_tables);

/* Parts of df_study_eval_write, one file each. */
void df_study_calibration_write(const df_study_cfg *st, const df_study_run *res, FILE *md, df_study_eval_out *out);
void df_study_subgroups_write(const df_study_cfg *st, const df_study_run *res, FILE *md, df_study_eval_out *out);
void df_study_classes_write(const df_study_cfg *st, const df_study_run *res, const df_study_data *d, FILE *md,
                            df_study_eval_out *out);

#endif
