/* csv.h: reading a whole CSV file into a table, and writing CSV fields.
 *
 * The reader takes RFC 4180 plus what real exports contain: fields quoted with '"' may hold commas, line
 * breaks and doubled quotes (""); records end in LF, CRLF or a lone CR; a UTF-8 byte-order mark at the start
 * is dropped; the last record may or may not end in a line break; a line that is entirely empty is skipped.
 * A quote inside an unquoted field is kept as a literal character (5'11" style values); text after a closing
 * quote other than a separator or line break is an error. Fields are never trimmed.
 *
 * The first record is the header; its names must be unique and non-empty. Every other record must have
 * exactly as many fields as the header. Every field (header names included) must be well-formed UTF-8
 * (data/table/utf8.h); a file that starts with a UTF-16 byte-order mark is refused as such. Errors name the
 * file and line ("f.csv:12: 3 fields, expected 5"), and the column where one field is at fault; an
 * unterminated quote names the line where it opened. A NUL byte (a binary file) is an error. The sizes
 * below are limits: going over one is an error naming the file, the line and the limit. */
#ifndef DF_CSV_H
#define DF_CSV_H

#include "core/limits.h"

#include <stddef.h>
#include <stdio.h>

#include "core/error.h"

typedef struct {
    char *path;     /* file name used in messages */
    int n_cols;
    char **header;  /* [n_cols] */
    int n_rows;     /* data records, header excluded */
    char **fields;  /* [n_rows * n_cols], row-major; "" for an empty field */
    int *lines;     /* [n_rows] 1-based line in the file where each record starts */
    char *text_;    /* storage of every field */
} df_csv;

/* Limits of the reader. They bound the memory a file can make the reader take (about 16 bytes per field
 * besides the text) and stop a wrong file (a binary, a log, a file without line breaks) early, with a message,
 * instead of after minutes of work. Each is far above what the supported datasets need: the whole ISIC
 * Archive is about 0.5 M rows of 30 columns with fields under 1 KiB. */
#define DF_CSV_MAX_FILE_BYTES DF_LIMIT_CSV_BYTES       /* a whole file; larger ones are refused unread */
#define DF_CSV_MAX_ROWS DF_LIMIT_CSV_ROWS              /* data records, the header not counted */
#define DF_CSV_MAX_COLS DF_LIMIT_CSV_COLUMNS           /* fields in one record */
#define DF_CSV_MAX_CELLS DF_LIMIT_CSV_CELLS            /* fields in the whole file, header included */
#define DF_CSV_MAX_FIELD_BYTES DF_LIMIT_CSV_FIELD_BYTES /* one field's text, quotes removed */
#define DF_CSV_MAX_LINE_BYTES DF_LIMIT_CSV_LINE_BYTES   /* one physical line, its line break not counted */

/* The limits a parse runs under; df_csv_default_limits() gives the DF_CSV_MAX_* values above. */
typedef struct {
    size_t max_rows, max_cols, max_cells, max_field_bytes, max_line_bytes;
} df_csv_limits;
df_csv_limits df_csv_default_limits(void);

/* Reads the file at path (through core/io/files.h: a regular file, at most DF_CSV_MAX_FILE_BYTES). On
 * failure *t is left empty (safe to df_csv_free). */
int df_csv_read(const char *path, df_csv *t, df_error *err);
/* Parses text[0..len) as if it were the file `name`, under the default limits. */
int df_csv_parse(const char *text, size_t len, const char *name, df_csv *t, df_error *err);
/* The same under the given limits (tests use small ones to reach each limit cheaply). */
int df_csv_parse_limited(const char *text, size_t len, const char *name, const df_csv_limits *lim, df_csv *t,
                         df_error *err);
void df_csv_free(df_csv *t);

static inline const char *df_csv_get(const df_csv *t, int row, int col) {
    return t->fields[(size_t)row * (size_t)t->n_cols + (size_t)col];
}
/* Fails naming both lines when two non-empty fields of column col are equal. */
int df_csv_check_unique(const df_csv *t, int col, df_error *err);
/* Index of the column named `name`, or -1. */
int df_csv_col(const df_csv *t, const char *name);
/* Fails naming the file and every one of names[0..n) that is not a column. */
int df_csv_require_cols(const df_csv *t, const char *const *names, int n, df_error *err);

/* Writing, so that the reader above gives back exactly what was written. A field is quoted when it holds a
 * comma, a quote, a line break, or leading/trailing space; an empty field is written as nothing. Each
 * returns 0, or -1 when the stream reports an error (the caller names the file). */
int df_csv_write_field(FILE *f, const char *s);
/* Writes fields[0..n) separated by commas and ends the record with "\n". */
int df_csv_write_row(FILE *f, const char *const *fields, int n);

/* A text (a field, an id) with the position it came from, ordered by text and then by position, so a sort
 * of them is deterministic; a NULL text ties with any other. */
typedef struct {
    const char *name;
    int pos;
} df_named;
int df_named_cmp(const void *a, const void *b);

#endif
