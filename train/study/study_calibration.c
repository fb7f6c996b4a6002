/* study_calibration.c: the study's calibration outputs (see study_eval.h): calibration.csv (one row per
 * run), reliability.csv (the test split's bins per run, before and at the fitted temperature), a table in
 * results.md and the report's section#calibration with a reliability diagram per model (first seed). */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "train/metrics/stats.h"
#include "train/report/svg.h"
#include "train/study/study_eval.h"

enum { CHART_W = 560, PLOT_LEFT = 64, PLOT_TOP = 34, PLOT_W = 470, PLOT_H = 280 };

static void csv_rows(const df_study_cfg *st, const df_study_run *res, FILE *fc, FILE *fr) {
    char fb[16];
    fprintf(fc, "model,seed,fold,n_test,n_valid,temperature,valid_nll_before,valid_nll_after,valid_ece_before,"
            "valid_ece_after,ece_before,ece_after,brier_before,brier_after,note\n");
    fprintf(fr, "model,seed,fold,stage,bin,lo,hi,count,confidence,accuracy\n");
    for (int s = 0; s < df_study_n_reps(st); s++)
        for (int m = 0; m < st->n_models; m++) {
            const df_study_run *r = &res[s * st->n_models + m];
            const df_study_calib *c = r->calib;
            if (!c) continue;
            fprintf(fc, "%s,%ld,%s,%d,%d", st->models[m], df_study_rep_seed(st, s), df_study_fold_cell(st, s, fb, sizeof fb), r->p.n, c->n_valid);
            double v[] = {c->fit.T, c->fit.nll_before, c->fit.nll_after, c->valid_ece_before, c->valid_ece_after,
                          c->ece_before, c->ece_after, c->brier_before, c->brier_after};
            for (size_t k = 0; k < sizeof v / sizeof *v; k++) df_study_csv_number(fc, v[k], "%.6f");
            /* the note is an error message: quoted, its quotes doubled */
            fputs(",\"", fc);
            for (const char *ch = c->note; *ch; ch++) {
                if (*ch == '"') fputc('"', fc);
                fputc(*ch, fc);
            }
            fputs("\"\n", fc);
            for (int stage = 0; stage < (c->after ? 2 : 1); stage++)
                for (int b = 0; b < c->n_bins; b++) {
                    const df_reliability_bin *bin = stage ? &c->after[b] : &c->before[b];
                    fprintf(fr, "%s,%ld,%s,%s,%d,%.6f,%.6f,%d", st->models[m], df_study_rep_seed(st, s), df_study_fold_cell(st, s, fb, sizeof fb),
                            stage ? "after" : "before",
                            b, (double)b / c->n_bins, (double)(b + 1) / c->n_bins, bin->count);
                    df_study_csv_number(fr, bin->confidence, "%.6f");
                    df_study_csv_number(fr, bin->accuracy, "%.6f");
                    fputc('\n', fr);
                }
        }
}

/* "mean ± sd" over the seeds of model m of one calibration figure (sd with two seeds or more). */
static void over_seeds(const df_study_cfg *st, const df_study_run *res, int m, size_t offset, char *buf, size_t size) {
    double x[DF_STUDY_MAX_REPS];
    int n = 0;
    for (int s = 0; s < df_study_n_reps(st); s++) {
        const df_study_calib *c = res[s * st->n_models + m].calib;
        double v = c ? *(const double *)((const char *)c + offset) : NAN;
        if (!isnan(v)) x[n++] = v;
    }
    df_study_fmt_mean_sd(buf, size, x, n);
    /* a temperature that could not be fitted on some seeds: say over how many the figure is */
    size_t len = strlen(buf);
    if (n > 0 && n < df_study_n_reps(st) && len + 1 < size)
        snprintf(buf + len, size - len, " (%d of %d seeds)", n, df_study_n_reps(st));
}

static void table(const df_study_cfg *st, const df_study_run *res, df_study_table *o) {
    const char *head[] = {"model", "ECE", "Brier", "T (validation)", "ECE at T", "Brier at T", "note (first seed)"};
    int cols = st->eval.calibrate ? 7 : 3;
    df_study_table_init(o, "calibration", cols, st->n_models, head);
    static const size_t fields[] = {offsetof(df_study_calib, ece_before), offsetof(df_study_calib, brier_before),
                                    offsetof(df_study_calib, fit) + offsetof(df_temperature, T),
                                    offsetof(df_study_calib, ece_after), offsetof(df_study_calib, brier_after)};
    for (int m = 0; m < st->n_models; m++) {
        char cell[64];
        df_study_table_set(o, m, 0, st->models[m]);
        for (int k = 0; k < cols - 2 && k < 5; k++) {
            over_seeds(st, res, m, fields[k], cell, sizeof cell);
            df_study_table_set(o, m, 1 + k, cell);
        }
        if (cols == 7) df_study_table_set(o, m, 6, res[m].calib ? res[m].calib->note : "");
    }
}

/* One polyline through the non-empty bins (confidence, accuracy). */
static void bins_line(const df_svg_plot *p, const df_reliability_bin *bins, int n, const char *colour,
                      const char *cls, const char *dash) {
    double *x = df_malloc((size_t)n * sizeof *x), *y = df_malloc((size_t)n * sizeof *y);
    int k = 0;
    for (int b = 0; b < n; b++)
        if (bins[b].count) x[k] = bins[b].confidence, y[k++] = bins[b].accuracy;
    df_svg_polyline(p, x, y, k, colour, cls, dash);
    free(x);
    free(y);
}

/* svg#reliability-<model>: bars of the test split's accuracy per bin (before calibration), the curve before
 * and, dashed, at the fitted temperature; the diagonal is perfect calibration. */
static void chart(FILE *f, const df_study_run *r, const char *model, int colour_index) {
    const df_study_calib *c = r->calib;
    char id[300], title[400], names[3][300];
    df_report_id(id, sizeof id, "reliability-", model);
    snprintf(title, sizeof title, "Reliability of %s (test split, %d bins)", model, c->n_bins);
    const char *colour = df_svg_colour(colour_index);
    snprintf(names[0], sizeof names[0], "perfect calibration");
    snprintf(names[1], sizeof names[1], "%s (ECE %.3f)", model, c->ece_before);
    snprintf(names[2], sizeof names[2], "%s at T = %.2f (ECE %.3f)", model, c->fit.T, c->ece_after);
    const char *ln[3] = {names[0], names[1], names[2]}, *lc[3] = {"#bbb", colour, colour}, *ld[3] = {"4 4", NULL, "6 3"};
    int n_legend = c->after ? 3 : 2;
    df_svg_plot p = {f, 0, 1, 0, 1, PLOT_LEFT, PLOT_TOP, PLOT_W, PLOT_H};
    double bottom = PLOT_TOP + PLOT_H;
    int rows = df_svg_legend_rows(ln, n_legend, CHART_W - 20);
    df_svg_open(f, id, "chart reliability", CHART_W, (int)ceil(bottom + 50 + rows * DF_SVG_LEGEND_ROW), title);
    fputs("<text x=\"10\" y=\"18\" font-size=\"13\" font-weight=\"600\">", f);
    df_svg_escape(f, title);
    fputs("</text>\n", f);
    df_svg_axes(&p, "confidence (top-class probability)", "accuracy", 5, 5);
    for (int b = 0; b < c->n_bins; b++) {
        if (!c->before[b].count) continue;
        double x = df_svg_px(&p, (double)b / c->n_bins), w = PLOT_W / (double)c->n_bins;
        double y = df_svg_py(&p, c->before[b].accuracy);
        fprintf(f, "<rect class=\"bin\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" "
                "fill-opacity=\"0.25\"><title>%d samples, confidence %.3f, accuracy %.3f</title></rect>\n",
                x + 1, y, w - 2, bottom - y, colour, c->before[b].count, c->before[b].confidence,
                c->before[b].accuracy);
    }
    double diag[2] = {0, 1};
    df_svg_polyline(&p, diag, diag, 2, "#bbb", "perfect", "4 4");
    bins_line(&p, c->before, c->n_bins, colour, "reliability-before", NULL);
    if (c->after) bins_line(&p, c->after, c->n_bins, colour, "reliability-after", "6 3");
    df_svg_legend(f, 10, bottom + 54, CHART_W - 20, ln, lc, ld, n_legend);
    df_svg_close(f);
}

void df_study_calibration_write(const df_study_cfg *st, const df_study_run *res, FILE *md, df_study_eval_out *out) {
    if (!res[0].calib) return;
    FILE *fc = open_memstream(&out->csv[0], &out->len[0]), *fr = open_memstream(&out->csv[1], &out->len[1]);
    csv_rows(st, res, fc, fr);
    fclose(fc);
    fclose(fr);
    df_study_table *t = &out->tables[out->n_tables++];
    table(st, res, t);
    t->t.caption = "Calibration on the test split";
    char *text = NULL, *charts = NULL;
    size_t text_len = 0, charts_len = 0;
    FILE *ft = open_memstream(&text, &text_len);
    fprintf(ft, "Can the probabilities be trusted? The expected calibration error (ECE) is the gap between "
            "confidence and accuracy, averaged over %d equal-width bins of the top-class probability and weighted "
            "by the samples in each (0: a predicted 80%% is right 80%% of the time); the Brier score is the mean "
            "over samples of the squared distance between the probability vector and the one-hot label (0 to 2). "
            "Both are on the test split, %s.", st->eval.calibration_bins,
            df_study_n_reps(st) > 1 ? "mean ± sd over seeds" : "one seed");
    if (st->eval.calibrate)
        fprintf(ft, " With eval.calibrate, a temperature T is fitted per run on its validation split (minimal "
                "negative log-likelihood of softmax(logits / T), or the sigmoid of the logit / T for a one-logit "
                "head) and the test ECE and Brier are given again at T: T > 1 means the model was over-confident. "
                "T changes no prediction's class, so accuracy and AUC do not move; the saved predictions stay "
                "uncalibrated.");
    fprintf(ft, " The diagrams show the first seed's test split: bars are the accuracy in each bin of confidence%s.",
            st->eval.calibrate ? ", the dashed curve the same at the fitted T" : "");
    fclose(ft);
    FILE *fh = open_memstream(&charts, &charts_len);
    for (int m = 0; m < st->n_models; m++)
        if (res[m].calib) chart(fh, &res[m], st->models[m], m);
    fclose(fh);
    fprintf(md, "\n## Calibration (test split)\n\n%s calibration.csv has every run, reliability.csv the bins.\n\n",
            text);
    df_study_table_markdown(t, md);
    df_study_eval_section(out, "calibration", "Calibration", text, 1);
    out->charts = charts;
    out->sections[out->n_sections - 1].charts = charts;
}
