/* conv2d.c: y[b,oh,ow,co] = bias[co] + sum_{i,j,ci} x[b, oh*s+i-p, ow*s+j-p, ci] * W[co,i,j,ci]  (NHWC).
 *
 * Each direction runs the kernel conv_kernel.h chooses (its table says which runs when). NHWC is row-major
 * (pixels, channels), so patches x W^T (K*K*Cin, Cout) is the output directly, and a 1x1 stride-1
 * convolution is a plain GEMM on x. The weight gradient dW += dY^T patches is one product over the whole
 * batch (its sum order depends on the shape only). The implicit input gradient is a convolution of dY with
 * W'[ci, i, j, co] = W[co, K-1-i, K-1-j, ci] (rearranged into scratch), padding K-1-p, so it gathers instead
 * of scattering, and stores or adds (when dx already holds another consumer's gradient) without a clearing
 * pass. The explicit one, per group of images, gathers the patch gradient dcol = dY W back into dx per input
 * pixel, each pixel summing its covering taps in a fixed order. The bias gradient is summed over pixels in
 * order, threads splitting the channels.
 *
 * Scratch (planned by the graph, nothing is allocated in a step), in order: the explicit input gradient's
 * dcol, conv_small's area, W', then the GEMM / direct kernels' workspace (conv_kernel.h, df_conv_ws_bytes). */
#include <math.h>
#include <string.h>

#include "core/error.h"
#include <omp.h>

#include "core/gemm/gemm.h"
#include "layers/conv/conv_kernel.h"
#include "layers/conv/conv_small.h"
#include "layers/layers.h"
#include "layers/simd.h"

typedef df_conv_shape conv_dims;

static conv_dims dims_of(const df_graph *g, const df_node *n) {
    const df_node *x = &g->nodes[n->in[0]];
    conv_dims d = {x->shape.d[1], x->shape.d[2], x->shape.d[3], n->shape.d[1], n->shape.d[2],
                   n->shape.d[3], n->a.conv.kh, n->a.conv.stride, n->a.conv.pad};
    return d;
}

/* Input row h of one image's gradient from its patch gradient dcol (OH*OW, K): each pixel sums the taps
 * whose window covers it (i, then j ascending) and stores the sum, or adds it when acc. */
DF_SIMD_CLONES static void col2im_row(conv_dims d, const float *dcol, int h, float *dx, int acc) {
    size_t K = (size_t)d.k * d.k * d.C;
    for (int w = 0; w < d.W; w++) {
        float *dst = dx + (size_t)w * d.C;
        int first = !acc;
        for (int i = 0; i < d.k; i++) {
            int th = h + d.p - i; /* oh * s */
            if (th < 0 || th % d.s || th / d.s >= d.OH) continue;
            int oh = th / d.s;
            for (int j = 0; j < d.k; j++) {
                int tw = w + d.p - j;
                if (tw < 0 || tw % d.s || tw / d.s >= d.OW) continue;
                int ow = tw / d.s;
                const float *src = dcol + ((size_t)oh * d.OW + ow) * K + ((size_t)i * d.k + j) * d.C;
                if (first)
                    for (int c = 0; c < d.C; c++) dst[c] = src[c];
                else
                    for (int c = 0; c < d.C; c++) dst[c] += src[c];
                first = 0;
            }
        }
        if (first)
            for (int c = 0; c < d.C; c++) dst[c] = 0.0f;
    }
}

static void col2im(conv_dims d, const float *dcol, int n_img, float *dx, int acc) {
    size_t in_img = (size_t)d.H * d.W * d.C, col_img = (size_t)d.OH * d.OW * d.k * d.k * d.C;
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < n_img; b++)
        for (int h = 0; h < d.H; h++)
            col2im_row(d, dcol + b * col_img, h, dx + b * in_img + (size_t)h * d.W * d.C, acc);
}

static size_t align64(size_t n) { return (n + 63) / 64 * 64; }

/* Scratch regions, in order: a group's patch gradient dcol (explicit input gradient only), conv_small's area,
 * the rearranged weights W' of the implicit input gradient, the kernels' workspace. */
static size_t dcol_bytes(conv_dims d, int max_batch) {
    if (df_conv_is_pointwise(d) || df_conv_dgrad_implicit(d)) return 0;
    return align64((size_t)df_conv_group(d, max_batch) * d.OH * d.OW * d.k * d.k * d.C * sizeof(float));
}

static size_t small_bytes(conv_dims d) {
    return df_conv_small_possible(d) ? align64(df_conv_small_scratch_bytes(d.k * d.k * d.C, d.CO)) : 0;
}

static size_t wflip_bytes(conv_dims d) {
    return df_conv_is_pointwise(d) || !df_conv_dgrad_implicit(d) ? 0
                                                                  : align64((size_t)d.k * d.k * d.C * d.CO * sizeof(float));
}

static size_t ws_offset(conv_dims d, int max_batch) { return dcol_bytes(d, max_batch) + small_bytes(d) + wflip_bytes(d); }

/* Threads: as many as OpenMP runs when the layer is built; a later, larger team is capped to them. */
static size_t scratch_bytes(conv_dims d, int max_batch) {
    return ws_offset(d, max_batch) + df_conv_ws_bytes(d, max_batch, omp_get_max_threads());
}

static void *small_scratch(df_graph *g, conv_dims d) { return (char *)g->scratch + dcol_bytes(d, g->max_batch); }

static float *wflip_scratch(df_graph *g, conv_dims d) {
    return (float *)((char *)small_scratch(g, d) + small_bytes(d));
}

static df_gemm_ws ws_scratch(df_graph *g, conv_dims d) {
    const size_t off = ws_offset(d, g->max_batch);
    const df_gemm_ws ws = {(char *)g->scratch + off, g->scratch_bytes - off};
    return ws;
}

/* W' (K, K, CO, C) as rows ((i * K + j) * CO + co) of C floats: W[co, K-1-i, K-1-j, :]. */
static void flip_weights(conv_dims d, const float *w, float *wf) {
    for (int i = 0; i < d.k; i++)
        for (int j = 0; j < d.k; j++)
            for (int co = 0; co < d.CO; co++)
                memcpy(wf + (((size_t)i * d.k + j) * d.CO + co) * d.C,
                       w + (((size_t)co * d.k + (d.k - 1 - i)) * d.k + (d.k - 1 - j)) * d.C, sizeof(float) * d.C);
}

static void conv2d_forward(df_graph *g, df_node *n) {
    conv_dims d = dims_of(g, n);
    const df_node *x = df_node_input(g, n, 0);
    const float *w = df_node_param(g, n, 0);
    int P = d.OH * d.OW, K = d.k * d.k * d.C;
    float beta = 0.0f;
    const float *bias = n->a.conv.has_bias ? df_node_param(g, n, 1) : NULL;
    const df_conv_kernel kind = df_conv_choose(d, DF_CONV_FORWARD, df_gemm_backend_here());
    const df_conv_patches pt = df_conv_input_patches(d, g->batch, x->out);
    if (df_conv_small_isa_of(kind)) {
        df_conv_small_forward(df_conv_small_isa_of(kind), &pt, w, bias, d.CO, n->out, small_scratch(g, d));
        return;
    }
    if (bias) {
        for (long p = 0; p < (long)g->batch * P; p++) memcpy(n->out + p * d.CO, bias, (size_t)d.CO * sizeof(float));
        beta = 1.0f;
    }
    if (kind == DF_CONV_POINTWISE_GEMM)
        df_sgemm_ws(0, 1, g->batch * P, d.CO, K, 1.0f, x->out, K, w, K, beta, n->out, d.CO, ws_scratch(g, d));
    else
        df_conv_patches_times(kind, &pt, 1, d.CO, w, K, beta, n->out, d.CO,
                              ws_scratch(g, d));
}

/* db[c] += sum over rows of dy[r, c]: rows in order, threads split the channels. */
static void bias_grad(const float *dy, long rows, int C, float *db) {
    enum { CB = 16 };
    int nblk = (C + CB - 1) / CB;
#pragma omp parallel for schedule(static)
    for (int blk = 0; blk < nblk; blk++) {
        int c0 = blk * CB, c1 = c0 + CB < C ? c0 + CB : C;
        float acc[CB] = {0};
        for (long r = 0; r < rows; r++)
            for (int c = c0; c < c1; c++) acc[c - c0] += dy[r * C + c];
        for (int c = c0; c < c1; c++) db[c] += acc[c - c0];
    }
}

static void conv2d_backward(df_graph *g, df_node *n) {
    conv_dims d = dims_of(g, n);
    df_node *x = df_node_input(g, n, 0);
    const float *w = df_node_param(g, n, 0);
    float *dw = df_node_param_grad(g, n, 0);
    int P = d.OH * d.OW, K = d.k * d.k * d.C;
    const float dx_beta = n->grad_accum[0] ? 1.0f : 0.0f;
    const df_gemm_backend b = df_gemm_backend_here();
    const df_gemm_ws ws = ws_scratch(g, d);
    if (n->a.conv.has_bias) bias_grad(n->dout, (long)g->batch * P, d.CO, df_node_param_grad(g, n, 1));

    const df_conv_kernel wk = df_conv_choose(d, DF_CONV_WEIGHT_GRAD, b);
    const df_conv_patches pt = df_conv_input_patches(d, g->batch, x->out);
    if (wk == DF_CONV_POINTWISE_GEMM)
        df_sgemm_ws(1, 0, d.CO, K, g->batch * P, 1.0f, n->dout, d.CO, x->out, K, 1.0f, dw, K, ws);
    else if (df_conv_small_isa_of(wk))
        df_conv_small_weight_grad(df_conv_small_isa_of(wk), &pt, n->dout, d.CO, dw, small_scratch(g, d));
    else
        df_conv_wgrad_times(wk, d.CO, n->dout, &pt, dw, K, ws);
    if (!x->dout) return;

    const df_conv_kernel dk = df_conv_choose(d, DF_CONV_INPUT_GRAD, b);
    if (dk == DF_CONV_POINTWISE_GEMM) {
        df_sgemm_ws(0, 0, g->batch * P, K, d.CO, 1.0f, n->dout, d.CO, w, K, dx_beta, x->dout, K, ws);
    } else if (dk != DF_CONV_EXPLICIT_COL2IM) {
        float *wf = wflip_scratch(g, d);
        flip_weights(d, w, wf);
        const df_conv_patches dpt = df_conv_dgrad_patches(d, g->batch, n->dout);
        df_conv_patches_times(dk, &dpt, 0, d.C, wf, d.C, dx_beta, x->dout, d.C, ws);
    } else {
        const int G = df_conv_group(d, g->max_batch);
        const size_t in_size = (size_t)d.H * d.W * d.C, out_size = (size_t)P * d.CO;
        float *dcol = g->scratch;
        for (int b0 = 0; b0 < g->batch; b0 += G) {
            int nb = g->batch - b0 < G ? g->batch - b0 : G;
            df_sgemm_ws(0, 0, nb * P, K, d.CO, 1.0f, n->dout + b0 * out_size, d.CO, w, K, 0.0f, dcol, K, ws);
            col2im(d, dcol, nb, x->dout + b0 * in_size, n->grad_accum[0]);
        }
    }
}

static double conv2d_flops(const df_graph *g, const df_node *n) {
    conv_dims d = dims_of(g, n);
    return 2.0 * d.OH * d.OW * d.CO * d.k * d.k * d.C;
}

static const df_op conv2d_op = {"conv2d", conv2d_forward, conv2d_backward, conv2d_flops, 0};

int df_conv2d(df_graph *g, const char *name, int x, int out_channels, int k, int stride, int pad, int bias) {
    if (df_graph_check_input_rank(g, name, "conv2d", x, 4)) return -1;
    df_shape xs = g->nodes[x].shape;
    char s[64];
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
    n->scratch_bytes = scratch_bytes(d, g->max_batch);
    df_node_add_tensor(g, n, "weight", (df_shape){4, {out_channels, k, k, C}}, DF_PARAM, DF_INIT_NORMAL,
                       sqrtf(2.0f / (float)K), 1);
    if (bias) df_node_add_tensor(g, n, "bias", df_shape1(out_channels), DF_PARAM, DF_INIT_ZERO, 0, 0);
    return g->failed ? -1 : n->index;
}
