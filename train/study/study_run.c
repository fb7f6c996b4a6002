/* study_run.c: a study run (`dermfuse compare STUDY.yaml`): trains the models of a study one after another (each with all
 * cores), skipping runs that finished and resuming one that was interrupted, then evaluates every run's test
 * checkpoint (train.test_checkpoint: best or last) on its test split, analyses the first seed's runs and writes the comparison.
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
 * Late fusion reuses the study's runs: when the models hold "image" and "meta" (for "late+transfer":
 * "image+transfer" and "meta+transfer") and each was trained with exactly late fusion's keys but model.fusion
 * and run.name, the late run combines those finished runs (late_fusion.h's df_late_parts) instead of training
 * its own <run>/image and <run>/meta, which would be the same computation. Within each seed the other models
 * run before late fusion. When the keys differ, a printed line says so and late fusion trains its own parts.
 *
 * Analyses of the first seed: separability of the penultimate test features (silhouette, Davies-Bouldin,
 * 2-D PCA; late fusion: its two parts' features side by side) and Grad-CAM of image-bearing models (late
 * fusion: its image part) with the mean heat-map index where masks are known (train/analysis.h).
 * Every model that uses metadata is also evaluated with each metadata field withheld, and with all of them
 * (study_missing.c). Calibration and subgroups of every run: study_eval.h (the study file's eval section).
 * Written to <out_dir>/<name>/: results.md (the tables), results.csv (one row per run), analysis.csv (one
 * row per model), missing_meta.csv (one row per run and withheld field), calibration.csv, reliability.csv,
 * subgroups.csv, subgroup_gaps.csv (study_eval.h), gradcam/<model>-<i>.png (overlays) and report.html
 * (train/report.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/io/json.h"
#include "train/late/late_fusion.h"
#include "train/session/run_files.h"
#include "train/session/session.h"
#include "train/study/study.h"
#include "train/study/study_eval.h"

/* Training time and mean throughput from a run's metrics.jsonl. */
static void read_timing(const char *dir, double *seconds, double *ips) {
    char line[8192];
    char *path = df_path_join(dir, "metrics.jsonl");
    *seconds = 0;
    *ips = 0;
    FILE *f = fopen(path, "r");
    free(path);
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

/* Finished and unchanged: test results written and the saved config equal to this one. */
static int run_finished(const df_run_config *cfg) {
    char *dir = df_run_dir(cfg), *metrics = df_path_join(dir, "test_metrics.json"), *saved = df_path_join(dir, "config.yaml");
    struct stat sb;
    size_t len = strlen(cfg->text), got;
    unsigned char *text = NULL;
    df_error err;
    /* A saved config longer than this one cannot be equal to it, so the read may stop there. */
    int same = stat(metrics, &sb) == 0 && df_read_file(saved, len, &text, &got, &err) == 0 && got == len &&
               memcmp(text, cfg->text, len) == 0;
    free(text);
    free(dir);
    free(metrics);
    free(saved);
    return same;
}

static void copy_data_facts(const df_run_config *cfg, const df_run_data *rd, df_study_data *d) {
    if (d->K) return;
    d->K = rd->n_classes;
    for (int k = 0; k < d->K && k < DF_METRICS_MAX_CLASSES; k++)
        d->class_names[k] = df_strdup(rd->ds[DF_SPLIT_TRAIN]->class_names[k]);
    d->layout = cfg->data.layout;
    d->split = cfg->data.split;
    d->source = df_strdup(rd->ds[DF_SPLIT_TRAIN]->source ? rd->ds[DF_SPLIT_TRAIN]->source : cfg->source);
    d->group_by = df_strdup(cfg->data.group_by);
    d->n_views = rd->n_views;
    d->meta_dim = rd->meta_dim;
    d->valid_fraction = cfg->data.valid_fraction;
    d->test_fraction = cfg->data.test_fraction;
    d->test_file = cfg->data.test_csv[0] != '\0';
    d->validated = rd->ds[DF_SPLIT_VALID] != NULL;
    d->test_checkpoint = cfg->train.test_checkpoint;
}

static void free_data_facts(df_study_data *d) {
    for (int k = 0; k < d->K && k < DF_METRICS_MAX_CLASSES; k++) free(d->class_names[k]);
    free(d->source);
    free(d->group_by);
}

/* Learning curves, Grad-CAM and separability of a first-seed run. gc is the session whose model Grad-CAM
 * explains (NULL: none, e.g. a metadata-only model). Failures here are warnings: the study's metrics stand
 * without them. */
static void analyse(const df_study_cfg *st, const df_run_config *cfg, const df_late_parts *parts, const char *model,
                    df_session *gc, df_study_run *r) {
    df_error err;
    char *dir = df_run_dir(cfg);
    int late = cfg->model.fusion == DF_FUSION_LATE;
    for (int i = 0; i < (late ? 2 : 1); i++) {
        char name[700];
        df_run_config pc = df_late_part_of(cfg, parts, i ? DF_FUSION_META : DF_FUSION_IMAGE, name, sizeof name);
        char *part = late ? df_run_dir(&pc) : df_strdup(dir);
        char *path = df_path_join(part, "metrics.jsonl");
        if (df_report_read_curve(path, &r->curves[r->n_curves], &err) == 0) {
            snprintf(r->curve_names[r->n_curves], sizeof r->curve_names[0], late ? "%s (%s part)" : "%s", model,
                     i ? "meta" : "image");
            r->n_curves++;
        } else {
            fprintf(stderr, "dermfuse: warning: learning curve of %s: %s\n", model, err.msg);
        }
        free(part);
        free(path);
    }
    free(dir);
    if (r->p.features) {
        if (df_separability_compute(&r->p, &r->sep, &err) == 0)
            r->has_sep = 1;
        else
            fprintf(stderr, "dermfuse: warning: separability of %s: %s\n", model, err.msg);
    }
    if (gc && st->gradcam_samples > 0) {
        char *study_dir = df_path_join(st->out_dir, st->name), *gdir = df_path_join(study_dir, "gradcam");
        if (df_gradcam_run(gc, st->gradcam_samples, st->gradcam_overlays, gdir, model, &r->cam, &err) == 0)
            r->has_cam = 1;
        else
            fprintf(stderr, "dermfuse: warning: Grad-CAM of %s: %s\n", model, err.msg);
        free(study_dir);
        free(gdir);
    }
}

/* The session that Grad-CAM explains for a run: the run's own (one graph) or late fusion's image part, with
 * the weights of its test checkpoint (train.test_checkpoint); *gc stays NULL for a model without images or
 * when no Grad-CAM is asked for. */
static int open_gradcam_session(const df_study_cfg *st, const df_run_config *cfg, const df_late_parts *parts,
                                char *name, size_t size, df_run_config *part, df_session *s, df_session **gc,
                                df_error *err) {
    *gc = NULL;
    if (st->gradcam_samples < 1 || cfg->model.fusion == DF_FUSION_META) return 0;
    df_fusion f = cfg->model.fusion;
    *part = *cfg;
    if (f == DF_FUSION_LATE) *part = df_late_part_of(cfg, parts, f = DF_FUSION_IMAGE, name, size);
    if (df_session_open_trained(s, part, f, df_test_checkpoint_file(part), err)) return -1;
    *gc = s;
    return 0;
}

/* Test predictions of a trained run (late fusion: its combination), with features for the first seed;
 * then, for the first seed, its analyses. A run of one graph is evaluated in its session s: the one it was
 * trained in when open is set, else one opened here; it is closed before returning. */
static int evaluate_run(const df_study_cfg *st, const df_run_config *cfg, const df_late_parts *parts,
                        const char *model, int first_seed, df_session *trained, df_study_run *r, df_study_data *data,
                        df_error *err) {
    df_session s, *gc = NULL;
    df_run_data rd;
    int rc, open = trained != NULL;
    char name[700];
    df_run_config part;
    r->late_weight = NAN;
    r->late_combine = cfg->model.fusion == DF_FUSION_LATE ? (int)cfg->model.late_combine : -1;
    if (cfg->model.fusion == DF_FUSION_LATE) {
        rc = df_late_predict_parts(cfg, parts, df_test_checkpoint_file(cfg), DF_SPLIT_TEST, first_seed, &r->p, &rd,
                                   &r->late_weight, err);
        if (rc == 0) {
            for (int i = 0; i < DF_N_SPLITS; i++) r->n_split[i] = rd.n[i];
            copy_data_facts(cfg, &rd, data);
            rc = df_study_eval_run(st, cfg, parts, NULL, &rd, r, err);
            df_run_data_free(&rd);
        }
    } else {
        if (trained) {
            s = *trained;
            rc = df_session_load_weights(&s, df_test_checkpoint_file(cfg), err);
        } else {
            rc = df_session_open_trained(&s, cfg, cfg->model.fusion, df_test_checkpoint_file(cfg), err);
            open = rc == 0;
        }
        if (rc == 0) rc = df_session_predict(&s, DF_SPLIT_TEST, first_seed, &r->p, err);
        if (rc == 0) rc = df_study_eval_run(st, cfg, NULL, &s, &s.data, r, err);
        if (rc == 0) {
            for (int i = 0; i < DF_N_SPLITS; i++) r->n_split[i] = s.data.n[i];
            copy_data_facts(cfg, &s.data, data);
            if (cfg->model.fusion != DF_FUSION_META) gc = &s;
        }
    }
    if (rc == 0) rc = df_predictions_metrics(&r->p, &r->m, err);
    if (rc == 0) {
        char *dir = df_run_dir(cfg);
        if (cfg->model.fusion == DF_FUSION_LATE) {
            double s1, i1, s2, i2;
            df_run_config pc = df_late_part_of(cfg, parts, DF_FUSION_IMAGE, name, sizeof name);
            char *sub = df_run_dir(&pc);
            read_timing(sub, &s1, &i1);
            free(sub);
            pc = df_late_part_of(cfg, parts, DF_FUSION_META, name, sizeof name);
            sub = df_run_dir(&pc);
            read_timing(sub, &s2, &i2);
            free(sub);
            r->seconds = s1 + s2;
            r->images_per_second = i1;
        } else {
            read_timing(dir, &r->seconds, &r->images_per_second);
        }
        if (cfg->model.fusion == DF_FUSION_META) r->images_per_second = NAN; /* it reads no images */
        free(dir);
    }
    if (rc == 0 && first_seed) {
        df_error e2;
        if (cfg->model.fusion == DF_FUSION_LATE) {
            if (open_gradcam_session(st, cfg, parts, name, sizeof name, &part, &s, &gc, &e2))
                fprintf(stderr, "dermfuse: warning: Grad-CAM of %s: %s\n", model, e2.msg);
            open = gc != NULL;
        }
        analyse(st, cfg, parts, model, st->gradcam_samples > 0 ? gc : NULL, r);
    }
    if (open) df_session_close(&s);
    /* after the run's own session is closed: these open one model at a time */
    if (rc == 0) rc = df_study_missing_eval(cfg, parts, r, err);
    return rc;
}

/* The study's runs that late fusion entry `model` may take as its parts (see the top of this file): fills
 * pc[0] (image) and pc[1] (meta) and parts, and returns 1, or returns 0 (nothing to free) when late fusion
 * trains its own parts, having said why when the runs exist but differ. */
static int late_parts(const df_study_cfg *st, const char *model, int rep, const df_run_config *cfg,
                      df_run_config pc[2], df_late_parts *parts) {
    static const df_fusion fusions[2] = {DF_FUSION_IMAGE, DF_FUSION_META};
    const char *plus = strchr(model, '+');
    char entry[2][128];
    for (int i = 0; i < 2; i++) {
        int listed = 0;
        snprintf(entry[i], sizeof entry[i], "%s%s", df_fusion_name(fusions[i]), plus ? plus : "");
        for (int m = 0; m < st->n_models; m++) listed |= !strcmp(st->models[m], entry[i]);
        if (!listed) return 0;
    }
    for (int i = 0; i < 2; i++) {
        df_run_config as;
        df_error err;
        if (df_study_run_config_as(st, entry[i], DF_FUSION_LATE, model, rep, &as, &err)) {
            printf("late fusion: not reusing the study's %s run: %s\n", entry[i], err.msg);
            for (int j = 0; j < i; j++) df_run_config_free(&pc[j]);
            return 0;
        }
        const char *a = as.text, *b = cfg->text;
        int same = !strcmp(a, b);
        if (!same) {
            /* the first line that differs says which key */
            while (*a && *a == *b) a++, b++;
            while (a > as.text && a[-1] != '\n') a--;
            size_t len = strcspn(a, "\n");
            char what[64];
            printf("late fusion: not reusing the study's %s run (%s): it was trained with other keys than "
                   "late fusion's %s part (besides model.fusion and run.name), e.g. '%.*s'; training its own parts\n",
                   entry[i], df_study_rep_name(st, rep, what, sizeof what), df_fusion_name(fusions[i]),
                   (int)(len > 120 ? 120 : len), a);
        }
        df_run_config_free(&as);
        if (!same || df_study_run_config(st, entry[i], rep, &pc[i], &err)) {
            for (int j = 0; j < i; j++) df_run_config_free(&pc[j]);
            return 0;
        }
    }
    parts->image = &pc[0];
    parts->meta = &pc[1];
    return 1;
}

int df_study_run_one(const df_study_cfg *st, int index, const df_study_opts *o, unsigned what, df_study_run *r,
                     df_study_data *data, df_error *err) {
    const char *model = st->models[index % st->n_models];
    int rep = index / st->n_models, first_seed = index < st->n_models;
    char rep_name[64];
    df_study_rep_name(st, rep, rep_name, sizeof rep_name);
    df_run_config cfg;
    if (df_study_run_config(st, model, rep, &cfg, err)) return -1;
    printf("\n=== %s, %s ===\n", model, rep_name);
    int rc = 0, stopped = 0;
    df_session s, *trained = NULL;
    df_run_config pc[2];
    df_late_parts parts;
    int reuse = cfg.model.fusion == DF_FUSION_LATE && late_parts(st, model, rep, &cfg, pc, &parts);
    if (run_finished(&cfg)) {
        if (what & DF_STUDY_TRAIN) printf("finished earlier; not trained again\n");
    } else if (!(what & DF_STUDY_TRAIN)) {
        char *dir = df_run_dir(&cfg);
        rc = df_fail(err, "%s: not finished although its rank trained it: the ranks of a study must share the file "
                     "system of its out_dir", dir);
        free(dir);
    } else {
        df_train_opts opts = {.resume = 1, .quiet = 1, .stop_after_steps = o->stop_after_steps};
        if (cfg.model.fusion == DF_FUSION_LATE) {
            rc = df_late_train_parts(&cfg, reuse ? &parts : NULL, &opts, &stopped, err);
        } else {
            /* Trained and then evaluated in one session, so the run's data are loaded once. */
            df_train_environment(&cfg);
            rc = df_session_open(&s, &cfg, cfg.model.fusion, DF_SESSION_TRAIN, 1, err);
            if (rc == 0) {
                trained = &s;
                rc = df_train_session(&s, &opts, &stopped, err);
            }
        }
        if (rc == 0 && stopped) rc = df_fail(err, "stopped by a signal; run the study again to continue");
    }
    if (rc == 0 && (what & DF_STUDY_EVALUATE))
        rc = evaluate_run(st, &cfg, reuse ? &parts : NULL, model, first_seed, trained, r, data, err);
    else if (trained)
        df_session_close(trained);
    for (int i = 0; reuse && i < 2; i++) df_run_config_free(&pc[i]);
    df_run_config_free(&cfg);
    if (rc) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        rc = df_fail(err, "%s (model %s, %s)", msg, model, rep_name);
    }
    return rc;
}

int df_study_run_order(const df_study_cfg *st, int *order, int *phase) {
    int n = 0;
    for (int s = 0; s < df_study_n_reps(st); s++)
        for (int pass = 0; pass < 2; pass++)
            for (int m = 0; m < st->n_models; m++) {
                if ((strncmp(st->models[m], "late", 4) == 0) != pass) continue;
                phase[n] = pass;
                order[n++] = s * st->n_models + m;
            }
    return n;
}

static void free_run(df_study_run *r) {
    df_predictions_free(&r->p);
    if (r->has_sep) df_separability_free(&r->sep);
    if (r->has_cam) df_gradcam_summary_free(&r->cam);
    for (int c = 0; c < r->n_curves; c++) df_report_curve_free(&r->curves[c]);
    df_study_missing_free(r);
    df_study_eval_free(r);
}

int df_study_evaluate(const df_study_cfg *st, const df_study_opts *opts, unsigned what, df_error *err) {
    int n = st->n_models * df_study_n_reps(st);
    df_study_run *res = df_calloc((size_t)n, sizeof *res);
    int *order = df_malloc(2 * (size_t)n * sizeof *order), *phase = order + n;
    df_study_data data;
    memset(&data, 0, sizeof data);
    df_study_run_order(st, order, phase);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) rc = df_study_run_one(st, order[i], opts, what, &res[order[i]], &data, err);
    if (rc == 0) df_study_analyse(st, res, &data);
    if (rc == 0) rc = df_study_write_results(st, res, &data, err);
    for (int i = 0; i < n; i++) free_run(&res[i]);
    free(res);
    free(order);
    free_data_facts(&data);
    return rc;
}
