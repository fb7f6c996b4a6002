/* report.h: a study's report as one self-contained HTML file.
 *
 * The file needs nothing else to be read: CSS inline, charts as inline SVG, images as base64 PNG data: URIs,
 * no scripts, no links to anything outside it. Sections and charts carry stable ids so that tests (and
 * readers' tools) can find them:
 *   section#about                 what the data, the split and every test are
 *   section#results               the tables (table.results, in the order given)
 *   section#roc        svg#roc     ROC curves of the test split, one polyline per model (class 1 of 2), or
 *                     svg#roc-<k>  one chart per class k (one-vs-rest) when there are more than two classes
 *   section#curves     svg#curve-auc, svg#curve-loss   validation AUC and train/validation loss per epoch
 *   section#confusion  svg#cm-<model>   confusion matrices of the test split
 *   section#embedding  svg#pca-<model>  2-D PCA of the penultimate features, coloured by true class
 *   section#gradcam    div#gradcam-<model>  Grad-CAM overlays (img) with their captions
 * <model> is the model's name with every character outside [a-z0-9] replaced by '-'. Charts have class
 * "chart"; a model without an embedding or Grad-CAM simply has no such chart, and the section says so. */
#ifndef DF_REPORT_H
#define DF_REPORT_H

#include <stddef.h>

#include "core/error.h"

/* One trained network's per-epoch log (metrics.jsonl); NaN where a value is missing. */
typedef struct {
    int n;
    int *epoch;
    double *train_loss, *valid_loss, *valid_auc;
} df_report_curve;

/* Reads <run dir>/metrics.jsonl; a line that is not a JSON object with "epoch" fails naming path:line. */
int df_report_read_curve(const char *path, df_report_curve *c, df_error *err);
void df_report_curve_free(df_report_curve *c);

typedef struct {
    const char *id, *caption;
    int n_cols, n_rows;
    const char *const *head;  /* (n_cols) */
    const char *const *cells; /* (n_rows, n_cols), plain text (escaped on output) */
} df_report_table;

typedef struct {
    const char *name;
    /* test predictions (one seed): prob (n, K), labels (n) */
    int n;
    const float *prob;
    const int *labels;
    /* learning curves, one per trained network (late fusion: its image and metadata parts) */
    int n_curves;
    const df_report_curve *curves;
    const char *const *curve_names; /* (n_curves) legend names */
    /* 2-D embedding of the penultimate features (n_embed, 2) and its true classes; n_embed 0: none */
    int n_embed;
    const float *embed;
    const int *embed_labels;
    double explained[2]; /* share of the variance along each axis */
    /* Grad-CAM overlays: PNG files to embed and their captions */
    int n_overlays;
    const char *const *overlay_paths;
    const char *const *overlay_captions;
} df_report_model;

typedef struct {
    const char *title;
    const char *about; /* plain text; blank lines separate paragraphs */
    int K;
    const char *const *class_names; /* (K) */
    int n_tables;
    const df_report_table *tables;
    int n_models;
    const df_report_model *models;
} df_report;

/* The HTML in memory (*html is malloc'd, *len bytes). Fails on inconsistent input (a label outside 0..K-1,
 * K < 2) or an overlay file that cannot be read, naming it. */
int df_report_render(const df_report *r, char **html, size_t *len, df_error *err);
/* Renders and writes atomically to path. */
int df_report_write(const df_report *r, const char *path, df_error *err);

/* Standard base64 (RFC 4648, with padding) of n bytes; the returned string is malloc'd. */
char *df_base64(const unsigned char *data, size_t n);

#endif
