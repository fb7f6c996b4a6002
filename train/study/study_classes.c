/* study_classes.c: the study's per-class outputs for more than two classes (see study_eval.h): classes.csv
 * (every run and class: support, one-vs-rest AUC, and the MILK10k challenge's per-class F1, the class's
 * probability above 0.5 against the one-hot label), and a table of each per model, mean over replicates, in
 * results.md and the report's section#classes. Macro-F1 (the challenge's score) is the mean of the class
 * F1s, so a model's table row shows which classes carry or sink it. */
#include <math.h>
#include <stdlib.h>

#include "train/metrics/stats.h"
#include "train/study/study_eval.h"

/* F1 of class k with each class's column thresholded on its own (p > 0.5), as df_metric_macro_f1_milk. */
static double class_f1_milk(const df_predictions *p, int k) {
    int tp = 0, fp = 0, fn = 0;
    for (int i = 0; i < p->n; i++) {
        int pred = p->prob[(size_t)i * p->K + k] > 0.5f, pos = p->labels[i] == k;
        tp += pred && pos, fp += pred && !pos, fn += !pred && pos;
    }
    return tp + fp + fn ? 2.0 * tp / (2.0 * tp + fp + fn) : 0.0;
}

/* One table, model rows by class columns, of the mean over replicates of f(run, class). */
static void table(const df_study_cfg *st, const df_study_run *res, const df_study_data *d, int which,
                  df_study_table *t) {
    int K = d->K, R = df_study_n_reps(st), M = st->n_models;
    const char **head = df_malloc(sizeof *head * (size_t)(K + 1));
    head[0] = "model";
    for (int k = 0; k < K; k++) head[1 + k] = d->class_names[k];
    df_study_table_init(t, which ? "class-f1" : "class-auc", K + 1, M, head);
    free(head);
    double *x = df_malloc(sizeof *x * (size_t)R);
    for (int m = 0; m < M; m++) {
        df_study_table_set(t, m, 0, st->models[m]);
        for (int k = 0; k < K; k++) {
            for (int s = 0; s < R; s++) {
                const df_study_run *r = &res[s * M + m];
                x[s] = which ? class_f1_milk(&r->p, k) : r->m.class_auc[k];
            }
            double mean, sd;
            char cell[48];
            df_mean_sd(x, R, &mean, &sd);
            df_study_fmt_number(cell, sizeof cell, mean, "%.3f");
            df_study_table_set(t, m, 1 + k, cell);
        }
    }
    free(x);
}

void df_study_classes_write(const df_study_cfg *st, const df_study_run *res, const df_study_data *d, FILE *md,
                            df_study_eval_out *out) {
    int K = d->K, M = st->n_models;
    if (K <= 2) return;
    char fb[16];
    FILE *fc = open_memstream(&out->csv[4], &out->len[4]);
    fprintf(fc, "model,seed,fold,class,support,auc,f1_milk\n");
    for (int s = 0; s < df_study_n_reps(st); s++)
        for (int m = 0; m < M; m++) {
            const df_study_run *r = &res[s * M + m];
            for (int k = 0; k < K; k++) {
                fprintf(fc, "%s,%ld,%s,\"%s\",%d", st->models[m], df_study_rep_seed(st, s),
                        df_study_fold_cell(st, s, fb, sizeof fb), d->class_names[k], r->m.support[k]);
                df_study_csv_number(fc, r->m.class_auc[k], "%.6f");
                df_study_csv_number(fc, class_f1_milk(&r->p, k), "%.6f");
                fputc('\n', fc);
            }
        }
    fclose(fc);
    df_study_table *auc = &out->tables[out->n_tables++], *f1 = &out->tables[out->n_tables++];
    table(st, res, d, 0, auc);
    table(st, res, d, 1, f1);
    auc->t.caption = "One-vs-rest AUC per class (test split)";
    f1->t.caption = "F1 per class, the class's probability above 0.5 (MILK10k's rule; test split)";
    char *text = NULL;
    size_t len = 0;
    FILE *ft = open_memstream(&text, &len);
    fprintf(ft, "Per class, %s: the one-vs-rest AUC (how well the class's probability ranks its cases above the "
            "others; n/a for a class absent from the test split) and the F1 of the MILK10k challenge's rule, which "
            "thresholds each class's probability at 0.5 on its own (a case may be given several classes or none); "
            "their mean over classes is the macro-F1 of the metrics table. A class with few cases has an unsteady "
            "figure: classes.csv gives each run's support.",
            df_study_n_reps(st) > 1 ? (st->folds ? "mean over folds" : "mean over seeds") : "one seed");
    fclose(ft);
    fprintf(md, "\n## Classes (test split)\n\n%s classes.csv has every run.\n\n%s:\n\n", text, auc->t.caption);
    df_study_table_markdown(auc, md);
    fprintf(md, "\n%s:\n\n", f1->t.caption);
    df_study_table_markdown(f1, md);
    df_study_eval_section(out, "classes", "Classes", text, 2);
}
