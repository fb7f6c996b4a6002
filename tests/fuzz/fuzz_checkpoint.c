/* fuzz_checkpoint.c: a checkpoint loaded into a real model, as `dermfuse train --resume` and evaluation load
 * one (train/session/checkpoint.h).
 *
 * The model is a tiny intermediate-fusion network (one 2-channel VGG stage on 8x8 images, a 2-wide metadata
 * MLP, two classes) with an AdamW optimizer: parameters, batch-norm buffers and optimizer moments all occur.
 * Input: a whole checkpoint file. For each input, df_checkpoint_load with the optimizer and the training
 * state (resume) and, separately, weights only (evaluation). After a resume load succeeds, what resume does
 * next with the file's metadata: the saved config is parsed and compared with this run's config (the keys a
 * resume may change skipped), and the metadata encoder is restored; a restored encoder must write back the
 * JSON it would restore from again (to_json(from_json(x)) is a fixed point).
 *
 * The custom mutator (fuzz_st.h) keeps the header length and the df.checksum consistent, so mutations reach
 * the architecture check, the per-tensor copies and the df.state parser; it also edits df.state's fields
 * (epochs, steps, counters, optimizer, per-tensor steps) and the other metadata directly.
 *
 * Seeds: with DF_FUZZ_WRITE_SEEDS=<folder> set, initialisation writes valid checkpoints of this model there
 * (tests/fuzz/corpus/fuzz_checkpoint holds them). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/table/meta.h"
#include "fuzz_st.h"
#include "fuzz_util.h"
#include "train/config/config_schema.h"
#include "train/config/config_tree.h"
#include "train/config/run_config.h"
#include "train/model/model.h"
#include "train/session/checkpoint.h"

static df_model *model;
static df_optim *optim;
static char *config_text;       /* this run's resolved config */
static df_cfg_node *config_now; /* ... parsed, as resume parses it */

/* As resume allows (train/session/trainer.c). */
static const char *const resume_free_keys[] = {"train.epochs", "train.max_steps", "train.checkpoint_every",
                                               "run.name", "run.out_dir", "run.threads", "data.workers",
                                               "data.train_csv", "data.valid_csv", "data.test_csv", "data.root",
                                               "data.image_dir", NULL};

static const char encoder_json[] =
    "{\"format\":\"dermfuse-meta/1\",\"dim\":5,\"features\":[{\"column\":\"age\",\"kind\":\"numeric\","
    "\"mean\":51.9000015,\"sd\":16.2000008},{\"column\":\"sex\",\"kind\":\"categorical\","
    "\"values\":[\"female\",\"male\"]}]}";

static void die(const char *what, const df_error *err) { fuzz_fail("%s: %s", what, err->msg); }

static void make_config_text(void) {
    static const char yaml[] =
        "run: {name: fuzz}\n"
        "data: {layout: csv, split: holdout, train_csv: cfg.yaml, image_dir: ., image_size: 8, numeric: [age],\n"
        "       categorical: [sex]}\n"
        "model: {fusion: intermediate, widths: [2], depth: [1], meta_hidden: [2]}\n";
    const char *path = fuzz_write("cfg.yaml", yaml, strlen(yaml));
    df_run_config cfg;
    df_error err;
    if (df_run_config_load(path, NULL, 0, &cfg, &err)) die("the harness's config", &err);
    config_text = strdup(cfg.text);
    df_run_config_free(&cfg);
    if (df_cfg_parse_string(config_text, "now", 0, "/", &config_now, &err)) die("the harness's config text", &err);
    fuzz_reset();
}

static void write_seeds(const char *dir) {
    df_error err;
    char path[4096];
    df_train_state s = {0, 0, 0, 0, 1, NAN, -1, 0, 0};
    df_checkpoint_info info = {config_text, encoder_json, "0123456789abcdef", "[\"benign\",\"malignant\"]"};
    snprintf(path, sizeof path, "%s/fresh.safetensors", dir);
    if (df_checkpoint_save(path, model->g, optim, &s, &info, &err)) die("seed", &err);
    /* later in a run: counters moved, a best epoch, one tensor's step behind (frozen for a while) */
    df_optim_set_step(optim, 37);
    df_optim_set_tensor_step(optim, 0, 12);
    df_train_state later = {3, 5, 37, 41, 7, 0.8125, 2, 0, 0};
    snprintf(path, sizeof path, "%s/later.safetensors", dir);
    if (df_checkpoint_save(path, model->g, optim, &later, &info, &err)) die("seed", &err);
    later.finished = 1;
    df_checkpoint_info bare = {config_text, NULL, "0123456789abcdef", NULL};
    snprintf(path, sizeof path, "%s/weights_only.safetensors", dir);
    if (df_checkpoint_save(path, model->g, NULL, &later, &bare, &err)) die("seed", &err);
    df_optim_reset(optim);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    df_model_spec spec = df_model_spec_default(DF_FUSION_INTERMEDIATE, 2, 8, 5);
    spec.n_stages = 1;
    spec.widths[0] = 2;
    spec.n_meta_hidden = 1;
    spec.meta_hidden[0] = 2;
    df_error err;
    model = df_model_build(&spec, 2, 1, &err);
    if (!model) die("the harness's model", &err);
    df_optim_config oc = df_optim_defaults(DF_OPTIM_ADAMW);
    optim = df_optim_new(model->g, &oc, &err);
    if (!optim) die("the harness's optimizer", &err);
    make_config_text();
    const char *seeds = getenv("DF_FUZZ_WRITE_SEEDS");
    if (seeds) write_seeds(seeds);
    return 0;
}

/* A value as resume's message shows it: a scalar's text, a list's items in brackets. */
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

/* What resume does with a loaded checkpoint's saved config: parse it, compare it with this run's (parsed
 * once), name the first key that differs. */
static void compare_configs(const char *saved) {
    df_cfg_node *a = NULL;
    df_error err;
    if (df_cfg_parse_string(saved, "last.safetensors", 0, "/", &a, &err) == 0) {
        char where[256];
        if (df_cfg_tree_diff(a, config_now, resume_free_keys, where, sizeof where)) {
            where[strcspn(where, "[")] = '\0';
            char v_was[256], v_now[256];
            value_text(df_cfg_find(a, where), v_was, sizeof v_was);
            value_text(df_cfg_find(config_now, where), v_now, sizeof v_now);
        }
    } else {
        fuzz_note("the saved config", err.msg);
    }
    df_cfg_free(a);
}

static void restore_encoder(const char *json) {
    df_meta_encoder enc;
    df_error err;
    if (df_meta_from_json(&enc, json, &err)) return;
    char *once = df_meta_to_json(&enc);
    df_meta_encoder_free(&enc);
    if (df_meta_from_json(&enc, once, &err)) fuzz_fail("an encoder's own JSON does not restore: %s\n%s", err.msg, once);
    char *twice = df_meta_to_json(&enc);
    if (strcmp(once, twice)) fuzz_fail("an encoder's JSON changes on a second round trip:\n%s\n%s", once, twice);
    df_meta_encoder_free(&enc);
    free(once);
    free(twice);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_reset();
    const char *path = fuzz_write("last.safetensors", data, size);
    df_optim_reset(optim);
    df_error err;
    df_train_state state;
    df_checkpoint_info info;
    df_st_file *file;
    if (df_checkpoint_load(path, model->g, optim, &state, &info, &file, &err) == 0) {
        if (info.config_text) compare_configs(info.config_text);
        if (info.encoder_json) restore_encoder(info.encoder_json);
        df_checkpoint_close(file);
    } else {
        fuzz_note("df_checkpoint_load (resume)", err.msg);
    }
    if (df_checkpoint_load(path, model->g, NULL, NULL, NULL, NULL, &err))
        fuzz_note("df_checkpoint_load (weights)", err.msg);
    return 0;
}

/* ---- the mutator's checkpoint-specific edits ---- */

static const char *const state_fields[] = {"epoch", "batch", "step", "dropout_step", "seed", "best_metric",
                                           "best_epoch", "bad_epochs", "finished", "optimizer", "optim_step",
                                           "tensor_steps", NULL};
static const char *const state_values[] = {
    "-1", "0", "1", "3", "2147483647", "2147483648", "-2147483649", "9223372036854775807",
    "-9223372036854775808", "1e3", "1.5", "null", "true", "false", "\"0\"", "\"18446744073709551615\"",
    "\"18446744073709551616\"", "\"-1\"", "\" 1\"", "\"x\"", "\"sgd\"", "\"adam\"", "\"adamw\"", "{}", "[]",
    "1e308", "-0", NULL};

/* The end of the JSON value starting at s[i] (a scalar, string, object or array). */
static size_t value_end(const char *s, size_t i) {
    int depth = 0, in_str = 0;
    for (; s[i]; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\' && s[i + 1]) i++;
            else if (c == '"') in_str = 0;
            if (!in_str && depth == 0) return i + 1;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (depth == 0) return i;
            if (--depth == 0) return i + 1;
        } else if (c == ',' && depth == 0) {
            return i;
        }
    }
    return i;
}

/* One field of df.state: a new value, removed, or (tensor_steps) an entry added. */
static void edit_state(fst_file *f, fuzz_rng *r) {
    const char *state = fst_get_meta(f, "df.state");
    if (!state) return;
    const char *field = fuzz_pick(r, state_fields);
    char key[64];
    snprintf(key, sizeof key, "\"%s\":", field);
    const char *at = strstr(state, key);
    fuzz_buf b = {0};
    if (!at) {
        fuzz_buf_puts(&b, state);
        if (b.len && b.s[b.len - 1] == '}') {
            b.s[--b.len] = '\0';
            fuzz_buf_printf(&b, ",%s%s}", key, fuzz_pick(r, state_values));
        }
    } else {
        size_t v = (size_t)(at - state) + strlen(key), e = value_end(state, v);
        if (!strcmp(field, "tensor_steps") && fuzz_one_in(r, 2)) {
            const df_graph *g = model->g;
            fuzz_buf_put(&b, state, v);
            const char *name = fuzz_one_in(r, 8) ? "nope" : g->tensors[fuzz_below(r, (uint32_t)g->n_tensors)].name;
            fuzz_buf_printf(&b, "{\"%s\":%s}", name, fuzz_pick(r, state_values));
        } else if (fuzz_one_in(r, 6)) { /* the field removed */
            size_t begin = (size_t)(at - state);
            if (begin > 0 && state[begin - 1] == ',') begin--;
            else if (state[e] == ',') e++;
            fuzz_buf_put(&b, state, begin);
        } else {
            fuzz_buf_put(&b, state, v);
            fuzz_buf_puts(&b, fuzz_pick(r, state_values));
        }
        fuzz_buf_puts(&b, state + e);
    }
    if (b.s) fst_set_meta(f, "df.state", b.s, 0);
    fuzz_buf_free(&b);
}

static void edit_meta(fst_file *f, fuzz_rng *r) {
    switch (fuzz_below(r, 6)) {
    case 0: {
        char arch[17];
        df_checkpoint_arch_hash(model->g, arch);
        if (fuzz_one_in(r, 2)) arch[fuzz_below(r, 16)] = 'g';
        fst_set_meta(f, "df.arch", arch, 0);
        break;
    }
    case 1:
        fst_set_meta(f, "df.format", fuzz_one_in(r, 2) ? "dermfuse.checkpoint.v1" : "dermfuse.checkpoint.v2", 0);
        break;
    case 2: { /* the saved config with one line changed */
        const char *c = fst_get_meta(f, "df.config");
        if (!c) c = config_text;
        fuzz_buf b = {0};
        fuzz_buf_puts(&b, c);
        if (b.len) {
            static const char *const lines[] = {"  epochs: 11", "  lr: 0.5", "  widths: [2, 2]", "train: 1",
                                                "  image_dir: /x", "x: [", "  name: \"\\u2028\"", NULL};
            size_t at = fuzz_below(r, (uint32_t)b.len);
            while (at > 0 && b.s[at - 1] != '\n') at--;
            size_t end = at;
            while (end < b.len && b.s[end] != '\n') end++;
            fuzz_buf out = {0};
            fuzz_buf_put(&out, b.s, at);
            fuzz_buf_puts(&out, fuzz_pick(r, lines));
            fuzz_buf_put(&out, b.s + end, b.len - end);
            fst_set_meta(f, "df.config", out.s, 0);
            fuzz_buf_free(&out);
        }
        fuzz_buf_free(&b);
        break;
    }
    case 3: {
        static const char *const enc[] = {
            encoder_json, "{}", "{\"format\":\"dermfuse-meta/1\",\"dim\":0,\"features\":[]}",
            "{\"format\":\"dermfuse-meta/1\",\"dim\":3,\"features\":[{\"column\":\"s\",\"kind\":\"categorical\","
            "\"values\":[\"b\",\"a\"]}]}",
            "{\"format\":\"dermfuse-meta/1\",\"dim\":2,\"features\":[{\"column\":\"a\",\"kind\":\"numeric\","
            "\"mean\":1e39,\"sd\":0}]}",
            "{\"format\":\"dermfuse-meta/1\",\"dim\":2,\"features\":[{\"column\":\"a\",\"kind\":\"numeric\","
            "\"mean\":0.1,\"sd\":-0.0}]}",
            NULL};
        fst_set_meta(f, "df.encoder", fuzz_pick(r, enc), 0);
        break;
    }
    default: edit_state(f, r); break;
    }
}

static void perturb(fst_file *f, fuzz_rng *r) {
    if (fuzz_one_in(r, 2)) {
        edit_meta(f, r);
        f->checksum = f->checksum ? f->checksum : 1;
    } else {
        fst_perturb(f, r);
    }
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed) {
    return fuzz_st_mutate(data, size, max_size, seed, NULL, perturb);
}
