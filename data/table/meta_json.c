/* meta_json.c: the metadata encoder as JSON and back (see meta.h), through core/io/json.h. The format is
 *   {"format":"dermfuse-meta/1","dim":7,"features":[
 *     {"column":"age_approx","kind":"numeric","mean":51.9000015,"sd":16.2000008},
 *     {"column":"sex","kind":"categorical","values":["female","male"]}]}
 * written without blanks. Contract: the text is stored in checkpoints, so its bytes never change: keys in
 * this order, floats with %.9g (read back with strtof from the text itself, which restores the same float;
 * never inf or nan, which the fit refuses and the writer asserts),
 * every control character in a string as \u00XX (the writer's u_escapes). The reader takes any JSON the
 * strict core parser accepts (any spacing and key order) but checks the content strictly: unknown or repeated
 * keys, a missing field, a repeated column, unsorted or repeated category values or a dim that disagrees are
 * errors naming the byte offset. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/io/json.h"
#include "data/table/meta.h"

#define FORMAT_TAG "dermfuse-meta/1"

/* ---- writing ---- */

char *df_meta_to_json(const df_meta_encoder *enc) {
    df_json_writer w;
    df_json_writer_init(&w);
    w.u_escapes = 1;
    df_json_object_begin(&w);
    df_json_key(&w, "format");
    df_json_string(&w, FORMAT_TAG);
    df_json_key(&w, "dim");
    df_json_int(&w, enc->dim);
    df_json_key(&w, "features");
    df_json_array_begin(&w);
    for (int f = 0; f < enc->n_features; f++) {
        const df_meta_feature *ft = &enc->features[f];
        df_json_object_begin(&w);
        df_json_key(&w, "column");
        df_json_string(&w, ft->column);
        df_json_key(&w, "kind");
        if (ft->kind == DF_META_NUMERIC) {
            /* df_meta_fit and df_meta_from_json both refuse non-finite statistics, so the text never holds a
             * null (or worse) where a number belongs and always reads back. */
            DF_ASSERT(isfinite(ft->mean) && isfinite(ft->sd) && ft->sd > 0.0f);
            df_json_string(&w, "numeric");
            df_json_key(&w, "mean");
            df_json_number(&w, ft->mean);
            df_json_key(&w, "sd");
            df_json_number(&w, ft->sd);
        } else {
            df_json_string(&w, "categorical");
            df_json_key(&w, "values");
            df_json_array_begin(&w);
            for (int v = 0; v < ft->n_values; v++) df_json_string(&w, ft->values[v]);
            df_json_array_end(&w);
        }
        df_json_object_end(&w);
    }
    df_json_array_end(&w);
    df_json_object_end(&w);
    return w.text; /* owned by the caller now */
}

/* ---- reading ---- */

static int fail_at(df_error *err, const df_json *v, const char *what) {
    return df_fail(err, "metadata encoder JSON, byte %zu: %s", v->offset, what);
}

/* A copy of a string value that holds no NUL. */
static int read_string(const df_json *v, char **out, df_error *err) {
    if (v->type != DF_JSON_STRING) return fail_at(err, v, "expected a string");
    if (strlen(v->str) != v->len) return fail_at(err, v, "a string holds a NUL character");
    *out = df_strdup(v->str);
    return 0;
}

/* A finite float, read from the number's own text so that strtof restores exactly the float written. */
static int read_float(const char *json, const df_json *v, float *out, df_error *err) {
    float x = v->type == DF_JSON_NUMBER ? strtof(json + v->offset, NULL) : NAN;
    if (!isfinite(x)) return fail_at(err, v, "expected a finite number");
    *out = x;
    return 0;
}

static int read_values(const df_json *v, df_meta_feature *ft, df_error *err) {
    if (v->type != DF_JSON_ARRAY) return fail_at(err, v, "expected an array of category values");
    ft->values = df_calloc((size_t)(v->count ? v->count : 1), sizeof *ft->values);
    for (int i = 0; i < v->count; i++) {
        if (read_string(&v->items[i], &ft->values[i], err)) return -1;
        ft->n_values++;
        if (i && strcmp(ft->values[i - 1], ft->values[i]) >= 0)
            return fail_at(err, &v->items[i], "category values must be sorted and distinct");
    }
    return 0;
}

static int read_feature(const char *json, const df_json *v, df_meta_feature *ft, df_error *err) {
    if (v->type != DF_JSON_OBJECT) return fail_at(err, v, "expected a feature object");
    const df_json *kind = NULL, *mean = NULL, *sd = NULL, *values = NULL;
    for (int i = 0; i < v->count; i++) {
        const char *k = v->keys[i];
        const df_json *x = &v->items[i];
        if (!strcmp(k, "column")) {
            if (read_string(x, &ft->column, err)) return -1;
        } else if (!strcmp(k, "kind")) {
            kind = x;
        } else if (!strcmp(k, "mean")) {
            mean = x;
        } else if (!strcmp(k, "sd")) {
            sd = x;
        } else if (!strcmp(k, "values")) {
            values = x;
        } else {
            return fail_at(err, x, "unknown key in a feature");
        }
    }
    if (!ft->column || !kind || kind->type != DF_JSON_STRING)
        return fail_at(err, v, "a feature needs \"column\" and \"kind\" strings");
    if (!strcmp(kind->str, "numeric")) {
        ft->kind = DF_META_NUMERIC;
        if (!mean || !sd || values) return fail_at(err, v, "a numeric feature has \"mean\" and \"sd\" only");
        if (read_float(json, mean, &ft->mean, err) || read_float(json, sd, &ft->sd, err)) return -1;
        if (!(ft->sd > 0.0f)) return fail_at(err, sd, "a numeric feature's sd must be positive");
        return 0;
    }
    if (!strcmp(kind->str, "categorical")) {
        ft->kind = DF_META_CATEGORICAL;
        if (!values || mean || sd) return fail_at(err, v, "a categorical feature has \"values\" only");
        return read_values(values, ft, err);
    }
    return fail_at(err, kind, "feature kind must be \"numeric\" or \"categorical\"");
}

static int read_encoder(const char *json, const df_json *root, df_meta_encoder *enc, int *dim, df_error *err) {
    if (root->type != DF_JSON_OBJECT) return fail_at(err, root, "expected the encoder object");
    const df_json *format = df_json_get(root, "format"), *d = df_json_get(root, "dim"),
                  *features = df_json_get(root, "features");
    for (int i = 0; i < root->count; i++)
        if (strcmp(root->keys[i], "format") && strcmp(root->keys[i], "dim") && strcmp(root->keys[i], "features"))
            return fail_at(err, &root->items[i], "unknown key");
    if (!format || !d || !features)
        return fail_at(err, root, "the encoder needs \"format\", \"dim\" and \"features\"");
    if (format->type != DF_JSON_STRING || strcmp(format->str, FORMAT_TAG))
        return fail_at(err, format, "format is not \"" FORMAT_TAG "\"");
    if (d->type != DF_JSON_NUMBER || !d->is_integer || d->integer < 0 || d->integer > 1000000000)
        return fail_at(err, d, "expected a non-negative integer");
    *dim = (int)d->integer;
    if (features->type != DF_JSON_ARRAY) return fail_at(err, features, "expected an array of features");
    enc->features = df_calloc((size_t)(features->count ? features->count : 1), sizeof *enc->features);
    for (int i = 0; i < features->count; i++) {
        enc->n_features++;
        if (read_feature(json, &features->items[i], &enc->features[i], err)) return -1;
    }
    return 0;
}

int df_meta_from_json(df_meta_encoder *enc, const char *json, df_error *err) {
    memset(enc, 0, sizeof *enc);
    df_json_doc *doc;
    if (df_json_parse(json, strlen(json), &doc, err)) return df_fail_prefix(err, "metadata encoder JSON");
    int dim = -1;
    int rc = read_encoder(json, df_json_root(doc), enc, &dim, err);
    df_json_free(doc);
    if (rc) {
        df_meta_encoder_free(enc);
        return -1;
    }
    for (int f = 0; f < enc->n_features; f++)
        for (int g = 0; g < f; g++)
            if (!strcmp(enc->features[f].column, enc->features[g].column)) {
                rc = df_fail(err, "metadata encoder JSON: column '%s' appears twice", enc->features[f].column);
                df_meta_encoder_free(enc);
                return rc;
            }
    df_meta_finish_(enc);
    if (enc->dim != dim) {
        int got = enc->dim;
        df_meta_encoder_free(enc);
        return df_fail(err, "metadata encoder JSON: \"dim\" is %d but the features encode to %d", dim, got);
    }
    return 0;
}
