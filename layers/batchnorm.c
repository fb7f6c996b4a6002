/* batchnorm.c: y = gamma * (x - mean) / sqrt(var + eps) + beta, statistics per channel (the last
 * dimension) over all other dimensions; and, as single ops (layers/fused.h), the same followed by
 * y = max(y, 0), by that and 2x2 stride-2 max pooling, or by a residual's addition and then max(y, 0).
 *
 * Training mode uses the batch's mean and biased variance and updates the running statistics (running_var
 * with the unbiased variance, as PyTorch does); inference mode uses the running statistics. The memory
 * passes live in bn_kernels.c: forward reads x twice and writes y once, backward reads dy and x twice and
 * writes dx once; sums are chunked so the result is the same for any thread count. Saved for backward: the
 * mean, 1/std, and the scale and shift the forward applied, per channel.
 *
 * With g->dist of several ranks (sync batch norm, bn_sync.h), training mode normalises with the statistics of
 * the whole batch the ranks hold together, and backward uses the whole batch's gradient sums for dx; the
 * gradients of gamma and beta stay this rank's share (the trainer sums parameter gradients over the ranks).
 * While g->bn_precise collects (bn_precise.h), training mode hands its batch moments there instead of updating
 * the running statistics. */
#include <math.h>
#include <string.h>

#include "layers/bn_kernels.h"
#include "layers/bn_precise.h"
#include "layers/bn_sync.h"
#include "layers/fused.h"
#include "layers/layers.h"

typedef struct {
    size_t rows;
    int C;
    int B, H, W; /* of the input, for the pooled op */
} bn_dims;

/* Over the input: the pooled op's output is smaller than what it normalises. */
static bn_dims dims_of(const df_graph *g, const df_node *n) {
    const df_shape s = g->nodes[n->in[0]].shape;
    const int C = s.d[s.rank - 1];
    bn_dims d = {df_shape_per_sample(s) / (size_t)C * (size_t)g->batch, C, g->batch, s.d[1], s.d[2]};
    return d;
}

static int fused_relu(const df_node *n);
static int fused_pool(const df_node *n);
static int fused_add(const df_node *n);

/* Scratch: the kernels' partial sums, then 2 C doubles and 3 C floats of per-channel constants. */
static size_t scratch_bytes(int C) {
    return df_bn_scratch_bytes(C) + 2 * (size_t)C * sizeof(double) + 3 * (size_t)C * sizeof(float);
}

static void batchnorm_forward(df_graph *g, df_node *n) {
    bn_dims d = dims_of(g, n);
    const float *x = df_node_input(g, n, 0)->out;
    const float *gamma = df_node_param(g, n, 0), *beta = df_node_param(g, n, 1);
    float *rmean = df_node_param(g, n, 2), *rvar = df_node_param(g, n, 3);
    float *mean = n->saved, *invstd = mean + d.C, *scale = invstd + d.C, *shift = scale + d.C;
    float eps = n->a.norm.eps, m = n->a.norm.momentum;
    if (g->training) {
        double *mu = (double *)((unsigned char *)g->scratch + df_bn_scratch_bytes(d.C)), *var = mu + d.C;
        size_t rows = d.rows;
        if (rows) df_bn_stats(d.rows, d.C, x, mu, var, g->scratch);
        if (g->bn_precise) df_bn_precise_add(g->bn_precise, n->index, d.rows, d.C, mu, var); /* this rank's rows */
        if (df_bn_synced(g->dist)) rows = df_bn_sync_stats(g->dist, d.rows, d.C, mu, var, g->scratch);
        for (int c = 0; c < d.C; c++) {
            mean[c] = (float)mu[c];
            invstd[c] = (float)(1.0 / sqrt(var[c] + eps));
            if (g->bn_precise) continue; /* the running statistics are set from all batches at its end */
            double unbiased = rows > 1 ? var[c] * (double)rows / (double)(rows - 1) : var[c];
            rmean[c] = (1.0f - m) * rmean[c] + m * (float)mu[c];
            rvar[c] = (1.0f - m) * rvar[c] + m * (float)unbiased;
        }
    } else {
        for (int c = 0; c < d.C; c++) {
            mean[c] = rmean[c];
            invstd[c] = 1.0f / sqrtf(rvar[c] + eps);
        }
    }
    for (int c = 0; c < d.C; c++) {
        scale[c] = gamma[c] * invstd[c];
        shift[c] = beta[c] - mean[c] * scale[c];
    }
    if (fused_pool(n))
        df_bn_relu_pool_apply(d.B, d.H, d.W, d.C, x, n->out, scale, shift);
    else if (fused_add(n))
        df_bn_add_relu_apply(d.rows, d.C, x, df_node_input(g, n, 1)->out, n->out, scale, shift);
    else
        df_bn_apply(d.rows, d.C, x, n->out, scale, shift, fused_relu(n));
}

static void batchnorm_backward(df_graph *g, df_node *n) {
    bn_dims d = dims_of(g, n);
    df_node *xn = df_node_input(g, n, 0);
    const float *gamma = df_node_param(g, n, 0);
    float *dgamma = df_node_param_grad(g, n, 0), *dbeta = df_node_param_grad(g, n, 1);
    const float *mean = n->saved, *invstd = mean + d.C, *scale = invstd + d.C, *shift = scale + d.C;
    const int relu = fused_relu(n);
    double *sg = (double *)((unsigned char *)g->scratch + df_bn_scratch_bytes(d.C)), *sgc = sg + d.C;
    if (fused_pool(n))
        df_bn_relu_pool_grad_sums(d.B, d.H, d.W, d.C, n->dout, xn->out, mean, scale, shift, sg, sgc, g->scratch);
    else if (fused_add(n))
        df_bn_add_relu_grad_sums(d.rows, d.C, n->dout, n->out, xn->out, mean, sg, sgc, g->scratch);
    else
        df_bn_grad_sums(d.rows, d.C, n->dout, xn->out, mean, relu ? scale : NULL, relu ? shift : NULL, sg, sgc,
                        g->scratch);
    for (int c = 0; c < d.C; c++) {
        dgamma[c] += (float)(invstd[c] * sgc[c]); /* sum g * xhat */
        dbeta[c] += (float)sg[c];
    }
    float *dr = fused_add(n) ? df_node_input(g, n, 1)->dout : NULL;
    if (!xn->dout && !dr) return;
    size_t rows = d.rows;
    if (g->training && df_bn_synced(g->dist)) rows = df_bn_sync_grad_sums(g->dist, d.rows, d.C, sg, sgc, g->scratch);
    float *a = (float *)(sgc + d.C), *b = a + d.C, *k = b + d.C;
    for (int c = 0; c < d.C; c++) {
        a[c] = gamma[c] * invstd[c];
        if (g->training) {
            /* dx = gamma*invstd * (g - mean(g) - xhat * mean(g*xhat)) */
            double N = (double)rows, is = invstd[c];
            b[c] = (float)(-(double)a[c] * is * is * sgc[c] / N);
            k[c] = (float)(-(double)a[c] * sg[c] / N);
        } else { /* statistics are constants: dx = gamma * invstd * g */
            b[c] = k[c] = 0.0f;
        }
    }
    if (fused_pool(n))
        df_bn_relu_pool_grad_apply(d.B, d.H, d.W, d.C, n->dout, xn->out, xn->dout, mean, scale, shift, a, b, k,
                                   n->grad_accum[0]);
    else if (fused_add(n))
        df_bn_add_relu_grad_apply(d.rows, d.C, n->dout, n->out, xn->out, xn->dout, dr, mean, a, b, k,
                                  n->grad_accum[0], n->grad_accum[1]);
    else
        df_bn_grad_apply(d.rows, d.C, n->dout, xn->out, xn->dout, mean, relu ? scale : NULL,
                         relu ? shift : NULL, a, b, k, n->grad_accum[0]);
}

static double batchnorm_flops(const df_graph *g, const df_node *n) {
    return 4.0 * (double)df_shape_per_sample(g->nodes[n->in[0]].shape);
}

/* with_empty_batch: an empty part of a batch still takes part in sync batch norm's sums. */
static const df_op batchnorm_op = {"batchnorm", batchnorm_forward, batchnorm_backward, batchnorm_flops, 1};
static const df_op batchnorm_relu_op = {"batchnorm_relu", batchnorm_forward, batchnorm_backward,
                                        batchnorm_flops, 1};

static const df_op batchnorm_relu_pool_op = {"batchnorm_relu_maxpool", batchnorm_forward, batchnorm_backward,
                                             batchnorm_flops, 1};

static const df_op batchnorm_add_relu_op = {"batchnorm_add_relu", batchnorm_forward, batchnorm_backward,
                                            batchnorm_flops, 1};

static int fused_relu(const df_node *n) { return n->op == &batchnorm_relu_op || fused_pool(n); }
static int fused_pool(const df_node *n) { return n->op == &batchnorm_relu_pool_op; }
static int fused_add(const df_node *n) { return n->op == &batchnorm_add_relu_op; }

/* residual: the second input of batchnorm_add_relu (unused by the others). */
static int add_batchnorm(df_graph *g, const df_op *op, const char *name, int x, int residual, float eps,
                         float momentum) {
    const int in[2] = {x, residual}, n_in = op == &batchnorm_add_relu_op ? 2 : 1;
    if (df_graph_check_inputs(g, name, in, n_in)) return -1;
    df_shape xs = g->nodes[x].shape;
    char s[64], rs[64];
    if (n_in == 2 && !df_shape_equal(xs, g->nodes[residual].shape))
        return df_graph_fail(g, "layer '%s' (%s): the residual '%s' is %s, the normalised input '%s' %s", name,
                             op->name, g->nodes[residual].name, df_shape_str(g->nodes[residual].shape, rs, sizeof rs),
                             g->nodes[x].name, df_shape_str(xs, s, sizeof s));
    if (xs.rank != 2 && xs.rank != 4)
        return df_graph_fail(g, "layer '%s' (%s): expects (batch, features) or (batch, height, width, "
                             "channels), got %s", name, op->name, df_shape_str(xs, s, sizeof s));
    if (!(eps > 0) || !(momentum >= 0 && momentum <= 1))
        return df_graph_fail(g, "layer '%s' (%s): need eps > 0 and momentum in [0, 1], got %g, %g", name,
                             op->name, eps, momentum);
    df_shape ys = xs;
    if (op == &batchnorm_relu_pool_op) {
        if (xs.rank != 4 || xs.d[1] < 2 || xs.d[2] < 2)
            return df_graph_fail(g, "layer '%s' (%s): expects (batch, height, width, channels) with height and "
                                 "width at least 2 to pool, got %s", name, op->name, df_shape_str(xs, s, sizeof s));
        ys.d[1] /= 2;
        ys.d[2] /= 2;
    }
    df_node *n = df_graph_add_node(g, op, name, in, n_in, ys);
    if (!n) return -1;
    n->a.norm.eps = eps;
    n->a.norm.momentum = momentum;
    int C = xs.d[xs.rank - 1];
    n->saved_bytes = 4 * (size_t)C * sizeof(float);
    n->scratch_bytes = scratch_bytes(C);
    df_shape cs = df_shape1(C);
    df_node_add_tensor(g, n, "weight", cs, DF_PARAM, DF_INIT_ONE, 0, 0);
    df_node_add_tensor(g, n, "bias", cs, DF_PARAM, DF_INIT_ZERO, 0, 0);
    df_node_add_tensor(g, n, "running_mean", cs, DF_BUFFER, DF_INIT_ZERO, 0, 0);
    df_node_add_tensor(g, n, "running_var", cs, DF_BUFFER, DF_INIT_ONE, 0, 0);
    return g->failed ? -1 : n->index;
}

int df_batchnorm(df_graph *g, const char *name, int x, float eps, float momentum) {
    return add_batchnorm(g, &batchnorm_op, name, x, -1, eps, momentum);
}

int df_batchnorm_relu(df_graph *g, const char *name, int x, float eps, float momentum) {
    return add_batchnorm(g, &batchnorm_relu_op, name, x, -1, eps, momentum);
}

int df_batchnorm_relu_maxpool(df_graph *g, const char *name, int x, float eps, float momentum) {
    return add_batchnorm(g, &batchnorm_relu_pool_op, name, x, -1, eps, momentum);
}

int df_batchnorm_add_relu(df_graph *g, const char *name, int x, int residual, float eps, float momentum) {
    return add_batchnorm(g, &batchnorm_add_relu_op, name, x, residual, eps, momentum);
}
