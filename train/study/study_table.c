/* study_table.c: see study_table.h. */
#include "train/study/study_table.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "train/metrics/stats.h"

void df_study_table_init(df_study_table *o, const char *id, int n_cols, int n_rows, const char *const *head) {
    memset(o, 0, sizeof *o);
    o->head = df_calloc((size_t)n_cols, sizeof(char *));
    o->cells = df_calloc((size_t)n_cols * n_rows + 1, sizeof(char *));
    for (int c = 0; c < n_cols; c++) o->head[c] = df_strdup(head[c]);
    o->t = (df_report_table){id, NULL, n_cols, n_rows, (const char *const *)o->head, (const char *const *)o->cells};
}

void df_study_table_set(df_study_table *o, int row, int col, const char *text) {
    o->cells[(size_t)row * o->t.n_cols + col] = df_strdup(text);
}

void df_study_table_free(df_study_table *o) {
    for (int c = 0; c < o->t.n_cols; c++) free(o->head[c]);
    for (int i = 0; i < o->t.n_cols * o->t.n_rows; i++) free(o->cells[i]);
    free(o->head);
    free(o->cells);
}

void df_study_table_markdown(const df_study_table *o, FILE *f) {
    fputs("|", f);
    for (int c = 0; c < o->t.n_cols; c++) fprintf(f, " %s |", o->head[c]);
    fputs("\n|", f);
    for (int c = 0; c < o->t.n_cols; c++) fputs("---|", f);
    fputs("\n", f);
    for (int r = 0; r < o->t.n_rows; r++) {
        fputs("|", f);
        for (int c = 0; c < o->t.n_cols; c++) fprintf(f, " %s |", o->cells[(size_t)r * o->t.n_cols + c]);
        fputs("\n", f);
    }
}

void df_study_fmt_number(char *buf, size_t size, double x, const char *fmt) {
    if (isnan(x))
        snprintf(buf, size, "n/a");
    else if (isinf(x))
        snprintf(buf, size, "inf");
    else
        snprintf(buf, size, fmt, x);
}

void df_study_fmt_mean_sd(char *buf, size_t size, const double *x, int n) {
    double mean, sd;
    df_mean_sd(x, n, &mean, &sd);
    if (n == 0 || isnan(mean))
        snprintf(buf, size, "n/a");
    else if (n > 1)
        snprintf(buf, size, "%.3f ± %.3f", mean, sd);
    else
        snprintf(buf, size, "%.3f", mean);
}

void df_study_csv_number(FILE *f, double x, const char *fmt) {
    char cell[64];
    df_study_fmt_number(cell, sizeof cell, x, fmt);
    fprintf(f, ",%s", cell);
}
