/* study_config.c: the study file's schema, and the run config of each model entry and seed (see study.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/io/files.h"

#include "train/config/config_schema.h"
#include "train/study/study.h"

static const df_cfg_field study_fields[] = {
    {"name", DF_CFG_STRING, DF_CFG_AT(df_study_cfg, name), .required = 1, .flags = DF_CFG_NONEMPTY,
     .help = "study name: results in <out_dir>/<name>, run <m>-seed<s> in <out_dir>/<name>/<m>-seed<s>"},
    {"out_dir", DF_CFG_STRING, DF_CFG_AT(df_study_cfg, out_dir), .flags = DF_CFG_NONEMPTY, .def = "runs",
     .help = "folder of the study's folder"},
    {"config", DF_CFG_PATH, DF_CFG_AT(df_study_cfg, config), .required = 1, .flags = DF_CFG_MUST_EXIST,
     .help = "the run config every model shares (relative to the study file)"},
    {"models", DF_CFG_STRINGS, DF_CFG_LIST_AT(df_study_cfg, models, n_models), .flags = DF_CFG_NONEMPTY,
     .def = "[image, meta, early, intermediate, gated, late]",
     .help = "fusion modes to compare, each optionally <mode>+transfer (adds transfer_sets)"},
    {"seeds", DF_CFG_INTS, DF_CFG_LIST_AT(df_study_cfg, seeds, n_seeds), .range = "[0, inf)", .def = "[1]",
     .help = "run.seed of each repetition (each seed also draws its own split)"},
    {"folds", DF_CFG_INT, DF_CFG_AT(df_study_cfg, folds), .range = "[0, 20]", .def = "0",
     .help = "k-fold cross-validation per seed: every model trained on each of k grouped, stratified folds of the "
             "training file (data.folds, data.fold), compared fold by fold; 0: one test split per seed"},
    {"baseline", DF_CFG_ENUM, DF_CFG_AT(df_study_cfg, baseline), .choices = df_fusion_names, .def = "image",
     .help = "the model the paired tests (DeLong, McNemar, Holm-adjusted) compare every other model with"},
    {"sets", DF_CFG_STRINGS, DF_CFG_LIST_AT(df_study_cfg, sets, n_sets), .def = "[]",
     .help = "key=value overrides of the run config for every run"},
    {"transfer_sets", DF_CFG_STRINGS, DF_CFG_LIST_AT(df_study_cfg, transfer_sets, n_transfer_sets), .def = "[]",
     .help = "overrides added for <mode>+transfer entries, e.g. [model.pretrained=w.safetensors]"},
    {"bootstrap", DF_CFG_INT, DF_CFG_AT(df_study_cfg, bootstrap), .range = "[100, 100000]", .def = "1000",
     .help = "bootstrap resamples of the AUC's 95% interval"},
    {"gradcam_samples", DF_CFG_INT, DF_CFG_AT(df_study_cfg, gradcam_samples), .range = "[0, 100000]",
     .def = "200", .help = "test images Grad-CAM explains per image model (first seed); 0: none"},
    {"gradcam_overlays", DF_CFG_INT, DF_CFG_AT(df_study_cfg, gradcam_overlays), .range = "[0, 16]", .def = "6",
     .help = "of those, overlays shown in the report per model"},
};
static const df_cfg_section study_section = DF_CFG_SECTION_OF("study", study_fields, df_study_cfg);
static const df_cfg_field eval_fields[] = {
    {"calibrate", DF_CFG_BOOL, DF_CFG_AT(df_study_eval, calibrate), .def = "false",
     .help = "fit a temperature on each run's validation split (min NLL) and report test ECE and Brier before "
             "and after it; the saved predictions stay uncalibrated"},
    {"calibration_bins", DF_CFG_INT, DF_CFG_AT(df_study_eval, calibration_bins), .range = "[2, 100]", .def = "15",
     .help = "equal-width bins of the top-class probability for the ECE and the reliability diagrams"},
    {"subgroups", DF_CFG_BOOL, DF_CFG_AT(df_study_eval, subgroups), .def = "true",
     .help = "AUC, sensitivity and specificity per group of each data.categorical column and of age bands"},
    {"subgroup_min_samples", DF_CFG_INT, DF_CFG_AT(df_study_eval, subgroup_min_samples), .range = "[1, inf)",
     .def = "30", .help = "a group with fewer test samples is reported as too small (its count, no metrics)"},
    {"subgroup_min_class", DF_CFG_INT, DF_CFG_AT(df_study_eval, subgroup_min_class), .range = "[1, inf)",
     .def = "5", .help = "a group with fewer test samples of some class is reported as too small too"},
};
static const df_cfg_section eval_section = DF_CFG_SECTION_OF("eval", eval_fields, df_study_eval);
typedef struct {
    df_study_cfg study;
    df_study_eval eval;
} study_root;
static const df_cfg_field root_fields[] = {
    {"study", DF_CFG_SECTION, DF_CFG_AT(study_root, study), .sub = &study_section, .required = 1},
    {"eval", DF_CFG_SECTION, DF_CFG_AT(study_root, eval), .sub = &eval_section, .def = "{}"},
};
const df_cfg_section df_study_schema = DF_CFG_SECTION_OF("", root_fields, study_root);

/* A study model entry: a fusion mode, optionally "+transfer". Returns 1 with the fusion in *fusion (and
 * *transfer set) for a valid entry, 0 otherwise. */
static int parse_entry(const char *entry, df_fusion *fusion, int *transfer) {
    const char *plus = strchr(entry, '+');
    size_t n = plus ? (size_t)(plus - entry) : strlen(entry);
    *transfer = plus != NULL;
    if (plus && strcmp(plus, "+transfer")) return 0;
    for (int k = 0; df_fusion_names[k]; k++)
        if (strlen(df_fusion_names[k]) == n && !strncmp(df_fusion_names[k], entry, n)) {
            *fusion = (df_fusion)k;
            return 1;
        }
    return 0;
}

int df_study_load(const char *path, const char *const *sets, int n_sets, df_study_cfg *st, df_error *err) {
    study_root root;
    if (df_cfg_load_bind(path, sets, n_sets, &df_study_schema, &root, err)) return -1;
    *st = root.study;
    st->eval = root.eval;
    st->baseline_index = -1;
    if (df_check_plain_name("study.name", st->name, 1, err)) {
        df_fail_prefix(err, "%s", path);
        df_study_release(st);
        return -1;
    }
    for (int m = 0; m < st->n_models; m++) {
        df_fusion f;
        int transfer;
        if (!parse_entry(st->models[m], &f, &transfer) || (transfer && st->n_transfer_sets == 0)) {
            df_fail(err, "%s: study.models: '%s' is not a model (image, meta, early, intermediate, gated, film, "
                    "cross_attention, late, "
                    "each optionally with +transfer, which needs study.transfer_sets)", path, st->models[m]);
            df_study_release(st);
            return -1;
        }
        if (!strcmp(st->models[m], df_fusion_names[st->baseline])) st->baseline_index = m;
        /* Each (model, seed) is one run folder: a repeat would train into, or resume, the other's. */
        for (int k = 0; k < m; k++)
            if (!strcmp(st->models[k], st->models[m])) {
                df_fail(err, "%s: study.models lists '%s' twice", path, st->models[m]);
                df_study_release(st);
                return -1;
            }
    }
    for (int i = 0; i < st->n_seeds; i++)
        for (int k = 0; k < i; k++)
            if (st->seeds[k] == st->seeds[i]) {
                df_fail(err, "%s: study.seeds lists %ld twice", path, st->seeds[i]);
                df_study_release(st);
                return -1;
            }
    if (st->folds == 1 || st->n_seeds * (st->folds ? st->folds : 1) > DF_STUDY_MAX_REPS) {
        if (st->folds == 1)
            df_fail(err, "%s: study.folds is 1: a cross-validation needs at least 2 folds (0: off)", path);
        else
            df_fail(err, "%s: study.seeds (%d) x study.folds (%d) is %d replicates; the limit (study.replicates) is "
                    "%d", path, st->n_seeds, st->folds, st->n_seeds * st->folds, DF_STUDY_MAX_REPS);
        df_study_release(st);
        return -1;
    }
    return 0;
}

int df_study_n_reps(const df_study_cfg *st) { return st->n_seeds * (st->folds ? st->folds : 1); }

long df_study_rep_seed(const df_study_cfg *st, int rep) { return st->seeds[rep / (st->folds ? st->folds : 1)]; }

int df_study_rep_fold(const df_study_cfg *st, int rep) { return st->folds ? rep % st->folds : -1; }

const char *df_study_rep_name(const df_study_cfg *st, int rep, char *buf, size_t size) {
    int fold = df_study_rep_fold(st, rep);
    if (fold < 0)
        snprintf(buf, size, "seed %ld", df_study_rep_seed(st, rep));
    else
        snprintf(buf, size, "seed %ld, fold %d", df_study_rep_seed(st, rep), fold);
    return buf;
}

const char *df_study_fold_cell(const df_study_cfg *st, int rep, char *buf, size_t size) {
    if (st->folds) snprintf(buf, size, "%d", df_study_rep_fold(st, rep));
    else if (size) buf[0] = '\0';
    return buf;
}

void df_study_release(df_study_cfg *st) {
    study_root root = {*st, st->eval};
    df_cfg_release(&df_study_schema, &root);
    memset(st, 0, sizeof *st);
}

int df_study_run_config(const df_study_cfg *st, const char *model, int rep, df_run_config *cfg, df_error *err) {
    df_fusion fusion;
    int transfer;
    if (!parse_entry(model, &fusion, &transfer)) return df_fail(err, "'%s' is not a study model", model);
    return df_study_run_config_as(st, model, fusion, model, rep, cfg, err);
}

int df_study_run_config_as(const df_study_cfg *st, const char *model, df_fusion fusion, const char *name_entry,
                           int rep, df_run_config *cfg, df_error *err) {
    int n = 0, transfer = 0;
    df_fusion own;
    if (!parse_entry(model, &own, &transfer)) return df_fail(err, "'%s' is not a study model", model);
    const char **sets = df_malloc(sizeof *sets * (size_t)(st->n_sets + st->n_transfer_sets + 6));
    for (int i = 0; i < st->n_sets; i++) sets[n++] = st->sets[i];
    for (int i = 0; transfer && i < st->n_transfer_sets; i++) sets[n++] = st->transfer_sets[i];
    long seed = df_study_rep_seed(st, rep);
    int fold = df_study_rep_fold(st, rep);
    char s_fusion[64], s_seed[64], s_folds[64], s_fold[64], fold_tag[32] = "";
    snprintf(s_fusion, sizeof s_fusion, "model.fusion=%s", df_fusion_names[fusion]);
    snprintf(s_seed, sizeof s_seed, "run.seed=%ld", seed);
    size_t name_len = strlen(st->name) + strlen(name_entry) + 64, out_len = strlen(st->out_dir) + 16;
    char *s_name = df_malloc(name_len), *s_out = df_malloc(out_len);
    if (fold >= 0) snprintf(fold_tag, sizeof fold_tag, "-fold%d", fold);
    snprintf(s_name, name_len, "run.name=%s/%s-seed%ld%s", st->name, name_entry, seed, fold_tag);
    snprintf(s_out, out_len, "run.out_dir=%s", st->out_dir);
    sets[n++] = s_fusion;
    sets[n++] = s_seed;
    sets[n++] = s_name;
    sets[n++] = s_out;
    if (fold >= 0) {
        snprintf(s_folds, sizeof s_folds, "data.folds=%d", st->folds);
        snprintf(s_fold, sizeof s_fold, "data.fold=%d", fold);
        sets[n++] = s_folds;
        sets[n++] = s_fold;
    }
    int rc = df_run_config_load(st->config, sets, n, cfg, err);
    free(sets);
    free(s_name);
    free(s_out);
    return rc;
}
