/* report.h: a study's report as one self-contained HTML file.
 *
 * The file needs nothing else to be read: CSS inline, charts as inline SVG, images as base64 PNG data: URIs,
 * no scripts, no links to anything outside it. Sections and charts carry stable ids so that tests (and
 * readers' tools) can find them:
 *   section#about                 what the data, the split and every test are
 *   section#results               the tables (table.results, in the order given)
 *   section#roc        svg#roc     ROC curves of the test split, one polyline per model (class 1 of 2), or
 *                     svg#roc-<k>  one chart per class k (one-vs-rest) when there are more than two classes
 *   section#curves     svg#curve-auc, svg#curve-loss, svg#curve-valid-loss   validation AUC (or the run's
 *                                 monitored metric), training loss and validation loss per epoch
 *   section#confusion  svg#cm-<model>   confusion matrices of the test split
 *   section#embedding  svg#pca-<model>  2-D PCA of the penultimate features, coloured by true class
 *   section#gradcam    div#gradcam-<model>  Grad-CAM overlays (img), each beside its plain image when there is
 *                                 one, with their captions; one colour bar (svg#cam-scale) for the heat
 *   section#calibration svg#calibration-<model>  (single-run reports) reliability diagram and the ECE
 *   section#config                (single-run reports) the run's config.yaml as text
 *   section#<id>                  (study reports) the caller's df_report_sections, after section#results
 * <model> is the model's name with every character outside [a-z0-9] replaced by '-'. Charts have class
 * "chart"; a model without an embedding or Grad-CAM simply has no such chart, and the section says so.
 * A model keeps one colour (df_svg_colour of its position in models) in every chart; the learning curves
 * of a model's parts (late fusion) are dashed and drawn on top, so lines they coincide with stay visible.
 * Legends sit below their plot and wrap; every chart has axis titles. */
#ifndef DF_REPORT_H
#define DF_REPORT_H

#include <stddef.h>

#include "core/error.h"

/* One trained network's per-epoch log (metrics.jsonl); NaN where a value is missing. */
typedef struct {
    int n;
    int *epoch;
    double *train_loss, *valid_loss, *valid_auc;
    double *valid_monitor; /* the run's monitored metric (single-run reports); may be NULL */
} df_report_curve;

/* Reads <run dir>/metrics.jsonl; a line that is not a JSON object with "epoch" fails naming path:line. */
int df_report_read_curve(const char *path, df_report_curve *c, df_error *err);
/* The same, also reading valid.<monitor> of every line into c->valid_monitor (monitor NULL: left NULL). */
int df_report_read_curve_monitor(const char *path, const char *monitor, df_report_curve *c, df_error *err);
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
    /* the plain image under each overlay (n_overlays), or NULL: then <overlay stem>-plain.png next to the
     * overlay is shown when it exists (the name train/analysis writes it under) */
    const char *const *overlay_plain_paths;
} df_report_model;

/* The study's verdict, rendered at the top of the report as given (train/study computes it). */
typedef struct {
    const char *metric, *model; /* the best model for this metric */
    double value;
} df_report_best;

typedef struct {
    const char *model, *baseline, *test; /* test: e.g. "DeLong, AUC" */
    double p_raw, p_holm;                /* Holm-adjusted over the family of comparisons */
    int significant;                     /* at 0.05 after Holm */
} df_report_comparison;

typedef struct {
    int n_best;
    const df_report_best *best;
    int n_comparisons;
    const df_report_comparison *comparisons;
    int n_warnings;
    const char *const *warnings;
} df_report_verdict;

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

/* A section a caller adds to a study's report, after the results: id, heading, paragraphs of plain text (blank
 * lines separate them), charts as inline SVG markup the caller wrote with svg.h (inserted as given; NULL: none)
 * and tables (as in section#results). */
typedef struct {
    const char *id, *heading, *text;
    const char *charts;
    int n_tables;
    const df_report_table *tables;
} df_report_section;

/* What a report may hold besides df_report's parts (all optional: a zeroed struct, or NULL, adds nothing). */
typedef struct {
    const df_report_verdict *verdict; /* NULL: no verdict section */
    /* a single run's report instead of a study's: curves, ROC, confusion and calibration, then config_text;
     * no tables, embeddings or Grad-CAM sections */
    int single_run;
    const char *monitor;     /* the monitored metric's name (curves plot valid_monitor); NULL: AUC */
    const char *note;        /* shown under the title (e.g. "run in progress (epoch 3)"), or NULL */
    int refresh_s;           /* > 0: the page reloads itself every refresh_s seconds (meta refresh) */
    const char *config_text; /* the run's config, shown as preformatted text, or NULL */
    int n_sections;          /* a study's own sections, after the results */
    const df_report_section *sections;
} df_report_extra;

/* The HTML of r with the extra parts x (may be NULL; e.g. a study's verdict, {.verdict = &v}) in memory
 * (*html is malloc'd, *len bytes). Fails on inconsistent input (a label outside 0..K-1, K < 2) or an overlay
 * file that cannot be read, naming it. */
int df_report_render(const df_report *r, const df_report_extra *x, char **html, size_t *len, df_error *err);
/* Renders and writes atomically to path. */
int df_report_write(const df_report *r, const df_report_extra *x, const char *path, df_error *err);

/* The report of one run directory (dermfuse report): learning curves from metrics.jsonl; ROC, confusion
 * matrix and a calibration diagram from test_predictions.csv; config.yaml as text. Without
 * test_predictions.csv (a run in progress) only the curves, with the note "run in progress (epoch N)" and a
 * 30 s meta refresh. Writes out_path (NULL: <run_dir>/report.html). *in_progress tells which was written
 * (may be NULL). */
int df_report_run(const char *run_dir, const char *out_path, int *in_progress, df_error *err);

/* Reliability of predictions prob (n, K) against labels: the samples binned by their top probability into
 * n_bins equal bins of [0, 1]; count, mean confidence and accuracy per bin (arrays of n_bins; NaN in empty
 * bins), and the expected calibration error sum_b count_b / n * |accuracy_b - confidence_b| (calibration.h's
 * df_reliability, as arrays). */
double df_report_calibration(const float *prob, const int *labels, int n, int K, int n_bins, int *count,
                             double *confidence, double *accuracy);

/* prefix followed by name lower-cased, every character outside [a-z0-9] replaced by '-' (the ids above). */
void df_report_id(char *buf, size_t size, const char *prefix, const char *name);

/* Standard base64 (RFC 4648, with padding) of n bytes; the returned string is malloc'd. */
char *df_base64(const unsigned char *data, size_t n);

#endif
