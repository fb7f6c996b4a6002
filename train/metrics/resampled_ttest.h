/* resampled_ttest.h: the corrected resampled t-test of Nadeau and Bengio (Machine Learning 52, 2003) for
 * comparing two models over the splits of a (repeated) cross-validation, and Student's t tail it needs.
 *
 * The n = r x k differences d_j (model minus baseline, one per test fold) share training data, so their
 * plain variance understates the variance of their mean; the correction inflates it by the test/train size
 * ratio:  t = mean(d) / sqrt((1/n + n_test/n_train) * var(d)),  df = n - 1,  p two-sided. */
#ifndef DF_RESAMPLED_TTEST_H
#define DF_RESAMPLED_TTEST_H

#include "core/error.h"

typedef struct {
    double mean, sd; /* of the differences (sd: sample, n - 1) */
    double t, p;     /* p two-sided; t = +-inf and p = 0 when every difference is equal and non-zero */
    int df;
    int defined;     /* 0 when all differences are 0 (no evidence either way: t 0, p 1) */
} df_resampled_ttest;

/* Fails (naming the argument) when n < 2, a difference is not finite or test_train_ratio is not > 0. */
int df_corrected_resampled_ttest(const double *d, int n, double test_train_ratio, df_resampled_ttest *r,
                                 df_error *err);

/* P(|T| > |t|) for Student's t with df > 0 degrees of freedom. */
double df_student_t_p2(double t, double df);

#endif
