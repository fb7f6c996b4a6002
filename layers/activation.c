/* activation.c: elementwise nonlinearities.
 *   relu:    y = max(x, 0)
 *   silu:    y = x * sigmoid(x)        (smooth, used where a differentiable gate helps)
 *   sigmoid: y = 1 / (1 + exp(-x))     (gates of the gated fusion) */
#include <math.h>

#include "layers/layers.h"
#include "layers/simd.h"

static const char *const act_names[] = {"relu", "silu", "sigmoid"};

static inline float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

static long blocks_of(long count) { return (count + DF_ELEMENTS_PER_BLOCK - 1) / DF_ELEMENTS_PER_BLOCK; }

/* ReLU runs over fixed blocks of DF_ELEMENTS_PER_BLOCK, each a vectorised loop: block b of count elements. */
DF_SIMD_CLONES static void relu_block(const float *x, float *y, long count, long b) {
    const long at = b * DF_ELEMENTS_PER_BLOCK, n = count - at < DF_ELEMENTS_PER_BLOCK ? count - at : DF_ELEMENTS_PER_BLOCK;
    x += at, y += at;
    /* Written so that a NaN passes through (max(0, NaN) would hide it from the trainer's NaN guard). */
    for (long i = 0; i < n; i++) y[i] = x[i] < 0.0f ? 0.0f : x[i];
}

DF_SIMD_CLONES static void relu_grad_block(const float *x, const float *dy, float *dx, long count, long b, int acc) {
    const long at = b * DF_ELEMENTS_PER_BLOCK, n = count - at < DF_ELEMENTS_PER_BLOCK ? count - at : DF_ELEMENTS_PER_BLOCK;
    x += at, dy += at, dx += at;
    if (acc)
        for (long i = 0; i < n; i++) dx[i] += x[i] > 0.0f ? dy[i] : 0.0f;
    else
        for (long i = 0; i < n; i++) dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
}

static void activation_forward(df_graph *g, df_node *n) {
    const float *x = df_node_input(g, n, 0)->out;
    float *y = n->out;
    long count = (long)((size_t)g->batch * df_shape_per_sample(n->shape));
    switch ((df_activation)n->a.act.kind) {
    case DF_ACT_RELU:
#pragma omp parallel for schedule(static)
        for (long b = 0; b < blocks_of(count); b++) relu_block(x, y, count, b);
        break;
    case DF_ACT_SILU:
#pragma omp parallel for schedule(static)
        for (long i = 0; i < count; i++) y[i] = x[i] * sigmoidf(x[i]);
        break;
    case DF_ACT_SIGMOID:
#pragma omp parallel for schedule(static)
        for (long i = 0; i < count; i++) y[i] = sigmoidf(x[i]);
        break;
    }
}

static void activation_backward(df_graph *g, df_node *n) {
    df_node *xn = df_node_input(g, n, 0);
    if (!xn->dout) return;
    const float *x = xn->out, *y = n->out, *dy = n->dout;
    float *dx = xn->dout;
    int acc = n->grad_accum[0];
    long count = (long)((size_t)g->batch * df_shape_per_sample(n->shape));
    switch ((df_activation)n->a.act.kind) {
    case DF_ACT_RELU:
#pragma omp parallel for schedule(static)
        for (long b = 0; b < blocks_of(count); b++) relu_grad_block(x, dy, dx, count, b, acc);
        break;
    case DF_ACT_SILU:
#pragma omp parallel for schedule(static)
        for (long i = 0; i < count; i++) {
            float s = sigmoidf(x[i]);
            df_grad_put(&dx[i], dy[i] * s * (1.0f + x[i] * (1.0f - s)), acc);
        }
        break;
    case DF_ACT_SIGMOID:
#pragma omp parallel for schedule(static)
        for (long i = 0; i < count; i++) df_grad_put(&dx[i], dy[i] * y[i] * (1.0f - y[i]), acc);
        break;
    }
}

static double activation_flops(const df_graph *g, const df_node *n) {
    (void)g;
    return (double)df_shape_per_sample(n->shape);
}

static const df_op act_ops[] = {
    {"relu", activation_forward, activation_backward, activation_flops, 0},
    {"silu", activation_forward, activation_backward, activation_flops, 0},
    {"sigmoid", activation_forward, activation_backward, activation_flops, 0},
};

int df_activation_layer(df_graph *g, const char *name, int x, df_activation kind) {
    if (df_graph_check_inputs(g, name, &x, 1)) return -1;
    if ((int)kind < 0 || (int)kind >= (int)(sizeof act_names / sizeof *act_names))
        return df_graph_fail(g, "layer '%s': unknown activation %d", name, (int)kind);
    df_node *n = df_graph_add_node(g, &act_ops[kind], name, &x, 1, g->nodes[x].shape);
    if (!n) return -1;
    n->a.act.kind = (int)kind;
    return n->index;
}
