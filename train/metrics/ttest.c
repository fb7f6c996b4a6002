/* ttest.c: the incomplete beta function, Student's t tail and the corrected resampled t-test (see ttest.h). */
#include "train/metrics/ttest.h"

#include <math.h>

/* The continued fraction of I_x(a, b) (x < (a + 1) / (a + b + 2), where it converges fast), evaluated by the
 * modified Lentz method: 1 + d1 / (1 + d2 / (1 + ...)) with
 *   d_2m+1 = -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1)),   d_2m = m (b - m) x / ((a + 2m - 1)(a + 2m)). */
static double beta_fraction(double a, double b, double x) {
    const double tiny = 1e-300;
    double f = 1, C = 1, D = 0;
    for (int i = 1; i <= 1000; i++) {
        int m = i / 2;
        double d = i % 2 ? -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
                         : m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
        D = 1 + d * D;
        if (fabs(D) < tiny) D = tiny;
        C = 1 + d / C;
        if (fabs(C) < tiny) C = tiny;
        D = 1 / D;
        f *= C * D;
        if (fabs(C * D - 1) < 1e-15) break;
    }
    return f;
}

double df_beta_inc(double a, double b, double x) {
    if (!(a > 0 && b > 0 && x >= 0 && x <= 1)) return NAN;
    if (x == 0 || x == 1) return x;
    if (x > (a + 1) / (a + b + 2)) return 1 - df_beta_inc(b, a, 1 - x);
    double log_front = a * log(x) + b * log1p(-x) - (lgamma(a) + lgamma(b) - lgamma(a + b)) - log(a);
    return exp(log_front) / beta_fraction(a, b, x);
}

/* P(T > t) = I_{nu / (nu + t^2)}(nu / 2, 1 / 2) / 2 for t >= 0, by symmetry for t < 0. */
double df_t_sf(double t, double nu) {
    if (isnan(t) || !(nu > 0)) return NAN;
    if (isinf(t)) return t > 0 ? 0 : 1;
    double half = 0.5 * df_beta_inc(0.5 * nu, 0.5, nu / (nu + t * t));
    return t >= 0 ? half : 1 - half;
}

int df_corrected_ttest(const double *d, int k, double n_test, double n_train, df_ttest *r, df_error *err) {
    *r = (df_ttest){.k = k, .mean = NAN, .sd = NAN, .t = NAN, .df = k - 1, .p = NAN};
    if (k < 2) return df_fail(err, "corrected t-test: %d paired difference(s), expected at least 2", k);
    if (!(n_test > 0 && n_train > 0))
        return df_fail(err, "corrected t-test: %g test and %g training samples, expected both above 0", n_test,
                       n_train);
    for (int j = 0; j < k; j++)
        if (!isfinite(d[j])) return df_fail(err, "corrected t-test: difference %d is %g, expected finite", j, d[j]);
    double mean = 0, ss = 0;
    for (int j = 0; j < k; j++) mean += d[j];
    mean /= k;
    for (int j = 0; j < k; j++) ss += (d[j] - mean) * (d[j] - mean);
    r->mean = mean;
    r->sd = sqrt(ss / (k - 1));
    /* Rounding leaves a hair of spread in equal differences (0.1 three times); that is no spread. */
    if (r->sd <= 1e-12 * fabs(mean)) {
        r->p = mean == 0 ? 1 : 0;
        return 0;
    }
    r->t = mean / sqrt((1.0 / k + n_test / n_train) * r->sd * r->sd);
    r->p = fmin(1.0, 2 * df_t_sf(fabs(r->t), r->df));
    r->defined = 1;
    return 0;
}
