/* reshape.c: ops that move values without arithmetic.
 *   flatten:          (B, ...) -> (B, prod(...))
 *   reshape:          (B, ...) -> (B, any dimensions with the same product)  (the graph has no views: a copy)
 *   concat:           y = [x1 | x2 | ...] along the last dimension
 *   broadcast_planes: y[b,h,w,m] = x[b,m]   (metadata as constant image planes, for early fusion) */
#include <string.h>

#include "layers/layers.h"

static double no_flops(const df_graph *g, const df_node *n) { return (void)g, (void)n, 0.0; }

static void flatten_forward(df_graph *g, df_node *n) {
    memcpy(n->out, df_node_input(g, n, 0)->out, (size_t)g->batch * df_shape_per_sample(n->shape) * sizeof(float));
}

static void flatten_backward(df_graph *g, df_node *n) {
    df_node *x = df_node_input(g, n, 0);
    if (!x->dout) return;
    size_t count = (size_t)g->batch * df_shape_per_sample(n->shape);
    for (size_t i = 0; i < count; i++) df_grad_put(&x->dout[i], n->dout[i], n->grad_accum[0]);
}

static const df_op flatten_op = {"flatten", flatten_forward, flatten_backward, no_flops, 0};

int df_flatten(df_graph *g, const char *name, int x) {
    if (df_graph_check_inputs(g, name, &x, 1)) return -1;
    df_shape xs = g->nodes[x].shape;
    df_node *n = df_graph_add_node(g, &flatten_op, name, &x, 1, df_shape2(xs.d[0], (int)df_shape_per_sample(xs)));
    return n ? n->index : -1;
}

static const df_op reshape_op = {"reshape", flatten_forward, flatten_backward, no_flops, 0};

int df_reshape(df_graph *g, const char *name, int x, df_shape sample) {
    if (df_graph_check_inputs(g, name, &x, 1)) return -1;
    df_shape xs = g->nodes[x].shape, out = {sample.rank + 1, {xs.d[0]}};
    char a[64], b[64];
    int ok = sample.rank >= 1 && sample.rank < DF_MAX_RANK;
    for (int i = 0; ok && i < sample.rank; i++) ok = sample.d[i] >= 1, out.d[i + 1] = sample.d[i];
    if (!ok || df_shape_per_sample(out) != df_shape_per_sample(xs))
        return df_graph_fail(g, "layer '%s' (reshape): cannot make %s from '%s' into %s per sample", name,
                             df_shape_str(xs, a, sizeof a), g->nodes[x].name,
                             ok ? df_shape_str(out, b, sizeof b) : "that shape");
    df_node *n = df_graph_add_node(g, &reshape_op, name, &x, 1, out);
    return n ? n->index : -1;
}

/* Rows: every dimension but the last; each input contributes a run of its last-dimension width per row. */
static void concat_forward(df_graph *g, df_node *n) {
    int width = n->shape.d[n->shape.rank - 1];
    size_t rows = (size_t)g->batch * df_shape_per_sample(n->shape) / (size_t)width;
    for (int k = 0; k < n->n_in; k++) {
        const df_node *x = df_node_input(g, n, k);
        int w = x->shape.d[x->shape.rank - 1], off = n->a.concat.axis_offset[k];
#pragma omp parallel for schedule(static)
        for (size_t r = 0; r < rows; r++)
            memcpy(n->out + r * width + off, x->out + r * w, (size_t)w * sizeof(float));
    }
}

static void concat_backward(df_graph *g, df_node *n) {
    int width = n->shape.d[n->shape.rank - 1];
    size_t rows = (size_t)g->batch * df_shape_per_sample(n->shape) / (size_t)width;
    for (int k = 0; k < n->n_in; k++) {
        df_node *x = df_node_input(g, n, k);
        if (!x->dout) continue;
        int w = x->shape.d[x->shape.rank - 1], off = n->a.concat.axis_offset[k], acc = n->grad_accum[k];
#pragma omp parallel for schedule(static)
        for (size_t r = 0; r < rows; r++)
            for (int c = 0; c < w; c++) df_grad_put(&x->dout[r * w + c], n->dout[r * width + off + c], acc);
    }
}

static const df_op concat_op = {"concat", concat_forward, concat_backward, no_flops, 0};

int df_concat(df_graph *g, const char *name, const int *xs, int count) {
    if (count < 1 || count > DF_MAX_INPUTS)
        return df_graph_fail(g, "layer '%s' (concat): takes 1 to %d inputs, got %d", name, DF_MAX_INPUTS, count);
    if (df_graph_check_inputs(g, name, xs, count)) return -1;
    df_shape out = g->nodes[xs[0]].shape;
    int last = out.rank - 1, offsets[DF_MAX_INPUTS];
    out.d[last] = 0;
    for (int k = 0; k < count; k++) {
        df_shape s = g->nodes[xs[k]].shape;
        int same = s.rank == out.rank;
        for (int i = 0; same && i < last; i++) same = s.d[i] == out.d[i];
        if (!same) {
            char a[64], b[64];
            return df_graph_fail(g, "layer '%s' (concat): input '%s' has shape %s but '%s' has %s; all "
                                 "dimensions but the last must match", name, g->nodes[xs[k]].name,
                                 df_shape_str(s, a, sizeof a), g->nodes[xs[0]].name,
                                 df_shape_str(g->nodes[xs[0]].shape, b, sizeof b));
        }
        offsets[k] = out.d[last];
        out.d[last] += s.d[last];
    }
    df_node *n = df_graph_add_node(g, &concat_op, name, xs, count, out);
    if (!n) return -1;
    memcpy(n->a.concat.axis_offset, offsets, sizeof(int) * (size_t)count);
    return n->index;
}

static void planes_forward(df_graph *g, df_node *n) {
    const df_node *x = df_node_input(g, n, 0);
    int M = x->shape.d[1], HW = n->shape.d[1] * n->shape.d[2];
#pragma omp parallel for schedule(static)
    for (int b = 0; b < g->batch; b++)
        for (int p = 0; p < HW; p++)
            memcpy(n->out + ((size_t)b * HW + p) * M, x->out + (size_t)b * M, (size_t)M * sizeof(float));
}

static void planes_backward(df_graph *g, df_node *n) {
    df_node *x = df_node_input(g, n, 0);
    if (!x->dout) return;
    int M = x->shape.d[1], HW = n->shape.d[1] * n->shape.d[2];
#pragma omp parallel for schedule(static)
    for (int b = 0; b < g->batch; b++)
        for (int m = 0; m < M; m++) {
            float sum = 0.0f;
            for (int p = 0; p < HW; p++) sum += n->dout[((size_t)b * HW + p) * M + m];
            df_grad_put(&x->dout[(size_t)b * M + m], sum, n->grad_accum[0]);
        }
}

static const df_op planes_op = {"planes", planes_forward, planes_backward, no_flops, 0};

int df_broadcast_planes(df_graph *g, const char *name, int x, int h, int w) {
    if (df_graph_check_input_rank(g, name, "planes", x, 2)) return -1;
    df_shape xs = g->nodes[x].shape;
    if (h < 1 || w < 1) return df_graph_fail(g, "layer '%s' (planes): plane size %dx%d", name, h, w);
    df_node *n = df_graph_add_node(g, &planes_op, name, &x, 1, df_shape4(xs.d[0], h, w, xs.d[1]));
    if (!n) return -1;
    n->a.planes.h = h;
    n->a.planes.w = w;
    return n->index;
}
