/* args.c: the table-driven command-line parser (see args.h). */
#include "train/cli/args.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int is_help(const char *a) { return !strcmp(a, "--help") || !strcmp(a, "-h"); }

/* "jpg or png", "train, valid or test". */
static void write_choices(const char *const *c, FILE *f) {
    int n = 0;
    while (c[n]) n++;
    for (int i = 0; i < n; i++) fprintf(f, "%s%s", i == 0 ? "" : (i == n - 1 ? " or " : ", "), c[i]);
}

/* What a value of o must be, as in "expected an integer in 1..1024". */
static void write_expected(const df_arg_opt *o, FILE *f) {
    switch (o->kind) {
    case DF_ARG_INT: fprintf(f, "an integer in %.0f..%.0f", o->lo, o->hi); break;
    case DF_ARG_NUMBER: fprintf(f, "a number in %g..%g", o->lo, o->hi); break;
    case DF_ARG_U64: fprintf(f, "a non-negative integer"); break;
    case DF_ARG_CHOICE: write_choices(o->choices, f); break;
    default: fprintf(f, "%s", o->metavar ? o->metavar : "a value"); break;
    }
}

void df_args_usage(const df_args_spec *s, FILE *f) {
    fprintf(f, "usage: dermfuse %s", s->command);
    for (int i = 0; i < s->n_pos; i++) fprintf(f, " %s", s->pos[i].name);
    for (int i = 0; i < s->n_opts; i++)
        if (s->opts[i].required) fprintf(f, " %s %s", s->opts[i].name, s->opts[i].metavar);
    if (s->n_opts) fprintf(f, " [options]");
    fprintf(f, "\n");
}

/* Writes text from column `col` on, breaking at spaces before column 100; continuation lines start at `indent`. */
static void write_wrapped(const char *text, int col, int indent, FILE *f) {
    const char *p = text;
    while (*p) {
        const char *sp = strchr(p, ' ');
        size_t word = sp ? (size_t)(sp - p) : strlen(p);
        if (p != text && col + 1 + (int)word > 100) {
            fprintf(f, "\n%*s", indent, "");
            col = indent;
        } else if (p != text) {
            fputc(' ', f);
            col++;
        }
        fprintf(f, "%.*s", (int)word, p);
        col += (int)word;
        p += word;
        while (*p == ' ') p++;
    }
}

void df_args_help(const df_args_spec *s, FILE *f) {
    df_args_usage(s, f);
    fprintf(f, "%s\n", s->summary);
    if (s->n_pos + s->n_opts) fprintf(f, "\n");
    for (int i = 0; i < s->n_pos; i++) fprintf(f, "  %-24s %s\n", s->pos[i].name, s->pos[i].help);
    for (int i = 0; i < s->n_opts; i++) {
        const df_arg_opt *o = &s->opts[i];
        char left[96];
        snprintf(left, sizeof left, "%s%s%s", o->name, o->metavar ? " " : "", o->metavar ? o->metavar : "");
        /* The help, what a value must be, and the default, as one text to wrap. */
        char *text = NULL;
        size_t len = 0;
        FILE *t = open_memstream(&text, &len);
        fprintf(t, "%s", o->help);
        if (o->kind == DF_ARG_INT || o->kind == DF_ARG_NUMBER || o->kind == DF_ARG_CHOICE) {
            fprintf(t, " (");
            write_expected(o, t);
            fprintf(t, ")");
        }
        if (o->kind == DF_ARG_STRINGS) fprintf(t, " (repeatable)");
        if (o->required) fprintf(t, " (required)");
        if (o->def) fprintf(t, " [%s]", o->def);
        fclose(t);
        int col = fprintf(f, "  %-24s ", left);
        write_wrapped(text, col, 29, f);
        fprintf(f, "\n");
        free(text);
    }
    fprintf(f, "  %-24s %s\n", "--help", "print this help");
    if (s->examples) fprintf(f, "\nexamples:\n%s", s->examples);
}

/* Reports a bad usage, then the usage line; returns DF_ARGS_BAD. */
static int bad(const df_args_spec *s, FILE *err, const char *fmt, const char *a, const char *b) {
    fprintf(err, "dermfuse %s: ", s->command);
    fprintf(err, fmt, a, b);
    fprintf(err, "\n");
    df_args_usage(s, err);
    return DF_ARGS_BAD;
}

static int bad_value(const df_args_spec *s, const df_arg_opt *o, const char *val, FILE *err) {
    fprintf(err, "dermfuse %s: %s: expected ", s->command, o->name);
    write_expected(o, err);
    if (val) fprintf(err, ", got '%s'\n", val);
    else fprintf(err, ", got nothing\n");
    df_args_usage(s, err);
    return DF_ARGS_BAD;
}

/* Stores val (NULL: missing) in o's destination; returns -1 when it does not fit the option. */
static int store(const df_arg_opt *o, const char *val) {
    if (!val || !*val) return -1;
    char *end;
    errno = 0;
    switch (o->kind) {
    case DF_ARG_STRING: *(const char **)o->dest = val; return 0;
    case DF_ARG_CHOICE:
        for (const char *const *c = o->choices; *c; c++)
            if (!strcmp(*c, val)) {
                *(const char **)o->dest = val;
                return 0;
            }
        return -1;
    case DF_ARG_INT: {
        long long v = strtoll(val, &end, 10);
        if (errno || *end || v < o->lo || v > o->hi) return -1;
        *(int *)o->dest = (int)v;
        return 0;
    }
    case DF_ARG_U64: {
        if (*val == '-') return -1;
        unsigned long long v = strtoull(val, &end, 10);
        if (errno || *end) return -1;
        *(unsigned long long *)o->dest = v;
        return 0;
    }
    case DF_ARG_NUMBER: {
        double v = strtod(val, &end);
        if (errno || *end || !(v >= o->lo && v <= o->hi)) return -1;
        *(double *)o->dest = v;
        return 0;
    }
    default: return -1;
    }
}

int df_args_parse(const df_args_spec *s, int argc, char **argv, FILE *out, FILE *err) {
    for (int i = 1; i < argc; i++)
        if (is_help(argv[i])) {
            df_args_help(s, out);
            return DF_ARGS_HELP;
        }
    int n_pos = 0;
    char seen[128] = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-') {
            if (n_pos == s->n_pos) return bad(s, err, "unexpected argument '%s'%s", a, "");
            *s->pos[n_pos++].dest = a;
            continue;
        }
        const char *eq = strchr(a, '=');
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        int k = 0;
        while (k < s->n_opts && (strlen(s->opts[k].name) != len || strncmp(s->opts[k].name, a, len))) k++;
        if (k == s->n_opts) {
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)len, a);
            return bad(s, err, "unknown option '%s'%s (see --help)", name, "");
        }
        const df_arg_opt *o = &s->opts[k];
        if (k < (int)sizeof seen) seen[k] = 1;
        if (o->given) *o->given = 1;
        if (o->kind == DF_ARG_FLAG) {
            if (eq) return bad(s, err, "%s takes no value, got '%s'", o->name, eq + 1);
            *(int *)o->dest = 1;
            continue;
        }
        const char *val = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (o->kind == DF_ARG_STRINGS) {
            df_arg_list *l = o->dest;
            if (!val || !*val) return bad_value(s, o, val, err);
            if (l->n == DF_ARG_LIST_MAX) {
                fprintf(err, "dermfuse %s: at most %d %s options\n", s->command, DF_ARG_LIST_MAX, o->name);
                return DF_ARGS_BAD;
            }
            l->v[l->n++] = val;
        } else if (store(o, val)) {
            return bad_value(s, o, val, err);
        }
    }
    if (n_pos < s->n_pos) return bad(s, err, "missing %s%s", s->pos[n_pos].name, "");
    for (int k = 0; k < s->n_opts && k < (int)sizeof seen; k++)
        if (s->opts[k].required && !seen[k])
            return bad(s, err, "%s %s is required (see --help)", s->opts[k].name, s->opts[k].metavar);
    return DF_ARGS_OK;
}
