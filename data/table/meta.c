/* meta.c: fitting and applying the metadata encoder (see meta.h). Statistics are accumulated in double over
 * the training rows in index order, then stored as float: the stored floats are what every later encode
 * (and the JSON copy) uses, so training and prediction see identical numbers. */
#include "data/table/meta.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/table/csv.h"

static int find_col(const df_dataset *d, const char *name) {
    for (int c = 0; c < d->n_meta_cols; c++)
        if (!strcmp(d->meta_cols[c], name)) return c;
    return -1;
}

static const char *field(const df_dataset *d, int sample, int col) {
    return d->meta_values[(size_t)sample * (size_t)d->n_meta_cols + (size_t)col];
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

/* Compares two category values as a reader would: letter case (ASCII) and surrounding blanks ignored. */
static int loose_cmp(const char *a, const char *b) {
    while (isspace((unsigned char)*a)) a++;
    while (isspace((unsigned char)*b)) b++;
    size_t na = strlen(a), nb = strlen(b);
    while (na && isspace((unsigned char)a[na - 1])) na--;
    while (nb && isspace((unsigned char)b[nb - 1])) nb--;
    for (size_t i = 0; i < na && i < nb; i++) {
        int x = tolower((unsigned char)a[i]), y = tolower((unsigned char)b[i]);
        if (x != y) return x - y;
    }
    return (na > nb) - (na < nb);
}

/* By loose value, then by position: the first spelling met comes first. */
static int loose_named_cmp(const void *x, const void *y) {
    const df_named *a = x, *b = y;
    int c = loose_cmp(a->name, b->name);
    return c ? c : (a->pos > b->pos) - (a->pos < b->pos);
}

static int spelled_twice(const df_dataset *d, const char *column, const df_named *a, const df_named *b,
                         df_error *err) {
    const char *file = d->source ? d->source : "(dataset)";
    int la = d->source_rows ? d->source_rows[a->pos] : a->pos + 1;
    int lb = d->source_rows ? d->source_rows[b->pos] : b->pos + 1;
    return df_fail(err, "%s:%d: column '%s': '%s' is the category '%s' of line %d spelled differently (letter case "
                   "or blanks); write each category one way", file, lb, column, b->name, a->name, la);
}

/* The training vocabulary of categorical column `col`: the distinct present values of the counted rows,
 * sorted by strcmp. Values that are one category spelled two ways are an error. */
static int fit_categories(df_meta_feature *ft, const df_dataset *d, int col, const int *idx, int n,
                          const unsigned char *skip, df_error *err) {
    df_named *vals = df_malloc((size_t)(n ? n : 1) * sizeof *vals);
    int nv = 0;
    for (int i = 0; i < n; i++) {
        int s = idx ? idx[i] : i;
        const char *v = field(d, s, col);
        if (!skip[i] && !df_meta_is_missing(v)) vals[nv++] = (df_named){v, s};
    }
    qsort(vals, (size_t)nv, sizeof *vals, loose_named_cmp);
    for (int i = 1; i < nv; i++)
        if (!loose_cmp(vals[i].name, vals[i - 1].name) && strcmp(vals[i].name, vals[i - 1].name)) {
            int rc = spelled_twice(d, ft->column, &vals[i - 1], &vals[i], err);
            free(vals);
            return rc;
        }
    qsort(vals, (size_t)nv, sizeof *vals, df_named_cmp);
    ft->values = df_malloc((size_t)(nv ? nv : 1) * sizeof *ft->values);
    for (int i = 0; i < nv; i++)
        if (i == 0 || strcmp(vals[i].name, vals[i - 1].name)) ft->values[ft->n_values++] = df_strdup(vals[i].name);
    free(vals);
    return 0;
}

/* Mean and population sd of numeric column `col` over the counted rows; both must be finite as floats. */
static int fit_numeric(df_meta_feature *ft, const df_dataset *d, int col, const int *idx, int n,
                       const unsigned char *skip, df_error *err) {
    double sum = 0, ss = 0, x;
    long cnt = 0;
    for (int i = 0; i < n; i++)
        if (!skip[i] && df_meta_read_number(ft->column, field(d, idx ? idx[i] : i, col), &x) == 1) {
            sum += x;
            cnt++;
        }
    double mean = cnt ? sum / (double)cnt : 0.0;
    for (int i = 0; i < n; i++)
        if (!skip[i] && df_meta_read_number(ft->column, field(d, idx ? idx[i] : i, col), &x) == 1)
            ss += (x - mean) * (x - mean);
    double sd = cnt ? sqrt(ss / (double)cnt) : 0.0;
    ft->mean = (float)mean;
    ft->sd = (float)sd > 0.0f ? (float)sd : 1.0f;
    if (!isfinite(ft->mean) || !isfinite(ft->sd))
        return df_fail(err, "%s: column '%s': the training mean %g and sd %g are not finite as 32-bit floats; the "
                       "column's values are too large to standardise", d->source ? d->source : "(dataset)",
                       ft->column, mean, sd);
    return 0;
}

int df_meta_fit(df_meta_encoder *enc, const df_meta_spec *spec, const df_dataset *d, const int *idx, int n,
                int *n_bad, df_error *err) {
    memset(enc, 0, sizeof *enc);
    if (n_bad) *n_bad = 0;
    if (!idx) n = d->n_samples;
    if (check_columns(spec, d, err)) return -1;

    /* Which rows count: in skip mode a row with any refused numeric field is left out entirely. */
    unsigned char *skip = df_calloc((size_t)(n ? n : 1), 1);
    for (int f = 0; f < spec->n_numeric; f++) {
        int col = find_col(d, spec->numeric[f]);
        for (int i = 0; i < n; i++) {
            int s = idx ? idx[i] : i;
            const char *v = field(d, s, col);
            double x;
            if (df_meta_read_number(spec->numeric[f], v, &x) >= 0) continue;
            if (!spec->skip_bad_rows) {
                free(skip);
                return df_meta_bad_number(d, s, spec->numeric[f], v, err);
            }
            if (!skip[i] && n_bad) (*n_bad)++;
            skip[i] = 1;
        }
    }

    int rc = 0;
    enc->n_features = spec->n_numeric + spec->n_categorical;
    enc->features = df_calloc((size_t)(enc->n_features ? enc->n_features : 1), sizeof *enc->features);
    for (int f = 0; f < enc->n_features && !rc; f++) {
        df_meta_feature *ft = &enc->features[f];
        int numeric = f < spec->n_numeric;
        ft->column = df_strdup(numeric ? spec->numeric[f] : spec->categorical[f - spec->n_numeric]);
        ft->kind = numeric ? DF_META_NUMERIC : DF_META_CATEGORICAL;
        int col = find_col(d, ft->column);
        rc = numeric ? fit_numeric(ft, d, col, idx, n, skip, err) : fit_categories(ft, d, col, idx, n, skip, err);
    }
    free(skip);
    if (rc) {
        df_meta_encoder_free(enc);
        return -1;
    }
    df_meta_finish_(enc);
    return 0;
}

/* A value that is not in the vocabulary but is one of its values spelled differently, or NULL. */
static const char *respelled(const df_meta_feature *ft, const char *v) {
    for (int k = 0; k < ft->n_values; k++)
        if (!loose_cmp(ft->values[k], v)) return ft->values[k];
    return NULL;
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
                int got = df_meta_read_number(ft->column, v, &x);
                float z = got == 1 ? (float)((x - (double)ft->mean) / (double)ft->sd) : 0.0f;
                if (got == 1 && !isfinite(z)) { /* a tiny training sd and a far-off value */
                    if (!bad) {
                        free(cols);
                        return df_fail(err, "%s:%d: column '%s': %s standardises to %g with the training mean %g "
                                       "and sd %g, which is not finite as a 32-bit float",
                                       d->source ? d->source : "(dataset)", d->source_rows ? d->source_rows[s] : s + 1,
                                       ft->column, v, (x - (double)ft->mean) / (double)ft->sd, (double)ft->mean,
                                       (double)ft->sd);
                    }
                    got = -1;
                }
                if (got == 0) {
                    df_meta_encode_missing(enc, f, row);
                } else if (got == 1) {
                    row[ft->offset] = z;
                } else if (bad) {
                    if (!bad[i] && n_bad) (*n_bad)++;
                    bad[i] = 1;
                    df_meta_encode_missing(enc, f, row);
                } else {
                    free(cols);
                    return df_meta_bad_number(d, s, ft->column, v, err);
                }
            } else {
                if (df_meta_is_missing(v)) {
                    df_meta_encode_missing(enc, f, row);
                    continue;
                }
                int slot = ft->n_values; /* never seen in training: <unknown> */
                char **hit = bsearch(&v, ft->values, (size_t)ft->n_values, sizeof *ft->values, cmp_str);
                const char *near = hit ? NULL : respelled(ft, v);
                if (near) {
                    free(cols);
                    return df_fail(err, "%s:%d: column '%s': '%s' is the training category '%s' spelled "
                                   "differently (letter case or blanks); write each category one way",
                                   d->source ? d->source : "(dataset)",
                                   d->source_rows ? d->source_rows[s] : s + 1, ft->column, v, near);
                }
                if (hit) slot = (int)(hit - ft->values);
                row[ft->offset + slot] = 1.0f;
            }
        }
    }
    free(cols);
    return 0;
}
