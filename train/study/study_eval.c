/* study_eval.c: a run's calibration and subgroup metrics, computed when the study evaluates it (see
 * study_eval.h). */
#include "train/study/study_eval.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- calibration ---- */

static int valid_predictions(const df_run_config *cfg, const df_late_parts *parts, df_session *s,
                             df_predictions *out, df_error *err) {
    if (s) return df_session_predict(s, DF_SPLIT_VALID, 0, out, err);
    double weight;
    return df_late_predict_parts(cfg, parts, df_test_checkpoint_file(cfg), DF_SPLIT_VALID, 0, out, NULL, &weight,
                                 err);
}

/* prob (n, K) at temperature T through the head's C logits, into a new array. */
static float *at_temperature(const float *prob, int n, int K, int C, double T) {
    float *z = df_malloc((size_t)n * C * sizeof *z + sizeof *z), *out = df_malloc((size_t)n * K * sizeof *out + 1);
    df_logits_from_prob(prob, n, K, C, z);
    df_apply_temperature(z, n, C, K, T, out);
    free(z);
    return out;
}

static int calibrate(const df_study_cfg *st, const df_run_config *cfg, const df_late_parts *parts, df_session *s,
                     const df_run_data *rd, df_study_run *r, df_error *err) {
    const df_predictions *p = &r->p;
    df_study_calib *c = df_calloc(1, sizeof *c);
    r->calib = c;
    c->n_bins = st->eval.calibration_bins;
    c->before = df_malloc((size_t)c->n_bins * sizeof *c->before);
    c->ece_before = df_reliability(p->prob, p->labels, p->n, p->K, c->n_bins, c->before);
    c->brier_before = df_brier(p->prob, p->labels, p->n, p->K);
    c->ece_after = c->brier_after = c->valid_ece_before = c->valid_ece_after = NAN;
    c->fit = (df_temperature){NAN, NAN, NAN, 0};
    if (!st->eval.calibrate) return 0;
    if (!rd->ds[DF_SPLIT_VALID] || rd->n[DF_SPLIT_VALID] == 0) {
        snprintf(c->note, sizeof c->note, "no validation split to fit a temperature on");
        return 0;
    }
    df_predictions v;
    if (valid_predictions(cfg, parts, s, &v, err)) return df_fail_prefix(err, "calibration: the validation split");
    /* A sigmoid head's one logit; late fusion combines probabilities, so its "logits" are their logs. */
    int K = p->K, C = cfg->model.head == DF_HEAD_SIGMOID && K == 2 && cfg->model.fusion != DF_FUSION_LATE ? 1 : K;
    float *z = df_malloc((size_t)v.n * C * sizeof *z + sizeof *z);
    df_logits_from_prob(v.prob, v.n, K, C, z);
    df_error e2;
    c->n_valid = v.n;
    if (df_temperature_fit(z, v.labels, v.n, C, &c->fit, &e2)) {
        snprintf(c->note, sizeof c->note, "%s", e2.msg);
        fprintf(stderr, "dermfuse: warning: calibration of %s: %s\n", cfg->run.name, e2.msg);
    } else {
        c->fitted = 1;
        float *pv = at_temperature(v.prob, v.n, K, C, c->fit.T), *pt = at_temperature(p->prob, p->n, K, C, c->fit.T);
        c->valid_ece_before = df_ece(v.prob, v.labels, v.n, K, c->n_bins);
        c->valid_ece_after = df_ece(pv, v.labels, v.n, K, c->n_bins);
        c->after = df_malloc((size_t)c->n_bins * sizeof *c->after);
        c->ece_after = df_reliability(pt, p->labels, p->n, K, c->n_bins, c->after);
        c->brier_after = df_brier(pt, p->labels, p->n, K);
        free(pv);
        free(pt);
    }
    free(z);
    df_predictions_free(&v);
    return 0;
}

/* ---- subgroups ---- */

/* A numeric column that holds ages in years: "age", or "age_" and more ("age_approx"), any case. */
static int is_age_column(const char *name) {
    char low[8] = {0};
    for (int i = 0; i < 4 && name[i]; i++) low[i] = (char)tolower((unsigned char)name[i]);
    return !strcmp(low, "age") || (!strncmp(low, "age_", 4) && name[4]);
}

static const char *const age_bands[] = {"<30", "30-44", "45-59", "60-74", ">=75", "missing"};

static int age_band(const char *column, const char *value) {
    double x;
    if (df_meta_read_number(column, value, &x) != 1) return 5; /* missing (or unreadable: no age known) */
    return x < 30 ? 0 : x < 45 ? 1 : x < 60 ? 2 : x < 75 ? 3 : 4;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The grouping of column j of the test dataset: sorted distinct values, then "missing" when any is. */
static void categorical_groups(const df_dataset *ds, int j, const df_predictions *p, df_study_grouping *g) {
    const char **vals = df_malloc((size_t)p->n * sizeof *vals + sizeof *vals);
    int n_vals = 0, missing = 0;
    for (int i = 0; i < p->n; i++) {
        const char *v = ds->meta_values[(size_t)p->indices[i] * ds->n_meta_cols + j];
        if (df_meta_is_missing(v)) missing = 1;
        else vals[n_vals++] = v;
    }
    qsort(vals, (size_t)n_vals, sizeof *vals, cmp_str);
    g->names = df_malloc(((size_t)n_vals + 1) * sizeof *g->names);
    for (int i = 0; i < n_vals; i++)
        if (i == 0 || strcmp(vals[i], vals[i - 1])) g->names[g->n_groups++] = df_strdup(vals[i]);
    if (missing) g->names[g->n_groups++] = df_strdup("missing");
    for (int i = 0; i < p->n; i++) {
        const char *v = ds->meta_values[(size_t)p->indices[i] * ds->n_meta_cols + j];
        const char *key = df_meta_is_missing(v) ? "missing" : v;
        const char **hit = bsearch(&key, g->names, (size_t)g->n_groups - (size_t)missing, sizeof *g->names, cmp_str);
        g->of[i] = hit ? (int)(hit - (const char **)g->names) : g->n_groups - 1;
    }
    free(vals);
}

static void age_groups(const df_dataset *ds, int j, const df_predictions *p, df_study_grouping *g) {
    g->n_groups = 6;
    g->names = df_malloc(6 * sizeof *g->names);
    for (int b = 0; b < 6; b++) g->names[b] = df_strdup(age_bands[b]);
    for (int i = 0; i < p->n; i++)
        g->of[i] = age_band(ds->meta_cols[j], ds->meta_values[(size_t)p->indices[i] * ds->n_meta_cols + j]);
}

static int column_index(const df_dataset *ds, const char *name) {
    for (int j = 0; j < ds->n_meta_cols; j++)
        if (!strcmp(ds->meta_cols[j], name)) return j;
    return -1;
}

static void subgroups(const df_study_cfg *st, const df_run_config *cfg, const df_run_data *rd, df_study_run *r) {
    const df_dataset *ds = rd->ds[DF_SPLIT_TEST];
    const df_data_section *d = &cfg->data;
    if (!st->eval.subgroups || !ds) return;
    df_study_groups *gs = df_calloc(1, sizeof *gs);
    r->groups = gs;
    gs->col = df_calloc((size_t)(d->n_categorical + d->n_numeric) + 1, sizeof *gs->col);
    for (int c = 0; c < d->n_categorical + d->n_numeric; c++) {
        int numeric = c >= d->n_categorical;
        const char *name = numeric ? d->numeric[c - d->n_categorical] : d->categorical[c];
        int j = column_index(ds, name);
        if (j < 0 || (numeric && !is_age_column(name))) continue;
        df_study_grouping *g = &gs->col[gs->n];
        char label[300];
        snprintf(label, sizeof label, numeric ? "%s (age band)" : "%s", name);
        g->column = df_strdup(label);
        g->of = df_malloc((size_t)r->p.n * sizeof *g->of + sizeof *g->of);
        if (numeric) age_groups(ds, j, &r->p, g);
        else categorical_groups(ds, j, &r->p, g);
        g->g = df_calloc((size_t)g->n_groups, sizeof *g->g);
        /* the run's seed and the column: the same intervals every time the study is written */
        df_subgroup_opts o = {0.5, st->eval.subgroup_min_samples, st->eval.subgroup_min_class, st->bootstrap, 0.95,
                              (uint64_t)cfg->run.seed * 1000003u + (uint64_t)c * 7919u};
        df_error err;
        if (df_subgroups(r->p.prob, r->p.labels, r->p.n, r->p.K, g->of, g->n_groups, &o, g->g, &err))
            fprintf(stderr, "dermfuse: warning: subgroups of %s by %s: %s\n", cfg->run.name, name, err.msg);
        gs->n++;
    }
}

int df_study_eval_run(const df_study_cfg *st, const df_run_config *cfg, const df_late_parts *parts, df_session *s,
                      const df_run_data *rd, df_study_run *r, df_error *err) {
    if (calibrate(st, cfg, parts, s, rd, r, err)) return -1;
    subgroups(st, cfg, rd, r);
    return 0;
}

void df_study_eval_free(df_study_run *r) {
    if (r->calib) {
        free(r->calib->before);
        free(r->calib->after);
        free(r->calib);
    }
    for (int c = 0; r->groups && c < r->groups->n; c++) {
        df_study_grouping *g = &r->groups->col[c];
        for (int k = 0; k < g->n_groups; k++) free(g->names[k]);
        free(g->names);
        free(g->of);
        free(g->g);
        free(g->column);
    }
    if (r->groups) free(r->groups->col);
    free(r->groups);
    r->calib = NULL;
    r->groups = NULL;
}

/* ---- outputs ---- */

const char *const df_study_eval_files[5] = {"calibration.csv", "reliability.csv", "subgroups.csv",
                                            "subgroup_gaps.csv", "classes.csv"};

void df_study_eval_write(const df_study_cfg *st, const df_study_run *res, const df_study_data *d, FILE *md,
                         df_study_eval_out *out) {
    memset(out, 0, sizeof *out);
    df_study_calibration_write(st, res, md, out);
    df_study_subgroups_write(st, res, md, out);
    df_study_classes_write(st, res, d, md, out);
}

void df_study_eval_section(df_study_eval_out *out, const char *id, const char *heading, char *text, int n_tables) {
    df_report_table *rt = &out->report_tables[out->n_tables - n_tables];
    for (int t = 0; t < n_tables; t++) rt[t] = out->tables[out->n_tables - n_tables + t].t;
    out->text[out->n_sections] = text;
    out->sections[out->n_sections++] = (df_report_section){id, heading, text, NULL, n_tables, rt};
}

void df_study_eval_out_free(df_study_eval_out *out) {
    for (int i = 0; i < 5; i++) free(out->csv[i]);
    for (int t = 0; t < out->n_tables; t++) df_study_table_free(&out->tables[t]);
    for (int s = 0; s < out->n_sections; s++) free(out->text[s]);
    free(out->charts);
    memset(out, 0, sizeof *out);
}
