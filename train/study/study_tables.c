/* study_tables.c: the study's results as tables: results.md, results.csv, analysis.csv, and the tables of
 * report.html (see study.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/metrics/stats.h"
#include "train/session/run_files.h"
#include "train/study/study.h"
#include "train/study/study_eval.h"
#include "train/study/study_table.h"

/* The metrics table: one row per model, mean ± sd over seeds, the first seed's interval and tests; and
 * results.csv, one row per run with its own split's interval and tests. */
static void metrics_table(const df_study_cfg *st, const df_study_run *res, int base, df_study_table *o, FILE *fc) {
    int K = res[0].p.K, R = df_study_n_reps(st);
    const char *head[] = {"model", "accuracy", "balanced acc.", "precision", "recall", "specificity", "F1", "AUC",
                          "AUC 95% CI", "DeLong p", "McNemar p", "macro-F1", "train s", "img/s"};
    int n_cols = K > 2 ? 14 : 13;
    if (K <= 2) head[11] = "train s", head[12] = "img/s";
    df_study_table_init(o, "metrics", n_cols, st->n_models, head);
    for (int m = 0; m < st->n_models; m++) {
        double v[8][DF_STUDY_MAX_REPS];
        double secs = 0, ips = 0;
        for (int s = 0; s < R; s++) {
            const df_study_run *r = &res[s * st->n_models + m];
            double vals[8] = {r->m.accuracy, r->m.balanced_accuracy, r->m.precision, r->m.recall,
                              r->m.specificity, r->m.f1, r->m.auc, r->m.macro_f1_milk};
            for (int k = 0; k < 8; k++) v[k][s] = vals[k];
            secs += r->seconds / R;
            ips += r->images_per_second / R;
            char fold[16];
            fprintf(fc, "%s,%ld,%s,%d", st->models[m], df_study_rep_seed(st, s),
                    df_study_fold_cell(st, s, fold, sizeof fold), r->p.n);
            for (int k = 0; k < 8; k++) fprintf(fc, ",%.6f", vals[k]);
            df_study_csv_number(fc, r->auc_lo, "%.6f");
            df_study_csv_number(fc, r->auc_hi, "%.6f");
            df_study_csv_number(fc, r->delong_p, "%.6g");
            df_study_csv_number(fc, r->mcnemar_p, "%.6g");
            df_study_csv_number(fc, r->late_weight, "%.2f");
            fprintf(fc, ",%.1f", r->seconds);
            df_study_csv_number(fc, r->images_per_second, "%.1f");
            fputc('\n', fc);
        }
        char cell[48];
        df_study_table_set(o, m, 0, st->models[m]);
        for (int k = 0; k < 7; k++) {
            df_study_fmt_mean_sd(cell, sizeof cell, v[k], R);
            df_study_table_set(o, m, 1 + k, cell);
        }
        const df_study_run *r0 = &res[m];
        char ci_text[64] = "n/a", delong[32] = "", mcnemar[32] = "";
        if (!isnan(r0->auc_lo)) snprintf(ci_text, sizeof ci_text, "[%.3f, %.3f]", r0->auc_lo, r0->auc_hi);
        if (base >= 0 && m != base) {
            df_study_fmt_number(delong, sizeof delong, r0->delong_p, "%.3g");
            df_study_fmt_number(mcnemar, sizeof mcnemar, r0->mcnemar_p, "%.3g");
        } else if (m == base) {
            snprintf(delong, sizeof delong, "(baseline)");
        }
        df_study_table_set(o, m, 8, ci_text);
        df_study_table_set(o, m, 9, delong);
        df_study_table_set(o, m, 10, mcnemar);
        int c = 11;
        if (K > 2) {
            df_study_fmt_mean_sd(cell, sizeof cell, v[7], R);
            df_study_table_set(o, m, c++, cell);
        }
        snprintf(cell, sizeof cell, "%.0f", secs);
        df_study_table_set(o, m, c++, cell);
        df_study_fmt_number(cell, sizeof cell, ips, "%.1f"); /* n/a: the metadata model reads no images */
        df_study_table_set(o, m, c, cell);
    }
}

/* The analyses table (first seed) and analysis.csv. */
static void analysis_table(const df_study_cfg *st, const df_study_run *res, df_study_table *o, FILE *fa) {
    const char *head[] = {"model", "silhouette", "Davies-Bouldin", "PCA variance (2 axes)", "heat-map index",
                          "Grad-CAM images (with mask)"};
    df_study_table_init(o, "analyses", 6, st->n_models, head);
    fprintf(fa, "model,seed,n_features,n_samples,silhouette,davies_bouldin,pca_explained,gradcam_samples,gradcam_masked,"
            "heatmap_index\n");
    for (int m = 0; m < st->n_models; m++) {
        const df_study_run *r = &res[m];
        char cell[64];
        df_study_table_set(o, m, 0, st->models[m]);
        df_study_fmt_number(cell, sizeof cell, r->has_sep ? r->sep.silhouette : NAN, "%.3f");
        df_study_table_set(o, m, 1, cell);
        df_study_fmt_number(cell, sizeof cell, r->has_sep ? r->sep.davies_bouldin : NAN, "%.3f");
        df_study_table_set(o, m, 2, cell);
        df_study_fmt_number(cell, sizeof cell, r->has_sep ? 100 * (r->sep.explained[0] + r->sep.explained[1]) : NAN, "%.0f%%");
        df_study_table_set(o, m, 3, cell);
        df_study_fmt_number(cell, sizeof cell, r->has_cam ? r->cam.mean_index : NAN, "%.3f");
        df_study_table_set(o, m, 4, cell);
        if (r->has_cam)
            snprintf(cell, sizeof cell, "%d (%d)", r->cam.n_samples, r->cam.n_masked);
        else
            snprintf(cell, sizeof cell, "n/a");
        df_study_table_set(o, m, 5, cell);
        fprintf(fa, "%s,%ld,%d,%d,%.6f,%.6f,%.6f,%d,%d,%.6f\n", st->models[m], st->seeds[0],
                r->has_sep ? r->p.feature_dim : 0, r->has_sep ? r->sep.n : 0,
                r->has_sep ? r->sep.silhouette : NAN, r->has_sep ? r->sep.davies_bouldin : NAN,
                r->has_sep ? r->sep.explained[0] + r->sep.explained[1] : NAN, r->has_cam ? r->cam.n_samples : 0,
                r->has_cam ? r->cam.n_masked : 0, r->has_cam ? r->cam.mean_index : NAN);
    }
}

/* The late combination's image weights, one per seed (stacking has none). */
static void late_note(const df_study_cfg *st, const df_study_run *res, FILE *f) {
    for (int m = 0; m < st->n_models; m++) {
        const df_study_run *r0 = &res[m];
        if (r0->late_combine < 0) continue;
        fprintf(f, "\n`%s` combines its parts by the %s rule", st->models[m], df_late_rule_names[r0->late_combine]);
        if (r0->late_combine == DF_LATE_STACKING) {
            fprintf(f, " (a logistic regression fitted on validation data: no single image weight).\n");
            continue;
        }
        fprintf(f, "; the image model's weight%s:", r0->late_combine == DF_LATE_WEIGHTED ? ", chosen on validation data" : "");
        for (int s = 0; s < df_study_n_reps(st); s++) {
            char what[64];
            fprintf(f, "%s %.2f (%s)", s ? "," : "", res[s * st->n_models + m].late_weight,
                    df_study_rep_name(st, s, what, sizeof what));
        }
        fprintf(f, ".\n");
    }
}

int df_study_write_results(const df_study_cfg *st, const df_study_run *res, const df_study_data *data, df_error *err) {
    int base = st->baseline_index;
    char *dir = df_path_join(st->out_dir, st->name);
    char *md = NULL, *csv = NULL, *acsv = NULL;
    size_t md_len = 0, csv_len = 0, acsv_len = 0;
    FILE *fm = open_memstream(&md, &md_len), *fc = open_memstream(&csv, &csv_len),
         *fa = open_memstream(&acsv, &acsv_len);
    fprintf(fm, "# Study %s\n\n## Verdict\n\n", st->name);
    df_study_verdict_text(st, res, data, fm);
    fprintf(fm, "\n## Metrics\n\nTest split, ");
    if (st->folds)
        fprintf(fm, "%d seed(s) x %d folds (mean ± sd over the %d test folds)", st->n_seeds, st->folds,
                df_study_n_reps(st));
    else if (st->n_seeds > 1)
        fprintf(fm, "%d seeds (mean ± sd over seeds)", st->n_seeds);
    else
        fprintf(fm, "one seed, no spread");
    const char *rep = st->folds ? "fold" : "seed";
    fprintf(fm, "; 95%% bootstrap interval of the AUC (%d resamples) and paired tests against `%s` on the first "
            "%s's test split (%d samples); results.csv has them for every %s's own split. img/s: images read "
            "per second in training (n/a for the metadata model, which reads none; late fusion: its image "
            "model's).\n\n", st->bootstrap, df_fusion_names[st->baseline], rep, res[0].p.n, rep);
    fprintf(fc, "model,seed,fold,n,accuracy,balanced_accuracy,precision,recall,specificity,f1,auc,macro_f1,auc_lo,auc_hi,"
            "delong_p,mcnemar_p,late_image_weight,train_seconds,images_per_second\n");
    df_study_table tables[2];
    metrics_table(st, res, base, &tables[0], fc);
    df_study_table_markdown(&tables[0], fm);
    late_note(st, res, fm);
    analysis_table(st, res, &tables[1], fa);
    fprintf(fm, "\n## Analyses (seed %ld, test split)\n\nSeparability of the penultimate features: silhouette "
            "(higher is better, -1..1) and Davies-Bouldin index (lower is better); late fusion uses its two parts' "
            "features side by side. Heat-map index: mean share of the Grad-CAM heat (predicted class, view 0) "
            "inside the lesion mask, over the explained test images that have a mask.\n\n", st->seeds[0]);
    df_study_table_markdown(&tables[1], fm);
    df_study_missing missing;
    df_study_missing_tables(st, res, fm, &missing);
    df_study_eval_out eo;
    df_study_eval_write(st, res, data, fm, &eo);
    fclose(fm);
    fclose(fc);
    fclose(fa);
    tables[0].t.caption = "Test-split metrics per model";
    tables[1].t.caption = "Feature separability and Grad-CAM heat-map index (first seed)";
    df_report_table rt[3] = {tables[0].t, tables[1].t, missing.table.t};
    const char *texts[3] = {md, csv, acsv}, *names[4] = {"results.md", "results.csv", "analysis.csv", "report.html"};
    size_t lens[3] = {md_len, csv_len, acsv_len};
    int rc = df_make_dirs(dir, err);
    for (int i = 0; i < 4 && rc == 0; i++) {
        char *path = df_path_join(dir, names[i]);
        rc = i < 3 ? df_write_file_atomic(path, texts[i], lens[i], err)
                   : df_study_write_report(st, res, data, rt, missing.table.t.n_rows ? 3 : 2, eo.sections,
                                           eo.n_sections, path, err);
        free(path);
    }
    if (rc == 0) rc = df_study_missing_write(&missing, dir, err);
    for (int i = 0; i < 5 && rc == 0; i++) {
        if (!eo.csv[i]) continue;
        char *path = df_path_join(dir, df_study_eval_files[i]);
        rc = df_write_file_atomic(path, eo.csv[i], eo.len[i], err);
        free(path);
    }
    df_study_eval_out_free(&eo);
    if (rc == 0)
        printf("\n%s\nwrote %s/results.md, results.csv, analysis.csv%s, the calibration and subgroup tables and "
               "report.html\n", md, dir, missing.table.t.n_rows ? ", missing_meta.csv" : "");
    df_study_missing_release(&missing);
    for (int t = 0; t < 2; t++) df_study_table_free(&tables[t]);
    free(dir);
    free(md);
    free(csv);
    free(acsv);
    return rc;
}
