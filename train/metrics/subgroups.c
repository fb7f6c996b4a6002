/* subgroups.c: per-group AUC, sensitivity and specificity with bootstrap intervals (see subgroups.h). */
#include "train/metrics/subgroups.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/metrics/metrics.h"
#include "train/metrics/stats.h"

const char *const df_subgroup_metric_names[DF_SUBGROUP_METRICS] = {"auc", "sensitivity", "specificity"};

/* Per-class counts of the samples idx[0..n): true positives, and samples, of each class and of the rest. */
static void class_counts(const float *prob, const int *y, int K, const int *idx, int n, double threshold,
                         int *hit, int *count, int *true_neg, int *neg) {
    for (int k = 0; k < K; k++) hit[k] = count[k] = true_neg[k] = neg[k] = 0;
    for (int j = 0; j < n; j++) {
        int pred, t = y[idx[j]];
        df_metrics_predict(prob + (size_t)idx[j] * K, 1, K, threshold, &pred);
        count[t]++;
        hit[t] += pred == t;
        for (int k = 0; k < K; k++)
            if (k != t) {
                neg[k]++;
                true_neg[k] += pred != k;
            }
    }
}

/* which 0: sensitivity (recall), 1: specificity; binary: of class 1, else the mean over classes defined. */
static double rate(const float *prob, const int *y, int K, const int *idx, int n, const double *threshold,
                   int which) {
    int hit[DF_METRICS_MAX_CLASSES], count[DF_METRICS_MAX_CLASSES], tn[DF_METRICS_MAX_CLASSES],
        neg[DF_METRICS_MAX_CLASSES];
    class_counts(prob, y, K, idx, n, *threshold, hit, count, tn, neg);
    double sum = 0;
    int defined = 0;
    for (int k = K == 2 ? 1 : 0; k < K; k++) {
        int den = which ? neg[k] : count[k];
        if (!den) continue;
        sum += (double)(which ? tn[k] : hit[k]) / den;
        defined++;
    }
    return defined ? sum / defined : NAN;
}

static double sensitivity(const float *prob, const int *y, int K, const int *idx, int n, void *ctx) {
    return rate(prob, y, K, idx, n, ctx, 0);
}

static double specificity(const float *prob, const int *y, int K, const int *idx, int n, void *ctx) {
    return rate(prob, y, K, idx, n, ctx, 1);
}

/* One group's samples copied out, so the bootstrap resamples them alone. */
static void group_metrics(const float *prob, const int *y, int K, const int *members, int m, const df_subgroup_opts *o,
                          uint64_t seed, df_subgroup *g) {
    float *p = df_malloc((size_t)m * K * sizeof *p);
    int *t = df_malloc((size_t)m * sizeof *t), *all = df_malloc((size_t)m * sizeof *all);
    for (int j = 0; j < m; j++) {
        memcpy(p + (size_t)j * K, prob + (size_t)members[j] * K, (size_t)K * sizeof *p);
        t[j] = y[members[j]];
        all[j] = j;
    }
    double threshold = o->threshold;
    df_metric_fn fns[DF_SUBGROUP_METRICS] = {df_metric_auc, sensitivity, specificity};
    void *ctx[DF_SUBGROUP_METRICS] = {NULL, &threshold, &threshold};
    for (int k = 0; k < DF_SUBGROUP_METRICS; k++) {
        df_interval ci;
        df_error err;
        g->v[k].estimate = fns[k](p, t, K, all, m, ctx[k]);
        g->v[k].lo = g->v[k].hi = NAN;
        if (df_bootstrap_ci(p, t, m, K, fns[k], ctx[k], o->B, o->level, seed, &ci, &err) == 0) {
            g->v[k].lo = ci.lo;
            g->v[k].hi = ci.hi;
        }
    }
    free(p);
    free(t);
    free(all);
}

int df_subgroups(const float *prob, const int *y, int n, int K, const int *group, int n_groups,
                 const df_subgroup_opts *o, df_subgroup *out, df_error *err) {
    if (df_metrics_validate(prob, y, n, K, err)) return df_fail_prefix(err, "subgroups");
    for (int i = 0; i < n; i++)
        if (group[i] < 0 || group[i] >= n_groups)
            return df_fail(err, "subgroups: sample %d is in group %d, expected 0..%d", i, group[i], n_groups - 1);
    int *members = df_malloc((size_t)n * sizeof *members + sizeof *members);
    for (int g = 0; g < n_groups; g++) {
        df_subgroup *s = &out[g];
        int count[DF_METRICS_MAX_CLASSES] = {0}, m = 0;
        for (int i = 0; i < n; i++)
            if (group[i] == g) members[m++] = i, count[y[i]]++;
        s->n = m;
        s->positives = K == 2 ? count[1] : -1;
        s->min_class = count[0];
        for (int k = 1; k < K; k++) s->min_class = count[k] < s->min_class ? count[k] : s->min_class;
        s->too_small = m < o->min_samples || s->min_class < o->min_class;
        for (int k = 0; k < DF_SUBGROUP_METRICS; k++) s->v[k] = (df_subgroup_value){NAN, NAN, NAN};
        if (!s->too_small) group_metrics(prob, y, K, members, m, o, o->seed + (uint64_t)g, s);
    }
    free(members);
    return 0;
}

double df_subgroup_gap(const df_subgroup *g, int n_groups, int which, int *best, int *worst) {
    int b = -1, w = -1, defined = 0;
    for (int i = 0; i < n_groups; i++) {
        double v = g[i].v[which].estimate;
        if (g[i].too_small || isnan(v)) continue;
        defined++;
        if (b < 0 || v > g[b].v[which].estimate) b = i;
        if (w < 0 || v < g[w].v[which].estimate) w = i;
    }
    if (defined < 2) b = w = -1;
    if (best) *best = b;
    if (worst) *worst = w;
    return defined < 2 ? NAN : g[b].v[which].estimate - g[w].v[which].estimate;
}
