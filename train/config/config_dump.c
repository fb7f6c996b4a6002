/* config_dump.c: writing configs back out: a tree as YAML, a bound struct as YAML or as a table, and
 * comparing two bound structs (see config_tree.h, config_schema.h).
 *
 * Bound structs are first turned into a tree, so one writer serves both and equality of two structs is
 * equality of their trees' texts. Numbers are written with the fewest digits that read back to the same
 * double, so a dumped config reloads bit for bit. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/io/files.h"
#include "train/config/config_schema.h"
#include "train/config/config_tree.h"

/* ---- the YAML writer ---- */

static int flow_char(char ch) {
    return ch == ',' || ch == '[' || ch == ']' || ch == '{' || ch == '}';
}

/* Text a YAML reader takes as this very string when written plain, in block or flow context. */
static int plain_safe(const char *t) {
    size_t n = strlen(t);
    if (!n || t[0] == ' ' || t[n - 1] == ' ' || t[n - 1] == ':') return 0;
    if (strchr("-?:#&*!|>'\"%@`", t[0]) && !(t[0] == '-' && n > 1 && t[1] != ' ')) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)t[i];
        if (ch < 0x20 || ch >= 0x7f || flow_char((char)ch)) return 0;
        /* ": " ends a key; in a flow sequence libyaml also refuses ':' before '?' (and before ':' followed by
         * a flow character) */
        if (ch == ':' && (t[i + 1] == ' ' || t[i + 1] == '?' || t[i + 1] == ':')) return 0;
        if (ch == '#' && t[i - 1] == ' ') return 0; /* i > 0: t[0] == '#' was refused above */
    }
    return 1;
}

/* A plain string a YAML reader would take as something else: null, a boolean (1.1 or 1.2), a number. */
static int looks_typed(const char *t) {
    static const char *const words[] = {"~", "null", "true", "false", "yes", "no", "on", "off", "y", "n", NULL};
    for (int i = 0; words[i]; i++)
        if (!strcasecmp(t, words[i])) return 1;
    return strchr("0123456789+-.", t[0]) != NULL;
}

static int write_quoted(FILE *f, const char *t) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)t; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p == '\n') fputs("\\n", f);
        else if (*p == '\t') fputs("\\t", f);
        else if (*p < 0x20 || *p == 0x7f) fprintf(f, "\\x%02x", *p);
        /* Escaped too: what a YAML reader refuses raw (the C1 controls U+0080..U+009F, U+FFFE, U+FFFF) or
         * reads as a line break even inside quotes, folding it into a space (NEL, a C1 control, LS, PS) */
        else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) fprintf(f, "\\x%02x", p[1]), p++;
        else if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9))
            fputs(p[2] == 0xa8 ? "\\L" : "\\P", f), p += 2;
        else if (p[0] == 0xef && p[1] == 0xbf && (p[2] == 0xbe || p[2] == 0xbf))
            fputs(p[2] == 0xbe ? "\\uFFFE" : "\\uFFFF", f), p += 2;
        else fputc(*p, f);
    }
    return fputc('"', f) == EOF ? -1 : 0;
}

static void write_scalar(FILE *f, const df_cfg_node *n) {
    if (!n->quoted && df_cfg_is_null(n)) fputs(n->text[0] ? n->text : "null", f);
    else if (plain_safe(n->text) && !(n->quoted && looks_typed(n->text))) fputs(n->text, f);
    else write_quoted(f, n->text);
}

static int all_scalars(const df_cfg_node *seq) {
    for (int i = 0; i < seq->n; i++)
        if (seq->items[i]->kind != DF_CFG_NODE_SCALAR) return 0;
    return 1;
}

static void write_block(FILE *f, const df_cfg_node *n, int indent, int inline_first);

static void write_flow_seq(FILE *f, const df_cfg_node *seq) {
    fputc('[', f);
    for (int i = 0; i < seq->n; i++) {
        if (i) fputs(", ", f);
        write_scalar(f, seq->items[i]);
    }
    fputc(']', f);
}

/* Writes what follows "key:" or "-": a value on the same line, or a nested block on the next lines. */
static void write_after_indicator(FILE *f, const df_cfg_node *v, int indent, int in_seq) {
    if (v->kind == DF_CFG_NODE_SCALAR) {
        fputc(' ', f);
        write_scalar(f, v);
        fputc('\n', f);
    } else if (v->n == 0) {
        fputs(v->kind == DF_CFG_NODE_MAP ? " {}\n" : " []\n", f);
    } else if (v->kind == DF_CFG_NODE_SEQ && all_scalars(v)) {
        fputc(' ', f);
        write_flow_seq(f, v);
        fputc('\n', f);
    } else if (in_seq) {
        /* "- key: value" with the rest of the mapping (or "- - item") aligned after the dash */
        fputc(' ', f);
        write_block(f, v, indent + 2, 1);
    } else {
        fputc('\n', f);
        write_block(f, v, indent + 2, 0);
    }
}

static void write_block(FILE *f, const df_cfg_node *n, int indent, int inline_first) {
    for (int i = 0; i < n->n; i++) {
        if (!(inline_first && i == 0)) fprintf(f, "%*s", indent, "");
        if (n->kind == DF_CFG_NODE_MAP) {
            const df_cfg_node *k = n->keys[i];
            if (plain_safe(k->text) && !looks_typed(k->text)) fputs(k->text, f);
            else write_quoted(f, k->text);
            fputc(':', f);
            write_after_indicator(f, n->items[i], indent, 0);
        } else {
            fputc('-', f);
            write_after_indicator(f, n->items[i], indent, 1);
        }
    }
}

int df_cfg_dump(const df_cfg_node *node, FILE *f) {
    if (node->kind == DF_CFG_NODE_SCALAR) {
        write_scalar(f, node);
        fputc('\n', f);
    } else if (node->n == 0) {
        fputs(node->kind == DF_CFG_NODE_MAP ? "{}\n" : "[]\n", f);
    } else {
        write_block(f, node, 0, 0);
    }
    return ferror(f) ? -1 : 0;
}

/* ---- bound structs as trees ---- */

static const char resolved_file[] = "<resolved config>";

/* The shortest %g text that strtod reads back to exactly v; always with a '.' or an exponent so other YAML
 * readers see a float. */
static void format_double(double v, char *buf, size_t size) {
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    if (!strpbrk(buf, ".en")) strncat(buf, ".0", size - strlen(buf) - 1);
    char *e = strchr(buf, 'e');
    if (e && !memchr(buf, '.', (size_t)(e - buf))) {
        char tail[32];
        snprintf(tail, sizeof tail, "%s", e);
        snprintf(e, size - (size_t)(e - buf), ".0%s", tail);
    }
}

static df_cfg_node *scalar(const char *text, int quoted) {
    return df_cfg_new(DF_CFG_NODE_SCALAR, text ? text : "", quoted, resolved_file, "/", 0, 0);
}

static df_cfg_node *item_node(const df_cfg_field *f, const char *p, int i) {
    char buf[64];
    switch (f->type) {
    case DF_CFG_BOOL: return scalar(*(const int *)p ? "true" : "false", 0);
    case DF_CFG_INT: snprintf(buf, sizeof buf, "%d", *(const int *)p); return scalar(buf, 0);
    case DF_CFG_LONG: snprintf(buf, sizeof buf, "%ld", *(const long *)p); return scalar(buf, 0);
    case DF_CFG_INTS: snprintf(buf, sizeof buf, "%ld", ((const long *)p)[i]); return scalar(buf, 0);
    case DF_CFG_DOUBLE: format_double(*(const double *)p, buf, sizeof buf); return scalar(buf, 0);
    case DF_CFG_DOUBLES: format_double(((const double *)p)[i], buf, sizeof buf); return scalar(buf, 0);
    case DF_CFG_STRINGS: return scalar(((char *const *)p)[i], 1);
    case DF_CFG_ENUM: return scalar(f->choices[*(const int *)p], 1);
    default: return scalar(*(char *const *)p, 1);
    }
}

/* The schema check allows DF_CFG_OMIT_DEFAULT on scalars (not strings or paths) with a default, and on lists
 * defaulting to [] only. A default is bound through strtod/strtol as the field's value is, so == compares them. */
static int omitted(const df_cfg_field *f, const char *base) {
    if (!(f->flags & DF_CFG_OMIT_DEFAULT)) return 0;
    const char *p = base + f->offset;
    switch (f->type) {
    case DF_CFG_ENUM: return !strcmp(f->choices[*(const int *)p], f->def);
    case DF_CFG_BOOL: return *(const int *)p == !strcmp(f->def, "true");
    case DF_CFG_INT: return *(const int *)p == (int)strtol(f->def, NULL, 10);
    case DF_CFG_LONG: return *(const long *)p == strtol(f->def, NULL, 10);
    case DF_CFG_DOUBLE: return *(const double *)p == strtod(f->def, NULL);
    default: return *(const int *)(base + f->count_offset) == 0;
    }
}

df_cfg_node *df_cfg_from_struct(const df_cfg_section *s, const void *obj) {
    const char *base = obj;
    df_cfg_node *map = df_cfg_new(DF_CFG_NODE_MAP, "", 0, resolved_file, "/", 0, 0);
    for (int i = 0; i < s->n_fields; i++) {
        const df_cfg_field *f = &s->fields[i];
        const char *p = base + f->offset;
        df_cfg_node *v;
        if (omitted(f, base)) continue;
        if (f->type == DF_CFG_SECTION) {
            v = df_cfg_from_struct(f->sub, p);
        } else if (f->type == DF_CFG_STRINGS || f->type == DF_CFG_INTS || f->type == DF_CFG_DOUBLES) {
            v = df_cfg_new(DF_CFG_NODE_SEQ, "", 0, resolved_file, "/", 0, 0);
            int count = *(const int *)(base + f->count_offset);
            for (int k = 0; k < count; k++) df_cfg_append(v, NULL, item_node(f, p, k));
        } else {
            v = item_node(f, p, 0);
        }
        df_cfg_append(map, scalar(f->key, 0), v);
    }
    return map;
}

int df_cfg_dump_struct(const df_cfg_section *s, const void *obj, FILE *f) {
    df_cfg_node *tree = df_cfg_from_struct(s, obj);
    int rc = df_cfg_dump(tree, f);
    df_cfg_free(tree);
    return rc;
}

char *df_cfg_to_yaml(const df_cfg_section *s, const void *obj) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) df_abort_at(__FILE__, __LINE__, "open_memstream failed");
    int rc = df_cfg_dump_struct(s, obj, f);
    if (fclose(f) || rc) df_abort_at(__FILE__, __LINE__, "writing a config to memory failed");
    return text;
}

/* ---- table and comparison ---- */

static void print_leaves(const df_cfg_section *s, const df_cfg_node *tree, const char *prefix, FILE *f) {
    for (int i = 0, j = 0; i < s->n_fields; i++) {
        const df_cfg_field *fd = &s->fields[i];
        if (j >= tree->n || strcmp(tree->keys[j]->text, fd->key) != 0) continue; /* omitted at its default */
        const df_cfg_node *v = tree->items[j++];
        char path[256];
        if (prefix[0]) snprintf(path, sizeof path, "%s.%s", prefix, fd->key);
        else snprintf(path, sizeof path, "%s", fd->key);
        if (fd->type == DF_CFG_SECTION) {
            print_leaves(fd->sub, v, path, f);
            continue;
        }
        char *value = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&value, &len);
        if (!m) df_abort_at(__FILE__, __LINE__, "open_memstream failed");
        if (v->kind == DF_CFG_NODE_SEQ) {
            write_flow_seq(m, v);
        } else if (v->quoted && !v->text[0]) {
            fputs("''", m);
        } else if (fd->type == DF_CFG_PATH) { /* shown from the working directory where it lies below it */
            char *shown = df_path_shown(v->text);
            fputs(shown, m);
            free(shown);
        } else {
            fputs(v->text, m);
        }
        fclose(m);
        if (fd->help) fprintf(f, "  %-28s %-20s  # %s\n", path, value, fd->help);
        else fprintf(f, "  %-28s %s\n", path, value);
        free(value);
    }
}

void df_cfg_print_table(const df_cfg_section *s, const void *obj, FILE *f) {
    df_cfg_node *tree = df_cfg_from_struct(s, obj);
    print_leaves(s, tree, "", f);
    df_cfg_free(tree);
}

static int skipped(const char *path, const char *const *skip) {
    for (; skip && *skip; skip++)
        if (!strcmp(path, *skip)) return 1;
    return 0;
}

static int same_tree(const df_cfg_node *a, const df_cfg_node *b, const char *path, const char *const *skip,
                     char *where, size_t size) {
    if (skipped(path, skip)) return 1;
    if (a->kind != b->kind || a->n != b->n || strcmp(a->text, b->text) != 0) {
        snprintf(where, size, "%s", path);
        return 0;
    }
    for (int i = 0; i < a->n; i++) {
        char sub[256];
        if (a->keys) snprintf(sub, sizeof sub, "%s%s%s", path, path[0] ? "." : "", a->keys[i]->text);
        else snprintf(sub, sizeof sub, "%s[%d]", path, i);
        if (a->keys && strcmp(a->keys[i]->text, b->keys[i]->text) != 0) { /* a key renamed or reordered */
            snprintf(where, size, "%s", sub);
            return 0;
        }
        if (!same_tree(a->items[i], b->items[i], sub, skip, where, size)) return 0;
    }
    return 1;
}

int df_cfg_compare(const df_cfg_section *s, const void *a, const void *b, char *where, size_t where_size) {
    df_cfg_node *ta = df_cfg_from_struct(s, a), *tb = df_cfg_from_struct(s, b);
    char scratch[256];
    if (!where) where = scratch, where_size = sizeof scratch;
    where[0] = '\0';
    int same = same_tree(ta, tb, "", NULL, where, where_size);
    df_cfg_free(ta);
    df_cfg_free(tb);
    return same ? 0 : 1;
}

int df_cfg_tree_diff(const df_cfg_node *a, const df_cfg_node *b, const char *const *skip, char *where,
                     size_t where_size) {
    where[0] = '\0';
    return same_tree(a, b, "", skip, where, where_size) ? 0 : 1;
}
