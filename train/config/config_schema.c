/* config_schema.c: the table-driven binder from config trees to structs (see config_schema.h).
 *
 * Every value, whether written in a file, given with --set or taken from a field's default text, goes
 * through bind_value, so one set of rules decides what is valid. */
#include "train/config/config_schema.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- small helpers ---- */

static size_t edit_distance(const char *a, const char *b) {
    size_t na = strlen(a), nb = strlen(b);
    if (na > 64 || nb > 64) return (size_t)-1;
    size_t row[65];
    for (size_t j = 0; j <= nb; j++) row[j] = j;
    for (size_t i = 1; i <= na; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best) best = row[j] + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[nb];
}

/* The candidate nearest to word, if near enough to be a plausible typo; NULL otherwise. */
static const char *nearest(const char *word, const char *const *cands, int n) {
    const char *best = NULL;
    size_t best_d = (size_t)-1, len = strlen(word);
    for (int i = 0; i < n; i++) {
        size_t d = edit_distance(word, cands[i]);
        if (d < best_d) best_d = d, best = cands[i];
    }
    if (!best || best_d >= len || (best_d > 2 && best_d > len / 3)) return NULL;
    return best;
}

static void describe(const df_cfg_node *n, char *buf, size_t size) {
    if (n->kind == DF_CFG_NODE_MAP) snprintf(buf, size, "a mapping");
    else if (n->kind == DF_CFG_NODE_SEQ) snprintf(buf, size, "a list");
    else if (df_cfg_is_null(n)) snprintf(buf, size, "an empty value");
    else if (n->quoted) snprintf(buf, size, "the quoted string '%.100s'", n->text);
    else snprintf(buf, size, "'%.100s'", n->text);
}

static int wrong(df_error *err, const df_cfg_node *n, const char *path, const char *expected) {
    char got[160];
    describe(n, got, sizeof got);
    return df_cfg_fail(err, n, "%s: expected %s, got %s", path, expected, got);
}

/* ---- ranges: "[lo, hi]" with ( ) for open ends and inf for no bound ---- */

typedef struct {
    double lo, hi;
    int lo_open, hi_open;
    char lo_txt[32], hi_txt[32];
} range;

static const char *skip_ws(const char *p) {
    while (*p == ' ') p++;
    return p;
}

static int parse_bound(const char **pp, double *v, char *txt, size_t txt_size) {
    const char *p = skip_ws(*pp), *start = p;
    char *end;
    if (!strncmp(p, "-inf", 4)) *v = -INFINITY, end = (char *)p + 4;
    else if (!strncmp(p, "+inf", 4)) *v = INFINITY, end = (char *)p + 4;
    else if (!strncmp(p, "inf", 3)) *v = INFINITY, end = (char *)p + 3;
    else {
        errno = 0;
        *v = strtod(p, &end);
        if (end == p || errno || !isfinite(*v)) return -1;
    }
    size_t n = (size_t)(end - start);
    if (n >= txt_size) return -1;
    memcpy(txt, start, n);
    txt[n] = '\0';
    *pp = skip_ws(end);
    return 0;
}

static int parse_range(const char *spec, range *r) {
    const char *p = skip_ws(spec);
    if (*p != '[' && *p != '(') return -1;
    r->lo_open = *p++ == '(';
    if (parse_bound(&p, &r->lo, r->lo_txt, sizeof r->lo_txt) || *p++ != ',') return -1;
    if (parse_bound(&p, &r->hi, r->hi_txt, sizeof r->hi_txt)) return -1;
    if (*p != ']' && *p != ')') return -1;
    r->hi_open = *p++ == ')';
    if (*skip_ws(p) || r->lo > r->hi || r->lo == INFINITY || r->hi == -INFINITY) return -1;
    return 0;
}

static int in_range(const range *r, double v) {
    if (v < r->lo || (r->lo_open && v == r->lo)) return 0;
    if (v > r->hi || (r->hi_open && v == r->hi)) return 0;
    return 1;
}

static void range_words(const range *r, char *buf, size_t size) {
    int has_lo = r->lo != -INFINITY, has_hi = r->hi != INFINITY;
    if (has_lo && has_hi)
        snprintf(buf, size, "in %c%s, %s%c", r->lo_open ? '(' : '[', r->lo_txt, r->hi_txt, r->hi_open ? ')' : ']');
    else if (has_lo) snprintf(buf, size, "%s %s", r->lo_open ? ">" : ">=", r->lo_txt);
    else if (has_hi) snprintf(buf, size, "%s %s", r->hi_open ? "<" : "<=", r->hi_txt);
    else snprintf(buf, size, "finite");
}

static int check_range(const df_cfg_field *f, const df_cfg_node *n, const char *path, double v, df_error *err) {
    range r;
    if (!f->range) return 0;
    if (parse_range(f->range, &r)) return df_cfg_fail(err, n, "%s: the schema's range '%s' is malformed", path, f->range);
    if (in_range(&r, v)) return 0;
    char words[96];
    range_words(&r, words, sizeof words);
    return df_cfg_fail(err, n, "%s must be %s, got %s", path, words, n->text);
}

/* ---- scalars ---- */

static int is_integer_text(const char *t) {
    if (*t == '+' || *t == '-') t++;
    if (!*t) return 0;
    for (; *t; t++)
        if (*t < '0' || *t > '9') return 0;
    return 1;
}

static int is_number_text(const char *t) {
    int digits = 0;
    if (*t == '+' || *t == '-') t++;
    while (*t >= '0' && *t <= '9') t++, digits++;
    if (*t == '.') {
        t++;
        while (*t >= '0' && *t <= '9') t++, digits++;
    }
    if (!digits) return 0;
    if (*t == 'e' || *t == 'E') {
        t++;
        if (*t == '+' || *t == '-') t++;
        if (*t < '0' || *t > '9') return 0;
        while (*t >= '0' && *t <= '9') t++;
    }
    return *t == '\0';
}

static int get_integer(const df_cfg_node *n, const df_cfg_field *f, const char *path, long lo, long hi, long *out,
                       df_error *err) {
    if (n->kind != DF_CFG_NODE_SCALAR || n->quoted || !is_integer_text(n->text))
        return wrong(err, n, path, "an integer");
    errno = 0;
    long long v = strtoll(n->text, NULL, 10);
    if (errno == ERANGE || v < lo || v > hi)
        return df_cfg_fail(err, n, "%s: %s is out of range for this setting (%ld to %ld)", path, n->text, lo, hi);
    if (check_range(f, n, path, (double)v, err)) return -1;
    *out = (long)v;
    return 0;
}

static int get_number(const df_cfg_node *n, const df_cfg_field *f, const char *path, double *out, df_error *err) {
    if (n->kind != DF_CFG_NODE_SCALAR || n->quoted || !is_number_text(n->text))
        return wrong(err, n, path, "a number");
    double v = strtod(n->text, NULL);
    if (!isfinite(v)) return df_cfg_fail(err, n, "%s: %s is too large to be a finite number", path, n->text);
    if (check_range(f, n, path, v, err)) return -1;
    *out = v;
    return 0;
}

/* An ENUM's value: the index of its name in the field's choices (the names table its subsystem owns). */
static int get_choice(const df_cfg_node *n, const df_cfg_field *f, const char *path, int *out, df_error *err) {
    if (n->kind != DF_CFG_NODE_SCALAR || df_cfg_is_null(n)) return wrong(err, n, path, "one of the names listed for it");
    int count = 0;
    while (f->choices[count]) count++;
    for (int i = 0; i < count; i++)
        if (!strcmp(f->choices[i], n->text)) {
            *out = i;
            return 0;
        }
    char list[512];
    size_t len = 0;
    for (int i = 0; i < count && len < sizeof list; i++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", f->choices[i]);
    const char *near = nearest(n->text, f->choices, count);
    char hint[160] = "";
    if (near) snprintf(hint, sizeof hint, " (did you mean '%s'?)", near);
    return df_cfg_fail(err, n, "%s: '%.100s' is not one of %s%s", path, n->text, list, hint);
}

static int get_text(const df_cfg_node *n, const df_cfg_field *f, const char *path, char **out, df_error *err) {
    if (n->kind != DF_CFG_NODE_SCALAR || df_cfg_is_null(n)) return wrong(err, n, path, "a string ('' for empty)");
    const char *t = n->text;
    if ((f->flags & DF_CFG_NONEMPTY) && !t[0]) return df_cfg_fail(err, n, "%s: must not be empty", path);
    if (f->type == DF_CFG_PATH && t[0] && t[0] != '/') {
        while (t[0] == '.' && t[1] == '/') t += 2;
        size_t len = strlen(n->dir) + strlen(t) + 2;
        char *full = df_malloc(len);
        snprintf(full, len, "%s%s%s", n->dir, n->dir[strlen(n->dir) - 1] == '/' ? "" : "/", t);
        *out = full;
    } else {
        *out = df_strdup(t);
    }
    if (f->type == DF_CFG_PATH && (f->flags & DF_CFG_MUST_EXIST) && (*out)[0]) {
        struct stat st;
        if (stat(*out, &st) != 0)
            return df_cfg_fail(err, n, "%s: '%.200s' does not exist (looked for %.400s)", path, n->text, *out);
    }
    return 0;
}

/* ---- fields ---- */

static void join_path(char *buf, size_t size, const char *prefix, const char *key) {
    if (prefix && prefix[0]) snprintf(buf, size, "%s.%s", prefix, key);
    else snprintf(buf, size, "%s", key);
}

static int bind_item(const df_cfg_node *n, const df_cfg_field *f, const char *path, char *obj, int i, df_error *err) {
    char *base = obj + f->offset;
    long v;
    switch (f->type) {
    case DF_CFG_BOOL:
        if (n->kind == DF_CFG_NODE_SCALAR && !n->quoted && (!strcmp(n->text, "true") || !strcmp(n->text, "false"))) {
            *(int *)base = n->text[0] == 't';
            return 0;
        }
        return wrong(err, n, path, "true or false");
    case DF_CFG_INT:
        if (get_integer(n, f, path, INT_MIN, INT_MAX, &v, err)) return -1;
        *(int *)base = (int)v;
        return 0;
    case DF_CFG_LONG:
        return get_integer(n, f, path, LONG_MIN, LONG_MAX, (long *)base, err);
    case DF_CFG_DOUBLE:
        return get_number(n, f, path, (double *)base, err);
    case DF_CFG_ENUM:
        return get_choice(n, f, path, (int *)base, err);
    case DF_CFG_STRING:
    case DF_CFG_PATH:
        return get_text(n, f, path, (char **)base, err);
    case DF_CFG_INTS:
        return get_integer(n, f, path, LONG_MIN, LONG_MAX, (long *)base + i, err);
    case DF_CFG_DOUBLES:
        return get_number(n, f, path, (double *)base + i, err);
    case DF_CFG_STRINGS: {
        df_cfg_field item = *f;
        item.type = DF_CFG_STRING;
        return get_text(n, &item, path, (char **)base + i, err);
    }
    case DF_CFG_SECTION:
        break;
    }
    return df_fail(err, "%s: schema field has an invalid type %d", path, (int)f->type);
}

static int bind_value(const df_cfg_node *n, const df_cfg_field *f, const char *path, char *obj, df_error *err) {
    if (f->type != DF_CFG_STRINGS && f->type != DF_CFG_INTS && f->type != DF_CFG_DOUBLES)
        return bind_item(n, f, path, obj, 0, err);
    if (n->kind != DF_CFG_NODE_SEQ) return wrong(err, n, path, "a list such as [a, b]");
    if (n->n > f->capacity)
        return df_cfg_fail(err, n, "%s: %d items given, at most %d allowed", path, n->n, f->capacity);
    int *count = (int *)(obj + f->count_offset);
    for (int i = 0; i < n->n; i++) {
        char item_path[300];
        snprintf(item_path, sizeof item_path, "%s[%d]", path, i);
        if (bind_item(n->items[i], f, item_path, obj, i, err)) return -1;
        *count = i + 1; /* counted as it goes, so a failed bind releases exactly what it stored */
    }
    return 0;
}

static int bind_default(const df_cfg_field *f, const char *path, char *obj, df_error *err) {
    if (!f->def) return df_fail(err, "%s: the schema gives this optional setting no default", path);
    char file[300];
    snprintf(file, sizeof file, "<default of %s>", path);
    df_cfg_node *n;
    if (df_cfg_parse_string(f->def, file, 0, NULL, &n, err)) return -1;
    int rc = bind_value(n, f, path, obj, err);
    df_cfg_free(n);
    return rc;
}

static const df_cfg_field *field_of(const df_cfg_section *s, const char *key) {
    for (int i = 0; i < s->n_fields; i++)
        if (!strcmp(s->fields[i].key, key)) return &s->fields[i];
    return NULL;
}

static int unknown_key(const df_cfg_section *s, const df_cfg_node *key, const char *prefix, df_error *err) {
    const char *names[256];
    int n = s->n_fields < 256 ? s->n_fields : 256;
    for (int i = 0; i < n; i++) names[i] = s->fields[i].key;
    const char *near = nearest(key->text, names, n);
    char hint[160] = "", where[300] = "at the top level";
    if (near) snprintf(hint, sizeof hint, " (did you mean '%s'?)", near);
    if (prefix[0]) snprintf(where, sizeof where, "in '%s'", prefix);
    return df_cfg_fail(err, key, "unknown key '%.100s' %s%s", key->text, where, hint);
}

/* Binds map (NULL: the section was not written; `at` then marks where it was expected). */
static int bind_section(const df_cfg_node *map, const df_cfg_node *at, const df_cfg_section *s, char *obj,
                        const char *prefix, df_error *err) {
    if (map && map->kind != DF_CFG_NODE_MAP) return wrong(err, map, prefix[0] ? prefix : "config", "a mapping of keys");
    for (int i = 0; map && i < map->n; i++)
        if (!field_of(s, map->keys[i]->text)) return unknown_key(s, map->keys[i], prefix, err);
    for (int i = 0; i < s->n_fields; i++) {
        const df_cfg_field *f = &s->fields[i];
        char path[256];
        join_path(path, sizeof path, prefix, f->key);
        const df_cfg_node *n = df_cfg_get(map, f->key);
        const df_cfg_node *mark = map ? map : at;
        int rc;
        if (f->type == DF_CFG_SECTION && !(f->required && !n)) {
            rc = bind_section(n, n ? n : mark, f->sub, obj + f->offset, path, err);
        } else if (n) {
            rc = bind_value(n, f, path, obj, err);
        } else if (f->required) {
            if (prefix[0]) rc = df_cfg_fail(err, mark, "missing required key '%s' in '%s'", f->key, prefix);
            else rc = df_cfg_fail(err, mark, "missing required key '%s'", f->key);
        } else {
            rc = bind_default(f, path, obj, err);
        }
        if (rc) return -1;
    }
    return 0;
}

static void release_section(const df_cfg_section *s, char *obj) {
    for (int i = 0; i < s->n_fields; i++) {
        const df_cfg_field *f = &s->fields[i];
        char *p = obj + f->offset;
        switch (f->type) {
        case DF_CFG_STRING:
        case DF_CFG_PATH:
            free(*(char **)p);
            *(char **)p = NULL;
            break;
        case DF_CFG_STRINGS: {
            int *count = (int *)(obj + f->count_offset);
            for (int k = 0; k < *count; k++) free(((char **)p)[k]), ((char **)p)[k] = NULL;
            break;
        }
        case DF_CFG_SECTION:
            release_section(f->sub, p);
            break;
        default:
            break;
        }
    }
}

void df_cfg_release(const df_cfg_section *s, void *obj) {
    release_section(s, obj);
    memset(obj, 0, s->size);
}

int df_cfg_bind(const df_cfg_node *root, const df_cfg_section *s, void *obj, df_error *err) {
    memset(obj, 0, s->size);
    if (bind_section(root, root, s, obj, "", err) == 0) return 0;
    df_cfg_release(s, obj);
    return -1;
}

int df_cfg_load_bind(const char *path, const char *const *sets, int n_sets, const df_cfg_section *s, void *obj,
                     df_error *err) {
    memset(obj, 0, s->size);
    df_cfg_node *root;
    if (df_cfg_load(path, &root, err)) return -1;
    int rc = df_cfg_set_all(root, sets, n_sets, err);
    if (!rc) rc = df_cfg_bind(root, s, obj, err);
    df_cfg_free(root);
    return rc;
}

/* ---- checking a table ---- */

static int check_section(const df_cfg_section *s, const char *prefix, int depth, df_error *err) {
    if (depth > 16) return df_fail(err, "schema: sections nest deeper than 16 (a section contains itself?)");
    for (int i = 0; i < s->n_fields; i++) {
        const df_cfg_field *f = &s->fields[i];
        if (!f->key || !f->key[0]) return df_fail(err, "schema: field %d of '%s' has no key", i, prefix);
        char path[256];
        join_path(path, sizeof path, prefix, f->key);
        for (int j = 0; j < i; j++)
            if (!strcmp(s->fields[j].key, f->key)) return df_fail(err, "schema: key '%s' declared twice", path);
        if (!prefix[0] && !strcmp(f->key, "base"))
            return df_fail(err, "schema: 'base' is reserved for base config files at the top level");
        int numeric = f->type == DF_CFG_INT || f->type == DF_CFG_LONG || f->type == DF_CFG_DOUBLE ||
                      f->type == DF_CFG_INTS || f->type == DF_CFG_DOUBLES;
        int list = f->type == DF_CFG_STRINGS || f->type == DF_CFG_INTS || f->type == DF_CFG_DOUBLES;
        range r;
        if (f->type < DF_CFG_BOOL || f->type > DF_CFG_SECTION) return df_fail(err, "schema: '%s' has an invalid type", path);
        if (f->range && (!numeric || parse_range(f->range, &r)))
            return df_fail(err, "schema: '%s' has a range '%s' that is malformed or not for a number", path, f->range);
        if (f->type == DF_CFG_ENUM && (!f->choices || !f->choices[0]))
            return df_fail(err, "schema: enum '%s' lists no choices", path);
        if (list && f->capacity <= 0) return df_fail(err, "schema: list '%s' has no capacity", path);
        int omissible_scalar = f->type == DF_CFG_ENUM || f->type == DF_CFG_BOOL || f->type == DF_CFG_INT ||
                               f->type == DF_CFG_LONG || f->type == DF_CFG_DOUBLE;
        if ((f->flags & DF_CFG_OMIT_DEFAULT) && !(f->def && (omissible_scalar || (list && !strcmp(f->def, "[]")))))
            return df_fail(err, "schema: '%s' may be omitted at its default only as a number, bool or enum, or a "
                           "list defaulting to []", path);
        if (f->type == DF_CFG_SECTION) {
            if (!f->sub) return df_fail(err, "schema: section '%s' has no table", path);
            if (f->def) return df_fail(err, "schema: section '%s' cannot have a default text", path);
            if (check_section(f->sub, path, depth + 1, err)) return -1;
            continue;
        }
        if (f->required && f->def) return df_fail(err, "schema: '%s' is required yet has a default", path);
        if (!f->required) {
            char *scratch = df_calloc(1, s->size);
            int rc = bind_default(f, path, scratch, err);
            release_section(s, scratch);
            free(scratch);
            if (rc) return -1;
        }
    }
    return 0;
}

int df_cfg_check_schema(const df_cfg_section *s, df_error *err) {
    return check_section(s, "", 0, err);
}
