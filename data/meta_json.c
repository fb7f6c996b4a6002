/* meta_json.c: the metadata encoder as JSON and back (see meta.h). The format is
 *   {"format":"dermfuse-meta/1","dim":7,"features":[
 *     {"column":"age_approx","kind":"numeric","mean":51.9000015,"sd":16.2000008},
 *     {"column":"sex","kind":"categorical","values":["female","male"]}]}
 * written without blanks. Floats are printed with %.9g and read back with strtof, which restores the same
 * float. The reader accepts any JSON spacing and key order but checks the content strictly: unknown keys, a
 * missing field, a repeated column, unsorted or repeated category values or a dim that disagrees are errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/meta.h"

#define FORMAT_TAG "dermfuse-meta/1"

/* ---- writing ---- */

typedef struct {
    char *s;
    size_t len, cap;
} sbuf;

static void put(sbuf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        while (b->len + n + 1 > b->cap) b->cap = b->cap ? b->cap * 2 : 256;
        b->s = df_realloc(b->s, b->cap);
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}
static void puts_(sbuf *b, const char *s) { put(b, s, strlen(s)); }

static void put_string(sbuf *b, const char *s) {
    puts_(b, "\"");
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        char esc[8];
        if (*c == '"' || *c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*c;
            put(b, esc, 2);
        } else if (*c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", *c);
            puts_(b, esc);
        } else {
            put(b, (const char *)c, 1);
        }
    }
    puts_(b, "\"");
}

static void put_float(sbuf *b, float x) {
    char num[32];
    snprintf(num, sizeof num, "%.9g", (double)x);
    puts_(b, num);
}

char *df_meta_to_json(const df_meta_encoder *enc) {
    sbuf b = {0};
    char num[32];
    puts_(&b, "{\"format\":\"" FORMAT_TAG "\",\"dim\":");
    snprintf(num, sizeof num, "%d", enc->dim);
    puts_(&b, num);
    puts_(&b, ",\"features\":[");
    for (int f = 0; f < enc->n_features; f++) {
        const df_meta_feature *ft = &enc->features[f];
        puts_(&b, f ? ",{\"column\":" : "{\"column\":");
        put_string(&b, ft->column);
        if (ft->kind == DF_META_NUMERIC) {
            puts_(&b, ",\"kind\":\"numeric\",\"mean\":");
            put_float(&b, ft->mean);
            puts_(&b, ",\"sd\":");
            put_float(&b, ft->sd);
        } else {
            puts_(&b, ",\"kind\":\"categorical\",\"values\":[");
            for (int v = 0; v < ft->n_values; v++) {
                if (v) puts_(&b, ",");
                put_string(&b, ft->values[v]);
            }
            puts_(&b, "]");
        }
        puts_(&b, "}");
    }
    puts_(&b, "]}");
    return b.s;
}

/* ---- reading ---- */

typedef struct {
    const char *s;
    size_t p;
    df_error *err;
} cursor;

static int fail_at(cursor *c, const char *what) {
    return df_fail(c->err, "metadata encoder JSON, byte %zu: %s", c->p, what);
}

static void ws(cursor *c) {
    while (c->s[c->p] == ' ' || c->s[c->p] == '\t' || c->s[c->p] == '\n' || c->s[c->p] == '\r') c->p++;
}

static int expect(cursor *c, char ch) {
    ws(c);
    if (c->s[c->p] != ch) {
        char what[40];
        snprintf(what, sizeof what, "expected '%c'", ch);
        return fail_at(c, what);
    }
    c->p++;
    return 0;
}

/* After an element: 1 for ',' (another follows), 0 for the closing bracket, -1 on error. */
static int more(cursor *c, char close) {
    ws(c);
    if (c->s[c->p] == ',') {
        c->p++;
        return 1;
    }
    if (c->s[c->p] == close) {
        c->p++;
        return 0;
    }
    char what[48];
    snprintf(what, sizeof what, "expected ',' or '%c'", close);
    return fail_at(c, what);
}

static int hex4(const char *s, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char h = s[i];
        v <<= 4;
        if (h >= '0' && h <= '9') v |= (unsigned)(h - '0');
        else if (h >= 'a' && h <= 'f') v |= (unsigned)(h - 'a' + 10);
        else if (h >= 'A' && h <= 'F') v |= (unsigned)(h - 'A' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}

static void put_utf8(sbuf *b, unsigned cp) {
    char u[4];
    size_t n;
    if (cp < 0x80) u[0] = (char)cp, n = 1;
    else if (cp < 0x800) u[0] = (char)(0xC0 | (cp >> 6)), u[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    else if (cp < 0x10000)
        u[0] = (char)(0xE0 | (cp >> 12)), u[1] = (char)(0x80 | ((cp >> 6) & 0x3F)),
        u[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
    else
        u[0] = (char)(0xF0 | (cp >> 18)), u[1] = (char)(0x80 | ((cp >> 12) & 0x3F)),
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
    put(b, u, n);
}

/* Reads a JSON string into a new allocation. */
static int read_string(cursor *c, char **out) {
    ws(c);
    if (c->s[c->p] != '"') return fail_at(c, "expected a string");
    c->p++;
    sbuf b = {0};
    puts_(&b, "");
    for (;;) {
        unsigned char ch = (unsigned char)c->s[c->p];
        if (ch == '\0') {
            free(b.s);
            return fail_at(c, "unterminated string");
        }
        if (ch < 0x20) {
            free(b.s);
            return fail_at(c, "control character in a string");
        }
        c->p++;
        if (ch == '"') break;
        if (ch != '\\') {
            put(&b, (const char *)&ch, 1);
            continue;
        }
        char e = c->s[c->p++];
        const char *simple = strchr("\"\\/bfnrt", e);
        if (e && simple) {
            const char *map = "\"\\/\b\f\n\r\t";
            put(&b, map + (simple - "\"\\/bfnrt"), 1);
        } else if (e == 'u') {
            unsigned cp, lo;
            if (hex4(c->s + c->p, &cp)) {
                free(b.s);
                return fail_at(c, "bad \\u escape");
            }
            c->p += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && c->s[c->p] == '\\' && c->s[c->p + 1] == 'u' &&
                !hex4(c->s + c->p + 2, &lo) && lo >= 0xDC00 && lo < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                c->p += 6;
            }
            put_utf8(&b, cp);
        } else {
            free(b.s);
            return fail_at(c, "bad escape in a string");
        }
    }
    *out = b.s;
    return 0;
}

static int read_float(cursor *c, float *out) {
    ws(c);
    char *end;
    float v = strtof(c->s + c->p, &end);
    if (end == c->s + c->p || !isfinite(v)) return fail_at(c, "expected a finite number");
    c->p = (size_t)(end - c->s);
    *out = v;
    return 0;
}

static int read_int(cursor *c, int *out) {
    ws(c);
    char *end;
    long v = strtol(c->s + c->p, &end, 10);
    if (end == c->s + c->p || v < 0 || v > 1000000000L) return fail_at(c, "expected a non-negative integer");
    c->p = (size_t)(end - c->s);
    *out = (int)v;
    return 0;
}

static int read_values(cursor *c, df_meta_feature *ft) {
    if (expect(c, '[')) return -1;
    int cap = 0;
    ws(c);
    if (c->s[c->p] == ']') {
        c->p++;
        return 0;
    }
    for (;;) {
        char *v;
        size_t at = c->p;
        if (read_string(c, &v)) return -1;
        if (ft->n_values == cap) {
            cap = cap ? cap * 2 : 8;
            ft->values = df_realloc(ft->values, (size_t)cap * sizeof *ft->values);
        }
        ft->values[ft->n_values++] = v;
        if (ft->n_values > 1 && strcmp(ft->values[ft->n_values - 2], v) >= 0) {
            c->p = at;
            return fail_at(c, "category values must be sorted and distinct");
        }
        int m = more(c, ']');
        if (m < 0) return -1;
        if (!m) return 0;
    }
}

static int read_feature(cursor *c, df_meta_feature *ft) {
    char *kind = NULL;
    int have_mean = 0, have_sd = 0, have_values = 0;
    size_t start = c->p;
    if (expect(c, '{')) return -1;
    for (;;) {
        char *key;
        if (read_string(c, &key)) goto fail;
        int rc = expect(c, ':');
        if (!rc) {
            if (!strcmp(key, "column") && !ft->column) rc = read_string(c, &ft->column);
            else if (!strcmp(key, "kind") && !kind) rc = read_string(c, &kind);
            else if (!strcmp(key, "mean") && !have_mean) rc = read_float(c, &ft->mean), have_mean = 1;
            else if (!strcmp(key, "sd") && !have_sd) rc = read_float(c, &ft->sd), have_sd = 1;
            else if (!strcmp(key, "values") && !have_values) rc = read_values(c, ft), have_values = 1;
            else rc = fail_at(c, "unknown or repeated key in a feature");
        }
        free(key);
        if (rc) goto fail;
        int m = more(c, '}');
        if (m < 0) goto fail;
        if (!m) break;
    }
    size_t end = c->p;
    c->p = start;
    if (!ft->column || !kind) {
        fail_at(c, "a feature needs \"column\" and \"kind\"");
    } else if (!strcmp(kind, "numeric")) {
        ft->kind = DF_META_NUMERIC;
        if (!have_mean || !have_sd || have_values) fail_at(c, "a numeric feature has \"mean\" and \"sd\" only");
        else if (!(ft->sd > 0.0f)) fail_at(c, "a numeric feature's sd must be positive");
        else goto ok;
    } else if (!strcmp(kind, "categorical")) {
        ft->kind = DF_META_CATEGORICAL;
        if (!have_values || have_mean || have_sd) fail_at(c, "a categorical feature has \"values\" only");
        else goto ok;
    } else {
        fail_at(c, "feature kind must be \"numeric\" or \"categorical\"");
    }
fail:
    free(kind);
    return -1;
ok:
    free(kind);
    c->p = end;
    return 0;
}

static int read_encoder(cursor *c, df_meta_encoder *enc, int *dim) {
    char *format = NULL;
    int have_dim = 0, have_features = 0, cap = 0;
    if (expect(c, '{')) return -1;
    for (;;) {
        char *key;
        if (read_string(c, &key)) goto fail;
        int rc = expect(c, ':');
        if (!rc && !strcmp(key, "format") && !format) {
            rc = read_string(c, &format);
            if (!rc && strcmp(format, FORMAT_TAG)) rc = fail_at(c, "format is not \"" FORMAT_TAG "\"");
        } else if (!rc && !strcmp(key, "dim") && !have_dim) {
            rc = read_int(c, dim);
            have_dim = 1;
        } else if (!rc && !strcmp(key, "features") && !have_features) {
            have_features = 1;
            rc = expect(c, '[');
            ws(c);
            if (!rc && c->s[c->p] == ']') {
                c->p++;
            } else {
                while (!rc) {
                    if (enc->n_features == cap) {
                        cap = cap ? cap * 2 : 8;
                        enc->features = df_realloc(enc->features, (size_t)cap * sizeof *enc->features);
                    }
                    df_meta_feature *ft = &enc->features[enc->n_features++];
                    memset(ft, 0, sizeof *ft);
                    rc = read_feature(c, ft);
                    if (!rc) {
                        int m = more(c, ']');
                        if (m <= 0) rc = m;
                        if (m == 0) break;
                    }
                }
            }
        } else if (!rc) {
            rc = fail_at(c, "unknown or repeated key");
        }
        free(key);
        if (rc) goto fail;
        int m = more(c, '}');
        if (m < 0) goto fail;
        if (!m) break;
    }
    if (!format || !have_dim || !have_features) {
        fail_at(c, "the encoder needs \"format\", \"dim\" and \"features\"");
        goto fail;
    }
    free(format);
    return 0;
fail:
    free(format);
    return -1;
}

int df_meta_from_json(df_meta_encoder *enc, const char *json, df_error *err) {
    memset(enc, 0, sizeof *enc);
    cursor c = {json, 0, err};
    int dim = -1;
    if (read_encoder(&c, enc, &dim)) {
        df_meta_encoder_free(enc);
        return -1;
    }
    ws(&c);
    if (json[c.p]) {
        df_meta_encoder_free(enc);
        return fail_at(&c, "text after the encoder object");
    }
    for (int f = 0; f < enc->n_features; f++)
        for (int g = 0; g < f; g++)
            if (!strcmp(enc->features[f].column, enc->features[g].column)) {
                int rc = df_fail(err, "metadata encoder JSON: column '%s' appears twice", enc->features[f].column);
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
