/* test_calibration.c: reliability bins and ECE on a case worked by hand, the Brier score and NLL by hand,
 * and temperature scaling recovering a known temperature (softmax and sigmoid heads) and refusing what it
 * cannot fit. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "core/rng.h"
#include "train/metrics/calibration.h"

/* Ten binary samples, five bins of width 0.2 over the top-class probability c = max(p0, p1):
 *   sample  p1    y  top  c     right   bin
 *   0       0.95  1  1    0.95  yes     [0.8, 1]
 *   1       0.85  1  1    0.85  yes     [0.8, 1]
 *   2       0.85  0  1    0.85  no      [0.8, 1]
 *   3       0.65  1  1    0.65  yes     [0.6, 0.8)
 *   4       0.62  0  1    0.62  no      [0.6, 0.8)
 *   5       0.30  0  0    0.70  yes     [0.6, 0.8)
 *   6       0.20  0  0    0.80  yes     [0.8, 1]
 *   7       0.10  1  0    0.90  no      [0.8, 1]
 *   8       0.45  0  0    0.55  yes     [0.4, 0.6)
 *   9       0.55  0  1    0.55  no      [0.4, 0.6)
 * bin [0.4, 0.6): 2 samples, confidence 0.55, accuracy 1/2, |gap| 0.05, weight 2/10 -> 0.010
 * bin [0.6, 0.8): 3 samples, confidence 1.97/3 = 0.656667, accuracy 2/3, |gap| 0.01, weight 3/10 -> 0.003
 * bin [0.8, 1]:   5 samples, confidence 4.35/5 = 0.87, accuracy 3/5, |gap| 0.27, weight 5/10 -> 0.135
 * ECE = 0.010 + 0.003 + 0.135 = 0.148. The probabilities are floats (relative error 6e-8), hence 1e-6. */
static void test_ece_by_hand(void) {
    const float p1[10] = {0.95f, 0.85f, 0.85f, 0.65f, 0.62f, 0.30f, 0.20f, 0.10f, 0.45f, 0.55f};
    const int y[10] = {1, 1, 0, 1, 0, 0, 0, 1, 0, 0};
    float prob[20];
    for (int i = 0; i < 10; i++) prob[2 * i] = 1.0f - p1[i], prob[2 * i + 1] = p1[i];
    df_reliability_bin bins[5];
    double ece = df_reliability(prob, y, 10, 2, 5, bins);
    CHECK_CLOSE(ece, 0.148, 1e-6, 0);
    CHECK(bins[0].count == 0 && bins[1].count == 0 && isnan(bins[0].confidence) && isnan(bins[1].accuracy));
    CHECK(bins[2].count == 2 && bins[3].count == 3 && bins[4].count == 5);
    CHECK_CLOSE(bins[2].confidence, 0.55, 1e-6, 0);
    CHECK_CLOSE(bins[2].accuracy, 0.5, 0, 0);
    CHECK_CLOSE(bins[3].confidence, 1.97 / 3, 1e-6, 0);
    CHECK_CLOSE(bins[3].accuracy, 2.0 / 3, 1e-15, 0);
    CHECK_CLOSE(bins[4].confidence, 0.87, 1e-6, 0);
    CHECK_CLOSE(bins[4].accuracy, 0.6, 1e-15, 0);
    CHECK_CLOSE(df_ece(prob, y, 10, 2, 5), ece, 0, 0);
    /* one bin: |accuracy - mean confidence| over all = |6/10 - 7.42/10| (confidences 2.65 + 1.97 + 0.80 + 0.90
     * + 1.10 = 7.42) */
    CHECK_CLOSE(df_ece(prob, y, 10, 2, 1), 0.142, 1e-6, 0);
    CHECK(isnan(df_ece(prob, y, 0, 2, 5)));
}

/* Brier: [0.7, 0.2, 0.1] with y = 0 gives 0.3^2 + 0.2^2 + 0.1^2 = 0.14; [0.2, 0.5, 0.3] with y = 2 gives
 * 0.2^2 + 0.5^2 + 0.7^2 = 0.78; mean 0.46. NLL: (-log 0.7 - log 0.3) / 2. */
static void test_brier_nll(void) {
    const float prob[6] = {0.7f, 0.2f, 0.1f, 0.2f, 0.5f, 0.3f};
    const int y[2] = {0, 2};
    CHECK_CLOSE(df_brier(prob, y, 2, 3), 0.46, 1e-7, 0);
    CHECK_CLOSE(df_nll(prob, y, 2, 3), (-log(0.7) - log(0.3)) / 2, 1e-7, 0);
    const float sure[2] = {1.0f, 0.0f};
    const int wrong = 1;
    CHECK(isfinite(df_nll(sure, &wrong, 1, 2))); /* a 0 probability is floored, not -log 0 */
}

/* Logits z = t * T0 of true logits t, with labels drawn from softmax(t) (sigmoid(t) for C = 1): the NLL of
 * softmax(z / T) is smallest near T0. The tolerance is the estimate's own standard error: at beta = 1 / T the
 * NLL's second derivative per sample is the variance of the row's logits under its probabilities, so
 * se(beta) = 1 / sqrt(sum over samples of that variance) (Fisher information); we allow 4 of them. */
static void recover(int C, double T0, int n, uint64_t seed) {
    int K = C == 1 ? 2 : C;
    float *z = malloc(sizeof(float) * (size_t)n * C);
    int *y = malloc(sizeof(int) * (size_t)n);
    df_rng r = df_rng_make(seed, 7);
    double info = 0;
    for (int i = 0; i < n; i++) {
        double t[8], p[8], sum = 0;
        for (int k = 0; k < C; k++) t[k] = 2.0 * df_rng_normal(&r);
        if (C == 1) {
            p[1] = 1 / (1 + exp(-t[0])), p[0] = 1 - p[1];
        } else {
            for (int k = 0; k < C; k++) sum += p[k] = exp(t[k]);
            for (int k = 0; k < C; k++) p[k] /= sum;
        }
        double u = df_rng_uniform(&r), acc = 0;
        y[i] = K - 1;
        for (int k = 0; k < K; k++)
            if (u < (acc += p[k])) {
                y[i] = k;
                break;
            }
        /* variance of the scaled logit z under p: for C = 1 the logit is z for class 1 and 0 for class 0 */
        double m1 = 0, m2 = 0;
        for (int k = 0; k < K; k++) {
            double zk = C == 1 ? (k ? t[0] * T0 : 0) : t[k] * T0;
            m1 += p[k] * zk;
            m2 += p[k] * zk * zk;
        }
        info += m2 - m1 * m1;
        for (int k = 0; k < C; k++) z[(size_t)i * C + k] = (float)(t[k] * T0);
    }
    df_temperature fit;
    df_error err;
    CHECK_MSG(df_temperature_fit(z, y, n, C, &fit, &err) == 0, "%s", err.msg);
    double se = 1 / sqrt(info);
    CHECK_MSG(fabs(1 / fit.T - 1 / T0) < 4 * se, "C = %d: T = %g, expected %g (se of 1/T %g)", C, fit.T, T0, se);
    CHECK(fit.nll_after <= fit.nll_before);
    CHECK_CLOSE(fit.nll_after, df_temperature_nll(z, y, n, C, fit.T), 1e-12, 0);
    /* the fitted T is the NLL's minimum: a step either way is no better */
    CHECK(df_temperature_nll(z, y, n, C, fit.T * 1.01) >= fit.nll_after);
    CHECK(df_temperature_nll(z, y, n, C, fit.T / 1.01) >= fit.nll_after);
    /* probabilities through the head agree with the NLL */
    float *prob = malloc(sizeof(float) * (size_t)n * K);
    df_apply_temperature(z, n, C, K, fit.T, prob);
    double nll = 0;
    for (int i = 0; i < n; i++) nll -= log(prob[(size_t)i * K + y[i]]);
    CHECK_CLOSE(nll / n, fit.nll_after, 1e-5, 0);
    free(prob);
    free(z);
    free(y);
}

/* A sigmoid head's one logit s fits the same temperature as the two softmax logits (0, s), and logits read
 * back from the head's probabilities give the same fit. */
static void test_sigmoid_matches_softmax(void) {
    enum { N = 500 };
    float s[N], two[2 * N], prob[2 * N], back[N];
    int y[N];
    df_rng r = df_rng_make(11, 3);
    for (int i = 0; i < N; i++) {
        s[i] = (float)(3 * df_rng_normal(&r));
        two[2 * i] = 0, two[2 * i + 1] = s[i];
        y[i] = df_rng_uniform(&r) < 1 / (1 + exp(-s[i] / 2.0));
    }
    df_temperature a, b, c;
    df_error err;
    CHECK(df_temperature_fit(s, y, N, 1, &a, &err) == 0);
    CHECK(df_temperature_fit(two, y, N, 2, &b, &err) == 0);
    CHECK_CLOSE(a.T, b.T, 0, 1e-5);
    CHECK_CLOSE(a.nll_after, b.nll_after, 1e-12, 0);
    df_apply_temperature(s, N, 1, 2, 1.0, prob);
    df_logits_from_prob(prob, N, 2, 1, back);
    CHECK(df_temperature_fit(back, y, N, 1, &c, &err) == 0);
    CHECK_CLOSE(c.T, a.T, 0, 1e-3);
}

static void test_refusals(void) {
    /* perfectly separated: the NLL falls as T -> 0, so the optimum is the lower bound */
    const float z[4] = {-3, 3, 3, -3};
    const int y[2] = {1, 0};
    df_temperature fit;
    df_error err;
    CHECK(df_temperature_fit(z, y, 2, 2, &fit, &err) != 0 && isnan(fit.T));
    const float flat[4] = {1, 1, 2, 2};
    CHECK(df_temperature_fit(flat, y, 2, 2, &fit, &err) != 0);
    const int bad[2] = {0, 2};
    CHECK(df_temperature_fit(z, bad, 2, 2, &fit, &err) != 0);
    const float inf[2] = {INFINITY, 1};
    CHECK(df_temperature_fit(inf, y, 2, 1, &fit, &err) != 0);
    CHECK(df_temperature_fit(z, y, 0, 2, &fit, &err) != 0);
}

int main(void) {
    test_ece_by_hand();
    test_brier_nll();
    recover(3, 2.5, 20000, 1); /* over-confident logits */
    recover(4, 0.5, 20000, 2); /* under-confident */
    recover(1, 1.7, 20000, 3); /* sigmoid head */
    test_sigmoid_matches_softmax();
    test_refusals();
    return check_report();
}
