/* test_optim.c: SGD, Adam and AdamW against a plain double-precision implementation of the same formulas;
 * frozen tensors, buffers and decay flags; per-tensor bias correction after unfreezing; the checkpoint state
 * accessors; gradient-norm clipping (value, scaling, thread-count independence); the non-finite check. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/graph.h"
#include "optim/optim.h"

static void nop_forward(df_graph *g, df_node *n) { (void)g, (void)n; }
static void nop_backward(df_graph *g, df_node *n) { (void)g, (void)n; }
static double nop_flops(const df_graph *g, const df_node *n) { return (void)g, (void)n, 0.0; }
static const df_op holder_op = {"holder", nop_forward, nop_backward, nop_flops, 0};

/* Tensor indices of the test graph. */
enum { T_W, T_B, T_RUN, T_FROZ, T_BIG, N_T };

/* fc.weight (3,5) decays, fc.bias (5) does not, fc.running (5) is a buffer, aux.weight (7) decays but
 * will be frozen, aux.big (big) decays (large enough to be split between threads). */
static df_graph *make_graph(int big) {
    df_graph *g = df_graph_new(1);
    int x = df_input(g, "x", df_shape1(1), 0);
    df_node *fc = df_graph_add_node(g, &holder_op, "fc", &x, 1, df_shape2(1, 1));
    df_node_add_tensor(g, fc, "weight", df_shape2(3, 5), DF_PARAM, DF_INIT_NORMAL, 0.5f, 1);
    df_node_add_tensor(g, fc, "bias", df_shape1(5), DF_PARAM, DF_INIT_ZERO, 0.0f, 0);
    df_node_add_tensor(g, fc, "running", df_shape1(5), DF_BUFFER, DF_INIT_ONE, 0.0f, 0);
    df_node *aux = df_graph_add_node(g, &holder_op, "aux", &x, 1, df_shape2(1, 1));
    df_node_add_tensor(g, aux, "weight", df_shape1(7), DF_PARAM, DF_INIT_UNIFORM, 1.0f, 1);
    df_node_add_tensor(g, aux, "big", df_shape1(big), DF_PARAM, DF_INIT_UNIFORM, 1.0f, 1);
    df_error err;
    if (df_graph_compile(g, -1, 42, &err)) {
        fprintf(stderr, "compile: %s\n", err.msg);
        exit(1);
    }
    return g;
}

/* Deterministic parameter values and per-step gradients, varied in sign and size. */
static double init_value(size_t k) { return 0.3 * sin(0.7 * (double)k + 0.2) + 0.05; }
static double grad_value(size_t k, int step) { return 0.8 * cos(1.3 * (double)k + 0.9 * step) - 0.1 * step; }

static void set_params(df_graph *g) {
    for (int i = 0; i < g->n_tensors; i++) {
        const df_tensor_info *t = &g->tensors[i];
        if (t->kind != DF_PARAM) continue;
        for (size_t j = 0; j < t->numel; j++) g->params[t->offset + j] = (float)init_value(t->offset + j);
    }
}
static void set_grads(df_graph *g, int step) {
    for (int i = 0; i < g->n_tensors; i++) {
        const df_tensor_info *t = &g->tensors[i];
        if (t->kind != DF_PARAM) continue;
        for (size_t j = 0; j < t->numel; j++) g->grads[t->offset + j] = (float)grad_value(t->offset + j, step);
    }
}

/* Reference: one element through `steps` steps, written straight from the formulas (double precision). */
static double reference(const df_optim_config *c, int decay, size_t k, int steps, double lr) {
    double p = (float)init_value(k), m = 0.0, v = 0.0;
    double wd = decay ? c->weight_decay : 0.0;
    for (int s = 1; s <= steps; s++) {
        double gr = (float)grad_value(k, s - 1);
        if (c->kind == DF_OPTIM_SGD) {
            gr += wd * p;
            if (c->momentum != 0.0f) {
                m = s == 1 ? gr : c->momentum * m + gr; /* PyTorch: the first step's buffer is the gradient */
                gr = c->nesterov ? gr + c->momentum * m : m;
            }
            p -= lr * gr;
        } else {
            if (c->kind == DF_OPTIM_ADAMW)
                p -= lr * wd * p;
            else
                gr += wd * p;
            m = c->beta1 * m + (1.0 - c->beta1) * gr;
            v = c->beta2 * v + (1.0 - c->beta2) * gr * gr;
            double mhat = m / (1.0 - pow(c->beta1, s)), vhat = v / (1.0 - pow(c->beta2, s));
            p -= lr * mhat / (sqrt(vhat) + c->eps);
        }
    }
    return p;
}

/* Runs 3 steps of cfg with aux.weight frozen and checks every element against the reference. */
static void check_optimizer(const df_optim_config *cfg, const char *label) {
    df_graph *g = make_graph(40);
    set_params(g);
    g->tensors[T_FROZ].frozen = 1;
    float running0[5];
    memcpy(running0, g->buffers + g->tensors[T_RUN].offset, sizeof running0);
    float frozen0[7];
    memcpy(frozen0, g->params + g->tensors[T_FROZ].offset, sizeof frozen0);

    df_error err;
    df_optim *o = df_optim_new(g, cfg, &err);
    CHECK(o != NULL);
    const float lr = cfg->lr;
    for (int s = 0; s < 3; s++) {
        set_grads(g, s);
        df_optim_step(o, g, lr);
    }
    CHECK(df_optim_get_step(o) == 3);
    int bad = 0;
    for (int i = 0; i < g->n_tensors; i++) {
        const df_tensor_info *t = &g->tensors[i];
        if (t->kind != DF_PARAM || t->frozen) continue;
        for (size_t j = 0; j < t->numel; j++) {
            size_t k = t->offset + j;
            double want = reference(cfg, t->decay, k, 3, lr);
            double got = g->params[k];
            if (!(fabs(got - want) <= 1e-6 * fabs(want) + 1e-7)) {
                if (bad++ < 5)
                    fprintf(stderr, "%s: %s[%zu] = %.9g, expected %.9g\n", label, t->name, j, got, want);
            }
        }
    }
    CHECK_MSG(bad == 0, "%s: %d elements differ from the reference", label, bad);
    CHECK_MSG(memcmp(frozen0, g->params + g->tensors[T_FROZ].offset, sizeof frozen0) == 0,
              "%s: frozen tensor changed", label);
    CHECK_MSG(memcmp(running0, g->buffers + g->tensors[T_RUN].offset, sizeof running0) == 0,
              "%s: buffer changed", label);
    CHECK(df_optim_get_tensor_step(o, T_W) == 3 && df_optim_get_tensor_step(o, T_FROZ) == 0);
    /* Padding between tensors stays zero in params and moments. */
    const df_tensor_info *b = &g->tensors[T_B];
    for (size_t k = b->offset + b->numel; k < g->tensors[T_FROZ].offset; k++) {
        CHECK(g->params[k] == 0.0f);
        if (o->m) CHECK(o->m[k] == 0.0f);
        if (o->v) CHECK(o->v[k] == 0.0f);
    }
    df_optim_free(o);
    df_graph_free(g);
}

/* Decay must matter for fc.weight and not for fc.bias: compare against the same run with wd = 0. */
static void check_decay_flags(df_optim_kind kind) {
    df_optim_config with = df_optim_defaults(kind), without;
    with.weight_decay = 0.1f;
    with.momentum = kind == DF_OPTIM_SGD ? 0.9f : 0.0f;
    without = with;
    without.weight_decay = 0.0f;
    float out[2][64];
    const df_optim_config *cfgs[2] = {&with, &without};
    df_graph *g0 = make_graph(8);
    const df_tensor_info tw = g0->tensors[T_W], tb = g0->tensors[T_B];
    df_graph_free(g0);
    for (int r = 0; r < 2; r++) {
        df_graph *g = make_graph(8);
        set_params(g);
        df_error err;
        df_optim *o = df_optim_new(g, cfgs[r], &err);
        for (int s = 0; s < 3; s++) {
            set_grads(g, s);
            df_optim_step(o, g, cfgs[r]->lr);
        }
        memcpy(out[r], g->params, (tb.offset + tb.numel) * sizeof(float));
        df_optim_free(o);
        df_graph_free(g);
    }
    CHECK(memcmp(out[0] + tb.offset, out[1] + tb.offset, tb.numel * sizeof(float)) == 0);
    int differs = 0;
    for (size_t j = 0; j < tw.numel; j++) differs += out[0][tw.offset + j] != out[1][tw.offset + j];
    CHECK((size_t)differs == tw.numel);
}

/* A tensor frozen for two steps then unfrozen gets a first Adam step of size lr (|m_hat / sqrt(v_hat)| = 1),
 * as a fresh optimizer would, not one scaled by the global step's bias correction. */
static void check_unfreeze(void) {
    df_graph *g = make_graph(8);
    set_params(g);
    df_optim_config c = df_optim_defaults(DF_OPTIM_ADAM);
    df_error err;
    df_optim *o = df_optim_new(g, &c, &err);
    g->tensors[T_FROZ].frozen = 1;
    for (int s = 0; s < 2; s++) {
        set_grads(g, s);
        df_optim_step(o, g, c.lr);
    }
    g->tensors[T_FROZ].frozen = 0;
    const df_tensor_info *t = &g->tensors[T_FROZ];
    float before[7];
    memcpy(before, g->params + t->offset, sizeof before);
    set_grads(g, 2);
    df_optim_step(o, g, c.lr);
    CHECK(df_optim_get_tensor_step(o, T_FROZ) == 1 && df_optim_get_tensor_step(o, T_W) == 3);
    for (int j = 0; j < 7; j++) {
        float gr = g->grads[t->offset + j];
        CHECK_CLOSE(g->params[t->offset + j] - before[j], -c.lr * (gr > 0 ? 1.0 : -1.0), 2e-7, 0);
    }
    df_optim_free(o);
    df_graph_free(g);
}

static void check_nesterov(void) {
    df_optim_config plain = df_optim_defaults(DF_OPTIM_SGD), nest;
    plain.momentum = 0.9f;
    nest = plain;
    nest.nesterov = 1;
    /* One element, formulas by hand: g1 = 1, g2 = 2, lr = 0.1, mu = 0.9, p0 = 0.
     * plain: buf1 = 1, p1 = -0.1; buf2 = 0.9 + 2 = 2.9, p2 = -0.39.
     * nesterov: buf1 = 1, p1 = -0.1 * (1 + 0.9) = -0.19; buf2 = 2.9, p2 = -0.19 - 0.1 * (2 + 2.61) = -0.651 */
    const df_optim_config *cfgs[2] = {&plain, &nest};
    const double want[2] = {-0.39, -0.651};
    for (int r = 0; r < 2; r++) {
        df_graph *g = make_graph(8);
        memset(g->params, 0, g->n_param_floats * sizeof(float));
        df_error err;
        df_optim *o = df_optim_new(g, cfgs[r], &err);
        size_t k = g->tensors[T_B].offset;
        for (int s = 0; s < 2; s++) {
            memset(g->grads, 0, g->n_param_floats * sizeof(float));
            g->grads[k] = (float)(s + 1);
            df_optim_step(o, g, 0.1f);
        }
        CHECK_CLOSE(g->params[k], want[r], 1e-7, 1e-6);
        df_optim_free(o);
        df_graph_free(g);
    }
}

static void check_state_accessors(void) {
    df_graph *g = make_graph(8);
    df_optim_config c = df_optim_defaults(DF_OPTIM_ADAMW);
    df_error err;
    df_optim *o = df_optim_new(g, &c, &err);
    CHECK(df_optim_n_moments(o) == 2);
    char name[DF_OPTIM_NAME_MAX];
    CHECK(df_optim_moment_name(g, T_W, DF_MOMENT_M, name, sizeof name) == 0);
    CHECK(strcmp(name, "optim.m.fc.weight") == 0);
    CHECK(df_optim_moment_name(g, T_BIG, DF_MOMENT_V, name, sizeof name) == 0);
    CHECK(strcmp(name, "optim.v.aux.big") == 0);
    CHECK(df_optim_moment_name(g, T_W, DF_MOMENT_M, name, 8) == -1);
    CHECK(df_optim_moment(o, g, T_B, DF_MOMENT_V) == o->v + g->tensors[T_B].offset);
    CHECK(df_optim_moment(o, g, T_RUN, DF_MOMENT_M) == NULL);
    set_params(g);
    set_grads(g, 0);
    df_optim_step(o, g, c.lr);
    /* After one Adam step m = (1 - beta1) * g exactly as the kernel computes it. */
    float *m = df_optim_moment(o, g, T_W, DF_MOMENT_M);
    CHECK_CLOSE(m[3], (1.0 - c.beta1) * g->grads[g->tensors[T_W].offset + 3], 1e-9, 1e-6);
    df_optim_set_step(o, 17);
    CHECK(df_optim_get_step(o) == 17 && df_optim_get_tensor_step(o, T_B) == 17);
    df_optim_set_tensor_step(o, T_B, 4);
    CHECK(df_optim_get_tensor_step(o, T_B) == 4);
    df_optim_reset(o);
    CHECK(df_optim_get_step(o) == 0 && m[3] == 0.0f);
    df_optim_free(o);

    df_optim_config s = df_optim_defaults(DF_OPTIM_SGD);
    o = df_optim_new(g, &s, &err);
    CHECK(df_optim_n_moments(o) == 0 && df_optim_moment(o, g, T_W, DF_MOMENT_M) == NULL);
    df_optim_free(o);
    s.momentum = 0.9f;
    o = df_optim_new(g, &s, &err);
    CHECK(df_optim_n_moments(o) == 1 && df_optim_moment(o, g, T_W, DF_MOMENT_V) == NULL);
    df_optim_free(o);
    df_graph_free(g);
}

static void check_config_errors(void) {
    df_error err;
    /* The names table is in the enum's order (configs bind names to kinds through it). */
    CHECK(!strcmp(df_optim_kind_names[DF_OPTIM_ADAMW], "adamw") && !strcmp(df_optim_kind_names[DF_OPTIM_SGD], "sgd"));
    CHECK(!strcmp(df_optim_kind_names[DF_OPTIM_ADAM], "adam") && df_optim_kind_names[3] == NULL);
    df_optim_config c = df_optim_defaults(DF_OPTIM_SGD);
    c.nesterov = 1;
    CHECK(df_optim_config_check(&c, &err) == -1 && strstr(err.msg, "nesterov") != NULL);
    c = df_optim_defaults(DF_OPTIM_ADAM);
    c.beta2 = 1.0f;
    CHECK(df_optim_config_check(&c, &err) == -1 && strstr(err.msg, "beta2") != NULL);
    c = df_optim_defaults(DF_OPTIM_ADAM);
    c.lr = NAN;
    CHECK(df_optim_config_check(&c, &err) == -1);
    df_graph *g = df_graph_new(1);
    c = df_optim_defaults(DF_OPTIM_ADAM);
    CHECK(df_optim_new(g, &c, &err) == NULL && strstr(err.msg, "not compiled") != NULL);
    df_graph_free(g);
}

static void check_clip(void) {
    enum { BIG = 100003 };
    df_graph *g = make_graph(BIG);
    g->tensors[T_FROZ].frozen = 1;
    set_grads(g, 1);
    /* A huge frozen gradient must not count. */
    for (size_t j = 0; j < 7; j++) g->grads[g->tensors[T_FROZ].offset + j] = 1e6f;
    double want = 0.0;
    for (int i = 0; i < N_T; i++) {
        const df_tensor_info *t = &g->tensors[i];
        if (t->kind != DF_PARAM || t->frozen) continue;
        for (size_t j = 0; j < t->numel; j++) want += (double)g->grads[t->offset + j] * g->grads[t->offset + j];
    }
    want = sqrt(want);

    float *saved = malloc(g->n_param_floats * sizeof(float));
    memcpy(saved, g->grads, g->n_param_floats * sizeof(float));
    float norms[2];
    float *clipped[2];
    for (int r = 0; r < 2; r++) {
        omp_set_num_threads(r + 1);
        memcpy(g->grads, saved, g->n_param_floats * sizeof(float));
        norms[r] = df_clip_grad_norm(g, 1.0f);
        clipped[r] = malloc(g->n_param_floats * sizeof(float));
        memcpy(clipped[r], g->grads, g->n_param_floats * sizeof(float));
    }
    CHECK_CLOSE(norms[0], want, 0, 1e-6);
    CHECK(norms[0] == norms[1]);
    CHECK(memcmp(clipped[0], clipped[1], g->n_param_floats * sizeof(float)) == 0);
    /* The clipped gradients have norm max_norm, and the frozen tensor's are untouched. */
    CHECK_CLOSE(df_clip_grad_norm(g, 0.0f), 1.0, 0, 1e-5);
    CHECK(g->grads[g->tensors[T_FROZ].offset] == 1e6f);
    size_t k = g->tensors[T_BIG].offset + 12345;
    CHECK_CLOSE(g->grads[k], saved[k] / want, 1e-12, 1e-5);

    /* Below the threshold nothing changes. */
    memcpy(g->grads, saved, g->n_param_floats * sizeof(float));
    float n = df_clip_grad_norm(g, (float)(2 * want));
    CHECK_CLOSE(n, want, 0, 1e-6);
    CHECK(memcmp(g->grads, saved, g->n_param_floats * sizeof(float)) == 0);

    /* A non-finite norm is reported and nothing is scaled. */
    g->grads[k] = INFINITY;
    CHECK(isinf(df_clip_grad_norm(g, 1.0f)));
    CHECK(g->grads[g->tensors[T_W].offset] == saved[g->tensors[T_W].offset]);

    omp_set_num_threads(2);
    free(saved);
    free(clipped[0]);
    free(clipped[1]);
    df_graph_free(g);
}

static void check_finite(void) {
    df_graph *g = make_graph(70000);
    set_grads(g, 0);
    int bad = -5;
    CHECK(df_grads_finite(g, &bad) == 1 && bad == -5);
    g->grads[g->tensors[T_BIG].offset + 69999] = NAN;
    CHECK(df_grads_finite(g, &bad) == 0 && bad == T_BIG);
    g->grads[g->tensors[T_B].offset + 2] = -INFINITY;
    CHECK(df_grads_finite(g, &bad) == 0 && bad == T_B);
    /* A frozen tensor does not take part in the step, so it does not trip the check. */
    g->tensors[T_B].frozen = 1;
    g->tensors[T_BIG].frozen = 1;
    CHECK(df_grads_finite(g, NULL) == 1);
    df_graph_free(g);
}

int main(void) {
    df_optim_config c = df_optim_defaults(DF_OPTIM_SGD);
    c.lr = 0.05f;
    c.weight_decay = 0.01f;
    check_optimizer(&c, "sgd");
    c.momentum = 0.9f;
    check_optimizer(&c, "sgd+momentum");
    c.nesterov = 1;
    check_optimizer(&c, "sgd+nesterov");
    c = df_optim_defaults(DF_OPTIM_ADAM);
    c.lr = 0.01f;
    c.weight_decay = 0.05f;
    check_optimizer(&c, "adam");
    c = df_optim_defaults(DF_OPTIM_ADAMW);
    c.lr = 0.01f;
    c.weight_decay = 0.1f;
    c.beta1 = 0.8f;
    c.beta2 = 0.99f;
    check_optimizer(&c, "adamw");
    check_decay_flags(DF_OPTIM_SGD);
    check_decay_flags(DF_OPTIM_ADAM);
    check_decay_flags(DF_OPTIM_ADAMW);
    check_nesterov();
    check_unfreeze();
    check_state_accessors();
    check_config_errors();
    check_clip();
    check_finite();
    return check_report();
}
