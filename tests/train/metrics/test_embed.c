/* test_embed.c: silhouette and Davies-Bouldin by hand, PCA axes of constructed point sets, determinism. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/rng.h"
#include "train/metrics/embed.h"

static void test_silhouette_by_hand(void) {
    df_error err = {0};
    double s, per[5];
    /* 0 and 1 in A, 5 alone in B. x=0: a 1, b 5 -> 4/5; x=1: a 1, b 4 -> 3/4; x=5 singleton -> 0. */
    const float x3[3] = {0, 1, 5};
    const int l3[3] = {0, 0, 1};
    CHECK(df_silhouette(x3, l3, 3, 1, 2, &s, per, &err) == 0);
    CHECK_CLOSE(per[0], 0.8, 1e-12, 0);
    CHECK_CLOSE(per[1], 0.75, 1e-12, 0);
    CHECK(per[2] == 0);
    CHECK_CLOSE(s, (0.8 + 0.75) / 3, 1e-12, 0);

    /* {0, 1} and {5, 7}: s = 5/6, 4/5, (4.5 - 2) / 4.5, (6.5 - 2) / 6.5. */
    const float x4[4] = {0, 1, 5, 7};
    const int l4[4] = {0, 0, 1, 1};
    CHECK(df_silhouette(x4, l4, 4, 1, 2, &s, per, &err) == 0);
    CHECK_CLOSE(s, (5.0 / 6 + 0.8 + 2.5 / 4.5 + 4.5 / 6.5) / 4, 1e-12, 0);

    /* b is the nearest other cluster, not the mean of all others: add a far third cluster. In 2-D, with
     * label 1 unused (an empty cluster takes no part). */
    const float x5[10] = {0, 0, 0, 3, 4, 0, 4, 3, 100, 100};
    const int l5[5] = {0, 0, 2, 2, 3};
    CHECK(df_silhouette(x5, l5, 5, 2, 4, &s, per, &err) == 0);
    /* Point (0,0): a = 3; distances to (4,0), (4,3) are 4 and 5 -> b = 4.5 -> s = 1.5 / 4.5. */
    CHECK_CLOSE(per[0], 1.5 / 4.5, 1e-12, 0);
    /* Point (4,0): a = 3; to (0,0), (0,3) are 4, 5 -> 1/3 too. */
    CHECK_CLOSE(per[2], 1.5 / 4.5, 1e-12, 0);
    CHECK(per[4] == 0);

    CHECK(df_silhouette(x3, (const int[]){0, 0, 0}, 3, 1, 2, &s, NULL, &err) == -1);
    CHECK(strstr(err.msg, "1 cluster") != NULL);
    CHECK(df_silhouette(x3, (const int[]){0, 2, 0}, 3, 1, 2, &s, NULL, &err) == -1);
    CHECK(strstr(err.msg, "sample 1 has label 2") != NULL);
}

static void test_silhouette_threads(void) {
    enum { n = 600, d = 24, K = 4 };
    float *X = malloc(sizeof(float) * n * d);
    int *l = malloc(sizeof(int) * n);
    df_rng r = df_rng_make(9, DF_STREAM_STATS);
    for (int i = 0; i < n; i++) {
        l[i] = df_rng_below(&r, K);
        for (int j = 0; j < d; j++) X[i * d + j] = df_rng_normal(&r) + (j == l[i] ? 3.0f : 0.0f);
    }
    df_error err = {0};
    double s1, s2, *p1 = malloc(sizeof(double) * n), *p2 = malloc(sizeof(double) * n);
    omp_set_num_threads(1);
    CHECK(df_silhouette(X, l, n, d, K, &s1, p1, &err) == 0);
    omp_set_num_threads(2);
    CHECK(df_silhouette(X, l, n, d, K, &s2, p2, &err) == 0);
    CHECK(s1 == s2 && memcmp(p1, p2, sizeof(double) * n) == 0);
    CHECK(s1 > 0.1 && s1 < 1);
    /* Labels unrelated to the features give a silhouette near 0. */
    for (int i = 0; i < n; i++) l[i] = i % K;
    CHECK(df_silhouette(X, l, n, d, K, &s2, NULL, &err) == 0);
    CHECK(fabs(s2) < 0.05);
    free(X);
    free(l);
    free(p1);
    free(p2);
}

static void test_davies_bouldin_by_hand(void) {
    df_error err = {0};
    double db;
    /* A = (0,0), (2,0): centroid (1,0), S = 1. B = (10,0), (10,4): centroid (10,2), S = 2.
     * M = sqrt(81 + 4); DB = (1 + 2) / sqrt(85) for both clusters. */
    const float x[8] = {0, 0, 2, 0, 10, 0, 10, 4};
    const int l[4] = {0, 0, 1, 1};
    CHECK(df_davies_bouldin(x, l, 4, 2, 2, &db, &err) == 0);
    CHECK_CLOSE(db, 3 / sqrt(85.0), 1e-12, 0);

    /* Three 1-D clusters: A {0, 2} (c 1, S 1), B {5} (c 5, S 0), C {20, 22} (c 21, S 1).
     * R_AB = 1/4, R_AC = 2/20, R_BC = 1/16; maxima 1/4, 1/4, 1/10. */
    const float y[5] = {0, 2, 5, 20, 22};
    const int m[5] = {0, 0, 1, 2, 2};
    CHECK(df_davies_bouldin(y, m, 5, 1, 3, &db, &err) == 0);
    CHECK_CLOSE(db, (0.25 + 0.25 + 0.1) / 3, 1e-12, 0);

    /* Coincident centroids: not separated at all. */
    const float z[4] = {-1, 1, -2, 2};
    const int k[4] = {0, 0, 1, 1};
    CHECK(df_davies_bouldin(z, k, 4, 1, 2, &db, &err) == 0);
    CHECK(isinf(db));
}

static void test_pca_line(void) {
    /* Points on the line (5,5,5) + t (1,2,-2)/3. */
    enum { n = 7, d = 3 };
    const double t[n] = {-3, -1, 0, 0.5, 2, 4, 6.5};
    float X[n * d];
    double tm = 0;
    for (int i = 0; i < n; i++) {
        X[i * d + 0] = (float)(5 + t[i] / 3);
        X[i * d + 1] = (float)(5 + 2 * t[i] / 3);
        X[i * d + 2] = (float)(5 - 2 * t[i] / 3);
        tm += t[i] / n;
    }
    df_pca pca;
    df_error err = {0};
    CHECK(df_pca_fit(X, n, d, &pca, &err) == 0);
    CHECK(pca.converged && pca.iterations >= 1);
    /* |2/3| ties with |-2/3|: the first of them, component 1, is made positive. */
    CHECK_CLOSE(pca.axes[0], 1.0 / 3, 1e-6, 0);
    CHECK_CLOSE(pca.axes[1], 2.0 / 3, 1e-6, 0);
    CHECK_CLOSE(pca.axes[2], -2.0 / 3, 1e-6, 0);
    double vt = 0;
    for (int i = 0; i < n; i++) vt += (t[i] - tm) * (t[i] - tm) / (n - 1);
    CHECK_CLOSE(pca.var[0], vt, 0, 1e-5);
    CHECK_CLOSE(pca.var[1], 0, 1e-5, 0);
    CHECK_CLOSE(pca.total_var, vt, 0, 1e-5);
    double dot = 0, norm = 0;
    for (int j = 0; j < d; j++) {
        dot += pca.axes[j] * pca.axes[d + j];
        norm += pca.axes[d + j] * pca.axes[d + j];
    }
    CHECK_CLOSE(dot, 0, 1e-9, 0);
    CHECK_CLOSE(norm, 1, 1e-9, 0);
    float Y[n * 2];
    df_pca_transform(&pca, X, n, Y);
    for (int i = 0; i < n; i++) {
        CHECK_CLOSE(Y[2 * i], t[i] - tm, 1e-4, 0);
        CHECK_CLOSE(Y[2 * i + 1], 0, 1e-4, 0);
    }
    df_pca_free(&pca);
}

static void test_pca_rotated_cross(void) {
    /* +-3 e0, +-2 e1, +-1 e2, +-0.5 e3 in 6-D, rotated by the Householder reflection H = I - 2 v v^T:
     * covariance eigenvalues 18/7, 8/7, 2/7, 0.5/7 along H e0, H e1, ... */
    enum { n = 8, d = 6 };
    const double amp[4] = {3, 2, 1, 0.5};
    double v[d] = {1, -2, 3, 1, 0, 2}, vv = 0;
    for (int j = 0; j < d; j++) vv += v[j] * v[j];
    for (int j = 0; j < d; j++) v[j] /= sqrt(vv);
    float X[n * d];
    for (int i = 0; i < n; i++) {
        int axis = i / 2;
        double a = (i % 2 ? -1 : 1) * amp[axis];
        for (int j = 0; j < d; j++) X[i * d + j] = (float)(a * ((j == axis) - 2 * v[axis] * v[j]) + 1.0);
    }
    df_pca pca;
    df_error err = {0};
    CHECK(df_pca_fit(X, n, d, &pca, &err) == 0);
    CHECK(pca.converged && pca.iterations >= 1);
    CHECK_CLOSE(pca.var[0], 18.0 / 7, 0, 1e-5);
    CHECK_CLOSE(pca.var[1], 8.0 / 7, 0, 1e-5);
    CHECK_CLOSE(pca.total_var, (18.0 + 8 + 2 + 0.5) / 7, 0, 1e-5);
    for (int k = 0; k < 2; k++) {
        double h[d];
        int big = 0;
        for (int j = 0; j < d; j++) {
            h[j] = (j == k) - 2 * v[k] * v[j];
            if (fabs(h[j]) > fabs(h[big])) big = j;
        }
        double sign = h[big] > 0 ? 1 : -1;
        for (int j = 0; j < d; j++) CHECK_CLOSE(pca.axes[k * d + j], sign * h[j], 1e-6, 0);
    }
    df_pca_free(&pca);

    float same[6] = {1, 2, 1, 2, 1, 2};
    CHECK(df_pca_fit(same, 3, 2, &pca, &err) == -1);
    CHECK(strstr(err.msg, "identical") != NULL);
}

int main(void) {
    omp_set_num_threads(2);
    test_silhouette_by_hand();
    test_silhouette_threads();
    test_davies_bouldin_by_hand();
    test_pca_line();
    test_pca_rotated_cross();
    return check_report();
}
