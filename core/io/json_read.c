/* json_read.c: the strict JSON reader (see json.h for the grammar it accepts and its messages).
 *
 * Contract: df_json_parse accepts exactly RFC 8259 text and builds a tree owned by one document; every error
 * says "byte N:" and what was expected. The reader is recursive descent. Values of an unfinished container
 * wait on a scratch stack and move into the document's arena when the container closes, so a failed parse
 * frees everything by dropping the arena and the scratch stack, with no partial trees to walk. */
#include "core/io/json_internal.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- arena ---- */

typedef struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
} arena_block;

struct df_json_doc {
    arena_block *blocks;
    df_json root;
};

static void *arena_alloc(df_json_doc *doc, size_t bytes) {
    bytes = (bytes + 15) / 16 * 16;
    arena_block *b = doc->blocks;
    if (!b || b->cap - b->used < bytes) {
        size_t cap = bytes > 65536 ? bytes : 65536;
        b = df_malloc(sizeof *b + cap);
        b->next = doc->blocks;
        b->used = 0;
        b->cap = cap;
        doc->blocks = b;
    }
    void *p = b->data + b->used;
    b->used += bytes;
    return p;
}

void df_json_free(df_json_doc *doc) {
    if (!doc) return;
    arena_block *b = doc->blocks;
    while (b) {
        arena_block *next = b->next;
        free(b);
        b = next;
    }
    free(doc);
}

const df_json *df_json_root(const df_json_doc *doc) { return &doc->root; }

/* ---- parser ---- */

typedef struct {
    const char *s;
    size_t n, pos;
    df_json_doc *doc;
    df_error *err;
    df_json *stack; /* values of open containers */
    char **key_stack;
    size_t stack_len, stack_cap;
    int depth;
    char *buf; /* scratch for decoding strings and numbers */
    size_t buf_len, buf_cap;
} parser;

static const char *describe(const parser *p, size_t at, char *tmp, size_t size) {
    if (at >= p->n) return "end of text";
    unsigned char c = (unsigned char)p->s[at];
    if (c >= 0x21 && c < 0x7f)
        snprintf(tmp, size, "'%c'", c);
    else
        snprintf(tmp, size, "byte 0x%02x", c);
    return tmp;
}

static int fail_expected(parser *p, size_t at, const char *what) {
    char tmp[32];
    return df_fail(p->err, "byte %zu: expected %s, found %s", at, what, describe(p, at, tmp, sizeof tmp));
}

static void skip_ws(parser *p) {
    while (p->pos < p->n) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        p->pos++;
    }
}

static void buf_put(parser *p, const void *bytes, size_t k) {
    if (p->buf_len + k + 1 > p->buf_cap) {
        size_t cap = p->buf_cap ? p->buf_cap : 64;
        while (cap < p->buf_len + k + 1) cap *= 2;
        p->buf = df_realloc(p->buf, cap);
        p->buf_cap = cap;
    }
    memcpy(p->buf + p->buf_len, bytes, k);
    p->buf_len += k;
    p->buf[p->buf_len] = '\0';
}

static void buf_put_utf8(parser *p, uint32_t cp) {
    unsigned char b[4];
    size_t k;
    if (cp < 0x80) {
        b[0] = (unsigned char)cp;
        k = 1;
    } else if (cp < 0x800) {
        b[0] = (unsigned char)(0xc0 | (cp >> 6));
        b[1] = (unsigned char)(0x80 | (cp & 0x3f));
        k = 2;
    } else if (cp < 0x10000) {
        b[0] = (unsigned char)(0xe0 | (cp >> 12));
        b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        b[2] = (unsigned char)(0x80 | (cp & 0x3f));
        k = 3;
    } else {
        b[0] = (unsigned char)(0xf0 | (cp >> 18));
        b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
        b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        b[3] = (unsigned char)(0x80 | (cp & 0x3f));
        k = 4;
    }
    buf_put(p, b, k);
}

static int hex4(parser *p, size_t at, uint32_t *out) {
    uint32_t v = 0;
    for (size_t i = 0; i < 4; i++) {
        if (at + i >= p->n) return fail_expected(p, at + i, "4 hex digits after \\u");
        char c = p->s[at + i];
        int d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return fail_expected(p, at + i, "4 hex digits after \\u");
        v = v * 16 + (uint32_t)d;
    }
    *out = v;
    return 0;
}

/* Decodes the string starting at the opening quote into p->buf. */
static int parse_string_raw(parser *p) {
    size_t start = p->pos;
    p->pos++; /* opening quote */
    p->buf_len = 0;
    buf_put(p, "", 0);
    for (;;) {
        if (p->pos >= p->n)
            return df_fail(p->err, "byte %zu: unterminated string (it starts at byte %zu)", p->pos, start);
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c == '"') {
            p->pos++;
            return 0;
        }
        if (c < 0x20)
            return df_fail(p->err, "byte %zu: raw control character 0x%02x in a string (write it as an escape)",
                           p->pos, c);
        if (c == '\\') {
            size_t at = p->pos;
            if (at + 1 >= p->n) return fail_expected(p, at + 1, "an escape character");
            char e = p->s[at + 1];
            const char *simple = NULL;
            switch (e) {
            case '"': simple = "\""; break;
            case '\\': simple = "\\"; break;
            case '/': simple = "/"; break;
            case 'b': simple = "\b"; break;
            case 'f': simple = "\f"; break;
            case 'n': simple = "\n"; break;
            case 'r': simple = "\r"; break;
            case 't': simple = "\t"; break;
            case 'u': break;
            default:
                return df_fail(p->err, "byte %zu: invalid escape '\\%c' in a string", at,
                               (e >= 0x21 && e < 0x7f) ? e : '?');
            }
            if (simple) {
                buf_put(p, simple, 1);
                p->pos += 2;
                continue;
            }
            uint32_t cp = 0;
            if (hex4(p, at + 2, &cp)) return -1;
            p->pos = at + 6;
            if (cp >= 0xdc00 && cp <= 0xdfff)
                return df_fail(p->err, "byte %zu: lone low surrogate \\u%04X in a string", at, (unsigned)cp);
            if (cp >= 0xd800 && cp <= 0xdbff) {
                uint32_t lo = 0;
                if (p->pos + 1 >= p->n || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u')
                    return df_fail(p->err, "byte %zu: high surrogate \\u%04X not followed by a low surrogate",
                                   at, (unsigned)cp);
                if (hex4(p, p->pos + 2, &lo)) return -1;
                if (lo < 0xdc00 || lo > 0xdfff)
                    return df_fail(p->err, "byte %zu: high surrogate \\u%04X not followed by a low surrogate",
                                   at, (unsigned)cp);
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                p->pos += 6;
            }
            buf_put_utf8(p, cp);
            continue;
        }
        size_t k = df_json_utf8_seq_((const unsigned char *)p->s + p->pos, p->n - p->pos);
        if (!k) return df_fail(p->err, "byte %zu: invalid UTF-8 in a string", p->pos);
        buf_put(p, p->s + p->pos, k);
        p->pos += k;
    }
}

static char *arena_strdup(parser *p) {
    char *s = arena_alloc(p->doc, p->buf_len + 1);
    memcpy(s, p->buf, p->buf_len + 1);
    return s;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int parse_number(parser *p, df_json *v) {
    size_t start = p->pos, i = p->pos;
    int integral = 1;
    if (i < p->n && p->s[i] == '-') i++;
    if (i >= p->n || !is_digit(p->s[i])) return fail_expected(p, i, "a digit");
    if (p->s[i] == '0') {
        i++;
        if (i < p->n && is_digit(p->s[i]))
            return df_fail(p->err, "byte %zu: number with a leading zero", start);
    } else {
        while (i < p->n && is_digit(p->s[i])) i++;
    }
    if (i < p->n && p->s[i] == '.') {
        integral = 0;
        i++;
        if (i >= p->n || !is_digit(p->s[i])) return fail_expected(p, i, "a digit after the decimal point");
        while (i < p->n && is_digit(p->s[i])) i++;
    }
    if (i < p->n && (p->s[i] == 'e' || p->s[i] == 'E')) {
        integral = 0;
        i++;
        if (i < p->n && (p->s[i] == '+' || p->s[i] == '-')) i++;
        if (i >= p->n || !is_digit(p->s[i])) return fail_expected(p, i, "a digit in the exponent");
        while (i < p->n && is_digit(p->s[i])) i++;
    }
    p->buf_len = 0;
    buf_put(p, p->s + start, i - start);
    double x = strtod(p->buf, NULL);
    if (!isfinite(x)) return df_fail(p->err, "byte %zu: number %s is out of range", start, p->buf);
    v->type = DF_JSON_NUMBER;
    v->number = x;
    if (integral) {
        /* Exact value for integers (offsets, sizes) that a double could round. */
        int neg = p->s[start] == '-';
        uint64_t mag = 0;
        int fits = 1;
        for (size_t k = start + (size_t)neg; k < i; k++) {
            uint64_t d = (uint64_t)(p->s[k] - '0');
            if (mag > (UINT64_MAX - d) / 10) {
                fits = 0;
                break;
            }
            mag = mag * 10 + d;
        }
        if (fits && (neg ? mag <= (uint64_t)INT64_MAX + 1 : mag <= (uint64_t)INT64_MAX)) {
            v->is_integer = 1;
            v->integer = neg ? (int64_t)(0 - mag) : (int64_t)mag;
        }
    }
    p->pos = i;
    return 0;
}

static int literal(parser *p, const char *word) {
    size_t k = strlen(word);
    if (p->n - p->pos < k || memcmp(p->s + p->pos, word, k) != 0) return fail_expected(p, p->pos, "a value");
    p->pos += k;
    return 0;
}

static void stack_push(parser *p, const df_json *v, char *key) {
    if (p->stack_len == p->stack_cap) {
        p->stack_cap = p->stack_cap ? p->stack_cap * 2 : 64;
        p->stack = df_realloc(p->stack, p->stack_cap * sizeof *p->stack);
        p->key_stack = df_realloc(p->key_stack, p->stack_cap * sizeof *p->key_stack);
    }
    p->stack[p->stack_len] = *v;
    p->key_stack[p->stack_len] = key;
    p->stack_len++;
}

typedef struct { const char *key; size_t offset; } key_at; /* a key and where it stands, for sorting */

static int key_cmp(const void *a, const void *b) {
    const key_at *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c) return c;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static int check_duplicates(parser *p, const df_json *obj) {
    if (obj->count < 2) return 0;
    key_at *ks = df_malloc((size_t)obj->count * sizeof *ks);
    for (int i = 0; i < obj->count; i++) {
        ks[i].key = obj->keys[i];
        ks[i].offset = obj->items[i].offset;
    }
    qsort(ks, (size_t)obj->count, sizeof *ks, key_cmp);
    int rc = 0;
    for (int i = 1; i < obj->count && !rc; i++)
        if (!strcmp(ks[i - 1].key, ks[i].key))
            rc = df_fail(p->err, "byte %zu: duplicate key \"%.200s\" in the object starting at byte %zu",
                         ks[i].offset, ks[i].key, obj->offset);
    free(ks);
    return rc;
}

static int parse_value(parser *p, df_json *v);

/* Moves the values pushed since base into the arena as the container's items. */
static void close_container(parser *p, df_json *v, size_t base, int with_keys) {
    size_t k = p->stack_len - base;
    v->count = (int)k;
    v->items = arena_alloc(p->doc, (k ? k : 1) * sizeof *v->items);
    if (k) memcpy(v->items, p->stack + base, k * sizeof *v->items);
    if (with_keys) {
        v->keys = arena_alloc(p->doc, (k ? k : 1) * sizeof *v->keys);
        if (k) memcpy(v->keys, p->key_stack + base, k * sizeof *v->keys);
    }
    p->stack_len = base;
}

static int parse_container(parser *p, df_json *v, int object) {
    if (p->depth >= DF_JSON_MAX_DEPTH)
        return df_fail(p->err, "byte %zu: nesting deeper than %d levels", p->pos, DF_JSON_MAX_DEPTH);
    p->depth++;
    v->type = object ? DF_JSON_OBJECT : DF_JSON_ARRAY;
    char close = object ? '}' : ']';
    size_t base = p->stack_len;
    p->pos++;
    skip_ws(p);
    if (p->pos < p->n && p->s[p->pos] == close) {
        p->pos++;
    } else {
        for (;;) {
            char *key = NULL;
            if (object) {
                if (p->pos >= p->n || p->s[p->pos] != '"') return fail_expected(p, p->pos, "a string key");
                size_t at = p->pos;
                if (parse_string_raw(p)) return -1;
                if (strlen(p->buf) != p->buf_len)
                    return df_fail(p->err, "byte %zu: object key contains a NUL character", at);
                key = arena_strdup(p);
                skip_ws(p);
                if (p->pos >= p->n || p->s[p->pos] != ':') return fail_expected(p, p->pos, "':' after the key");
                p->pos++;
                skip_ws(p);
            }
            if (p->stack_len - base >= INT_MAX)
                return df_fail(p->err, "byte %zu: more than %d items in one container", p->pos, INT_MAX);
            df_json item;
            if (parse_value(p, &item)) return -1;
            stack_push(p, &item, key);
            skip_ws(p);
            if (p->pos < p->n && p->s[p->pos] == ',') {
                p->pos++;
                skip_ws(p);
                continue;
            }
            if (p->pos < p->n && p->s[p->pos] == close) {
                p->pos++;
                break;
            }
            return fail_expected(p, p->pos, object ? "',' or '}'" : "',' or ']'");
        }
    }
    close_container(p, v, base, object);
    p->depth--;
    return object ? check_duplicates(p, v) : 0;
}

static int parse_value(parser *p, df_json *v) {
    memset(v, 0, sizeof *v);
    v->offset = p->pos;
    if (p->pos >= p->n) return fail_expected(p, p->pos, "a value");
    switch (p->s[p->pos]) {
    case '{': return parse_container(p, v, 1);
    case '[': return parse_container(p, v, 0);
    case '"':
        if (parse_string_raw(p)) return -1;
        v->type = DF_JSON_STRING;
        v->len = p->buf_len;
        v->str = arena_strdup(p);
        return 0;
    case 't': v->type = DF_JSON_BOOL, v->boolean = 1; return literal(p, "true");
    case 'f': v->type = DF_JSON_BOOL, v->boolean = 0; return literal(p, "false");
    case 'n': v->type = DF_JSON_NULL; return literal(p, "null");
    default:
        if (p->s[p->pos] == '-' || is_digit(p->s[p->pos])) return parse_number(p, v);
        return fail_expected(p, p->pos, "a value");
    }
}

int df_json_parse(const char *text, size_t len, df_json_doc **out, df_error *err) {
    *out = NULL;
    parser p = {.s = text, .n = len, .err = err};
    p.doc = df_calloc(1, sizeof *p.doc);
    skip_ws(&p);
    int rc = parse_value(&p, &p.doc->root);
    if (!rc) {
        skip_ws(&p);
        if (p.pos < p.n) {
            char tmp[32];
            rc = df_fail(err, "byte %zu: unexpected %s after the end of the JSON value", p.pos,
                         describe(&p, p.pos, tmp, sizeof tmp));
        }
    }
    free(p.stack);
    free(p.key_stack);
    free(p.buf);
    if (rc) {
        df_json_free(p.doc);
        return -1;
    }
    *out = p.doc;
    return 0;
}

const df_json *df_json_get(const df_json *obj, const char *key) {
    if (!obj || obj->type != DF_JSON_OBJECT) return NULL;
    for (int i = 0; i < obj->count; i++)
        if (!strcmp(obj->keys[i], key)) return &obj->items[i];
    return NULL;
}

const char *df_json_type_name(df_json_type type) {
    switch (type) {
    case DF_JSON_NULL: return "null";
    case DF_JSON_BOOL: return "boolean";
    case DF_JSON_NUMBER: return "number";
    case DF_JSON_STRING: return "string";
    case DF_JSON_ARRAY: return "array";
    case DF_JSON_OBJECT: return "object";
    }
    return "?";
}
