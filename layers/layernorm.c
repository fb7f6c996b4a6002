/* layernorm.c: layer normalisation over the last dimension D, per row (every other dimension is rows).
 *   y = (x - mean) / sqrt(var + eps) * weight + bias,  mean and the biased var over the row's D values
 * as PyTorch's LayerNorm(D): weight starts at one, bias at zero. Forward saves each row's mean and
 * 1/sqrt(var + eps) for the backward. Rows are independent, so the forward and the input gradient split
 * over rows; the parameter gradients split over columns, each summing every row in order, so no two
 * threads write the same value and the sums do not depend on the thread count. */
#include <math.h>

#include "layers/layers.h"

static size_t rows_of(const df_graph *g, const df_node *n, int D) {
    return (size_t)g->batch * df_shape_per_sample(n->shape) / (size_t)D;
}

static void layernorm_forward(df_graph *g, df_node *n) {
    const float *x = df_node_input(g, n, 0)->out, *w = df_node_param(g, n, 0), *b = df_node_param(g, n, 1);
    int D = n->shape.d[n->shape.rank - 1];
    long rows = (long)rows_of(g, n, D);
    float *mean = n->saved, *rstd = mean + g->max_batch * (df_shape_per_sample(n->shape) / (size_t)D);
    float eps = n->a.norm.eps;
#pragma omp parallel for schedule(static)
    for (long r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * D;
        float *yr = n->out + (size_t)r * D;
        double s = 0.0, ss = 0.0;
        for (int i = 0; i < D; i++) s += xr[i];
        double mu = s / D;
        for (int i = 0; i < D; i++) ss += (xr[i] - mu) * (xr[i] - mu);
        float m = (float)mu, rs = (float)(1.0 / sqrt(ss / D + eps));
        mean[r] = m;
        rstd[r] = rs;
        for (int i = 0; i < D; i++) yr[i] = (xr[i] - m) * rs * w[i] + b[i];
    }
}

/* With xhat = (x - mean) rstd and g = dy * weight: dx = rstd (g - mean(g) - xhat mean(g xhat)). */
static void layernorm_backward(df_graph *g, df_node *n) {
    df_node *xn = df_node_input(g, n, 0);
    const float *x = xn->out, *w = df_node_param(g, n, 0), *dy = n->dout;
    int D = n->shape.d[n->shape.rank - 1];
    long rows = (long)rows_of(g, n, D);
    const float *mean = n->saved, *rstd = mean + g->max_batch * (df_shape_per_sample(n->shape) / (size_t)D);
    float *dw = df_node_param_grad(g, n, 0), *db = df_node_param_grad(g, n, 1);
#pragma omp parallel for schedule(static)
    for (int i = 0; i < D; i++) {
        float sw = 0.0f, sb = 0.0f;
        for (long r = 0; r < rows; r++) {
            float d = dy[(size_t)r * D + i];
            sw += d * (x[(size_t)r * D + i] - mean[r]) * rstd[r];
            sb += d;
        }
        dw[i] += sw;
        db[i] += sb;
    }
    if (!xn->dout) return;
    int acc = n->grad_accum[0];
#pragma omp parallel for schedule(static)
    for (long r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * D, *dr = dy + (size_t)r * D;
        float m = mean[r], rs = rstd[r], sg = 0.0f, sgx = 0.0f;
        for (int i = 0; i < D; i++) {
            float gi = dr[i] * w[i];
            sg += gi;
            sgx += gi * (xr[i] - m) * rs;
        }
        sg /= (float)D;
        sgx /= (float)D;
        for (int i = 0; i < D; i++) {
            float xhat = (xr[i] - m) * rs;
            df_grad_put(&xn->dout[(size_t)r * D + i], rs * (dr[i] * w[i] - sg - xhat * sgx), acc);
        }
    }
}

/* Per value: the mean, the squared deviation, the normalisation and the affine map. */
static double layernorm_flops(const df_graph *g, const df_node *n) {
    (void)g;
    return 7.0 * (double)df_shape_per_sample(n->shape);
}

static const df_op layernorm_op = {"layernorm", layernorm_forward, layernorm_backward, layernorm_flops, 0};

int df_layernorm(df_graph *g, const char *name, int x, float eps) {
    if (df_graph_check_inputs(g, name, &x, 1)) return -1;
    df_shape xs = g->nodes[x].shape;
    char s[64];
    if (xs.rank < 2)
        return df_graph_fail(g, "layer '%s' (layernorm): needs (batch, ..., features), got %s from '%s'", name,
                             df_shape_str(xs, s, sizeof s), g->nodes[x].name);
    if (!(eps > 0.0f) || !isfinite(eps))
        return df_graph_fail(g, "layer '%s' (layernorm): eps must be a positive number, got %g", name, eps);
    int D = xs.d[xs.rank - 1];
    if (D < 1)
        return df_graph_fail(g, "layer '%s' (layernorm): no features to normalise in %s from '%s'", name,
                             df_shape_str(xs, s, sizeof s), g->nodes[x].name);
    df_node *n = df_graph_add_node(g, &layernorm_op, name, &x, 1, xs);
    if (!n) return -1;
    n->a.norm.eps = eps;
    n->saved_bytes = 2 * (size_t)g->max_batch * (df_shape_per_sample(xs) / (size_t)D) * sizeof(float);
    df_node_add_tensor(g, n, "weight", df_shape1(D), DF_PARAM, DF_INIT_ONE, 0, 0);
    df_node_add_tensor(g, n, "bias", df_shape1(D), DF_PARAM, DF_INIT_ZERO, 0, 0);
    return g->failed ? -1 : n->index;
}
