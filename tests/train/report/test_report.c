/* test_report.c: the study report from fabricated inputs. Checks that every section and chart is there with
 * its id, that each SVG's tags balance, that the ROC polyline holds every point of the curve, that the
 * overlays are embedded byte for byte as base64, that text is escaped and that nothing refers outside the
 * file; reading learning curves from metrics.jsonl (and refusing a bad line); base64 on the RFC 4648 test
 * vectors; inconsistent input refused.
 *
 * Also a helper for test_report_chromium.sh:
 *   test_report --write FILE             writes the fabricated two-class report, with a verdict, to FILE
 *   test_report --check-screenshot PNG   exits 0 when the screenshot is not blank (enough non-white pixels
 *                                        and colours) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "core/io/files.h"
#include "core/rng.h"
#include "data/image/image.h"
#include "train/metrics/metrics.h"
#include "train/report/report.h"
#include "train/report/svg.h"

enum { N = 60, NM = 3 };

typedef struct {
    char dir[256];
    char png[2][300], plain[2][320];
    float prob[NM][N * 3];
    int labels[N];
    float embed[NM][N * 2];
    df_report_curve curves[NM + 1];
    df_report_model models[NM];
    const char *curve_names[NM][2];
    const char *paths[2], *captions[2];
    df_report_table tables[1];
    const char *head[3], *cells[6];
} fixture;

static double e1[4] = {0.9, 0.7, 0.55, 0.5}, e2[4] = {1.0, 0.8, 0.75, 0.7}, e3[4] = {0.6, 0.7, 0.75, 0.8};
static int ep[4] = {1, 2, 3, 4};

static const char *const names2[2] = {"benign", "malignant"};
static const char *const names3[3] = {"nevus", "melanoma", "bcc & <other>"};

/* Three models over the same N samples of K classes: informative, weak, and one with an awkward name. */
static void fixture_init(fixture *fx, int K) {
    memset(fx, 0, sizeof *fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/df_report_XXXXXX");
    if (!mkdtemp(fx->dir)) abort();
    df_rng r = df_rng_make(3, 1);
    for (int i = 0; i < N; i++) fx->labels[i] = i % K;
    for (int m = 0; m < NM; m++)
        for (int i = 0; i < N; i++) {
            double sum = 0;
            for (int k = 0; k < K; k++) {
                double v = df_rng_uniform(&r) + (k == fx->labels[i] ? 1.5 - 0.6 * m : 0.0);
                fx->prob[m][i * K + k] = (float)v;
                sum += v;
            }
            for (int k = 0; k < K; k++) fx->prob[m][i * K + k] /= (float)sum;
            fx->embed[m][2 * i] = (float)(fx->labels[i] + df_rng_normal(&r) * 0.3);
            fx->embed[m][2 * i + 1] = (float)df_rng_normal(&r);
        }
    /* two small PNG overlays */
    for (int j = 0; j < 2; j++) {
        df_image im;
        df_image_alloc(&im, 4, 3, 3);
        for (int q = 0; q < 36; q++) im.data[q] = (unsigned char)(q * 7 + j * 50);
        snprintf(fx->png[j], sizeof fx->png[j], "%s/ov%d.png", fx->dir, j);
        df_error err;
        if (df_image_save_png(fx->png[j], &im, &err)) abort();
        /* the plain image under the overlay, found by its name next to it */
        snprintf(fx->plain[j], sizeof fx->plain[j], "%s/ov%d-plain.png", fx->dir, j);
        for (int q = 0; q < 36; q++) im.data[q] = (unsigned char)(200 - q * 3);
        if (df_image_save_png(fx->plain[j], &im, &err)) abort();
        df_image_free(&im);
        fx->paths[j] = fx->png[j];
    }
    fx->captions[0] = "ISIC_1: true malignant, predicted malignant";
    fx->captions[1] = "ISIC_2 <b>";
    for (int c = 0; c <= NM; c++)
        fx->curves[c] = (df_report_curve){4, ep, e1, c == 1 ? e2 : e1, c == 2 ? e2 : e3, NULL};
    static const char *const model_names[NM] = {"image", "late", "a<b&c intermediate+transfer"};
    for (int m = 0; m < NM; m++) {
        df_report_model *md = &fx->models[m];
        md->name = model_names[m];
        md->n = N;
        md->prob = fx->prob[m];
        md->labels = fx->labels;
        md->n_curves = m == 1 ? 2 : 1;
        md->curves = m == 1 ? &fx->curves[1] : &fx->curves[m == 0 ? 0 : 3];
        fx->curve_names[m][0] = m == 1 ? "late (image part)" : model_names[m];
        fx->curve_names[m][1] = "late (meta part)";
        md->curve_names = fx->curve_names[m];
        md->n_embed = m == 1 ? 0 : N; /* one model without an embedding */
        md->embed = fx->embed[m];
        md->embed_labels = fx->labels;
        md->explained[0] = 0.6;
        md->explained[1] = 0.2;
        md->n_overlays = m == 0 ? 2 : 0;
        md->overlay_paths = fx->paths;
        md->overlay_captions = fx->captions;
    }
    fx->head[0] = "model", fx->head[1] = "AUC", fx->head[2] = "F1 <& \"x\">";
    const char *cells[6] = {"image", "0.9", "0.8", "late", "0.7", "0.6"};
    memcpy(fx->cells, cells, sizeof cells);
    fx->tables[0] = (df_report_table){"metrics", "Test metrics", 3, 2, fx->head, fx->cells};
}

static void fixture_free(fixture *fx) {
    for (int j = 0; j < 2; j++) unlink(fx->png[j]), unlink(fx->plain[j]);
    rmdir(fx->dir);
}

static df_report make_report(fixture *fx, int K) {
    df_report r = {"Study <test>", "First paragraph & more.\n\nSecond paragraph.", K, K == 2 ? names2 : names3,
                   1, fx->tables, NM, fx->models};
    return r;
}

static int count(const char *s, const char *needle) {
    int n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

static int has_id(const char *html, const char *tag, const char *id) {
    char buf[300];
    snprintf(buf, sizeof buf, "<%s id=\"%s\"", tag, id);
    return strstr(html, buf) != NULL;
}

/* Tags inside every <svg>...</svg> open and close in order (self-closing tags aside). */
static int svg_balanced(const char *html) {
    const char *p = html;
    int n_svg = 0;
    while ((p = strstr(p, "<svg")) != NULL) {
        char stack[64][32];
        int depth = 0;
        const char *q = p;
        for (;;) {
            q = strchr(q, '<');
            if (!q) return 0;
            const char *end = strchr(q, '>');
            if (!end) return 0;
            char name[32] = {0};
            int closing = q[1] == '/';
            sscanf(q + 1 + closing, "%31[a-zA-Z]", name);
            int self = end[-1] == '/';
            if (closing) {
                if (depth == 0 || strcmp(stack[depth - 1], name)) return 0;
                depth--;
            } else if (!self) {
                if (depth == 64) return 0;
                snprintf(stack[depth++], sizeof stack[0], "%s", name);
            }
            q = end + 1;
            if (depth == 0) break;
        }
        n_svg++;
        p = q;
    }
    return n_svg;
}

/* Points in the polyline of the given class. */
static int polyline_points(const char *html, const char *cls) {
    char buf[200];
    snprintf(buf, sizeof buf, "<polyline class=\"%s\"", cls);
    const char *p = strstr(html, buf);
    if (!p || strstr(p + 1, buf)) return -1; /* exactly one */
    p = strstr(p, "points=\"");
    if (!p) return -1;
    p += 8;
    int n = 0;
    for (; *p && *p != '"'; p++) n += *p == ',';
    return n;
}

static unsigned char *unbase64(const char *s, size_t len, size_t *n) {
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned char *out = malloc(len);
    *n = 0;
    unsigned v = 0;
    int bits = 0;
    for (size_t i = 0; i < len && s[i] != '='; i++) {
        const char *c = strchr(alphabet, s[i]);
        if (!c || !*c) {
            free(out);
            return NULL;
        }
        v = (v << 6) | (unsigned)(c - alphabet);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[(*n)++] = (unsigned char)(v >> bits);
        }
    }
    return out;
}

/* Every legend text of every SVG ends inside the SVG's viewBox (by the width estimate the charts use, which
 * test_report_chromium.sh checks against the browser's own measure). Returns the number that do not. */
static int legends_fit(const char *html) {
    int bad = 0;
    for (const char *svg = strstr(html, "<svg"); svg; svg = strstr(svg + 1, "<svg")) {
        double W = 0, H = 0;
        const char *vb = strstr(svg, "viewBox=\"0 0 ");
        if (!vb || sscanf(vb, "viewBox=\"0 0 %lf %lf", &W, &H) != 2) return -1;
        const char *end = strstr(svg, "</svg>");
        for (const char *t = strstr(svg, "class=\"legend-text\" x=\""); t && t < end;
             t = strstr(t + 1, "class=\"legend-text\" x=\"")) {
            double x = 0, y = 0;
            sscanf(t, "class=\"legend-text\" x=\"%lf\" y=\"%lf\"", &x, &y);
            const char *a = strchr(t, '>') + 1, *b = strstr(a, "</text>");
            char text[400];
            snprintf(text, sizeof text, "%.*s", (int)(b - a), a);
            if (x + df_svg_text_width(text, 11) > W || y > H) bad++;
        }
    }
    return bad;
}

static void test_base64(void) {
    static const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *out[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        char *b = df_base64((const unsigned char *)in[i], strlen(in[i]));
        CHECK_MSG(!strcmp(b, out[i]), "base64(%s) = %s", in[i], b);
        free(b);
    }
}

static void test_two_classes(void) {
    fixture fx;
    fixture_init(&fx, 2);
    df_report r = make_report(&fx, 2);
    char *html;
    size_t len;
    df_error err;
    CHECK(df_report_render(&r, NULL, &html, &len, &err) == 0);
    CHECK(strlen(html) == len);
    static const char *sections[] = {"about", "results", "roc", "curves", "confusion", "embedding", "gradcam"};
    for (int i = 0; i < 7; i++) CHECK_MSG(has_id(html, "section", sections[i]), "section %s", sections[i]);
    static const char *svgs[] = {"roc", "curve-auc", "curve-loss", "curve-valid-loss", "cam-scale", "cm-image", "cm-late", "cm-a-b-c-intermediate-transfer", "pca-image",
                                 "pca-a-b-c-intermediate-transfer"};
    for (int i = 0; i < 10; i++) CHECK_MSG(has_id(html, "svg", svgs[i]), "svg %s", svgs[i]);
    CHECK(!has_id(html, "svg", "pca-late"));
    CHECK(has_id(html, "div", "gradcam-image"));
    CHECK(!has_id(html, "div", "gradcam-late"));
    CHECK(has_id(html, "table", "metrics"));
    CHECK(count(html, "<svg") == 10 && count(html, "</svg>") == 10);
    CHECK(svg_balanced(html) == 10);
    CHECK(!has_id(html, "section", "verdict") && strstr(html, "http-equiv") == NULL);
    CHECK(legends_fit(html) == 0);
    /* every chart scales with the page */
    CHECK(count(html, "width=\"100%\"") == 10);
    /* a model keeps its colour: late (model 1) draws its ROC and its curves in the palette's second colour */
    CHECK(count(html, "class=\"curve-line model-late\" fill=\"none\" stroke=\"#f28e2b\"") == 6);
    CHECK(count(html, "class=\"roc-line model-late\" fill=\"none\" stroke=\"#f28e2b\"") == 1);
    /* its parts are dashed, so the lines they cover stay visible */
    CHECK(count(html, "class=\"curve-line model-late\" fill=\"none\" stroke=\"#f28e2b\" stroke-width=\"2\" "
                      "stroke-dasharray") == 6);
    CHECK(strstr(html, ">predicted</text>") != NULL && strstr(html, ">true</text>") != NULL);
    CHECK(count(html, "<section") == 7 && count(html, "</section>") == 7);
    /* nothing outside the file: no URL, script, link or external source */
    CHECK(strstr(html, "http") == NULL);
    CHECK(strstr(html, "//") == NULL);
    CHECK(strstr(html, "<script") == NULL && strstr(html, "<link") == NULL);
    CHECK(count(html, "src=\"") == count(html, "src=\"data:image/png;base64,"));
    /* escaping */
    CHECK(strstr(html, "a<b&c") == NULL && strstr(html, "a&lt;b&amp;c") != NULL);
    CHECK(strstr(html, "Study &lt;test&gt;") != NULL);
    CHECK(strstr(html, "F1 &lt;&amp; &quot;x&quot;&gt;") != NULL);
    CHECK(strstr(html, "ISIC_2 &lt;b&gt;") != NULL);
    CHECK(strstr(html, "</p>\n<p>Second paragraph.") != NULL);
    /* ROC: one polyline per model, with every point of the curve */
    for (int m = 0; m < NM; m++) {
        df_roc roc;
        CHECK(df_roc_curve(fx.prob[m], fx.labels, N, 2, 1, &roc, &err) == 0);
        char cls[64];
        snprintf(cls, sizeof cls, "roc-line model-%s", m == 0 ? "image" : m == 1 ? "late" : "a-b-c-intermediate-transfer");
        CHECK_MSG(polyline_points(html, cls) == roc.n, "%s: %d points, curve %d", cls, polyline_points(html, cls),
                  roc.n);
        df_roc_free(&roc);
    }
    CHECK(count(html, "(AUC ") == NM);
    /* learning curves: a series per network (late has two) */
    CHECK(count(html, "class=\"curve-line model-late\"") == 2 + 4); /* AUC: 2; loss: train + valid for 2 */
    CHECK(strstr(html, "late (meta part)") != NULL);
    /* confusion matrices: K*K cells each; the counts add up to N */
    CHECK(count(html, "<rect class=\"cell\"") == 4 * NM);
    /* embeddings: one circle per sample */
    CHECK(count(html, "<circle") == 2 * N);
    /* overlays embedded byte for byte, each after its plain image */
    const char *p = html;
    CHECK(count(html, "data:image/png;base64,") == 4);
    for (int j = 0; j < 2; j++) {
        p = strstr(p, "data:image/png;base64,");
        CHECK(p != NULL);
        if (!p) break;
        p = strstr(p + 1, "data:image/png;base64,");
        CHECK(p != NULL);
        if (!p) break;
        p += strlen("data:image/png;base64,");
        size_t b64len = strcspn(p, "\""), n;
        unsigned char *bytes = unbase64(p, b64len, &n), *file;
        size_t flen;
        CHECK(df_read_file(fx.png[j], DF_IMAGE_MAX_FILE_BYTES, &file, &flen, &err) == 0);
        CHECK(bytes && n == flen && memcmp(bytes, file, n) == 0);
        free(bytes);
        free(file);
    }
    /* the same input renders the same bytes */
    char *again;
    size_t len2;
    CHECK(df_report_render(&r, NULL, &again, &len2, &err) == 0);
    CHECK(len2 == len && memcmp(again, html, len) == 0);
    free(again);
    /* writing to a file; a missing overlay is an error naming it */
    char path[400];
    snprintf(path, sizeof path, "%s/report.html", fx.dir);
    CHECK(df_report_write(&r, NULL, path, &err) == 0);
    unsigned char *file;
    size_t flen;
    CHECK(df_read_file(path, (size_t)1 << 30, &file, &flen, &err) == 0 && flen == len);
    free(file);
    unlink(path);
    const char *missing[2] = {"/nonexistent/ov.png", "/nonexistent/ov.png"};
    fx.models[0].overlay_paths = missing;
    CHECK(df_report_render(&r, NULL, &again, &len2, &err) == -1);
    CHECK(strstr(err.msg, "/nonexistent/ov.png") != NULL);
    fx.models[0].overlay_paths = fx.paths;
    int bad[N];
    memcpy(bad, fx.labels, sizeof bad);
    bad[5] = 2;
    fx.models[2].labels = bad;
    CHECK(df_report_render(&r, NULL, &again, &len2, &err) == -1);
    CHECK(strstr(err.msg, "sample 5") != NULL);
    free(html);
    fixture_free(&fx);
}

static void test_three_classes(void) {
    fixture fx;
    fixture_init(&fx, 3);
    df_report r = make_report(&fx, 3);
    char *html;
    size_t len;
    df_error err;
    CHECK(df_report_render(&r, NULL, &html, &len, &err) == 0);
    for (int k = 0; k < 3; k++) {
        char id[16];
        snprintf(id, sizeof id, "roc-%d", k);
        CHECK(has_id(html, "svg", id));
    }
    CHECK(!has_id(html, "svg", "roc"));
    CHECK(count(html, "<rect class=\"cell\"") == 9 * NM);
    CHECK(strstr(html, "bcc &amp; &lt;other&gt;") != NULL);
    CHECK(svg_balanced(html) == 3 + 3 + 3 + 2 + 1);
    CHECK(legends_fit(html) == 0);
    free(html);
    fixture_free(&fx);
}

static void test_curve_file(void) {
    char dir[] = "/tmp/df_curve_XXXXXX", path[100];
    if (!mkdtemp(dir)) abort();
    snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
    FILE *f = fopen(path, "w");
    fputs("{\"epoch\": 1, \"train_loss\": 0.9, \"valid_loss\": 0.8, \"valid\": {\"auc\": 0.61}}\n"
          "{\"epoch\": 2, \"train_loss\": 0.7, \"valid_loss\": 0.75, \"valid\": {\"auc\": null}}\n",
          f);
    fclose(f);
    df_report_curve c;
    df_error err;
    CHECK(df_report_read_curve(path, &c, &err) == 0);
    CHECK(c.n == 2 && c.epoch[1] == 2);
    CHECK_CLOSE(c.train_loss[0], 0.9, 1e-12, 0);
    CHECK_CLOSE(c.valid_loss[1], 0.75, 1e-12, 0);
    CHECK_CLOSE(c.valid_auc[0], 0.61, 1e-12, 0);
    CHECK(isnan(c.valid_auc[1]));
    df_report_curve_free(&c);
    f = fopen(path, "a");
    fputs("{\"train_loss\": 1}\n", f);
    fclose(f);
    CHECK(df_report_read_curve(path, &c, &err) == -1);
    CHECK(strstr(err.msg, "metrics.jsonl:3") != NULL);
    unlink(path);
    CHECK(df_report_read_curve(path, &c, &err) == -1);
    rmdir(dir);
}

static const df_report_best best[2] = {{"AUC", "image", 0.91234}, {"balanced accuracy", "late", 0.8}};
static const df_report_comparison tests[2] = {{"late", "image", "DeLong, AUC", 0.012, 0.024, 1},
                                              {"a<b&c intermediate+transfer", "image", "DeLong, AUC", 0.2, 0.2, 0}};
static const char *const warnings[1] = {
    "one seed: differences between models cannot be told from seed-to-seed variation"};
static const df_report_verdict verdict = {2, best, 2, tests, 1, warnings};

static void test_verdict(void) {
    fixture fx;
    fixture_init(&fx, 2);
    df_report r = make_report(&fx, 2);
    df_report_extra x = {.verdict = &verdict};
    char *html;
    size_t len;
    df_error err;
    CHECK(df_report_render(&r, &x, &html, &len, &err) == 0);
    CHECK(has_id(html, "section", "verdict") && has_id(html, "table", "verdict-best") &&
          has_id(html, "table", "verdict-tests"));
    /* at the top: before the first other section */
    CHECK(strstr(html, "<section id=\"verdict\"") < strstr(html, "<section id=\"about\""));
    CHECK(strstr(html, "<td>AUC</td><td>image</td><td>0.9123</td>") != NULL);
    CHECK(strstr(html, "<td>late</td><td>image</td><td>DeLong, AUC</td><td>0.012</td><td>0.024</td>"
                       "<td class=\"sig\">yes</td>") != NULL);
    CHECK(strstr(html, "<td>a&lt;b&amp;c intermediate+transfer</td>") != NULL);
    CHECK(strstr(html, "<li>one seed: differences") != NULL);
    CHECK(count(html, "<section") == 8);
    free(html);
    fixture_free(&fx);
}

static void write_text(const char *dir, const char *name, const char *text) {
    char path[400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static void test_run_report(void) {
    char dir[] = "/tmp/df_run_report_XXXXXX", path[200];
    if (!mkdtemp(dir)) abort();
    write_text(dir, "config.yaml", "run:\n  name: r <1>\ntrain:\n  epochs: 3\n  monitor: balanced_accuracy\n");
    write_text(dir, "metrics.jsonl",
               "{\"epoch\": 1, \"train_loss\": 0.9, \"valid_loss\": 0.8, \"valid\": {\"auc\": 0.6, "
               "\"balanced_accuracy\": 0.55}}\n{\"epoch\": 2, \"train_loss\": 0.7, \"valid_loss\": 0.75, "
               "\"valid\": {\"auc\": 0.7, \"balanced_accuracy\": 0.65}}\n");
    snprintf(path, sizeof path, "%s/report.html", dir);
    /* in progress: curves only, a note and a refresh */
    df_error err;
    int live = 0;
    CHECK(df_report_run(dir, NULL, &live, &err) == 0 && live == 1);
    unsigned char *html;
    size_t len;
    CHECK(df_read_file(path, 1 << 24, &html, &len, &err) == 0);
    html = realloc(html, len + 1);
    html[len] = 0;
    const char *h = (const char *)html;
    CHECK(strstr(h, "<meta http-equiv=\"refresh\" content=\"30\">") != NULL);
    CHECK(strstr(h, "run in progress (epoch 2)") != NULL);
    CHECK(has_id(h, "svg", "curve-auc") && has_id(h, "svg", "curve-loss") && !has_id(h, "section", "roc"));
    CHECK(strstr(h, "Validation balanced_accuracy per epoch") != NULL);
    CHECK(strstr(h, "<pre class=\"config\">run:\n  name: r &lt;1&gt;") != NULL);
    free(html);
    /* finished: ROC, confusion and calibration from the test predictions */
    write_text(dir, "test_predictions.csv", "id,label,benign,malignant\na,benign,0.92,0.08\nb,malignant,0.26,0.74\n"
               "c,benign,0.34,0.66\nd,malignant,0.14,0.86\n");
    char out[300];
    snprintf(out, sizeof out, "%s/other.html", dir);
    CHECK(df_report_run(dir, out, &live, &err) == 0 && live == 0);
    CHECK(df_read_file(out, 1 << 24, &html, &len, &err) == 0);
    html = realloc(html, len + 1);
    html[len] = 0;
    h = (const char *)html;
    CHECK(strstr(h, "http-equiv") == NULL && strstr(h, "in progress") == NULL);
    static const char *ids[] = {"curve-auc", "curve-loss", "curve-valid-loss", "roc"};
    for (int i = 0; i < 4; i++) CHECK_MSG(has_id(h, "svg", ids[i]), "svg %s", ids[i]);
    CHECK(strstr(h, "<svg id=\"cm-df-run-report-") != NULL && strstr(h, "<svg id=\"calibration-df-run-report-"));
    CHECK(has_id(h, "section", "calibration") && has_id(h, "section", "config"));
    CHECK(!has_id(h, "section", "embedding") && !has_id(h, "section", "gradcam"));
    /* (0.08 + 0.26 + 0.66 + 0.14) / 4: one sample in each of the bins 0.9, 0.7, 0.6 (wrong) and 0.8 */
    CHECK(strstr(h, "(ECE 0.285)") != NULL);
    CHECK(legends_fit(h) == 0);
    free(html);
    unlink(out);
    /* a label that is not a class column is refused, naming the row */
    write_text(dir, "test_predictions.csv", "id,label,benign,malignant\na,nevus,0.9,0.1\n");
    CHECK(df_report_run(dir, NULL, NULL, &err) == -1 && strstr(err.msg, "test_predictions.csv: row 2") != NULL);
    static const char *files[] = {"config.yaml", "metrics.jsonl", "test_predictions.csv", "report.html"};
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    CHECK(df_report_run(dir, NULL, NULL, &err) == -1 && strstr(err.msg, "not a run directory") != NULL);
    rmdir(dir);
}

/* Not blank: at least 2% of the pixels are not near-white and there are at least 8 distinct colours. */
static int check_screenshot(const char *path) {
    df_image im;
    df_error err;
    if (df_image_load(path, 0, 0, &im, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    long ink = 0, n = (long)im.w * im.h;
    static unsigned char seen[4096];
    int colours = 0;
    for (long q = 0; q < n; q++) {
        const unsigned char *p = im.data + 3 * q;
        ink += p[0] < 235 || p[1] < 235 || p[2] < 235;
        int key = (p[0] >> 4) << 8 | (p[1] >> 4) << 4 | (p[2] >> 4);
        if (!seen[key]) seen[key] = 1, colours++;
    }
    printf("screenshot %dx%d: %.1f%% non-white, %d colours\n", im.w, im.h, 100.0 * ink / n, colours);
    df_image_free(&im);
    return ink * 50 >= n && colours >= 8 ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "--check-screenshot")) return check_screenshot(argv[2]);
    if (argc == 3 && !strcmp(argv[1], "--write")) {
        fixture fx;
        fixture_init(&fx, 2);
        df_report r = make_report(&fx, 2);
        df_error err;
        df_report_extra x = {.verdict = &verdict};
        int rc = df_report_write(&r, &x, argv[2], &err);
        if (rc) fprintf(stderr, "%s\n", err.msg);
        fixture_free(&fx);
        return rc ? 1 : 0;
    }
    test_base64();
    test_two_classes();
    test_three_classes();
    test_curve_file();
    test_verdict();
    test_run_report();
    return check_report();
}
