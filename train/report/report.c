/* report.c: see report.h. */
#include "train/report/report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/io/files.h"
#include "core/io/json.h"
#include "data/image/image.h"
#include "train/metrics/metrics.h"
#include "train/session/run_files.h"
#include "train/report/svg.h"

char *df_base64(const unsigned char *data, size_t n) {
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = df_malloc(4 * ((n + 2) / 3) + 1), *o = out;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)data[i] << 16;
        if (i + 1 < n) v |= (unsigned)data[i + 1] << 8;
        if (i + 2 < n) v |= data[i + 2];
        *o++ = alphabet[(v >> 18) & 63];
        *o++ = alphabet[(v >> 12) & 63];
        *o++ = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
        *o++ = i + 2 < n ? alphabet[v & 63] : '=';
    }
    *o = 0;
    return out;
}

/* ---- learning curves from metrics.jsonl ---- */

static double number_at(const df_json *obj, const char *key) {
    const df_json *v = obj ? df_json_get(obj, key) : NULL;
    return v && v->type == DF_JSON_NUMBER ? v->number : NAN;
}

int df_report_read_curve(const char *path, df_report_curve *c, df_error *err) {
    memset(c, 0, sizeof *c);
    FILE *f = fopen(path, "r");
    if (!f) return df_fail(err, "%s: cannot open the run's metrics log", path);
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0, rc = 0, room = 0;
    while (getline(&line, &cap, f) > 0) {
        lineno++;
        if (line[0] == '\n') continue;
        df_json_doc *doc;
        if (df_json_parse(line, strlen(line), &doc, err)) {
            rc = df_fail_prefix(err, "%s:%d", path, lineno);
            break;
        }
        const df_json *root = df_json_root(doc);
        double epoch = root->type == DF_JSON_OBJECT ? number_at(root, "epoch") : NAN;
        if (!isfinite(epoch)) {
            df_json_free(doc);
            rc = df_fail(err, "%s:%d: expected a JSON object with an \"epoch\" number", path, lineno);
            break;
        }
        if (c->n == room) {
            room = room ? 2 * room : 16;
            c->epoch = df_realloc(c->epoch, sizeof(int) * (size_t)room);
            c->train_loss = df_realloc(c->train_loss, sizeof(double) * (size_t)room);
            c->valid_loss = df_realloc(c->valid_loss, sizeof(double) * (size_t)room);
            c->valid_auc = df_realloc(c->valid_auc, sizeof(double) * (size_t)room);
        }
        c->epoch[c->n] = (int)epoch;
        c->train_loss[c->n] = number_at(root, "train_loss");
        c->valid_loss[c->n] = number_at(root, "valid_loss");
        c->valid_auc[c->n] = number_at(df_json_get(root, "valid"), "auc");
        c->n++;
        df_json_free(doc);
    }
    free(line);
    fclose(f);
    if (rc) df_report_curve_free(c);
    return rc;
}

void df_report_curve_free(df_report_curve *c) {
    void *owned[] = {c->epoch, c->train_loss, c->valid_loss, c->valid_auc};
    for (size_t i = 0; i < sizeof owned / sizeof *owned; i++) free(owned[i]);
    memset(c, 0, sizeof *c);
}

/* ---- pieces of the page ---- */

static void model_id(FILE *f, const char *prefix, const char *name) {
    fputs(prefix, f);
    for (const char *s = name; *s; s++) {
        char ch = *s >= 'A' && *s <= 'Z' ? (char)(*s - 'A' + 'a') : *s;
        fputc((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ? ch : '-', f);
    }
}

static void id_of(char *buf, size_t size, const char *prefix, const char *name) {
    FILE *f = fmemopen(buf, size, "w");
    model_id(f, prefix, name);
    fclose(f);
}

static const char style[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px auto;max-width:1160px;color:#222;"
    "line-height:1.45}h1{font-size:1.6em}h2{border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:2em}"
    "table.results{border-collapse:collapse;font-size:13px;margin:8px 0 16px}"
    "table.results th,table.results td{border:1px solid #ccc;padding:3px 7px;text-align:right}"
    "table.results th{background:#f3f3f3}table.results td:first-child{text-align:left;font-weight:600}"
    ".charts{display:flex;flex-wrap:wrap;gap:16px}.chart{background:#fff;border:1px solid #eee}"
    "figure{margin:0}figcaption{font-size:12px;color:#555;max-width:300px}"
    ".overlays{display:flex;flex-wrap:wrap;gap:10px;margin-bottom:14px}"
    ".overlays img{width:160px;height:160px;image-rendering:pixelated;border:1px solid #ccc}"
    "p.note{color:#666;font-size:13px}\n";

static void paragraphs(FILE *f, const char *text) {
    fputs("<p>", f);
    for (const char *s = text; s && *s; s++) {
        if (s[0] == '\n' && s[1] == '\n') {
            fputs("</p>\n<p>", f);
            while (s[1] == '\n') s++;
            continue;
        }
        char ch[2] = {*s, 0};
        df_svg_escape(f, ch);
    }
    fputs("</p>\n", f);
}

static void table(FILE *f, const df_report_table *t) {
    fputs("<table id=\"", f);
    df_svg_escape(f, t->id);
    fputs("\" class=\"results\">\n", f);
    if (t->caption) {
        fputs("<caption>", f);
        df_svg_escape(f, t->caption);
        fputs("</caption>\n", f);
    }
    fputs("<thead><tr>", f);
    for (int c = 0; c < t->n_cols; c++) {
        fputs("<th>", f);
        df_svg_escape(f, t->head[c]);
        fputs("</th>", f);
    }
    fputs("</tr></thead>\n<tbody>\n", f);
    for (int r = 0; r < t->n_rows; r++) {
        fputs("<tr>", f);
        for (int c = 0; c < t->n_cols; c++) {
            fputs("<td>", f);
            df_svg_escape(f, t->cells[(size_t)r * t->n_cols + c]);
            fputs("</td>", f);
        }
        fputs("</tr>\n", f);
    }
    fputs("</tbody></table>\n", f);
}

/* ROC curves of class k (one-vs-rest; k = 1 for two classes), one polyline per model. */
static int roc_chart(FILE *f, const df_report *r, int k, const char *id, df_error *err) {
    char title[400];
    if (r->K == 2)
        snprintf(title, sizeof title, "ROC curves on the test split (positive class: %s)", r->class_names[1]);
    else
        snprintf(title, sizeof title, "ROC curves on the test split, %s against the rest", r->class_names[k]);
    df_svg_open(f, id, "chart roc", 560, 420, title);
    df_svg_plot p = {f, 0, 1, 0, 1, 56, 30, 300, 320};
    fprintf(f, "<text x=\"10\" y=\"18\" font-size=\"13\" font-weight=\"600\">");
    df_svg_escape(f, title);
    fputs("</text>\n", f);
    df_svg_axes(&p, "false positive rate (1 - specificity)", "true positive rate (sensitivity)", 5, 5);
    double diag[2] = {0, 1};
    df_svg_polyline(&p, diag, diag, 2, "#bbb", "chance", "4 4");
    const char *names[64], *colours[64];
    char legend[64][200];
    int n_leg = 0;
    for (int m = 0; m < r->n_models; m++) {
        const df_report_model *md = &r->models[m];
        df_roc roc;
        df_error e2;
        if (md->n == 0 || df_roc_curve(md->prob, md->labels, md->n, r->K, k, &roc, &e2)) continue;
        char cls[300];
        id_of(cls, sizeof cls, "roc-line model-", md->name);
        df_svg_polyline(&p, roc.fpr, roc.tpr, roc.n, df_svg_colour(m), cls, NULL);
        df_roc_free(&roc);
        if (n_leg < 64) {
            snprintf(legend[n_leg], sizeof legend[n_leg], "%s (AUC %.3f)", md->name,
                     df_auc_class(md->prob, md->labels, md->n, r->K, k));
            names[n_leg] = legend[n_leg];
            colours[n_leg++] = df_svg_colour(m);
        }
    }
    df_svg_legend(f, 372, 44, names, colours, NULL, n_leg);
    df_svg_close(f);
    (void)err;
    return 0;
}

/* Validation AUC, or train (solid) and validation (dashed) loss, per epoch for every trained network. */
static void curve_chart(FILE *f, const df_report *r, int loss) {
    double ymin = INFINITY, ymax = -INFINITY;
    int emax = 1;
    for (int m = 0; m < r->n_models; m++)
        for (int c = 0; c < r->models[m].n_curves; c++) {
            const df_report_curve *cv = &r->models[m].curves[c];
            for (int i = 0; i < cv->n; i++) {
                double v[2] = {loss ? cv->train_loss[i] : cv->valid_auc[i], loss ? cv->valid_loss[i] : NAN};
                for (int j = 0; j < 2; j++)
                    if (isfinite(v[j])) ymin = fmin(ymin, v[j]), ymax = fmax(ymax, v[j]);
                if (cv->epoch[i] > emax) emax = cv->epoch[i];
            }
        }
    if (!isfinite(ymin)) ymin = 0, ymax = 1;
    if (loss) {
        ymin = 0;
        ymax = ymax > 0 ? ymax * 1.05 : 1;
    } else {
        ymin = fmax(0.0, floor(ymin * 10 - 0.5) / 10);
        ymax = fmin(1.0, ceil(ymax * 10 + 0.5) / 10);
        if (ymax <= ymin) ymin = 0, ymax = 1;
    }
    const char *title = loss ? "Loss per epoch: training (solid) and validation (dashed)"
                             : "Validation AUC per epoch";
    df_svg_open(f, loss ? "curve-loss" : "curve-auc", "chart curve", 560, 360, title);
    fprintf(f, "<text x=\"10\" y=\"18\" font-size=\"13\" font-weight=\"600\">");
    df_svg_escape(f, title);
    fputs("</text>\n", f);
    df_svg_plot p = {f, 1, emax > 1 ? emax : 2, ymin, ymax, 56, 30, 300, 270};
    df_svg_axes(&p, "epoch", loss ? "mean loss" : "validation AUC", emax > 1 && emax <= 10 ? emax - 1 : 5, 5);
    const char *names[64], *colours[64];
    char legend[64][200];
    int n_leg = 0, series = 0;
    for (int m = 0; m < r->n_models; m++)
        for (int c = 0; c < r->models[m].n_curves; c++, series++) {
            const df_report_curve *cv = &r->models[m].curves[c];
            double *x = df_malloc(sizeof(double) * (size_t)(cv->n + 1));
            for (int i = 0; i < cv->n; i++) x[i] = cv->epoch[i];
            const char *colour = df_svg_colour(series);
            char cls[300];
            id_of(cls, sizeof cls, "curve-line model-", r->models[m].name);
            if (loss) {
                df_svg_polyline(&p, x, cv->train_loss, cv->n, colour, cls, NULL);
                df_svg_polyline(&p, x, cv->valid_loss, cv->n, colour, cls, "5 3");
            } else {
                df_svg_polyline(&p, x, cv->valid_auc, cv->n, colour, cls, NULL);
            }
            free(x);
            if (n_leg < 64) {
                snprintf(legend[n_leg], sizeof legend[n_leg], "%s", r->models[m].curve_names[c]);
                names[n_leg] = legend[n_leg];
                colours[n_leg++] = colour;
            }
        }
    df_svg_legend(f, 372, 44, names, colours, NULL, n_leg);
    df_svg_close(f);
}

static int confusion_chart(FILE *f, const df_report *r, const df_report_model *md, df_error *err) {
    int K = r->K;
    int *cm = df_malloc(sizeof(int) * (size_t)K * K);
    if (df_metrics_confusion(md->prob, md->labels, md->n, K, 0.5, cm, err)) {
        free(cm);
        return df_fail_prefix(err, "report: model %s", md->name);
    }
    int cell = K <= 4 ? 56 : K <= 8 ? 40 : 30, left = 110, top = 40, size = cell * K;
    char id[300], title[300];
    id_of(id, sizeof id, "cm-", md->name);
    snprintf(title, sizeof title, "Confusion matrix of %s (rows: true class, columns: predicted)", md->name);
    df_svg_open(f, id, "chart confusion", left + size + 20, top + size + 50, title);
    fputs("<text x=\"4\" y=\"16\" font-size=\"13\" font-weight=\"600\">", f);
    df_svg_escape(f, md->name);
    fputs("</text>\n<g font-size=\"11\">\n", f);
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
    fputs("</g>\n", f);
    df_svg_close(f);
    free(cm);
    return 0;
}

static void embedding_chart(FILE *f, const df_report *r, const df_report_model *md) {
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int i = 0; i < md->n_embed; i++) {
        x0 = fmin(x0, md->embed[2 * i]), x1 = fmax(x1, md->embed[2 * i]);
        y0 = fmin(y0, md->embed[2 * i + 1]), y1 = fmax(y1, md->embed[2 * i + 1]);
    }
    double px = (x1 - x0) * 0.05 + 1e-6, py = (y1 - y0) * 0.05 + 1e-6;
    char id[300], title[300];
    id_of(id, sizeof id, "pca-", md->name);
    snprintf(title, sizeof title, "%s: penultimate features, first two principal components", md->name);
    df_svg_open(f, id, "chart embedding", 420, 380, title);
    fputs("<text x=\"10\" y=\"18\" font-size=\"13\" font-weight=\"600\">", f);
    df_svg_escape(f, md->name);
    fputs("</text>\n", f);
    df_svg_plot p = {f, x0 - px, x1 + px, y0 - py, y1 + py, 56, 30, 260, 300};
    char xl[64], yl[64];
    snprintf(xl, sizeof xl, "PC 1 (%.0f%% of the variance)", 100 * md->explained[0]);
    snprintf(yl, sizeof yl, "PC 2 (%.0f%%)", 100 * md->explained[1]);
    df_svg_axes(&p, xl, yl, 4, 4);
    df_svg_points(&p, md->embed, md->embed_labels, md->n_embed, md->n_embed > 1000 ? 1.6 : 2.5);
    const char *colours[DF_METRICS_MAX_CLASSES];
    for (int k = 0; k < r->K; k++) colours[k] = df_svg_colour(k);
    df_svg_legend(f, 332, 44, r->class_names, colours, NULL, r->K);
    df_svg_close(f);
}

static int overlays(FILE *f, const df_report_model *md, df_error *err) {
    char id[300];
    id_of(id, sizeof id, "gradcam-", md->name);
    fprintf(f, "<h3>");
    df_svg_escape(f, md->name);
    fprintf(f, "</h3>\n<div id=\"%s\" class=\"overlays\">\n", id);
    for (int i = 0; i < md->n_overlays; i++) {
        unsigned char *png;
        size_t len;
        if (df_read_file(md->overlay_paths[i], DF_IMAGE_MAX_FILE_BYTES, &png, &len, err)) return df_fail_prefix(err, "report");
        char *b64 = df_base64(png, len);
        free(png);
        fputs("<figure><img alt=\"Grad-CAM overlay\" src=\"data:image/png;base64,", f);
        fputs(b64, f);
        free(b64);
        fputs("\"><figcaption>", f);
        df_svg_escape(f, md->overlay_captions ? md->overlay_captions[i] : "");
        fputs("</figcaption></figure>\n", f);
    }
    fputs("</div>\n", f);
    return 0;
}

static int check(const df_report *r, df_error *err) {
    if (r->K < 2 || r->K > DF_METRICS_MAX_CLASSES)
        return df_fail(err, "report: %d classes, expected 2..%d", r->K, DF_METRICS_MAX_CLASSES);
    for (int m = 0; m < r->n_models; m++) {
        const df_report_model *md = &r->models[m];
        for (int i = 0; i < md->n; i++)
            if (md->labels[i] < 0 || md->labels[i] >= r->K)
                return df_fail(err, "report: model %s, sample %d: label %d outside 0..%d", md->name, i,
                               md->labels[i], r->K - 1);
        for (int i = 0; i < md->n_embed; i++)
            if (md->embed_labels[i] < 0 || md->embed_labels[i] >= r->K)
                return df_fail(err, "report: model %s, embedded sample %d: label %d outside 0..%d", md->name, i,
                               md->embed_labels[i], r->K - 1);
    }
    return 0;
}

static int body(FILE *f, const df_report *r, df_error *err) {
    fputs("<section id=\"about\">\n<h2>What this is</h2>\n", f);
    paragraphs(f, r->about);
    fputs("</section>\n<section id=\"results\">\n<h2>Results</h2>\n", f);
    for (int t = 0; t < r->n_tables; t++) table(f, &r->tables[t]);
    fputs("</section>\n<section id=\"roc\">\n<h2>ROC curves</h2>\n<div class=\"charts\">\n", f);
    if (r->K == 2) {
        if (roc_chart(f, r, 1, "roc", err)) return -1;
    } else {
        for (int k = 0; k < r->K; k++) {
            char id[32];
            snprintf(id, sizeof id, "roc-%d", k);
            if (roc_chart(f, r, k, id, err)) return -1;
        }
    }
    fputs("</div>\n</section>\n<section id=\"curves\">\n<h2>Learning curves</h2>\n<div class=\"charts\">\n", f);
    curve_chart(f, r, 0);
    curve_chart(f, r, 1);
    fputs("</div>\n</section>\n<section id=\"confusion\">\n<h2>Confusion matrices (test split)</h2>\n"
          "<div class=\"charts\">\n", f);
    for (int m = 0; m < r->n_models; m++)
        if (r->models[m].n && confusion_chart(f, r, &r->models[m], err)) return -1;
    fputs("</div>\n</section>\n<section id=\"embedding\">\n<h2>Feature embeddings (PCA of the penultimate "
          "features, test split)</h2>\n<div class=\"charts\">\n", f);
    int any = 0;
    for (int m = 0; m < r->n_models; m++)
        if (r->models[m].n_embed > 1) embedding_chart(f, r, &r->models[m]), any = 1;
    fputs("</div>\n", f);
    if (!any) fputs("<p class=\"note\">No model has penultimate features to embed.</p>\n", f);
    fputs("</section>\n<section id=\"gradcam\">\n<h2>Grad-CAM</h2>\n", f);
    any = 0;
    for (int m = 0; m < r->n_models; m++)
        if (r->models[m].n_overlays) {
            if (overlays(f, &r->models[m], err)) return -1;
            any = 1;
        }
    if (!any) fputs("<p class=\"note\">No model looks at images, so there is nothing to explain.</p>\n", f);
    fputs("</section>\n", f);
    return 0;
}

int df_report_render(const df_report *r, char **html, size_t *len, df_error *err) {
    if (check(r, err)) return -1;
    *html = NULL;
    *len = 0;
    FILE *f = open_memstream(html, len);
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>", f);
    df_svg_escape(f, r->title);
    fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>", style);
    df_svg_escape(f, r->title);
    fputs("</h1>\n", f);
    int rc = body(f, r, err);
    fputs("</body>\n</html>\n", f);
    fclose(f);
    if (rc) {
        free(*html);
        *html = NULL;
        *len = 0;
    }
    return rc;
}

int df_report_write(const df_report *r, const char *path, df_error *err) {
    char *html;
    size_t len;
    if (df_report_render(r, &html, &len, err)) return -1;
    int rc = df_write_file_atomic(path, html, len, err);
    free(html);
    return rc;
}
