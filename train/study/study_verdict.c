/* study_verdict.c: the study's tests per run and its verdict (see study.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/metrics/stats.h"
#include "train/study/study.h"

const char *const df_study_verdict_metrics[DF_VERDICT_METRICS] = {"AUC", "balanced accuracy", "F1"};

static double metric_of(const df_study_run *r, int k) {
    return k == 0 ? r->m.auc : k == 1 ? r->m.balanced_accuracy : r->m.f1;
}

/* The interval and the paired tests of run r against the baseline run b (NULL: none) of the same seed. */
static void run_tests(const df_study_cfg *st, long seed, df_study_run *r, const df_study_run *b, int *pa, int *pb) {
    df_error err;
    df_interval ci;
    int K = r->p.K;
    r->auc_lo = r->auc_hi = r->delong_p = r->mcnemar_p = NAN;
    if (df_bootstrap_ci(r->p.prob, r->p.labels, r->p.n, K, df_metric_auc, NULL, st->bootstrap, 0.95, (uint64_t)seed,
                        &ci, &err) == 0)
        r->auc_lo = ci.lo, r->auc_hi = ci.hi;
    if (!b || b == r || b->p.n != r->p.n) return;
    df_delong d;
    if (K == 2 && df_delong_test_class(r->p.prob, b->p.prob, r->p.labels, r->p.n, 2, 1, &d, &err) == 0 && d.defined)
        r->delong_p = d.p;
    df_mcnemar mc;
    df_metrics_predict(r->p.prob, r->p.n, K, 0.5, pa);
    df_metrics_predict(b->p.prob, b->p.n, K, 0.5, pb);
    if (df_mcnemar_test(pa, pb, r->p.labels, r->p.n, &mc, &err) == 0) r->mcnemar_p = mc.p;
}

void df_study_analyse(const df_study_cfg *st, df_study_run *res, df_study_data *data) {
    df_study_verdict *v = &data->verdict;
    int M = st->n_models, S = st->n_seeds, base = st->baseline_index, n_max = 1;
    memset(v, 0, sizeof *v);
    for (int i = 0; i < M * S; i++) n_max = res[i].p.n > n_max ? res[i].p.n : n_max;
    int *pa = df_malloc(sizeof(int) * (size_t)n_max), *pb = df_malloc(sizeof(int) * (size_t)n_max);
    for (int s = 0; s < S; s++)
        for (int m = 0; m < M; m++)
            run_tests(st, st->seeds[s], &res[s * M + m], base >= 0 ? &res[s * M + base] : NULL, pa, pb);
    free(pa);
    free(pb);

    v->baseline = base;
    v->n_seeds = S;
    v->n_compared = base >= 0 ? M - 1 : 0;
    v->min_class_test = res[0].p.n;
    for (int k = 0; k < res[0].m.K && k < DF_METRICS_MAX_CLASSES; k++)
        if (res[0].m.support[k] < v->min_class_test) v->min_class_test = res[0].m.support[k];
    v->warn_one_seed = S < 2;
    v->warn_small_test = v->min_class_test < 100;
    for (int k = 0; k < DF_VERDICT_METRICS; k++) {
        v->best[k] = 0;
        for (int m = 0; m < M; m++) {
            double sum = 0;
            for (int s = 0; s < S; s++) sum += metric_of(&res[s * M + m], k);
            v->mean[k][m] = sum / S;
            if (v->mean[k][m] > v->mean[k][v->best[k]]) v->best[k] = m;
            v->diff[k][m] = v->p[k][m] = v->p_holm[k][m] = NAN;
        }
        if (base < 0) continue;
        for (int s = 0; s < S; s++) {
            double p[DF_STUDY_MAX_MODELS], adj[DF_STUDY_MAX_MODELS];
            for (int m = 0; m < M; m++) {
                const df_study_run *r = &res[s * M + m];
                p[m] = m == base ? NAN : k == 0 ? r->delong_p : r->mcnemar_p;
            }
            df_holm(p, M, adj);
            for (int m = 0; m < M; m++) {
                if (m == base) continue;
                double d = metric_of(&res[s * M + m], k) - metric_of(&res[s * M + base], k);
                v->n_better[k][m] += d > 0;
                v->n_significant[k][m] += d > 0 && adj[m] < 0.05;
                if (s == 0) v->diff[k][m] = d, v->p[k][m] = p[m], v->p_holm[k][m] = adj[m];
            }
        }
    }
}

void df_study_verdict_text(const df_study_cfg *st, const df_study_run *res, const df_study_data *d, FILE *f) {
    const df_study_verdict *v = &d->verdict;
    if (v->baseline >= 0)
        fprintf(f, "Baseline `%s`. p-values: the first seed's test split (seed %ld, %d samples), DeLong for the AUC "
                "and McNemar on paired correctness for balanced accuracy and F1, Holm-adjusted over the %d model(s) "
                "compared with the baseline; seeds: on how many of the %d seed(s) a model beats the baseline (and "
                "with Holm p < 0.05 on that seed's own split).\n\n",
                st->models[v->baseline], st->seeds[0], res[0].p.n, v->n_compared, v->n_seeds);
    else
        fprintf(f, "No baseline among the models (study.baseline is %s): no paired tests.\n\n",
                df_fusion_names[st->baseline]);
    for (int k = 0; k < DF_VERDICT_METRICS; k++) {
        fprintf(f, "- %s: best `%s` (%.3f, mean over seeds)", df_study_verdict_metrics[k], st->models[v->best[k]],
                v->mean[k][v->best[k]]);
        for (int m = 0; m < st->n_models && v->baseline >= 0; m++) {
            if (m == v->baseline) continue;
            fprintf(f, "%s `%s` %+.3f (p ", m == (v->baseline == 0) ? "; against the baseline:" : ",", st->models[m],
                    v->diff[k][m]);
            fprintf(f, isnan(v->p[k][m]) ? "n/a" : "%.3g", v->p[k][m]);
            fprintf(f, ", Holm p ");
            fprintf(f, isnan(v->p_holm[k][m]) ? "n/a" : "%.3g", v->p_holm[k][m]);
            fprintf(f, ", better on %d/%d seed(s), significantly on %d)", v->n_better[k][m], v->n_seeds,
                    v->n_significant[k][m]);
        }
        fprintf(f, "\n");
    }
    if (v->warn_one_seed || v->warn_small_test) fprintf(f, "\n");
    if (v->warn_one_seed)
        fprintf(f, "Warning: one seed: no spread over seeds and no agreement between splits; treat differences as "
                "provisional.\n");
    if (v->warn_small_test)
        fprintf(f, "Warning: the test split's smallest class has %d samples (fewer than 100): the tests have little "
                "power, and a difference that is not significant is not evidence of no difference.\n",
                v->min_class_test);
}
