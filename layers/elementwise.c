/* elementwise.c: ops combining two activations.
 *   add:            y = a + b                        (residual connections)
 *   scale_channels: y[b,h,w,c] = x[b,h,w,c] * s[b,c] (a metadata gate scaling image feature maps) */
#include "layers/layers.h"

static void add_forward(df_graph *g, df_node *n) {
    const float *a = df_node_input(g, n, 0)->out, *b = df_node_input(g, n, 1)->out;
    long count = (long)((size_t)g->batch * df_shape_per_sample(n->shape));
#pragma omp parallel for schedule(static)
    for (long i = 0; i < count; i++) n->out[i] = a[i] + b[i];
}

static void add_backward(df_graph *g, df_node *n) {
    long count = (long)((size_t)g->batch * df_shape_per_sample(n->shape));
    for (int k = 0; k < 2; k++) {
        df_node *x = df_node_input(g, n, k);
        if (!x->dout) continue;
        int acc = n->grad_accum[k];
#pragma omp parallel for schedule(static)
        for (long i = 0; i < count; i++) df_grad_put(&x->dout[i], n->dout[i], acc);
    }
}

static double add_flops(const df_graph *g, const df_node *n) {
    (void)g;
    return (double)df_shape_per_sample(n->shape);
}

static const df_op add_op = {"add", add_forward, add_backward, add_flops, 0};

int df_add(df_graph *g, const char *name, int a, int b) {
    int in[2] = {a, b};
    if (df_graph_check_inputs(g, name, in, 2)) return -1;
    df_shape sa = g->nodes[a].shape, sb = g->nodes[b].shape;
    if (!df_shape_equal(sa, sb)) {
        char x[64], y[64];
        return df_graph_fail(g, "layer '%s' (add): shapes differ: '%s' is %s, '%s' is %s", name,
                             g->nodes[a].name, df_shape_str(sa, x, sizeof x), g->nodes[b].name,
                             df_shape_str(sb, y, sizeof y));
    }
    df_node *n = df_graph_add_node(g, &add_op, name, in, 2, sa);
    return n ? n->index : -1;
}

static void scale_forward(df_graph *g, df_node *n) {
    const float *x = df_node_input(g, n, 0)->out, *s = df_node_input(g, n, 1)->out;
    int HW = n->shape.d[1] * n->shape.d[2], C = n->shape.d[3];
#pragma omp parallel for schedule(static)
    for (int b = 0; b < g->batch; b++)
        for (int p = 0; p < HW; p++) {
            size_t r = ((size_t)b * HW + p) * C;
            for (int c = 0; c < C; c++) n->out[r + c] = x[r + c] * s[(size_t)b * C + c];
        }
}

static void scale_backward(df_graph *g, df_node *n) {
    df_node *xn = df_node_input(g, n, 0), *sn = df_node_input(g, n, 1);
    int HW = n->shape.d[1] * n->shape.d[2], C = n->shape.d[3];
#pragma omp parallel for schedule(static)
    for (int b = 0; b < g->batch; b++) {
        for (int c = 0; c < C && sn->dout; c++) {
            float sum = 0.0f;
            for (int p = 0; p < HW; p++) {
                size_t r = ((size_t)b * HW + p) * C + c;
                sum += n->dout[r] * xn->out[r];
            }
            df_grad_put(&sn->dout[(size_t)b * C + c], sum, n->grad_accum[1]);
        }
        if (!xn->dout) continue;
        for (int p = 0; p < HW; p++) {
            size_t r = ((size_t)b * HW + p) * C;
            for (int c = 0; c < C; c++)
                df_grad_put(&xn->dout[r + c], n->dout[r + c] * sn->out[(size_t)b * C + c], n->grad_accum[0]);
        }
    }
}

static const df_op scale_op = {"scale", scale_forward, scale_backward, add_flops, 0};

int df_scale_channels(df_graph *g, const char *name, int x, int s) {
    int in[2] = {x, s};
    if (df_graph_check_inputs(g, name, in, 2)) return -1;
    df_shape xs = g->nodes[x].shape, ss = g->nodes[s].shape;
    if (xs.rank != 4 || ss.rank != 2 || ss.d[1] != xs.d[3]) {
        char a[64], b[64];
        return df_graph_fail(g, "layer '%s' (scale): needs feature maps (batch, h, w, C) and a gate (batch, C); "
                             "got %s from '%s' and %s from '%s'", name, df_shape_str(xs, a, sizeof a),
                             g->nodes[x].name, df_shape_str(ss, b, sizeof b), g->nodes[s].name);
    }
    df_node *n = df_graph_add_node(g, &scale_op, name, in, 2, xs);
    return n ? n->index : -1;
}
