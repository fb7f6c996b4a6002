/* resampled_ttest.c: see resampled_ttest.h. Student's two-sided tail is the regularised incomplete beta
 * I_x(df/2, 1/2) at x = df / (df + t^2), evaluated by its continued fraction (modified Lentz), which
 * converges fast for x below (a + 1) / (a + b + 2); above it the symmetry I_x(a, b) = 1 - I_{1-x}(b, a) is
 * used. */
#include "train/metrics/resampled_ttest.h"

#include <math.h>

#define CF_MAX_TERMS 300
#define CF_EPS 1e-15
#define CF_TINY 1e-300

/* The continued fraction of I_x(a, b) without its prefactor. */
static double beta_fraction(double a, double b, double x) {
    double c = 1, d = 1 - (a + b) * x / (a + 1);
    d = 1 / (fabs(d) < CF_TINY ? CF_TINY : d);
    double h = d;
    for (int m = 1; m <= CF_MAX_TERMS; m++) {
        for (int odd = 0; odd < 2; odd++) {
            double num = odd ? -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
                             : m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
            d = 1 + num * d;
            c = 1 + num / c;
            d = 1 / (fabs(d) < CF_TINY ? CF_TINY : d);
            c = fabs(c) < CF_TINY ? CF_TINY : c;
            h *= d * c;
            if (odd && fabs(d * c - 1) < CF_EPS) return h;
        }
    }
    return h;
}

static double incomplete_beta(double a, double b, double x) {
    if (x <= 0) return 0;
    if (x >= 1) return 1;
    double front = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x));
    if (x < (a + 1) / (a + b + 2)) return front * beta_fraction(a, b, x) / a;
    return 1 - front * beta_fraction(b, a, 1 - x) / b;
}

double df_student_t_p2(double t, double df) {
    if (isnan(t) || !(df > 0)) return NAN;
    if (isinf(t)) return 0;
    return incomplete_beta(df / 2, 0.5, df / (df + t * t));
}

int df_corrected_resampled_ttest(const double *d, int n, double test_train_ratio, df_resampled_ttest *r,
                                 df_error *err) {
    if (n < 2) return df_fail(err, "corrected resampled t-test: %d difference(s); it needs at least 2", n);
    if (!(test_train_ratio > 0) || isinf(test_train_ratio))
        return df_fail(err, "corrected resampled t-test: the test/train size ratio is %g; it must be > 0",
                       test_train_ratio);
    double sum = 0;
    for (int j = 0; j < n; j++) {
        if (!isfinite(d[j])) return df_fail(err, "corrected resampled t-test: difference %d is %g", j, d[j]);
        sum += d[j];
    }
    double mean = sum / n, ss = 0;
    for (int j = 0; j < n; j++) ss += (d[j] - mean) * (d[j] - mean);
    r->mean = mean;
    r->sd = sqrt(ss / (n - 1));
    r->df = n - 1;
    r->defined = 1;
    double se = sqrt((1.0 / n + test_train_ratio) * ss / (n - 1));
    if (se > 0) {
        r->t = mean / se;
        r->p = df_student_t_p2(r->t, r->df);
    } else if (mean != 0) {
        r->t = mean > 0 ? INFINITY : -INFINITY;
        r->p = 0;
    } else {
        r->t = 0, r->p = 1, r->defined = 0;
    }
    return 0;
}
