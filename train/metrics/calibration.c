/* calibration.c: reliability bins, ECE, Brier score, NLL and temperature scaling (see calibration.h). */
#include "train/metrics/calibration.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

static int top_class(const float *p, int K) {
    int top = 0;
    for (int k = 1; k < K; k++)
        if (p[k] > p[top]) top = k;
    return top;
}

double df_reliability(const float *prob, const int *y, int n, int K, int n_bins, df_reliability_bin *bins) {
    double *conf_sum = df_calloc((size_t)n_bins, sizeof(double));
    int *hit = df_calloc((size_t)n_bins, sizeof(int));
    for (int b = 0; b < n_bins; b++) bins[b].count = 0;
    for (int i = 0; i < n; i++) {
        const float *p = prob + (size_t)i * K;
        int top = top_class(p, K);
        double c = p[top];
        int b = (int)(c * n_bins);
        b = b < 0 ? 0 : b >= n_bins ? n_bins - 1 : b;
        bins[b].count++;
        conf_sum[b] += c;
        hit[b] += top == y[i];
    }
    double ece = 0;
    for (int b = 0; b < n_bins; b++) {
        int m = bins[b].count;
        bins[b].confidence = m ? conf_sum[b] / m : NAN;
        bins[b].accuracy = m ? (double)hit[b] / m : NAN;
        if (m) ece += (double)m / n * fabs(bins[b].accuracy - bins[b].confidence);
    }
    free(conf_sum);
    free(hit);
    return n > 0 ? ece : NAN;
}

double df_ece(const float *prob, const int *y, int n, int K, int n_bins) {
    df_reliability_bin *bins = df_malloc((size_t)n_bins * sizeof *bins);
    double ece = df_reliability(prob, y, n, K, n_bins, bins);
    free(bins);
    return ece;
}

double df_brier(const float *prob, const int *y, int n, int K) {
    double sum = 0;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < K; k++) {
            double d = prob[(size_t)i * K + k] - (y[i] == k);
            sum += d * d;
        }
    return n > 0 ? sum / n : NAN;
}

double df_nll(const float *prob, const int *y, int n, int K) {
    double sum = 0;
    for (int i = 0; i < n; i++) sum -= log(fmax(prob[(size_t)i * K + y[i]], FLT_MIN));
    return n > 0 ? sum / n : NAN;
}

void df_logits_from_prob(const float *prob, int n, int K, int C, float *z) {
    for (int i = 0; i < n; i++) {
        const float *p = prob + (size_t)i * K;
        if (C == 1) {
            z[i] = (float)(log(fmax(p[1], FLT_MIN)) - log(fmax(p[0], FLT_MIN)));
            continue;
        }
        for (int k = 0; k < K; k++) z[(size_t)i * K + k] = (float)log(fmax(p[k], FLT_MIN));
    }
}

/* -log p(y) for one row of logits at inverse temperature beta, and (with out non-NULL) the probabilities. */
static double row_nll(const float *z, int C, int y, double beta, float *out) {
    if (C == 1) {
        /* p1 = sigmoid(s): -log p1 = log(1 + e^-s), -log p0 = log(1 + e^s), written to stay finite */
        double s = beta * z[0], t = y ? -s : s;
        if (out) {
            out[1] = (float)(1.0 / (1.0 + exp(-s)));
            out[0] = (float)(1.0 / (1.0 + exp(s)));
        }
        return t > 0 ? t + log1p(exp(-t)) : log1p(exp(t));
    }
    double zmax = z[0];
    for (int k = 1; k < C; k++) zmax = fmax(zmax, z[k]);
    double sum = 0;
    for (int k = 0; k < C; k++) sum += exp(beta * (z[k] - zmax));
    if (out)
        for (int k = 0; k < C; k++) out[k] = (float)(exp(beta * (z[k] - zmax)) / sum);
    return log(sum) - beta * (z[y] - zmax);
}

void df_apply_temperature(const float *z, int n, int C, int K, double T, float *prob) {
    for (int i = 0; i < n; i++) row_nll(z + (size_t)i * C, C, 0, 1.0 / T, prob + (size_t)i * K);
}

double df_temperature_nll(const float *z, const int *y, int n, int C, double T) {
    double sum = 0;
    for (int i = 0; i < n; i++) sum += row_nll(z + (size_t)i * C, C, y[i], 1.0 / T, NULL);
    return n > 0 ? sum / n : NAN;
}

int df_temperature_fit(const float *z, const int *y, int n, int C, df_temperature *out, df_error *err) {
    out->T = out->nll_before = out->nll_after = NAN;
    out->evaluations = 0;
    if (n < 1) return df_fail(err, "temperature scaling: no samples to fit on");
    if (C < 1) return df_fail(err, "temperature scaling: %d logits per sample, expected 1 (sigmoid) or >= 2", C);
    int classes = C == 1 ? 2 : C;
    for (int i = 0; i < n; i++) {
        if (y[i] < 0 || y[i] >= classes)
            return df_fail(err, "temperature scaling: sample %d has label %d, expected 0..%d", i, y[i], classes - 1);
        for (int k = 0; k < C; k++)
            if (!isfinite(z[(size_t)i * C + k]))
                return df_fail(err, "temperature scaling: sample %d has logit %g, expected a finite value", i,
                               (double)z[(size_t)i * C + k]);
    }
    /* Golden-section search on u = log T, where the NLL is unimodal (convex in 1 / T). */
    const double g = 0.5 * (sqrt(5.0) - 1.0);
    double a = log(DF_TEMPERATURE_MIN), b = log(DF_TEMPERATURE_MAX);
    double c = b - g * (b - a), d = a + g * (b - a);
    double fc = df_temperature_nll(z, y, n, C, exp(c)), fd = df_temperature_nll(z, y, n, C, exp(d));
    int evals = 2;
    while (b - a > 1e-6) {
        if (fc <= fd) {
            b = d, d = c, fd = fc;
            c = b - g * (b - a);
            fc = df_temperature_nll(z, y, n, C, exp(c));
        } else {
            a = c, c = d, fc = fd;
            d = a + g * (b - a);
            fd = df_temperature_nll(z, y, n, C, exp(d));
        }
        evals++;
    }
    double T = exp(0.5 * (a + b));
    out->evaluations = evals;
    out->nll_before = df_temperature_nll(z, y, n, C, 1.0);
    double lo = df_temperature_nll(z, y, n, C, DF_TEMPERATURE_MIN), hi = df_temperature_nll(z, y, n, C, DF_TEMPERATURE_MAX);
    if (lo == hi && lo == out->nll_before)
        return df_fail(err, "temperature scaling: the NLL does not depend on the temperature (every sample's "
                            "logits are equal); nothing to fit");
    /* Within the search's last bracket of a bound: the optimum lies at or beyond it. */
    if (T < DF_TEMPERATURE_MIN * (1 + 1e-5) || T > DF_TEMPERATURE_MAX * (1 - 1e-5))
        return df_fail(err, "temperature scaling: the NLL is smallest at the %s bound T = %g of the search range "
                       "(the held-out samples are %s); no temperature fitted",
                       T < 1 ? "lower" : "upper", T < 1 ? DF_TEMPERATURE_MIN : DF_TEMPERATURE_MAX,
                       T < 1 ? "separated perfectly by the logits" : "no better than chance under the logits");
    out->T = T;
    out->nll_after = df_temperature_nll(z, y, n, C, T);
    return 0;
}
