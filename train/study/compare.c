/* compare.c: `dermfuse compare STUDY.yaml`: trains the models of a study one after another (each with all
 * cores), skipping runs that finished and resuming one that was interrupted, then evaluates every run's best
 * checkpoint on its test split, analyses the first seed's runs and writes the comparison.
 *
 * A study file:
 *   study:
 *     name: quickstart           # results go to <out_dir>/<name>/
 *     out_dir: runs
 *     config: synthetic.yaml     # the run config every model shares
 *     models: [image, meta, early, intermediate, gated, late]
 *     seeds: [1, 2, 3]
 *     baseline: image            # paired tests compare every model with this one
 *     sets: []                   # extra key=value overrides for every run
 *     transfer_sets: []          # overrides for the models listed as "<model>+transfer", e.g.
 *                                # [model.pretrained=w.safetensors, model.pretrained_include=[image]]
 *     bootstrap: 1000            # resamples for the 95% intervals
 *     gradcam_samples: 200       # test images explained by Grad-CAM per model (first seed)
 *     gradcam_overlays: 6        # of which shown in the report
 * Run m with seed s is the config with model.fusion=m, run.seed=s, run.name=<name>/<m>-seed<s>; a model
 * listed as "image+transfer" is the image model with transfer_sets added (supervised vs transfer). The split
 * depends on the seed, so paired tests (DeLong for AUC, McNemar for accuracy) compare models within each
 * seed; the table reports mean ± sd over seeds, the bootstrap interval and the tests of the first seed.
 *
 * A run counts as finished when its directory holds test_metrics.json and a config.yaml equal to the
 * run's resolved config; it is then not trained again and none of its files is touched (a run whose config
 * changed goes back to the trainer, which resumes or refuses it). DERMFUSE_STOP_AFTER_STEPS=N (a testing
 * aid, as for `dermfuse train`) stops each run after N steps of this process, as an interruption would.
 *
 * Analyses of the first seed: separability of the penultimate test features (silhouette, Davies-Bouldin,
 * 2-D PCA; late fusion: its two parts' features side by side) and Grad-CAM of image-bearing models (late
 * fusion: its image part) with the mean heat-map index where masks are known (train/analysis.h).
 * Written to <out_dir>/<name>/: results.md (the tables), results.csv (one row per run), analysis.csv (one
 * row per model), gradcam/<model>-<i>.png (overlays) and report.html (train/report.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "train/cli/commands.h"
#include "train/config/config_schema.h"
#include "core/io/json.h"
#include "train/late/late_fusion.h"
#include "train/session/run_data.h"
#include "train/session/run_files.h"
#include "train/metrics/stats.h"
#include "train/study/study.h"
#include "train/session/trainer.h"

static const char *const model_names[] = {"image", "meta", "early", "intermediate", "gated", "late", NULL};

static const df_cfg_field study_fields[] = {
    {"name", DF_CFG_STRING, DF_CFG_AT(df_study_cfg, name), .required = 1, .flags = DF_CFG_NONEMPTY},
    {"out_dir", DF_CFG_STRING, DF_CFG_AT(df_study_cfg, out_dir), .flags = DF_CFG_NONEMPTY, .def = "runs"},
    {"config", DF_CFG_PATH, DF_CFG_AT(df_study_cfg, config), .required = 1, .flags = DF_CFG_MUST_EXIST},
    {"models", DF_CFG_STRINGS, DF_CFG_LIST_AT(df_study_cfg, models, n_models), .flags = DF_CFG_NONEMPTY,
     .def = "[image, meta, early, intermediate, gated, late]"},
    {"seeds", DF_CFG_INTS, DF_CFG_LIST_AT(df_study_cfg, seeds, n_seeds), .range = "[0, inf)", .def = "[1]"},
    {"baseline", DF_CFG_ENUM, DF_CFG_AT(df_study_cfg, baseline), .choices = model_names, .def = "image"},
    {"sets", DF_CFG_STRINGS, DF_CFG_LIST_AT(df_study_cfg, sets, n_sets), .def = "[]"},
    {"transfer_sets", DF_CFG_STRINGS, DF_CFG_LIST_AT(df_study_cfg, transfer_sets, n_transfer_sets), .def = "[]"},
    {"bootstrap", DF_CFG_INT, DF_CFG_AT(df_study_cfg, bootstrap), .range = "[100, 100000]", .def = "1000"},
    {"gradcam_samples", DF_CFG_INT, DF_CFG_AT(df_study_cfg, gradcam_samples), .range = "[0, 100000]",
     .def = "200"},
    {"gradcam_overlays", DF_CFG_INT, DF_CFG_AT(df_study_cfg, gradcam_overlays), .range = "[0, 16]", .def = "6"},
};
static const df_cfg_section study_section = DF_CFG_SECTION_OF("study", study_fields, df_study_cfg);
typedef struct {
    df_study_cfg study;
} study_root;
static const df_cfg_field root_fields[] = {
    {"study", DF_CFG_SECTION, DF_CFG_AT(study_root, study), .sub = &study_section, .required = 1},
};
static const df_cfg_section root_section = DF_CFG_SECTION_OF("", root_fields, study_root);

/* Training time and mean throughput from a run's metrics.jsonl. */
static void read_timing(const char *dir, double *seconds, double *ips) {
    char path[4200], line[8192];
    snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
    *seconds = 0;
    *ips = 0;
    FILE *f = fopen(path, "r");
    if (!f) return;
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        df_json_doc *doc;
        df_error err;
        if (df_json_parse(line, strlen(line), &doc, &err)) continue;
        const df_json *s = df_json_get(df_json_root(doc), "seconds"), *i = df_json_get(df_json_root(doc), "images_per_second");
        if (s && s->type == DF_JSON_NUMBER) *seconds += s->number;
        if (i && i->type == DF_JSON_NUMBER) *ips += i->number, n++;
        df_json_free(doc);
    }
    fclose(f);
    if (n) *ips /= n;
}

/* A study model entry: a fusion mode, optionally "+transfer". Returns 1 with the fusion in base (and
 * *transfer set) for a valid entry, 0 otherwise. */
static int parse_entry(const char *entry, char *base, size_t size, int *transfer) {
    const char *plus = strchr(entry, '+');
    size_t n = plus ? (size_t)(plus - entry) : strlen(entry);
    if (n >= size) return 0;
    memcpy(base, entry, n);
    base[n] = '\0';
    *transfer = plus != NULL;
    if (plus && strcmp(plus, "+transfer")) return 0;
    for (const char *const *k = model_names; *k; k++)
        if (!strcmp(*k, base)) return 1;
    return 0;
}

/* The run config of model entry m with seed s. */
static int load_run_config(const df_study_cfg *st, const char *model, long seed, df_run_config *cfg, df_error *err) {
    const char *sets[64];
    int n = 0, transfer = 0;
    char base[32];
    if (!parse_entry(model, base, sizeof base, &transfer)) return df_fail(err, "'%s' is not a study model", model);
    for (int i = 0; i < st->n_sets; i++) sets[n++] = st->sets[i];
    for (int i = 0; transfer && i < st->n_transfer_sets; i++) sets[n++] = st->transfer_sets[i];
    char s_fusion[64], s_seed[64], s_name[600], s_out[4200];
    snprintf(s_fusion, sizeof s_fusion, "model.fusion=%s", base);
    snprintf(s_seed, sizeof s_seed, "run.seed=%ld", seed);
    snprintf(s_name, sizeof s_name, "run.name=%s/%s-seed%ld", st->name, model, seed);
    snprintf(s_out, sizeof s_out, "run.out_dir=%s", st->out_dir);
    sets[n++] = s_fusion;
    sets[n++] = s_seed;
    sets[n++] = s_name;
    sets[n++] = s_out;
    return df_run_config_load(st->config, sets, n, cfg, err);
}

/* Finished and unchanged: test results written and the saved config equal to this one. */
static int run_finished(const df_run_config *cfg) {
    char dir[4096], path[4200];
    df_run_dir(cfg, dir, sizeof dir);
    struct stat sb;
    snprintf(path, sizeof path, "%s/test_metrics.json", dir);
    if (stat(path, &sb)) return 0;
    snprintf(path, sizeof path, "%s/config.yaml", dir);
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t len = strlen(cfg->text);
    char *buf = df_malloc(len + 2);
    size_t got = fread(buf, 1, len + 1, f);
    fclose(f);
    int same = got == len && memcmp(buf, cfg->text, len) == 0;
    free(buf);
    return same;
}

/* Test predictions of a trained run (late fusion: its combination), with features when asked. */
static int predict(const df_run_config *cfg, const char *model, int keep_features, df_study_run *r,
                   df_run_data *rd, df_error *err) {
    int split = DF_SPLIT_TEST;
    if (!strcmp(model, "late")) {
        double w;
        return df_late_predict(cfg, "best.safetensors", split, keep_features, &r->p, rd, &w, err);
    }
    df_fusion f;
    df_fusion_parse(model, &f);
    return df_predict_run(cfg, f, "best.safetensors", &split, 1, keep_features, &r->p, rd, err);
}

static void copy_data_facts(const df_run_config *cfg, const df_run_data *rd, df_study_data *d) {
    if (d->K) return;
    d->K = rd->n_classes;
    for (int k = 0; k < d->K && k < DF_METRICS_MAX_CLASSES; k++)
        d->class_names[k] = df_strdup(rd->ds[DF_SPLIT_TRAIN]->class_names[k]);
    d->layout = df_strdup(cfg->data.layout);
    d->split = df_strdup(cfg->data.split);
    d->source = df_strdup(rd->ds[DF_SPLIT_TRAIN]->source ? rd->ds[DF_SPLIT_TRAIN]->source : cfg->source);
    d->group_by = df_strdup(cfg->data.group_by);
    d->n_views = rd->n_views;
    d->meta_dim = rd->meta_dim;
    d->valid_fraction = cfg->data.valid_fraction;
    d->test_fraction = cfg->data.test_fraction;
}

static void free_data_facts(df_study_data *d) {
    for (int k = 0; k < d->K && k < DF_METRICS_MAX_CLASSES; k++) free(d->class_names[k]);
    free(d->layout);
    free(d->split);
    free(d->source);
    free(d->group_by);
}

/* Learning curves, Grad-CAM and separability of a first-seed run. Failures here are warnings: the study's
 * metrics stand without them. */
static void analyse(const df_study_cfg *st, const df_run_config *cfg, const char *model, df_study_run *r) {
    df_error err;
    char dir[4096], path[4400];
    df_run_dir(cfg, dir, sizeof dir);
    const char *fusion = cfg->model.fusion; /* model may be an entry such as "image+transfer" */
    int late = !strcmp(fusion, "late");
    for (int i = 0; i < (late ? 2 : 1); i++) {
        snprintf(path, sizeof path, late ? "%s/%s/metrics.jsonl" : "%s/metrics.jsonl", dir, i ? "meta" : "image");
        if (df_report_read_curve(path, &r->curves[r->n_curves], &err) == 0) {
            snprintf(r->curve_names[r->n_curves], sizeof r->curve_names[0], late ? "%s (%s part)" : "%s", model,
                     i ? "meta" : "image");
            r->n_curves++;
        } else {
            fprintf(stderr, "dermfuse: warning: learning curve of %s: %s\n", model, err.msg);
        }
    }
    if (r->p.features) {
        if (df_separability_compute(&r->p, &r->sep, &err) == 0)
            r->has_sep = 1;
        else
            fprintf(stderr, "dermfuse: warning: separability of %s: %s\n", model, err.msg);
    }
    if (strcmp(fusion, "meta") && st->gradcam_samples > 0) {
        char name[700], gdir[4200];
        df_run_config c = late ? df_late_part_config(cfg, "image", name, sizeof name) : *cfg;
        df_fusion f = DF_FUSION_IMAGE;
        if (!late) df_fusion_parse(fusion, &f);
        snprintf(gdir, sizeof gdir, "%s/%s/gradcam", st->out_dir, st->name);
        if (df_gradcam_run(&c, f, "best.safetensors", st->gradcam_samples, st->gradcam_overlays, gdir, model,
                           &r->cam, &err) == 0)
            r->has_cam = 1;
        else
            fprintf(stderr, "dermfuse: warning: Grad-CAM of %s: %s\n", model, err.msg);
    }
}

static int run_one(const df_study_cfg *st, const char *model, long seed, int first_seed, df_study_run *r,
                   df_study_data *data, df_error *err) {
    df_run_config cfg;
    if (load_run_config(st, model, seed, &cfg, err)) return -1;
    printf("\n=== %s, seed %ld ===\n", model, seed);
    int rc = 0;
    if (run_finished(&cfg)) {
        printf("finished earlier; not trained again\n");
    } else {
        df_train_opts opts = {1, 1, 0};
        const char *stop = getenv("DERMFUSE_STOP_AFTER_STEPS");
        if (stop) opts.stop_after_steps = atoi(stop);
        int stopped = 0;
        rc = df_train_run(&cfg, &opts, &stopped, err);
        if (rc == 0 && stopped) rc = df_fail(err, "stopped by a signal; run the study again to continue");
    }
    df_run_data rd;
    if (rc == 0) rc = predict(&cfg, cfg.model.fusion, first_seed, r, &rd, err);
    if (rc == 0) {
        for (int s = 0; s < DF_N_SPLITS; s++) r->n_split[s] = rd.n[s];
        copy_data_facts(&cfg, &rd, data);
        df_run_data_free(&rd);
        rc = df_predictions_metrics(&r->p, &r->m, err);
    }
    if (rc == 0) {
        char dir[4096];
        df_run_dir(&cfg, dir, sizeof dir);
        if (!strcmp(cfg.model.fusion, "late")) {
            double s1, i1, s2, i2;
            char sub[4200];
            snprintf(sub, sizeof sub, "%s/image", dir);
            read_timing(sub, &s1, &i1);
            snprintf(sub, sizeof sub, "%s/meta", dir);
            read_timing(sub, &s2, &i2);
            r->seconds = s1 + s2;
            r->images_per_second = i1;
        } else {
            read_timing(dir, &r->seconds, &r->images_per_second);
        }
        if (first_seed) analyse(st, &cfg, model, r);
    }
    df_run_config_free(&cfg);
    return rc;
}

static void predicted(const df_predictions *p, int *pred) { df_metrics_predict(p->prob, p->n, p->K, 0.5, pred); }

static void fmt_mean_sd(char *buf, size_t size, const double *x, int n) {
    double mean, sd;
    df_mean_sd(x, n, &mean, &sd);
    if (n > 1)
        snprintf(buf, size, "%.3f ± %.3f", mean, sd);
    else
        snprintf(buf, size, "%.3f", mean);
}

/* A table's cells, owned. */
typedef struct {
    df_report_table t;
    char **head, **cells;
} owned_table;

static void table_init(owned_table *o, const char *id, int n_cols, int n_rows, const char *const *head) {
    memset(o, 0, sizeof *o);
    o->head = df_calloc((size_t)n_cols, sizeof(char *));
    o->cells = df_calloc((size_t)n_cols * n_rows + 1, sizeof(char *));
    for (int c = 0; c < n_cols; c++) o->head[c] = df_strdup(head[c]);
    o->t = (df_report_table){id, NULL, n_cols, n_rows, (const char *const *)o->head, (const char *const *)o->cells};
}

static void table_set(owned_table *o, int row, int col, const char *text) {
    o->cells[(size_t)row * o->t.n_cols + col] = df_strdup(text);
}

static void table_free(owned_table *o) {
    for (int c = 0; c < o->t.n_cols; c++) free(o->head[c]);
    for (int i = 0; i < o->t.n_cols * o->t.n_rows; i++) free(o->cells[i]);
    free(o->head);
    free(o->cells);
}

static void table_markdown(const owned_table *o, FILE *f) {
    fputs("|", f);
    for (int c = 0; c < o->t.n_cols; c++) fprintf(f, " %s |", o->head[c]);
    fputs("\n|", f);
    for (int c = 0; c < o->t.n_cols; c++) fputs("---|", f);
    fputs("\n", f);
    for (int r = 0; r < o->t.n_rows; r++) {
        fputs("|", f);
        for (int c = 0; c < o->t.n_cols; c++) fprintf(f, " %s |", o->cells[(size_t)r * o->t.n_cols + c]);
        fputs("\n", f);
    }
}

/* The metrics table: one row per model, mean ± sd over seeds, the first seed's interval and tests. */
static void metrics_table(const df_study_cfg *st, const df_study_run *res, int base, owned_table *o, FILE *fc) {
    int K = res[0].p.K;
    const char *head[] = {"model", "accuracy", "balanced acc.", "precision", "recall", "specificity", "F1", "AUC",
                          "AUC 95% CI", "DeLong p", "McNemar p", "macro-F1", "train s", "img/s"};
    int n_cols = K > 2 ? 14 : 13;
    if (K <= 2) head[11] = "train s", head[12] = "img/s";
    table_init(o, "metrics", n_cols, st->n_models, head);
    int *pa = df_malloc(sizeof(int) * (size_t)res[0].p.n + 1), *pb = df_malloc(sizeof(int) * (size_t)res[0].p.n + 1);
    df_error err;
    for (int m = 0; m < st->n_models; m++) {
        double v[8][DF_STUDY_MAX_SEEDS];
        double secs = 0, ips = 0;
        for (int s = 0; s < st->n_seeds; s++) {
            const df_study_run *r = &res[s * st->n_models + m];
            double vals[8] = {r->m.accuracy, r->m.balanced_accuracy, r->m.precision, r->m.recall,
                              r->m.specificity, r->m.f1, r->m.auc, r->m.macro_f1_milk};
            for (int k = 0; k < 8; k++) v[k][s] = vals[k];
            secs += r->seconds / st->n_seeds;
            ips += r->images_per_second / st->n_seeds;
            fprintf(fc, "%s,%ld,%d,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.1f,%.1f\n", st->models[m], st->seeds[s],
                    r->p.n, vals[0], vals[1], vals[2], vals[3], vals[4], vals[5], vals[6], vals[7], r->seconds,
                    r->images_per_second);
        }
        char cell[48];
        table_set(o, m, 0, st->models[m]);
        for (int k = 0; k < 7; k++) {
            fmt_mean_sd(cell, sizeof cell, v[k], st->n_seeds);
            table_set(o, m, 1 + k, cell);
        }
        const df_study_run *r0 = &res[m], *b0 = base >= 0 ? &res[base] : NULL;
        df_interval ci;
        char ci_text[64] = "n/a", delong[32] = "", mcnemar[32] = "";
        if (df_bootstrap_ci(r0->p.prob, r0->p.labels, r0->p.n, K, df_metric_auc, NULL, st->bootstrap, 0.95,
                            (uint64_t)st->seeds[0], &ci, &err) == 0)
            snprintf(ci_text, sizeof ci_text, "[%.3f, %.3f]", ci.lo, ci.hi);
        if (b0 && m != base) {
            df_delong d;
            if (K == 2 && df_delong_test_class(r0->p.prob, b0->p.prob, r0->p.labels, r0->p.n, 2, 1, &d, &err) == 0)
                snprintf(delong, sizeof delong, d.defined ? "%.3g" : "n/a", d.p);
            df_mcnemar mc;
            predicted(&r0->p, pa);
            predicted(&b0->p, pb);
            if (df_mcnemar_test(pa, pb, r0->p.labels, r0->p.n, &mc, &err) == 0)
                snprintf(mcnemar, sizeof mcnemar, "%.3g", mc.p);
        } else if (m == base) {
            snprintf(delong, sizeof delong, "(baseline)");
        }
        table_set(o, m, 8, ci_text);
        table_set(o, m, 9, delong);
        table_set(o, m, 10, mcnemar);
        int c = 11;
        if (K > 2) {
            fmt_mean_sd(cell, sizeof cell, v[7], st->n_seeds);
            table_set(o, m, c++, cell);
        }
        snprintf(cell, sizeof cell, "%.0f", secs);
        table_set(o, m, c++, cell);
        snprintf(cell, sizeof cell, "%.1f", ips);
        table_set(o, m, c, cell);
    }
    free(pa);
    free(pb);
}

static void fmt_number(char *buf, size_t size, double x, const char *fmt) {
    if (isnan(x))
        snprintf(buf, size, "n/a");
    else if (isinf(x))
        snprintf(buf, size, "inf");
    else
        snprintf(buf, size, fmt, x);
}

/* The analyses table (first seed) and analysis.csv. */
static void analysis_table(const df_study_cfg *st, const df_study_run *res, owned_table *o, FILE *fa) {
    const char *head[] = {"model", "silhouette", "Davies-Bouldin", "PCA variance (2 axes)", "heat-map index",
                          "Grad-CAM images (with mask)"};
    table_init(o, "analyses", 6, st->n_models, head);
    fprintf(fa, "model,seed,n_features,silhouette,davies_bouldin,pca_explained,gradcam_samples,gradcam_masked,"
            "heatmap_index\n");
    for (int m = 0; m < st->n_models; m++) {
        const df_study_run *r = &res[m];
        char cell[64];
        table_set(o, m, 0, st->models[m]);
        fmt_number(cell, sizeof cell, r->has_sep ? r->sep.silhouette : NAN, "%.3f");
        table_set(o, m, 1, cell);
        fmt_number(cell, sizeof cell, r->has_sep ? r->sep.davies_bouldin : NAN, "%.3f");
        table_set(o, m, 2, cell);
        fmt_number(cell, sizeof cell, r->has_sep ? 100 * (r->sep.explained[0] + r->sep.explained[1]) : NAN, "%.0f%%");
        table_set(o, m, 3, cell);
        fmt_number(cell, sizeof cell, r->has_cam ? r->cam.mean_index : NAN, "%.3f");
        table_set(o, m, 4, cell);
        if (r->has_cam)
            snprintf(cell, sizeof cell, "%d (%d)", r->cam.n_samples, r->cam.n_masked);
        else
            snprintf(cell, sizeof cell, "n/a");
        table_set(o, m, 5, cell);
        fprintf(fa, "%s,%ld,%d,%.6f,%.6f,%.6f,%d,%d,%.6f\n", st->models[m], st->seeds[0], r->has_sep ? r->sep.n : 0,
                r->has_sep ? r->sep.silhouette : NAN, r->has_sep ? r->sep.davies_bouldin : NAN,
                r->has_sep ? r->sep.explained[0] + r->sep.explained[1] : NAN, r->has_cam ? r->cam.n_samples : 0,
                r->has_cam ? r->cam.n_masked : 0, r->has_cam ? r->cam.mean_index : NAN);
    }
}

static int write_results(const df_study_cfg *st, const df_study_run *res, const df_study_data *data, int base) {
    df_error err;
    int rc = 0;
    char dir[4200], path[4400];
    snprintf(dir, sizeof dir, "%s/%s", st->out_dir, st->name);
    char *md = NULL, *csv = NULL, *acsv = NULL;
    size_t md_len = 0, csv_len = 0, acsv_len = 0;
    FILE *fm = open_memstream(&md, &md_len), *fc = open_memstream(&csv, &csv_len),
         *fa = open_memstream(&acsv, &acsv_len);
    fprintf(fm, "# Study %s\n\nTest split, %d seed(s) (mean ± sd over seeds); 95%% bootstrap interval of the AUC "
            "(%d resamples) and paired tests against `%s` on the first seed's test split (%d samples).\n\n",
            st->name, st->n_seeds, st->bootstrap, st->baseline, res[0].p.n);
    fprintf(fc, "model,seed,n,accuracy,balanced_accuracy,precision,recall,specificity,f1,auc,macro_f1,"
            "train_seconds,images_per_second\n");
    owned_table tables[2];
    metrics_table(st, res, base, &tables[0], fc);
    table_markdown(&tables[0], fm);
    analysis_table(st, res, &tables[1], fa);
    fprintf(fm, "\n## Analyses (seed %ld, test split)\n\nSeparability of the penultimate features: silhouette "
            "(higher is better, -1..1) and Davies-Bouldin index (lower is better); late fusion uses its two parts' "
            "features side by side. Heat-map index: mean share of the Grad-CAM heat (predicted class, view 0) "
            "inside the lesion mask, over the explained test images that have a mask.\n\n", st->seeds[0]);
    table_markdown(&tables[1], fm);
    fclose(fm);
    fclose(fc);
    fclose(fa);
    tables[0].t.caption = "Test-split metrics per model";
    tables[1].t.caption = "Feature separability and Grad-CAM heat-map index (first seed)";
    df_report_table rt[2] = {tables[0].t, tables[1].t};
    if (df_make_dirs(dir, &err)) rc = 1;
    snprintf(path, sizeof path, "%s/results.md", dir);
    if (rc == 0 && df_write_file_atomic(path, md, md_len, &err)) rc = 1;
    snprintf(path, sizeof path, "%s/results.csv", dir);
    if (rc == 0 && df_write_file_atomic(path, csv, csv_len, &err)) rc = 1;
    snprintf(path, sizeof path, "%s/analysis.csv", dir);
    if (rc == 0 && df_write_file_atomic(path, acsv, acsv_len, &err)) rc = 1;
    snprintf(path, sizeof path, "%s/report.html", dir);
    if (rc == 0 && df_study_write_report(st, res, data, rt, 2, path, &err)) rc = 1;
    if (rc == 0)
        printf("\n%s\nwrote %s/results.md, results.csv, analysis.csv and report.html\n", md, dir);
    else
        fprintf(stderr, "dermfuse: %s\n", err.msg);
    for (int t = 0; t < 2; t++) table_free(&tables[t]);
    free(md);
    free(csv);
    free(acsv);
    return rc;
}

static void free_run(df_study_run *r) {
    df_predictions_free(&r->p);
    if (r->has_sep) df_separability_free(&r->sep);
    if (r->has_cam) df_gradcam_summary_free(&r->cam);
    for (int c = 0; c < r->n_curves; c++) df_report_curve_free(&r->curves[c]);
}

int df_cmd_compare(int argc, char **argv) {
    const char *usage = "dermfuse compare STUDY.yaml [--set key=value]... [--threads N]";
    df_cli cli;
    int rc = df_cli_parse(argc, argv, usage, NULL, &cli);
    if (rc) return rc;
    study_root root;
    df_error err;
    if (df_cfg_load_bind(cli.config, cli.sets, cli.n_sets, &root_section, &root, &err)) {
        fprintf(stderr, "dermfuse: %s\n", err.msg);
        return 1;
    }
    df_study_cfg *st = &root.study;
    int base = -1;
    for (int m = 0; m < st->n_models; m++) {
        char entry_base[32];
        int transfer;
        if (!parse_entry(st->models[m], entry_base, sizeof entry_base, &transfer) ||
            (transfer && st->n_transfer_sets == 0)) {
            fprintf(stderr, "dermfuse: %s: study.models: '%s' is not a model (image, meta, early, intermediate, "
                    "gated, late, each optionally with +transfer, which needs study.transfer_sets)\n", cli.config,
                    st->models[m]);
            df_cfg_release(&root_section, &root);
            return 1;
        }
        if (!strcmp(st->models[m], st->baseline)) base = m;
    }
    df_study_run *res = df_calloc((size_t)st->n_models * st->n_seeds, sizeof *res);
    df_study_data data;
    memset(&data, 0, sizeof data);
    for (int s = 0; s < st->n_seeds && rc == 0; s++)
        for (int m = 0; m < st->n_models && rc == 0; m++)
            if (run_one(st, st->models[m], st->seeds[s], s == 0, &res[s * st->n_models + m], &data, &err)) {
                fprintf(stderr, "dermfuse: %s (model %s, seed %ld)\n", err.msg, st->models[m], st->seeds[s]);
                rc = 1;
            }
    if (rc == 0) rc = write_results(st, res, &data, base);
    for (int i = 0; i < st->n_models * st->n_seeds; i++) free_run(&res[i]);
    free(res);
    free_data_facts(&data);
    df_cfg_release(&root_section, &root);
    return rc;
}
