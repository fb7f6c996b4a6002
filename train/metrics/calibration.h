/* calibration.h: whether predicted probabilities can be taken at their word, and temperature scaling.
 *
 * Inputs are prob (n, K) and labels y (n) as in metrics.h.
 * - Reliability bins: the samples binned by their top-class probability c = max_k prob[i, k] (for K = 2 too:
 *   the confidence in the predicted class, as Guo et al. 2017, not the positive class's probability) into
 *   n_bins equal-width bins of [0, 1]: bin b holds b / n_bins <= c < (b + 1) / n_bins, the last bin also c = 1.
 *   Per bin: the count, the mean confidence and the accuracy (share whose argmax is the label); NaN where empty.
 * - ECE (expected calibration error) = sum over bins of count_b / n * |accuracy_b - confidence_b|; the
 *   default is DF_CALIBRATION_BINS bins.
 * - Brier score = mean over samples of sum over the K classes of (prob[i, k] - [y[i] == k])^2, in [0, 2]; for
 *   K = 2 this is twice the binary Brier score (p1 - y)^2.
 * - NLL = mean over samples of -log prob[i, y[i]].
 *
 * Temperature scaling (Guo et al. 2017) divides the logits by one T > 0 fitted to minimise the NLL of held-out
 * samples; it keeps every argmax, so accuracy and AUC stay as they were. Logits z (n, C): C = K for a softmax
 * head (p = softmax(z / T)), or C = 1 for a binary sigmoid head (one logit, p1 = sigmoid(z / T), y in {0, 1}).
 * The NLL of softmax(z / T) is convex in 1 / T, hence unimodal in log T; it is minimised by golden-section
 * search on log T over [log DF_TEMPERATURE_MIN, log DF_TEMPERATURE_MAX] to a relative precision of 1e-6 in T.
 * An optimum on a bound means the data ask for a temperature outside the range (e.g. perfectly separable
 * held-out samples, where the NLL keeps falling as T -> 0): the fit fails and says which bound. */
#ifndef DF_CALIBRATION_H
#define DF_CALIBRATION_H

#include "core/error.h"

#define DF_CALIBRATION_BINS 15
#define DF_TEMPERATURE_MIN 0.01
#define DF_TEMPERATURE_MAX 100.0

typedef struct {
    int count;
    double confidence, accuracy; /* NaN in an empty bin */
} df_reliability_bin;

/* Fills bins[0..n_bins) and returns the ECE (NaN for n = 0). Labels and shapes are not checked here. */
double df_reliability(const float *prob, const int *y, int n, int K, int n_bins, df_reliability_bin *bins);
/* The ECE alone (bins allocated inside). */
double df_ece(const float *prob, const int *y, int n, int K, int n_bins);
double df_brier(const float *prob, const int *y, int n, int K);
/* Probabilities of 0 count as the smallest positive float, so the NLL stays finite. */
double df_nll(const float *prob, const int *y, int n, int K);

/* Logits that give back prob (n, K) through the head: C = K, z = log p (softmax ignores a constant per row),
 * or C = 1 for K = 2, z = log p1 - log p0. Probabilities are floored at the smallest positive float, so a
 * probability that rounded to 0 (or a complement that rounded to 1) caps |z| near 87 (softmax) or the
 * float's resolution near 1 (sigmoid: |z| up to about 17). z has n * C entries. */
void df_logits_from_prob(const float *prob, int n, int K, int C, float *z);

/* prob (n, K) = the head's probabilities of z / T (C = K: softmax; C = 1: sigmoid, K must be 2). */
void df_apply_temperature(const float *z, int n, int C, int K, double T, float *prob);
/* Mean NLL of the head's probabilities of z / T against y. */
double df_temperature_nll(const float *z, const int *y, int n, int C, double T);

typedef struct {
    double T;                     /* the fitted temperature */
    double nll_before, nll_after; /* at T = 1 and at T */
    int evaluations;              /* NLL evaluations the search took */
} df_temperature;

/* Fits T on (z, y). Fails on n < 1, C not 1 or >= 2, a label outside the head's classes, a non-finite logit,
 * or an optimum at a bound of the range (see above). */
int df_temperature_fit(const float *z, const int *y, int n, int C, df_temperature *out, df_error *err);

#endif
