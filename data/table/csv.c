/* csv.c: the CSV reader (see csv.h). One pass over the text; field bytes go into one growing buffer and
 * offsets are turned into pointers at the end, so a table is four allocations whatever its size. */
#include "data/table/csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/io/files.h"
#include "data/table/utf8.h"

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

/* One parse: the text, where the scan is, and the limits it runs under. */
typedef struct {
    const char *s;
    size_t len, p;
    int line;          /* 1-based line of s[p] */
    size_t line_start; /* offset where that line starts */
    const char *name;
    const df_csv_limits *lim;
    int n_cols;        /* fields of the header, -1 until it is read */
    builder b;
} parser;

static int over_line(parser *q, df_error *err) {
    return df_fail(err, "%s:%d: line is longer than %zu bytes (the limit DF_CSV_MAX_LINE_BYTES); is this a CSV "
                   "file with line breaks?", q->name, q->line, q->lim->max_line_bytes);
}

/* Consumes the byte at q->p, which may be a line break inside a quoted field (CRLF counts once). */
static void advance(parser *q) {
    char c = q->s[q->p++];
    if (c == '\n' || (c == '\r' && !(q->p < q->len && q->s[q->p] == '\n'))) {
        q->line++;
        q->line_start = q->p;
    }
}

/* Puts one byte of the current field, within the field limit and (for a byte that is not a line break inside
 * quotes) the line limit. */
static int field_byte(parser *q, char c, int col, df_error *err) {
    if (c == '\0') return df_fail(err, "%s:%d: NUL byte in text (not a CSV file?)", q->name, q->line);
    if (!is_break(c) && q->p - q->line_start >= q->lim->max_line_bytes) return over_line(q, err);
    if (q->b.text_len - q->b.offs[q->b.n_fields - 1] >= q->lim->max_field_bytes)
        return df_fail(err, "%s:%d: column %d: field is longer than %zu bytes (the limit DF_CSV_MAX_FIELD_BYTES)",
                       q->name, q->line, col + 1, q->lim->max_field_bytes);
    put_byte(&q->b, c);
    return 0;
}

/* The field just read (from offset `from` of the builder's text) must be UTF-8. */
static int check_utf8(parser *q, size_t from, int line, int col, df_error *err) {
    size_t n = q->b.text_len - from;
    if (n == 0) return 0; /* an empty field: there may be no text buffer yet to point into */
    size_t bad = df_utf8_invalid_at(q->b.text + from, n);
    if (bad == n) return 0;
    char where[320];
    if (q->n_cols < 0)
        snprintf(where, sizeof where, "header, column %d", col + 1);
    else if (col < q->n_cols)
        snprintf(where, sizeof where, "column %d ('%.200s')", col + 1, q->b.text + q->b.offs[col]);
    else /* a field past the header's last column; the count is reported once the record ends */
        snprintf(where, sizeof where, "column %d", col + 1);
    return df_fail(err, "%s:%d: %s: not valid UTF-8 (byte 0x%02X at offset %zu of the field); save the file "
                   "as UTF-8", q->name, line, where, (unsigned char)q->b.text[from + bad], bad);
}

/* Parses field `col` starting at q->p; leaves q->p on the separator, line break or end. */
static int parse_field(parser *q, int col, df_error *err) {
    const char *s = q->s;
    size_t len = q->len;
    int line = q->line;
    start_field(&q->b);
    size_t from = q->b.text_len;
    if (q->p < len && s[q->p] == '"') {
        int open_line = q->line;
        q->p++;
        for (;;) {
            if (q->p >= len)
                return df_fail(err, "%s:%d: quoted field opened here is never closed (end of file reached)",
                               q->name, open_line);
            char c = s[q->p];
            if (c == '"') {
                if (q->p + 1 < len && s[q->p + 1] == '"') {
                    if (field_byte(q, '"', col, err)) return -1;
                    q->p += 2;
                    continue;
                }
                q->p++;
                break;
            }
            if (field_byte(q, c, col, err)) return -1;
            advance(q);
        }
        if (q->p < len && s[q->p] != ',' && !is_break(s[q->p]))
            return df_fail(err, "%s:%d: unexpected character '%c' after a closing quote (expected ',' or end of line)",
                           q->name, q->line, s[q->p]);
    } else {
        while (q->p < len && s[q->p] != ',' && !is_break(s[q->p])) {
            if (field_byte(q, s[q->p], col, err)) return -1;
            q->p++;
        }
    }
    if (q->p - q->line_start > q->lim->max_line_bytes) return over_line(q, err);
    if (check_utf8(q, from, line, col, err)) return -1;
    put_byte(&q->b, '\0');
    return 0;
}

/* Consumes one line break at q->p (LF, CRLF or CR). */
static void skip_break(parser *q) {
    if (q->s[q->p] == '\r' && q->p + 1 < q->len && q->s[q->p + 1] == '\n') q->p++;
    q->p++;
    q->line++;
    q->line_start = q->p;
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

/* Reads one record at q->p (not on a line break) and checks its field count. */
static int parse_record(parser *q, df_error *err) {
    int rec_line = q->line;
    size_t first = q->b.n_fields;
    for (int col = 0;; col++) {
        if ((size_t)col >= q->lim->max_cols)
            return df_fail(err, "%s:%d: more than %zu fields in a record (the limit DF_CSV_MAX_COLS)", q->name,
                           rec_line, q->lim->max_cols);
        if (q->b.n_fields >= q->lim->max_cells)
            return df_fail(err, "%s:%d: more than %zu fields in the file (the limit DF_CSV_MAX_CELLS)", q->name,
                           rec_line, q->lim->max_cells);
        if (parse_field(q, col, err)) return -1;
        if (q->p < q->len && q->s[q->p] == ',') {
            q->p++;
            continue;
        }
        if (q->p < q->len) skip_break(q);
        break;
    }
    int got = (int)(q->b.n_fields - first);
    if (q->n_cols < 0) {
        q->n_cols = got;
    } else if (got != q->n_cols) {
        return df_fail(err, "%s:%d: %d field%s, expected %d (the header has %d columns)", q->name, rec_line, got,
                       got == 1 ? "" : "s", q->n_cols, q->n_cols);
    } else if ((size_t)q->b.n_records > q->lim->max_rows) {
        return df_fail(err, "%s:%d: more than %zu data rows (the limit DF_CSV_MAX_ROWS)", q->name, rec_line,
                       q->lim->max_rows);
    }
    add_record(&q->b, rec_line);
    return 0;
}

df_csv_limits df_csv_default_limits(void) {
    return (df_csv_limits){DF_CSV_MAX_ROWS, DF_CSV_MAX_COLS, DF_CSV_MAX_CELLS, DF_CSV_MAX_FIELD_BYTES,
                           DF_CSV_MAX_LINE_BYTES};
}

int df_csv_parse(const char *s, size_t len, const char *name, df_csv *t, df_error *err) {
    df_csv_limits lim = df_csv_default_limits();
    return df_csv_parse_limited(s, len, name, &lim, t, err);
}

int df_csv_parse_limited(const char *s, size_t len, const char *name, const df_csv_limits *lim, df_csv *t,
                         df_error *err) {
    memset(t, 0, sizeof *t);
    parser q = {.s = s, .len = len, .line = 1, .name = name, .lim = lim, .n_cols = -1};
    const unsigned char *u = (const unsigned char *)s;
    if (len >= 2 && ((u[0] == 0xFF && u[1] == 0xFE) || (u[0] == 0xFE && u[1] == 0xFF)))
        return df_fail(err, "%s: the file is UTF-16 text (it starts with the byte-order mark %02X %02X); save it "
                       "as UTF-8", name, u[0], u[1]);
    if (len >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF) q.p = q.line_start = 3;
    while (q.p < len) {
        if (is_break(s[q.p])) { /* an empty line */
            skip_break(&q);
            continue;
        }
        if (parse_record(&q, err)) goto fail;
    }
    if (q.n_cols < 0) {
        df_fail(err, "%s: empty file, expected a header line", name);
        goto fail;
    }

    builder b = q.b;
    int n_cols = q.n_cols;
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
    builder_free(&q.b);
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

int df_csv_check_unique(const df_csv *t, int col, df_error *err) {
    df_named *v = df_malloc((size_t)(t->n_rows ? t->n_rows : 1) * sizeof *v);
    int n = 0;
    for (int r = 0; r < t->n_rows; r++)
        if (df_csv_get(t, r, col)[0]) v[n++] = (df_named){df_csv_get(t, r, col), r};
    qsort(v, (size_t)n, sizeof *v, df_named_cmp);
    int rc = 0;
    for (int i = 1; i < n && !rc; i++)
        if (!strcmp(v[i].name, v[i - 1].name))
            rc = df_fail(err, "%s:%d: column '%s': '%s' appears again (first at line %d); it must be unique",
                         t->path, t->lines[v[i].pos], t->header[col], v[i].name, t->lines[v[i - 1].pos]);
    free(v);
    return rc;
}

int df_named_cmp(const void *a, const void *b) {
    const df_named *x = a, *y = b;
    int c = x->name && y->name ? strcmp(x->name, y->name) : 0;
    return c ? c : (x->pos > y->pos) - (x->pos < y->pos);
}
