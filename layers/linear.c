/* linear.c: y = x W^T + b, x (B, in), W (out, in), b (out). */
#include <math.h>

#include "core/gemm.h"
#include "layers/layers.h"

static void linear_forward(df_graph *g, df_node *n) {
    const df_node *x = df_node_input(g, n, 0);
    int B = g->batch, in = x->shape.d[1], out = n->shape.d[1];
    const float *w = df_node_param(g, n, 0);
    if (n->a.linear.has_bias) {
        const float *b = df_node_param(g, n, 1);
        for (int i = 0; i < B; i++)
            for (int o = 0; o < out; o++) n->out[(size_t)i * out + o] = b[o];
    }
    df_sgemm(0, 1, B, out, in, 1.0f, x->out, in, w, in, n->a.linear.has_bias ? 1.0f : 0.0f, n->out, out);
}

static void linear_backward(df_graph *g, df_node *n) {
    df_node *x = df_node_input(g, n, 0);
    int B = g->batch, in = x->shape.d[1], out = n->shape.d[1];
    const float *w = df_node_param(g, n, 0);
    /* dW (out, in) += dY^T (out, B) X (B, in) */
    df_sgemm(1, 0, out, in, B, 1.0f, n->dout, out, x->out, in, 1.0f, df_node_param_grad(g, n, 0), in);
    if (n->a.linear.has_bias) {
        float *db = df_node_param_grad(g, n, 1);
        for (int i = 0; i < B; i++)
            for (int o = 0; o < out; o++) db[o] += n->dout[(size_t)i * out + o];
    }
    /* dX (B, in) = dY (B, out) W (out, in) */
    if (x->dout)
        df_sgemm(0, 0, B, in, out, 1.0f, n->dout, out, w, in, n->grad_accum[0] ? 1.0f : 0.0f, x->dout, in);
}

static double linear_flops(const df_graph *g, const df_node *n) {
    return 2.0 * g->nodes[n->in[0]].shape.d[1] * n->shape.d[1];
}

static const df_op linear_op = {"linear", linear_forward, linear_backward, linear_flops};

int df_linear(df_graph *g, const char *name, int x, int out_features, int bias) {
    if (df_graph_check_inputs(g, name, &x, 1)) return -1;
    df_shape xs = g->nodes[x].shape;
    char s[64];
    if (xs.rank != 2)
        return df_graph_fail(g, "layer '%s' (linear): expects input (batch, features), got %s from '%s'",
                             name, df_shape_str(xs, s, sizeof s), g->nodes[x].name);
    if (out_features < 1)
        return df_graph_fail(g, "layer '%s' (linear): output features must be >= 1, got %d", name,
                             out_features);
    df_node *n = df_graph_add_node(g, &linear_op, name, &x, 1, df_shape2(xs.d[0], out_features));
    if (!n) return -1;
    n->a.linear.has_bias = bias;
    int in = xs.d[1];
    /* He-uniform: Var(w) = 2 / fan_in keeps activations' scale through ReLU layers. */
    df_node_add_tensor(g, n, "weight", df_shape2(out_features, in), DF_PARAM, DF_INIT_UNIFORM,
                       sqrtf(6.0f / (float)in), 1);
    if (bias) df_node_add_tensor(g, n, "bias", df_shape1(out_features), DF_PARAM, DF_INIT_ZERO, 0, 0);
    return g->failed ? -1 : n->index;
}
