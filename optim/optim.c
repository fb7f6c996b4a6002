/* optim.c: the optimizer object: configuration, moment blocks, step dispatch and the state a checkpoint
 * saves (see optim.h). The update formulas live in sgd.c and adam.c. */
#include "optim/optim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

df_optim_config df_optim_defaults(df_optim_kind kind) {
    df_optim_config c = {
        .kind = kind,
        .lr = kind == DF_OPTIM_SGD ? 0.1f : 1e-3f,
        .momentum = 0.0f,
        .nesterov = 0,
        .weight_decay = kind == DF_OPTIM_ADAMW ? 0.01f : 0.0f,
        .beta1 = 0.9f,
        .beta2 = 0.999f,
        .eps = 1e-8f,
    };
    return c;
}

const char *const df_optim_kind_names[] = {"sgd", "adam", "adamw", NULL};

int df_optim_config_check(const df_optim_config *c, df_error *err) {
    if (c->kind < DF_OPTIM_SGD || c->kind > DF_OPTIM_ADAMW)
        return df_fail(err, "optimizer kind %d is not sgd, adam or adamw", (int)c->kind);
    /* Written as !(x > 0) so that NaN fails too. */
    if (!(c->lr > 0.0f) || isinf(c->lr)) return df_fail(err, "optimizer lr %g must be positive", c->lr);
    if (!(c->weight_decay >= 0.0f) || isinf(c->weight_decay))
        return df_fail(err, "optimizer weight_decay %g must be >= 0", c->weight_decay);
    if (c->kind == DF_OPTIM_SGD) {
        if (!(c->momentum >= 0.0f && c->momentum < 1.0f))
            return df_fail(err, "optimizer momentum %g must be in [0, 1)", c->momentum);
        if (c->nesterov && c->momentum == 0.0f)
            return df_fail(err, "optimizer nesterov needs momentum > 0 (momentum is 0)");
    } else {
        if (!(c->beta1 >= 0.0f && c->beta1 < 1.0f))
            return df_fail(err, "optimizer beta1 %g must be in [0, 1)", c->beta1);
        if (!(c->beta2 >= 0.0f && c->beta2 < 1.0f))
            return df_fail(err, "optimizer beta2 %g must be in [0, 1)", c->beta2);
        if (!(c->eps > 0.0f) || isinf(c->eps)) return df_fail(err, "optimizer eps %g must be positive", c->eps);
    }
    return 0;
}

df_optim *df_optim_new(const df_graph *g, const df_optim_config *cfg, df_error *err) {
    if (!g->compiled) {
        df_fail(err, "optimizer: the graph is not compiled");
        return NULL;
    }
    if (df_optim_config_check(cfg, err)) return NULL;
    df_optim *o = df_calloc(1, sizeof *o);
    o->cfg = *cfg;
    o->n = g->n_param_floats;
    o->n_tensors = g->n_tensors;
    int n_moments = df_optim_n_moments(o);
    if (n_moments >= 1) o->m = df_aligned_alloc(o->n * sizeof(float));
    if (n_moments >= 2) o->v = df_aligned_alloc(o->n * sizeof(float));
    o->t_step = df_calloc(o->n_tensors > 0 ? (size_t)o->n_tensors : 1, sizeof *o->t_step);
    return o;
}

void df_optim_free(df_optim *o) {
    if (!o) return;
    free(o->m);
    free(o->v);
    free(o->t_step);
    free(o);
}

void df_optim_advance_(df_optim *o, const df_graph *g) {
    o->step++;
    for (int i = 0; i < g->n_tensors; i++)
        if (g->tensors[i].kind == DF_PARAM && !g->tensors[i].frozen) o->t_step[i]++;
}

void df_optim_step(df_optim *o, df_graph *g, float lr) {
    DF_ASSERT(g->n_param_floats == o->n && g->n_tensors == o->n_tensors);
    if (o->cfg.kind == DF_OPTIM_SGD)
        df_sgd_step(o, g, lr);
    else
        df_adam_step(o, g, lr);
}

int df_optim_n_moments(const df_optim *o) {
    if (o->cfg.kind == DF_OPTIM_SGD) return o->cfg.momentum != 0.0f ? 1 : 0;
    return 2;
}

int df_optim_moment_name(const df_graph *g, int tensor, int which, char *buf, size_t size) {
    DF_ASSERT(tensor >= 0 && tensor < g->n_tensors);
    DF_ASSERT(which == DF_MOMENT_M || which == DF_MOMENT_V);
    int len = snprintf(buf, size, "optim.%c.%s", which == DF_MOMENT_M ? 'm' : 'v', g->tensors[tensor].name);
    return len >= 0 && (size_t)len < size ? 0 : -1;
}

float *df_optim_moment(df_optim *o, const df_graph *g, int tensor, int which) {
    DF_ASSERT(tensor >= 0 && tensor < g->n_tensors && g->n_param_floats == o->n);
    const df_tensor_info *t = &g->tensors[tensor];
    if (t->kind != DF_PARAM) return NULL;
    float *block = which == DF_MOMENT_M ? o->m : which == DF_MOMENT_V ? o->v : NULL;
    return block ? block + t->offset : NULL;
}

long df_optim_get_step(const df_optim *o) { return o->step; }

void df_optim_set_step(df_optim *o, long step) {
    DF_ASSERT(step >= 0);
    o->step = step;
    for (int i = 0; i < o->n_tensors; i++) o->t_step[i] = step;
}

long df_optim_get_tensor_step(const df_optim *o, int tensor) {
    DF_ASSERT(tensor >= 0 && tensor < o->n_tensors);
    return o->t_step[tensor];
}

void df_optim_set_tensor_step(df_optim *o, int tensor, long step) {
    DF_ASSERT(tensor >= 0 && tensor < o->n_tensors && step >= 0);
    o->t_step[tensor] = step;
}

void df_optim_reset(df_optim *o) {
    if (o->m) memset(o->m, 0, o->n * sizeof(float));
    if (o->v) memset(o->v, 0, o->n * sizeof(float));
    df_optim_set_step(o, 0);
}
