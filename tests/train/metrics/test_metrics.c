/* test_metrics.c: metrics against hand-worked examples and AUC against a brute-force Mann-Whitney count. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/rng.h"
#include "train/metrics/metrics.h"

/* U / (P N) by the definition: every (positive, negative) pair, ties worth 1/2. */
static double brute_auc(const float *s, const int *pos, int n) {
    double u = 0, P = 0, N = 0;
    for (int i = 0; i < n; i++) {
        if (!pos[i]) continue;
        P++;
        for (int j = 0; j < n; j++) {
            if (pos[j]) continue;
            u += s[i] > s[j] ? 1.0 : s[i] == s[j] ? 0.5 : 0.0;
        }
    }
    for (int j = 0; j < n; j++) N += !pos[j];
    return u / (P * N);
}

static void test_auc_random(void) {
    df_rng r = df_rng_make(11, DF_STREAM_STATS);
    for (int trial = 0; trial < 20; trial++) {
        int n = 50 + trial * 13, K = 3;
        float *s = malloc(sizeof(float) * n), *prob = malloc(sizeof(float) * n * K);
        int *pos = malloc(sizeof(int) * n), *y = malloc(sizeof(int) * n);
        for (int i = 0; i < n; i++) {
            pos[i] = df_rng_below(&r, 3) == 0;
            /* Few levels so that many scores tie, and a shift so positives score higher on average. */
            s[i] = (float)(df_rng_below(&r, 8) + (pos[i] ? 2 : 0)) / 10.0f;
            y[i] = (int)df_rng_below(&r, (uint32_t)K);
            for (int k = 0; k < K; k++) prob[i * K + k] = (float)df_rng_below(&r, 5) / 4.0f;
        }
        CHECK_CLOSE(df_auc_scores(s, pos, n), brute_auc(s, pos, n), 1e-12, 0);
        for (int k = 0; k < K; k++) {
            float *col = malloc(sizeof(float) * n);
            int *is_k = malloc(sizeof(int) * n);
            for (int i = 0; i < n; i++) {
                col[i] = prob[i * K + k];
                is_k[i] = y[i] == k;
            }
            CHECK_CLOSE(df_auc_class(prob, y, n, K, k), brute_auc(col, is_k, n), 1e-12, 0);
            free(col);
            free(is_k);
        }
        free(s);
        free(prob);
        free(pos);
        free(y);
    }
}

static void test_auc_extremes(void) {
    float s[6] = {0.1f, 0.2f, 0.3f, 0.7f, 0.8f, 0.9f}, c[6] = {0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f};
    int pos[6] = {0, 0, 0, 1, 1, 1}, rev[6] = {1, 1, 1, 0, 0, 0}, none[6] = {0};
    CHECK_CLOSE(df_auc_scores(s, pos, 6), 1.0, 0, 0);
    CHECK_CLOSE(df_auc_scores(s, rev, 6), 0.0, 0, 0);
    CHECK_CLOSE(df_auc_scores(c, pos, 6), 0.5, 0, 0);
    CHECK(isnan(df_auc_scores(s, none, 6)));
}

/* Ten samples, worked by hand: predictions at 0.5 are 1 1 1 0 | 1 0 0 0 1 0, so TP 3, FN 1, FP 2, TN 4. */
static const int bin_y[10] = {1, 1, 1, 1, 0, 0, 0, 0, 0, 0};
static const float bin_p1[10] = {0.9f, 0.8f, 0.6f, 0.3f, 0.7f, 0.4f, 0.2f, 0.1f, 0.55f, 0.05f};

static void binary_prob(float *prob) {
    for (int i = 0; i < 10; i++) {
        prob[2 * i] = 1 - bin_p1[i];
        prob[2 * i + 1] = bin_p1[i];
    }
}

static void test_binary_by_hand(void) {
    float prob[20];
    binary_prob(prob);
    df_metrics m;
    df_error err = {0};
    CHECK(df_metrics_compute(prob, bin_y, 10, 2, 0.5, &m, &err) == 0);
    CHECK(m.confusion[0] == 4 && m.confusion[1] == 2 && m.confusion[2] == 1 && m.confusion[3] == 3);
    CHECK_CLOSE(m.accuracy, 0.7, 1e-12, 0);
    CHECK_CLOSE(m.precision, 3.0 / 5, 1e-12, 0);
    CHECK_CLOSE(m.recall, 3.0 / 4, 1e-12, 0);
    CHECK_CLOSE(m.specificity, 4.0 / 6, 1e-12, 0);
    CHECK_CLOSE(m.f1, 6.0 / 9, 1e-12, 0);
    CHECK_CLOSE(m.balanced_accuracy, (0.75 + 4.0 / 6) / 2, 1e-12, 0);
    /* Pairs won by the positives 0.9, 0.8, 0.6, 0.3 over the six negatives: 6 + 6 + 5 + 3 of 24. */
    CHECK_CLOSE(m.auc, 20.0 / 24, 1e-12, 0);
    CHECK(m.support[0] == 6 && m.support[1] == 4);
    /* The negative class's view: precision 4/5, recall 4/6. */
    CHECK_CLOSE(m.class_precision[0], 0.8, 1e-12, 0);
    CHECK_CLOSE(m.class_recall[0], 4.0 / 6, 1e-12, 0);

    CHECK(df_metrics_compute(prob, bin_y, 10, 2, 0.65, &m, &err) == 0);
    CHECK(m.confusion[0] == 5 && m.confusion[1] == 1 && m.confusion[2] == 2 && m.confusion[3] == 2);
    CHECK_CLOSE(m.precision, 2.0 / 3, 1e-12, 0);
    CHECK_CLOSE(m.auc, 20.0 / 24, 1e-12, 0); /* AUC does not depend on the threshold */

    /* MILK10k-style on two columns: class 0 called where p0 > 0.5 (p1 < 0.5), class 1 where p1 > 0.5.
     * Class 1: TP 3, FP 2, FN 1 -> 6/9. Class 0: called on 0.3 (y=1), 0.4 0.2 0.1 0.05 (y=0): TP 4 FP 1
     * FN 2 -> 8/11. */
    CHECK_CLOSE(m.macro_f1_milk, (6.0 / 9 + 8.0 / 11) / 2, 1e-12, 0);
}

static void test_roc_by_hand(void) {
    float prob[20];
    binary_prob(prob);
    df_roc roc;
    df_error err = {0};
    CHECK(df_roc_curve(prob, bin_y, 10, 2, 1, &roc, &err) == 0);
    /* Descending: .9P .8P .7N .6P .55N .4N .3P .2N .1N .05N */
    const double fpr[11] = {0, 0, 0, 1. / 6, 1. / 6, 2. / 6, 3. / 6, 3. / 6, 4. / 6, 5. / 6, 1};
    const double tpr[11] = {0, .25, .5, .5, .75, .75, .75, 1, 1, 1, 1};
    CHECK(roc.n == 11);
    for (int i = 0; i < 11 && roc.n == 11; i++) {
        CHECK_CLOSE(roc.fpr[i], fpr[i], 1e-12, 0);
        CHECK_CLOSE(roc.tpr[i], tpr[i], 1e-12, 0);
    }
    CHECK(isinf(roc.thr[0]) && roc.thr[1] == 0.9f && roc.thr[10] == 0.05f);
    /* The area under the curve's points is the AUC: a second route to it. */
    double area = 0;
    for (int i = 1; i < roc.n; i++) area += (roc.fpr[i] - roc.fpr[i - 1]) * (roc.tpr[i] + roc.tpr[i - 1]) / 2;
    CHECK_CLOSE(area, 20.0 / 24, 1e-12, 0);
    df_roc_free(&roc);

    /* Ties: one point per distinct score, and the trapezoid still equals the tie-aware AUC. */
    df_rng r = df_rng_make(5, DF_STREAM_STATS);
    int n = 300, y[300];
    float p[600], s[300];
    for (int i = 0; i < n; i++) {
        y[i] = df_rng_below(&r, 2);
        s[i] = (float)(df_rng_below(&r, 6) + y[i]) / 8.0f;
        p[2 * i] = 1 - s[i];
        p[2 * i + 1] = s[i];
    }
    CHECK(df_roc_curve(p, y, n, 2, 1, &roc, &err) == 0);
    CHECK(roc.n == 1 + 7);
    area = 0;
    for (int i = 1; i < roc.n; i++) area += (roc.fpr[i] - roc.fpr[i - 1]) * (roc.tpr[i] + roc.tpr[i - 1]) / 2;
    CHECK_CLOSE(area, df_auc_scores(s, y, n), 1e-12, 0);
    df_roc_free(&roc);

    int all_pos[10] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    CHECK(df_roc_curve(prob, all_pos, 10, 2, 1, &roc, &err) == -1);
    CHECK(strstr(err.msg, "negative") != NULL);
}

/* Three classes, six samples. Rows need not sum to 1 (MILK10k scores each column on its own). */
static const int mc_y[6] = {0, 0, 1, 1, 2, 2};
static const float mc_p[18] = {0.6f, 0.3f, 0.1f, 0.4f, 0.45f, 0.15f, 0.2f, 0.7f, 0.1f,
                               0.55f, 0.6f, 0.1f, 0.1f, 0.2f, 0.7f, 0.3f, 0.3f, 0.4f};

static void test_multiclass_by_hand(void) {
    df_metrics m;
    df_error err = {0};
    CHECK(df_metrics_compute(mc_p, mc_y, 6, 3, 0.5, &m, &err) == 0);
    const int cm[9] = {1, 1, 0, 0, 2, 0, 0, 0, 2};
    for (int i = 0; i < 9; i++) CHECK(m.confusion[i] == cm[i]);
    CHECK_CLOSE(m.accuracy, 5.0 / 6, 1e-12, 0);
    CHECK_CLOSE(m.balanced_accuracy, 2.5 / 3, 1e-12, 0);
    CHECK_CLOSE(m.precision, (1 + 2.0 / 3 + 1) / 3, 1e-12, 0);
    CHECK_CLOSE(m.recall, 2.5 / 3, 1e-12, 0);
    CHECK_CLOSE(m.specificity, (1 + 0.75 + 1) / 3, 1e-12, 0);
    CHECK_CLOSE(m.f1, (2.0 / 3 + 0.8 + 1) / 3, 1e-12, 0);
    CHECK_CLOSE(m.class_auc[0], 7.0 / 8, 1e-12, 0);
    CHECK_CLOSE(m.class_auc[1], 1.0, 1e-12, 0);
    CHECK_CLOSE(m.class_auc[2], 1.0, 1e-12, 0);
    CHECK_CLOSE(m.auc, (7.0 / 8 + 2) / 3, 1e-12, 0);
    /* Per class at p > 0.5: class 0 called on s0 (TP), s3 (FP), missed s1 -> F1 1/2; class 1 called on
     * s2, s3 (both TP) -> 1; class 2 called on s4 only -> 2/3. */
    CHECK_CLOSE(m.macro_f1_milk, (0.5 + 1 + 2.0 / 3) / 3, 1e-12, 0);
    CHECK_CLOSE(df_macro_f1_milk(mc_p, mc_y, 6, 3), m.macro_f1_milk, 0, 0);

    /* A class absent from y and never predicted: its ratios are 0/0 = 0, its AUC undefined and left out
     * of the macro AUC; balanced accuracy averages the classes present. */
    const int y2[4] = {0, 0, 1, 1};
    const float p2[12] = {0.8f, 0.1f, 0.1f, 0.3f, 0.6f, 0.1f, 0.2f, 0.7f, 0.1f, 0.1f, 0.8f, 0.1f};
    CHECK(df_metrics_compute(p2, y2, 4, 3, 0.5, &m, &err) == 0);
    CHECK(m.class_precision[2] == 0 && m.class_recall[2] == 0 && m.class_f1[2] == 0);
    CHECK(isnan(m.class_auc[2]));
    CHECK_CLOSE(m.auc, (1.0 + 1.0) / 2, 1e-12, 0);
    CHECK_CLOSE(m.balanced_accuracy, (0.5 + 1.0) / 2, 1e-12, 0);
    CHECK_CLOSE(m.recall, (0.5 + 1.0 + 0) / 3, 1e-12, 0);
}

static void test_invalid_input(void) {
    df_metrics m;
    df_error err = {0};
    const int y[3] = {0, 3, 1};
    const float p[6] = {0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f};
    CHECK(df_metrics_compute(p, y, 3, 2, 0.5, &m, &err) == -1);
    CHECK(strstr(err.msg, "sample 1") != NULL && strstr(err.msg, "label 3") != NULL);
    const int y_ok[3] = {0, 1, 1};
    float pn[6] = {0.5f, 0.5f, 0.5f, NAN, 0.5f, 0.5f};
    CHECK(df_metrics_compute(pn, y_ok, 3, 2, 0.5, &m, &err) == -1);
    CHECK(strstr(err.msg, "sample 1, class 1") != NULL);
    CHECK(df_metrics_compute(p, y_ok, 3, 1, 0.5, &m, &err) == -1);
    CHECK(df_metrics_compute(p, y_ok, 0, 2, 0.5, &m, &err) == -1);
}

static void test_writers(void) {
    float prob[20];
    binary_prob(prob);
    df_metrics m;
    df_error err = {0};
    CHECK(df_metrics_compute(prob, bin_y, 10, 2, 0.5, &m, &err) == 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    const char *names[2] = {"benign", "mal\"ignant"};
    CHECK(df_metrics_write_json(&m, names, f, &err) == 0);
    fclose(f);
    CHECK(strstr(buf, "\"accuracy\":0.7,") != NULL);
    CHECK(strstr(buf, "\"f1\":0.666667,") != NULL);
    CHECK(strstr(buf, "\"confusion\":[[4,2],[1,3]]") != NULL);
    CHECK(strstr(buf, "\"class_names\":[\"benign\",\"mal\\\"ignant\"]") != NULL);
    CHECK(buf[0] == '{' && buf[len - 1] == '}');
    free(buf);

    /* An undefined AUC is null, never the invalid JSON token nan. */
    const int y1[2] = {1, 1};
    const float p1[4] = {0.2f, 0.8f, 0.6f, 0.4f};
    CHECK(df_metrics_compute(p1, y1, 2, 2, 0.5, &m, &err) == 0);
    f = open_memstream(&buf, &len);
    CHECK(df_metrics_write_json(&m, NULL, f, &err) == 0);
    fclose(f);
    CHECK(strstr(buf, "\"auc\":null") != NULL && strstr(buf, "nan") == NULL);
    free(buf);

    f = open_memstream(&buf, &len);
    CHECK(df_metrics_write_markdown_header(f, "macro-F1", &err) == 0);
    CHECK(df_metrics_write_markdown_row(&m, "late|mean", 1, f, &err) == 0);
    fclose(f);
    CHECK(strstr(buf, "| model | accuracy |") == buf);
    CHECK(strstr(buf, "| AUC | macro-F1 |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n") != NULL);
    CHECK(strstr(buf, "\n| late\\|mean | 0.5000 |") != NULL);
    CHECK(strstr(buf, "| n/a |") != NULL);
    free(buf);

    /* Without the macro-F1 column: header, rule and row all have the model and seven metrics. */
    f = open_memstream(&buf, &len);
    CHECK(df_metrics_write_markdown_header(f, NULL, &err) == 0);
    CHECK(df_metrics_write_markdown_row(&m, "image", 0, f, &err) == 0);
    fclose(f);
    CHECK(strstr(buf, "macro") == NULL);
    CHECK(strstr(buf, "| AUC |\n|---|---:|---:|---:|---:|---:|---:|---:|\n| image |") != NULL);
    const char *row = strstr(buf, "| image |");
    int bars = 0;
    for (const char *c = row; c && *c && *c != '\n'; c++) bars += *c == '|';
    CHECK(row && bars == 9);
    free(buf);
}

int main(void) {
    test_auc_random();
    test_auc_extremes();
    test_binary_by_hand();
    test_roc_by_hand();
    test_multiclass_by_hand();
    test_invalid_input();
    test_writers();
    return check_report();
}
