/* compare.c: `dermfuse compare STUDY.yaml`: trains the models of a study one after another (each with all
 * cores), skipping runs that finished and resuming one that was interrupted, then evaluates every run's best
 * checkpoint on its test split and writes the comparison.
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
 *     bootstrap: 1000            # resamples for the 95% intervals
 * Run m with seed s is the config with model.fusion=m, run.seed=s, run.name=<name>/<m>-seed<s>. The split
 * depends on the seed, so paired tests (DeLong for AUC, McNemar for accuracy) compare models within each
 * seed; the table reports mean ± sd over seeds, the bootstrap interval and the tests of the first seed.
 * Written: results.md (Markdown table), results.csv (one row per run). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/commands.h"
#include "train/config_schema.h"
#include "train/json.h"
#include "train/late_fusion.h"
#include "train/run_data.h"
#include "train/run_files.h"
#include "train/stats.h"
#include "train/trainer.h"

#define MAX_MODELS 8
#define MAX_SEEDS 16

typedef struct {
    char *name, *out_dir, *config, *baseline;
    int n_models;
    char *models[MAX_MODELS];
    int n_seeds;
    long seeds[MAX_SEEDS];
    int n_sets;
    char *sets[32];
    int bootstrap;
} study_cfg;

static const char *const model_names[] = {"image", "meta", "early", "intermediate", "gated", "late", NULL};

static const df_cfg_field study_fields[] = {
    {"name", DF_CFG_STRING, DF_CFG_AT(study_cfg, name), .required = 1, .flags = DF_CFG_NONEMPTY},
    {"out_dir", DF_CFG_STRING, DF_CFG_AT(study_cfg, out_dir), .flags = DF_CFG_NONEMPTY, .def = "runs"},
    {"config", DF_CFG_PATH, DF_CFG_AT(study_cfg, config), .required = 1, .flags = DF_CFG_MUST_EXIST},
    {"models", DF_CFG_STRINGS, DF_CFG_LIST_AT(study_cfg, models, n_models), .flags = DF_CFG_NONEMPTY,
     .def = "[image, meta, early, intermediate, gated, late]"},
    {"seeds", DF_CFG_INTS, DF_CFG_LIST_AT(study_cfg, seeds, n_seeds), .range = "[0, inf)", .def = "[1]"},
    {"baseline", DF_CFG_ENUM, DF_CFG_AT(study_cfg, baseline), .choices = model_names, .def = "image"},
    {"sets", DF_CFG_STRINGS, DF_CFG_LIST_AT(study_cfg, sets, n_sets), .def = "[]"},
    {"bootstrap", DF_CFG_INT, DF_CFG_AT(study_cfg, bootstrap), .range = "[100, 100000]", .def = "1000"},
};
static const df_cfg_section study_section = DF_CFG_SECTION_OF("study", study_fields, study_cfg);
typedef struct {
    study_cfg study;
} study_root;
static const df_cfg_field root_fields[] = {
    {"study", DF_CFG_SECTION, DF_CFG_AT(study_root, study), .sub = &study_section, .required = 1},
};
static const df_cfg_section root_section = DF_CFG_SECTION_OF("", root_fields, study_root);

typedef struct {
    df_predictions p;
    df_metrics m;
    double seconds, images_per_second;
    int ok;
} run_result;

/* Training time and mean throughput from the run's metrics.jsonl. */
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

static int run_one(const study_cfg *st, const char *model, long seed, run_result *r, df_error *err) {
    const char *sets[64];
    int n = 0;
    for (int i = 0; i < st->n_sets; i++) sets[n++] = st->sets[i];
    char s_fusion[64], s_seed[64], s_name[600], s_out[4200];
    snprintf(s_fusion, sizeof s_fusion, "model.fusion=%s", model);
    snprintf(s_seed, sizeof s_seed, "run.seed=%ld", seed);
    snprintf(s_name, sizeof s_name, "run.name=%s/%s-seed%ld", st->name, model, seed);
    snprintf(s_out, sizeof s_out, "run.out_dir=%s", st->out_dir);
    sets[n++] = s_fusion;
    sets[n++] = s_seed;
    sets[n++] = s_name;
    sets[n++] = s_out;
    df_run_config cfg;
    if (df_run_config_load(st->config, sets, n, &cfg, err)) return -1;
    printf("\n=== %s, seed %ld ===\n", model, seed);
    df_train_opts opts = {1, 1, 0};
    int stopped = 0;
    int rc = df_train_run(&cfg, &opts, &stopped, err);
    if (rc == 0 && stopped) rc = df_fail(err, "stopped by a signal; run the study again to continue");
    df_run_data rd;
    if (rc == 0) {
        int split = DF_SPLIT_TEST;
        if (strcmp(model, "late")) {
            df_fusion f;
            df_fusion_parse(model, &f);
            rc = df_predict_run(&cfg, f, "best.safetensors", &split, 1, 0, &r->p, &rd, err);
        } else {
            df_predictions pr[2][2];
            int splits[2] = {DF_SPLIT_VALID, DF_SPLIT_TEST};
            static const char *parts[2] = {"image", "meta"};
            static const df_fusion modes[2] = {DF_FUSION_IMAGE, DF_FUSION_META};
            for (int i = 0; rc == 0 && i < 2; i++) {
                df_run_config c = cfg;
                char name[700];
                snprintf(name, sizeof name, "%s/%s", cfg.run.name, parts[i]);
                c.run.name = name;
                rc = df_predict_run(&c, modes[i], "best.safetensors", splits, 2, 0, pr[i], i ? &rd : NULL, err);
                if (rc && i)
                    for (int s = 0; s < 2; s++) df_predictions_free(&pr[0][s]);
            }
            double w;
            if (rc == 0) {
                rc = df_late_combine(cfg.model.late_combine, cfg.train.monitor, &pr[0][0], &pr[1][0], &pr[0][1],
                                     &pr[1][1], &r->p, &w, err);
                for (int i = 0; i < 2; i++)
                    for (int s = 0; s < 2; s++) df_predictions_free(&pr[i][s]);
                if (rc) df_run_data_free(&rd);
            }
        }
    }
    if (rc == 0) {
        df_run_data_free(&rd);
        rc = df_predictions_metrics(&r->p, &r->m, err);
        char dir[4096];
        df_run_dir(&cfg, dir, sizeof dir);
        if (!strcmp(model, "late")) {
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
        r->ok = rc == 0;
    }
    df_run_config_free(&cfg);
    return rc;
}

static void predicted(const df_predictions *p, int *pred) {
    for (int i = 0; i < p->n; i++) {
        const float *row = p->prob + (size_t)i * p->K;
        int best = 0;
        if (p->K == 2) {
            best = row[1] > 0.5f;
        } else {
            for (int k = 1; k < p->K; k++)
                if (row[k] > row[best]) best = k;
        }
        pred[i] = best;
    }
}

static void fmt_mean_sd(char *buf, size_t size, const double *x, int n) {
    double mean, sd;
    df_mean_sd(x, n, &mean, &sd);
    if (n > 1)
        snprintf(buf, size, "%.3f ± %.3f", mean, sd);
    else
        snprintf(buf, size, "%.3f", mean);
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
    study_cfg *st = &root.study;
    int base = -1;
    for (int m = 0; m < st->n_models; m++) {
        int known = 0;
        for (const char *const *k = model_names; *k; k++) known |= !strcmp(*k, st->models[m]);
        if (!known) {
            fprintf(stderr, "dermfuse: %s: study.models: '%s' is not a model (image, meta, early, intermediate, "
                    "gated, late)\n", cli.config, st->models[m]);
            df_cfg_release(&root_section, &root);
            return 1;
        }
        if (!strcmp(st->models[m], st->baseline)) base = m;
    }
    run_result *res = df_calloc((size_t)st->n_models * st->n_seeds, sizeof *res);
    for (int s = 0; s < st->n_seeds && rc == 0; s++)
        for (int m = 0; m < st->n_models && rc == 0; m++)
            if (run_one(st, st->models[m], st->seeds[s], &res[s * st->n_models + m], &err)) {
                fprintf(stderr, "dermfuse: %s (model %s, seed %ld)\n", err.msg, st->models[m], st->seeds[s]);
                rc = 1;
            }
    if (rc == 0) {
        char dir[4200], path[4400];
        snprintf(dir, sizeof dir, "%s/%s", st->out_dir, st->name);
        char *md = NULL, *csv = NULL;
        size_t md_len = 0, csv_len = 0;
        FILE *fm = open_memstream(&md, &md_len), *fc = open_memstream(&csv, &csv_len);
        int K = res[0].p.K;
        fprintf(fm, "# Study %s\n\nTest split, %d seed(s) (mean ± sd over seeds); 95%% bootstrap interval of the AUC "
                "(%d resamples) and paired tests against `%s` on the first seed's test split (%d samples).\n\n",
                st->name, st->n_seeds, st->bootstrap, st->baseline, res[0].p.n);
        fprintf(fm, "| model | accuracy | balanced acc. | precision | recall | specificity | F1 | AUC | AUC 95%% CI | "
                "DeLong p | McNemar p |%s train s | img/s |\n|---|---|---|---|---|---|---|---|---|---|---|%s---|---|\n",
                K > 2 ? " macro-F1 |" : "", K > 2 ? "---|" : "");
        fprintf(fc, "model,seed,n,accuracy,balanced_accuracy,precision,recall,specificity,f1,auc,macro_f1,"
                "train_seconds,images_per_second\n");
        int *pa = df_malloc(sizeof(int) * (size_t)res[0].p.n + 1), *pb = df_malloc(sizeof(int) * (size_t)res[0].p.n + 1);
        for (int m = 0; m < st->n_models; m++) {
            double v[8][MAX_SEEDS];
            double secs = 0, ips = 0;
            for (int s = 0; s < st->n_seeds; s++) {
                const run_result *r = &res[s * st->n_models + m];
                double vals[8] = {r->m.accuracy, r->m.balanced_accuracy, r->m.precision, r->m.recall,
                                  r->m.specificity, r->m.f1, r->m.auc, r->m.macro_f1_milk};
                for (int k = 0; k < 8; k++) v[k][s] = vals[k];
                secs += r->seconds / st->n_seeds;
                ips += r->images_per_second / st->n_seeds;
                fprintf(fc, "%s,%ld,%d,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.1f,%.1f\n", st->models[m],
                        st->seeds[s], r->p.n, vals[0], vals[1], vals[2], vals[3], vals[4], vals[5], vals[6], vals[7],
                        r->seconds, r->images_per_second);
            }
            char cell[8][48];
            for (int k = 0; k < 8; k++) fmt_mean_sd(cell[k], sizeof cell[k], v[k], st->n_seeds);
            const run_result *r0 = &res[m], *b0 = base >= 0 ? &res[base] : NULL;
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
            fprintf(fm, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |", st->models[m], cell[0], cell[1],
                    cell[2], cell[3], cell[4], cell[5], cell[6], ci_text, delong, mcnemar);
            if (K > 2) fprintf(fm, " %s |", cell[7]);
            fprintf(fm, " %.0f | %.1f |\n", secs, ips);
        }
        free(pa);
        free(pb);
        fclose(fm);
        fclose(fc);
        if (df_make_dirs(dir, &err)) rc = 1;
        snprintf(path, sizeof path, "%s/results.md", dir);
        if (rc == 0 && df_write_file_atomic(path, md, md_len, &err)) rc = 1;
        snprintf(path, sizeof path, "%s/results.csv", dir);
        if (rc == 0 && df_write_file_atomic(path, csv, csv_len, &err)) rc = 1;
        if (rc == 0) {
            printf("\n%s\nwrote %s/results.md and %s/results.csv\n", md, dir, dir);
        } else {
            fprintf(stderr, "dermfuse: %s\n", err.msg);
        }
        free(md);
        free(csv);
    }
    for (int i = 0; i < st->n_models * st->n_seeds; i++) df_predictions_free(&res[i].p);
    free(res);
    df_cfg_release(&root_section, &root);
    return rc;
}
