/* study_table.h: a table of the study's results that owns its cells, written as Markdown (results.md) and
 * handed to the report (df_report_table), and the number formats every study table shares. */
#ifndef DF_STUDY_TABLE_H
#define DF_STUDY_TABLE_H

#include <stddef.h>
#include <stdio.h>

#include "train/report/report.h"

typedef struct {
    df_report_table t;
    char **head, **cells;
} df_study_table;

/* n_cols columns headed head (copied), n_rows empty rows; id is the table's id in the report. */
void df_study_table_init(df_study_table *o, const char *id, int n_cols, int n_rows, const char *const *head);
void df_study_table_set(df_study_table *o, int row, int col, const char *text);
void df_study_table_free(df_study_table *o);
void df_study_table_markdown(const df_study_table *o, FILE *f);

/* x by fmt, "n/a" when NaN, "inf" when infinite. */
void df_study_fmt_number(char *buf, size_t size, double x, const char *fmt);
/* "mean ± sd" of x[0..n) to 3 decimals: the mean alone when n is 1, "n/a" when it is undefined (n = 0, or a NaN
 * among the values, as an AUC on a split with one class). */
void df_study_fmt_mean_sd(char *buf, size_t size, const double *x, int n);
/* ",<number>" for a CSV row, "n/a" where undefined. */
void df_study_csv_number(FILE *f, double x, const char *fmt);

#endif
