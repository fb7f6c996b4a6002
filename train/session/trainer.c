/* trainer.c: the epoch loop (see trainer.h). */
#include "train/session/trainer.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/loader.h"
#include "optim/schedule.h"
#include "train/session/checkpoint.h"
#include "train/session/evaluate.h"
#include "core/io/json.h"
#include "train/late/late_fusion.h"
#include "train/model/model_config.h"
#include "train/session/progress.h"
#include "train/model/pretrained.h"
#include "train/session/run_data.h"
#include "train/session/run_files.h"
#include "train/session/signals.h"
#include "train/model/step.h"

void df_run_dir(const df_run_config *cfg, char *buf, size_t size) {
    snprintf(buf, size, "%s/%s", cfg->run.out_dir, cfg->run.name);
}

/* Everything one training run holds while it runs. */
typedef struct {
    const df_run_config *cfg;
    char dir[4096];
    df_run_data data;
    float class_weights[DF_MAX_CLASSES];
    df_model *model;
    df_optim *optim;
    df_schedule sched;
    df_loader *train, *valid, *test;
    df_train_state state;
    char fingerprint[17];
    char *encoder_json, *classes_json;
    unsigned char *pretrained; /* per tensor: initialised from model.pretrained (frozen early on) */
} run;

static void run_free(run *r) {
    df_loader_free(r->train);
    df_loader_free(r->valid);
    df_loader_free(r->test);
    df_optim_free(r->optim);
    df_model_free(r->model);
    df_run_data_free(&r->data);
    free(r->encoder_json);
    free(r->classes_json);
    free(r->pretrained);
}

static int make_loader(run *r, int split, int training, df_loader **out, df_error *err) {
    const df_run_config *cfg = r->cfg;
    df_loader_opts o;
    df_loader_defaults(&o, cfg->data.image_size, cfg->data.image_size);
    o.batch_size = cfg->train.batch_size;
    o.n_workers = cfg->data.workers;
    o.shuffle = training;
    o.drop_last = 0;
    o.load_images = r->model->image[0] >= 0;
    o.use_cache = cfg->data.cache;
    char cache_dir[4200];
    snprintf(cache_dir, sizeof cache_dir, "%s/cache", cfg->run.out_dir);
    o.cache_dir = cache_dir;
    o.seed = (uint64_t)cfg->run.seed;
    o.aug.train = training;
    if (training) {
        o.aug.hflip = cfg->data.hflip;
        o.aug.vflip = cfg->data.vflip;
        o.aug.rot90 = cfg->data.rot90;
        o.aug.scale_min = (float)cfg->data.crop_scale_min;
        o.aug.brightness = o.aug.contrast = o.aug.saturation = (float)cfg->data.jitter;
    }
    if (o.use_cache && o.load_images && df_make_dirs(cache_dir, err)) return -1;
    return df_loader_create(r->data.ds[split], r->data.idx[split], r->data.n[split], r->data.meta[split],
                            r->data.meta_dim, &o, out, err);
}

static int setup(run *r, const df_run_config *cfg, df_fusion fusion, const df_train_opts *opts, df_error *err) {
    memset(r, 0, sizeof *r);
    r->cfg = cfg;
    df_run_dir(cfg, r->dir, sizeof r->dir);
    int with_images = fusion != DF_FUSION_META;
    if (df_run_data_load(cfg, with_images, NULL, &r->data, err)) return -1;
    df_run_data_fingerprint(&r->data, r->fingerprint);
    int K = r->data.n_classes;
    const float *weights = NULL;
    if (strcmp(cfg->train.class_weights, "balanced") == 0) {
        df_run_data_balanced_weights(&r->data, r->class_weights);
        weights = r->class_weights;
    }
    df_model_spec spec;
    if (df_model_spec_from_config(cfg, fusion, K, r->data.n_views, fusion == DF_FUSION_IMAGE ? 0 : r->data.meta_dim,
                                  weights, &spec, err))
        return df_fail_prefix(err, "%s", cfg->source);
    r->model = df_model_build(&spec, cfg->train.batch_size, (uint64_t)cfg->run.seed, err);
    if (!r->model) return df_fail_prefix(err, "%s", cfg->source);
    if (!opts->quiet) df_graph_summary(r->model->g, stdout);
    r->pretrained = df_calloc((size_t)r->model->g->n_tensors + 1, 1);
    if (*cfg->model.pretrained) {
        int n;
        if (df_pretrained_load(r->model->g, cfg->model.pretrained, cfg->model.pretrained_format,
                               (const char *const *)cfg->model.pretrained_include, cfg->model.n_pretrained_include,
                               r->pretrained, &n, err))
            return -1;
        if (!opts->quiet) printf("initialised %d tensors from %s\n", n, cfg->model.pretrained);
    }

    df_optim_config oc;
    df_optim_kind kind;
    if (df_optim_kind_parse(cfg->train.optimizer, &kind, err)) return -1;
    oc = df_optim_defaults(kind);
    oc.lr = (float)cfg->train.lr;
    oc.momentum = (float)cfg->train.momentum;
    oc.nesterov = cfg->train.nesterov;
    oc.weight_decay = (float)cfg->train.weight_decay;
    if (!(r->optim = df_optim_new(r->model->g, &oc, err))) return df_fail_prefix(err, "%s: train", cfg->source);

    if (make_loader(r, DF_SPLIT_TRAIN, 1, &r->train, err) || make_loader(r, DF_SPLIT_VALID, 0, &r->valid, err) ||
        make_loader(r, DF_SPLIT_TEST, 0, &r->test, err))
        return -1;
    long per_epoch = df_loader_batches_per_epoch(r->train);
    df_schedule_kind sk;
    if (df_schedule_kind_parse(cfg->train.schedule, &sk, err)) return -1;
    r->sched = df_schedule_defaults(sk, (float)cfg->train.lr);
    r->sched.warmup_steps = (long)(cfg->train.warmup_epochs * (double)per_epoch);
    r->sched.min_lr = (float)cfg->train.min_lr;
    r->sched.gamma = (float)cfg->train.gamma;
    r->sched.step_epochs = cfg->train.step_epochs;
    r->sched.total_steps = per_epoch * cfg->train.epochs;
    if (df_schedule_check(&r->sched, err)) return df_fail_prefix(err, "%s: train", cfg->source);

    r->encoder_json = r->data.meta_dim ? df_meta_to_json(&r->data.enc) : NULL;
    df_json_writer w;
    df_json_writer_init(&w);
    df_json_array_begin(&w);
    for (int k = 0; k < K; k++) df_json_string(&w, r->data.ds[DF_SPLIT_TRAIN]->class_names[k]);
    df_json_array_end(&w);
    r->classes_json = df_strdup(w.text);
    df_json_writer_free(&w);

    r->state = (df_train_state){0, 0, 0, 0, (uint64_t)cfg->run.seed, NAN, -1, 0, 0};
    return 0;
}

static int save(run *r, const char *file, df_error *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", r->dir, file);
    r->state.dropout_step = r->model->g->dropout_step;
    df_checkpoint_info info = {r->cfg->text, r->encoder_json, r->fingerprint, r->classes_json};
    return df_checkpoint_save(path, r->model->g, r->optim, &r->state, &info, err);
}

static int resume(run *r, df_error *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/last.safetensors", r->dir);
    df_checkpoint_info info;
    df_st_file *f;
    if (df_checkpoint_load(path, r->model->g, r->optim, &r->state, &info, &f, err)) return -1;
    int rc = 0;
    if (!info.data_fingerprint || strcmp(info.data_fingerprint, r->fingerprint))
        rc = df_fail(err, "%s: the training data differ from those the run started with (fingerprint %s, now %s)",
                     path, info.data_fingerprint ? info.data_fingerprint : "missing", r->fingerprint);
    df_checkpoint_close(f);
    return rc;
}

static int validate_epoch(run *r, df_metrics *m, double *loss, df_error *err) {
    df_predictions p;
    if (df_predict_split(r->model, r->valid, 0, &p, err)) return -1;
    int rc = df_predictions_metrics(&p, m, err);
    *loss = p.loss;
    df_predictions_free(&p);
    return rc;
}

static int test_best(run *r, df_error *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/best.safetensors", r->dir);
    if (df_checkpoint_load(path, r->model->g, NULL, NULL, NULL, NULL, err)) return -1;
    df_predictions p;
    if (df_predict_split(r->model, r->test, 0, &p, err)) return -1;
    df_metrics m;
    int rc = df_predictions_metrics(&p, &m, err);
    if (rc == 0) rc = df_write_test_results(r->dir, &r->data, DF_SPLIT_TEST, &p, &m, err);
    if (rc == 0)
        printf("test (%d samples, best epoch %d): accuracy %.4f  AUC %.4f  balanced accuracy %.4f  F1 %.4f\n", p.n,
               r->state.best_epoch + 1, m.accuracy, m.auc, m.balanced_accuracy, m.f1);
    df_predictions_free(&p);
    return rc;
}

/* One epoch from the state's batch on. Returns 1 if stopped by a signal, 0 at its end, -1 on error. */
static int train_epoch(run *r, df_progress *prog, const df_train_opts *opts, long *steps_here, double *loss_sum,
                       int *loss_count, df_error *err) {
    const df_run_config *cfg = r->cfg;
    long per_epoch = df_loader_batches_per_epoch(r->train);
    /* Pretrained tensors stay frozen for the first freeze_epochs epochs (batch norm statistics still adapt). */
    for (int t = 0; t < r->model->g->n_tensors; t++)
        r->model->g->tensors[t].frozen = r->pretrained[t] && r->state.epoch < cfg->model.freeze_epochs;
    df_loader_start_epoch(r->train, r->state.epoch, r->state.batch);
    const df_batch *b;
    int rc;
    while ((rc = df_loader_next(r->train, &b, err)) == 1) {
        df_model_feed(r->model, b);
        float lr = df_schedule_lr(&r->sched, r->state.step, per_epoch);
        df_step_result res = df_train_step(r->model->g, r->model->loss, r->optim, lr, (float)cfg->train.clip_norm);
        if (!res.finite) {
            const char *where = res.bad_tensor >= 0 ? r->model->g->tensors[res.bad_tensor].name : "the loss";
            return df_fail(err, "non-finite values at epoch %d, step %ld: first in %s (loss %g). The last good "
                           "checkpoint is %s/last.safetensors; try a lower learning rate or gradient clipping",
                           r->state.epoch + 1, r->state.step + 1, where, res.loss, r->dir);
        }
        r->state.step++;
        r->state.batch++;
        (*steps_here)++;
        *loss_sum += res.loss;
        (*loss_count)++;
        df_progress_step(prog, r->state.epoch, cfg->train.epochs, r->state.step - 1, res.loss, b->n);
        int stop = df_signals_stop_requested() || (opts->stop_after_steps && *steps_here >= opts->stop_after_steps);
        int every = cfg->train.checkpoint_every && r->state.step % cfg->train.checkpoint_every == 0;
        if ((stop || every) && save(r, "last.safetensors", err)) return -1;
        if (stop) return 1;
        if (cfg->train.max_steps && r->state.step >= cfg->train.max_steps) return 0;
    }
    return rc < 0 ? -1 : 0;
}

static int train_model(const df_run_config *cfg, df_fusion fusion, const df_train_opts *opts, int *stopped,
                       df_error *err) {
    run r;
    int rc = setup(&r, cfg, fusion, opts, err);
    if (rc == 0 && df_run_files_begin(r.dir, opts->resume, err)) rc = -1;
    if (rc == 0 && opts->resume) {
        char last[4200];
        snprintf(last, sizeof last, "%s/last.safetensors", r.dir);
        struct stat st;
        if (stat(last, &st) == 0) rc = resume(&r, err);
    }
    if (rc == 0 && r.state.finished) {
        printf("%s: the run is already finished (epoch %d); nothing to do\n", r.dir, r.state.epoch);
        run_free(&r);
        return 0;
    }
    if (rc == 0) rc = df_run_files_start(r.dir, cfg, r.state.epoch, err);
    df_progress prog;
    long per_epoch = rc == 0 ? df_loader_batches_per_epoch(r.train) : 0;
    long total = per_epoch * cfg->train.epochs;
    if (cfg->train.max_steps && cfg->train.max_steps < total) total = cfg->train.max_steps;
    df_progress_init(&prog, stdout, total, r.state.step);
    long steps_here = 0;
    while (rc == 0 && r.state.epoch < cfg->train.epochs) {
        double t0 = df_now(), loss_sum = 0;
        int loss_count = 0;
        int s = train_epoch(&r, &prog, opts, &steps_here, &loss_sum, &loss_count, err);
        if (s < 0) {
            rc = -1;
            break;
        }
        if (s == 1) {
            df_progress_break(&prog);
            printf("stopped at epoch %d, step %ld; state saved in %s/last.safetensors (resume with --resume)\n",
                   r.state.epoch + 1, r.state.step, r.dir);
            if (stopped) *stopped = 1;
            break;
        }
        df_progress_break(&prog);
        int capped = cfg->train.max_steps && r.state.step >= cfg->train.max_steps;
        df_metrics m;
        double vloss;
        if (validate_epoch(&r, &m, &vloss, err)) {
            rc = -1;
            break;
        }
        double score = df_metric_by_name(&m, vloss, cfg->train.monitor);
        int improved = r.state.best_epoch < 0 || score > r.state.best_metric;
        if (improved) {
            r.state.best_metric = score;
            r.state.best_epoch = r.state.epoch;
            r.state.bad_epochs = 0;
        } else {
            r.state.bad_epochs++;
        }
        df_epoch_log log = {r.state.epoch, r.state.step, loss_count ? loss_sum / loss_count : NAN, vloss,
                            df_schedule_lr(&r.sched, r.state.step > 0 ? r.state.step - 1 : 0, per_epoch),
                            df_progress_images_per_second(&prog), df_now() - t0, improved};
        printf("epoch %d/%d: train loss %.4f  valid loss %.4f  accuracy %.4f  AUC %.4f  %s %.4f%s\n",
               r.state.epoch + 1, cfg->train.epochs, log.train_loss, vloss, m.accuracy, m.auc, cfg->train.monitor,
               fabs(score), improved ? "  (best)" : "");
        if (df_run_files_log_epoch(r.dir, &log, &m, err)) {
            rc = -1;
            break;
        }
        r.state.epoch++;
        r.state.batch = 0;
        int early = cfg->train.patience && r.state.bad_epochs >= cfg->train.patience;
        if (early) printf("no improvement for %d epochs: stopping early\n", r.state.bad_epochs);
        if (early || capped || r.state.epoch == cfg->train.epochs) r.state.finished = 1;
        /* best before last: a crash between the two leaves a last checkpoint that re-validates this epoch. */
        if (improved && save(&r, "best.safetensors", err)) {
            rc = -1;
            break;
        }
        if (save(&r, "last.safetensors", err)) {
            rc = -1;
            break;
        }
        if (r.state.finished) break;
    }
    if (rc == 0 && r.state.finished && r.state.best_epoch >= 0) rc = test_best(&r, err);
    run_free(&r);
    return rc;
}

int df_train_run(const df_run_config *cfg, const df_train_opts *opts, int *stopped, df_error *err) {
    if (stopped) *stopped = 0;
    if (cfg->run.threads > 0) omp_set_num_threads(cfg->run.threads);
    df_signals_install();
    if (strcmp(cfg->model.fusion, "late") == 0) return df_train_late(cfg, opts, stopped, err);
    df_fusion fusion;
    if (df_fusion_parse(cfg->model.fusion, &fusion))
        return df_fail(err, "%s: model.fusion '%s' is not a fusion mode", cfg->source, cfg->model.fusion);
    return train_model(cfg, fusion, opts, stopped, err);
}

int df_train_single(const df_run_config *cfg, df_fusion fusion, const df_train_opts *opts, int *stopped,
                    df_error *err) {
    return train_model(cfg, fusion, opts, stopped, err);
}

int df_predict_run(const df_run_config *cfg, df_fusion fusion, const char *checkpoint, const int *splits, int n,
                   int keep_features, df_predictions *out, df_run_data *rd, df_error *err) {
    run r;
    df_train_opts quiet = {0, 1, 0};
    int rc = setup(&r, cfg, fusion, &quiet, err);
    char path[4300];
    snprintf(path, sizeof path, "%s/%s", r.dir, checkpoint);
    if (rc == 0) rc = df_checkpoint_load(path, r.model->g, NULL, NULL, NULL, NULL, err);
    df_loader *loaders[DF_N_SPLITS] = {r.train, r.valid, r.test};
    /* The training loader shuffles; predictions over the training split use an evaluation loader. */
    df_loader *train_eval = NULL;
    for (int i = 0; rc == 0 && i < n; i++) {
        df_loader *l = loaders[splits[i]];
        if (splits[i] == DF_SPLIT_TRAIN) {
            if (!train_eval && make_loader(&r, DF_SPLIT_TRAIN, 0, &train_eval, err)) {
                rc = -1;
                break;
            }
            l = train_eval;
        }
        rc = df_predict_split(r.model, l, keep_features, &out[i], err);
    }
    df_loader_free(train_eval);
    if (rc == 0 && rd) {
        *rd = r.data; /* handed over */
        memset(&r.data, 0, sizeof r.data);
    }
    run_free(&r);
    return rc;
}
