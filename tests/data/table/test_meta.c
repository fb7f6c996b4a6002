/* test_meta.c: the metadata encoder against hand-computed values on a tiny table (training mean/sd only,
 * missing indicator, one-hot with an unknown slot), its JSON copy (exact, never inf or nan), its errors (an
 * unparsable or implausible number names file, line, column and value; a category spelled two ways; leaky
 * columns refused), the perfect-separator warning, and withheld fields encoded as missing ones. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "data/table/meta.h"

/* A dataset held only in memory: n rows of ncols raw strings. */
static df_dataset make(int n, int ncols, const char *const *cols, const char *const *vals, const int *labels) {
    df_dataset d = {0};
    d.n_samples = n;
    d.n_classes = 2;
    d.class_names = malloc(2 * sizeof *d.class_names);
    d.class_names[0] = df_strdup("a");
    d.class_names[1] = df_strdup("b");
    d.n_views = 1;
    d.labels = malloc((size_t)n * sizeof *d.labels);
    d.source = df_strdup("meta.csv");
    d.source_rows = malloc((size_t)n * sizeof *d.source_rows);
    d.n_meta_cols = ncols;
    d.meta_cols = malloc((size_t)ncols * sizeof *d.meta_cols);
    d.meta_values = malloc((size_t)(n * ncols) * sizeof *d.meta_values);
    for (int c = 0; c < ncols; c++) d.meta_cols[c] = df_strdup(cols[c]);
    for (int i = 0; i < n; i++) {
        d.labels[i] = labels[i];
        d.source_rows[i] = i + 2;
        for (int c = 0; c < ncols; c++) d.meta_values[i * ncols + c] = df_strdup(vals[i * ncols + c]);
    }
    return d;
}

static const char *const COLS[] = {"age", "sex", "k", "diagnosis", "y"};
static const char *const VALS[] = {
    /* training rows 0..3 */
    "30", "male", "5", "nevus", "0",
    " 50 ", "female", "5", "melanoma", "1",
    "", "male", "5", "nevus", "0",
    "NA", "", "5", "melanoma", "1",
    /* test rows 4..5: age 100 would move the mean if the test rows were used */
    "100", "other", "7", "nevus", "0",
    "nan", "female", "NaN", "nevus", "1",
};
static const int LABELS[] = {0, 1, 0, 1, 0, 1};

static void test_encoding(void) {
    df_dataset d = make(6, 5, COLS, VALS, LABELS);
    const char *num[] = {"age", "k"}, *cat[] = {"sex"};
    df_meta_spec spec = {num, 2, cat, 1, "y", 0, 0};
    int train[] = {0, 1, 2, 3};
    df_meta_encoder enc;
    df_error err = {""};
    CHECK_MSG(df_meta_fit(&enc, &spec, &d, train, 4, NULL, &err) == 0, "%s", err.msg);
    CHECK(enc.dim == 7);
    if (enc.dim != 7) return;
    const char *names[] = {"age", "age_missing", "k", "k_missing", "sex=female", "sex=male", "sex=<unknown>"};
    for (int j = 0; j < 7; j++) CHECK_MSG(!strcmp(enc.names[j], names[j]), "slot %d is %s", j, enc.names[j]);
    /* age over the training rows: 30, 50 -> mean 40, population sd 10; k constant 5 -> sd 0 -> 1 */
    CHECK(enc.features[0].mean == 40.0f && enc.features[0].sd == 10.0f);
    CHECK(enc.features[1].mean == 5.0f && enc.features[1].sd == 1.0f);

    float x[6 * 7];
    CHECK_MSG(df_meta_encode(&enc, &d, NULL, 0, x, NULL, NULL, &err) == 0, "%s", err.msg);
    const float want[6][7] = {
        {-1, 0, 0, 0, 0, 1, 0},
        {1, 0, 0, 0, 1, 0, 0},
        {0, 1, 0, 0, 0, 1, 0},
        {0, 1, 0, 0, 0, 0, 1},
        {6, 0, 2, 0, 0, 0, 1}, /* "other" never seen in training -> unknown */
        {0, 1, 0, 1, 1, 0, 0},
    };
    int same = 1;
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 7; j++) same &= x[i * 7 + j] == want[i][j];
    CHECK(same);

    /* Encoding a subset writes rows in idx order. */
    int test[] = {5, 4};
    float y[2 * 7];
    CHECK(df_meta_encode(&enc, &d, test, 2, y, NULL, NULL, &err) == 0);
    CHECK(!memcmp(y, x + 5 * 7, 7 * sizeof *y) && !memcmp(y + 7, x + 4 * 7, 7 * sizeof *y));

    /* JSON round trip: same floats, same names, same encoding, same text. */
    char *json = df_meta_to_json(&enc);
    df_meta_encoder back;
    CHECK_MSG(df_meta_from_json(&back, json, &err) == 0, "%s: %s", err.msg, json);
    CHECK(back.dim == enc.dim && back.n_features == enc.n_features);
    if (back.dim == enc.dim) {
        for (int j = 0; j < enc.dim; j++) CHECK(!strcmp(back.names[j], enc.names[j]));
        float z[6 * 7];
        CHECK(df_meta_encode(&back, &d, NULL, 0, z, NULL, NULL, &err) == 0);
        CHECK(!memcmp(z, x, sizeof z));
        char *again = df_meta_to_json(&back);
        CHECK(!strcmp(again, json));
        free(again);
    }
    df_meta_encoder_free(&back);
    free(json);

    /* A column missing at encode time is named. */
    free(d.meta_cols[1]);
    d.meta_cols[1] = df_strdup("gender");
    CHECK(df_meta_encode(&enc, &d, NULL, 0, x, NULL, NULL, &err) == -1);
    CHECK_MSG(strstr(err.msg, "'sex'"), "%s", err.msg);
    df_meta_encoder_free(&enc);
    df_dataset_free(&d);
}

/* Statistics that are not exactly representable survive the JSON copy bit for bit, and awkward category
 * strings (quotes, commas, control characters, UTF-8) come back unchanged. */
static void test_json_exact(void) {
    const char *cols[] = {"v", "c"};
    const char *vals[] = {"0.1", "a\"b", "0.7", "x,y", "1e-7", "tab\there", "3.3333333", "caf\xc3\xa9"};
    int labels[] = {0, 1, 0, 1};
    df_dataset d = make(4, 2, cols, vals, labels);
    const char *num[] = {"v"}, *cat[] = {"c"};
    df_meta_spec spec = {num, 1, cat, 1, NULL, 0, 0};
    df_meta_encoder enc, back;
    df_error err = {""};
    CHECK(df_meta_fit(&enc, &spec, &d, NULL, 0, NULL, &err) == 0);
    char *json = df_meta_to_json(&enc);
    CHECK_MSG(df_meta_from_json(&back, json, &err) == 0, "%s", err.msg);
    CHECK(!memcmp(&back.features[0].mean, &enc.features[0].mean, sizeof(float)));
    CHECK(!memcmp(&back.features[0].sd, &enc.features[0].sd, sizeof(float)));
    CHECK(back.features[1].n_values == 4);
    for (int v = 0; v < 4 && back.features[1].n_values == 4; v++)
        CHECK(!strcmp(back.features[1].values[v], enc.features[1].values[v]));
    df_meta_encoder_free(&back);

    /* Malformed copies are refused with a byte offset. */
    const char *bad[] = {
        "{\"format\":\"dermfuse-meta/1\",\"dim\":2,\"features\":[{\"column\":\"v\",\"kind\":\"numeric\",\"mean\":1}]}",
        "{\"format\":\"dermfuse-meta/1\",\"dim\":3,\"features\":[{\"column\":\"v\",\"kind\":\"numeric\",\"mean\":1,\"sd\":2}]}",
        "{\"format\":\"dermfuse-meta/1\",\"dim\":3,\"features\":[{\"column\":\"c\",\"kind\":\"categorical\",\"values\":[\"b\",\"a\"]}]}",
        "{\"format\":\"dermfuse-meta/1\",\"dim\":2,\"features\":[],\"extra\":1}",
        "{\"format\":\"dermfuse-meta/1\",\"dim\":2,\"features\":[",
        "{\"format\":\"dermfuse-meta/1\",\"dim\":4,\"features\":[{\"column\":\"v\",\"kind\":\"numeric\",\"mean\":1,\"sd\":2},"
        "{\"column\":\"v\",\"kind\":\"numeric\",\"mean\":1,\"sd\":2}]}",
    };
    for (int i = 0; i < 6; i++) {
        int rc = df_meta_from_json(&back, bad[i], &err);
        CHECK_MSG(rc == -1, "accepted %s", bad[i]);
        if (rc == 0) df_meta_encoder_free(&back);
    }
    size_t cut = strlen(json) / 2;
    json[cut] = '\0';
    CHECK(df_meta_from_json(&back, json, &err) == -1);
    CHECK_MSG(strstr(err.msg, "byte"), "%s", err.msg);
    free(json);
    df_meta_encoder_free(&enc);
    df_dataset_free(&d);
}

static void test_bad_values_and_leaks(void) {
    const char *cols[] = {"age", "diagnosis", "y"};
    const char *vals[] = {"30", "nevus", "0", "abc", "melanoma", "1", "50", "nevus", "0", "70", "melanoma", "1"};
    int labels[] = {0, 1, 0, 1};
    df_dataset d = make(4, 3, cols, vals, labels);
    df_meta_encoder enc;
    df_error err = {""};
    const char *num[] = {"age"};
    df_meta_spec spec = {num, 1, NULL, 0, "y", 0, 0};
    CHECK(df_meta_fit(&enc, &spec, &d, NULL, 0, NULL, &err) == -1);
    CHECK_MSG(strstr(err.msg, "meta.csv:3") && strstr(err.msg, "'age'") && strstr(err.msg, "'abc'"), "%s", err.msg);

    /* Skip mode: the row is counted, left out of the statistics (mean of 30, 50, 70 = 50) and flagged. */
    spec.skip_bad_rows = 1;
    int n_bad = 0;
    CHECK(df_meta_fit(&enc, &spec, &d, NULL, 0, &n_bad, &err) == 0);
    CHECK(n_bad == 1 && enc.features[0].mean == 50.0f);
    float x[4 * 2];
    unsigned char bad[4];
    CHECK(df_meta_encode(&enc, &d, NULL, 0, x, bad, &n_bad, &err) == 0);
    CHECK(n_bad == 1 && bad[1] == 1 && bad[0] == 0 && bad[2] == 0 && bad[3] == 0);
    CHECK(df_meta_encode(&enc, &d, NULL, 0, x, NULL, NULL, &err) == -1);
    df_meta_encoder_free(&enc);

    /* Leaky columns: the built-in list and the label column are refused unless allowed. */
    const char *leaky[] = {"diagnosis"}, *label[] = {"y"};
    df_meta_spec s2 = {NULL, 0, leaky, 1, "y", 0, 0};
    CHECK(df_meta_fit(&enc, &s2, &d, NULL, 0, NULL, &err) == -1);
    CHECK_MSG(strstr(err.msg, "'diagnosis'") && strstr(err.msg, "leak"), "%s", err.msg);
    s2.categorical = label;
    CHECK(df_meta_fit(&enc, &s2, &d, NULL, 0, NULL, &err) == -1);
    CHECK_MSG(strstr(err.msg, "'y'"), "%s", err.msg);
    s2.allow_leaky = 1;
    CHECK(df_meta_fit(&enc, &s2, &d, NULL, 0, NULL, &err) == 0);
    df_meta_encoder_free(&enc);
    CHECK(df_meta_is_leaky("benign_malignant") && df_meta_is_leaky("mel_thick_mm") && df_meta_is_leaky("MEL"));
    CHECK(!df_meta_is_leaky("age_approx") && !df_meta_is_leaky("anatom_site_general"));

    /* Unknown and repeated columns. */
    const char *nope[] = {"weight"}, *twice[] = {"age", "age"};
    df_meta_spec s3 = {nope, 1, NULL, 0, NULL, 0, 0};
    CHECK(df_meta_fit(&enc, &s3, &d, NULL, 0, NULL, &err) == -1);
    CHECK_MSG(strstr(err.msg, "'weight'") && strstr(err.msg, "meta.csv"), "%s", err.msg);
    s3.numeric = twice;
    s3.n_numeric = 2;
    CHECK(df_meta_fit(&enc, &s3, &d, NULL, 0, NULL, &err) == -1);
    df_dataset_free(&d);
}

static void test_separators(void) {
    /* "score" splits the classes perfectly; "age" overlaps; "site" one-hot overlaps. */
    enum { N = 12 };
    const char *cols[] = {"score", "age", "site"};
    const char *vals[N * 3];
    int labels[N];
    char buf[N][2][8];
    for (int i = 0; i < N; i++) {
        labels[i] = i % 2;
        snprintf(buf[i][0], 8, "%d", labels[i] ? 10 + i : i);
        snprintf(buf[i][1], 8, "%d", 20 + (i * 5) % 12);
        vals[i * 3] = buf[i][0];
        vals[i * 3 + 1] = buf[i][1];
        vals[i * 3 + 2] = i % 3 ? "arm" : "leg";
    }
    df_dataset d = make(N, 3, cols, vals, labels);
    const char *num[] = {"score", "age"}, *cat[] = {"site"};
    df_meta_spec spec = {num, 2, cat, 1, NULL, 0, 0};
    df_meta_encoder enc;
    df_error err = {""};
    CHECK(df_meta_fit(&enc, &spec, &d, NULL, 0, NULL, &err) == 0);
    float *x = malloc((size_t)(N * enc.dim) * sizeof *x);
    CHECK(df_meta_encode(&enc, &d, NULL, 0, x, NULL, NULL, &err) == 0);
    char msg[512];
    CHECK(df_meta_perfect_separators(&enc, x, d.labels, N, 2, msg, sizeof msg) == 1);
    CHECK_MSG(strstr(msg, "'score'") && !strstr(msg, "'age'"), "%s", msg);

    /* Without the separating column, nothing is reported. */
    const char *num2[] = {"age"};
    df_meta_spec s2 = {num2, 1, cat, 1, NULL, 0, 0};
    df_meta_encoder e2;
    CHECK(df_meta_fit(&e2, &s2, &d, NULL, 0, NULL, &err) == 0);
    CHECK(df_meta_encode(&e2, &d, NULL, 0, x, NULL, NULL, &err) == 0);
    CHECK(df_meta_perfect_separators(&e2, x, d.labels, N, 2, msg, sizeof msg) == 0);
    df_meta_encoder_free(&e2);
    free(x);
    df_meta_encoder_free(&enc);
    df_dataset_free(&d);
}


/* What counts as a number, a missing value, or neither: only decimal numbers, finite in a double, in the
 * column's range; the rest is an error naming the file, line, column and value. */
static void test_number_syntax(void) {
    static const struct {
        const char *s;
        int ok;
        double x;
    } cases[] = {
        {"42", 1, 42},      {" 42 ", 1, 42},   {"+5", 1, 5},        {"-0.5", 1, -0.5}, {".5", 1, 0.5},
        {"5.", 1, 5},       {"1e3", 1, 1000},  {"2.5E-1", 1, 0.25}, {"0", 1, 0},       {"65.0", 1, 65},
        {"0x1A", 0, 0},     {"0X10", 0, 0},    {"inf", 0, 0},       {"-inf", 0, 0},    {"Infinity", 0, 0},
        {"nan", 0, 0},      {"1e999", 0, 0},   {"-1e999", 0, 0},    {"1e-400", 0, 0},  {"12abc", 0, 0},
        {"1,5", 0, 0},      {"1.2.3", 0, 0},   {"1e", 0, 0},        {"1e+", 0, 0},     {".", 0, 0},
        {"--1", 0, 0},      {"+-1", 0, 0},     {"", 0, 0},          {"   ", 0, 0},     {"4 2", 0, 0},
        {"\xd9\xa4", 0, 0}, {"1\xc2\xa0", 0, 0}, /* an Arabic-Indic digit; a trailing no-break space */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double x = -12345;
        int ok = df_meta_parse_number(cases[i].s, &x);
        CHECK_MSG(ok == cases[i].ok, "'%s': parsed %d, expected %d", cases[i].s, ok, cases[i].ok);
        if (ok && cases[i].ok) CHECK_MSG(x == cases[i].x, "'%s' read as %g", cases[i].s, x);
        if (!ok) CHECK_MSG(x == -12345, "'%s': a refused value wrote %g", cases[i].s, x);
    }
    /* Missing tokens are exactly these; "N/A", "null" and "-" are not, and are refused as numbers. */
    double x;
    CHECK(df_meta_read_number("v", "", &x) == 0 && df_meta_read_number("v", " NA ", &x) == 0 &&
          df_meta_read_number("v", "NaN", &x) == 0);
    CHECK(df_meta_read_number("v", "N/A", &x) == -1 && df_meta_read_number("v", "null", &x) == -1 &&
          df_meta_read_number("v", "-", &x) == -1);
    /* Ranges: a known column's, and the bound on any other. */
    double lo, hi;
    df_meta_range("age_approx", &lo, &hi);
    CHECK(lo == 0 && hi == 120);
    df_meta_range("some_score", &lo, &hi);
    CHECK(lo == -DF_META_MAX_ABS && hi == DF_META_MAX_ABS);
    CHECK(df_meta_read_number("age_approx", "120", &x) == 1 && x == 120);
    CHECK(df_meta_read_number("age_approx", "0.0", &x) == 1 && x == 0);
    CHECK(df_meta_read_number("age_approx", "121", &x) == -1 && df_meta_read_number("age_approx", "-5", &x) == -1);
    CHECK(df_meta_read_number("age_approx", "999", &x) == -1);
    CHECK(df_meta_read_number("clin_size_long_diam_mm", "-1", &x) == -1);
    CHECK(df_meta_read_number("some_score", "1e15", &x) == 1 && df_meta_read_number("some_score", "-1e16", &x) == -1);
}

/* Refused values in a fitted column: each an error naming file, line, column, value and what was expected;
 * missing values stay missing (indicator 1, value 0), never a number. */
static void test_bad_numbers(void) {
    static const struct {
        const char *col, *value, *want;
    } cases[] = {
        {"age_approx", "150", "[0, 120]"}, {"age_approx", "-1", "[0, 120]"}, {"age_approx", "0x1E", "not a number"},
        {"age_approx", "inf", "not a number"}, {"age_approx", "45 years", "not a number"},
        {"score", "1e300", "[-1e+15, 1e+15]"}, {"score", "1e999", "not a number"}, {"score", "N/A", "not a number"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *cols[] = {cases[i].col, "y"};
        const char *vals[] = {"30", "0", "", "1", cases[i].value, "0", "50", "1"};
        int labels[] = {0, 1, 0, 1};
        df_dataset d = make(4, 2, cols, vals, labels);
        const char *num[] = {cases[i].col};
        df_meta_spec spec = {num, 1, NULL, 0, "y", 0, 0};
        df_meta_encoder enc;
        df_error err = {""};
        CHECK_MSG(df_meta_fit(&enc, &spec, &d, NULL, 0, NULL, &err) == -1, "case %zu accepted", i);
        char want_col[64];
        snprintf(want_col, sizeof want_col, "'%s'", cases[i].col);
        CHECK_MSG(strstr(err.msg, "meta.csv:4:") && strstr(err.msg, want_col) && strstr(err.msg, cases[i].value) &&
                      strstr(err.msg, cases[i].want), "case %zu: %s", i, err.msg);
        /* Fitted on the other rows only, encoding the bad row is the same error; skip mode flags it. */
        int rows[] = {0, 1, 3};
        CHECK(df_meta_fit(&enc, &spec, &d, rows, 3, NULL, &err) == 0);
        float x[4 * 2];
        CHECK(df_meta_encode(&enc, &d, NULL, 0, x, NULL, NULL, &err) == -1);
        CHECK_MSG(strstr(err.msg, "meta.csv:4:") && strstr(err.msg, want_col), "case %zu: %s", i, err.msg);
        unsigned char bad[4];
        int n_bad = 0;
        CHECK(df_meta_encode(&enc, &d, NULL, 0, x, bad, &n_bad, &err) == 0);
        CHECK(n_bad == 1 && bad[2] == 1 && x[2 * 2 + 1] == 1.0f && x[2 * 2] == 0.0f);
        /* the empty field of row 1 is missing: indicator 1, value 0 (the mean), not an error */
        CHECK(bad[1] == 0 && x[1 * 2 + 1] == 1.0f && x[1 * 2] == 0.0f);
        df_meta_encoder_free(&enc);
        spec.skip_bad_rows = 1;
        int fit_bad = 0;
        CHECK(df_meta_fit(&enc, &spec, &d, NULL, 0, &fit_bad, &err) == 0 && fit_bad == 1);
        CHECK(enc.features[0].mean == 40.0f); /* 30 and 50: the refused row is not in the statistics */
        df_meta_encoder_free(&enc);
        df_dataset_free(&d);
    }
}

/* Statistics and encoded values are finite or an error; the encoder's JSON never holds inf, nan or null. */
static void test_finite(void) {
    /* Large but allowed values: the statistics stay finite and the JSON reads back. */
    const char *cols[] = {"v", "y"};
    const char *big[] = {"1e15", "0", "-1e15", "1", "1e15", "0", "-1e15", "1"};
    int labels[] = {0, 1, 0, 1};
    df_dataset d = make(4, 2, cols, big, labels);
    const char *num[] = {"v"};
    df_meta_spec spec = {num, 1, NULL, 0, "y", 0, 0};
    df_meta_encoder enc, back;
    df_error err = {""};
    CHECK_MSG(df_meta_fit(&enc, &spec, &d, NULL, 0, NULL, &err) == 0, "%s", err.msg);
    CHECK(isfinite(enc.features[0].mean) && isfinite(enc.features[0].sd) && enc.features[0].sd == 1e15f);
    char *json = df_meta_to_json(&enc);
    CHECK_MSG(!strstr(json, "inf") && !strstr(json, "nan") && !strstr(json, "null"), "%s", json);
    CHECK(df_meta_from_json(&back, json, &err) == 0);
    df_meta_encoder_free(&back);
    free(json);
    df_meta_encoder_free(&enc);
    df_dataset_free(&d);

    /* A tiny training sd and a far-off value overflow a float when standardised: an error naming the row. */
    const char *tiny[] = {"0", "0", "1e-30", "1", "0", "0", "1e15", "1"};
    d = make(4, 2, cols, tiny, labels);
    int train[] = {0, 1, 2};
    CHECK(df_meta_fit(&enc, &spec, &d, train, 3, NULL, &err) == 0);
    float x[4 * 2];
    CHECK(df_meta_encode(&enc, &d, NULL, 0, x, NULL, NULL, &err) == -1);
    CHECK_MSG(strstr(err.msg, "meta.csv:5:") && strstr(err.msg, "'v'") && strstr(err.msg, "not finite"), "%s",
              err.msg);
    unsigned char bad[4];
    int n_bad = 0;
    CHECK(df_meta_encode(&enc, &d, NULL, 0, x, bad, &n_bad, &err) == 0 && n_bad == 1 && bad[3] == 1);
    for (int i = 0; i < 8; i++) CHECK(isfinite(x[i]));
    df_meta_encoder_free(&enc);
    df_dataset_free(&d);

    /* Copies holding a non-finite or null statistic are refused. */
    const char *bad_json[] = {
        "{\"format\":\"dermfuse-meta/1\",\"dim\":2,\"features\":[{\"column\":\"v\",\"kind\":\"numeric\",\"mean\":null,\"sd\":1}]}",
        "{\"format\":\"dermfuse-meta/1\",\"dim\":2,\"features\":[{\"column\":\"v\",\"kind\":\"numeric\",\"mean\":1e39,\"sd\":1}]}",
        "{\"format\":\"dermfuse-meta/1\",\"dim\":2,\"features\":[{\"column\":\"v\",\"kind\":\"numeric\",\"mean\":0,\"sd\":0}]}",
    };
    for (int i = 0; i < 3; i++) {
        int rc = df_meta_from_json(&back, bad_json[i], &err);
        CHECK_MSG(rc == -1 && strstr(err.msg, "byte"), "accepted %s", bad_json[i]);
        if (rc == 0) df_meta_encoder_free(&back);
    }
}

/* One category spelled two ways is an error naming both lines, in training and when encoding. */
static void test_spellings(void) {
    const char *cols[] = {"sex", "y"};
    static const char *const variants[] = {"Male", "male ", " male", "MALE"};
    for (int k = 0; k < 4; k++) {
        const char *vals[] = {"male", "0", "female", "1", variants[k], "0", "female", "1"};
        int labels[] = {0, 1, 0, 1};
        df_dataset d = make(4, 2, cols, vals, labels);
        const char *cat[] = {"sex"};
        df_meta_spec spec = {NULL, 0, cat, 1, "y", 0, 0};
        df_meta_encoder enc;
        df_error err = {""};
        CHECK_MSG(df_meta_fit(&enc, &spec, &d, NULL, 0, NULL, &err) == -1, "'%s' accepted", variants[k]);
        CHECK_MSG(strstr(err.msg, "meta.csv:") && strstr(err.msg, "line ") && strstr(err.msg, "'sex'") &&
                      strstr(err.msg, variants[k]) && strstr(err.msg, "'male'"), "%s", err.msg);
        /* Fitted without that row, meeting it when encoding is the same error. */
        int rows[] = {0, 1, 3};
        CHECK(df_meta_fit(&enc, &spec, &d, rows, 3, NULL, &err) == 0);
        float x[4 * 3];
        CHECK(df_meta_encode(&enc, &d, NULL, 0, x, NULL, NULL, &err) == -1);
        CHECK_MSG(strstr(err.msg, "meta.csv:4:") && strstr(err.msg, "'male'"), "%s", err.msg);
        df_meta_encoder_free(&enc);
        df_dataset_free(&d);
    }
}

/* Withholding fields (df_meta_mask_rows) gives, bit for bit, the encoding of the same rows with those fields
 * empty, on the masked rows only: each field alone, then all of them. */
static void test_missing_mask(void) {
    const char *num[] = {"age", "k"}, *cat[] = {"sex"};
    const int col_of[3] = {0, 2, 1}; /* feature -> column of VALS */
    df_meta_spec spec = {num, 2, cat, 1, "y", 0, 0};
    int train[] = {0, 1, 2, 3}, rows[] = {4, 1, 5};
    df_dataset d = make(6, 5, COLS, VALS, LABELS);
    df_meta_encoder enc;
    df_error err = {""};
    CHECK_MSG(df_meta_fit(&enc, &spec, &d, train, 4, NULL, &err) == 0, "%s", err.msg);
    float x[6 * 7], want[6 * 7];
    CHECK(df_meta_encode(&enc, &d, NULL, 0, x, NULL, NULL, &err) == 0);
    for (int k = 0; k <= 3; k++) { /* k == 3: all */
        unsigned char missing[3] = {k == 0 || k == 3, k == 1 || k == 3, k == 2 || k == 3};
        const char *vals[30];
        memcpy(vals, VALS, sizeof vals);
        for (int r = 0; r < 3; r++)
            for (int f = 0; f < 3; f++)
                if (missing[f]) vals[rows[r] * 5 + col_of[f]] = "";
        df_dataset e = make(6, 5, COLS, vals, LABELS);
        CHECK(df_meta_encode(&enc, &e, NULL, 0, want, NULL, NULL, &err) == 0);
        float y[6 * 7];
        memcpy(y, x, sizeof y);
        df_meta_mask_rows(&enc, k == 3 ? NULL : missing, y, rows, 3);
        CHECK_MSG(!memcmp(y, want, sizeof y), "withholding %s", k == 3 ? "all" : enc.features[k].column);
        df_dataset_free(&e);
    }
    df_meta_encoder_free(&enc);
    df_dataset_free(&d);
}

int main(void) {
    CHECK(df_meta_is_missing("") && df_meta_is_missing(" NA ") && df_meta_is_missing("NaN") &&
          df_meta_is_missing("na") && !df_meta_is_missing("0") && !df_meta_is_missing("nanx"));
    test_encoding();
    test_json_exact();
    test_bad_values_and_leaks();
    test_separators();
    test_number_syntax();
    test_bad_numbers();
    test_finite();
    test_spellings();
    test_missing_mask();
    return check_report();
}
