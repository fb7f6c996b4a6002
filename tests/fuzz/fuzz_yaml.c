/* fuzz_yaml.c: see fuzz_yaml.h. Everything is written in block style with two-space indents unless a flow
 * collection is drawn; a value is written after its indicator ("key:" or "-") the way the config dumper
 * does: " scalar\n", or a newline and a block indented two more columns. */
#include "fuzz_yaml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 12

typedef struct {
    fuzz_rng *r;
    fuzz_buf *b;
    const fuzz_yaml_schemas *s;
    int self, n_files;
    int n_anchors;
} gen;

static const char *const words[] = {
    "x", "a", "label", "image", "isic_id", "patient_id", "lesion_id", "age_approx", "sex", "anatom_site_general",
    "class", "diagnosis", "MONET_ulceration_crust", "clinical_MONET_erythema", "dermoscopic", "image+transfer",
    "late", "meta+transfer", "run one", "runs", "base", "dermfuse", "NA", "nan", "1x", "-x", "x:y", "a b", NULL};

/* Scalars that are valid YAML inline and odd to a binder. */
static const char *const odd[] = {
    "~", "null", "''", "\"\"", "'it''s'", "\"tab\\there\"", "\"\\u2028\"", "\"\\x85\"", "\"\\0\"", "\"\\u00e9\"",
    "\"\\ud800\"", "'#x'", "'a: b'", "\"\\\\\"", "'\xc3\xa9'", "yes", "No", "ON", "0x1F", "0o17", "1_000", ".inf",
    "-.inf", ".NaN", "1e999", "-0", "+1", "007", "0.", ".5", "1e-400", "2e9", "9223372036854775808",
    "-9223372036854775809", "2147483648", "-2147483649", "\"1\"", "'true'", "|-\n  block", "!!str x", "&", "*",
    "@x", "`x", "%x", "'\t'", NULL};

static void put(gen *g, const char *s) { fuzz_buf_puts(g->b, s); }

static void indent(gen *g, int n) {
    for (int i = 0; i < n; i++) fuzz_buf_put(g->b, " ", 1);
}

/* Lower and upper bounds from a range such as "[1, 4096]" or "(0, inf)"; defaults without one. */
static void bounds(const df_cfg_field *f, double *lo, double *hi) {
    *lo = -3;
    *hi = 300;
    if (!f || !f->range) return;
    char *e;
    double a = strtod(f->range + 1, &e);
    const char *comma = strchr(e, ',');
    if (!comma) return;
    double b = strtod(comma + 1, NULL);
    *lo = a;
    *hi = b;
}

static void number(gen *g, const df_cfg_field *f, int integer) {
    if (fuzz_one_in(g->r, 8)) {
        put(g, fuzz_pick(g->r, odd));
        return;
    }
    double lo, hi;
    bounds(f, &lo, &hi);
    if (fuzz_one_in(g->r, 5)) { /* on or next to a bound */
        double v = fuzz_one_in(g->r, 2) ? lo : hi;
        if (v > 1e18 || v < -1e18) v = fuzz_one_in(g->r, 2) ? 1e18 : -1;
        v += (double)fuzz_below(g->r, 3) - 1;
        fuzz_buf_printf(g->b, integer ? "%.0f" : "%g", v);
        return;
    }
    double span = hi - lo;
    if (!(span < 1000)) span = 1000;
    if (integer) {
        fuzz_buf_printf(g->b, "%ld", (long)lo + (long)fuzz_below(g->r, (uint32_t)span + 1));
    } else {
        double v = lo + span * (double)fuzz_next(g->r) / 4294967296.0;
        static const char *const forms[] = {"%g", "%.3f", "%.17g", "%e", NULL};
        fuzz_buf_printf(g->b, fuzz_pick(g->r, forms), v);
    }
}

/* "key=value" addressing a key of the sets schema (or not quite). */
static void assignment(gen *g) {
    const df_cfg_section *sec = g->s->sets;
    if (fuzz_one_in(g->r, 12)) {
        static const char *const bad[] = {"=1", "x", "a..b=1", ".a=1", "a.=1", "run=1", "run.name", "a b=1",
                                          "new.deep.key=1", "data.numeric=[a, [b]]", "run.name={a: 1}",
                                          "run.name=&a x", "run.name=*a", "train.lr=1=2", "run.name=", NULL};
        put(g, fuzz_pick(g->r, bad));
        return;
    }
    const df_cfg_field *f = NULL;
    while (sec && sec->n_fields) {
        f = &sec->fields[fuzz_below(g->r, (uint32_t)sec->n_fields)];
        put(g, f->key);
        if (f->type != DF_CFG_SECTION || fuzz_one_in(g->r, 10)) break;
        put(g, ".");
        sec = f->sub;
    }
    put(g, "=");
    if (!f) return;
    switch (f->type) {
    case DF_CFG_STRINGS: put(g, fuzz_one_in(g->r, 2) ? "[age_approx, sex]" : "[]"); break;
    case DF_CFG_INTS: put(g, fuzz_one_in(g->r, 2) ? "[8, 16]" : "[1]"); break;
    case DF_CFG_DOUBLES: put(g, "[0.5]"); break;
    case DF_CFG_INT:
    case DF_CFG_LONG: number(g, f, 1); break;
    case DF_CFG_DOUBLE: number(g, f, 0); break;
    case DF_CFG_BOOL: put(g, fuzz_one_in(g->r, 2) ? "true" : "false"); break;
    case DF_CFG_ENUM: put(g, fuzz_one_in(g->r, 8) ? "nope" : fuzz_pick(g->r, f->choices)); break;
    case DF_CFG_PATH: fuzz_buf_printf(g->b, "f%u.yaml", fuzz_below(g->r, (uint32_t)g->n_files + 1)); break;
    case DF_CFG_SECTION: put(g, fuzz_one_in(g->r, 2) ? "{}" : "1"); break;
    default: put(g, fuzz_pick(g->r, words)); break;
    }
}

/* A scalar for one item or value of field f (NULL: any), written inline. */
static void scalar_of(gen *g, const df_cfg_field *f, int list_item) {
    if (!f || fuzz_one_in(g->r, 14)) {
        put(g, fuzz_one_in(g->r, 3) ? fuzz_pick(g->r, odd) : fuzz_pick(g->r, words));
        return;
    }
    df_cfg_type t = f->type;
    if (list_item) t = t == DF_CFG_INTS ? DF_CFG_LONG : t == DF_CFG_DOUBLES ? DF_CFG_DOUBLE : DF_CFG_STRING;
    switch (t) {
    case DF_CFG_BOOL: {
        static const char *const b[] = {"true", "false", "true", "false", "True", "yes", "1", "'true'", NULL};
        put(g, fuzz_pick(g->r, b));
        break;
    }
    case DF_CFG_INT:
    case DF_CFG_LONG: number(g, f, 1); break;
    case DF_CFG_DOUBLE: number(g, f, 0); break;
    case DF_CFG_ENUM:
        if (fuzz_one_in(g->r, 10)) fuzz_buf_printf(g->b, "%sx", fuzz_pick(g->r, f->choices));
        else if (fuzz_one_in(g->r, 10)) fuzz_buf_printf(g->b, "\"%s\"", fuzz_pick(g->r, f->choices));
        else put(g, fuzz_pick(g->r, f->choices));
        break;
    case DF_CFG_PATH: {
        static const char *const p[] = {"''", "/", ".", "missing.csv", "../", "/dev/null", "f0.yaml/", NULL};
        if (fuzz_one_in(g->r, 4)) put(g, fuzz_pick(g->r, p));
        else fuzz_buf_printf(g->b, "f%u.yaml", fuzz_below(g->r, (uint32_t)g->n_files));
        break;
    }
    default:
        if (list_item && g->s->sets && f->type == DF_CFG_STRINGS && strstr(f->key, "sets")) {
            fuzz_buf_puts(g->b, "\"");
            size_t at = g->b->len;
            assignment(g);
            /* keep the item one double-quoted scalar */
            for (size_t i = at; i < g->b->len; i++)
                if (g->b->s[i] == '"' || g->b->s[i] == '\\') g->b->s[i] = '_';
            fuzz_buf_puts(g->b, "\"");
        } else if (fuzz_one_in(g->r, 30)) {
            for (int i = 0; i < 300; i++) put(g, "y");
        } else {
            put(g, fuzz_one_in(g->r, 4) ? fuzz_pick(g->r, odd) : fuzz_pick(g->r, words));
        }
        break;
    }
}

static void anchor_or_alias(gen *g, int *aliased) {
    *aliased = 0;
    if (g->n_anchors && fuzz_one_in(g->r, 10)) {
        fuzz_buf_printf(g->b, " *a%u\n", fuzz_below(g->r, (uint32_t)g->n_anchors + 1));
        *aliased = 1;
    } else if (fuzz_one_in(g->r, 8)) {
        fuzz_buf_printf(g->b, " &a%d", g->n_anchors++);
    }
}

static void tree(gen *g, int ind, int depth);

static void flow(gen *g, int depth) {
    int n = (int)fuzz_below(g->r, 4);
    int map = fuzz_one_in(g->r, 2);
    put(g, map ? "{" : "[");
    for (int i = 0; i < n; i++) {
        if (i) put(g, ", ");
        if (map) fuzz_buf_printf(g->b, "%s: ", fuzz_pick(g->r, words));
        if (depth < MAX_DEPTH && fuzz_one_in(g->r, 3)) flow(g, depth + 1);
        else scalar_of(g, NULL, 0);
    }
    put(g, map ? "}" : "]");
}

/* A block mapping of n random keys at indent ind. */
static void block_map(gen *g, int ind, int depth, int n) {
    for (int i = 0; i < n; i++) {
        indent(g, ind);
        fuzz_buf_printf(g->b, "%s%d:", fuzz_pick(g->r, words), i);
        tree(g, ind, depth + 1);
    }
}

/* A random value written after an indicator at indent ind. */
static void tree(gen *g, int ind, int depth) {
    int aliased;
    anchor_or_alias(g, &aliased);
    if (aliased) return;
    uint32_t k = depth >= MAX_DEPTH ? 0 : fuzz_below(g->r, 6);
    if (k <= 1) {
        put(g, " ");
        scalar_of(g, NULL, 0);
        put(g, "\n");
    } else if (k == 2) {
        put(g, " ");
        flow(g, depth + 1);
        put(g, "\n");
    } else if (k == 3 || k == 4) {
        put(g, "\n");
        block_map(g, ind + 2, depth, 1 + (int)fuzz_below(g->r, 3));
    } else {
        put(g, "\n");
        int n = 1 + (int)fuzz_below(g->r, 3);
        for (int i = 0; i < n; i++) {
            indent(g, ind + 2);
            put(g, "-");
            tree(g, ind + 2, depth + 1);
        }
    }
}

static void section(gen *g, const df_cfg_section *sec, int ind, int depth);

/* The value of field f written after its "key:" at indent ind. */
static void field_value(gen *g, const df_cfg_field *f, int ind, int depth) {
    if (fuzz_one_in(g->r, 14)) { /* another shape than the field's */
        tree(g, ind, depth);
        return;
    }
    int aliased;
    anchor_or_alias(g, &aliased);
    if (aliased) return;
    switch (f->type) {
    case DF_CFG_SECTION:
        if (fuzz_one_in(g->r, 12)) {
            put(g, " {}\n");
        } else {
            put(g, "\n");
            section(g, f->sub, ind + 2, depth + 1);
        }
        return;
    case DF_CFG_STRINGS:
    case DF_CFG_INTS:
    case DF_CFG_DOUBLES: {
        int n = fuzz_one_in(g->r, 8) ? f->capacity - 1 + (int)fuzz_below(g->r, 3) : (int)fuzz_below(g->r, 4);
        if (n == 0 || fuzz_one_in(g->r, 2)) {
            put(g, " [");
            for (int i = 0; i < n; i++) {
                if (i) put(g, ", ");
                scalar_of(g, f, 1);
            }
            put(g, "]\n");
        } else {
            put(g, "\n");
            for (int i = 0; i < n; i++) {
                indent(g, ind + 2);
                put(g, "- ");
                scalar_of(g, f, 1);
                put(g, "\n");
            }
        }
        return;
    }
    default:
        put(g, " ");
        scalar_of(g, f, 0);
        put(g, "\n");
        return;
    }
}

/* A mapping of some of sec's keys at indent ind, sometimes with an unknown key. */
static void section(gen *g, const df_cfg_section *sec, int ind, int depth) {
    int wrote = 0;
    for (int i = 0; i < sec->n_fields; i++) {
        const df_cfg_field *f = &sec->fields[i];
        if (!fuzz_one_in(g->r, f->required || f->type == DF_CFG_SECTION ? 5 : 2)) continue;
        indent(g, ind);
        put(g, fuzz_one_in(g->r, 40) ? "epoch" : f->key); /* now and then a near miss */
        put(g, ":");
        field_value(g, f, ind, depth);
        wrote = 1;
        if (fuzz_one_in(g->r, 50)) { /* the same key twice */
            indent(g, ind);
            fuzz_buf_printf(g->b, "%s: 1\n", f->key);
        }
    }
    if (fuzz_one_in(g->r, 6) || !wrote) {
        indent(g, ind);
        fuzz_buf_printf(g->b, "%s:", fuzz_one_in(g->r, 6) ? "<<" : fuzz_pick(g->r, words));
        tree(g, ind, depth + 1);
    }
}

static void base_line(gen *g) {
    int n = fuzz_one_in(g->r, 3) ? 0 : 1 + (int)fuzz_below(g->r, 5);
    put(g, "base:");
    if (n == 0) {
        if (fuzz_one_in(g->r, 6)) put(g, fuzz_one_in(g->r, 2) ? " []\n" : " ~\n");
        else fuzz_buf_printf(g->b, " f%u.yaml\n", fuzz_below(g->r, (uint32_t)g->n_files));
        return;
    }
    int block = fuzz_one_in(g->r, 2);
    put(g, block ? "\n" : " [");
    for (int i = 0; i < n; i++) {
        if (block) put(g, "  - ");
        else if (i) put(g, ", ");
        /* mostly files after this one, so chains and diamonds are more common than cycles */
        uint32_t k = g->self + 1 < g->n_files && !fuzz_one_in(g->r, 5)
                         ? (uint32_t)g->self + 1 + fuzz_below(g->r, (uint32_t)(g->n_files - g->self - 1))
                         : fuzz_below(g->r, (uint32_t)g->n_files + 1);
        if (fuzz_one_in(g->r, 12)) put(g, fuzz_one_in(g->r, 2) ? "[f1.yaml]" : "''");
        else fuzz_buf_printf(g->b, "f%u.yaml", k);
        if (block) put(g, "\n");
    }
    if (!block) put(g, "]\n");
}

void fuzz_yaml_file(fuzz_rng *r, const fuzz_yaml_schemas *s, const df_cfg_section *schema, int self, int n_files,
                    fuzz_buf *b) {
    gen g = {r, b, s, self, n_files, 0};
    if (fuzz_one_in(r, 30)) { /* the top level is not a mapping */
        put(&g, "-");
        tree(&g, 0, 0);
        return;
    }
    if (n_files > 1 && !fuzz_one_in(r, 3)) base_line(&g);
    section(&g, schema, 0, 0);
}

size_t fuzz_yaml_input(fuzz_rng *r, const fuzz_yaml_schemas *s, uint8_t *out, size_t max) {
    fuzz_buf b = {0};
    int n_files = 1 + (int)fuzz_below(r, FUZZ_MAX_FILES);
    for (int i = 0; i < n_files; i++) {
        if (i) fuzz_buf_puts(&b, "\n" FUZZ_FILE_MARK "\n");
        fuzz_yaml_file(r, s, i ? s->others : s->first, i, n_files, &b);
    }
    int n_sets = fuzz_one_in(r, 2) ? 0 : 1 + (int)fuzz_below(r, 4);
    if (n_sets) fuzz_buf_puts(&b, "\n" FUZZ_SET_MARK);
    for (int i = 0; i < n_sets; i++) {
        gen g = {r, &b, s, 0, n_files, 0};
        fuzz_buf_puts(&b, "\n");
        assignment(&g);
    }
    size_t n = fuzz_emit(&b, out, max);
    fuzz_buf_free(&b);
    return n;
}

/* The byte range of file k in an input, or 0 if it has no file k. */
static int file_range(const uint8_t *data, size_t size, int k, size_t *begin, size_t *end) {
    const char *mark = "\n" FUZZ_FILE_MARK "\n";
    size_t mlen = strlen(mark), at = 0;
    for (int i = 0; i < k; i++) {
        const uint8_t *m = memmem(data + at, size - at, mark, mlen);
        if (!m) return 0;
        at = (size_t)(m - data) + mlen;
    }
    const uint8_t *m = memmem(data + at, size - at, mark, mlen);
    *begin = at;
    *end = m ? (size_t)(m - data) : size;
    return 1;
}

size_t fuzz_yaml_mutate(const fuzz_yaml_schemas *s, uint8_t *data, size_t size, size_t max, unsigned seed) {
    fuzz_rng r = fuzz_rng_make(seed);
    uint32_t what = fuzz_below(&r, 10);
    if (what == 0) {
        size_t n = fuzz_yaml_input(&r, s, data, max);
        if (n) return n;
    } else if (what <= 2) { /* one file of the input replaced by a generated one */
        int k = (int)fuzz_below(&r, 4);
        size_t begin, end;
        if (file_range(data, size, k, &begin, &end)) {
            fuzz_buf b = {0};
            fuzz_buf_put(&b, data, begin);
            fuzz_yaml_file(&r, s, k ? s->others : s->first, k, 4, &b);
            fuzz_buf_put(&b, data + end, size - end);
            size_t n = fuzz_emit(&b, data, max);
            fuzz_buf_free(&b);
            if (n) return n;
        }
    } else if (what == 3) { /* an override appended */
        fuzz_buf b = {0};
        fuzz_buf_put(&b, data, size);
        if (!memmem(data, size, FUZZ_SET_MARK, strlen(FUZZ_SET_MARK))) fuzz_buf_puts(&b, "\n" FUZZ_SET_MARK);
        fuzz_buf_puts(&b, "\n");
        gen g = {&r, &b, s, 0, 4, 0};
        assignment(&g);
        size_t n = fuzz_emit(&b, data, max);
        fuzz_buf_free(&b);
        if (n) return n;
    }
    return LLVMFuzzerMutate(data, size, max);
}
