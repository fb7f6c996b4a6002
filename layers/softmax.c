/* softmax.c: softmax over the last dimension, per row (attention weights).
 *   y = exp(x - max(x)) / sum exp(x - max(x))
 * Subtracting the row's maximum keeps every exponent <= 0, so no row overflows whatever its scale; the
 * largest term is exp(0) = 1, so the sum is >= 1 and the division is safe. Backward needs only y:
 *   dx = y (dy - sum(dy y)). */
#include <math.h>

#include "layers/layers.h"

static void softmax_forward(df_graph *g, df_node *n) {
    const float *x = df_node_input(g, n, 0)->out;
    int D = n->shape.d[n->shape.rank - 1];
    long rows = (long)((size_t)g->batch * df_shape_per_sample(n->shape) / (size_t)D);
#pragma omp parallel for schedule(static)
    for (long r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * D;
        float *yr = n->out + (size_t)r * D, mx = xr[0], sum = 0.0f;
        for (int i = 1; i < D; i++) mx = xr[i] > mx ? xr[i] : mx;
        for (int i = 0; i < D; i++) sum += yr[i] = expf(xr[i] - mx);
        for (int i = 0; i < D; i++) yr[i] /= sum;
    }
}

static void softmax_backward(df_graph *g, df_node *n) {
    df_node *xn = df_node_input(g, n, 0);
    if (!xn->dout) return;
    int D = n->shape.d[n->shape.rank - 1], acc = n->grad_accum[0];
    long rows = (long)((size_t)g->batch * df_shape_per_sample(n->shape) / (size_t)D);
#pragma omp parallel for schedule(static)
    for (long r = 0; r < rows; r++) {
        const float *yr = n->out + (size_t)r * D, *dr = n->dout + (size_t)r * D;
        float dot = 0.0f;
        for (int i = 0; i < D; i++) dot += dr[i] * yr[i];
        for (int i = 0; i < D; i++) df_grad_put(&xn->dout[(size_t)r * D + i], yr[i] * (dr[i] - dot), acc);
    }
}

/* Per value: the maximum, the subtraction, the exponential, the sum and the division. */
static double softmax_flops(const df_graph *g, const df_node *n) {
    (void)g;
    return 5.0 * (double)df_shape_per_sample(n->shape);
}

static const df_op softmax_op = {"softmax", softmax_forward, softmax_backward, softmax_flops, 0};

int df_softmax(df_graph *g, const char *name, int x) {
    if (df_graph_check_inputs(g, name, &x, 1)) return -1;
    df_shape xs = g->nodes[x].shape;
    if (xs.rank < 2 || xs.d[xs.rank - 1] < 1) {
        char s[64];
        return df_graph_fail(g, "layer '%s' (softmax): needs (batch, ..., n) with n >= 1, got %s from '%s'", name,
                             df_shape_str(xs, s, sizeof s), g->nodes[x].name);
    }
    df_node *n = df_graph_add_node(g, &softmax_op, name, &x, 1, xs);
    return n ? n->index : -1;
}
