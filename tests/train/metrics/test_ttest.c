/* test_ttest.c: the corrected resampled t-test (resampled_ttest.h) on a small table worked by hand, and
 * Student's t tail against closed forms and reference values. */
#include <math.h>

#include "check.h"
#include "train/metrics/resampled_ttest.h"

static void test_t_tail(void) {
    /* df 1 is Cauchy: P(|T| > t) = 1 - 2 atan(t) / pi; df 2: P(|T| > t) = 1 - t / sqrt(2 + t^2) */
    CHECK_CLOSE(df_student_t_p2(1.0, 1), 0.5, 1e-14, 0);
    CHECK_CLOSE(df_student_t_p2(3.0, 1), 1 - 2 * atan(3.0) / M_PI, 1e-14, 0);
    CHECK_CLOSE(df_student_t_p2(1.5, 2), 1 - 1.5 / sqrt(2 + 2.25), 1e-14, 0);
    CHECK_CLOSE(df_student_t_p2(-1.5, 2), 1 - 1.5 / sqrt(2 + 2.25), 1e-14, 0);
    /* mpmath.betainc(1.5, 0.5, 0, 3 / 7, regularized=True) (scipy is not installed) */
    CHECK_CLOSE(df_student_t_p2(2.0, 3), 2 * 0.0696629842794215819, 1e-13, 0);
}

/* Differences d = 0.020, 0.035, 0.010, 0.025, 0.030 over k = 5 resamplings of 150 test and 850 training
 * samples: mean 0.024; deviations -0.004, 0.011, -0.014, 0.001, 0.006, squares summing to 370e-6, so
 * s^2 = 370e-6 / 4 = 92.5e-6. Corrected variance (1/5 + 150/850) s^2 = 0.3764706 * 92.5e-6 = 34.82353e-6,
 * t = 0.024 / sqrt(34.82353e-6) = 0.024 / 0.00590114 = 4.067006, 4 degrees of freedom; two-sided
 * p = I_{4 / (4 + t^2)}(2, 1/2) = 0.0152604670 (mpmath). The plain paired test (variance s^2 / 5) would say
 * t = 5.5799, p = 0.00506: the correction matters. */
static void test_corrected(void) {
    const double d[5] = {0.020, 0.035, 0.010, 0.025, 0.030};
    df_resampled_ttest r;
    df_error err;
    CHECK(df_corrected_resampled_ttest(d, 5, 150.0 / 850, &r, &err) == 0);
    CHECK_CLOSE(r.mean, 0.024, 1e-15, 0);
    CHECK_CLOSE(r.sd, sqrt(92.5e-6), 1e-15, 0);
    CHECK_CLOSE(r.t, 4.06700633642738951, 1e-12, 0);
    CHECK(r.df == 4 && r.defined == 1);
    CHECK_CLOSE(r.p, 0.0152604670239939112, 1e-12, 0);
    /* a ratio near 0 gives the plain paired t-test */
    CHECK(df_corrected_resampled_ttest(d, 5, 1e-12, &r, &err) == 0);
    CHECK_CLOSE(r.t, 5.57988665970332471, 1e-9, 0);
    CHECK_CLOSE(r.p, 0.00505758887434513531, 1e-10, 0);
    /* swapping the models flips t, keeps p */
    const double neg[5] = {-0.020, -0.035, -0.010, -0.025, -0.030};
    CHECK(df_corrected_resampled_ttest(neg, 5, 150.0 / 850, &r, &err) == 0);
    CHECK_CLOSE(r.t, -4.06700633642738951, 1e-12, 0);
    CHECK_CLOSE(r.p, 0.0152604670239939112, 1e-12, 0);
}

int main(void) {
    test_t_tail();
    test_corrected();
    return check_report();
}
