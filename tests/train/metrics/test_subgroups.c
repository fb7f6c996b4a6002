/* test_subgroups.c: a group's AUC is the Mann-Whitney count of its own pairs, its sensitivity and specificity
 * are counted at the threshold, small groups are reported as too small with their counts, intervals are
 * deterministic and hold the estimate, and the gap is best minus worst. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>

#include "check.h"
#include "train/metrics/subgroups.h"

static const df_subgroup_opts tiny_opts = {.threshold = 0.5, .min_samples = 1, .min_class = 1, .B = 200,
                                           .level = 0.95, .seed = 9};

/* Group 0: positives score 0.9, 0.4, 0.6 and negatives 0.3, 0.6, 0.1, 0.5. Pairs won by the positive:
 * 0.9 beats all 4 (4); 0.4 beats 0.3 and 0.1 (2); 0.6 beats 0.3, 0.1, 0.5 and ties 0.6 (3.5); U = 9.5 of
 * 3 * 4 = 12 pairs, AUC 0.791667. At p > 0.5: positives called 0.9 and 0.6 (sensitivity 2/3), negatives
 * called negative 0.3, 0.1, 0.5 (specificity 3/4). Group 1 (interleaved with group 0, which must not count):
 * positives 0.2, 0.8, negatives 0.7, 0.1: U = (1 + 2) / 4 = 0.75. */
static void test_mann_whitney(void) {
    const float p1[11] = {0.9f, 0.2f, 0.4f, 0.8f, 0.6f, 0.3f, 0.7f, 0.6f, 0.1f, 0.1f, 0.5f};
    const int y[11] = {1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0};
    const int group[11] = {0, 1, 0, 1, 0, 0, 1, 0, 0, 1, 0};
    float prob[22];
    for (int i = 0; i < 11; i++) prob[2 * i] = 1 - p1[i], prob[2 * i + 1] = p1[i];
    df_subgroup g[2];
    df_error err;
    CHECK(df_subgroups(prob, y, 11, 2, group, 2, &tiny_opts, g, &err) == 0);
    CHECK(g[0].n == 7 && g[0].positives == 3 && g[0].min_class == 3 && !g[0].too_small);
    CHECK(g[1].n == 4 && g[1].positives == 2 && g[1].min_class == 2);
    CHECK_CLOSE(g[0].v[DF_SUBGROUP_AUC].estimate, 9.5 / 12, 1e-12, 0);
    CHECK_CLOSE(g[1].v[DF_SUBGROUP_AUC].estimate, 0.75, 1e-12, 0);
    CHECK_CLOSE(g[0].v[DF_SUBGROUP_SENSITIVITY].estimate, 2.0 / 3, 1e-12, 0);
    CHECK_CLOSE(g[0].v[DF_SUBGROUP_SPECIFICITY].estimate, 0.75, 1e-12, 0);
    for (int k = 0; k < DF_SUBGROUP_METRICS; k++) {
        const df_subgroup_value *v = &g[0].v[k];
        CHECK_MSG(v->lo <= v->estimate && v->estimate <= v->hi, "%s: %g in [%g, %g]", df_subgroup_metric_names[k],
                  v->estimate, v->lo, v->hi);
    }
    int best, worst;
    CHECK_CLOSE(df_subgroup_gap(g, 2, DF_SUBGROUP_AUC, &best, &worst), 9.5 / 12 - 0.75, 1e-12, 0);
    CHECK(best == 0 && worst == 1);
    /* the same inputs give the same intervals, on any number of threads */
    df_subgroup again[2];
    omp_set_num_threads(1);
    CHECK(df_subgroups(prob, y, 11, 2, group, 2, &tiny_opts, again, &err) == 0);
    omp_set_num_threads(2);
    for (int k = 0; k < DF_SUBGROUP_METRICS; k++)
        CHECK(again[0].v[k].lo == g[0].v[k].lo && again[0].v[k].hi == g[0].v[k].hi);

    /* with the default sizes both groups are too small: counts kept, metrics NaN, no gap */
    df_subgroup_opts o = tiny_opts;
    o.min_samples = DF_SUBGROUP_MIN_SAMPLES;
    o.min_class = DF_SUBGROUP_MIN_CLASS;
    CHECK(df_subgroups(prob, y, 11, 2, group, 2, &o, g, &err) == 0);
    CHECK(g[0].too_small && g[1].too_small && g[0].n == 7 && g[0].positives == 3);
    CHECK(isnan(g[0].v[DF_SUBGROUP_AUC].estimate) && isnan(g[0].v[DF_SUBGROUP_AUC].lo));
    CHECK(isnan(df_subgroup_gap(g, 2, DF_SUBGROUP_AUC, &best, &worst)) && best == -1);

    const int outside[11] = {0, 1, 0, 1, 0, 0, 1, 0, 0, 1, 2};
    CHECK(df_subgroups(prob, y, 11, 2, outside, 2, &tiny_opts, g, &err) != 0);
}

/* Large groups of three classes: the group whose scores carry the label has AUC near 1 and the one whose
 * scores are noise near 0.5, each interval holding its estimate; every class counted in min_class. */
static void test_multiclass(void) {
    enum { N = 600, K = 3 };
    float *prob = malloc(sizeof(float) * N * K);
    int y[N], group[N];
    for (int i = 0; i < N; i++) {
        y[i] = i % K;
        group[i] = (i / K) % 2;
        unsigned h = (unsigned)i * 2654435761u;
        for (int k = 0; k < K; k++) {
            double noise = ((h >> (8 * k)) & 255) / 255.0;
            prob[i * K + k] = (float)(group[i] == 0 ? (k == y[i] ? 0.6 + 0.3 * noise : 0.2 * noise) : noise);
        }
        double s = 0;
        for (int k = 0; k < K; k++) s += prob[i * K + k];
        for (int k = 0; k < K; k++) prob[i * K + k] = (float)(prob[i * K + k] / s);
    }
    df_subgroup g[2];
    df_error err;
    df_subgroup_opts o = tiny_opts;
    o.min_samples = DF_SUBGROUP_MIN_SAMPLES;
    o.min_class = DF_SUBGROUP_MIN_CLASS;
    CHECK(df_subgroups(prob, y, N, K, group, 2, &o, g, &err) == 0);
    CHECK(g[0].n == 300 && g[0].min_class == 100 && g[0].positives == -1 && !g[0].too_small);
    CHECK(g[0].v[DF_SUBGROUP_AUC].estimate == 1.0 && g[0].v[DF_SUBGROUP_SENSITIVITY].estimate == 1.0);
    CHECK(fabs(g[1].v[DF_SUBGROUP_AUC].estimate - 0.5) < 0.1);
    for (int m = 0; m < 2; m++)
        for (int k = 0; k < DF_SUBGROUP_METRICS; k++)
            CHECK(g[m].v[k].lo <= g[m].v[k].estimate && g[m].v[k].estimate <= g[m].v[k].hi);
    free(prob);
}

int main(void) {
    omp_set_num_threads(2);
    test_mann_whitney();
    test_multiclass();
    return check_report();
}
