/* meta.c: fitting and applying the metadata encoder (see meta.h). Statistics are accumulated in double over
 * the training rows in index order, then stored as float: the stored floats are what every later encode
 * (and the JSON copy) uses, so training and prediction see identical numbers. */
#include "data/table/meta.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int df_meta_is_missing(const char *s) {
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) n--;
    if (n == 0) return 1;
    return (n == 2 && !strncasecmp(s, "na", 2)) || (n == 3 && !strncasecmp(s, "nan", 3));
}

int df_meta_parse_number(const char *s, double *x) {
    char *end;
    while (isspace((unsigned char)*s)) s++;
    if (!*s) return 0;
    double v = strtod(s, &end);
    if (end == s) return 0;
    while (isspace((unsigned char)*end)) end++;
    if (*end || !isfinite(v)) return 0;
    *x = v;
    return 1;
}

static int find_col(const df_dataset *d, const char *name) {
    for (int c = 0; c < d->n_meta_cols; c++)
        if (!strcmp(d->meta_cols[c], name)) return c;
    return -1;
}

static const char *field(const df_dataset *d, int sample, int col) {
    return d->meta_values[(size_t)sample * (size_t)d->n_meta_cols + (size_t)col];
}

static int bad_number(const df_dataset *d, int sample, const char *column, const char *value, df_error *err) {
    return df_fail(err, "%s:%d: column '%s': '%s' is not a number (expected a number, or empty/NA for missing)",
                   d->source ? d->source : "(dataset)", d->source_rows ? d->source_rows[sample] : sample + 1,
                   column, value);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

void df_meta_finish_(df_meta_encoder *enc) {
    int dim = 0;
    for (int f = 0; f < enc->n_features; f++) {
        df_meta_feature *ft = &enc->features[f];
        ft->offset = dim;
        dim += ft->kind == DF_META_NUMERIC ? 2 : ft->n_values + 1;
    }
    enc->dim = dim;
    enc->names = df_calloc((size_t)(dim ? dim : 1), sizeof *enc->names);
    for (int f = 0; f < enc->n_features; f++) {
        df_meta_feature *ft = &enc->features[f];
        size_t cl = strlen(ft->column);
        if (ft->kind == DF_META_NUMERIC) {
            enc->names[ft->offset] = df_strdup(ft->column);
            enc->names[ft->offset + 1] = df_malloc(cl + 9);
            snprintf(enc->names[ft->offset + 1], cl + 9, "%s_missing", ft->column);
        } else {
            for (int v = 0; v <= ft->n_values; v++) {
                const char *val = v < ft->n_values ? ft->values[v] : "<unknown>";
                size_t n = cl + strlen(val) + 2;
                enc->names[ft->offset + v] = df_malloc(n);
                snprintf(enc->names[ft->offset + v], n, "%s=%s", ft->column, val);
            }
        }
    }
}

void df_meta_encoder_free(df_meta_encoder *enc) {
    if (!enc) return;
    for (int f = 0; f < enc->n_features; f++) {
        free(enc->features[f].column);
        for (int v = 0; v < enc->features[f].n_values; v++) free(enc->features[f].values[v]);
        free(enc->features[f].values);
    }
    free(enc->features);
    if (enc->names)
        for (int j = 0; j < enc->dim; j++) free(enc->names[j]);
    free(enc->names);
    memset(enc, 0, sizeof *enc);
}

static int check_columns(const df_meta_spec *spec, const df_dataset *d, df_error *err) {
    int total = spec->n_numeric + spec->n_categorical;
    for (int i = 0; i < total; i++) {
        const char *c = i < spec->n_numeric ? spec->numeric[i] : spec->categorical[i - spec->n_numeric];
        if (find_col(d, c) < 0)
            return df_fail(err, "%s: metadata feature column '%s' is not in the data",
                           d->source ? d->source : "(dataset)", c);
        for (int j = 0; j < i; j++) {
            const char *o = j < spec->n_numeric ? spec->numeric[j] : spec->categorical[j - spec->n_numeric];
            if (!strcmp(c, o)) return df_fail(err, "metadata feature column '%s' is listed twice", c);
        }
        int leaky = df_meta_is_leaky(c) || (spec->label_col && !strcmp(c, spec->label_col));
        if (leaky && !spec->allow_leaky)
            return df_fail(err,
                           "metadata feature column '%s' is determined by the diagnosis and would leak the label; "
                           "remove it from the features (or set allow_leaky to study the leak on purpose)", c);
    }
    return 0;
}

int df_meta_fit(df_meta_encoder *enc, const df_meta_spec *spec, const df_dataset *d, const int *idx, int n,
                int *n_bad, df_error *err) {
    memset(enc, 0, sizeof *enc);
    if (n_bad) *n_bad = 0;
    if (!idx) n = d->n_samples;
    if (check_columns(spec, d, err)) return -1;

    /* Which rows count: in skip mode a row with any unparsable numeric field is left out entirely. */
    unsigned char *skip = df_calloc((size_t)(n ? n : 1), 1);
    for (int f = 0; f < spec->n_numeric; f++) {
        int col = find_col(d, spec->numeric[f]);
        for (int i = 0; i < n; i++) {
            int s = idx ? idx[i] : i;
            const char *v = field(d, s, col);
            double x;
            if (df_meta_is_missing(v) || df_meta_parse_number(v, &x)) continue;
            if (!spec->skip_bad_rows) {
                free(skip);
                return bad_number(d, s, spec->numeric[f], v, err);
            }
            if (!skip[i] && n_bad) (*n_bad)++;
            skip[i] = 1;
        }
    }

    enc->n_features = spec->n_numeric + spec->n_categorical;
    enc->features = df_calloc((size_t)(enc->n_features ? enc->n_features : 1), sizeof *enc->features);
    for (int f = 0; f < spec->n_numeric; f++) {
        df_meta_feature *ft = &enc->features[f];
        ft->column = df_strdup(spec->numeric[f]);
        ft->kind = DF_META_NUMERIC;
        int col = find_col(d, ft->column);
        double sum = 0, ss = 0, x;
        long cnt = 0;
        for (int i = 0; i < n; i++)
            if (!skip[i] && df_meta_parse_number(field(d, idx ? idx[i] : i, col), &x)) {
                sum += x;
                cnt++;
            }
        double mean = cnt ? sum / (double)cnt : 0.0;
        for (int i = 0; i < n; i++)
            if (!skip[i] && df_meta_parse_number(field(d, idx ? idx[i] : i, col), &x)) ss += (x - mean) * (x - mean);
        double sd = cnt ? sqrt(ss / (double)cnt) : 0.0;
        ft->mean = (float)mean;
        ft->sd = (float)sd > 0.0f ? (float)sd : 1.0f;
    }
    for (int f = 0; f < spec->n_categorical; f++) {
        df_meta_feature *ft = &enc->features[spec->n_numeric + f];
        ft->column = df_strdup(spec->categorical[f]);
        ft->kind = DF_META_CATEGORICAL;
        int col = find_col(d, ft->column);
        const char **vals = df_malloc((size_t)(n ? n : 1) * sizeof *vals);
        int nv = 0;
        for (int i = 0; i < n; i++) {
            const char *v = field(d, idx ? idx[i] : i, col);
            if (!skip[i] && !df_meta_is_missing(v)) vals[nv++] = v;
        }
        qsort(vals, (size_t)nv, sizeof *vals, cmp_str);
        ft->values = df_malloc((size_t)(nv ? nv : 1) * sizeof *ft->values);
        for (int i = 0; i < nv; i++)
            if (i == 0 || strcmp(vals[i], vals[i - 1])) ft->values[ft->n_values++] = df_strdup(vals[i]);
        free(vals);
    }
    free(skip);
    df_meta_finish_(enc);
    return 0;
}

int df_meta_encode(const df_meta_encoder *enc, const df_dataset *d, const int *idx, int n, float *out,
                   unsigned char *bad, int *n_bad, df_error *err) {
    if (!idx) n = d->n_samples;
    if (n_bad) *n_bad = 0;
    int *cols = df_malloc((size_t)(enc->n_features ? enc->n_features : 1) * sizeof *cols);
    for (int f = 0; f < enc->n_features; f++) {
        cols[f] = find_col(d, enc->features[f].column);
        if (cols[f] < 0) {
            free(cols);
            return df_fail(err, "%s: metadata feature column '%s' (used in training) is not in the data",
                           d->source ? d->source : "(dataset)", enc->features[f].column);
        }
    }
    for (int i = 0; i < n; i++) {
        int s = idx ? idx[i] : i;
        float *row = out + (size_t)i * (size_t)enc->dim;
        memset(row, 0, (size_t)enc->dim * sizeof *row);
        if (bad) bad[i] = 0;
        for (int f = 0; f < enc->n_features; f++) {
            const df_meta_feature *ft = &enc->features[f];
            const char *v = field(d, s, cols[f]);
            if (ft->kind == DF_META_NUMERIC) {
                double x;
                if (df_meta_is_missing(v)) {
                    row[ft->offset + 1] = 1.0f;
                } else if (df_meta_parse_number(v, &x)) {
                    row[ft->offset] = (float)((x - (double)ft->mean) / (double)ft->sd);
                } else if (bad) {
                    if (!bad[i] && n_bad) (*n_bad)++;
                    bad[i] = 1;
                    row[ft->offset + 1] = 1.0f;
                } else {
                    free(cols);
                    return bad_number(d, s, ft->column, v, err);
                }
            } else {
                int slot = ft->n_values; /* unknown or missing */
                if (!df_meta_is_missing(v)) {
                    char **hit = bsearch(&v, ft->values, (size_t)ft->n_values, sizeof *ft->values, cmp_str);
                    if (hit) slot = (int)(hit - ft->values);
                }
                row[ft->offset + slot] = 1.0f;
            }
        }
    }
    free(cols);
    return 0;
}
