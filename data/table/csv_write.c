/* csv_write.c: writing CSV fields so that df_csv_read gives back exactly the same strings (see csv.h). */
#include <string.h>

#include "data/table/csv.h"

static int needs_quotes(const char *s) {
    size_t n = strlen(s);
    if (n && (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t')) return 1;
    /* A field starting with U+FEFF, written first in a file, would be read as the file's byte-order mark */
    if (n >= 3 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB && (unsigned char)s[2] == 0xBF) return 1;
    return strpbrk(s, ",\"\r\n") != NULL;
}

int df_csv_write_field(FILE *f, const char *s) {
    if (!needs_quotes(s)) return fputs(s, f) < 0 ? -1 : 0;
    if (fputc('"', f) == EOF) return -1;
    for (const char *c = s; *c; c++) {
        if (*c == '"' && fputc('"', f) == EOF) return -1;
        if (fputc(*c, f) == EOF) return -1;
    }
    return fputc('"', f) == EOF ? -1 : 0;
}

int df_csv_write_row(FILE *f, const char *const *fields, int n) {
    /* A one-column record holding "" would be an empty line, which the reader skips: quote it. */
    if (n == 1 && !fields[0][0]) return fputs("\"\"\n", f) < 0 ? -1 : 0;
    for (int i = 0; i < n; i++) {
        if (i && fputc(',', f) == EOF) return -1;
        if (df_csv_write_field(f, fields[i])) return -1;
    }
    return fputc('\n', f) == EOF ? -1 : 0;
}
