/* metrics.h: classification metrics from predicted class probabilities.
 *
 * Inputs are prob (n, K), row-major, one row of class probabilities (or any scores) per sample, and labels
 * y (n) in [0, K). K = 2 is the binary case with class 1 positive; K may go up to DF_METRICS_MAX_CLASSES.
 *
 * Conventions, fixed here so every table in a study means the same thing:
 * - Prediction: argmax of the row (ties go to the lowest class index); for K = 2 the prediction is class 1
 *   when p(class 1) > threshold, which at threshold 0.5 agrees with argmax.
 * - A ratio whose denominator is 0 (precision of a class never predicted, recall of a class absent from y,
 *   F1 when precision + recall = 0) is defined as 0.
 * - Binary: precision, recall (sensitivity), specificity and F1 are those of the positive class 1.
 *   Multi-class: they are macro averages over all K classes (absent classes count, with 0 where 0/0).
 * - Balanced accuracy is the mean recall over the classes present in y.
 * - AUC is the probability that a random positive outranks a random negative, ties counting one half
 *   (the Mann-Whitney U statistic over P * N). It is undefined (NaN) when the positives or the negatives
 *   are missing. Multi-class: one-vs-rest AUC per class on column k of prob; the macro AUC averages the
 *   classes where it is defined (NaN if none).
 * - MILK10k macro-F1: each class column thresholded independently at p > 0.5 (multi-label style; a row
 *   may predict several classes or none), F1 per class against (y == k), averaged over all K classes.
 * - ROC curve: one point per distinct score, descending; a sample is called positive when its
 *   score >= the point's threshold. The first point is (0, 0) with threshold +infinity.
 *
 * All of these are deterministic and free of threading. */
#ifndef DF_METRICS_H
#define DF_METRICS_H

#include "core/limits.h"

#include <stdio.h>

#include "core/error.h"

#define DF_METRICS_MAX_CLASSES DF_LIMIT_CLASSES

typedef struct {
    int n, K;
    double threshold; /* binary decision threshold on p(class 1); unused when K > 2 */
    int confusion[DF_METRICS_MAX_CLASSES * DF_METRICS_MAX_CLASSES]; /* (K, K): [true * K + predicted] */

    double accuracy, balanced_accuracy;
    double precision, recall, specificity, f1; /* positive class (K = 2) or macro average (K > 2) */
    double auc;                                /* binary AUC, or macro one-vs-rest AUC */
    double macro_f1_milk;                      /* MILK10k: per-class p > 0.5, F1 averaged */

    int support[DF_METRICS_MAX_CLASSES]; /* samples of each true class */
    double class_precision[DF_METRICS_MAX_CLASSES], class_recall[DF_METRICS_MAX_CLASSES];
    double class_specificity[DF_METRICS_MAX_CLASSES], class_f1[DF_METRICS_MAX_CLASSES];
    double class_auc[DF_METRICS_MAX_CLASSES]; /* one-vs-rest; NaN where undefined */
} df_metrics;

/* A score with an integer beside it (whether the sample is positive, or its index), and the order by score,
 * ascending, that the rank statistics sort them in. */
typedef struct {
    float s;
    int i;
} df_scored;
int df_scored_cmp(const void *a, const void *b);

/* The metrics a run can monitor for model selection and early stopping, and their names (configs bind
 * train.monitor through df_metric_names, in this order, NULL-terminated). */
typedef enum {
    DF_METRIC_AUC,
    DF_METRIC_ACCURACY,
    DF_METRIC_BALANCED_ACCURACY,
    DF_METRIC_MACRO_F1, /* macro_f1_milk */
    DF_METRIC_F1,
    DF_METRIC_LOSS,
} df_metric_id;
extern const char *const df_metric_names[];

/* The value of metric id, oriented so that larger is better: the loss is returned negated. */
double df_metric_value(const df_metrics *m, double loss, df_metric_id id);

/* Checks shapes, labels in [0, K) and finite probabilities; the message names the offending sample. */
int df_metrics_validate(const float *prob, const int *y, int n, int K, df_error *err);

/* pred (n) by the prediction rule above. */
void df_metrics_predict(const float *prob, int n, int K, double threshold, int *pred);

/* cm (K, K) = counts of [true * K + predicted]. Fails on invalid input. */
int df_metrics_confusion(const float *prob, const int *y, int n, int K, double threshold, int *cm,
                         df_error *err);

/* Every metric above into m. threshold is for K = 2 (pass 0.5 for the usual rule). */
int df_metrics_compute(const float *prob, const int *y, int n, int K, double threshold, df_metrics *m,
                       df_error *err);

/* AUC of scores against 0/1 labels (pos[i] != 0 is positive). O(n log n). NaN when undefined. */
double df_auc_scores(const float *score, const int *pos, int n);
/* One-vs-rest AUC of class k: score prob[i * K + k], positive y[i] == k. Labels are not range-checked. */
double df_auc_class(const float *prob, const int *y, int n, int K, int k);
/* MILK10k macro-F1 (see above). Labels are not range-checked. */
double df_macro_f1_milk(const float *prob, const int *y, int n, int K);

typedef struct {
    int n;         /* points */
    double *fpr;   /* (n) ascending */
    double *tpr;   /* (n) ascending */
    double *thr;   /* (n) descending; thr[0] = +infinity */
} df_roc;

/* ROC curve of class k (k = 1 for binary) against the rest. Needs both positives and negatives. */
int df_roc_curve(const float *prob, const int *y, int n, int K, int k, df_roc *roc, df_error *err);
void df_roc_free(df_roc *roc);

/* One JSON object (no trailing newline). class_names (K strings) may be NULL. NaN is written as null. */
int df_metrics_write_json(const df_metrics *m, const char *const *class_names, FILE *f, df_error *err);
/* Markdown table: the header (two lines) and one row per model, named `name`. The last column is the macro-F1
 * above, headed macro_f1_label ("macro-F1 (MILK10k)" where it is the challenge's metric); NULL leaves the
 * column out (the rows then have none either: with_macro_f1 0). */
int df_metrics_write_markdown_header(FILE *f, const char *macro_f1_label, df_error *err);
int df_metrics_write_markdown_row(const df_metrics *m, const char *name, int with_macro_f1, FILE *f, df_error *err);

#endif
