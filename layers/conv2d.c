/* conv2d.c: y[b,oh,ow,co] = bias[co] + sum_{i,j,ci} x[b, oh*s+i-p, ow*s+j-p, ci] * W[co,i,j,ci]  (NHWC).
 *
 * Lowered per image to one GEMM: the patch matrix col (OH*OW, K*K*Cin) times W^T (K*K*Cin, Cout). In NHWC
 * each patch row is K*K contiguous runs of Cin floats, so building it is a row copy, and a 1x1 stride-1
 * convolution needs no copy at all. Backward: dW += dY^T col, dcol = dY W scattered back (col2im).
 * Images are processed one after another so the scratch patch matrix stays cache-sized and the weight
 * gradient is summed over images in a fixed order. */
#include <string.h>
#include <math.h>

#include "core/gemm.h"
#include "layers/layers.h"

typedef struct {
    int H, W, C, OH, OW, CO, k, s, p;
} conv_dims;

static conv_dims dims_of(const df_graph *g, const df_node *n) {
    const df_node *x = &g->nodes[n->in[0]];
    conv_dims d = {x->shape.d[1], x->shape.d[2], x->shape.d[3], n->shape.d[1], n->shape.d[2],
                   n->shape.d[3], n->a.conv.kh, n->a.conv.stride, n->a.conv.pad};
    return d;
}

static int is_pointwise(conv_dims d) { return d.k == 1 && d.s == 1 && d.p == 0; }

/* col (OH*OW, k*k*C) from one image x (H, W, C); out-of-image taps are zero. */
static void im2col(conv_dims d, const float *x, float *col) {
    size_t K = (size_t)d.k * d.k * d.C;
#pragma omp parallel for schedule(static)
    for (int oh = 0; oh < d.OH; oh++)
        for (int ow = 0; ow < d.OW; ow++) {
            float *row = col + ((size_t)oh * d.OW + ow) * K;
            for (int i = 0; i < d.k; i++) {
                int h = oh * d.s + i - d.p;
                for (int j = 0; j < d.k; j++) {
                    int w = ow * d.s + j - d.p;
                    float *dst = row + ((size_t)i * d.k + j) * d.C;
                    if (h < 0 || h >= d.H || w < 0 || w >= d.W)
                        memset(dst, 0, (size_t)d.C * sizeof(float));
                    else
                        memcpy(dst, x + ((size_t)h * d.W + w) * d.C, (size_t)d.C * sizeof(float));
                }
            }
        }
}

/* dx (H, W, C) += col2im(dcol). Parallel over input rows: each thread gathers every patch tap that lands in
 * its rows, so writes are disjoint and the summation order is fixed. */
static void col2im_add(conv_dims d, const float *dcol, float *dx) {
    size_t K = (size_t)d.k * d.k * d.C;
#pragma omp parallel for schedule(static)
    for (int h = 0; h < d.H; h++)
        for (int i = 0; i < d.k; i++) {
            int t = h + d.p - i; /* oh * s = t */
            if (t < 0 || t % d.s) continue;
            int oh = t / d.s;
            if (oh >= d.OH) continue;
            for (int ow = 0; ow < d.OW; ow++)
                for (int j = 0; j < d.k; j++) {
                    int w = ow * d.s + j - d.p;
                    if (w < 0 || w >= d.W) continue;
                    const float *src = dcol + ((size_t)oh * d.OW + ow) * K + ((size_t)i * d.k + j) * d.C;
                    float *dst = dx + ((size_t)h * d.W + w) * d.C;
                    for (int c = 0; c < d.C; c++) dst[c] += src[c];
                }
        }
}

static void conv2d_forward(df_graph *g, df_node *n) {
    conv_dims d = dims_of(g, n);
    const df_node *x = df_node_input(g, n, 0);
    const float *w = df_node_param(g, n, 0);
    int P = d.OH * d.OW, K = d.k * d.k * d.C;
    size_t in_size = (size_t)d.H * d.W * d.C, out_size = (size_t)P * d.CO;
    for (int b = 0; b < g->batch; b++) {
        const float *xb = x->out + b * in_size;
        float *yb = n->out + b * out_size;
        const float *col = xb;
        if (!is_pointwise(d)) {
            im2col(d, xb, g->scratch);
            col = g->scratch;
        }
        float beta = 0.0f;
        if (n->a.conv.has_bias) {
            const float *bias = df_node_param(g, n, 1);
            for (int p = 0; p < P; p++) memcpy(yb + (size_t)p * d.CO, bias, (size_t)d.CO * sizeof(float));
            beta = 1.0f;
        }
        df_sgemm(0, 1, P, d.CO, K, 1.0f, col, K, w, K, beta, yb, d.CO);
    }
}

static void conv2d_backward(df_graph *g, df_node *n) {
    conv_dims d = dims_of(g, n);
    df_node *x = df_node_input(g, n, 0);
    const float *w = df_node_param(g, n, 0);
    float *dw = df_node_param_grad(g, n, 0);
    int P = d.OH * d.OW, K = d.k * d.k * d.C;
    size_t in_size = (size_t)d.H * d.W * d.C, out_size = (size_t)P * d.CO;
    float *col = g->scratch;
    float *dcol = (float *)g->scratch + (is_pointwise(d) ? 0 : (size_t)P * K);
    for (int b = 0; b < g->batch; b++) {
        const float *xb = x->out + b * in_size;
        const float *dyb = n->dout + b * out_size;
        const float *cb = xb;
        if (!is_pointwise(d)) {
            im2col(d, xb, col);
            cb = col;
        }
        df_sgemm(1, 0, d.CO, K, P, 1.0f, dyb, d.CO, cb, K, 1.0f, dw, K);
        if (n->a.conv.has_bias) {
            float *db = df_node_param_grad(g, n, 1);
            for (int p = 0; p < P; p++)
                for (int c = 0; c < d.CO; c++) db[c] += dyb[(size_t)p * d.CO + c];
        }
        if (!x->dout) continue;
        float *dxb = x->dout + b * in_size;
        if (is_pointwise(d)) {
            df_sgemm(0, 0, P, K, d.CO, 1.0f, dyb, d.CO, w, K, n->grad_accum[0] ? 1.0f : 0.0f, dxb, K);
        } else {
            df_sgemm(0, 0, P, K, d.CO, 1.0f, dyb, d.CO, w, K, 0.0f, dcol, K);
            if (!n->grad_accum[0]) memset(dxb, 0, in_size * sizeof(float));
            col2im_add(d, dcol, dxb);
        }
    }
}

static double conv2d_flops(const df_graph *g, const df_node *n) {
    conv_dims d = dims_of(g, n);
    return 2.0 * d.OH * d.OW * d.CO * d.k * d.k * d.C;
}

static const df_op conv2d_op = {"conv2d", conv2d_forward, conv2d_backward, conv2d_flops};

int df_conv2d(df_graph *g, const char *name, int x, int out_channels, int k, int stride, int pad, int bias) {
    if (df_graph_check_inputs(g, name, &x, 1)) return -1;
    df_shape xs = g->nodes[x].shape;
    char s[64];
    if (xs.rank != 4)
        return df_graph_fail(g, "layer '%s' (conv2d): expects input (batch, height, width, channels), got %s "
                             "from '%s'", name, df_shape_str(xs, s, sizeof s), g->nodes[x].name);
    if (k < 1 || stride < 1 || pad < 0 || out_channels < 1)
        return df_graph_fail(g, "layer '%s' (conv2d): kernel %d, stride %d, padding %d, channels %d: need "
                             "kernel >= 1, stride >= 1, padding >= 0, channels >= 1", name, k, stride, pad,
                             out_channels);
    int H = xs.d[1], W = xs.d[2], C = xs.d[3];
    if (H + 2 * pad < k || W + 2 * pad < k)
        return df_graph_fail(g, "layer '%s' (conv2d): a %dx%d kernel with padding %d does not fit input %s",
                             name, k, k, pad, df_shape_str(xs, s, sizeof s));
    int OH = (H + 2 * pad - k) / stride + 1, OW = (W + 2 * pad - k) / stride + 1;
    df_node *n = df_graph_add_node(g, &conv2d_op, name, &x, 1, df_shape4(xs.d[0], OH, OW, out_channels));
    if (!n) return -1;
    n->a.conv.kh = n->a.conv.kw = k;
    n->a.conv.stride = stride;
    n->a.conv.pad = pad;
    n->a.conv.has_bias = bias;
    int K = k * k * C;
    conv_dims d = dims_of(g, n);
    /* Patch matrix, and in backward its gradient beside it. */
    n->scratch_bytes = is_pointwise(d) ? 0 : 2 * (size_t)OH * OW * K * sizeof(float);
    df_node_add_tensor(g, n, "weight", (df_shape){4, {out_channels, k, k, C}}, DF_PARAM, DF_INIT_NORMAL,
                       sqrtf(2.0f / (float)K), 1);
    if (bias) df_node_add_tensor(g, n, "bias", df_shape1(out_channels), DF_PARAM, DF_INIT_ZERO, 0, 0);
    return g->failed ? -1 : n->index;
}
