/* test_split.c: grouped stratified hold-out and k-fold splits on a synthetic dataset with patients of 1-6
 * samples and three unbalanced classes: no group on two sides, class proportions near the overall ones,
 * folds partition the samples, the same seed gives the same split and another seed a different one. Also
 * the checks a split relies on: every class present, unique sample ids, no sample in two split files. */
#include <stdio.h>
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


/* A small dataset from a file: ids and labels of rows at lines 2, 3, ... */
static df_dataset small(const char *source, int n, const char *const *ids, const int *labels) {
    df_dataset d = {0};
    d.n_samples = n;
    d.n_classes = 3;
    d.class_names = df_malloc(3 * sizeof *d.class_names);
    d.class_names[0] = df_strdup("nevus");
    d.class_names[1] = df_strdup("melanoma");
    d.class_names[2] = df_strdup("bcc");
    d.labels = df_malloc((size_t)n * sizeof *d.labels);
    d.ids = df_malloc((size_t)n * sizeof *d.ids);
    d.source = df_strdup(source);
    d.source_rows = df_malloc((size_t)n * sizeof *d.source_rows);
    for (int i = 0; i < n; i++) {
        d.labels[i] = labels[i];
        d.ids[i] = df_strdup(ids[i]);
        d.source_rows[i] = i + 2;
    }
    return d;
}

/* Every class in a split, or an error naming the file, the split and each missing class. */
static void test_class_coverage(void) {
    const char *ids[] = {"a", "b", "c", "d", "e", "f"};
    const int all[] = {0, 1, 2, 0, 1, 2}, two[] = {0, 1, 0, 1, 0, 1}, one[] = {1, 1, 1, 1, 1, 1};
    df_error err = {""};
    df_dataset d = small("train.csv", 6, ids, all);
    CHECK_MSG(df_dataset_check_classes(&d, NULL, 0, "training split", &err) == 0, "%s", err.msg);
    int first_three[] = {0, 1, 2}, no_bcc[] = {0, 1, 3, 4};
    CHECK(df_dataset_check_classes(&d, first_three, 3, "validation split", &err) == 0);
    CHECK(df_dataset_check_classes(&d, no_bcc, 4, "validation split", &err) == -1);
    CHECK_MSG(strstr(err.msg, "train.csv") && strstr(err.msg, "validation split") && strstr(err.msg, "'bcc'") &&
                  strstr(err.msg, "(4 samples in it)") && !strstr(err.msg, "'nevus'"), "%s", err.msg);
    df_dataset_free(&d);
    d = small("two.csv", 6, ids, two);
    CHECK(df_dataset_check_classes(&d, NULL, 0, "training split", &err) == -1);
    CHECK_MSG(strstr(err.msg, "two.csv") && strstr(err.msg, "class 'bcc'"), "%s", err.msg);
    df_dataset_free(&d);
    d = small("one.csv", 6, ids, one);
    CHECK(df_dataset_check_classes(&d, NULL, 0, "training split", &err) == -1);
    CHECK_MSG(strstr(err.msg, "one.csv") && strstr(err.msg, "classes 'nevus', 'bcc'") &&
                  strstr(err.msg, "training split"), "%s", err.msg);
    df_dataset_free(&d);
}

/* Repeated ids in a file, and ids in two files, name both lines; row ids are positions, never compared. */
static void test_ids(void) {
    const int labels[] = {0, 1, 2, 0, 1};
    df_error err = {""};
    const char *unique[] = {"ISIC_1", "ISIC_2", "row:4", "ISIC_3", "ISIC_4"};
    df_dataset a = small("train.csv", 5, unique, labels);
    CHECK_MSG(df_dataset_check_unique_ids(&a, &err) == 0, "%s", err.msg);
    CHECK(df_dataset_id_is_row(&a, 2) && !df_dataset_id_is_row(&a, 0));
    const char *twice[] = {"ISIC_1", "ISIC_2", "ISIC_3", "ISIC_2", "ISIC_5"};
    df_dataset b = small("dup.csv", 5, twice, labels);
    CHECK(df_dataset_check_unique_ids(&b, &err) == -1);
    CHECK_MSG(strstr(err.msg, "dup.csv:5:") && strstr(err.msg, "'ISIC_2'") && strstr(err.msg, "line 3"), "%s",
              err.msg);
    df_dataset_free(&b);

    /* "row:4" at line 4 of both files is two different rows; ISIC_3 is one sample in both files. */
    const char *valid_ids[] = {"ISIC_7", "ISIC_8", "row:4", "ISIC_9", "ISIC_3"};
    b = small("valid.csv", 5, valid_ids, labels);
    CHECK(df_dataset_check_disjoint(&a, "training", &b, "validation", &err) == -1);
    CHECK_MSG(strstr(err.msg, "valid.csv:6:") && strstr(err.msg, "train.csv:5") && strstr(err.msg, "'ISIC_3'") &&
                  strstr(err.msg, "training") && strstr(err.msg, "validation"), "%s", err.msg);
    free(b.ids[4]);
    b.ids[4] = df_strdup("ISIC_10");
    CHECK_MSG(df_dataset_check_disjoint(&a, "training", &b, "validation", &err) == 0, "%s", err.msg);
    /* "row:5" written in a file at line 4 is an id like any other. */
    free(b.ids[2]);
    b.ids[2] = df_strdup("row:5");
    free(a.ids[3]);
    a.ids[3] = df_strdup("row:5"); /* line 5 of train.csv: a row id there */
    CHECK(!df_dataset_id_is_row(&b, 2) && df_dataset_id_is_row(&a, 3));
    CHECK(df_dataset_check_disjoint(&a, "training", &b, "validation", &err) == 0);
    df_dataset_free(&a);
    df_dataset_free(&b);
}

int main(void) {
    df_dataset d = make();
    test_holdout(&d);
    test_kfold(&d);
    test_ungrouped(&d);
    df_dataset_free(&d);
    test_class_coverage();
    test_ids();
    return check_report();
}
