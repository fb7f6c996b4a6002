/* trainer.c: the epoch loop over a training session (see trainer.h). */
#include "train/session/trainer.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/dist/dist.h"
#include "data/loader.h"
#include "optim/schedule.h"
#include "train/config/config_schema.h"
#include "train/session/checkpoint.h"
#include "train/session/meta_dropout.h"
#include "train/session/precise_bn.h"
#include "train/session/session.h"
#include "core/io/json.h"
#include "train/session/progress.h"
#include "train/session/rank_check.h"
#include "train/session/run_data.h"
#include "train/session/run_files.h"
#include "train/session/run_input.h"
#include "train/session/signals.h"
#include "train/model/step.h"

/* Data-parallel: every rank of df_dist_training() runs this loop over its part of each batch and takes the same
 * steps (step.h); rank 0 alone writes the run's files (logs, checkpoints, results, report) and holds its lock,
 * while every rank reads the checkpoint it resumes from. */
static int is_root(void) { return df_dist_rank(df_dist_training()) == 0; }

/* What the epoch loop holds beside its session. */
typedef struct {
    df_session *s;
    df_schedule sched;
    df_train_state state;
    df_meta_dropout meta_drop; /* train.meta_dropout */
    long bn_step;              /* the step whose weights the batch-norm statistics were recomputed for; -1: none */
} run;

/* train.precise_bn: the running statistics of the weights as they are, recomputed once per step whatever reads
 * them first (an evaluation or a checkpoint); precise_bn.h says why resume stays exact. */
static int refresh_bn(run *r, df_error *err) {
    if (!r->s->cfg->train.precise_bn || r->bn_step == r->state.step) return 0;
    r->bn_step = r->state.step;
    return df_session_precise_bn(r->s, r->s->cfg->train.precise_bn, err);
}

static int make_schedule(run *r, df_error *err) {
    const df_run_config *cfg = r->s->cfg;
    long per_epoch = df_loader_batches_per_epoch(r->s->train);
    r->sched = df_schedule_defaults(cfg->train.schedule, (float)cfg->train.lr);
    r->sched.warmup_steps = (long)(cfg->train.warmup_epochs * (double)per_epoch);
    r->sched.min_lr = (float)cfg->train.min_lr;
    r->sched.gamma = (float)cfg->train.gamma;
    r->sched.step_epochs = cfg->train.step_epochs;
    _Static_assert(DF_CFG_LIST_MAX <= DF_SCHED_MAX_MILESTONES, "every train.milestones list fits the schedule");
    r->sched.n_milestones = cfg->train.n_milestones;
    for (int i = 0; i < cfg->train.n_milestones; i++) r->sched.milestones[i] = (int)cfg->train.milestones[i];
    r->sched.total_steps = per_epoch * cfg->train.epochs;
    if (df_schedule_check(&r->sched, err)) return df_fail_prefix(err, "%s: train", cfg->source);
    r->state = (df_train_state){.seed = (uint64_t)cfg->run.seed, .best_metric = NAN, .best_epoch = -1};
    return 0;
}

/* Steps of the whole run: epochs x batches, or max_steps when that comes first. */
static long total_steps(const run *r) {
    const df_run_config *cfg = r->s->cfg;
    long total = df_loader_batches_per_epoch(r->s->train) * cfg->train.epochs;
    return cfg->train.max_steps && cfg->train.max_steps < total ? cfg->train.max_steps : total;
}

static int save(run *r, const char *file, df_error *err) {
    df_session *s = r->s;
    if (refresh_bn(r, err)) return -1; /* collective: before the ranks part */
    if (!is_root()) return 0;
    char *path = df_path_join(s->dir, file);
    r->state.dropout_step = s->model->g->dropout_step;
    df_checkpoint_info info = {s->cfg->text, s->encoder_json, s->fingerprint, s->classes_json, s->input_json};
    int rc = df_checkpoint_save(path, s->model->g, s->optim, &r->state, &info, err);
    free(path);
    return rc;
}

/* Keys that may differ between a run's saved config and the config it is resumed with: more (or fewer) epochs
 * or steps extend (or end) the run; the others change where files are or how fast it runs, not its result
 * (the data's fingerprint is checked on its own). */
static const char *const resume_free_keys[] = {"train.epochs", "train.max_steps", "train.checkpoint_every",
                                               "run.name", "run.out_dir", "run.threads", "data.workers",
                                               "data.train_csv", "data.valid_csv", "data.test_csv", "data.root",
                                               "data.image_dir", NULL};

/* A value as the config shows it: a scalar's text, a list's items in brackets. */
static void value_text(const df_cfg_node *n, char *buf, size_t size) {
    if (!n) {
        snprintf(buf, size, "(absent)");
    } else if (n->kind == DF_CFG_NODE_SCALAR) {
        snprintf(buf, size, "%s", n->text);
    } else {
        size_t len = (size_t)snprintf(buf, size, "[");
        for (int i = 0; i < n->n && len < size; i++)
            len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? ", " : "", n->items[i]->text);
        if (len < size) snprintf(buf + len, size - len, "]");
    }
}

/* The saved config (was) against this one (now): 0 when they differ in resume_free_keys only; otherwise an
 * error naming the first key that differs, with both values. */
static int changed_key(const char *was, const char *now, const char *path, df_error *err) {
    df_cfg_node *a = NULL, *b = NULL;
    char where[256];
    int rc = df_cfg_parse_string(was, path, 0, "/", &a, err) || df_cfg_parse_string(now, path, 0, "/", &b, err)
                 ? -1 : 0;
    if (rc == 0 && df_cfg_tree_diff(a, b, resume_free_keys, where, sizeof where)) {
        where[strcspn(where, "[")] = '\0'; /* a list's item: the whole list */
        const char *dot = strrchr(where, '.'), *key = dot ? dot + 1 : where;
        char section[256], v_was[256], v_now[256];
        snprintf(section, sizeof section, "%.*s", dot ? (int)(dot - where) : 0, where);
        value_text(df_cfg_find(a, where), v_was, sizeof v_was);
        value_text(df_cfg_find(b, where), v_now, sizeof v_now);
        rc = df_fail(err, "%s: the run was started with '%s: %s' (%s), now '%s: %s'; only train.epochs and "
                     "train.max_steps (to extend or end a run), paths and thread counts may change on resume", path,
                     key, v_was, section, key, v_now);
    }
    df_cfg_free(a);
    df_cfg_free(b);
    return rc;
}

/* Whether <dir> holds a checkpoint to resume; otherwise an error saying so. */
int df_train_check_resumable(const char *dir, df_error *err) {
    char *path = df_path_join(dir, "last.safetensors");
    struct stat st;
    int rc = stat(path, &st) == 0 ? 0
                                   : df_fail(err, "nothing to resume in %s: no last.safetensors; start it without "
                                             "--resume", dir);
    free(path);
    return rc;
}

/* Continues from <run dir>/last.safetensors when it exists (a run stopped before its first checkpoint
 * starts again from the beginning; `dermfuse train --resume` refuses that case before). The config may differ
 * from the saved one in resume_free_keys only; a run finished at its last epoch goes on when epochs (or
 * max_steps) grew. */
static int resume(run *r, df_error *err) {
    df_session *s = r->s;
    const df_run_config *cfg = s->cfg;
    char *path = df_path_join(s->dir, "last.safetensors");
    struct stat st;
    int rc = 0;
    if (stat(path, &st) == 0) {
        df_checkpoint_info info;
        df_st_file *f;
        rc = df_checkpoint_load(path, s->model->g, s->optim, &r->state, &info, &f, err);
        if (rc == 0) {
            if (!info.data_fingerprint || strcmp(info.data_fingerprint, s->fingerprint))
                rc = df_fail(err, "%s: the training data differ from those the run started with (fingerprint %s, "
                             "now %s)", path, info.data_fingerprint ? info.data_fingerprint : "missing", s->fingerprint);
            else if (info.config_text)
                rc = changed_key(info.config_text, cfg->text, path, err);
            df_checkpoint_close(f);
        }
        df_train_state *t = &r->state;
        if (rc == 0)
            rc = df_train_state_check(t, df_loader_batches_per_epoch(s->train), s->data.ds[DF_SPLIT_VALID] != NULL,
                                      path, err);
        if (rc == 0 && !t->finished && t->epoch >= cfg->train.epochs)
            rc = df_fail(err, "%s: the run has done %d epochs and train.epochs is %d: set train.epochs above %d to "
                         "go on", path, t->epoch, cfg->train.epochs, t->epoch);
        int early = cfg->train.patience && t->bad_epochs >= cfg->train.patience;
        int capped = cfg->train.max_steps && t->step >= cfg->train.max_steps;
        if (rc == 0 && t->finished && t->epoch < cfg->train.epochs && !early && !capped) t->finished = 0;
        if (rc == 0 && !t->finished)
            printf("resuming %s at epoch %d, step %ld of %ld\n", s->dir, t->epoch + 1, t->step, total_steps(r));
    }
    free(path);
    return rc;
}

static int validate_epoch(run *r, df_metrics *m, double *loss, df_error *err) {
    df_predictions p;
    if (df_session_predict(r->s, DF_SPLIT_VALID, 0, &p, err)) return -1;
    int rc = df_predictions_metrics(&p, m, err);
    *loss = p.loss;
    df_predictions_free(&p);
    return rc;
}

/* The test split evaluated with train.test_checkpoint's weights; test_metrics.json says which checkpoint and
 * the epoch (1-based) whose end it holds. */
static int test_checkpoint(run *r, df_error *err) {
    df_session *s = r->s;
    int last = s->cfg->train.test_checkpoint == DF_TEST_LAST;
    int epoch = last ? r->state.epoch : r->state.best_epoch + 1;
    if (df_dist_size(df_dist_training()) > 1) df_dist_barrier(df_dist_training()); /* rank 0's checkpoint is whole */
    if (df_session_load_weights(s, df_test_checkpoint_file(s->cfg), err)) return -1;
    df_predictions p;
    if (df_session_predict(s, DF_SPLIT_TEST, 0, &p, err)) return -1;
    df_metrics m;
    char extra[96];
    snprintf(extra, sizeof extra, "\"checkpoint\":\"%s\",\"epoch\":%d", last ? "last" : "best", epoch);
    int rc = df_predictions_metrics(&p, &m, err);
    if (rc == 0 && is_root()) rc = df_write_test_results(s->dir, &s->data, DF_SPLIT_TEST, &p, &m, extra, err);
    /* Binary F1 and AUC are the second class's, so the line names it. */
    char positive[160] = "";
    if (p.K == 2) snprintf(positive, sizeof positive, ", positive class %s", s->data.ds[DF_SPLIT_TEST]->class_names[1]);
    if (rc == 0)
        printf("test (%d samples, %s checkpoint, epoch %d%s): accuracy %.4f  AUC %.4f  balanced accuracy %.4f  F1 "
               "%.4f\n", p.n, last ? "last" : "best", epoch, positive, m.accuracy, m.auc, m.balanced_accuracy, m.f1);
    df_predictions_free(&p);
    return rc;
}

/* One epoch from the state's batch on. Returns 1 if stopped by a signal, 0 at its end, -1 on error. */
static int train_epoch(run *r, df_progress *prog, const df_train_opts *opts, long *steps_here, long *images,
                       df_error *err) {
    df_session *s = r->s;
    const df_run_config *cfg = s->cfg;
    df_graph *g = s->model->g;
    long per_epoch = df_loader_batches_per_epoch(s->train);
    /* Pretrained tensors stay frozen for the first freeze_epochs epochs (batch norm statistics still adapt). */
    for (int t = 0; t < g->n_tensors; t++)
        g->tensors[t].frozen = s->pretrained[t] && r->state.epoch < cfg->model.freeze_epochs;
    df_loader_start_epoch(s->train, r->state.epoch, r->state.batch);
    const df_dist *ranks = df_dist_training();
    const df_batch *b;
    int rc;
    while ((rc = df_loader_next(s->train, &b, err)) == 1) {
        df_model_feed(s->model, b);
        df_meta_dropout_apply(&r->meta_drop, s->model, b, r->state.step);
        g->sample_offset = b->offset;
        float lr = df_schedule_lr(&r->sched, r->state.step, per_epoch);
        df_step_result res = df_train_step_ranks(g, s->model->loss, s->optim, lr, (float)cfg->train.clip_norm,
                                                 ranks);
        if (!res.finite) {
            const char *where = res.bad_tensor >= 0 ? g->tensors[res.bad_tensor].name : "the loss";
            return df_fail(err, "non-finite values at epoch %d, step %ld: first in %s (loss %g). The last good "
                           "checkpoint is %s/last.safetensors; try a lower learning rate or gradient clipping",
                           r->state.epoch + 1, r->state.step + 1, where, res.loss, s->dir);
        }
        r->state.step++;
        r->state.batch++;
        (*steps_here)++;
        r->state.epoch_loss_sum += res.loss; /* in the checkpoint: a resumed epoch's mean is the whole epoch's */
        r->state.epoch_loss_steps++;
        *images += b->total;
        df_progress_step(prog, r->state.epoch, cfg->train.epochs, r->state.step - 1, res.loss, b->total);
        int stop = df_signals_stop_requested() || (opts->stop_after_steps && *steps_here >= opts->stop_after_steps);
        if (df_dist_size(ranks) > 1) stop = (int)df_dist_max_long(ranks, stop); /* a signal reaches ranks apart */
        int every = cfg->train.checkpoint_every && r->state.step % cfg->train.checkpoint_every == 0;
        if ((stop || every) && save(r, "last.safetensors", err)) return -1;
        if (stop) return 1;
        if (cfg->train.max_steps && r->state.step >= cfg->train.max_steps) return 0;
    }
    return rc < 0 ? -1 : 0;
}

/* Validation, the log line and the checkpoints that close an epoch; ips is the epoch's training throughput.
 * Returns 1 when the run is finished. */
static int end_epoch(run *r, double ips, double t0, df_error *err) {
    df_session *s = r->s;
    const df_run_config *cfg = s->cfg;
    long per_epoch = df_loader_batches_per_epoch(s->train);
    int capped = cfg->train.max_steps && r->state.step >= cfg->train.max_steps;
    df_metrics m;
    double vloss = NAN, score = NAN;
    int validated = s->data.ds[DF_SPLIT_VALID] != NULL; /* without validation no epoch is best */
    if (refresh_bn(r, err)) return -1;
    if (validated) {
        if (validate_epoch(r, &m, &vloss, err)) return -1;
        score = df_metric_value(&m, vloss, cfg->train.monitor);
        if (isnan(score)) /* a best epoch chosen on NaN would be the first one, whatever followed */
            return df_fail(err, "epoch %d: the monitored validation metric %s is not a number; no best epoch can "
                           "be chosen on it", r->state.epoch + 1, df_metric_names[cfg->train.monitor]);
    }
    int improved = validated && (r->state.best_epoch < 0 || score > r->state.best_metric);
    if (improved) {
        r->state.best_metric = score;
        r->state.best_epoch = r->state.epoch;
        r->state.bad_epochs = 0;
    } else if (validated) {
        r->state.bad_epochs++;
    }
    long loss_steps = r->state.epoch_loss_steps;
    double train_loss = loss_steps ? r->state.epoch_loss_sum / (double)loss_steps : NAN;
    df_epoch_log log = {r->state.epoch, r->state.step, train_loss, vloss,
                        df_schedule_lr(&r->sched, r->state.step > 0 ? r->state.step - 1 : 0, per_epoch),
                        ips, df_now() - t0, improved};
    /* The monitored metric is shown apart only when it is neither of the two always shown. */
    char monitored[64] = "";
    if (cfg->train.monitor != DF_METRIC_AUC && cfg->train.monitor != DF_METRIC_ACCURACY)
        snprintf(monitored, sizeof monitored, "  %s %.4f", df_metric_names[cfg->train.monitor], fabs(score));
    if (validated)
        printf("epoch %d/%d: train loss %.4f  valid loss %.4f  accuracy %.4f  AUC %.4f%s%s\n", r->state.epoch + 1,
               cfg->train.epochs, log.train_loss, vloss, m.accuracy, m.auc, monitored, improved ? "  (best)" : "");
    else
        printf("epoch %d/%d: train loss %.4f  (no validation split)\n", r->state.epoch + 1, cfg->train.epochs,
               log.train_loss);
    if (is_root() && df_run_files_log_epoch(s->dir, &log, validated ? &m : NULL, err)) return -1;
    r->state.epoch++;
    r->state.batch = 0;
    r->state.epoch_loss_sum = 0;
    r->state.epoch_loss_steps = 0;
    int early = cfg->train.patience && r->state.bad_epochs >= cfg->train.patience;
    if (early) printf("no improvement for %d epochs: stopping early\n", r->state.bad_epochs);
    if (early || capped || r->state.epoch == cfg->train.epochs) r->state.finished = 1;
    /* best before last: a crash between the two leaves a last checkpoint that re-validates this epoch. */
    if (improved && save(r, "best.safetensors", err)) return -1;
    if (save(r, "last.safetensors", err)) return -1;
    return r->state.finished;
}

/* The epochs from the state on, then the test split once the run is finished. */
static int train_epochs(run *r, const df_train_opts *opts, int *stopped, df_error *err) {
    df_session *s = r->s;
    const df_run_config *cfg = s->cfg;
    int rc;
    df_progress prog;
    df_progress_init(&prog, stdout, total_steps(r), r->state.step);
    long steps_here = 0;
    while (r->state.epoch < cfg->train.epochs) {
        double t0 = df_now();
        long images = 0;
        int st = train_epoch(r, &prog, opts, &steps_here, &images, err);
        double trained = df_now() - t0;
        if (st < 0) return -1;
        df_progress_break(&prog);
        if (st == 1) {
            printf("stopped at epoch %d, step %ld; state saved in %s/last.safetensors (resume with --resume)\n",
                   r->state.epoch + 1, r->state.step, s->dir);
            if (stopped) *stopped = 1;
            return 0;
        }
        int done = end_epoch(r, trained > 0 ? (double)images / trained : 0.0, t0, err);
        if (done < 0) return -1;
        if (opts->after_epoch && is_root()) opts->after_epoch(s->dir, opts->after_epoch_ctx);
        if (done) break;
    }
    rc = r->state.finished ? test_checkpoint(r, err) : 0;
    if (rc == 0 && r->state.finished && opts->after_epoch && is_root()) opts->after_epoch(s->dir, opts->after_epoch_ctx);
    return rc;
}

/* The run, with its folder locked (df_train_session). */
static int train_locked(df_session *s, const df_train_opts *opts, int *stopped, df_error *err) {
    const df_run_config *cfg = s->cfg;
    run r = {.s = s, .bn_step = -1};
    int rc = make_schedule(&r, err);
    if (rc == 0 && is_root()) rc = df_run_files_sweep(s->dir, opts->resume, err);
    if (rc == 0 && opts->resume) rc = resume(&r, err);
    if (rc) return -1;
    if (r.state.finished) { /* finished only with its test results: a kill may have come between the two */
        int written = df_run_files_results_written(s->dir);
        char best[32] = "";
        if (r.state.best_epoch >= 0) snprintf(best, sizeof best, ", best epoch %d", r.state.best_epoch + 1);
        if (written)
            printf("%s: the run is already finished (after epoch %d of %d%s); nothing to do\n", s->dir,
                   r.state.epoch, cfg->train.epochs, best);
        else
            printf("%s: training finished (after epoch %d of %d%s) but the test results were not written; writing "
                   "them now (%s checkpoint)\n", s->dir, r.state.epoch, cfg->train.epochs, best,
                   df_test_checkpoint_names[cfg->train.test_checkpoint]);
        rc = written ? 0 : test_checkpoint(&r, err);
        /* the report too: its last rewrite may have been cut off */
        if (rc == 0 && opts->after_epoch && is_root()) opts->after_epoch(s->dir, opts->after_epoch_ctx);
        return rc;
    }
    if (is_root() && df_run_files_start(s->dir, cfg, r.state.epoch, err)) return -1;
    if (is_root() && s->data.has_images && !s->input.recorded && df_run_input_write(s->dir, &s->input, err))
        return -1;
    df_meta_dropout_init(&r.meta_drop, s);
    rc = train_epochs(&r, opts, stopped, err);
    df_meta_dropout_free(&r.meta_drop);
    return rc;
}


/* The run in its locked folder, once the ranks are known to agree. */
static int train_checked(df_session *s, const df_train_opts *opts, int *stopped, df_error *err) {
    DF_ASSERT(s->mode == DF_SESSION_TRAIN);
    if (stopped) *stopped = 0;
    int lock = -1;
    if (is_root() && df_run_files_lock(s->dir, &lock, err)) return -1;
    int rc = train_locked(s, opts, stopped, err);
    df_run_files_unlock(lock);
    return rc;
}

static int check_ranks(const df_run_config *cfg, const df_train_opts *opts, df_error *err) {
    return df_rank_check(cfg, opts->version ? opts->version : "", err);
}

int df_train_session(df_session *s, const df_train_opts *opts, int *stopped, df_error *err) {
    if (stopped) *stopped = 0;
    return check_ranks(s->cfg, opts, err) ? -1 : train_checked(s, opts, stopped, err);
}

void df_train_environment(const df_run_config *cfg) {
    if (cfg->run.threads > 0) omp_set_num_threads(cfg->run.threads);
    df_signals_install();
}

int df_train_run(const df_run_config *cfg, df_fusion fusion, const df_train_opts *opts, int *stopped,
                 df_error *err) {
    if (stopped) *stopped = 0;
    df_train_environment(cfg);
    /* before the session: opening it is collective too (the image cache), and ranks with other configs could
     * meet there in different collectives */
    if (check_ranks(cfg, opts, err)) return -1;
    df_session s;
    if (df_session_open(&s, cfg, fusion, DF_SESSION_TRAIN, opts->quiet, err)) return -1;
    int rc = train_checked(&s, opts, stopped, err);
    df_session_close(&s);
    return rc;
}
