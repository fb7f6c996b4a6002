/* meta_value.c: what a numeric metadata field may hold (see meta.h): the number syntax, the missing-value
 * tokens and the plausible range of each column. A value outside these is refused rather than encoded: an
 * age of 999, a diameter of -3 or a column that holds 1e300 is an export or unit error, and standardising it
 * would let one row dominate (or overflow) the statistics of the whole column. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "data/table/meta.h"

int df_meta_is_missing(const char *s) {
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) n--;
    if (n == 0) return 1;
    return (n == 2 && !strncasecmp(s, "na", 2)) || (n == 3 && !strncasecmp(s, "nan", 3));
}

/* Length of the decimal number at s ([+-] digits [. digits] [e [+-] digits], at least one digit before the
 * exponent), or 0 when s does not start with one. */
static size_t decimal_length(const char *s) {
    size_t i = 0, digits = 0;
    if (s[i] == '+' || s[i] == '-') i++;
    while (isdigit((unsigned char)s[i])) i++, digits++;
    if (s[i] == '.') {
        i++;
        while (isdigit((unsigned char)s[i])) i++, digits++;
    }
    if (!digits) return 0;
    if (s[i] == 'e' || s[i] == 'E') {
        size_t j = i + 1;
        if (s[j] == '+' || s[j] == '-') j++;
        if (!isdigit((unsigned char)s[j])) return 0;
        while (isdigit((unsigned char)s[j])) j++;
        i = j;
    }
    return i;
}

int df_meta_parse_number(const char *s, double *x) {
    while (isspace((unsigned char)*s)) s++;
    size_t n = decimal_length(s);
    if (!n) return 0;
    const char *rest = s + n;
    while (isspace((unsigned char)*rest)) rest++;
    if (*rest) return 0;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    /* ERANGE: the value overflows a double, or is so close to zero that it lost precision (1e-400). */
    if (end != s + n || errno == ERANGE || !isfinite(v)) return 0;
    *x = v;
    return 1;
}

/* Columns of the supported layouts whose plausible range is known. */
static const struct {
    const char *column;
    double lo, hi;
} RANGES[] = {
    {"age_approx", 0, 120}, /* ISIC Archive and MILK10k: years, in steps of 5 */
    {"age", 0, 120},
    {"clin_size_long_diam_mm", 0, 1000}, /* ISIC Archive: the lesion's longest diameter, mm */
};

void df_meta_range(const char *column, double *lo, double *hi) {
    for (size_t i = 0; i < sizeof RANGES / sizeof RANGES[0]; i++)
        if (!strcmp(column, RANGES[i].column)) {
            *lo = RANGES[i].lo;
            *hi = RANGES[i].hi;
            return;
        }
    *lo = -DF_META_MAX_ABS;
    *hi = DF_META_MAX_ABS;
}

int df_meta_read_number(const char *column, const char *s, double *x) {
    if (df_meta_is_missing(s)) return 0;
    double lo, hi;
    df_meta_range(column, &lo, &hi);
    if (!df_meta_parse_number(s, x) || *x < lo || *x > hi) return -1;
    return 1;
}

int df_meta_bad_number(const df_dataset *d, int sample, const char *column, const char *value, df_error *err) {
    double lo, hi, x;
    df_meta_range(column, &lo, &hi);
    const char *file = d->source ? d->source : "(dataset)";
    int line = d->source_rows ? d->source_rows[sample] : sample + 1;
    if (df_meta_parse_number(value, &x))
        return df_fail(err, "%s:%d: column '%s': %s is outside the plausible range [%g, %g] of this column "
                       "(a unit or export error?); expected a number in that range, or empty, NA or nan for "
                       "missing", file, line, column, value, lo, hi);
    return df_fail(err, "%s:%d: column '%s': '%s' is not a number (expected a decimal number such as 42 or 0.5e3, "
                   "or empty, NA or nan for missing)", file, line, column, value);
}
