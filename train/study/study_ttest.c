/* study_ttest.c: the study's seeds as resamplings: each model against the baseline by the corrected resampled
 * t-test of Nadeau and Bengio (ttest.h) on the per-seed differences of the verdict's metrics, as a table of
 * results.md and of the report's section#seeds. Every seed draws its own split, so the seeds are k
 * train/test resamplings of one data set whose training sets overlap; the correction accounts for that. With a
 * fixed test file only the training side is resampled and the test is conservative. Needs two seeds. */
#include <math.h>
#include <stdlib.h>

#include "train/metrics/ttest.h"
#include "train/study/study_eval.h"

static double metric_of(const df_study_run *r, int k) {
    return k == 0 ? r->m.auc : k == 1 ? r->m.balanced_accuracy : r->m.f1;
}

void df_study_ttest_write(const df_study_cfg *st, const df_study_run *res, FILE *md, df_study_eval_out *out) {
    int base = st->baseline_index, S = st->n_seeds, M = st->n_models;
    if (base < 0 || S < 2 || M < 2) return;
    const char *head[] = {"model", "metric", "mean difference", "t", "df", "p"};
    df_study_table *t = &out->tables[out->n_tables++];
    df_study_table_init(t, "seed-ttest", 6, (M - 1) * DF_VERDICT_METRICS, head);
    double n_test = 0, n_train = 0;
    for (int s = 0; s < S; s++) {
        n_test += res[s * M + base].n_split[DF_SPLIT_TEST] / (double)S;
        n_train += res[s * M + base].n_split[DF_SPLIT_TRAIN] / (double)S;
    }
    int row = 0;
    for (int m = 0; m < M; m++) {
        if (m == base) continue;
        for (int k = 0; k < DF_VERDICT_METRICS; k++, row++) {
            double d[DF_STUDY_MAX_SEEDS];
            for (int s = 0; s < S; s++) d[s] = metric_of(&res[s * M + m], k) - metric_of(&res[s * M + base], k);
            df_ttest r;
            df_error err;
            char cell[64];
            df_study_table_set(t, row, 0, st->models[m]);
            df_study_table_set(t, row, 1, df_study_verdict_metrics[k]);
            if (df_corrected_ttest(d, S, n_test, n_train, &r, &err)) {
                for (int c = 2; c < 6; c++) df_study_table_set(t, row, c, c == 2 ? "n/a (undefined metric)" : "");
                continue;
            }
            snprintf(cell, sizeof cell, "%+.4f", r.mean);
            df_study_table_set(t, row, 2, cell);
            df_study_fmt_number(cell, sizeof cell, r.t, "%.3f");
            df_study_table_set(t, row, 3, r.defined ? cell : "n/a (no spread)");
            snprintf(cell, sizeof cell, "%.0f", r.df);
            df_study_table_set(t, row, 4, cell);
            snprintf(cell, sizeof cell, "%.3g", r.p);
            df_study_table_set(t, row, 5, cell);
        }
    }
    t->t.caption = "Corrected resampled t-test over seeds against the baseline";
    char *text = NULL;
    size_t len = 0;
    FILE *ft = open_memstream(&text, &len);
    fprintf(ft, "The %d seeds are %d resamplings of the data (each seed draws its own split), so each model's "
            "per-seed differences from the baseline %s can be tested together. Their training sets overlap, which "
            "makes the plain paired t-test too confident; the corrected resampled t-test of Nadeau and Bengio "
            "(2003) inflates the variance factor 1/k to 1/k + n_test/n_train (here %.6g test and %.6g training "
            "samples, means over seeds), with k - 1 degrees of freedom; p is two-sided and not adjusted for the "
            "number of comparisons.%s", S, S, df_fusion_names[st->baseline], n_test, n_train,
            S < 5 ? " With so few seeds the test has little power." : "");
    fclose(ft);
    fprintf(md, "\n## Over seeds (corrected resampled t-test)\n\n%s\n\n", text);
    df_study_table_markdown(t, md);
    df_study_eval_section(out, "seeds", "Over seeds", text, 1);
}
