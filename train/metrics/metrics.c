/* metrics.c: confusion matrix, threshold metrics, AUC, ROC and their JSON and Markdown writers. */
#include "train/metrics/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* a / b, with 0/0 (and any x/0) defined as 0, the convention stated in metrics.h. */
static double ratio(double a, double b) { return b > 0 ? a / b : 0.0; }

int df_metrics_validate(const float *prob, const int *y, int n, int K, df_error *err) {
    if (n < 1) return df_fail(err, "metrics: need at least one sample, got n = %d", n);
    if (K < 2 || K > DF_METRICS_MAX_CLASSES)
        return df_fail(err, "metrics: number of classes K = %d, expected 2..%d", K, DF_METRICS_MAX_CLASSES);
    for (int i = 0; i < n; i++) {
        if (y[i] < 0 || y[i] >= K)
            return df_fail(err, "metrics: sample %d has label %d, expected 0..%d", i, y[i], K - 1);
        for (int k = 0; k < K; k++)
            if (!isfinite(prob[(size_t)i * K + k]))
                return df_fail(err, "metrics: sample %d, class %d: probability is %g, expected a finite "
                                    "value", i, k, (double)prob[(size_t)i * K + k]);
    }
    return 0;
}

void df_metrics_predict(const float *prob, int n, int K, double threshold, int *pred) {
    for (int i = 0; i < n; i++) {
        const float *p = prob + (size_t)i * K;
        if (K == 2) {
            pred[i] = (double)p[1] > threshold ? 1 : 0;
            continue;
        }
        int best = 0;
        for (int k = 1; k < K; k++)
            if (p[k] > p[best]) best = k;
        pred[i] = best;
    }
}

int df_metrics_confusion(const float *prob, const int *y, int n, int K, double threshold, int *cm,
                         df_error *err) {
    if (df_metrics_validate(prob, y, n, K, err)) return -1;
    if (!isfinite(threshold))
        return df_fail(err, "metrics: threshold %g, expected a finite value", threshold);
    int *pred = df_malloc((size_t)n * sizeof *pred);
    df_metrics_predict(prob, n, K, threshold, pred);
    memset(cm, 0, (size_t)K * K * sizeof *cm);
    for (int i = 0; i < n; i++) cm[y[i] * K + pred[i]]++;
    free(pred);
    return 0;
}

/* ---- AUC and ROC: sort (score, is-positive) pairs once, then walk groups of tied scores. ---- */

int df_scored_cmp(const void *a, const void *b) {
    float x = ((const df_scored *)a)->s, y = ((const df_scored *)b)->s;
    return (x > y) - (x < y);
}

/* Mann-Whitney: each positive earns 1 per negative scored below it and 1/2 per negative tied with it. */
static double auc_sorted(const df_scored *v, int n) {
    double u = 0, neg_below = 0, P = 0, N = 0;
    for (int i = 0; i < n;) {
        int j = i;
        double p = 0, q = 0;
        while (j < n && v[j].s == v[i].s) {
            if (v[j].i) p++;
            else q++;
            j++;
        }
        u += p * (neg_below + 0.5 * q);
        neg_below += q;
        P += p;
        N += q;
        i = j;
    }
    return (P > 0 && N > 0) ? u / (P * N) : NAN;
}

double df_auc_scores(const float *score, const int *pos, int n) {
    if (n < 2) return NAN;
    df_scored *v = df_malloc((size_t)n * sizeof *v);
    for (int i = 0; i < n; i++) v[i] = (df_scored){score[i], pos[i] != 0};
    qsort(v, (size_t)n, sizeof *v, df_scored_cmp);
    double auc = auc_sorted(v, n);
    free(v);
    return auc;
}

double df_auc_class(const float *prob, const int *y, int n, int K, int k) {
    if (n < 2) return NAN;
    df_scored *v = df_malloc((size_t)n * sizeof *v);
    for (int i = 0; i < n; i++) v[i] = (df_scored){prob[(size_t)i * K + k], y[i] == k};
    qsort(v, (size_t)n, sizeof *v, df_scored_cmp);
    double auc = auc_sorted(v, n);
    free(v);
    return auc;
}

int df_roc_curve(const float *prob, const int *y, int n, int K, int k, df_roc *roc, df_error *err) {
    memset(roc, 0, sizeof *roc);
    if (df_metrics_validate(prob, y, n, K, err)) return -1;
    if (k < 0 || k >= K) return df_fail(err, "roc: positive class %d, expected 0..%d", k, K - 1);
    df_scored *v = df_malloc((size_t)n * sizeof *v);
    double P = 0, N = 0;
    for (int i = 0; i < n; i++) {
        v[i] = (df_scored){prob[(size_t)i * K + k], y[i] == k};
        if (v[i].i) P++;
        else N++;
    }
    if (P == 0 || N == 0) {
        free(v);
        return df_fail(err, "roc: class %d has %.0f positive and %.0f negative samples; the curve needs both",
                       k, P, N);
    }
    qsort(v, (size_t)n, sizeof *v, df_scored_cmp);
    roc->fpr = df_malloc(((size_t)n + 1) * sizeof *roc->fpr);
    roc->tpr = df_malloc(((size_t)n + 1) * sizeof *roc->tpr);
    roc->thr = df_malloc(((size_t)n + 1) * sizeof *roc->thr);
    roc->fpr[0] = roc->tpr[0] = 0;
    roc->thr[0] = INFINITY;
    int m = 1;
    double tp = 0, fp = 0;
    /* Walk from the highest score down, lowering the threshold one distinct score at a time. */
    for (int i = n - 1; i >= 0;) {
        int j = i;
        while (j >= 0 && v[j].s == v[i].s) {
            if (v[j].i) tp++;
            else fp++;
            j--;
        }
        roc->fpr[m] = fp / N;
        roc->tpr[m] = tp / P;
        roc->thr[m] = v[i].s;
        m++;
        i = j;
    }
    roc->n = m;
    free(v);
    return 0;
}

void df_roc_free(df_roc *roc) {
    free(roc->fpr);
    free(roc->tpr);
    free(roc->thr);
    memset(roc, 0, sizeof *roc);
}

double df_macro_f1_milk(const float *prob, const int *y, int n, int K) {
    double sum = 0;
    for (int k = 0; k < K; k++) {
        double tp = 0, fp = 0, fn = 0;
        for (int i = 0; i < n; i++) {
            int called = prob[(size_t)i * K + k] > 0.5f;
            int truth = y[i] == k;
            tp += called && truth;
            fp += called && !truth;
            fn += !called && truth;
        }
        sum += ratio(2 * tp, 2 * tp + fp + fn);
    }
    return sum / K;
}

int df_metrics_compute(const float *prob, const int *y, int n, int K, double threshold, df_metrics *m,
                       df_error *err) {
    memset(m, 0, sizeof *m);
    m->n = n;
    m->K = K;
    m->threshold = threshold;
    if (df_metrics_confusion(prob, y, n, K, threshold, m->confusion, err)) return -1;
    const int *cm = m->confusion;

    double correct = 0, recall_sum = 0;
    int present = 0;
    for (int k = 0; k < K; k++) {
        double tp = cm[k * K + k], row = 0, col = 0;
        for (int j = 0; j < K; j++) {
            row += cm[k * K + j];
            col += cm[j * K + k];
        }
        double fn = row - tp, fp = col - tp, tn = n - tp - fn - fp;
        m->support[k] = (int)row;
        m->class_precision[k] = ratio(tp, tp + fp);
        m->class_recall[k] = ratio(tp, tp + fn);
        m->class_specificity[k] = ratio(tn, tn + fp);
        m->class_f1[k] = ratio(2 * tp, 2 * tp + fp + fn);
        m->class_auc[k] = df_auc_class(prob, y, n, K, k);
        correct += tp;
        if (row > 0) {
            recall_sum += m->class_recall[k];
            present++;
        }
    }
    m->accuracy = correct / n;
    m->balanced_accuracy = ratio(recall_sum, present);

    if (K == 2) {
        m->precision = m->class_precision[1];
        m->recall = m->class_recall[1];
        m->specificity = m->class_specificity[1];
        m->f1 = m->class_f1[1];
        m->auc = m->class_auc[1];
    } else {
        double auc_sum = 0;
        int auc_count = 0;
        for (int k = 0; k < K; k++) {
            m->precision += m->class_precision[k] / K;
            m->recall += m->class_recall[k] / K;
            m->specificity += m->class_specificity[k] / K;
            m->f1 += m->class_f1[k] / K;
            if (!isnan(m->class_auc[k])) {
                auc_sum += m->class_auc[k];
                auc_count++;
            }
        }
        m->auc = auc_count ? auc_sum / auc_count : NAN;
    }
    m->macro_f1_milk = df_macro_f1_milk(prob, y, n, K);
    return 0;
}

/* ---- writers ---- */

static void json_num(FILE *f, double x) {
    if (isfinite(x)) fprintf(f, "%.6g", x);
    else fputs("null", f);
}

static void json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
        else fputc(*p, f);
    }
    fputc('"', f);
}

static void json_array(FILE *f, const char *key, const double *v, int K) {
    fprintf(f, ",\"%s\":[", key);
    for (int k = 0; k < K; k++) {
        if (k) fputc(',', f);
        json_num(f, v[k]);
    }
    fputc(']', f);
}

int df_metrics_write_json(const df_metrics *m, const char *const *class_names, FILE *f, df_error *err) {
    int K = m->K;
    fprintf(f, "{\"n\":%d,\"classes\":%d", m->n, K);
    if (K == 2) {
        fputs(",\"threshold\":", f);
        json_num(f, m->threshold);
    }
    const struct {
        const char *key;
        double v;
    } scalars[] = {{"accuracy", m->accuracy},       {"balanced_accuracy", m->balanced_accuracy},
                   {"precision", m->precision},     {"recall", m->recall},
                   {"specificity", m->specificity}, {"f1", m->f1},
                   {"auc", m->auc},                 {"macro_f1_milk", m->macro_f1_milk}};
    for (size_t i = 0; i < sizeof scalars / sizeof scalars[0]; i++) {
        fprintf(f, ",\"%s\":", scalars[i].key);
        json_num(f, scalars[i].v);
    }
    if (class_names) {
        fputs(",\"class_names\":[", f);
        for (int k = 0; k < K; k++) {
            if (k) fputc(',', f);
            json_string(f, class_names[k]);
        }
        fputc(']', f);
    }
    fputs(",\"confusion\":[", f);
    for (int t = 0; t < K; t++) {
        fputs(t ? ",[" : "[", f);
        for (int p = 0; p < K; p++) fprintf(f, p ? ",%d" : "%d", m->confusion[t * K + p]);
        fputc(']', f);
    }
    fputs("],\"support\":[", f);
    for (int k = 0; k < K; k++) fprintf(f, k ? ",%d" : "%d", m->support[k]);
    fputc(']', f);
    json_array(f, "class_precision", m->class_precision, K);
    json_array(f, "class_recall", m->class_recall, K);
    json_array(f, "class_specificity", m->class_specificity, K);
    json_array(f, "class_f1", m->class_f1, K);
    json_array(f, "class_auc", m->class_auc, K);
    fputc('}', f);
    if (ferror(f)) return df_fail(err, "metrics: writing the JSON object failed");
    return 0;
}

static const char *const md_columns[] = {"accuracy", "balanced acc.", "precision", "recall", "specificity",
                                         "F1",       "AUC"};
enum { md_ncol = sizeof md_columns / sizeof md_columns[0] };

int df_metrics_write_markdown_header(FILE *f, const char *macro_f1_label, df_error *err) {
    fputs("| model |", f);
    for (int c = 0; c < md_ncol; c++) fprintf(f, " %s |", md_columns[c]);
    if (macro_f1_label) fprintf(f, " %s |", macro_f1_label);
    fputs("\n|---|", f);
    for (int c = 0; c <= md_ncol - !macro_f1_label; c++) fputs("---:|", f);
    fputc('\n', f);
    if (ferror(f)) return df_fail(err, "metrics: writing the Markdown header failed");
    return 0;
}

int df_metrics_write_markdown_row(const df_metrics *m, const char *name, int with_macro_f1, FILE *f,
                                  df_error *err) {
    const double v[md_ncol + 1] = {m->accuracy, m->balanced_accuracy, m->precision, m->recall,
                                   m->specificity, m->f1, m->auc, m->macro_f1_milk};
    fputs("| ", f);
    /* A '|' in the name would split the cell. */
    for (const char *p = name; *p; p++) {
        if (*p == '|') fputc('\\', f);
        fputc(*p, f);
    }
    fputs(" |", f);
    for (int c = 0; c < md_ncol + !!with_macro_f1; c++) {
        if (isfinite(v[c])) fprintf(f, " %.4f |", v[c]);
        else fputs(" n/a |", f);
    }
    fputc('\n', f);
    if (ferror(f)) return df_fail(err, "metrics: writing the Markdown row failed");
    return 0;
}

const char *const df_metric_names[] = {"auc", "accuracy", "balanced_accuracy", "macro_f1", "f1", "loss", NULL};

double df_metric_value(const df_metrics *m, double loss, df_metric_id id) {
    switch (id) {
    case DF_METRIC_AUC: return m->auc;
    case DF_METRIC_ACCURACY: return m->accuracy;
    case DF_METRIC_BALANCED_ACCURACY: return m->balanced_accuracy;
    case DF_METRIC_MACRO_F1: return m->macro_f1_milk;
    case DF_METRIC_F1: return m->f1;
    case DF_METRIC_LOSS: return -loss;
    }
    DF_ASSERT(!"df_metric_id out of range");
    return NAN;
}
