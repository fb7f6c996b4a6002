/* test_stats.c: mean/sd, tails, McNemar by hand, DeLong against its structural components computed from
 * the definition, and the bootstrap's determinism and coverage of the point estimate. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/rng.h"
#include "train/metrics/metrics.h"
#include "train/metrics/resampled_ttest.h"
#include "train/metrics/stats.h"

static void test_basics(void) {
    const double x[4] = {1, 2, 3, 4};
    double m, sd;
    df_mean_sd(x, 4, &m, &sd);
    CHECK_CLOSE(m, 2.5, 1e-15, 0);
    CHECK_CLOSE(sd, sqrt(5.0 / 3), 1e-15, 0);
    df_mean_sd(x, 1, &m, &sd);
    CHECK(m == 1 && isnan(sd));
    CHECK_CLOSE(df_normal_cdf(1.959963984540054), 0.975, 1e-12, 0);
    CHECK_CLOSE(df_normal_cdf(0), 0.5, 1e-15, 0);
    CHECK_CLOSE(df_normal_sf(-1.0) + df_normal_sf(1.0), 1.0, 1e-15, 0);
    CHECK_CLOSE(df_chi2_1_sf(3.841458820694124), 0.05, 1e-12, 0);
    CHECK_CLOSE(df_chi2_1_sf(0), 1.0, 0, 0);
}

/* Student's tail against closed forms (df 1: Cauchy, 1 - 2 atan|t| / pi; df 2: 1 - |t| / sqrt(t^2 + 2)), table
 * quantiles (t 0.975 for df 1, 4, 10) and a value integrated numerically (Simpson, 2e6 intervals, over the
 * density). The corrected test on d = {.02, .03, -.01, .04, .01}, test/train 1/4 (5-fold): mean .018,
 * squared deviations 4e-6 + 1.44e-4 + 7.84e-4 + 4.84e-4 + 6.4e-5 = 1.48e-3, var 3.7e-4,
 * t = .018 / sqrt((1/5 + 1/4) * 3.7e-4) = 1.3949717, df 4, p = .2354964 (integrated as above); without
 * the correction t would be 2.09. */
static void test_resampled_ttest(void) {
    const double pi = 3.14159265358979323846;
    for (double t = 0.25; t < 40; t *= 2) {
        CHECK_CLOSE(df_student_t_p2(t, 1), 1 - 2 * atan(t) / pi, 1e-12, 0);
        CHECK_CLOSE(df_student_t_p2(-t, 2), 1 - t / sqrt(t * t + 2), 1e-12, 0);
    }
    CHECK_CLOSE(df_student_t_p2(12.7062047, 1), 0.05, 1e-8, 0);
    CHECK_CLOSE(df_student_t_p2(2.776445105, 4), 0.05, 1e-9, 0);
    CHECK_CLOSE(df_student_t_p2(2.228138852, 10), 0.05, 1e-9, 0);
    CHECK_CLOSE(df_student_t_p2(1.5, 7), 0.17729848699, 1e-9, 0);
    CHECK_CLOSE(df_student_t_p2(0, 5), 1.0, 1e-15, 0);
    CHECK(df_student_t_p2(INFINITY, 3) == 0 && isnan(df_student_t_p2(1, 0)));

    const double d[5] = {0.02, 0.03, -0.01, 0.04, 0.01};
    df_resampled_ttest r;
    df_error err;
    CHECK(df_corrected_resampled_ttest(d, 5, 0.25, &r, &err) == 0);
    CHECK_CLOSE(r.mean, 0.018, 1e-15, 0);
    CHECK_CLOSE(r.sd, sqrt(3.7e-4), 1e-14, 0);
    CHECK_CLOSE(r.t, 1.3949716649258312, 1e-12, 0);
    CHECK_CLOSE(r.p, 0.23549636025950316, 1e-9, 0);
    CHECK(r.df == 4 && r.defined);

    const double same[3] = {0.01, 0.01, 0.01}, zero[3] = {0, 0, 0}, bad[2] = {0.1, NAN};
    CHECK(df_corrected_resampled_ttest(same, 3, 0.5, &r, &err) == 0 && isinf(r.t) && r.p == 0 && r.defined);
    CHECK(df_corrected_resampled_ttest(zero, 3, 0.5, &r, &err) == 0 && r.p == 1 && !r.defined);
    CHECK(df_corrected_resampled_ttest(d, 1, 0.25, &r, &err) != 0 && strstr(err.msg, "at least 2"));
    CHECK(df_corrected_resampled_ttest(bad, 2, 0.25, &r, &err) != 0 && strstr(err.msg, "difference 1"));
    CHECK(df_corrected_resampled_ttest(d, 5, 0, &r, &err) != 0 && strstr(err.msg, "ratio"));
}

static void test_mcnemar(void) {
    df_mcnemar r;
    df_mcnemar_counts(10, 2, &r);
    CHECK_CLOSE(r.chi2, 49.0 / 12, 1e-12, 0);
    /* P(chi2_1 > 4.0833) = P(|Z| > 2.0207) */
    CHECK_CLOSE(r.p_chi2, 0.043308142, 1e-8, 0);
    /* 2 * (C(12,0) + C(12,1) + C(12,2)) / 2^12 = 2 * 79 / 4096 */
    CHECK_CLOSE(r.p_exact, 158.0 / 4096, 1e-12, 0);
    CHECK(r.used_exact == 1 && r.p == r.p_exact);

    df_mcnemar_counts(5, 0, &r);
    CHECK_CLOSE(r.p_exact, 0.0625, 1e-12, 0);
    df_mcnemar_counts(3, 3, &r);
    CHECK(r.chi2 == 0 && r.p_exact == 1 && r.p == 1);
    df_mcnemar_counts(0, 0, &r);
    CHECK(r.p == 1 && r.p_chi2 == 1 && r.p_exact == 1);
    df_mcnemar_counts(30, 10, &r);
    CHECK(r.used_exact == 0);
    CHECK_CLOSE(r.chi2, 19.0 * 19 / 40, 1e-12, 0);
    CHECK(r.p == r.p_chi2);

    /* From predictions: sample 0 both right, 1 and 2 only A right, 3 only B right, 4 both wrong. */
    const int y[5] = {0, 1, 1, 0, 1}, a[5] = {0, 1, 1, 1, 0}, b[5] = {0, 0, 0, 0, 0};
    df_error err = {0};
    CHECK(df_mcnemar_test(a, b, y, 5, &r, &err) == 0);
    CHECK(r.b == 2 && r.c == 1);
}

/* Structural components by their definition (DeLong 1988): psi(x, y) = 1, 1/2, 0 for x >, =, < y;
 * V10(X_i) = mean_j psi(X_i, Y_j), V01(Y_j) = mean_i psi(X_i, Y_j), S = sample covariances. */
static double psi(float x, float y) { return x > y ? 1.0 : x == y ? 0.5 : 0.0; }

static void brute_delong(const float *a, const float *b, const int *pos, int n, double *auc_a, double *auc_b,
                         double *var_a, double *var_b, double *cov) {
    int P = 0, N = 0;
    for (int i = 0; i < n; i++) P += pos[i] != 0;
    N = n - P;
    double *v10[2], *v01[2];
    for (int m = 0; m < 2; m++) {
        v10[m] = calloc((size_t)P, sizeof(double));
        v01[m] = calloc((size_t)N, sizeof(double));
        const float *s = m ? b : a;
        int ip = 0;
        for (int i = 0; i < n; i++) {
            if (!pos[i]) continue;
            int jn = 0;
            for (int j = 0; j < n; j++) {
                if (pos[j]) continue;
                double v = psi(s[i], s[j]);
                v10[m][ip] += v / N;
                v01[m][jn] += v / P;
                jn++;
            }
            ip++;
        }
    }
    double mp[2] = {0, 0}, mn[2] = {0, 0};
    for (int m = 0; m < 2; m++) {
        for (int i = 0; i < P; i++) mp[m] += v10[m][i] / P;
        for (int j = 0; j < N; j++) mn[m] += v01[m][j] / N;
    }
    double S10[2][2] = {{0}}, S01[2][2] = {{0}};
    for (int r = 0; r < 2; r++)
        for (int c = 0; c < 2; c++) {
            for (int i = 0; i < P; i++) S10[r][c] += (v10[r][i] - mp[r]) * (v10[c][i] - mp[c]) / (P - 1);
            for (int j = 0; j < N; j++) S01[r][c] += (v01[r][j] - mn[r]) * (v01[c][j] - mn[c]) / (N - 1);
        }
    *auc_a = mp[0];
    *auc_b = mp[1];
    *var_a = S10[0][0] / P + S01[0][0] / N;
    *var_b = S10[1][1] / P + S01[1][1] / N;
    *cov = S10[0][1] / P + S01[0][1] / N;
    for (int m = 0; m < 2; m++) {
        free(v10[m]);
        free(v01[m]);
    }
}

static void test_delong(void) {
    df_error err = {0};
    df_delong r;
    /* A small case with ties within and across classes. */
    const float a[8] = {0.9f, 0.7f, 0.7f, 0.4f, 0.7f, 0.3f, 0.2f, 0.2f};
    const float b[8] = {0.6f, 0.8f, 0.3f, 0.5f, 0.5f, 0.4f, 0.1f, 0.6f};
    const int pos[8] = {1, 1, 1, 1, 0, 0, 0, 0};
    double aa, ab, va, vb, cv;
    brute_delong(a, b, pos, 8, &aa, &ab, &va, &vb, &cv);
    CHECK(df_delong_test(a, b, pos, 8, &r, &err) == 0);
    CHECK_CLOSE(r.auc_a, aa, 1e-12, 0);
    CHECK_CLOSE(r.auc_b, ab, 1e-12, 0);
    CHECK_CLOSE(r.auc_a, df_auc_scores(a, pos, 8), 1e-12, 0);
    CHECK_CLOSE(r.var_a, va, 1e-12, 0);
    CHECK_CLOSE(r.var_b, vb, 1e-12, 0);
    CHECK_CLOSE(r.cov, cv, 1e-12, 0);
    double z = (aa - ab) / sqrt(va + vb - 2 * cv);
    CHECK_CLOSE(r.z, z, 1e-9, 0);
    CHECK_CLOSE(r.p, erfc(fabs(z) / sqrt(2.0)), 1e-9, 0);
    CHECK(r.defined == 1);

    /* Random correlated models with ties, several sizes. */
    df_rng g = df_rng_make(3, DF_STREAM_STATS);
    for (int trial = 0; trial < 5; trial++) {
        int n = 40 + 60 * trial;
        float *sa = malloc(sizeof(float) * n), *sb = malloc(sizeof(float) * n);
        int *p = malloc(sizeof(int) * n);
        for (int i = 0; i < n; i++) {
            p[i] = df_rng_below(&g, 3) == 0;
            float common = df_rng_normal(&g) + (p[i] ? 1.0f : 0.0f);
            sa[i] = roundf((common + 0.5f * df_rng_normal(&g)) * 4) / 4;
            sb[i] = roundf((common + 0.8f * df_rng_normal(&g)) * 4) / 4;
        }
        brute_delong(sa, sb, p, n, &aa, &ab, &va, &vb, &cv);
        CHECK(df_delong_test(sa, sb, p, n, &r, &err) == 0);
        CHECK_CLOSE(r.auc_a, aa, 1e-12, 0);
        CHECK_CLOSE(r.auc_b, ab, 1e-12, 0);
        CHECK_CLOSE(r.var_a, va, 1e-12, 1e-9);
        CHECK_CLOSE(r.var_b, vb, 1e-12, 1e-9);
        CHECK_CLOSE(r.cov, cv, 1e-12, 1e-9);
        CHECK(r.cov > 0); /* the shared term makes the two AUC estimates positively correlated */
        free(sa);
        free(sb);
        free(p);
    }

    /* Identical models: no test, reported as such. */
    CHECK(df_delong_test(a, a, pos, 8, &r, &err) == 0);
    CHECK(r.defined == 0 && r.z == 0 && r.p == 1 && strlen(r.note) > 0);

    /* A clearly better model on n = 1962 (the ISIC validation size) gives a small p. */
    int n = 1962;
    float *sa = malloc(sizeof(float) * n), *sb = malloc(sizeof(float) * n);
    float *pa = malloc(sizeof(float) * 2 * n), *pb = malloc(sizeof(float) * 2 * n);
    int *p = malloc(sizeof(int) * n);
    for (int i = 0; i < n; i++) {
        p[i] = df_rng_below(&g, 5) == 0;
        sa[i] = df_rng_normal(&g) + (p[i] ? 2.0f : 0.0f);
        sb[i] = df_rng_normal(&g) + (p[i] ? 0.5f : 0.0f);
        pa[2 * i + 1] = 1 / (1 + expf(-sa[i]));
        pa[2 * i] = 1 - pa[2 * i + 1];
        pb[2 * i + 1] = 1 / (1 + expf(-sb[i]));
        pb[2 * i] = 1 - pb[2 * i + 1];
    }
    CHECK(df_delong_test(sa, sb, p, n, &r, &err) == 0);
    CHECK(r.defined && r.auc_a > r.auc_b && r.z > 5 && r.p < 1e-6);
    /* The class form on probabilities (a monotone map of the scores) agrees. */
    df_delong rc;
    CHECK(df_delong_test_class(pa, pb, p, n, 2, 1, &rc, &err) == 0);
    CHECK_CLOSE(rc.z, r.z, 1e-6, 1e-6);
    free(sa);
    free(sb);
    free(pa);
    free(pb);
    free(p);

    const int few[4] = {1, 0, 0, 0};
    CHECK(df_delong_test(a, b, few, 4, &r, &err) == -1);
    CHECK(strstr(err.msg, "1 positive") != NULL);
}

/* n binary samples where model A is informative and model B is noise. */
static void make_models(int n, float *pa, float *pb, int *y) {
    df_rng g = df_rng_make(21, DF_STREAM_STATS);
    for (int i = 0; i < n; i++) {
        y[i] = df_rng_below(&g, 2);
        float sa = df_rng_normal(&g) + (y[i] ? 1.5f : -1.5f), sb = df_rng_normal(&g);
        pa[2 * i + 1] = 1 / (1 + expf(-sa));
        pa[2 * i] = 1 - pa[2 * i + 1];
        pb[2 * i + 1] = 1 / (1 + expf(-sb));
        pb[2 * i] = 1 - pb[2 * i + 1];
    }
}

static void test_bootstrap(void) {
    enum { n = 400 };
    float pa[2 * n], pb[2 * n];
    int y[n];
    make_models(n, pa, pb, y);
    df_error err = {0};
    df_interval ci, again, other;

    CHECK(df_bootstrap_ci(pa, y, n, 2, df_metric_auc, NULL, 1000, 0.95, 7, &ci, &err) == 0);
    CHECK_CLOSE(ci.estimate, df_auc_class(pa, y, n, 2, 1), 1e-15, 0);
    CHECK(ci.lo < ci.estimate && ci.estimate < ci.hi);
    CHECK(ci.B == 1000 && ci.valid == 1000 && isnan(ci.p));

    /* Deterministic for a seed, whatever the number of threads; another seed gives another interval. */
    omp_set_num_threads(1);
    CHECK(df_bootstrap_ci(pa, y, n, 2, df_metric_auc, NULL, 1000, 0.95, 7, &again, &err) == 0);
    omp_set_num_threads(2);
    CHECK(again.lo == ci.lo && again.hi == ci.hi && again.se == ci.se);
    CHECK(df_bootstrap_ci(pa, y, n, 2, df_metric_auc, NULL, 1000, 0.95, 8, &other, &err) == 0);
    CHECK(other.lo != ci.lo || other.hi != ci.hi);

    /* The bootstrap standard error of an accuracy matches the binomial sqrt(a (1 - a) / n). */
    CHECK(df_bootstrap_ci(pa, y, n, 2, df_metric_accuracy, NULL, 2000, 0.95, 1, &ci, &err) == 0);
    double a = ci.estimate;
    CHECK_CLOSE(ci.se, sqrt(a * (1 - a) / n), 0, 0.1);
    CHECK(ci.lo <= a && a <= ci.hi);
    /* and a 95% percentile interval spans about 2 * 1.96 standard errors */
    CHECK_CLOSE(ci.hi - ci.lo, 2 * 1.96 * ci.se, 0, 0.15);

    /* Paired: A against itself is exactly 0; A against noise is clearly better. */
    CHECK(df_bootstrap_paired(pa, pa, y, n, 2, df_metric_auc, NULL, 500, 0.95, 3, &ci, &err) == 0);
    CHECK(ci.estimate == 0 && ci.lo == 0 && ci.hi == 0 && ci.p == 1);
    CHECK(df_bootstrap_paired(pa, pb, y, n, 2, df_metric_auc, NULL, 500, 0.95, 3, &ci, &err) == 0);
    CHECK_CLOSE(ci.estimate, df_auc_class(pa, y, n, 2, 1) - df_auc_class(pb, y, n, 2, 1), 1e-12, 0);
    CHECK(ci.lo > 0 && ci.p == 0);
    CHECK(df_bootstrap_paired(pb, pa, y, n, 2, df_metric_balanced_accuracy, NULL, 500, 0.95, 3, &ci, &err) ==
          0);
    CHECK(ci.hi < 0);

    /* MILK10k macro-F1 and the threshold-taking accuracy are usable as metrics too. */
    CHECK(df_bootstrap_ci(pa, y, n, 2, df_metric_macro_f1_milk, NULL, 200, 0.9, 3, &ci, &err) == 0);
    CHECK_CLOSE(ci.estimate, df_macro_f1_milk(pa, y, n, 2), 1e-15, 0);
    double thr = 0.9;
    CHECK(df_bootstrap_ci(pa, y, n, 2, df_metric_accuracy_at, &thr, 200, 0.9, 3, &ci, &err) == 0);
    int correct = 0;
    for (int i = 0; i < n; i++) correct += (pa[2 * i + 1] > 0.9f) == y[i];
    CHECK_CLOSE(ci.estimate, (double)correct / n, 1e-15, 0);

    /* An AUC without positives is undefined on every resample: reported, not averaged over. */
    int y1[n];
    memset(y1, 0, sizeof y1);
    CHECK(df_bootstrap_ci(pa, y1, n, 2, df_metric_auc, NULL, 100, 0.95, 3, &ci, &err) == -1);
    CHECK(strstr(err.msg, "undefined") != NULL);
    CHECK(df_bootstrap_ci(pa, y, n, 2, df_metric_auc, NULL, 100, 1.5, 3, &ci, &err) == -1);
}

/* Holm-Bonferroni against R's p.adjust(p, "holm"). */
static void test_holm(void) {
    double p[5] = {0.01, 0.04, 0.03, 0.005, NAN}, a[5];
    df_holm(p, 5, a);
    const double want[4] = {0.03, 0.06, 0.06, 0.02};
    for (int i = 0; i < 4; i++) CHECK_CLOSE(a[i], want[i], 1e-15, 0);
    CHECK(isnan(a[4]));
    double q[3] = {0.5, 0.6, 0.2};
    df_holm(q, 3, q); /* in place: 0.2*3 = 0.6, 0.5*2 = 1, 0.6*1 -> 1 */
    CHECK_CLOSE(q[0], 1.0, 0, 0);
    CHECK_CLOSE(q[1], 1.0, 0, 0);
    CHECK_CLOSE(q[2], 0.6, 1e-15, 0);
    double one = 0.02;
    df_holm(&one, 1, &one);
    CHECK_CLOSE(one, 0.02, 0, 0);
}

int main(void) {
    omp_set_num_threads(2);
    test_basics();
    test_resampled_ttest();
    test_mcnemar();
    test_delong();
    test_bootstrap();
    test_holm();
    return check_report();
}
