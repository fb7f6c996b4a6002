/* linear.c: y = x W^T + b, x (B, in), W (out, in), b (out). A sequence x (B, T, in) is B*T rows of `in` values,
 * each mapped alike (PyTorch's nn.Linear). The GEMMs' workspace is the graph's scratch (the
 * node asks for the most any of its three products needs), so a step allocates nothing. */
#include <math.h>
#include <omp.h>

#include "core/gemm/gemm.h"
#include "layers/layers.h"

static df_gemm_ws ws_of(df_graph *g) {
    const df_gemm_ws ws = {g->scratch, g->scratch_bytes};
    return ws;
}

/* Rows of the product for `batch` samples: one per sample, or one per sample and position. */
static int rows_of(const df_node *n, int batch) {
    return batch * (int)(df_shape_per_sample(n->shape) / (size_t)n->shape.d[n->shape.rank - 1]);
}

static void linear_forward(df_graph *g, df_node *n) {
    const df_node *x = df_node_input(g, n, 0);
    int B = rows_of(n, g->batch), in = x->shape.d[x->shape.rank - 1], out = n->shape.d[n->shape.rank - 1];
    const float *w = df_node_param(g, n, 0);
    if (n->a.linear.has_bias) {
        const float *b = df_node_param(g, n, 1);
        for (int i = 0; i < B; i++)
            for (int o = 0; o < out; o++) n->out[(size_t)i * out + o] = b[o];
    }
    df_sgemm_ws(0, 1, B, out, in, 1.0f, x->out, in, w, in, n->a.linear.has_bias ? 1.0f : 0.0f, n->out, out,
                ws_of(g));
}

static void linear_backward(df_graph *g, df_node *n) {
    df_node *x = df_node_input(g, n, 0);
    int B = rows_of(n, g->batch), in = x->shape.d[x->shape.rank - 1], out = n->shape.d[n->shape.rank - 1];
    const float *w = df_node_param(g, n, 0);
    /* dW (out, in) += dY^T (out, B) X (B, in) */
    df_sgemm_ws(1, 0, out, in, B, 1.0f, n->dout, out, x->out, in, 1.0f, df_node_param_grad(g, n, 0), in, ws_of(g));
    if (n->a.linear.has_bias) {
        float *db = df_node_param_grad(g, n, 1);
        for (int i = 0; i < B; i++)
            for (int o = 0; o < out; o++) db[o] += n->dout[(size_t)i * out + o];
    }
    /* dX (B, in) = dY (B, out) W (out, in) */
    if (x->dout)
        df_sgemm_ws(0, 0, B, in, out, 1.0f, n->dout, out, w, in, n->grad_accum[0] ? 1.0f : 0.0f, x->dout, in,
                    ws_of(g));
}

static double linear_flops(const df_graph *g, const df_node *n) {
    const df_shape xs = g->nodes[n->in[0]].shape;
    return 2.0 * xs.d[xs.rank - 1] * (double)df_shape_per_sample(n->shape);
}

static const df_op linear_op = {"linear", linear_forward, linear_backward, linear_flops, 0};

int df_linear(df_graph *g, const char *name, int x, int out_features, int bias) {
    if (df_graph_check_inputs(g, name, &x, 1)) return -1;
    df_shape xs = g->nodes[x].shape, ys = xs;
    /* Image maps are refused: a linear layer on one is almost always a missing pooling or flatten. */
    if (xs.rank != 2 && xs.rank != 3) {
        char s[64];
        return df_graph_fail(g, "layer '%s' (linear): expects input (batch, features) or (batch, tokens, features), "
                             "got %s from '%s'", name, df_shape_str(xs, s, sizeof s), g->nodes[x].name);
    }
    if (out_features < 1)
        return df_graph_fail(g, "layer '%s' (linear): output features must be >= 1, got %d", name,
                             out_features);
    ys.d[ys.rank - 1] = out_features;
    df_node *n = df_graph_add_node(g, &linear_op, name, &x, 1, ys);
    if (!n) return -1;
    n->a.linear.has_bias = bias;
    int in = xs.d[xs.rank - 1], B = rows_of(n, g->max_batch), T = omp_get_max_threads();
    size_t ws = df_sgemm_ws_bytes(B, out_features, in, T), ws_w = df_sgemm_ws_bytes(out_features, in, B, T),
           ws_x = df_sgemm_ws_bytes(B, in, out_features, T);
    n->scratch_bytes = ws > ws_w ? (ws > ws_x ? ws : ws_x) : (ws_w > ws_x ? ws_w : ws_x);
    /* He-uniform: Var(w) = 2 / fan_in keeps activations' scale through ReLU layers. */
    df_node_add_tensor(g, n, "weight", df_shape2(out_features, in), DF_PARAM, DF_INIT_UNIFORM,
                       sqrtf(6.0f / (float)in), 1);
    if (bias) df_node_add_tensor(g, n, "bias", df_shape1(out_features), DF_PARAM, DF_INIT_ZERO, 0, 0);
    return g->failed ? -1 : n->index;
}
