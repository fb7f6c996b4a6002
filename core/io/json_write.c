/* json_write.c: the compact JSON writer, and the UTF-8 check both halves use (see json.h).
 *
 * Contract: the writer places commas itself, aborts on misuse (a value where a key is due, unbalanced ends),
 * writes numbers with %.9g / %.17g and non-finite ones as null, escapes strings so the output is always
 * valid JSON (bytes that are not UTF-8 become U+FFFD) and never fails. */
#include "core/io/json_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- UTF-8 ---- */

/* Length of the valid UTF-8 sequence at s[0..n), or 0 if it is invalid. */
size_t df_json_utf8_seq_(const unsigned char *s, size_t n) {
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    size_t k;
    uint32_t cp, min;
    if ((c & 0xe0) == 0xc0) {
        k = 2, cp = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        k = 3, cp = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        k = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < k) return 0;
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return k;
}

int df_json_utf8_valid(const char *s, size_t n, size_t *bad) {
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t k = df_json_utf8_seq_(u + i, n - i);
        if (!k) {
            if (bad) *bad = i;
            return 0;
        }
        i += k;
    }
    return 1;
}
/* ---- writer ---- */

void df_json_writer_init(df_json_writer *w) {
    memset(w, 0, sizeof *w);
    w->cap = 256;
    w->text = df_malloc(w->cap);
    w->text[0] = '\0';
}

void df_json_writer_free(df_json_writer *w) {
    free(w->text);
    memset(w, 0, sizeof *w);
}

void df_json_writer_reset(df_json_writer *w) {
    char *text = w->text;
    size_t cap = w->cap;
    int u_escapes = w->u_escapes;
    memset(w, 0, sizeof *w);
    w->text = text;
    w->cap = cap;
    w->u_escapes = u_escapes;
    w->text[0] = '\0';
}

void df_json_append_raw(df_json_writer *w, const char *s, size_t n) {
    if (w->len + n + 1 > w->cap) {
        while (w->len + n + 1 > w->cap) w->cap *= 2;
        w->text = df_realloc(w->text, w->cap);
    }
    memcpy(w->text + w->len, s, n);
    w->len += n;
    w->text[w->len] = '\0';
}

static void put(df_json_writer *w, const char *s) { df_json_append_raw(w, s, strlen(s)); }

/* Comma and placement rules before any value. */
static void before_value(df_json_writer *w) {
    DF_ASSERT(!w->done);
    if (w->depth == 0) return;
    if (w->container[w->depth - 1] == '{') {
        DF_ASSERT(w->key_pending); /* an object member needs df_json_key first */
        w->key_pending = 0;
        return;
    }
    if (w->has_items[w->depth - 1]) put(w, ",");
    w->has_items[w->depth - 1] = 1;
}

static void after_value(df_json_writer *w) {
    if (w->depth == 0) w->done = 1;
}

static void writer_open(df_json_writer *w, char c) {
    before_value(w);
    DF_ASSERT(w->depth < DF_JSON_MAX_DEPTH);
    w->container[w->depth] = (unsigned char)c;
    w->has_items[w->depth] = 0;
    w->depth++;
    df_json_append_raw(w, &c, 1);
}

static void writer_close(df_json_writer *w, char open_c, char c) {
    DF_ASSERT(w->depth > 0 && w->container[w->depth - 1] == open_c && !w->key_pending);
    w->depth--;
    df_json_append_raw(w, &c, 1);
    after_value(w);
}

void df_json_object_begin(df_json_writer *w) { writer_open(w, '{'); }
void df_json_object_end(df_json_writer *w) { writer_close(w, '{', '}'); }
void df_json_array_begin(df_json_writer *w) { writer_open(w, '['); }
void df_json_array_end(df_json_writer *w) { writer_close(w, '[', ']'); }

static void put_escaped(df_json_writer *w, const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    put(w, "\"");
    size_t run = 0; /* start of the pending run of bytes that need no escaping */
    for (size_t i = 0; i < n;) {
        unsigned char c = u[i];
        const char *esc = NULL;
        char tmp[8];
        size_t k = 1;
        if (c == '"')
            esc = "\\\"";
        else if (c == '\\')
            esc = "\\\\";
        else if (c < 0x20 && w->u_escapes) {
            snprintf(tmp, sizeof tmp, "\\u%04x", c);
            esc = tmp;
        } else if (c == '\n')
            esc = "\\n";
        else if (c == '\r')
            esc = "\\r";
        else if (c == '\t')
            esc = "\\t";
        else if (c == '\b')
            esc = "\\b";
        else if (c == '\f')
            esc = "\\f";
        else if (c < 0x20) {
            snprintf(tmp, sizeof tmp, "\\u%04x", c);
            esc = tmp;
        } else if (c >= 0x80) {
            k = df_json_utf8_seq_(u + i, n - i);
            if (!k) {
                esc = "\xef\xbf\xbd"; /* U+FFFD for a byte that is not UTF-8 */
                k = 1;
            }
        }
        if (esc) {
            df_json_append_raw(w, s + run, i - run);
            put(w, esc);
            run = i + k;
        }
        i += k;
    }
    df_json_append_raw(w, s + run, n - run);
    put(w, "\"");
}

void df_json_key(df_json_writer *w, const char *key) {
    DF_ASSERT(w->depth > 0 && w->container[w->depth - 1] == '{' && !w->key_pending);
    if (w->has_items[w->depth - 1]) put(w, ",");
    w->has_items[w->depth - 1] = 1;
    put_escaped(w, key, strlen(key));
    put(w, ":");
    w->key_pending = 1;
}

void df_json_string_n(df_json_writer *w, const char *s, size_t n) {
    before_value(w);
    put_escaped(w, s, n);
    after_value(w);
}

void df_json_string(df_json_writer *w, const char *s) { df_json_string_n(w, s, strlen(s)); }

static void put_double(df_json_writer *w, double x, const char *fmt) {
    before_value(w);
    if (!isfinite(x)) {
        put(w, "null");
    } else {
        char tmp[40];
        snprintf(tmp, sizeof tmp, fmt, x);
        put(w, tmp);
    }
    after_value(w);
}

void df_json_number(df_json_writer *w, double x) { put_double(w, x, "%.9g"); }
void df_json_double(df_json_writer *w, double x) { put_double(w, x, "%.17g"); }

void df_json_int(df_json_writer *w, int64_t x) {
    before_value(w);
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%lld", (long long)x);
    put(w, tmp);
    after_value(w);
}

void df_json_bool(df_json_writer *w, int b) {
    before_value(w);
    put(w, b ? "true" : "false");
    after_value(w);
}

void df_json_null(df_json_writer *w) {
    before_value(w);
    put(w, "null");
    after_value(w);
}
