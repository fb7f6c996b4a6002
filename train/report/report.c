/* report.c: see report.h. */
#include "train/report/report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/io/files.h"
#include "core/io/json.h"
#include "train/metrics/metrics.h"
#include "train/report/report_parts.h"
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
    return df_report_read_curve_monitor(path, NULL, c, err);
}

int df_report_read_curve_monitor(const char *path, const char *monitor, df_report_curve *c, df_error *err) {
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
            if (monitor) c->valid_monitor = df_realloc(c->valid_monitor, sizeof(double) * (size_t)room);
        }
        c->epoch[c->n] = (int)epoch;
        c->train_loss[c->n] = number_at(root, "train_loss");
        c->valid_loss[c->n] = number_at(root, "valid_loss");
        c->valid_auc[c->n] = number_at(df_json_get(root, "valid"), "auc");
        if (c->valid_monitor) c->valid_monitor[c->n] = number_at(df_json_get(root, "valid"), monitor);
        c->n++;
        df_json_free(doc);
    }
    free(line);
    fclose(f);
    if (rc) df_report_curve_free(c);
    return rc;
}

void df_report_curve_free(df_report_curve *c) {
    void *owned[] = {c->epoch, c->train_loss, c->valid_loss, c->valid_auc, c->valid_monitor};
    for (size_t i = 0; i < sizeof owned / sizeof *owned; i++) free(owned[i]);
    memset(c, 0, sizeof *c);
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

static void charts_open(FILE *f, const char *id, const char *heading) {
    fprintf(f, "<section id=\"%s\">\n<h2>%s</h2>\n<div class=\"charts\">\n", id, heading);
}

static void curves(FILE *f, const df_report *r, const df_report_extra *x) {
    charts_open(f, "curves", "Learning curves");
    for (int kind = 0; kind < 3; kind++) df_report_curve_chart(f, r, x->monitor, kind);
    fputs("</div>\n</section>\n", f);
}

static int test_charts(FILE *f, const df_report *r, const df_report_extra *x, df_error *err) {
    charts_open(f, "roc", "ROC curves");
    if (r->K == 2) {
        df_report_roc_chart(f, r, 1, "roc", "chart roc wide");
    } else {
        for (int k = 0; k < r->K; k++) {
            char id[32];
            snprintf(id, sizeof id, "roc-%d", k);
            df_report_roc_chart(f, r, k, id, "chart roc");
        }
    }
    fputs("</div>\n</section>\n", f);
    if (!x->single_run) curves(f, r, x);
    charts_open(f, "confusion", "Confusion matrices (test split)");
    for (int m = 0; m < r->n_models; m++)
        if (r->models[m].n && df_report_confusion_chart(f, r, &r->models[m], err)) return -1;
    fputs("</div>\n</section>\n", f);
    return 0;
}

static int study_parts(FILE *f, const df_report *r, df_error *err) {
    charts_open(f, "embedding", "Feature embeddings (PCA of the penultimate features, test split)");
    int any = 0;
    for (int m = 0; m < r->n_models; m++)
        if (r->models[m].n_embed > 1) df_report_embedding_chart(f, r, &r->models[m]), any = 1;
    fputs("</div>\n", f);
    if (!any) fputs("<p class=\"note\">No model has penultimate features to embed.</p>\n", f);
    fputs("</section>\n<section id=\"gradcam\">\n<h2>Grad-CAM</h2>\n", f);
    any = 0;
    for (int m = 0; m < r->n_models; m++)
        if (r->models[m].n_overlays) {
            if (!any) {
                fputs("<p class=\"note\">Each test image beside its overlay: the heat of the predicted class, "
                      "on this colour scale:</p>\n", f);
                df_report_colour_scale(f);
            }
            if (df_report_overlays(f, &r->models[m], err)) return -1;
            any = 1;
        }
    if (!any) fputs("<p class=\"note\">No model looks at images, so there is nothing to explain.</p>\n", f);
    fputs("</section>\n", f);
    return 0;
}

static void caller_section(FILE *f, const df_report_section *s) {
    fputs("<section id=\"", f);
    df_svg_escape(f, s->id);
    fputs("\">\n<h2>", f);
    df_svg_escape(f, s->heading);
    fputs("</h2>\n", f);
    if (s->text) df_report_paragraphs(f, s->text);
    if (s->charts) fprintf(f, "<div class=\"charts\">\n%s</div>\n", s->charts);
    for (int t = 0; t < s->n_tables; t++) df_report_table_html(f, &s->tables[t]);
    fputs("</section>\n", f);
}

static int body(FILE *f, const df_report *r, const df_report_extra *x, df_error *err) {
    if (x->note) {
        fputs("<p class=\"live\">", f);
        df_svg_escape(f, x->note);
        fputs("</p>\n", f);
    }
    if (x->verdict) df_report_verdict_section(f, x->verdict);
    if (r->about) {
        fputs("<section id=\"about\">\n<h2>What this is</h2>\n", f);
        df_report_paragraphs(f, r->about);
        fputs("</section>\n", f);
    }
    if (!x->single_run) {
        fputs("<section id=\"results\">\n<h2>Results</h2>\n", f);
        for (int t = 0; t < r->n_tables; t++) df_report_table_html(f, &r->tables[t]);
        fputs("</section>\n", f);
        for (int i = 0; i < x->n_sections; i++) caller_section(f, &x->sections[i]);
        return test_charts(f, r, x, err) || study_parts(f, r, err) ? -1 : 0;
    }
    curves(f, r, x);
    int tested = 0;
    for (int m = 0; m < r->n_models; m++) tested |= r->models[m].n > 0;
    if (tested) {
        if (test_charts(f, r, x, err)) return -1;
        charts_open(f, "calibration", "Calibration (test split)");
        for (int m = 0; m < r->n_models; m++)
            if (r->models[m].n) df_report_calibration_chart(f, r, m);
        fputs("</div>\n</section>\n", f);
    }
    if (x->config_text) {
        fputs("<section id=\"config\">\n<h2>Config</h2>\n", f);
        df_report_pre(f, x->config_text);
        fputs("</section>\n", f);
    }
    return 0;
}

int df_report_render(const df_report *r, const df_report_extra *x, char **html, size_t *len, df_error *err) {
    static const df_report_extra none;
    if (!x) x = &none;
    if (check(r, err)) return -1;
    *html = NULL;
    *len = 0;
    FILE *f = open_memstream(html, len);
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n", f);
    if (x->refresh_s > 0) fprintf(f, "<meta http-equiv=\"refresh\" content=\"%d\">\n", x->refresh_s);
    fputs("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>", f);
    df_svg_escape(f, r->title);
    fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>", df_report_style);
    df_svg_escape(f, r->title);
    fputs("</h1>\n", f);
    int rc = body(f, r, x, err);
    fputs("</body>\n</html>\n", f);
    fclose(f);
    if (rc) {
        free(*html);
        *html = NULL;
        *len = 0;
    }
    return rc;
}

int df_report_write(const df_report *r, const df_report_extra *x, const char *path, df_error *err) {
    char *html;
    size_t len;
    if (df_report_render(r, x, &html, &len, err)) return -1;
    int rc = df_write_file_atomic(path, html, len, err);
    free(html);
    return rc;
}
