/* ttest.h: Student's t distribution and the corrected resampled t-test of Nadeau & Bengio (2003).
 *
 * Comparing two models over k train/test resamplings of one data set (a study's seeds each draw their own
 * split), the k paired differences d_j of a metric are not independent: the training sets overlap, so the
 * plain paired t-test's variance s^2 / k is too small and its p-values too optimistic. Nadeau and Bengio's
 * correction inflates the variance factor 1 / k to 1 / k + n_test / n_train:
 *   t = mean(d) / sqrt((1 / k + n_test / n_train) s^2),   s^2 = sum (d_j - mean(d))^2 / (k - 1),
 * with k - 1 degrees of freedom and the two-sided p = P(|T| >= |t|). With s = 0 (or s <= 1e-12 |mean(d)|, what
 * rounding leaves of equal differences) the statistic is undefined:
 * t is NaN, p is 1 when every difference is 0 and 0 otherwise (a constant non-zero difference), and defined
 * is 0. */
#ifndef DF_TTEST_H
#define DF_TTEST_H

#include "core/error.h"

/* Regularised incomplete beta function I_x(a, b) for a, b > 0 and x in [0, 1] (continued fraction, relative
 * precision about 1e-14); NaN outside that domain. */
double df_beta_inc(double a, double b, double x);
/* P(T > t) for Student's t with nu > 0 degrees of freedom. */
double df_t_sf(double t, double nu);

typedef struct {
    int k;               /* paired differences */
    double mean, sd;     /* of the differences (sd: divisor k - 1) */
    double t, df, p;     /* statistic, degrees of freedom (k - 1), two-sided p */
    int defined;         /* 0 when sd is 0 (see above) */
} df_ttest;

/* The corrected resampled t-test of the differences d[0..k) (model - baseline, one per resampling) for test
 * and training sets of n_test and n_train samples (their means over the resamplings). Fails on k < 2, a
 * non-finite difference, or n_test, n_train not > 0. */
int df_corrected_ttest(const double *d, int k, double n_test, double n_train, df_ttest *r, df_error *err);

#endif
