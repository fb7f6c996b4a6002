/* pool.c: window pooling over NHWC images, and global average pooling.
 *   maxpool:  y[b,oh,ow,c] = max over the k x k window of x (padding never wins; a NaN in the window wins)
 *   avgpool:  y[b,oh,ow,c] = sum over the window / (k*k)  (padding counts as zeros)
 *   gap:      y[b,c] = mean over h, w of x[b,h,w,c]
 * Max pooling saves, per output element, which tap of its window won (i * k + j, 16 bits; the first maximum
 * on ties) for its backward. Loops run over rows with channels innermost (vectorised, see simd.h). Backward
 * loops run over input rows (max and average pooling gather from the outputs whose window covers the row),
 * so writes are disjoint and independent of the thread count. */
#include <stdint.h>
#include <string.h>

#include "layers/layers.h"
#include "layers/simd.h"

typedef struct {
    int H, W, C, OH, OW, k, s, p;
} pool_dims;

static pool_dims dims_of(const df_graph *g, const df_node *n) {
    const df_node *x = &g->nodes[n->in[0]];
    pool_dims d = {x->shape.d[1], x->shape.d[2], x->shape.d[3], n->shape.d[1], n->shape.d[2],
                   n->a.pool.k, n->a.pool.stride, n->a.pool.pad};
    return d;
}

/* Forward of one output row (b, oh) of max pooling: every (ow, c), with the winning tap i*k+j saved. */
DF_SIMD_CLONES static void maxpool_row(pool_dims d, const float *xb, int oh, float *y, uint16_t *arg) {
    for (int ow = 0; ow < d.OW; ow++) {
        float *yo = y + (size_t)ow * d.C;
        uint16_t *ao = arg + (size_t)ow * d.C;
        int first = 1;
        for (int i = 0; i < d.k; i++) {
            int h = oh * d.s + i - d.p;
            if (h < 0 || h >= d.H) continue;
            for (int j = 0; j < d.k; j++) {
                int w = ow * d.s + j - d.p;
                if (w < 0 || w >= d.W) continue;
                const float *xr = xb + ((size_t)h * d.W + w) * d.C;
                uint16_t tap = (uint16_t)(i * d.k + j);
                if (first) {
                    for (int c = 0; c < d.C; c++) yo[c] = xr[c], ao[c] = tap;
                    first = 0;
                } else {
                    for (int c = 0; c < d.C; c++) {
                        /* the first maximum wins ties; a NaN wins, so it is not lost (as in PyTorch) */
                        int win = xr[c] > yo[c] || xr[c] != xr[c];
                        yo[c] = win ? xr[c] : yo[c];
                        ao[c] = win ? tap : ao[c];
                    }
                }
            }
        }
    }
}

static void maxpool_forward(df_graph *g, df_node *n) {
    pool_dims d = dims_of(g, n);
    const float *x = df_node_input(g, n, 0)->out;
    uint16_t *arg = n->saved;
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < g->batch; b++)
        for (int oh = 0; oh < d.OH; oh++) {
            size_t o = (((size_t)b * d.OH + oh) * d.OW) * d.C;
            maxpool_row(d, x + (size_t)b * d.H * d.W * d.C, oh, n->out + o, arg + o);
        }
}

/* Runs BODY with (oh, ow) set to each output whose window covers input (h, w), and (i, j) to the tap. */
#define FOR_COVERING_OUTPUTS(d, h, w, BODY)                                                          \
    for (int i = 0; i < (d).k; i++) {                                                                \
        int th = (h) + (d).p - i;                                                                    \
        if (th < 0 || th % (d).s || th / (d).s >= (d).OH) continue;                                  \
        int oh = th / (d).s;                                                                         \
        for (int j = 0; j < (d).k; j++) {                                                            \
            int tw = (w) + (d).p - j;                                                                \
            if (tw < 0 || tw % (d).s || tw / (d).s >= (d).OW) continue;                              \
            int ow = tw / (d).s;                                                                     \
            BODY                                                                                     \
        }                                                                                            \
    }

/* Input row h of image b's gradient: each element gathers dy of the outputs whose saved tap is this element.
 * Without overlap or padding (stride >= window, no padding) an input is covered by at most one output and
 * tap, the common 2x2/2 case: a straight vector loop per covering output. */
DF_SIMD_CLONES static void maxpool_grad_row(pool_dims d, const float *dy, const uint16_t *arg, int h,
                                            float *dx, int acc) {
    for (int w = 0; w < d.W; w++) {
        float *dxw = dx + (size_t)w * d.C;
        int covered = 0;
        FOR_COVERING_OUTPUTS(d, h, w, {
            size_t o = ((size_t)oh * d.OW + ow) * d.C;
            const float *dyo = dy + o;
            const uint16_t *ao = arg + o;
            uint16_t tap = (uint16_t)(i * d.k + j);
            if (!covered && !acc)
                for (int c = 0; c < d.C; c++) dxw[c] = ao[c] == tap ? dyo[c] : 0.0f;
            else
                for (int c = 0; c < d.C; c++) dxw[c] += ao[c] == tap ? dyo[c] : 0.0f;
            covered = 1;
        })
        if (!covered && !acc)
            for (int c = 0; c < d.C; c++) dxw[c] = 0.0f;
    }
}

static void maxpool_backward(df_graph *g, df_node *n) {
    pool_dims d = dims_of(g, n);
    df_node *xn = df_node_input(g, n, 0);
    if (!xn->dout) return;
    const uint16_t *arg = n->saved;
    int acc = n->grad_accum[0];
    size_t in_img = (size_t)d.H * d.W * d.C, out_img = (size_t)d.OH * d.OW * d.C;
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < g->batch; b++)
        for (int h = 0; h < d.H; h++)
            maxpool_grad_row(d, n->dout + b * out_img, arg + b * out_img, h,
                             xn->dout + b * in_img + (size_t)h * d.W * d.C, acc);
}

/* The taps [*lo, *hi) of a k-wide window at output o (stride s, padding p) that fall inside [0, n). */
static void window_taps(int o, int s, int p, int k, int n, int *lo, int *hi) {
    int start = o * s - p;
    *lo = start < 0 ? -start : 0;
    *hi = n - start < k ? n - start : k;
}

static void avgpool_forward(df_graph *g, df_node *n) {
    pool_dims d = dims_of(g, n);
    const float *x = df_node_input(g, n, 0)->out;
    float scale = 1.0f / (float)(d.k * d.k);
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < g->batch; b++)
        for (int oh = 0; oh < d.OH; oh++)
            for (int ow = 0; ow < d.OW; ow++) {
                float *y = n->out + (((size_t)b * d.OH + oh) * d.OW + ow) * d.C;
                int i0, i1, j0, j1;
                window_taps(oh, d.s, d.p, d.k, d.H, &i0, &i1);
                window_taps(ow, d.s, d.p, d.k, d.W, &j0, &j1);
                for (int c = 0; c < d.C; c++) y[c] = 0.0f;
                for (int i = i0; i < i1; i++)
                    for (int j = j0; j < j1; j++) {
                        const float *xr = x + (((size_t)b * d.H + oh * d.s + i - d.p) * d.W + ow * d.s + j - d.p) * d.C;
                        for (int c = 0; c < d.C; c++) y[c] += xr[c];
                    }
                for (int c = 0; c < d.C; c++) y[c] *= scale;
            }
}

static void avgpool_backward(df_graph *g, df_node *n) {
    pool_dims d = dims_of(g, n);
    df_node *xn = df_node_input(g, n, 0);
    if (!xn->dout) return;
    float scale = 1.0f / (float)(d.k * d.k);
    int acc = n->grad_accum[0];
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < g->batch; b++)
        for (int h = 0; h < d.H; h++)
            for (int w = 0; w < d.W; w++) {
                float *dx = xn->dout + (((size_t)b * d.H + h) * d.W + w) * d.C;
                for (int c = 0; c < d.C; c++) {
                    float sum = 0.0f;
                    FOR_COVERING_OUTPUTS(d, h, w, {
                        sum += n->dout[(((size_t)b * d.OH + oh) * d.OW + ow) * d.C + c];
                    })
                    df_grad_put(&dx[c], sum * scale, acc);
                }
            }
}

static double pool_flops(const df_graph *g, const df_node *n) {
    pool_dims d = dims_of(g, n);
    return (double)d.OH * d.OW * d.C * d.k * d.k;
}

static const df_op maxpool_op = {"maxpool", maxpool_forward, maxpool_backward, pool_flops, 0};
static const df_op avgpool_op = {"avgpool", avgpool_forward, avgpool_backward, pool_flops, 0};

static int add_pool(df_graph *g, const df_op *op, const char *name, int x, int k, int stride, int pad) {
    if (df_graph_check_input_rank(g, name, op->name, x, 4)) return -1;
    df_shape xs = g->nodes[x].shape;
    char s[64];
    if (k < 1 || k > 255 || stride < 1 || pad < 0 || 2 * pad > k)
        return df_graph_fail(g, "layer '%s' (%s): window %d, stride %d, padding %d: need 1 <= window <= 255, "
                             "stride >= 1, 0 <= padding <= window/2", name, op->name, k, stride, pad);
    int H = xs.d[1], W = xs.d[2];
    if (H + 2 * pad < k || W + 2 * pad < k)
        return df_graph_fail(g, "layer '%s' (%s): window %d does not fit input %s", name, op->name, k,
                             df_shape_str(xs, s, sizeof s));
    int OH = (H + 2 * pad - k) / stride + 1, OW = (W + 2 * pad - k) / stride + 1;
    df_node *n = df_graph_add_node(g, op, name, &x, 1, df_shape4(xs.d[0], OH, OW, xs.d[3]));
    if (!n) return -1;
    n->a.pool.k = k;
    n->a.pool.stride = stride;
    n->a.pool.pad = pad;
    if (op == &maxpool_op) n->saved_bytes = df_shape_numel(n->shape) * sizeof(uint16_t);
    return n->index;
}

int df_maxpool(df_graph *g, const char *name, int x, int k, int stride, int pad) {
    return add_pool(g, &maxpool_op, name, x, k, stride, pad);
}

int df_avgpool(df_graph *g, const char *name, int x, int k, int stride, int pad) {
    return add_pool(g, &avgpool_op, name, x, k, stride, pad);
}

static void gap_forward(df_graph *g, df_node *n) {
    const df_node *x = df_node_input(g, n, 0);
    int HW = x->shape.d[1] * x->shape.d[2], C = x->shape.d[3];
#pragma omp parallel for schedule(static)
    for (int b = 0; b < g->batch; b++) {
        float *y = n->out + (size_t)b * C;
        for (int c = 0; c < C; c++) y[c] = 0.0f;
        for (int p = 0; p < HW; p++) {
            const float *xr = x->out + ((size_t)b * HW + p) * C;
            for (int c = 0; c < C; c++) y[c] += xr[c];
        }
        for (int c = 0; c < C; c++) y[c] /= (float)HW;
    }
}

static void gap_backward(df_graph *g, df_node *n) {
    df_node *x = df_node_input(g, n, 0);
    if (!x->dout) return;
    int HW = x->shape.d[1] * x->shape.d[2], C = x->shape.d[3], acc = n->grad_accum[0];
#pragma omp parallel for schedule(static)
    for (int b = 0; b < g->batch; b++) {
        const float *dy = n->dout + (size_t)b * C;
        for (int p = 0; p < HW; p++) {
            float *dx = x->dout + ((size_t)b * HW + p) * C;
            for (int c = 0; c < C; c++) df_grad_put(&dx[c], dy[c] / (float)HW, acc);
        }
    }
}

static double gap_flops(const df_graph *g, const df_node *n) {
    return (double)df_shape_per_sample(g->nodes[n->in[0]].shape);
}

static const df_op gap_op = {"gap", gap_forward, gap_backward, gap_flops, 0};

int df_global_avgpool(df_graph *g, const char *name, int x) {
    if (df_graph_check_input_rank(g, name, "gap", x, 4)) return -1;
    df_shape xs = g->nodes[x].shape;
    df_node *n = df_graph_add_node(g, &gap_op, name, &x, 1, df_shape2(xs.d[0], xs.d[3]));
    return n ? n->index : -1;
}
