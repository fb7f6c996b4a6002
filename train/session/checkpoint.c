/* checkpoint.c: see checkpoint.h. */
#include "train/session/checkpoint.h"

#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/io/json.h"
#include "core/limits.h"
#include "core/io/safetensors.h"

#define FORMAT "dermfuse.checkpoint.v1"

void df_checkpoint_arch_hash(const df_graph *g, char out[17]) {
    uint64_t h = 1469598103934665603ULL;
    for (int i = 0; i < g->n_tensors; i++) {
        const df_tensor_info *t = &g->tensors[i];
        for (const char *c = t->name; *c; c++) h = (h ^ (unsigned char)*c) * 1099511628211ULL;
        for (int d = 0; d < t->shape.rank; d++) h = (h ^ (uint64_t)t->shape.d[d]) * 1099511628211ULL;
        h = (h ^ (uint64_t)t->kind) * 1099511628211ULL;
    }
    snprintf(out, 17, "%016" PRIx64, h);
}

static void shape64(df_shape s, int64_t *out) {
    for (int d = 0; d < s.rank; d++) out[d] = s.d[d];
}

static const float *tensor_data(const df_graph *g, const df_tensor_info *t) {
    return (t->kind == DF_PARAM ? g->params : g->buffers) + t->offset;
}

static char *state_json(const df_graph *g, df_optim *o, const df_train_state *s) {
    df_json_writer w;
    df_json_writer_init(&w);
    char num[32];
    df_json_object_begin(&w);
    df_json_key(&w, "epoch"), df_json_int(&w, s->epoch);
    df_json_key(&w, "batch"), df_json_int(&w, s->batch);
    df_json_key(&w, "step"), df_json_int(&w, s->step);
    /* 64-bit counters as strings: JSON numbers are doubles for most readers. */
    snprintf(num, sizeof num, "%" PRIu64, s->dropout_step);
    df_json_key(&w, "dropout_step"), df_json_string(&w, num);
    snprintf(num, sizeof num, "%" PRIu64, s->seed);
    df_json_key(&w, "seed"), df_json_string(&w, num);
    df_json_key(&w, "best_metric"), df_json_double(&w, s->best_metric);
    df_json_key(&w, "best_epoch"), df_json_int(&w, s->best_epoch);
    df_json_key(&w, "bad_epochs"), df_json_int(&w, s->bad_epochs);
    df_json_key(&w, "finished"), df_json_bool(&w, s->finished);
    if (s->batch > 0) { /* at an epoch's end the sum is empty: such checkpoints keep the bytes they always had */
        df_json_key(&w, "epoch_loss_sum"), df_json_double(&w, s->epoch_loss_sum);
        df_json_key(&w, "epoch_loss_steps"), df_json_int(&w, s->epoch_loss_steps);
    }
    if (o) {
        df_json_key(&w, "optimizer"), df_json_string(&w, df_optim_kind_names[o->cfg.kind]);
        df_json_key(&w, "optim_step"), df_json_int(&w, df_optim_get_step(o));
        /* Per-tensor bias-correction counts differ from the global one only for tensors once frozen. */
        df_json_key(&w, "tensor_steps");
        df_json_object_begin(&w);
        for (int t = 0; t < g->n_tensors; t++)
            if (g->tensors[t].kind == DF_PARAM && df_optim_get_tensor_step(o, t) != df_optim_get_step(o)) {
                df_json_key(&w, g->tensors[t].name);
                df_json_int(&w, df_optim_get_tensor_step(o, t));
            }
        df_json_object_end(&w);
    }
    df_json_object_end(&w);
    char *text = df_strdup(w.text);
    df_json_writer_free(&w);
    return text;
}

int df_checkpoint_save(const char *path, const df_graph *g, df_optim *o, const df_train_state *s,
                       const df_checkpoint_info *info, df_error *err) {
    df_st_writer *w = df_st_writer_new();
    int rc = 0;
    char arch[17];
    df_checkpoint_arch_hash(g, arch);
    char *state = state_json(g, o, s);
    char names[2][DF_OPTIM_NAME_MAX];
    for (int t = 0; t < g->n_tensors && rc == 0; t++) {
        const df_tensor_info *ti = &g->tensors[t];
        int64_t shape[DF_MAX_RANK];
        shape64(ti->shape, shape);
        rc = df_st_add(w, ti->name, ti->shape.rank, shape, tensor_data(g, ti), err);
        for (int m = 0; o && rc == 0 && m < df_optim_n_moments(o); m++) {
            const float *moment = df_optim_moment(o, g, t, m);
            if (!moment) continue;
            if (df_optim_moment_name(g, t, m, names[m], sizeof names[m]))
                rc = df_fail(err, "tensor name '%s' too long for its optimizer moment", ti->name);
            else
                rc = df_st_add(w, names[m], ti->shape.rank, shape, moment, err);
        }
    }
    if (rc == 0) rc = df_st_add_meta(w, "df.format", FORMAT, err);
    if (rc == 0) rc = df_st_add_meta(w, "df.arch", arch, err);
    if (rc == 0) rc = df_st_add_meta(w, "df.state", state, err);
    if (rc == 0 && info && info->config_text) rc = df_st_add_meta(w, "df.config", info->config_text, err);
    if (rc == 0 && info && info->encoder_json) rc = df_st_add_meta(w, "df.encoder", info->encoder_json, err);
    if (rc == 0 && info && info->data_fingerprint) rc = df_st_add_meta(w, "df.data", info->data_fingerprint, err);
    if (rc == 0 && info && info->classes_json) rc = df_st_add_meta(w, "df.classes", info->classes_json, err);
    if (rc == 0 && info && info->input_json) rc = df_st_add_meta(w, "df.input", info->input_json, err);
    if (rc == 0) rc = df_st_write(w, path, err);
    free(state);
    df_st_writer_free(w);
    return rc;
}

/* Names the first tensor whose presence or shape differs, for the architecture-mismatch message. */
static void describe_difference(const df_st_file *f, const df_graph *g, char *buf, size_t size) {
    for (int t = 0; t < g->n_tensors; t++) {
        const df_tensor_info *ti = &g->tensors[t];
        const df_st_tensor *st = df_st_find(f, ti->name);
        char a[64], b[64];
        if (!st) {
            snprintf(buf, size, "this model has '%s' %s, the checkpoint does not", ti->name,
                     df_shape_str(ti->shape, a, sizeof a));
            return;
        }
        int64_t shape[DF_MAX_RANK];
        shape64(ti->shape, shape);
        int same = st->rank == ti->shape.rank;
        for (int d = 0; same && d < st->rank; d++) same = st->shape[d] == shape[d];
        if (!same) {
            snprintf(buf, size, "'%s' is %s in the checkpoint but %s in this model", ti->name,
                     df_st_shape_str(st->rank, st->shape, a, sizeof a), df_shape_str(ti->shape, b, sizeof b));
            return;
        }
    }
    for (int i = 0; i < df_st_count(f); i++) {
        const char *name = df_st_at(f, i)->name;
        if (strncmp(name, "optim.", 6) && df_graph_find_tensor(g, name) < 0) {
            snprintf(buf, size, "the checkpoint has '%s', this model does not", name);
            return;
        }
    }
    snprintf(buf, size, "the tensors are ordered differently");
}

static int json_int(const df_json *obj, const char *key, int64_t *out) {
    const df_json *v = df_json_get(obj, key);
    if (!v || v->type != DF_JSON_NUMBER || !v->is_integer) return -1;
    *out = v->integer;
    return 0;
}

static int json_u64_string(const df_json *obj, const char *key, uint64_t *out) {
    const df_json *v = df_json_get(obj, key);
    if (!v || v->type != DF_JSON_STRING) return -1;
    char *end;
    *out = strtoull(v->str, &end, 10);
    return *end || end == v->str ? -1 : 0;
}

/* The running loss of the epoch in progress: one step per batch done; absent (an older checkpoint), empty. */
static int parse_epoch_loss(const char *path, const df_json *r, df_train_state *s, df_error *err) {
    const df_json *sum = df_json_get(r, "epoch_loss_sum");
    int64_t steps = 0;
    s->epoch_loss_sum = 0;
    s->epoch_loss_steps = 0;
    if (!sum && !df_json_get(r, "epoch_loss_steps")) return 0;
    if (!sum || sum->type != DF_JSON_NUMBER || json_int(r, "epoch_loss_steps", &steps) || steps != s->batch)
        return df_fail(err, "%s: df.state epoch_loss_sum and epoch_loss_steps must be a number and the count of "
                       "batches done (%d)", path, s->batch);
    s->epoch_loss_sum = sum->number;
    s->epoch_loss_steps = (long)steps;
    return 0;
}

static int parse_state(const char *path, const char *text, df_graph *g, df_optim *o, df_train_state *s,
                       df_error *err) {
    df_json_doc *doc;
    if (df_json_parse(text, strlen(text), &doc, err)) return df_fail_prefix(err, "%s: df.state", path);
    const df_json *r = df_json_root(doc);
    int64_t epoch, batch, step, best_epoch, bad_epochs;
    const df_json *best = df_json_get(r, "best_metric"), *fin = df_json_get(r, "finished");
    int bad = json_int(r, "epoch", &epoch) || json_int(r, "batch", &batch) || json_int(r, "step", &step) ||
              json_int(r, "best_epoch", &best_epoch) || json_int(r, "bad_epochs", &bad_epochs) ||
              json_u64_string(r, "dropout_step", &s->dropout_step) || json_u64_string(r, "seed", &s->seed) ||
              !best || (best->type != DF_JSON_NUMBER && best->type != DF_JSON_NULL) || !fin ||
              fin->type != DF_JSON_BOOL;
    if (bad) {
        df_json_free(doc);
        return df_fail(err, "%s: df.state lacks a field or has one of the wrong type", path);
    }
    /* The state is checked before anything uses it: a checkpoint with a valid checksum may still be crafted
     * or written by a broken program, and an absurd epoch or step would make a resume run for ever or trip an
     * internal invariant. What needs the run's plan (batches per epoch) is checked by df_train_state_check. */
    const char *why = NULL;
    if (epoch < 0 || epoch > DF_LIMIT_CHECKPOINT_EPOCHS) why = "epoch is outside 0..checkpoint.epochs";
    else if (batch < 0 || batch > INT_MAX) why = "batch is negative or too large";
    else if (step < 0 || step > LONG_MAX / 2) why = "step is negative or too large";
    else if (best_epoch < -1 || best_epoch >= epoch) why = "best_epoch is not -1 or an epoch before the current one";
    /* best_epoch stays -1 after the first epoch in a run without validation (df_train_state_check) */
    else if (bad_epochs != (best_epoch >= 0 ? epoch - 1 - best_epoch : 0)) why = "bad_epochs does not count the "
                                                                               "epochs since best_epoch";
    else if (best_epoch >= 0 && !(best->type == DF_JSON_NUMBER && isfinite(best->number)))
        why = "best_metric is not a finite number although an epoch was validated";
    else if (fin->boolean && epoch == 0) why = "finished before its first epoch ended";
    if (why) {
        df_fail(err, "%s: df.state is inconsistent: %s (epoch %" PRId64 ", batch %" PRId64 ", step %" PRId64
                ", best_epoch %" PRId64 ", bad_epochs %" PRId64 "); the file is damaged or was not written by a "
                "dermfuse run", path, why, epoch, batch, step, best_epoch, bad_epochs);
        df_json_free(doc);
        return -1;
    }
    s->epoch = (int)epoch;
    s->batch = (int)batch;
    s->step = (long)step;
    s->best_metric = best->type == DF_JSON_NUMBER ? best->number : NAN;
    s->best_epoch = (int)best_epoch;
    s->bad_epochs = (int)bad_epochs;
    s->finished = fin->boolean;
    g->dropout_step = s->dropout_step;
    if (parse_epoch_loss(path, r, s, err)) {
        df_json_free(doc);
        return -1;
    }
    if (o) {
        const df_json *kind = df_json_get(r, "optimizer"), *steps = df_json_get(r, "tensor_steps");
        int64_t ostep;
        if (!kind || kind->type != DF_JSON_STRING || json_int(r, "optim_step", &ostep) || !steps ||
            steps->type != DF_JSON_OBJECT) {
            df_json_free(doc);
            return df_fail(err, "%s: holds no optimizer state", path);
        }
        if (strcmp(kind->str, df_optim_kind_names[o->cfg.kind])) {
            df_fail(err, "%s: the checkpoint's optimizer is %s, the config asks for %s", path, kind->str,
                    df_optim_kind_names[o->cfg.kind]);
            df_json_free(doc);
            return -1;
        }
        /* Every training step is one optimizer step; a tensor frozen for a while has taken fewer. */
        if (ostep != step) {
            df_fail(err, "%s: df.state is inconsistent: optim_step %" PRId64 " differs from step %" PRId64, path,
                    ostep, step);
            df_json_free(doc);
            return -1;
        }
        df_optim_set_step(o, (long)ostep);
        for (int i = 0; i < steps->count; i++) {
            int t = df_graph_find_tensor(g, steps->keys[i]);
            if (t < 0 || g->tensors[t].kind != DF_PARAM || steps->items[i].type != DF_JSON_NUMBER ||
                !steps->items[i].is_integer) {
                df_fail(err, "%s: df.state tensor_steps names '%s', which is not a parameter of this model", path,
                        steps->keys[i]);
                df_json_free(doc);
                return -1;
            }
            if (steps->items[i].integer < 0 || steps->items[i].integer > ostep) {
                df_fail(err, "%s: df.state is inconsistent: tensor_steps of '%s' is %" PRId64 ", outside 0..%" PRId64,
                        path, steps->keys[i], steps->items[i].integer, ostep);
                df_json_free(doc);
                return -1;
            }
            df_optim_set_tensor_step(o, t, (long)steps->items[i].integer);
        }
    }
    df_json_free(doc);
    return 0;
}

/* A loaded tensor must hold finite values, and a weight or buffer one of sane size: a checkpoint of NaNs or of
 * 1e30s would otherwise be trained on or evaluated without a word. */
static int check_values(const char *path, const char *name, const float *x, size_t n, int is_weight,
                        df_error *err) {
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]))
            return df_fail(err, "%s: tensor '%s' holds a non-finite value (%g at index %zu); the checkpoint is "
                           "damaged or comes from a diverged run", path, name, (double)x[i], i);
        if (is_weight && fabsf(x[i]) > DF_LIMIT_WEIGHT_MAGNITUDE)
            return df_fail(err, "%s: tensor '%s' holds %g at index %zu, beyond the limit of %g (checkpoint.weight); "
                           "the checkpoint is damaged or comes from a diverged run", path, name, (double)x[i], i,
                           DF_LIMIT_WEIGHT_MAGNITUDE);
    }
    return 0;
}

int df_train_state_check(const df_train_state *s, long batches_per_epoch, int validated, const char *path,
                         df_error *err) {
    if (validated && (s->best_epoch < 0) != (s->epoch == 0))
        return df_fail(err, "%s: df.state is inconsistent: best_epoch is %d after %d epochs of a run that validates "
                       "every epoch", path, s->best_epoch, s->epoch);
    if (!validated && s->best_epoch >= 0)
        return df_fail(err, "%s: df.state has best_epoch %d, but the run has no validation split to choose it", path,
                       s->best_epoch);
    if (s->batch > batches_per_epoch)
        return df_fail(err, "%s: df.state is at batch %d of an epoch, but an epoch of this run has %ld batches", path,
                       s->batch, batches_per_epoch);
    /* max_steps may end an epoch early, so steps can fall short of whole epochs, never exceed them. */
    if ((double)s->step > (double)s->epoch * (double)batches_per_epoch + s->batch)
        return df_fail(err, "%s: df.state has taken %ld steps, more than %d epochs of %ld batches and %d more allow",
                       path, s->step, s->epoch, batches_per_epoch, s->batch);
    return 0;
}

int df_checkpoint_load(const char *path, df_graph *g, df_optim *o, df_train_state *s, df_checkpoint_info *info,
                       df_st_file **file, df_error *err) {
    DF_ASSERT(!info || file); /* info's strings live in the open file */
    df_st_file *f;
    if (df_st_open(path, &f, err)) return -1;
    const char *format = df_st_meta(f, "df.format"), *arch = df_st_meta(f, "df.arch");
    if (!format || strcmp(format, FORMAT)) {
        df_fail(err, "%s: not a dermfuse checkpoint (df.format is %s, expected %s)", path,
                format ? format : "missing", FORMAT);
        df_st_close(f); /* only now: format points into the file */
        return -1;
    }
    char mine[17];
    df_checkpoint_arch_hash(g, mine);
    if (!arch || strcmp(arch, mine)) {
        char why[512];
        describe_difference(f, g, why, sizeof why);
        df_st_close(f);
        return df_fail(err, "%s: written for a different architecture: %s", path, why);
    }
    int rc = 0;
    for (int t = 0; t < g->n_tensors && rc == 0; t++) {
        const df_tensor_info *ti = &g->tensors[t];
        int64_t shape[DF_MAX_RANK];
        shape64(ti->shape, shape);
        size_t numel = df_shape_numel(ti->shape);
        rc = df_st_copy_into(f, ti->name, ti->shape.rank, shape, (float *)tensor_data(g, ti), err);
        if (rc == 0) rc = check_values(path, ti->name, tensor_data(g, ti), numel, 1, err);
        for (int m = 0; o && rc == 0 && m < df_optim_n_moments(o); m++) {
            float *moment = df_optim_moment(o, g, t, m);
            char name[DF_OPTIM_NAME_MAX];
            if (!moment || df_optim_moment_name(g, t, m, name, sizeof name)) continue;
            rc = df_st_copy_into(f, name, ti->shape.rank, shape, moment, err);
            if (rc == 0) rc = check_values(path, name, moment, numel, 0, err);
        }
    }
    df_train_state local;
    const char *state = df_st_meta(f, "df.state");
    if (rc == 0 && !state) rc = df_fail(err, "%s: no df.state metadata", path);
    if (rc == 0) rc = parse_state(path, state, g, o, s ? s : &local, err);
    if (rc == 0 && info) {
        info->config_text = df_st_meta(f, "df.config");
        info->encoder_json = df_st_meta(f, "df.encoder");
        info->data_fingerprint = df_st_meta(f, "df.data");
        info->classes_json = df_st_meta(f, "df.classes");
        info->input_json = df_st_meta(f, "df.input");
    }
    if (rc || !file) {
        df_st_close(f);
        if (file) *file = NULL;
    } else {
        *file = f;
    }
    return rc;
}

void df_checkpoint_close(df_st_file *file) {
    if (file) df_st_close(file);
}
