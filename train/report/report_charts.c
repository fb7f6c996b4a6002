/* report_charts.c: the report's SVG charts (see report.h for their ids and report_parts.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/metrics/calibration.h"
#include "train/metrics/metrics.h"
#include "train/report/report_parts.h"
#include "train/report/svg.h"

enum { WIDE = 900, NARROW = 560, MAX_LEGEND = 64 };

void df_report_id(char *buf, size_t size, const char *prefix, const char *name) {
    size_t n = 0;
    for (const char *s = prefix; *s && n + 1 < size; s++) buf[n++] = *s;
    for (const char *s = name; *s && n + 1 < size; s++) {
        char ch = *s >= 'A' && *s <= 'Z' ? (char)(*s - 'A' + 'a') : *s;
        buf[n++] = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ? ch : '-';
    }
    if (size) buf[n] = 0;
}

static void chart_title(FILE *f, const char *title) {
    fputs("<text x=\"10\" y=\"18\" font-size=\"13\" font-weight=\"600\">", f);
    df_svg_escape(f, title);
    fputs("</text>\n", f);
}

/* Legend entries collected while drawing, laid out below the plot once the chart's height is known. */
typedef struct {
    int n;
    const char *names[MAX_LEGEND], *colours[MAX_LEGEND], *dashes[MAX_LEGEND];
    char text[MAX_LEGEND][320];
} legend;

static void legend_add(legend *l, const char *name, const char *colour, const char *dash) {
    if (l->n == MAX_LEGEND) return;
    snprintf(l->text[l->n], sizeof l->text[0], "%s", name);
    l->names[l->n] = l->text[l->n];
    l->colours[l->n] = colour;
    l->dashes[l->n++] = dash;
}

/* The chart's height for a plot of the given bottom edge and a legend under it (after the x-axis title). */
static int height_with_legend(const legend *l, double plot_bottom, double width) {
    int rows = df_svg_legend_rows(l->names, l->n, width - 20);
    return (int)ceil(plot_bottom + 50 + rows * DF_SVG_LEGEND_ROW);
}

static void legend_draw(FILE *f, const legend *l, double plot_bottom, double width) {
    df_svg_legend(f, 10, plot_bottom + 54, width - 20, l->names, l->colours, l->dashes, l->n);
}

void df_report_roc_chart(FILE *f, const df_report *r, int k, const char *id, const char *cls) {
    char title[400];
    if (r->K == 2)
        snprintf(title, sizeof title, "ROC curves on the test split (positive class: %s)", r->class_names[1]);
    else
        snprintf(title, sizeof title, "ROC curves on the test split, %s against the rest", r->class_names[k]);
    int W = strstr(cls, "wide") ? WIDE : NARROW;
    double side = W == WIDE ? 380 : 320;
    df_svg_plot p = {f, 0, 1, 0, 1, 70, 34, W == WIDE ? W - 94 : side + 100, side};
    legend l = {0};
    l.n = 0;
    legend_add(&l, "chance", "#bbb", "4 4");
    for (int m = 0; m < r->n_models; m++) {
        const df_report_model *md = &r->models[m];
        if (md->n == 0) continue;
        char name[200];
        snprintf(name, sizeof name, "%s (AUC %.3f)", md->name, df_auc_class(md->prob, md->labels, md->n, r->K, k));
        legend_add(&l, name, df_svg_colour(m), NULL);
    }
    df_svg_open(f, id, cls, W, height_with_legend(&l, p.top + p.height, W), title);
    chart_title(f, title);
    df_svg_axes(&p, "false positive rate (1 - specificity)", "true positive rate (sensitivity)", 5, 5);
    double diag[2] = {0, 1};
    df_svg_polyline(&p, diag, diag, 2, "#bbb", "chance", "4 4");
    for (int m = 0; m < r->n_models; m++) {
        const df_report_model *md = &r->models[m];
        df_roc roc;
        df_error e2;
        if (md->n == 0 || df_roc_curve(md->prob, md->labels, md->n, r->K, k, &roc, &e2)) continue;
        char line_cls[300];
        df_report_id(line_cls, sizeof line_cls, "roc-line model-", md->name);
        df_svg_polyline(&p, roc.fpr, roc.tpr, roc.n, df_svg_colour(m), line_cls, NULL);
        df_roc_free(&roc);
    }
    legend_draw(f, &l, p.top + p.height, W);
    df_svg_close(f);
}

static const double *curve_values(const char *monitor, const df_report_curve *cv, int kind) {
    if (kind == 1) return cv->train_loss;
    if (kind == 2) return cv->valid_loss;
    return monitor && cv->valid_monitor ? cv->valid_monitor : cv->valid_auc;
}

/* Draws the curves of single networks first, then the dashed parts of combined models on top (p NULL: only
 * collects the legend, l NULL: only draws). */
static void curve_lines(const df_report *r, const char *monitor, const df_svg_plot *p, int kind, int parts,
                        legend *l) {
    static const char *const part_dash[2] = {"9 5", "2 4"};
    for (int m = 0; m < r->n_models; m++) {
        const df_report_model *md = &r->models[m];
        if ((md->n_curves > 1) != parts) continue;
        for (int c = 0; c < md->n_curves; c++) {
            const char *dash = parts ? part_dash[c % 2] : NULL;
            if (l) legend_add(l, md->curve_names[c], df_svg_colour(m), dash);
            if (!p) continue;
            const df_report_curve *cv = &md->curves[c];
            double *x = df_malloc(sizeof(double) * (size_t)(cv->n + 1));
            for (int i = 0; i < cv->n; i++) x[i] = cv->epoch[i];
            char cls[300];
            df_report_id(cls, sizeof cls, "curve-line model-", md->name);
            df_svg_polyline(p, x, curve_values(monitor, cv, kind), cv->n, df_svg_colour(m), cls, dash);
            free(x);
        }
    }
}

void df_report_curve_chart(FILE *f, const df_report *r, const char *monitor, int kind) {
    double ymin = INFINITY, ymax = -INFINITY;
    int emax = 1;
    for (int m = 0; m < r->n_models; m++)
        for (int c = 0; c < r->models[m].n_curves; c++) {
            const df_report_curve *cv = &r->models[m].curves[c];
            const double *v = curve_values(monitor, cv, kind);
            for (int i = 0; i < cv->n; i++) {
                if (v && isfinite(v[i])) ymin = fmin(ymin, v[i]), ymax = fmax(ymax, v[i]);
                if (cv->epoch[i] > emax) emax = cv->epoch[i];
            }
        }
    int loss = kind > 0 || (monitor && !strcmp(monitor, "loss"));
    if (!isfinite(ymin)) ymin = 0, ymax = 1;
    if (loss) {
        ymin = 0;
        ymax = ymax > 0 ? ymax * 1.05 : 1;
    } else {
        ymin = fmax(0.0, floor(ymin * 10 - 0.5) / 10);
        ymax = fmin(1.0, ceil(ymax * 10 + 0.5) / 10);
        if (ymax <= ymin) ymin = 0, ymax = 1;
    }
    const char *metric = monitor ? monitor : "AUC";
    char title[200], ylabel[100];
    if (kind == 0) {
        snprintf(title, sizeof title, "Validation %s per epoch", metric);
        snprintf(ylabel, sizeof ylabel, "validation %s", metric);
    } else {
        snprintf(title, sizeof title, "%s loss per epoch", kind == 1 ? "Training" : "Validation");
        snprintf(ylabel, sizeof ylabel, "mean %s loss", kind == 1 ? "training" : "validation");
    }
    static const char *const ids[3] = {"curve-auc", "curve-loss", "curve-valid-loss"};
    df_svg_plot p = {f, 1, emax > 1 ? emax : 2, ymin, ymax, 70, 34, WIDE - 94, 260};
    legend l;
    l.n = 0;
    /* the legend's order is the drawing order: single networks, then parts */
    curve_lines(r, monitor, NULL, kind, 0, &l);
    curve_lines(r, monitor, NULL, kind, 1, &l);
    df_svg_open(f, ids[kind], "chart curve wide", WIDE, height_with_legend(&l, p.top + p.height, WIDE), title);
    chart_title(f, title);
    df_svg_axes(&p, "epoch", ylabel, emax > 1 && emax <= 10 ? emax - 1 : 5, 5);
    curve_lines(r, monitor, &p, kind, 0, NULL);
    curve_lines(r, monitor, &p, kind, 1, NULL);
    legend_draw(f, &l, p.top + p.height, WIDE);
    df_svg_close(f);
}

int df_report_confusion_chart(FILE *f, const df_report *r, const df_report_model *md, df_error *err) {
    int K = r->K;
    int *cm = df_malloc(sizeof(int) * (size_t)K * K);
    if (df_metrics_confusion(md->prob, md->labels, md->n, K, 0.5, cm, err)) {
        free(cm);
        return df_fail_prefix(err, "report: model %s", md->name);
    }
    double longest = 0;
    for (int k = 0; k < K; k++) longest = fmax(longest, df_svg_text_width(r->class_names[k], 11));
    int cell = K <= 4 ? 64 : K <= 8 ? 44 : 32, size = cell * K;
    int left = 40 + (int)ceil(longest), top = 34, bottom = top + size + 22 + (int)ceil(longest * 0.6);
    int W = left + size + 30 > NARROW ? left + size + 30 : NARROW;
    char id[300], title[300];
    df_report_id(id, sizeof id, "cm-", md->name);
    snprintf(title, sizeof title, "Confusion matrix of %s (rows: true class, columns: predicted)", md->name);
    df_svg_open(f, id, "chart confusion", W, bottom + 26, title);
    chart_title(f, md->name);
    fputs("<g font-size=\"11\">\n", f);
    for (int t = 0; t < K; t++) {
        int row = 0;
        for (int p = 0; p < K; p++) row += cm[t * K + p];
        for (int p = 0; p < K; p++) {
            int v = cm[t * K + p];
            double share = row ? (double)v / row : 0.0; /* shade by the share of the true class's row */
            int shade = (int)lrint(255 - 190 * share);
            fprintf(f, "<rect class=\"cell\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"rgb(%d,%d,255)\" "
                    "stroke=\"#fff\"/><text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"%s\">%d</text>\n",
                    left + p * cell, top + t * cell, cell, cell, shade, shade, left + p * cell + cell / 2,
                    top + t * cell + cell / 2 + 4, share > 0.55 ? "#fff" : "#222", v);
        }
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", left - 6, top + t * cell + cell / 2 + 4);
        df_svg_escape(f, r->class_names[t]);
        fputs("</text>\n", f);
    }
    for (int p = 0; p < K; p++) {
        fprintf(f, "<text transform=\"translate(%d %d) rotate(-35)\" text-anchor=\"end\">", left + p * cell + cell / 2,
                top + size + 14);
        df_svg_escape(f, r->class_names[p]);
        fputs("</text>\n", f);
    }
    fprintf(f, "<text class=\"axis-title\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">predicted</text>\n"
            "<text class=\"axis-title\" transform=\"translate(16 %d) rotate(-90)\" text-anchor=\"middle\">true</text>\n",
            left + size / 2, bottom + 14, top + size / 2);
    fputs("</g>\n", f);
    df_svg_close(f);
    free(cm);
    return 0;
}

void df_report_embedding_chart(FILE *f, const df_report *r, const df_report_model *md) {
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int i = 0; i < md->n_embed; i++) {
        x0 = fmin(x0, md->embed[2 * i]), x1 = fmax(x1, md->embed[2 * i]);
        y0 = fmin(y0, md->embed[2 * i + 1]), y1 = fmax(y1, md->embed[2 * i + 1]);
    }
    double px = (x1 - x0) * 0.05 + 1e-6, py = (y1 - y0) * 0.05 + 1e-6;
    char id[300], title[300];
    df_report_id(id, sizeof id, "pca-", md->name);
    snprintf(title, sizeof title, "%s: penultimate features, first two principal components", md->name);
    df_svg_plot p = {f, x0 - px, x1 + px, y0 - py, y1 + py, 70, 34, NARROW - 94, 300};
    legend l;
    l.n = 0;
    for (int k = 0; k < r->K; k++) legend_add(&l, r->class_names[k], df_svg_colour(k), NULL);
    df_svg_open(f, id, "chart embedding", NARROW, height_with_legend(&l, p.top + p.height, NARROW), title);
    chart_title(f, md->name);
    char xl[64], yl[64];
    snprintf(xl, sizeof xl, "PC 1 (%.0f%% of the variance)", 100 * md->explained[0]);
    snprintf(yl, sizeof yl, "PC 2 (%.0f%%)", 100 * md->explained[1]);
    df_svg_axes(&p, xl, yl, 4, 4);
    df_svg_points(&p, md->embed, md->embed_labels, md->n_embed, md->n_embed > 1000 ? 1.6 : 2.5);
    legend_draw(f, &l, p.top + p.height, NARROW);
    df_svg_close(f);
}

double df_report_calibration(const float *prob, const int *labels, int n, int K, int n_bins, int *count,
                             double *confidence, double *accuracy) {
    df_reliability_bin *bins = df_malloc((size_t)n_bins * sizeof *bins);
    double ece = df_reliability(prob, labels, n, K, n_bins, bins);
    for (int b = 0; b < n_bins; b++) {
        count[b] = bins[b].count;
        confidence[b] = bins[b].confidence;
        accuracy[b] = bins[b].accuracy;
    }
    free(bins);
    return ece;
}

void df_report_calibration_chart(FILE *f, const df_report *r, int m) {
    enum { BINS = 10 };
    const df_report_model *md = &r->models[m];
    int count[BINS];
    double conf[BINS], acc[BINS];
    double ece = df_report_calibration(md->prob, md->labels, md->n, r->K, BINS, count, conf, acc);
    char id[300], title[300], name[240];
    df_report_id(id, sizeof id, "calibration-", md->name);
    snprintf(title, sizeof title, "Reliability of %s on the test split (expected calibration error %.3f)", md->name,
             ece);
    df_svg_plot p = {f, 0, 1, 0, 1, 70, 34, WIDE - 94, 300};
    legend l;
    l.n = 0;
    legend_add(&l, "perfect calibration", "#bbb", "4 4");
    snprintf(name, sizeof name, "%s: accuracy per bin of top probability (ECE %.3f)", md->name, ece);
    legend_add(&l, name, df_svg_colour(m), NULL);
    df_svg_open(f, id, "chart calibration wide", WIDE, height_with_legend(&l, p.top + p.height, WIDE), title);
    chart_title(f, title);
    df_svg_axes(&p, "confidence (top class probability, 10 bins)", "accuracy", 10, 5);
    for (int b = 0; b < BINS; b++) {
        if (!count[b]) continue;
        double x = df_svg_px(&p, (double)b / BINS), w = p.width / BINS, y = df_svg_py(&p, acc[b]);
        fprintf(f, "<rect class=\"bin\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" "
                "fill-opacity=\"0.35\" stroke=\"%s\"><title>%d samples, confidence %.3f, accuracy %.3f</title></rect>\n",
                x + 2, y, w - 4, p.top + p.height - y, df_svg_colour(m), df_svg_colour(m), count[b], conf[b], acc[b]);
    }
    double diag[2] = {0, 1};
    df_svg_polyline(&p, diag, diag, 2, "#bbb", "chance", "4 4");
    df_svg_polyline(&p, conf, acc, BINS, df_svg_colour(m), "calibration-line", NULL);
    legend_draw(f, &l, p.top + p.height, WIDE);
    df_svg_close(f);
}
