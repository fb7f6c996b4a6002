/* study_missing.c: how much each model that uses metadata leans on each field: its test split evaluated again
 * with one metadata field withheld at a time, then with all of them, every withheld value encoded as the
 * encoder encodes a missing one (data/table/meta.h: a numeric field its mean with "<c>_missing" 1, a
 * categorical one "<c>=<unknown>"), not as zeros. Nothing is retrained: the run's test checkpoint sees test
 * samples whose metadata are partly or wholly absent. Late fusion withholds them from its metadata model, its
 * combination staying as fitted on the (complete) validation split.
 *
 * Written: missing_meta.csv, one row per run and withheld field ("none", each field, "all"), with the AUC and
 * balanced accuracy and their drop from the complete metadata (positive: worse); a results.md section and a
 * report.html table with the same per model and field, mean ± sd over seeds. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/io/files.h"
#include "train/late/late_fusion.h"
#include "train/metrics/stats.h"
#include "train/session/run_files.h"
#include "train/session/session.h"
#include "train/study/study.h"
#include "train/study/study_table.h"

/* Test predictions of cfg's run with the features marked in missing withheld. */
static int predict_masked(const df_run_config *cfg, const df_late_parts *parts, const unsigned char *missing,
                          df_predictions *p, df_error *err) {
    df_run_config c = *cfg;
    c.test_meta_missing = missing;
    const char *checkpoint = df_test_checkpoint_file(&c);
    if (c.model.fusion == DF_FUSION_LATE) {
        df_run_config image, meta;
        df_late_parts masked = {NULL, NULL};
        if (parts) { /* the study's own runs: their configs carry the mask too */
            image = *parts->image;
            meta = *parts->meta;
            image.test_meta_missing = meta.test_meta_missing = missing;
            masked = (df_late_parts){&image, &meta};
        }
        double w;
        return df_late_predict_parts(&c, parts ? &masked : NULL, checkpoint, DF_SPLIT_TEST, 0, p, NULL, &w, err);
    }
    df_session s;
    if (df_session_open_trained(&s, &c, c.model.fusion, checkpoint, err)) return -1;
    int rc = df_session_predict(&s, DF_SPLIT_TEST, 0, p, err);
    df_session_close(&s);
    return rc;
}

int df_study_missing_eval(const df_run_config *cfg, const df_late_parts *parts, df_study_run *r, df_error *err) {
    int nf = cfg->data.n_numeric + cfg->data.n_categorical;
    if (cfg->model.fusion == DF_FUSION_IMAGE || nf == 0) return 0;
    r->n_masked = nf + 1;
    r->masked_auc = df_calloc(2 * (size_t)r->n_masked, sizeof(double));
    r->masked_bacc = r->masked_auc + r->n_masked;
    r->masked_names = df_calloc((size_t)r->n_masked, sizeof(char *));
    unsigned char *missing = df_calloc((size_t)nf, 1);
    int rc = 0;
    for (int k = 0; k < r->n_masked && rc == 0; k++) {
        for (int f = 0; f < nf; f++) missing[f] = k == nf || f == k;
        r->masked_names[k] = df_strdup(k == nf ? "all" : k < cfg->data.n_numeric ? cfg->data.numeric[k]
                                                        : cfg->data.categorical[k - cfg->data.n_numeric]);
        df_predictions p;
        df_metrics m;
        rc = predict_masked(cfg, parts, missing, &p, err);
        if (rc == 0) {
            rc = df_predictions_metrics(&p, &m, err);
            df_predictions_free(&p);
        }
        if (rc == 0) {
            r->masked_auc[k] = m.auc;
            r->masked_bacc[k] = m.balanced_accuracy;
        }
    }
    free(missing);
    if (rc) df_fail_prefix(err, "evaluating with metadata withheld");
    return rc;
}

void df_study_missing_free(df_study_run *r) {
    for (int k = 0; k < r->n_masked; k++) free(r->masked_names[k]);
    free(r->masked_names);
    free(r->masked_auc);
    r->n_masked = 0;
    r->masked_names = NULL;
    r->masked_auc = r->masked_bacc = NULL;
}

static void csv_row(FILE *f, const df_study_cfg *st, int m, int rep, const char *field, double auc, double bacc,
                    const df_study_run *r) {
    char fold[16];
    fprintf(f, "%s,%ld,%s,%s,%.6f,%.6f,%.6f,%.6f\n", st->models[m], df_study_rep_seed(st, rep),
            df_study_fold_cell(st, rep, fold, sizeof fold), field, auc, bacc, r->m.auc - auc,
            r->m.balanced_accuracy - bacc);
}

static const char *const head[] = {"model", "withheld", "AUC", "AUC drop", "balanced acc.", "bal. acc. drop"};
enum { N_COLS = 6 };

void df_study_missing_tables(const df_study_cfg *st, const df_study_run *res, FILE *md, df_study_missing *out) {
    memset(out, 0, sizeof *out);
    size_t csv_len = 0;
    FILE *fc = open_memstream(&out->csv, &csv_len);
    fprintf(fc, "model,seed,fold,withheld,auc,balanced_accuracy,auc_drop,balanced_accuracy_drop\n");
    int rows = 0;
    for (int m = 0; m < st->n_models; m++) rows += res[m].n_masked;
    df_study_table_init(&out->table, "missing-meta", N_COLS, rows, head);
    out->table.t.caption = "Test metrics with metadata withheld (encoded as missing)";
    int R = df_study_n_reps(st), row = 0, M = st->n_models;
    double *x = df_malloc(4 * sizeof(double) * (size_t)R);
    for (int m = 0; m < M; m++) {
        const df_study_run *r0 = &res[m];
        for (int s = 0; s < R; s++) {
            const df_study_run *r = &res[s * M + m];
            csv_row(fc, st, m, s, "none", r->m.auc, r->m.balanced_accuracy, r);
            for (int k = 0; k < r->n_masked; k++)
                csv_row(fc, st, m, s, r->masked_names[k], r->masked_auc[k], r->masked_bacc[k], r);
        }
        for (int k = 0; k < r0->n_masked; k++, row++) {
            for (int s = 0; s < R; s++) {
                const df_study_run *r = &res[s * M + m];
                x[s] = r->masked_auc[k];
                x[R + s] = r->m.auc - r->masked_auc[k];
                x[2 * R + s] = r->masked_bacc[k];
                x[3 * R + s] = r->m.balanced_accuracy - r->masked_bacc[k];
            }
            char cell[64];
            df_study_table_set(&out->table, row, 0, st->models[m]);
            df_study_table_set(&out->table, row, 1, r0->masked_names[k]);
            for (int j = 0; j < 4; j++) {
                df_study_fmt_mean_sd(cell, sizeof cell, x + (size_t)j * R, R);
                df_study_table_set(&out->table, row, 2 + j, cell);
            }
        }
    }
    free(x);
    fclose(fc);
    if (!rows) return;
    const char *reps = st->folds ? "folds" : "seeds", *rep = st->folds ? "fold" : "seed";
    fprintf(md, "\n## Missing metadata\n\nEach model that uses metadata evaluated on its test split again with one "
            "field withheld, then all of them (\"all\"), the withheld values encoded as the encoder encodes a "
            "missing value (numeric: the training mean with its _missing slot set; categorical: <unknown>). Drop: "
            "the complete metadata's metric minus this one (positive: worse), mean ± sd over %s; late fusion "
            "withholds them from its metadata model. missing_meta.csv has every %s.\n\n", reps, rep);
    df_study_table_markdown(&out->table, md);
}

int df_study_missing_write(const df_study_missing *t, const char *dir, df_error *err) {
    if (!t->table.t.n_rows) return 0;
    char *path = df_path_join(dir, "missing_meta.csv");
    int rc = df_write_file_atomic(path, t->csv, strlen(t->csv), err);
    free(path);
    return rc;
}

void df_study_missing_release(df_study_missing *t) {
    df_study_table_free(&t->table);
    free(t->csv);
    memset(t, 0, sizeof *t);
}
