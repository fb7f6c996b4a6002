/* test_split.c: grouped stratified hold-out and k-fold splits on a synthetic dataset with patients of 1-6
 * samples and three unbalanced classes: no group on two sides, class proportions near the overall ones,
 * folds partition the samples, the same seed gives the same split and another seed a different one. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/rng.h"
#include "data/table/split.h"

enum { N = 900, C = 3 };

/* Patients of 1..6 samples; a patient's samples mostly share a class (class mix 50/30/20). */
static df_dataset make(void) {
    df_dataset d = {0};
    d.n_samples = N;
    d.n_classes = C;
    d.n_views = 1;
    d.labels = df_malloc(N * sizeof *d.labels);
    d.groups = df_malloc(N * sizeof *d.groups);
    df_rng r = df_rng_make(99, DF_STREAM_SYNTH);
    int patient = 0;
    for (int i = 0; i < N;) {
        int size = 1 + (int)df_rng_below(&r, 6);
        float u = df_rng_uniform(&r);
        int y = u < 0.5f ? 0 : u < 0.8f ? 1 : 2;
        for (int k = 0; k < size && i < N; k++, i++) {
            char name[32];
            snprintf(name, sizeof name, "P%04d", patient);
            d.groups[i] = df_strdup(name);
            d.labels[i] = df_rng_uniform(&r) < 0.9f ? y : (y + 1) % C;
        }
        patient++;
    }
    return d;
}

static void class_fractions(const df_dataset *d, const int *idx, int n, double *frac) {
    int count[C] = {0};
    for (int i = 0; i < n; i++) count[d->labels[idx ? idx[i] : i]]++;
    for (int c = 0; c < C; c++) frac[c] = n ? (double)count[c] / n : 0;
}

/* 1 when no group has samples on both sides. */
static int groups_apart(const df_dataset *d, const df_split *s) {
    for (int i = 0; i < s->n_train; i++)
        for (int j = 0; j < s->n_test; j++)
            if (!strcmp(d->groups[s->train[i]], d->groups[s->test[j]])) return 0;
    return 1;
}

static void test_holdout(const df_dataset *d) {
    df_split s, t, u;
    df_error err = {""};
    CHECK_MSG(df_split_holdout(d, NULL, 0, 0.2, 7, &s, &err) == 0, "%s", err.msg);
    CHECK(s.n_train + s.n_test == N);
    CHECK_CLOSE((double)s.n_test / N, 0.2, 0.02, 0);
    CHECK(groups_apart(d, &s));
    unsigned char *seen = calloc(N, 1);
    int ok = 1;
    for (int i = 0; i < s.n_train; i++) ok &= !seen[s.train[i]]++;
    for (int i = 0; i < s.n_test; i++) ok &= !seen[s.test[i]]++;
    CHECK(ok); /* disjoint, and with the count above, a partition */
    free(seen);
    double all[C], test[C];
    class_fractions(d, NULL, N, all);
    class_fractions(d, s.test, s.n_test, test);
    for (int c = 0; c < C; c++) CHECK_CLOSE(test[c], all[c], 0.03, 0);

    CHECK(df_split_holdout(d, NULL, 0, 0.2, 7, &t, &err) == 0);
    CHECK(t.n_test == s.n_test && !memcmp(t.test, s.test, (size_t)s.n_test * sizeof *s.test));
    CHECK(df_split_holdout(d, NULL, 0, 0.2, 8, &u, &err) == 0);
    CHECK(u.n_test != s.n_test || memcmp(u.test, s.test, (size_t)s.n_test * sizeof *s.test));
    df_split_free(&t);
    df_split_free(&u);

    /* Splitting the training part again (train/validation) only uses its indices. */
    CHECK(df_split_holdout(d, s.train, s.n_train, 0.25, 7, &t, &err) == 0);
    CHECK(t.n_train + t.n_test == s.n_train && groups_apart(d, &t));
    int inside = 1;
    for (int i = 0; i < t.n_test; i++) {
        int found = 0;
        for (int j = 0; j < s.n_train && !found; j++) found = t.test[i] == s.train[j];
        inside &= found;
    }
    CHECK(inside);
    df_split_free(&t);
    df_split_free(&s);

    CHECK(df_split_holdout(d, NULL, 0, 0.0, 7, &s, &err) == -1);
    CHECK(df_split_holdout(d, NULL, 0, 1.0, 7, &s, &err) == -1);
    int one[] = {3};
    CHECK(df_split_holdout(d, one, 1, 0.5, 7, &s, &err) == -1);
    CHECK_MSG(strstr(err.msg, "non-empty"), "%s", err.msg);
}

static void test_kfold(const df_dataset *d) {
    int fold_of[N], again[N], other[N];
    df_error err = {""};
    const int k = 5;
    CHECK_MSG(df_split_kfold(d, NULL, 0, k, 3, fold_of, &err) == 0, "%s", err.msg);
    double all[C];
    class_fractions(d, NULL, N, all);
    int total = 0, in_range = 1;
    for (int i = 0; i < N; i++) in_range &= fold_of[i] >= 0 && fold_of[i] < k;
    CHECK(in_range);
    for (int f = 0; f < k; f++) {
        df_split s;
        df_split_fold(NULL, N, fold_of, f, &s);
        total += s.n_test;
        CHECK(s.n_train + s.n_test == N);
        CHECK_CLOSE((double)s.n_test / N, 1.0 / k, 0.02, 0);
        CHECK(groups_apart(d, &s));
        double fr[C];
        class_fractions(d, s.test, s.n_test, fr);
        for (int c = 0; c < C; c++) CHECK_CLOSE(fr[c], all[c], 0.04, 0);
        df_split_free(&s);
    }
    CHECK(total == N);
    CHECK(df_split_kfold(d, NULL, 0, k, 3, again, &err) == 0 && !memcmp(again, fold_of, sizeof again));
    CHECK(df_split_kfold(d, NULL, 0, k, 4, other, &err) == 0 && memcmp(other, fold_of, sizeof other));
    CHECK(df_split_kfold(d, NULL, 0, 1, 3, fold_of, &err) == -1);
    int few[] = {0, 1, 2};
    CHECK(df_split_kfold(d, few, 3, 5, 3, fold_of, &err) == -1);
}

/* Without groups every sample is its own group; stratification is then exact to within one sample. */
static void test_ungrouped(df_dataset *d) {
    char **groups = d->groups;
    d->groups = NULL;
    int fold_of[N];
    df_error err = {""};
    CHECK(df_split_kfold(d, NULL, 0, 3, 1, fold_of, &err) == 0);
    int count[3][C] = {{0}}, total[C] = {0};
    for (int i = 0; i < N; i++) {
        count[fold_of[i]][d->labels[i]]++;
        total[d->labels[i]]++;
    }
    for (int f = 0; f < 3; f++)
        for (int c = 0; c < C; c++) CHECK_CLOSE(count[f][c], total[c] / 3.0, 1.0, 0);
    d->groups = groups;
}

int main(void) {
    df_dataset d = make();
    test_holdout(&d);
    test_kfold(&d);
    test_ungrouped(&d);
    df_dataset_free(&d);
    return check_report();
}
