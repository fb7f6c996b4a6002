/* embed.c: silhouette, Davies-Bouldin and 2-D PCA of feature vectors (see embed.h). */
#include "train/metrics/embed.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"

/* Labels in range, finite features, at least two non-empty clusters; cluster sizes into count (K). */
static int check_input(const char *what, const float *X, const int *labels, int n, int d, int K,
                       int *count, df_error *err) {
    if (n < 2 || d < 1) return df_fail(err, "%s: features (%d, %d), expected n >= 2 and d >= 1", what, n, d);
    if (K < 2) return df_fail(err, "%s: K = %d clusters, expected at least 2", what, K);
    memset(count, 0, (size_t)K * sizeof *count);
    for (int i = 0; i < n; i++) {
        if (labels[i] < 0 || labels[i] >= K)
            return df_fail(err, "%s: sample %d has label %d, expected 0..%d", what, i, labels[i], K - 1);
        count[labels[i]]++;
        for (int j = 0; j < d; j++)
            if (!isfinite(X[(size_t)i * d + j]))
                return df_fail(err, "%s: sample %d, feature %d is %g, expected a finite value", what, i, j,
                               (double)X[(size_t)i * d + j]);
    }
    int nonempty = 0;
    for (int k = 0; k < K; k++) nonempty += count[k] > 0;
    if (nonempty < 2)
        return df_fail(err, "%s: the samples fall in %d cluster(s), expected at least 2", what, nonempty);
    return 0;
}

static double dist(const float *a, const float *b, int d) {
    double s = 0;
#pragma omp simd reduction(+ : s)
    for (int k = 0; k < d; k++) {
        double t = (double)a[k] - (double)b[k];
        s += t * t;
    }
    return sqrt(s);
}

int df_silhouette(const float *X, const int *labels, int n, int d, int K, double *score, double *per_sample,
                  df_error *err) {
    int *count = df_malloc((size_t)(K > 0 ? K : 1) * sizeof *count);
    if (check_input("silhouette", X, labels, n, d, K, count, err)) {
        free(count);
        return -1;
    }
    double *s = df_malloc((size_t)n * sizeof *s);
#pragma omp parallel
    {
        double *sum = df_malloc((size_t)K * sizeof *sum);
#pragma omp for schedule(dynamic, 8)
        for (int i = 0; i < n; i++) {
            memset(sum, 0, (size_t)K * sizeof *sum);
            const float *xi = X + (size_t)i * d;
            for (int j = 0; j < n; j++)
                if (j != i) sum[labels[j]] += dist(xi, X + (size_t)j * d, d);
            int own = labels[i];
            if (count[own] == 1) {
                s[i] = 0;
                continue;
            }
            double a = sum[own] / (count[own] - 1), b = INFINITY;
            for (int k = 0; k < K; k++)
                if (k != own && count[k] > 0 && sum[k] / count[k] < b) b = sum[k] / count[k];
            double m = a > b ? a : b;
            s[i] = m > 0 ? (b - a) / m : 0;
        }
        free(sum);
    }
    double total = 0;
    for (int i = 0; i < n; i++) total += s[i];
    *score = total / n;
    if (per_sample) memcpy(per_sample, s, (size_t)n * sizeof *s);
    free(s);
    free(count);
    return 0;
}

int df_davies_bouldin(const float *X, const int *labels, int n, int d, int K, double *index, df_error *err) {
    int *count = df_malloc((size_t)(K > 0 ? K : 1) * sizeof *count);
    if (check_input("davies-bouldin", X, labels, n, d, K, count, err)) {
        free(count);
        return -1;
    }
    double *c = df_calloc((size_t)K * d, sizeof *c); /* (K, d) centroids */
    double *S = df_calloc((size_t)K, sizeof *S);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) c[(size_t)labels[i] * d + j] += X[(size_t)i * d + j];
    for (int k = 0; k < K; k++)
        for (int j = 0; j < d && count[k]; j++) c[(size_t)k * d + j] /= count[k];
    for (int i = 0; i < n; i++) {
        const double *ck = c + (size_t)labels[i] * d;
        double s = 0;
        for (int j = 0; j < d; j++) {
            double t = X[(size_t)i * d + j] - ck[j];
            s += t * t;
        }
        S[labels[i]] += sqrt(s);
    }
    double total = 0;
    int clusters = 0;
    for (int k = 0; k < K; k++) {
        if (!count[k]) continue;
        S[k] /= count[k];
    }
    for (int k = 0; k < K; k++) {
        if (!count[k]) continue;
        double worst = 0;
        for (int l = 0; l < K; l++) {
            if (l == k || !count[l]) continue;
            double m = 0;
            for (int j = 0; j < d; j++) {
                double t = c[(size_t)k * d + j] - c[(size_t)l * d + j];
                m += t * t;
            }
            m = sqrt(m);
            double r = m > 0 ? (S[k] + S[l]) / m : INFINITY;
            if (r > worst) worst = r;
        }
        total += worst;
        clusters++;
    }
    *index = total / clusters;
    free(c);
    free(S);
    free(count);
    return 0;
}

/* ---- PCA ---- */

static double dot(const double *a, const double *b, int d) {
    double s = 0;
    for (int j = 0; j < d; j++) s += a[j] * b[j];
    return s;
}

/* z -= (z . q) q for a unit q. */
static void remove_component(double *z, const double *q, int d) {
    double p = dot(z, q, d);
    for (int j = 0; j < d; j++) z[j] -= p * q[j];
}

/* Normalises z in place; returns its norm before. */
static double normalise(double *z, int d) {
    double s = sqrt(dot(z, z, d));
    if (s > 0)
        for (int j = 0; j < d; j++) z[j] /= s;
    return s;
}

/* out (d) = C (d, d) v. */
static void symv(const double *C, const double *v, double *out, int d) {
    for (int a = 0; a < d; a++) out[a] = dot(C + (size_t)a * d, v, d);
}

/* Makes q1 (unit) orthogonal to q0 (unit). If q1 lay (numerically) in q0's span, any unit vector
 * orthogonal to q0 will do: the second eigenvalue is then 0. Tries `fallback`, then the unit axes. */
static void orthonormal_second(const double *q0, double *q1, const double *fallback, int d) {
    double before = sqrt(dot(q1, q1, d));
    remove_component(q1, q0, d);
    remove_component(q1, q0, d); /* twice: one Gram-Schmidt pass loses orthogonality when nearly parallel */
    if (before > 0 && normalise(q1, d) > 1e-10 * before) return;
    memmove(q1, fallback, (size_t)d * sizeof *q1);
    for (int e = -1; e < d; e++) {
        if (e >= 0) {
            memset(q1, 0, (size_t)d * sizeof *q1);
            q1[e] = 1;
        }
        remove_component(q1, q0, d);
        remove_component(q1, q0, d);
        if (normalise(q1, d) > 0.1) return;
    }
}

int df_pca_fit(const float *X, int n, int d, df_pca *pca, df_error *err) {
    memset(pca, 0, sizeof *pca);
    if (n < 2 || d < 2) return df_fail(err, "pca: features (%d, %d), expected n >= 2 and d >= 2", n, d);
    for (size_t i = 0; i < (size_t)n * d; i++)
        if (!isfinite(X[i]))
            return df_fail(err, "pca: sample %zu, feature %zu is %g, expected a finite value", i / d, i % d,
                           (double)X[i]);
    double *mean = df_calloc((size_t)d, sizeof *mean);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) mean[j] += X[(size_t)i * d + j];
    for (int j = 0; j < d; j++) mean[j] /= n;
    double *Xc = df_malloc((size_t)n * d * sizeof *Xc); /* (n, d) centred */
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) Xc[(size_t)i * d + j] = X[(size_t)i * d + j] - mean[j];

    /* C (d, d) = Xc^T Xc / (n - 1); each thread owns whole rows of the upper triangle. */
    double *C = df_calloc((size_t)d * d, sizeof *C);
#pragma omp parallel for schedule(dynamic, 4)
    for (int a = 0; a < d; a++) {
        double *row = C + (size_t)a * d;
        for (int i = 0; i < n; i++) {
            const double *x = Xc + (size_t)i * d;
            double xa = x[a];
            for (int b = a; b < d; b++) row[b] += xa * x[b];
        }
        for (int b = a; b < d; b++) row[b] /= (n - 1);
    }
    for (int a = 0; a < d; a++)
        for (int b = 0; b < a; b++) C[(size_t)a * d + b] = C[(size_t)b * d + a];
    free(Xc);
    double trace = 0;
    for (int a = 0; a < d; a++) trace += C[(size_t)a * d + a];
    if (!(trace > 0)) {
        free(mean);
        free(C);
        return df_fail(err, "pca: all %d samples are identical; there is no direction of variance", n);
    }

    /* Orthogonal iteration on Q (2, d), with a Rayleigh-Ritz rotation each step so the two columns
     * converge to the eigenvectors themselves, not just to their span. */
    double *Q = df_malloc((size_t)2 * d * sizeof *Q), *Z = df_malloc((size_t)2 * d * sizeof *Z);
    double *tmp = df_malloc((size_t)d * sizeof *tmp);
    df_rng rng = df_rng_make(0x9ca, DF_STREAM_STATS);
    for (int j = 0; j < 2 * d; j++) Q[j] = df_rng_uniform(&rng) - 0.5;
    normalise(Q, d);
    orthonormal_second(Q, Q + d, Q + d, d);
    double theta[2] = {0, 0};
    int it, converged = 0;
    for (it = 1; it <= 5000; it++) {
        symv(C, Q, Z, d);
        symv(C, Q + d, Z + d, d);
        double ta = dot(Q, Z, d), tb = dot(Q, Z + d, d), tc = dot(Q + d, Z + d, d);
        /* Eigenvectors of [[ta, tb], [tb, tc]]: rotation by phi, the first for the larger eigenvalue. */
        double phi = 0.5 * atan2(2 * tb, ta - tc), cs = cos(phi), sn = sin(phi);
        double m = 0.5 * (ta + tc), r = sqrt(0.25 * (ta - tc) * (ta - tc) + tb * tb);
        theta[0] = m + r;
        theta[1] = m - r;
        double res = 0;
        for (int j = 0; j < d; j++) {
            double q0 = cs * Q[j] + sn * Q[d + j], q1 = -sn * Q[j] + cs * Q[d + j];
            double z0 = cs * Z[j] + sn * Z[d + j], z1 = -sn * Z[j] + cs * Z[d + j];
            Q[j] = q0;
            Q[d + j] = q1;
            Z[j] = z0;
            Z[d + j] = z1;
            double e0 = z0 - theta[0] * q0, e1 = z1 - theta[1] * q1;
            res += e0 * e0 + e1 * e1;
        }
        if (sqrt(res) <= 1e-10 * theta[0]) {
            converged = 1;
            break;
        }
        memcpy(tmp, Q + d, (size_t)d * sizeof *tmp);
        memcpy(Q, Z, (size_t)2 * d * sizeof *Q);
        normalise(Q, d);
        orthonormal_second(Q, Q + d, tmp, d);
    }
    free(Z);
    free(tmp);
    free(C);

    for (int k = 0; k < 2; k++) {
        double *q = Q + (size_t)k * d;
        double top = 0;
        for (int j = 0; j < d; j++) top = fmax(top, fabs(q[j]));
        /* Components equal in exact arithmetic differ by rounding; call them tied so the choice is stable. */
        int big = 0;
        while (fabs(q[big]) < top * (1 - 1e-6)) big++;
        if (q[big] < 0)
            for (int j = 0; j < d; j++) q[j] = -q[j];
    }
    pca->d = d;
    pca->mean = mean;
    pca->axes = Q;
    pca->var[0] = theta[0];
    pca->var[1] = theta[1] > 0 ? theta[1] : 0; /* rounding can leave a tiny negative for a zero eigenvalue */
    pca->total_var = trace;
    pca->iterations = converged ? it : it - 1;
    pca->converged = converged;
    return 0;
}

void df_pca_transform(const df_pca *pca, const float *X, int n, float *Y) {
    int d = pca->d;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < 2; k++) {
            const double *axis = pca->axes + (size_t)k * d;
            double s = 0;
            for (int j = 0; j < d; j++) s += (X[(size_t)i * d + j] - pca->mean[j]) * axis[j];
            Y[(size_t)i * 2 + k] = (float)s;
        }
}

void df_pca_free(df_pca *pca) {
    free(pca->mean);
    free(pca->axes);
    memset(pca, 0, sizeof *pca);
}
