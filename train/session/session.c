/* session.c: see session.h. */
#include "train/session/session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/dist/dist.h"
#include "core/io/json.h"
#include "core/memory.h"
#include "data/loader.h"
#include "train/model/pretrained.h"
#include "train/session/checkpoint.h"
#include "train/session/model_config.h"
#include "train/session/predict_ranks.h"
#include "train/session/run_files.h"

void df_session_loader_opts(const df_session *s, int training, df_loader_opts *o) {
    const df_run_config *cfg = s->cfg;
    df_loader_defaults(o, cfg->data.image_size, cfg->data.image_size);
    o->batch_size = cfg->train.batch_size;
    o->n_workers = cfg->data.workers;
    o->shuffle = training;
    o->drop_last = 0;
    o->load_images = s->model->image[0] >= 0;
    o->use_cache = cfg->data.cache;
    o->seed = (uint64_t)cfg->run.seed;
    o->aug.train = training;
    if (training) { /* each training rank loads its part of every batch (loader.h) */
        o->part = df_dist_rank(df_dist_training());
        o->parts = df_dist_size(df_dist_training());
    }
    df_run_input_apply(&s->input, &o->aug);
    if (training) {
        o->aug.hflip = cfg->data.hflip;
        o->aug.vflip = cfg->data.vflip;
        o->aug.rot90 = cfg->data.rot90;
        o->aug.scale_min = (float)cfg->data.crop_scale_min;
        o->aug.brightness = o->aug.contrast = o->aug.saturation = (float)cfg->data.jitter;
    }
}

static int open_loader(df_session *s, int split, int training, df_loader **out, df_error *err) {
    df_loader_opts o;
    df_session_loader_opts(s, training, &o);
    char *cache_dir = df_path_join(s->cfg->run.out_dir, "cache");
    o.cache_dir = cache_dir;
    int rc = o.use_cache && o.load_images ? df_make_dirs(cache_dir, err) : 0;
    if (rc == 0)
        rc = df_loader_create(s->data.ds[split], s->data.idx[split], s->data.n[split], s->data.meta[split],
                              s->data.meta_dim, &o, out, err);
    free(cache_dir);
    return rc;
}

static char *classes_json(const df_run_data *rd) {
    df_json_writer w;
    df_json_writer_init(&w);
    df_json_array_begin(&w);
    for (int k = 0; k < rd->n_classes; k++) df_json_string(&w, rd->ds[DF_SPLIT_TRAIN]->class_names[k]);
    df_json_array_end(&w);
    char *text = df_strdup(w.text);
    df_json_writer_free(&w);
    return text;
}

/* What the model build checks against the memory there is: the optimizer's moments and the loaders'
 * batch rings (training, and one per evaluated split) besides the graph itself. */
static void plan_memory(const df_session *s, df_model_spec *spec) {
    const df_run_config *cfg = s->cfg;
    spec->memory_limit = df_memory_available();
    if (s->mode == DF_SESSION_TRAIN) {
        df_optim_config oc = df_optim_defaults(cfg->train.optimizer);
        spec->extra_param_copies = oc.kind == DF_OPTIM_SGD ? (cfg->train.momentum > 0) : 2;
    }
    df_loader_opts o;
    df_loader_defaults(&o, cfg->data.image_size, cfg->data.image_size);
    o.batch_size = cfg->train.batch_size;
    o.n_workers = cfg->data.workers;
    o.load_images = s->fusion != DF_FUSION_META;
    o.aug.channels = s->input.channels;
    size_t one = df_loader_bytes(&o, s->data.n_views, s->fusion == DF_FUSION_IMAGE ? 0 : s->data.meta_dim);
    spec->reserved_bytes = one * (s->mode == DF_SESSION_TRAIN ? 3 : 1);
}

static int build_model(df_session *s, int quiet, df_error *err) {
    const df_run_config *cfg = s->cfg;
    const float *weights = NULL;
    if (cfg->train.class_weights == DF_WEIGHTING_BALANCED) {
        df_run_data_balanced_weights(&s->data, s->class_weights);
        weights = s->class_weights;
    }
    df_model_spec spec;
    if (df_model_spec_from_config(cfg, s->fusion, s->data.n_classes, s->data.n_views,
                                  s->fusion == DF_FUSION_IMAGE ? 0 : s->data.meta_dim, weights, &spec, err))
        return df_fail_prefix(err, "%s", cfg->source);
    spec.in_channels = s->input.channels;
    plan_memory(s, &spec);
    s->model = df_model_build(&spec, cfg->train.batch_size, (uint64_t)cfg->run.seed, err);
    if (!s->model && spec.memory_limit && strstr(err->msg, "of memory for batches"))
        return df_fail_prefix(err, "%s: the run does not fit in memory (train.batch_size, data.image_size, "
                              "model.widths and model.depth size the model, data.workers the loaders)", cfg->source);
    if (!s->model) return df_fail_prefix(err, "%s", cfg->source);
    if (!quiet) df_graph_summary(s->model->g, stdout);
    return 0;
}

/* Training only: pretrained weights, the optimizer and the training loader. */
static int prepare_training(df_session *s, int quiet, df_error *err) {
    const df_run_config *cfg = s->cfg;
    s->pretrained = df_calloc((size_t)s->model->g->n_tensors + 1, 1);
    if (*cfg->model.pretrained) {
        int n;
        if (df_pretrained_load(s->model->g, cfg->model.pretrained, cfg->model.pretrained_format,
                               (const char *const *)cfg->model.pretrained_include, cfg->model.n_pretrained_include,
                               s->pretrained, &n, err)) {
            /* the shapes alone do not say that the input channels are what differs */
            if (s->input.channels == 1 && strstr(err->msg, " but the model's ")) {
                char was[sizeof err->msg];
                snprintf(was, sizeof was, "%s", err->msg);
                df_fail(err, "%s; the model's image input has 1 channel (data.channels), weights made for RGB need "
                        "data.channels: 3", was);
            }
            return -1;
        }
        if (!quiet) printf("initialised %d tensors from %s\n", n, cfg->model.pretrained);
    }
    df_optim_config oc = df_optim_defaults(cfg->train.optimizer);
    oc.lr = (float)cfg->train.lr;
    oc.momentum = (float)cfg->train.momentum;
    oc.nesterov = cfg->train.nesterov;
    oc.weight_decay = (float)cfg->train.weight_decay;
    oc.beta1 = (float)cfg->train.beta1;
    oc.beta2 = (float)cfg->train.beta2;
    oc.eps = (float)cfg->train.eps;
    if (cfg->train.decay_all)
        for (int i = 0; i < s->model->g->n_tensors; i++)
            s->model->g->tensors[i].decay = s->model->g->tensors[i].kind == DF_PARAM;
    if (!(s->optim = df_optim_new(s->model->g, &oc, err))) return df_fail_prefix(err, "%s: train", cfg->source);
    const df_dist *d = df_dist_training();
    if (cfg->train.sync_bn && df_dist_size(d) > 1) s->model->g->dist = d;
    /* Rank 0 builds the image cache, the others then find it built instead of each decoding every image. */
    int later = df_dist_rank(d) > 0 && cfg->data.cache;
    if (later) df_dist_barrier(d);
    int rc = open_loader(s, DF_SPLIT_TRAIN, 1, &s->train, err);
    if (!later && cfg->data.cache && df_dist_size(d) > 1) df_dist_barrier(d);
    return rc;
}

int df_session_open(df_session *s, const df_run_config *cfg, df_fusion fusion, df_session_mode mode, int quiet,
                    df_error *err) {
    memset(s, 0, sizeof *s);
    s->cfg = cfg;
    s->fusion = fusion;
    s->mode = mode;
    s->dir = df_path_join(cfg->run.out_dir, cfg->run.name);
    int rc = df_run_data_load(cfg, fusion != DF_FUSION_META, NULL, &s->data, err);
    df_run_input_default(&s->input);
    if (rc == 0 && s->data.has_images) rc = df_run_input_resolve(cfg, &s->data, s->dir, quiet, &s->input, err);
    if (rc == 0) {
        df_run_data_fingerprint(&s->data, s->fingerprint);
        rc = build_model(s, quiet, err);
    }
    if (rc == 0 && mode == DF_SESSION_TRAIN) rc = prepare_training(s, quiet, err);
    if (rc == 0) {
        s->encoder_json = s->data.meta_dim ? df_meta_to_json(&s->data.enc) : NULL;
        s->classes_json = classes_json(&s->data);
        s->input_json = df_run_input_is_default(&s->input) ? NULL : df_run_input_json(&s->input);
    }
    if (rc) df_session_close(s);
    return rc;
}

void df_session_close(df_session *s) {
    df_loader_free(s->train);
    for (int i = 0; i < DF_N_SPLITS; i++) df_loader_free(s->eval[i]);
    df_optim_free(s->optim);
    df_model_free(s->model);
    df_run_data_free(&s->data);
    free(s->dir);
    free(s->encoder_json);
    free(s->classes_json);
    free(s->input_json);
    free(s->pretrained);
    memset(s, 0, sizeof *s);
}

df_loader *df_session_eval_loader(df_session *s, int split, df_error *err) {
    if (!s->data.ds[split]) { /* only validation can be absent (run_data.h) */
        df_fail(err, "%s: the run has no %s split (%s)", s->cfg->source, df_split_names[split],
                s->cfg->data.split == DF_SPLIT_PUBLISHED ? "data.valid_csv is empty" : "data.valid_fraction is 0");
        return NULL;
    }
    if (!s->eval[split] && open_loader(s, split, 0, &s->eval[split], err)) return NULL;
    return s->eval[split];
}

/* The weights, and the check that the checkpoint's model was fed the input this session feeds it: a model
 * trained on other channels fails on its first convolution's shape already, one trained with another
 * normalisation would give wrong answers without it. */
static int load_checked(df_session *s, const char *path, df_error *err) {
    df_checkpoint_info info;
    df_st_file *file;
    if (df_checkpoint_load(path, s->model->g, NULL, NULL, &info, &file, err)) return -1;
    df_run_input was;
    int rc = 0;
    if (!info.input_json) df_run_input_default(&was);
    else rc = df_run_input_parse(info.input_json, strlen(info.input_json), path, &was, err);
    if (rc == 0 && s->data.has_images && !df_run_input_same(&was, &s->input)) {
        char *now = df_run_input_json(&s->input), *then = df_run_input_json(&was);
        rc = df_fail(err, "%s: the model was trained on the image input %s, but %s gives it %s (data.channels, "
                     "data.normalize)", path, then, s->cfg->source, now);
        free(now);
        free(then);
    }
    df_checkpoint_close(file);
    return rc;
}

int df_session_load_weights(df_session *s, const char *checkpoint, df_error *err) {
    char *path = df_path_join(s->dir, checkpoint);
    struct stat st;
    int rc = stat(path, &st) != 0 && errno == ENOENT
                 ? df_fail(err, "no checkpoint at %s: train it first with `dermfuse train %s`", path, s->cfg->source)
                 : load_checked(s, path, err);
    free(path);
    return rc;
}

int df_session_predict(df_session *s, int split, int keep_features, df_predictions *out, df_error *err) {
    df_loader *l = df_session_eval_loader(s, split, err);
    return l ? df_predict_ranks(s->model, l, keep_features, out, err) : -1;
}

int df_session_open_trained(df_session *s, const df_run_config *cfg, df_fusion fusion, const char *checkpoint,
                            df_error *err) {
    if (df_session_open(s, cfg, fusion, DF_SESSION_INFER, 1, err)) return -1;
    if (df_session_load_weights(s, checkpoint, err) == 0) return 0;
    df_session_close(s);
    return -1;
}

void df_session_take_data(df_session *s, df_run_data *rd) {
    *rd = s->data;
    memset(&s->data, 0, sizeof s->data);
}
