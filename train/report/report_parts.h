/* report_parts.h: the pieces report.c puts together (inside train/report only): the charts
 * (report_charts.c) and the HTML sections (report_sections.c). Each writes to f; ids follow report.h. */
#ifndef DF_REPORT_PARTS_H
#define DF_REPORT_PARTS_H

#include <stdio.h>

#include "train/report/report.h"


/* Charts. kind of a learning-curve chart: 0 the validation metric, 1 training loss, 2 validation loss. */
void df_report_roc_chart(FILE *f, const df_report *r, int k, const char *id, const char *cls);
/* monitor: the validation metric's name (curves' valid_monitor), NULL: AUC (valid_auc). */
void df_report_curve_chart(FILE *f, const df_report *r, const char *monitor, int kind);
int df_report_confusion_chart(FILE *f, const df_report *r, const df_report_model *md, df_error *err);
void df_report_embedding_chart(FILE *f, const df_report *r, const df_report_model *md);
void df_report_calibration_chart(FILE *f, const df_report *r, int m);

/* Sections and HTML pieces. */
extern const char df_report_style[];
void df_report_paragraphs(FILE *f, const char *text);
void df_report_table_html(FILE *f, const df_report_table *t);
void df_report_verdict_section(FILE *f, const df_report_verdict *v);
int df_report_overlays(FILE *f, const df_report_model *md, df_error *err);
void df_report_colour_scale(FILE *f);
void df_report_pre(FILE *f, const char *text);

#endif
