/* embed.h: separability of learned features and their 2-D picture.
 *
 * Features X are (n, d) floats, row-major (e.g. a network's penultimate activations); labels are in
 * [0, K). Distances are Euclidean and accumulated in double. Only clusters with at least one member take
 * part; at least two such clusters are needed.
 *
 * - Silhouette: for sample i, a = mean distance to the other members of its cluster, b = the smallest mean
 *   distance to the members of another cluster, s = (b - a) / max(a, b) (0 when both are 0); a sample
 *   alone in its cluster has s = 0 by convention (Rousseeuw 1987). The score is the mean of s over all
 *   samples. O(n^2 d), parallel over samples with OpenMP; each sample's sums run in a fixed order, so the
 *   result does not depend on the number of threads.
 * - Davies-Bouldin: S_k = mean distance of cluster k's members to its centroid, M_kl = distance between
 *   centroids, DB = mean over clusters k of max over l != k of (S_k + S_l) / M_kl. Lower is better.
 *   Coincident centroids (M_kl = 0) make the ratio, and the index, +infinity.
 * - PCA to 2-D: the features are centred, their covariance (d, d) formed in double, and the top two
 *   eigenvectors found by orthogonal (subspace) iteration with a Rayleigh-Ritz step, started from a fixed
 *   pseudo-random basis, so the result is deterministic. Sign convention: each axis's largest-magnitude
 *   component is positive; components within a relative 1e-6 of the largest count as tied, and the first
 *   of them decides. */
#ifndef DF_EMBED_H
#define DF_EMBED_H

#include "core/error.h"

/* Mean silhouette into *score; per_sample (n) may be NULL. */
int df_silhouette(const float *X, const int *labels, int n, int d, int K, double *score, double *per_sample,
                  df_error *err);

int df_davies_bouldin(const float *X, const int *labels, int n, int d, int K, double *index, df_error *err);

typedef struct {
    int d;
    double *mean;     /* (d) */
    double *axes;     /* (2, d) unit principal axes, the first with the larger variance */
    double var[2];    /* variance along each axis (eigenvalues, divisor n - 1) */
    double total_var; /* trace of the covariance, so var[k] / total_var is the explained share */
    int iterations;   /* subspace iterations run */
    int converged;    /* 0 when the cap was reached: the second and third eigenvalues are then too close to
                         separate, and axis 2 is some direction in their near-degenerate eigenspace */
} df_pca;

/* Fits the two principal axes of X (n >= 2, d >= 2). */
int df_pca_fit(const float *X, int n, int d, df_pca *pca, df_error *err);
/* Y (n, 2) = coordinates of the rows of X (n, pca->d) along the axes, after centring. */
void df_pca_transform(const df_pca *pca, const float *X, int n, float *Y);
void df_pca_free(df_pca *pca);

#endif
