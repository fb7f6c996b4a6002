/* film.c: feature-wise linear modulation of image feature maps by per-sample, per-channel coefficients.
 *   y[b,h,w,c] = (1 + gamma[b,c]) x[b,h,w,c] + beta[b,c],   x (B, H, W, C), gamma and beta (B, C)
 * The scale is 1 + gamma rather than gamma so that gamma = beta = 0 is the identity: a model whose FiLM
 * generators start at zero starts as its plain backbone. Every split is over samples, whose outputs and
 * coefficient gradients no other sample writes. */
#include "layers/layers.h"

static void film_forward(df_graph *g, df_node *n) {
    const float *x = df_node_input(g, n, 0)->out, *gm = df_node_input(g, n, 1)->out,
                *bt = df_node_input(g, n, 2)->out;
    int HW = n->shape.d[1] * n->shape.d[2], C = n->shape.d[3];
#pragma omp parallel for schedule(static)
    for (int b = 0; b < g->batch; b++) {
        const float *gb = gm + (size_t)b * C, *bb = bt + (size_t)b * C;
        for (int p = 0; p < HW; p++) {
            size_t r = ((size_t)b * HW + p) * C;
            for (int c = 0; c < C; c++) n->out[r + c] = (1.0f + gb[c]) * x[r + c] + bb[c];
        }
    }
}

static void film_backward(df_graph *g, df_node *n) {
    df_node *xn = df_node_input(g, n, 0), *gn = df_node_input(g, n, 1), *bn = df_node_input(g, n, 2);
    int HW = n->shape.d[1] * n->shape.d[2], C = n->shape.d[3];
#pragma omp parallel for schedule(static)
    for (int b = 0; b < g->batch; b++) {
        for (int c = 0; c < C && (gn->dout || bn->dout); c++) {
            float sg = 0.0f, sb = 0.0f;
            for (int p = 0; p < HW; p++) {
                size_t r = ((size_t)b * HW + p) * C + c;
                sg += n->dout[r] * xn->out[r];
                sb += n->dout[r];
            }
            if (gn->dout) df_grad_put(&gn->dout[(size_t)b * C + c], sg, n->grad_accum[1]);
            if (bn->dout) df_grad_put(&bn->dout[(size_t)b * C + c], sb, n->grad_accum[2]);
        }
        if (!xn->dout) continue;
        const float *gb = gn->out + (size_t)b * C;
        for (int p = 0; p < HW; p++) {
            size_t r = ((size_t)b * HW + p) * C;
            for (int c = 0; c < C; c++) df_grad_put(&xn->dout[r + c], (1.0f + gb[c]) * n->dout[r + c], n->grad_accum[0]);
        }
    }
}

static double film_flops(const df_graph *g, const df_node *n) {
    (void)g;
    return 2.0 * (double)df_shape_per_sample(n->shape);
}

static const df_op film_op = {"film", film_forward, film_backward, film_flops, 0};

int df_film(df_graph *g, const char *name, int x, int gamma, int beta) {
    int in[3] = {x, gamma, beta};
    if (df_graph_check_inputs(g, name, in, 3)) return -1;
    df_shape xs = g->nodes[x].shape, gs = g->nodes[gamma].shape, bs = g->nodes[beta].shape;
    if (xs.rank != 4 || !df_shape_equal(gs, bs) || gs.rank != 2 || gs.d[0] != xs.d[0] || gs.d[1] != xs.d[3]) {
        char a[64], b[64], c[64];
        return df_graph_fail(g, "layer '%s' (film): needs feature maps (batch, h, w, C) and gamma and beta (batch, "
                             "C); got %s from '%s', %s from '%s' and %s from '%s'", name, df_shape_str(xs, a, sizeof a),
                             g->nodes[x].name, df_shape_str(gs, b, sizeof b), g->nodes[gamma].name,
                             df_shape_str(bs, c, sizeof c), g->nodes[beta].name);
    }
    df_node *n = df_graph_add_node(g, &film_op, name, in, 3, xs);
    return n ? n->index : -1;
}
