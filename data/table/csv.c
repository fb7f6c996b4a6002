/* csv.c: the CSV reader (see csv.h). One pass over the text; field bytes go into one growing buffer and
 * offsets are turned into pointers at the end, so a table is four allocations whatever its size. */
#include "data/table/csv.h"

#include <stdlib.h>
#include <string.h>

#include "core/io/files.h"

typedef struct {
    char *text;
    size_t text_len, text_cap;
    size_t *offs;
    size_t n_fields, offs_cap;
    int *lines;
    int n_records, lines_cap;
} builder;

static void put_byte(builder *b, char c) {
    if (b->text_len == b->text_cap) {
        b->text_cap = b->text_cap ? b->text_cap * 2 : 4096;
        b->text = df_realloc(b->text, b->text_cap);
    }
    b->text[b->text_len++] = c;
}

static void start_field(builder *b) {
    if (b->n_fields == b->offs_cap) {
        b->offs_cap = b->offs_cap ? b->offs_cap * 2 : 256;
        b->offs = df_realloc(b->offs, b->offs_cap * sizeof *b->offs);
    }
    b->offs[b->n_fields++] = b->text_len;
}

static void add_record(builder *b, int line) {
    if (b->n_records == b->lines_cap) {
        b->lines_cap = b->lines_cap ? b->lines_cap * 2 : 256;
        b->lines = df_realloc(b->lines, (size_t)b->lines_cap * sizeof *b->lines);
    }
    b->lines[b->n_records++] = line;
}

static void builder_free(builder *b) {
    free(b->text);
    free(b->offs);
    free(b->lines);
}

static int is_break(char c) { return c == '\n' || c == '\r'; }

/* Parses one field starting at *pp; leaves *pp on the separator, line break or end. */
static int parse_field(const char *s, size_t len, size_t *pp, int *line, builder *b, const char *name,
                       df_error *err) {
    size_t p = *pp;
    start_field(b);
    if (p < len && s[p] == '"') {
        int open_line = *line;
        p++;
        for (;;) {
            if (p >= len)
                return df_fail(err, "%s:%d: quoted field opened here is never closed (end of file reached)",
                               name, open_line);
            char c = s[p];
            if (c == '\0') return df_fail(err, "%s:%d: NUL byte in text (not a CSV file?)", name, *line);
            if (c == '"') {
                if (p + 1 < len && s[p + 1] == '"') {
                    put_byte(b, '"');
                    p += 2;
                    continue;
                }
                p++;
                break;
            }
            if (c == '\n' || (c == '\r' && !(p + 1 < len && s[p + 1] == '\n'))) (*line)++;
            put_byte(b, c);
            p++;
        }
        if (p < len && s[p] != ',' && !is_break(s[p]))
            return df_fail(err, "%s:%d: unexpected character '%c' after a closing quote (expected ',' or end of line)",
                           name, *line, s[p]);
    } else {
        while (p < len && s[p] != ',' && !is_break(s[p])) {
            if (s[p] == '\0') return df_fail(err, "%s:%d: NUL byte in text (not a CSV file?)", name, *line);
            put_byte(b, s[p++]);
        }
    }
    put_byte(b, '\0');
    *pp = p;
    return 0;
}

/* Consumes one line break at *pp (LF, CRLF or CR). */
static void skip_break(const char *s, size_t len, size_t *pp, int *line) {
    size_t p = *pp;
    if (s[p] == '\r' && p + 1 < len && s[p + 1] == '\n') p++;
    *pp = p + 1;
    (*line)++;
}

static int check_header(const df_csv *t, df_error *err) {
    for (int i = 0; i < t->n_cols; i++) {
        if (!t->header[i][0]) continue; /* an unnamed index column, as some exporters write */
        for (int j = 0; j < i; j++)
            if (!strcmp(t->header[i], t->header[j]))
                return df_fail(err, "%s:1: column '%s' appears twice (columns %d and %d)", t->path, t->header[i],
                               j + 1, i + 1);
    }
    return 0;
}

int df_csv_parse(const char *s, size_t len, const char *name, df_csv *t, df_error *err) {
    memset(t, 0, sizeof *t);
    builder b = {0};
    size_t p = 0;
    int line = 1, n_cols = -1;
    if (len >= 3 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB && (unsigned char)s[2] == 0xBF)
        p = 3;
    while (p < len) {
        if (is_break(s[p])) { /* an empty line */
            skip_break(s, len, &p, &line);
            continue;
        }
        int rec_line = line;
        size_t first = b.n_fields;
        for (;;) {
            if (parse_field(s, len, &p, &line, &b, name, err)) goto fail;
            if (p < len && s[p] == ',') {
                p++;
                continue;
            }
            if (p < len) skip_break(s, len, &p, &line);
            break;
        }
        int got = (int)(b.n_fields - first);
        if (n_cols < 0) {
            n_cols = got;
        } else if (got != n_cols) {
            df_fail(err, "%s:%d: %d field%s, expected %d (the header has %d columns)", name, rec_line, got,
                    got == 1 ? "" : "s", n_cols, n_cols);
            goto fail;
        }
        add_record(&b, rec_line);
    }
    if (n_cols < 0) {
        df_fail(err, "%s: empty file, expected a header line", name);
        goto fail;
    }

    t->path = df_strdup(name);
    t->n_cols = n_cols;
    t->n_rows = b.n_records - 1;
    t->text_ = b.text ? b.text : df_calloc(1, 1);
    t->header = df_malloc((size_t)n_cols * sizeof *t->header);
    t->fields = df_malloc((size_t)t->n_rows * (size_t)n_cols * sizeof *t->fields);
    t->lines = df_malloc((size_t)(t->n_rows ? t->n_rows : 1) * sizeof *t->lines);
    for (int c = 0; c < n_cols; c++) t->header[c] = t->text_ + b.offs[c];
    for (size_t i = (size_t)n_cols; i < b.n_fields; i++) t->fields[i - (size_t)n_cols] = t->text_ + b.offs[i];
    for (int r = 0; r < t->n_rows; r++) t->lines[r] = b.lines[r + 1];
    free(b.offs);
    free(b.lines);
    if (check_header(t, err)) {
        df_csv_free(t);
        return -1;
    }
    return 0;
fail:
    builder_free(&b);
    return -1;
}

int df_csv_read(const char *path, df_csv *t, df_error *err) {
    memset(t, 0, sizeof *t);
    unsigned char *buf;
    size_t len;
    if (df_read_file(path, DF_CSV_MAX_FILE_BYTES, &buf, &len, err)) return -1;
    int rc = df_csv_parse((const char *)buf, len, path, t, err);
    free(buf);
    return rc;
}

void df_csv_free(df_csv *t) {
    if (!t) return;
    void *owned[] = {t->path, t->header, t->fields, t->lines, t->text_};
    for (size_t i = 0; i < sizeof owned / sizeof *owned; i++) free(owned[i]);
    memset(t, 0, sizeof *t);
}

int df_csv_col(const df_csv *t, const char *name) {
    for (int c = 0; c < t->n_cols; c++)
        if (!strcmp(t->header[c], name)) return c;
    return -1;
}

int df_csv_require_cols(const df_csv *t, const char *const *names, int n, df_error *err) {
    char missing[768];
    size_t used = 0;
    int n_missing = 0;
    missing[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (df_csv_col(t, names[i]) >= 0) continue;
        int w = snprintf(missing + used, sizeof missing - used, "%s'%s'", n_missing ? ", " : "", names[i]);
        if (w > 0) used += (size_t)w < sizeof missing - used ? (size_t)w : sizeof missing - used - 1;
        n_missing++;
    }
    if (!n_missing) return 0;
    return df_fail(err, "%s:1: missing column%s %s", t->path, n_missing == 1 ? "" : "s", missing);
}

int df_named_cmp(const void *a, const void *b) {
    const df_named *x = a, *y = b;
    int c = x->name && y->name ? strcmp(x->name, y->name) : 0;
    return c ? c : (x->pos > y->pos) - (x->pos < y->pos);
}
