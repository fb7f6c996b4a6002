/* report_sections.c: the report's HTML pieces: style, paragraphs, tables, the verdict, Grad-CAM overlays. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/io/files.h"
#include "data/image/image.h"
#include "train/report/report_parts.h"
#include "train/report/svg.h"

const char df_report_style[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px auto;max-width:1160px;color:#222;"
    "line-height:1.45;padding:0 16px}h1{font-size:1.6em}h2{border-bottom:1px solid #ddd;padding-bottom:4px;"
    "margin-top:2em}table.results{border-collapse:collapse;font-size:13px;margin:8px 0 16px}"
    "table.results th,table.results td{border:1px solid #ccc;padding:3px 7px;text-align:right}"
    "table.results th{background:#f3f3f3}table.results td:first-child{text-align:left;font-weight:600}"
    ".charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:16px}"
    "svg.chart{width:100%;height:auto;display:block;background:#fff;border:1px solid #eee}"
    "svg.wide{grid-column:1/-1}svg.curve polyline:not([stroke-dasharray]){stroke-width:4;stroke-opacity:.85}"
    "svg.confusion,svg.embedding{max-width:600px}"
    "figure{margin:0}figcaption{font-size:12px;color:#555;max-width:340px}"
    ".overlays{display:flex;flex-wrap:wrap;gap:18px;margin-bottom:14px}.pair{display:flex;gap:4px}"
    ".pair img{width:160px;height:160px;image-rendering:pixelated;border:1px solid #ccc}"
    "svg#cam-scale{max-width:420px;height:auto;display:block}"
    "p.note{color:#666;font-size:13px}p.live{background:#fff6d6;border:1px solid #e8d48a;padding:6px 10px}"
    "section#verdict{background:#f6f9fc;border:1px solid #d5e2ef;padding:4px 16px 12px}"
    "section#verdict h2{margin-top:.6em}ul.warnings li{color:#8a4b00}td.sig{color:#17692d;font-weight:600}"
    "pre.config{background:#f7f7f7;border:1px solid #ddd;padding:10px;font-size:12px;overflow:auto}\n";

void df_report_paragraphs(FILE *f, const char *text) {
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

static void cell(FILE *f, const char *tag, const char *cls, const char *text) {
    fprintf(f, "<%s%s%s%s>", tag, cls ? " class=\"" : "", cls ? cls : "", cls ? "\"" : "");
    df_svg_escape(f, text);
    fprintf(f, "</%s>", tag);
}

void df_report_table_html(FILE *f, const df_report_table *t) {
    fputs("<table id=\"", f);
    df_svg_escape(f, t->id);
    fputs("\" class=\"results\">\n", f);
    if (t->caption) cell(f, "caption", NULL, t->caption), fputc('\n', f);
    fputs("<thead><tr>", f);
    for (int c = 0; c < t->n_cols; c++) cell(f, "th", NULL, t->head[c]);
    fputs("</tr></thead>\n<tbody>\n", f);
    for (int r = 0; r < t->n_rows; r++) {
        fputs("<tr>", f);
        for (int c = 0; c < t->n_cols; c++) cell(f, "td", NULL, t->cells[(size_t)r * t->n_cols + c]);
        fputs("</tr>\n", f);
    }
    fputs("</tbody></table>\n", f);
}

static const char *number(char *buf, size_t size, double v, int p_value) {
    if (!isfinite(v)) snprintf(buf, size, "n/a");
    else if (p_value && v < 0.001) snprintf(buf, size, "%.1e", v);
    else snprintf(buf, size, p_value ? "%.3f" : "%.4f", v);
    return buf;
}

void df_report_verdict_section(FILE *f, const df_report_verdict *v) {
    char a[32], b[32];
    fputs("<section id=\"verdict\">\n<h2>Verdict</h2>\n", f);
    if (v->n_warnings) {
        fputs("<ul class=\"warnings\">\n", f);
        for (int i = 0; i < v->n_warnings; i++) cell(f, "li", NULL, v->warnings[i]), fputc('\n', f);
        fputs("</ul>\n", f);
    }
    if (v->n_best) {
        fputs("<table id=\"verdict-best\" class=\"results\">\n<caption>Best model per metric</caption>\n"
              "<thead><tr><th>metric</th><th>best model</th><th>value</th></tr></thead>\n<tbody>\n", f);
        for (int i = 0; i < v->n_best; i++) {
            fputs("<tr>", f);
            cell(f, "td", NULL, v->best[i].metric);
            cell(f, "td", NULL, v->best[i].model);
            cell(f, "td", NULL, number(a, sizeof a, v->best[i].value, 0));
            fputs("</tr>\n", f);
        }
        fputs("</tbody></table>\n", f);
    }
    if (v->n_comparisons) {
        fputs("<table id=\"verdict-tests\" class=\"results\">\n<caption>Each model against the baseline "
              "(p-values Holm-adjusted over all comparisons)</caption>\n<thead><tr><th>model</th><th>baseline</th>"
              "<th>test</th><th>p</th><th>p (Holm)</th><th>significant at 0.05 after Holm</th></tr></thead>\n"
              "<tbody>\n", f);
        for (int i = 0; i < v->n_comparisons; i++) {
            const df_report_comparison *c = &v->comparisons[i];
            fputs("<tr>", f);
            cell(f, "td", NULL, c->model);
            cell(f, "td", NULL, c->baseline);
            cell(f, "td", NULL, c->test ? c->test : "");
            cell(f, "td", NULL, number(a, sizeof a, c->p_raw, 1));
            cell(f, "td", NULL, number(b, sizeof b, c->p_holm, 1));
            cell(f, "td", c->significant ? "sig" : NULL, c->significant ? "yes" : "no");
            fputs("</tr>\n", f);
        }
        fputs("</tbody></table>\n", f);
    }
    fputs("</section>\n", f);
}

/* <img> of a PNG file as a data: URI. */
static int image(FILE *f, const char *path, const char *alt, df_error *err) {
    unsigned char *png;
    size_t len;
    if (df_read_file(path, DF_IMAGE_MAX_FILE_BYTES, &png, &len, err)) return df_fail_prefix(err, "report");
    char *b64 = df_base64(png, len);
    free(png);
    fprintf(f, "<img alt=\"%s\" src=\"data:image/png;base64,", alt);
    fputs(b64, f);
    free(b64);
    fputs("\">", f);
    return 0;
}

/* The plain image of overlay i: given, or <stem>-plain.png beside the overlay when it exists. */
static char *plain_path(const df_report_model *md, int i) {
    if (md->overlay_plain_paths) return md->overlay_plain_paths[i] ? df_strdup(md->overlay_plain_paths[i]) : NULL;
    const char *ov = md->overlay_paths[i];
    size_t n = strlen(ov);
    if (n < 4 || strcmp(ov + n - 4, ".png")) return NULL;
    char *p = df_malloc(n + 7);
    memcpy(p, ov, n - 4);
    memcpy(p + n - 4, "-plain.png", 11);
    if (access(p, R_OK) == 0) return p;
    free(p);
    return NULL;
}

int df_report_overlays(FILE *f, const df_report_model *md, df_error *err) {
    char id[300];
    df_report_id(id, sizeof id, "gradcam-", md->name);
    fprintf(f, "<h3>");
    df_svg_escape(f, md->name);
    fprintf(f, "</h3>\n<div id=\"%s\" class=\"overlays\">\n", id);
    for (int i = 0; i < md->n_overlays; i++) {
        fputs("<figure><div class=\"pair\">", f);
        char *plain = plain_path(md, i);
        int rc = plain ? image(f, plain, "image", err) : 0;
        free(plain);
        if (rc || image(f, md->overlay_paths[i], "Grad-CAM overlay", err)) return -1;
        fputs("</div><figcaption>", f);
        df_svg_escape(f, md->overlay_captions ? md->overlay_captions[i] : "");
        fputs("</figcaption></figure>\n", f);
    }
    fputs("</div>\n", f);
    return 0;
}

void df_report_colour_scale(FILE *f) {
    df_svg_open(f, "cam-scale", "scale", 420, 44, "Grad-CAM colour map, from low to high heat");
    df_svg_colour_bar(f, 10, 6, 400, 16);
    df_svg_close(f);
}

void df_report_pre(FILE *f, const char *text) {
    fputs("<pre class=\"config\">", f);
    df_svg_escape(f, text);
    fputs("</pre>\n", f);
}
