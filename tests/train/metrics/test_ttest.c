/* test_ttest.c: the incomplete beta function and Student's t tail against closed forms and reference values,
 * and the corrected resampled t-test on a small table worked by hand. */
#include <math.h>

#include "check.h"
#include "train/metrics/ttest.h"

/* Reference values from mpmath.betainc(a, b, 0, x, regularized=True) at 30 digits (scipy is not installed). */
static void test_beta_inc(void) {
    CHECK_CLOSE(df_beta_inc(2.5, 3.5, 0.3), 0.296752989295666378, 1e-13, 0);
    CHECK_CLOSE(df_beta_inc(0.5, 0.5, 0.9), 0.795167235300866572, 1e-13, 0);
    CHECK_CLOSE(df_beta_inc(10, 20, 0.6), 0.998477777826912889, 1e-13, 0);
    /* I_x(1, 1) = x; I_x(a, 1) = x^a */
    CHECK_CLOSE(df_beta_inc(1, 1, 0.37), 0.37, 1e-15, 0);
    CHECK_CLOSE(df_beta_inc(3, 1, 0.5), 0.125, 1e-15, 0);
    CHECK(df_beta_inc(1, 1, 0) == 0 && df_beta_inc(1, 1, 1) == 1);
    CHECK(isnan(df_beta_inc(0, 1, 0.5)) && isnan(df_beta_inc(1, 1, 1.5)));
}

static void test_t_tail(void) {
    /* nu = 1 is Cauchy: P(T > t) = 1/2 - atan(t) / pi; nu = 2: P(T > t) = (1 - t / sqrt(2 + t^2)) / 2 */
    CHECK_CLOSE(df_t_sf(1.0, 1), 0.25, 1e-14, 0);
    CHECK_CLOSE(df_t_sf(3.0, 1), 0.5 - atan(3.0) / M_PI, 1e-14, 0);
    CHECK_CLOSE(df_t_sf(1.5, 2), (1 - 1.5 / sqrt(2 + 2.25)) / 2, 1e-14, 0);
    CHECK_CLOSE(df_t_sf(-1.5, 2), 1 - (1 - 1.5 / sqrt(2 + 2.25)) / 2, 1e-14, 0);
    CHECK_CLOSE(df_t_sf(0, 7), 0.5, 1e-15, 0);
    /* mpmath: betainc(1.5, 0.5, 0, 3 / 7) / 2 */
    CHECK_CLOSE(df_t_sf(2.0, 3), 0.0696629842794215819, 1e-14, 0);
    /* many degrees of freedom: close to the normal tail, P(Z > 1.96) = 0.0249979 */
    CHECK_CLOSE(df_t_sf(1.959963984540054, 1e7), 0.025, 1e-7, 0);
}

/* Differences d = 0.020, 0.035, 0.010, 0.025, 0.030 over k = 5 resamplings of 150 test and 850 training
 * samples: mean 0.024; deviations -0.004, 0.011, -0.014, 0.001, 0.006, squares summing to 370e-6, so
 * s^2 = 370e-6 / 4 = 92.5e-6. Corrected variance (1/5 + 150/850) s^2 = 0.3764706 * 92.5e-6 = 34.82353e-6,
 * t = 0.024 / sqrt(34.82353e-6) = 0.024 / 0.00590114 = 4.067006, 4 degrees of freedom; two-sided
 * p = I_{4 / (4 + t^2)}(2, 1/2) = 0.0152604670 (mpmath). The plain paired test (variance s^2 / 5) would say
 * t = 5.5799, p = 0.00506: the correction matters. */
static void test_corrected(void) {
    const double d[5] = {0.020, 0.035, 0.010, 0.025, 0.030};
    df_ttest r;
    df_error err;
    CHECK(df_corrected_ttest(d, 5, 150, 850, &r, &err) == 0);
    CHECK_CLOSE(r.mean, 0.024, 1e-15, 0);
    CHECK_CLOSE(r.sd, sqrt(92.5e-6), 1e-15, 0);
    CHECK_CLOSE(r.t, 4.06700633642738951, 1e-12, 0);
    CHECK(r.df == 4 && r.defined == 1 && r.k == 5);
    CHECK_CLOSE(r.p, 0.0152604670239939112, 1e-12, 0);
    /* n_test / n_train -> 0 gives the plain paired t-test */
    CHECK(df_corrected_ttest(d, 5, 1e-12, 1, &r, &err) == 0);
    CHECK_CLOSE(r.t, 5.57988665970332471, 1e-9, 0);
    CHECK_CLOSE(r.p, 0.00505758887434513531, 1e-10, 0);
    /* swapping the models flips t, keeps p */
    const double neg[5] = {-0.020, -0.035, -0.010, -0.025, -0.030};
    CHECK(df_corrected_ttest(neg, 5, 150, 850, &r, &err) == 0);
    CHECK_CLOSE(r.t, -4.06700633642738951, 1e-12, 0);
    CHECK_CLOSE(r.p, 0.0152604670239939112, 1e-12, 0);
    /* no spread */
    const double same[3] = {0, 0, 0}, shift[3] = {0.1, 0.1, 0.1};
    CHECK(df_corrected_ttest(same, 3, 1, 4, &r, &err) == 0 && !r.defined && r.p == 1 && isnan(r.t));
    CHECK(df_corrected_ttest(shift, 3, 1, 4, &r, &err) == 0 && !r.defined && r.p == 0);
    /* refusals */
    CHECK(df_corrected_ttest(d, 1, 150, 850, &r, &err) != 0);
    CHECK(df_corrected_ttest(d, 5, 0, 850, &r, &err) != 0);
    const double nan_d[2] = {0.1, NAN};
    CHECK(df_corrected_ttest(nan_d, 2, 1, 1, &r, &err) != 0);
}

int main(void) {
    test_beta_inc();
    test_t_tail();
    test_corrected();
    return check_report();
}
