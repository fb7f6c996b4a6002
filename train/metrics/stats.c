/* stats.c: mean/sd, normal and chi-square tails, bootstrap intervals, DeLong and McNemar (see stats.h). */
#include "train/metrics/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "train/metrics/metrics.h"

void df_mean_sd(const double *x, int n, double *mean, double *sd) {
    double m = 0;
    for (int i = 0; i < n; i++) m += x[i];
    m = n > 0 ? m / n : NAN;
    /* Two passes: the spread of seeds is small next to the mean, where one pass would cancel badly. */
    double ss = 0;
    for (int i = 0; i < n; i++) ss += (x[i] - m) * (x[i] - m);
    *mean = m;
    *sd = n > 1 ? sqrt(ss / (n - 1)) : NAN;
}

double df_normal_cdf(double z) { return 0.5 * erfc(-z / sqrt(2.0)); }
double df_normal_sf(double z) { return 0.5 * erfc(z / sqrt(2.0)); }
/* A chi-square(1) variable is Z^2, so P(X > x) = P(|Z| > sqrt x) = erfc(sqrt(x / 2)). */
double df_chi2_1_sf(double x) { return x <= 0 ? 1.0 : erfc(sqrt(x / 2.0)); }

/* ---- metric functions over an index subset ---- */

double df_metric_accuracy(const float *prob, const int *y, int K, const int *idx, int n, void *ctx) {
    (void)ctx;
    double threshold = 0.5;
    return df_metric_accuracy_at(prob, y, K, idx, n, &threshold);
}

double df_metric_accuracy_at(const float *prob, const int *y, int K, const int *idx, int n, void *ctx) {
    double threshold = ctx ? *(const double *)ctx : 0.5;
    int correct = 0;
    for (int j = 0; j < n; j++) {
        int pred;
        df_metrics_predict(prob + (size_t)idx[j] * K, 1, K, threshold, &pred);
        correct += pred == y[idx[j]];
    }
    return n > 0 ? (double)correct / n : NAN;
}

double df_metric_balanced_accuracy(const float *prob, const int *y, int K, const int *idx, int n, void *ctx) {
    (void)ctx;
    int hit[DF_METRICS_MAX_CLASSES] = {0}, count[DF_METRICS_MAX_CLASSES] = {0};
    for (int j = 0; j < n; j++) {
        int pred, t = y[idx[j]];
        df_metrics_predict(prob + (size_t)idx[j] * K, 1, K, 0.5, &pred);
        count[t]++;
        hit[t] += pred == t;
    }
    double sum = 0;
    int present = 0;
    for (int k = 0; k < K; k++)
        if (count[k]) {
            sum += (double)hit[k] / count[k];
            present++;
        }
    return present ? sum / present : NAN;
}

/* Copies the subset so the whole-set functions of metrics.h can score it. */
static void gather(const float *prob, const int *y, int K, const int *idx, int n, float *p_out, int *y_out) {
    for (int j = 0; j < n; j++) {
        memcpy(p_out + (size_t)j * K, prob + (size_t)idx[j] * K, (size_t)K * sizeof *prob);
        y_out[j] = y[idx[j]];
    }
}

double df_metric_auc(const float *prob, const int *y, int K, const int *idx, int n, void *ctx) {
    (void)ctx;
    float *p = df_malloc((size_t)n * K * sizeof *p);
    int *t = df_malloc((size_t)n * sizeof *t);
    gather(prob, y, K, idx, n, p, t);
    double auc;
    if (K == 2) {
        auc = df_auc_class(p, t, n, K, 1);
    } else {
        double sum = 0;
        int defined = 0;
        for (int k = 0; k < K; k++) {
            double a = df_auc_class(p, t, n, K, k);
            if (!isnan(a)) {
                sum += a;
                defined++;
            }
        }
        auc = defined ? sum / defined : NAN;
    }
    free(p);
    free(t);
    return auc;
}

double df_metric_macro_f1_milk(const float *prob, const int *y, int K, const int *idx, int n, void *ctx) {
    (void)ctx;
    float *p = df_malloc((size_t)n * K * sizeof *p);
    int *t = df_malloc((size_t)n * sizeof *t);
    gather(prob, y, K, idx, n, p, t);
    double f1 = df_macro_f1_milk(p, t, n, K);
    free(p);
    free(t);
    return f1;
}

/* ---- bootstrap ---- */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Quantile q of sorted v[0..m) with linear interpolation between order statistics. */
static double quantile_sorted(const double *v, int m, double q) {
    double h = (m - 1) * q;
    int lo = (int)floor(h);
    if (lo >= m - 1) return v[m - 1];
    return v[lo] + (h - lo) * (v[lo + 1] - v[lo]);
}

/* Shared by the single and paired forms: prob_b == NULL means a single model. */
static int bootstrap(const float *prob_a, const float *prob_b, const int *y, int n, int K, df_metric_fn fn,
                     void *ctx, int B, double level, uint64_t seed, df_interval *out, df_error *err) {
    memset(out, 0, sizeof *out);
    if (df_metrics_validate(prob_a, y, n, K, err)) return df_fail_prefix(err, "bootstrap (model A)");
    if (prob_b && df_metrics_validate(prob_b, y, n, K, err))
        return df_fail_prefix(err, "bootstrap (model B)");
    if (B < 2) return df_fail(err, "bootstrap: B = %d resamples, expected at least 2", B);
    if (!(level > 0 && level < 1)) return df_fail(err, "bootstrap: level %g, expected in (0, 1)", level);

    int *all = df_malloc((size_t)n * sizeof *all);
    for (int i = 0; i < n; i++) all[i] = i;
    out->estimate = fn(prob_a, y, K, all, n, ctx) - (prob_b ? fn(prob_b, y, K, all, n, ctx) : 0.0);
    free(all);

    uint64_t key = df_rng_key(seed, DF_STREAM_STATS);
    double *vals = df_malloc((size_t)B * sizeof *vals);
#pragma omp parallel
    {
        int *idx = df_malloc((size_t)n * sizeof *idx);
#pragma omp for schedule(static)
        for (int b = 0; b < B; b++) {
            for (int j = 0; j < n; j++) {
                uint64_t r = df_rng_at(key, (uint64_t)b * (uint64_t)n + (uint64_t)j);
                idx[j] = (int)(((r >> 32) * (uint64_t)n) >> 32);
            }
            double v = fn(prob_a, y, K, idx, n, ctx);
            if (prob_b) v -= fn(prob_b, y, K, idx, n, ctx);
            vals[b] = v;
        }
        free(idx);
    }

    int m = 0;
    for (int b = 0; b < B; b++)
        if (!isnan(vals[b])) vals[m++] = vals[b];
    out->B = B;
    out->valid = m;
    if (m < (B + 1) / 2) {
        free(vals);
        return df_fail(err, "bootstrap: the metric was undefined on %d of %d resamples (too few samples of "
                            "some class?)", B - m, B);
    }
    qsort(vals, (size_t)m, sizeof *vals, cmp_double);
    out->lo = quantile_sorted(vals, m, (1 - level) / 2);
    out->hi = quantile_sorted(vals, m, (1 + level) / 2);
    double mean;
    df_mean_sd(vals, m, &mean, &out->se);
    out->p = NAN;
    if (prob_b) {
        int le = 0, ge = 0;
        for (int i = 0; i < m; i++) {
            le += vals[i] <= 0;
            ge += vals[i] >= 0;
        }
        double p = 2.0 * (le < ge ? le : ge) / m;
        out->p = p < 1 ? p : 1;
    }
    free(vals);
    return 0;
}

int df_bootstrap_ci(const float *prob, const int *y, int n, int K, df_metric_fn fn, void *ctx, int B,
                    double level, uint64_t seed, df_interval *out, df_error *err) {
    return bootstrap(prob, NULL, y, n, K, fn, ctx, B, level, seed, out, err);
}

int df_bootstrap_paired(const float *prob_a, const float *prob_b, const int *y, int n, int K,
                        df_metric_fn fn, void *ctx, int B, double level, uint64_t seed, df_interval *out,
                        df_error *err) {
    return bootstrap(prob_a, prob_b, y, n, K, fn, ctx, B, level, seed, out, err);
}

/* ---- DeLong ---- */

/* rank[i] = 1-based midrank of x[i] among x[0..m): tied values share the mean of their positions. */
static void midranks(const float *x, int m, double *rank, df_scored *tmp) {
    for (int i = 0; i < m; i++) tmp[i] = (df_scored){x[i], i};
    qsort(tmp, (size_t)m, sizeof *tmp, df_scored_cmp);
    for (int i = 0; i < m;) {
        int j = i;
        while (j < m && tmp[j].s == tmp[i].s) j++;
        double r = 0.5 * (i + 1 + j); /* mean of positions i+1 .. j */
        for (int t = i; t < j; t++) rank[tmp[t].i] = r;
        i = j;
    }
}

/* Structural components of one model (Sun & Xu 2014): for a positive, v10 = share of negatives it
 * outranks (ties 1/2) = (midrank among all - midrank among positives) / N; for a negative, v01 = share of
 * positives that outrank it = 1 - (midrank among all - midrank among negatives) / P. */
static void components(const float *score, const int *pos, int n, int P, int N, double *v10, double *v01,
                       float *sp, float *sn, double *r_all, double *r_p, double *r_n, df_scored *tmp) {
    int a = 0, b = 0;
    for (int i = 0; i < n; i++) {
        if (pos[i]) sp[a++] = score[i];
        else sn[b++] = score[i];
    }
    midranks(score, n, r_all, tmp);
    midranks(sp, P, r_p, tmp);
    midranks(sn, N, r_n, tmp);
    a = b = 0;
    for (int i = 0; i < n; i++) {
        if (pos[i]) {
            v10[a] = (r_all[i] - r_p[a]) / N;
            a++;
        } else {
            v01[b] = 1.0 - (r_all[i] - r_n[b]) / P;
            b++;
        }
    }
}

static double mean_of(const double *v, int m) {
    double s = 0;
    for (int i = 0; i < m; i++) s += v[i];
    return s / m;
}

static double cov_of(const double *u, double mu, const double *v, double mv, int m) {
    double s = 0;
    for (int i = 0; i < m; i++) s += (u[i] - mu) * (v[i] - mv);
    return s / (m - 1);
}

int df_delong_test(const float *score_a, const float *score_b, const int *pos, int n, df_delong *r,
                   df_error *err) {
    memset(r, 0, sizeof *r);
    r->note = "";
    int P = 0, N = 0;
    for (int i = 0; i < n; i++) {
        if (!isfinite(score_a[i]) || !isfinite(score_b[i]))
            return df_fail(err, "delong: sample %d has score %g (A) and %g (B), expected finite values", i,
                           (double)score_a[i], (double)score_b[i]);
        if (pos[i]) P++;
        else N++;
    }
    if (P < 2 || N < 2)
        return df_fail(err, "delong: %d positive and %d negative samples, expected at least 2 of each", P, N);

    double *v10a = df_malloc((size_t)P * sizeof(double)), *v10b = df_malloc((size_t)P * sizeof(double));
    double *v01a = df_malloc((size_t)N * sizeof(double)), *v01b = df_malloc((size_t)N * sizeof(double));
    float *sp = df_malloc((size_t)P * sizeof *sp), *sn = df_malloc((size_t)N * sizeof *sn);
    double *r_all = df_malloc((size_t)n * sizeof(double));
    double *r_p = df_malloc((size_t)P * sizeof(double)), *r_n = df_malloc((size_t)N * sizeof(double));
    df_scored *tmp = df_malloc((size_t)n * sizeof *tmp);
    components(score_a, pos, n, P, N, v10a, v01a, sp, sn, r_all, r_p, r_n, tmp);
    components(score_b, pos, n, P, N, v10b, v01b, sp, sn, r_all, r_p, r_n, tmp);

    double ma = mean_of(v10a, P), mb = mean_of(v10b, P);
    double na = mean_of(v01a, N), nb = mean_of(v01b, N);
    r->auc_a = ma;
    r->auc_b = mb;
    r->var_a = cov_of(v10a, ma, v10a, ma, P) / P + cov_of(v01a, na, v01a, na, N) / N;
    r->var_b = cov_of(v10b, mb, v10b, mb, P) / P + cov_of(v01b, nb, v01b, nb, N) / N;
    r->cov = cov_of(v10a, ma, v10b, mb, P) / P + cov_of(v01a, na, v01b, nb, N) / N;

    double vd = r->var_a + r->var_b - 2 * r->cov;
    /* Rounding can leave a hair of variance where the models rank identically; treat it as none. */
    if (!(vd > 1e-12 * (r->var_a + r->var_b))) {
        r->z = 0;
        r->p = 1;
        r->defined = 0;
        r->note = "variance of the AUC difference is zero (the two models rank the samples identically); "
                  "no test possible, p set to 1";
    } else {
        r->z = (r->auc_a - r->auc_b) / sqrt(vd);
        r->p = 2 * df_normal_sf(fabs(r->z));
        r->defined = 1;
    }
    free(v10a);
    free(v10b);
    free(v01a);
    free(v01b);
    free(sp);
    free(sn);
    free(r_all);
    free(r_p);
    free(r_n);
    free(tmp);
    return 0;
}

int df_delong_test_class(const float *prob_a, const float *prob_b, const int *y, int n, int K, int k,
                         df_delong *r, df_error *err) {
    memset(r, 0, sizeof *r);
    r->note = "";
    if (df_metrics_validate(prob_a, y, n, K, err)) return df_fail_prefix(err, "delong (model A)");
    if (df_metrics_validate(prob_b, y, n, K, err)) return df_fail_prefix(err, "delong (model B)");
    if (k < 0 || k >= K) return df_fail(err, "delong: positive class %d, expected 0..%d", k, K - 1);
    float *a = df_malloc((size_t)n * sizeof *a), *b = df_malloc((size_t)n * sizeof *b);
    int *pos = df_malloc((size_t)n * sizeof *pos);
    for (int i = 0; i < n; i++) {
        a[i] = prob_a[(size_t)i * K + k];
        b[i] = prob_b[(size_t)i * K + k];
        pos[i] = y[i] == k;
    }
    int rc = df_delong_test(a, b, pos, n, r, err);
    free(a);
    free(b);
    free(pos);
    return rc;
}

/* ---- McNemar ---- */

/* Two-sided exact p: twice the binomial(m, 1/2) tail at or below min(b, c), capped at 1. */
static double binom_two_sided(int b, int c) {
    int m = b + c, k = b < c ? b : c;
    double tail = 0;
    for (int i = 0; i <= k; i++)
        tail += exp(lgamma(m + 1.0) - lgamma(i + 1.0) - lgamma(m - i + 1.0) - m * log(2.0));
    double p = 2 * tail;
    return p < 1 ? p : 1;
}

void df_mcnemar_counts(int b, int c, df_mcnemar *r) {
    memset(r, 0, sizeof *r);
    r->b = b;
    r->c = c;
    if (b + c == 0) {
        r->p_chi2 = r->p_exact = r->p = 1;
        r->used_exact = 1;
        return;
    }
    double d = fabs((double)b - c) - 1;
    if (d < 0) d = 0;
    r->chi2 = d * d / (b + c);
    r->p_chi2 = df_chi2_1_sf(r->chi2);
    r->p_exact = binom_two_sided(b, c);
    /* The chi-square approximation is poor for few discordant pairs; 25 is the usual cut. */
    r->used_exact = b + c < 25;
    r->p = r->used_exact ? r->p_exact : r->p_chi2;
}

int df_mcnemar_test(const int *pred_a, const int *pred_b, const int *y, int n, df_mcnemar *r, df_error *err) {
    memset(r, 0, sizeof *r);
    if (n < 1) return df_fail(err, "mcnemar: need at least one sample, got n = %d", n);
    int b = 0, c = 0;
    for (int i = 0; i < n; i++) {
        int ra = pred_a[i] == y[i], rb = pred_b[i] == y[i];
        b += ra && !rb;
        c += !ra && rb;
    }
    df_mcnemar_counts(b, c, r);
    return 0;
}

void df_holm(const double *p, int n, double *adjusted) {
    int *order = df_malloc(sizeof(int) * (size_t)n + sizeof(int)), m = 0;
    double *raw = df_malloc(sizeof(double) * (size_t)n + sizeof(double));
    for (int i = 0; i < n; i++) {
        raw[i] = p[i];
        if (isnan(p[i])) continue;
        /* insertion sort by (p, index): n is the number of models of a study */
        int j = m++;
        while (j > 0 && p[order[j - 1]] > p[i]) order[j] = order[j - 1], j--;
        order[j] = i;
    }
    double running = 0;
    for (int i = 0; i < n; i++) adjusted[i] = NAN;
    for (int j = 0; j < m; j++) {
        double a = fmin(1.0, (double)(m - j) * raw[order[j]]);
        running = fmax(running, a);
        adjusted[order[j]] = running;
    }
    free(order);
    free(raw);
}
