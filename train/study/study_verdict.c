/* study_verdict.c: the study's tests per run and its verdict (see study.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/metrics/resampled_ttest.h"
#include "train/metrics/stats.h"
#include "train/study/study.h"

const char *const df_study_verdict_metrics[DF_VERDICT_METRICS] = {"AUC", "balanced accuracy", "F1"};

static double metric_of(const df_study_run *r, int k) {
    return k == 0 ? r->m.auc : k == 1 ? r->m.balanced_accuracy : r->m.f1;
}

/* The interval and the paired tests of run r against the baseline run b (NULL: none) of the same replicate. */
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

/* The cross-validation's tests (study.folds): the corrected resampled t-test over every replicate's
 * difference from the baseline, and DeLong on the first seed's predictions pooled over its folds. */
static void cv_tests(const df_study_cfg *st, const df_study_run *res, df_study_verdict *v) {
    int M = st->n_models, R = df_study_n_reps(st), base = st->baseline_index, K = st->folds;
    for (int k = 0; k < DF_VERDICT_METRICS; k++)
        for (int m = 0; m < M; m++) v->cv_diff[k][m] = v->cv_t[k][m] = v->cv_p[k][m] = v->cv_p_holm[k][m] = NAN;
    for (int m = 0; m < M; m++) v->pooled_auc[m] = v->pooled_delong_p[m] = v->pooled_delong_p_holm[m] = NAN;
    v->cv_ratio = NAN;
    if (!K) return;
    const df_study_run *r0 = &res[0];
    if (r0->n_split[DF_SPLIT_TRAIN] > 0) v->cv_ratio = (double)r0->n_split[DF_SPLIT_TEST] / r0->n_split[DF_SPLIT_TRAIN];
    df_error err;
    for (int k = 0; k < DF_VERDICT_METRICS && base >= 0; k++) {
        for (int m = 0; m < M; m++) {
            if (m == base) continue;
            double d[DF_STUDY_MAX_REPS];
            for (int r = 0; r < R; r++) d[r] = metric_of(&res[r * M + m], k) - metric_of(&res[r * M + base], k);
            df_resampled_ttest t;
            if (df_corrected_resampled_ttest(d, R, v->cv_ratio, &t, &err) == 0)
                v->cv_diff[k][m] = t.mean, v->cv_t[k][m] = t.t, v->cv_p[k][m] = t.p;
        }
        df_holm(v->cv_p[k], M, v->cv_p_holm[k]);
    }
    /* Pooled out-of-fold predictions of the first seed: the folds' test splits partition the training file,
     * and every model of a fold has the same test samples in the same order. */
    int n = 0, C = r0->p.K;
    for (int f = 0; f < K; f++) n += res[f * M].p.n;
    v->n_pooled = n;
    float *prob = df_malloc(sizeof *prob * (size_t)n * (size_t)C * (size_t)M);
    int *y = df_malloc(sizeof *y * (size_t)n), ok = 1;
    for (int m = 0; m < M; m++)
        for (int f = 0, at = 0; f < K; at += res[f * M].p.n, f++) {
            const df_predictions *p = &res[f * M + m].p;
            ok &= p->n == res[f * M].p.n && p->K == C;
            if (!ok) break;
            memcpy(prob + ((size_t)m * n + at) * C, p->prob, sizeof *prob * (size_t)p->n * C);
            if (m == 0) memcpy(y + at, p->labels, sizeof *y * (size_t)p->n);
        }
    int *all = df_malloc(sizeof *all * (size_t)n);
    for (int i = 0; i < n; i++) all[i] = i;
    for (int m = 0; m < M && ok; m++) v->pooled_auc[m] = df_metric_auc(prob + (size_t)m * n * C, y, C, all, n, NULL);
    free(all);
    for (int m = 0; m < M && ok && base >= 0 && C == 2; m++) {
        df_delong d;
        if (m != base && df_delong_test_class(prob + (size_t)m * n * C, prob + (size_t)base * n * C, y, n, 2, 1, &d,
                                              &err) == 0 && d.defined)
            v->pooled_delong_p[m] = d.p;
    }
    if (base >= 0) df_holm(v->pooled_delong_p, M, v->pooled_delong_p_holm);
    free(prob);
    free(y);
}

void df_study_analyse(const df_study_cfg *st, df_study_run *res, df_study_data *data) {
    df_study_verdict *v = &data->verdict;
    int M = st->n_models, S = df_study_n_reps(st), base = st->baseline_index, n_max = 1;
    memset(v, 0, sizeof *v);
    for (int i = 0; i < M * S; i++) n_max = res[i].p.n > n_max ? res[i].p.n : n_max;
    int *pa = df_malloc(sizeof(int) * (size_t)n_max), *pb = df_malloc(sizeof(int) * (size_t)n_max);
    for (int s = 0; s < S; s++)
        for (int m = 0; m < M; m++)
            run_tests(st, df_study_rep_seed(st, s), &res[s * M + m], base >= 0 ? &res[s * M + base] : NULL, pa, pb);
    free(pa);
    free(pb);

    v->baseline = base;
    v->n_reps = S;
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
    cv_tests(st, res, v);
}

/* A p-value as the verdict prints it. */
static void print_p(FILE *f, double p) {
    if (isnan(p))
        fprintf(f, "n/a");
    else
        fprintf(f, "%.3g", p);
}

/* The cross-validation's part of the verdict (study.folds). */
static void cv_text(const df_study_cfg *st, const df_study_verdict *v, FILE *f) {
    fprintf(f, "\nCross-validation: %d seed(s) x %d grouped, stratified folds of the training file. Corrected "
            "resampled t-test (Nadeau and Bengio) over the %d per-fold differences from the baseline, df %d, variance "
            "inflated by the test/train size ratio %.3f; Holm-adjusted over the models. DeLong: the AUCs of the "
            "first seed's out-of-fold predictions (%d samples, each tested once), pooled over its folds.\n\n",
            st->n_seeds, st->folds, v->n_reps, v->n_reps - 1, v->cv_ratio, v->n_pooled);
    for (int k = 0; k < DF_VERDICT_METRICS; k++) {
        fprintf(f, "- %s over folds:", df_study_verdict_metrics[k]);
        for (int m = 0, first = 1; m < st->n_models; m++) {
            if (m == v->baseline) continue;
            fprintf(f, "%s `%s` %+.3f (t %.2f, p ", first ? "" : ",", st->models[m], v->cv_diff[k][m], v->cv_t[k][m]);
            print_p(f, v->cv_p[k][m]);
            fprintf(f, ", Holm p ");
            print_p(f, v->cv_p_holm[k][m]);
            fprintf(f, ")");
            first = 0;
        }
        fprintf(f, "\n");
    }
    fprintf(f, "- pooled out-of-fold AUC:");
    for (int m = 0; m < st->n_models; m++) {
        fprintf(f, "%s `%s` %.3f", m ? "," : "", st->models[m], v->pooled_auc[m]);
        if (m == v->baseline) continue;
        fprintf(f, " (DeLong p ");
        print_p(f, v->pooled_delong_p[m]);
        fprintf(f, ", Holm p ");
        print_p(f, v->pooled_delong_p_holm[m]);
        fprintf(f, ")");
    }
    fprintf(f, "\n");
}

void df_study_verdict_text(const df_study_cfg *st, const df_study_run *res, const df_study_data *d, FILE *f) {
    const df_study_verdict *v = &d->verdict;
    /* a replicate is a seed, or with folds one fold of a seed */
    const char *rep = st->folds ? "fold" : "seed", *reps = st->folds ? "folds" : "seeds";
    char first[64];
    df_study_rep_name(st, 0, first, sizeof first);
    if (v->baseline >= 0)
        fprintf(f, "Baseline `%s`. p-values: the first %s's test split (%s, %d samples), DeLong for the AUC "
                "and McNemar on paired correctness for balanced accuracy and F1, Holm-adjusted over the %d model(s) "
                "compared with the baseline; %s: on how many of the %d %s(s) a model beats the baseline (and "
                "with Holm p < 0.05 on that %s's own split).\n\n",
                st->models[v->baseline], rep, first, res[0].p.n, v->n_compared, reps, v->n_reps, rep, rep);
    else
        fprintf(f, "No baseline among the models (study.baseline is %s): no paired tests.\n\n",
                df_fusion_names[st->baseline]);
    for (int k = 0; k < DF_VERDICT_METRICS; k++) {
        fprintf(f, "- %s: best `%s` (%.3f, mean over %s)", df_study_verdict_metrics[k], st->models[v->best[k]],
                v->mean[k][v->best[k]], reps);
        for (int m = 0; m < st->n_models && v->baseline >= 0; m++) {
            if (m == v->baseline) continue;
            fprintf(f, "%s `%s` %+.3f (p ", m == (v->baseline == 0) ? "; against the baseline:" : ",", st->models[m],
                    v->diff[k][m]);
            print_p(f, v->p[k][m]);
            fprintf(f, ", Holm p ");
            print_p(f, v->p_holm[k][m]);
            fprintf(f, ", better on %d/%d %s(s), significantly on %d)", v->n_better[k][m], v->n_reps, rep,
                    v->n_significant[k][m]);
        }
        fprintf(f, "\n");
    }
    if (st->folds && v->baseline >= 0) cv_text(st, v, f);
    if (v->warn_one_seed || v->warn_small_test) fprintf(f, "\n");
    if (v->warn_one_seed)
        fprintf(f, "Warning: one seed: no spread over seeds and no agreement between splits; treat differences as "
                "provisional.\n");
    if (v->warn_small_test)
        fprintf(f, "Warning: the test split's smallest class has %d samples (fewer than 100): the tests have little "
                "power, and a difference that is not significant is not evidence of no difference.\n",
                v->min_class_test);
}
