/* batchnorm.c: y = gamma * (x - mean) / sqrt(var + eps) + beta, statistics per channel (the last
 * dimension) over all other dimensions.
 *
 * Training mode uses the batch's mean and biased variance and updates the running statistics (running_var
 * with the unbiased variance, as PyTorch does); inference mode uses the running statistics. Sums run over a
 * fixed number of row chunks, each summed by one thread in double and the chunks combined in order, so the
 * result is the same for any thread count. Saved for backward: the batch mean and 1/std per channel. */
#include <math.h>
#include <string.h>

#include "layers/layers.h"

#define BN_CHUNKS 32

typedef struct {
    size_t rows;
    int C;
} bn_dims;

static bn_dims dims_of(const df_graph *g, const df_node *n) {
    bn_dims d = {df_shape_per_sample(n->shape) / (size_t)n->shape.d[n->shape.rank - 1] * (size_t)g->batch,
                 n->shape.d[n->shape.rank - 1]};
    return d;
}

/* Per-chunk partial sums of a(r,c) and b(r,c) (b may be NULL), reduced in chunk order into sa, sb. The
 * scratch holds 2 * BN_CHUNKS * C doubles. */
static void chunked_channel_sums(bn_dims d, const float *a, const float *x, const float *mean,
                                 const float *invstd, double *scratch, double *sa, double *sb) {
    /* With x/mean/invstd given: sa = sum a, sb = sum a * xhat. Without: sa = sum x, sb = sum x^2. */
#pragma omp parallel for schedule(static)
    for (int ch = 0; ch < BN_CHUNKS; ch++) {
        double *pa = scratch + (size_t)ch * 2 * d.C, *pb = pa + d.C;
        for (int c = 0; c < d.C; c++) pa[c] = pb[c] = 0.0;
        size_t r0 = d.rows * ch / BN_CHUNKS, r1 = d.rows * (ch + 1) / BN_CHUNKS;
        for (size_t r = r0; r < r1; r++) {
            const float *ar = a + r * d.C;
            if (x) {
                const float *xr = x + r * d.C;
                for (int c = 0; c < d.C; c++) {
                    pa[c] += ar[c];
                    pb[c] += (double)ar[c] * ((xr[c] - mean[c]) * invstd[c]);
                }
            } else {
                for (int c = 0; c < d.C; c++) {
                    pa[c] += ar[c];
                    pb[c] += (double)ar[c] * ar[c];
                }
            }
        }
    }
    for (int c = 0; c < d.C; c++) sa[c] = sb[c] = 0.0;
    for (int ch = 0; ch < BN_CHUNKS; ch++)
        for (int c = 0; c < d.C; c++) {
            sa[c] += scratch[(size_t)ch * 2 * d.C + c];
            sb[c] += scratch[(size_t)ch * 2 * d.C + d.C + c];
        }
}

static void batchnorm_forward(df_graph *g, df_node *n) {
    bn_dims d = dims_of(g, n);
    const float *x = df_node_input(g, n, 0)->out;
    const float *gamma = df_node_param(g, n, 0), *beta = df_node_param(g, n, 1);
    float *rmean = df_node_param(g, n, 2), *rvar = df_node_param(g, n, 3);
    float *mean = n->saved, *invstd = mean + d.C;
    float eps = n->a.norm.eps, m = n->a.norm.momentum;
    if (g->training) {
        double *sum = g->scratch, *sumsq = sum + d.C, *partial = sumsq + d.C;
        chunked_channel_sums(d, x, NULL, NULL, NULL, partial, sum, sumsq);
        for (int c = 0; c < d.C; c++) {
            double mu = sum[c] / (double)d.rows;
            double var = sumsq[c] / (double)d.rows - mu * mu;
            if (var < 0) var = 0;
            mean[c] = (float)mu;
            invstd[c] = (float)(1.0 / sqrt(var + eps));
            double unbiased = d.rows > 1 ? var * (double)d.rows / (double)(d.rows - 1) : var;
            rmean[c] = (1.0f - m) * rmean[c] + m * (float)mu;
            rvar[c] = (1.0f - m) * rvar[c] + m * (float)unbiased;
        }
    } else {
        for (int c = 0; c < d.C; c++) {
            mean[c] = rmean[c];
            invstd[c] = 1.0f / sqrtf(rvar[c] + eps);
        }
    }
#pragma omp parallel for schedule(static)
    for (size_t r = 0; r < d.rows; r++) {
        const float *xr = x + r * d.C;
        float *yr = n->out + r * d.C;
        for (int c = 0; c < d.C; c++) yr[c] = gamma[c] * (xr[c] - mean[c]) * invstd[c] + beta[c];
    }
}

static void batchnorm_backward(df_graph *g, df_node *n) {
    bn_dims d = dims_of(g, n);
    df_node *xn = df_node_input(g, n, 0);
    const float *gamma = df_node_param(g, n, 0);
    float *dgamma = df_node_param_grad(g, n, 0), *dbeta = df_node_param_grad(g, n, 1);
    const float *mean = n->saved, *invstd = mean + d.C;
    double *sdy = g->scratch, *sdyx = sdy + d.C, *partial = sdyx + d.C;
    chunked_channel_sums(d, n->dout, xn->out, mean, invstd, partial, sdy, sdyx);
    for (int c = 0; c < d.C; c++) {
        dgamma[c] += (float)sdyx[c];
        dbeta[c] += (float)sdy[c];
    }
    if (!xn->dout) return;
    int acc = n->grad_accum[0];
    float *k1 = (float *)(partial), *k2 = k1 + d.C, *k3 = k2 + d.C;
    for (int c = 0; c < d.C; c++) {
        if (g->training) {
            /* dx = gamma*invstd * (dy - mean(dy) - xhat * mean(dy*xhat)) */
            k1[c] = gamma[c] * invstd[c];
            k2[c] = (float)(sdy[c] / (double)d.rows);
            k3[c] = (float)(sdyx[c] / (double)d.rows);
        } else { /* statistics are constants: dx = gamma * invstd * dy */
            k1[c] = gamma[c] * invstd[c];
            k2[c] = k3[c] = 0.0f;
        }
    }
#pragma omp parallel for schedule(static)
    for (size_t r = 0; r < d.rows; r++) {
        const float *xr = xn->out + r * d.C, *dyr = n->dout + r * d.C;
        float *dxr = xn->dout + r * d.C;
        for (int c = 0; c < d.C; c++) {
            float xhat = (xr[c] - mean[c]) * invstd[c];
            df_grad_put(&dxr[c], k1[c] * (dyr[c] - k2[c] - xhat * k3[c]), acc);
        }
    }
}

static double batchnorm_flops(const df_graph *g, const df_node *n) {
    (void)g;
    return 4.0 * (double)df_shape_per_sample(n->shape);
}

static const df_op batchnorm_op = {"batchnorm", batchnorm_forward, batchnorm_backward, batchnorm_flops};

int df_batchnorm(df_graph *g, const char *name, int x, float eps, float momentum) {
    if (df_graph_check_inputs(g, name, &x, 1)) return -1;
    df_shape xs = g->nodes[x].shape;
    char s[64];
    if (xs.rank != 2 && xs.rank != 4)
        return df_graph_fail(g, "layer '%s' (batchnorm): expects (batch, features) or (batch, height, width, "
                             "channels), got %s", name, df_shape_str(xs, s, sizeof s));
    if (!(eps > 0) || !(momentum >= 0 && momentum <= 1))
        return df_graph_fail(g, "layer '%s' (batchnorm): need eps > 0 and momentum in [0, 1], got %g, %g",
                             name, eps, momentum);
    df_node *n = df_graph_add_node(g, &batchnorm_op, name, &x, 1, xs);
    if (!n) return -1;
    n->a.norm.eps = eps;
    n->a.norm.momentum = momentum;
    int C = xs.d[xs.rank - 1];
    n->saved_bytes = 2 * (size_t)C * sizeof(float);
    n->scratch_bytes = (2 + 2 * BN_CHUNKS) * (size_t)C * sizeof(double);
    df_shape cs = df_shape1(C);
    df_node_add_tensor(g, n, "weight", cs, DF_PARAM, DF_INIT_ONE, 0, 0);
    df_node_add_tensor(g, n, "bias", cs, DF_PARAM, DF_INIT_ZERO, 0, 0);
    df_node_add_tensor(g, n, "running_mean", cs, DF_BUFFER, DF_INIT_ZERO, 0, 0);
    df_node_add_tensor(g, n, "running_var", cs, DF_BUFFER, DF_INIT_ONE, 0, 0);
    return g->failed ? -1 : n->index;
}
