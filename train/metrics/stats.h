/* stats.h: the study's statistics: spread over seeds, bootstrap intervals, and paired tests of two models.
 *
 * - Bootstrap: B resamples of the n samples with replacement; resample b draws its j-th index from
 *   counter b * n + j of the DF_STREAM_STATS stream of `seed`, so the result is a pure function of the
 *   inputs and the seed whatever the number of threads (resamples run in parallel with OpenMP). Resamples
 *   where the metric is NaN (e.g. an AUC on a resample without positives) are dropped and counted. The
 *   interval is the percentile interval: the (1 - level) / 2 and (1 + level) / 2 quantiles of the resampled
 *   values, with linear interpolation between order statistics.
 * - DeLong (DeLong, DeLong & Clarke-Pearson 1988), computed with midranks as in Sun & Xu 2014 (O(n log n)):
 *   the two AUCs, their variances and covariance, z = (auc_a - auc_b) / sqrt(var_a + var_b - 2 cov) and the
 *   two-sided normal p-value. When the variance of the difference is 0 (e.g. identical scores) the test is
 *   undefined: z = 0, p = 1, defined = 0 and note says why.
 * - McNemar on paired correctness: b = A right and B wrong, c = A wrong and B right. Both the chi-square
 *   with continuity correction, max(|b - c| - 1, 0)^2 / (b + c), and the exact two-sided binomial p-value
 *   are returned; p is the exact one when b + c < 25 and the chi-square one otherwise (used_exact says
 *   which). With b + c = 0 there is no discordant pair: chi2 = 0 and every p is 1. */
#ifndef DF_STATS_H
#define DF_STATS_H

#include <stdint.h>

#include "core/error.h"

/* Mean and sample standard deviation (divisor n - 1). sd is NaN for n < 2, mean NaN for n = 0. */
void df_mean_sd(const double *x, int n, double *mean, double *sd);

/* P(Z <= z), P(Z > z) for a standard normal; P(X > x) for a chi-square with 1 degree of freedom. */
double df_normal_cdf(double z);
double df_normal_sf(double z);
double df_chi2_1_sf(double x);

/* A metric of the samples idx[0..n) (with repeats) of prob (N, K) and y (N). It must be safe to call from
 * several threads at once, and may return NaN where the metric is undefined on that subset. */
typedef double (*df_metric_fn)(const float *prob, const int *y, int K, const int *idx, int n, void *ctx);

/* Ready-made metric functions; ctx is unused except by df_metric_accuracy_at (a const double *threshold). */
double df_metric_accuracy(const float *prob, const int *y, int K, const int *idx, int n, void *ctx);
double df_metric_accuracy_at(const float *prob, const int *y, int K, const int *idx, int n, void *ctx);
double df_metric_balanced_accuracy(const float *prob, const int *y, int K, const int *idx, int n, void *ctx);
/* Binary AUC, or the macro one-vs-rest AUC over the classes where it is defined. */
double df_metric_auc(const float *prob, const int *y, int K, const int *idx, int n, void *ctx);
double df_metric_macro_f1_milk(const float *prob, const int *y, int K, const int *idx, int n, void *ctx);

typedef struct {
    double estimate; /* the metric on all samples (or the difference A - B) */
    double lo, hi;   /* percentile interval */
    double se;       /* standard deviation of the resampled values */
    double p;        /* paired only: two-sided bootstrap p of "no difference", 2 * min(P(d <= 0), P(d >= 0)),
                        capped at 1; NaN for a single model */
    int B, valid;    /* resamples drawn, and those where the metric was defined */
} df_interval;

/* Percentile interval of fn over B resamples at `level` (e.g. 0.95). Fails on bad arguments, or when
 * fewer than half the resamples give a defined value. */
int df_bootstrap_ci(const float *prob, const int *y, int n, int K, df_metric_fn fn, void *ctx, int B,
                    double level, uint64_t seed, df_interval *out, df_error *err);

/* Interval of fn(A) - fn(B), both models evaluated on the same resampled indices. */
int df_bootstrap_paired(const float *prob_a, const float *prob_b, const int *y, int n, int K,
                        df_metric_fn fn, void *ctx, int B, double level, uint64_t seed, df_interval *out,
                        df_error *err);

typedef struct {
    double auc_a, auc_b;
    double var_a, var_b, cov;
    double z, p;      /* two-sided */
    int defined;      /* 0 when the variance of the difference is 0 */
    const char *note; /* "" or why the test is undefined */
} df_delong;

/* Scores of models A and B on the same n samples, pos[i] != 0 for positives. Needs >= 2 positives and
 * >= 2 negatives, finite scores. */
int df_delong_test(const float *score_a, const float *score_b, const int *pos, int n, df_delong *r,
                   df_error *err);
/* The same on column k of prob (n, K) against y == k (k = 1 for binary). */
int df_delong_test_class(const float *prob_a, const float *prob_b, const int *y, int n, int K, int k,
                         df_delong *r, df_error *err);

typedef struct {
    int b, c;         /* discordant pairs: A right & B wrong, A wrong & B right */
    double chi2;      /* with continuity correction */
    double p_chi2;    /* chi-square(1) survival of chi2 */
    double p_exact;   /* two-sided exact binomial(b + c, 1/2) */
    double p;         /* the one used */
    int used_exact;   /* 1 when p = p_exact (b + c < 25) */
} df_mcnemar;

void df_mcnemar_counts(int b, int c, df_mcnemar *r);
/* From predicted labels of A and B and the truth y; fails on n < 1. */
int df_mcnemar_test(const int *pred_a, const int *pred_b, const int *y, int n, df_mcnemar *r, df_error *err);

/* Holm-Bonferroni step-down adjustment of n p-values: with the m defined (non-NaN) values in ascending order
 * p_(1) <= ... <= p_(m), adjusted p_(i) = min(1, max over j <= i of (m - j + 1) p_(j)); NaN entries stay NaN
 * and do not count in m. adjusted may be p itself. Each adjusted value is >= its raw value. */
void df_holm(const double *p, int n, double *adjusted);

#endif
