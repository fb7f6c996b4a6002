/* bmm.c: batched matrix product, one independent product per sample (attention's Q K^T and A V).
 *   y[b] = alpha op(a[b]) op(c[b]),  op(m) = m or m^T by the flags;
 *   a (B, M, K) (or (B, K, M) transposed), c (B, K, N) (or (B, N, K) transposed), y (B, M, N).
 * Each product is one df_sgemm call on the graph's scratch, so a step allocates nothing and the results are
 * the GEMM's, which do not depend on the thread count. The samples run one after the other: the GEMM
 * already splits each product over the threads.
 * Backward, with G = dy[b] (M, N):
 *   d op(a) = alpha G op(c)^T,   d op(c) = alpha op(a)^T G,
 * written straight into a's and c's stored layouts by choosing the GEMM's transpose flags. */
#include <omp.h>

#include "core/gemm/gemm.h"
#include "layers/layers.h"

typedef struct {
    int M, N, K;
} bmm_dims;

static bmm_dims dims_of(const df_node *n, const df_node *a) {
    bmm_dims d = {n->shape.d[1], n->shape.d[2], n->a.bmm.trans_a ? a->shape.d[1] : a->shape.d[2]};
    return d;
}

static df_gemm_ws ws_of(df_graph *g) {
    const df_gemm_ws ws = {g->scratch, g->scratch_bytes};
    return ws;
}

static void bmm_forward(df_graph *g, df_node *n) {
    const df_node *a = df_node_input(g, n, 0), *c = df_node_input(g, n, 1);
    bmm_dims d = dims_of(n, a);
    int ta = n->a.bmm.trans_a, tc = n->a.bmm.trans_b;
    size_t sa = (size_t)d.M * d.K, sc = (size_t)d.K * d.N, sy = (size_t)d.M * d.N;
    for (int b = 0; b < g->batch; b++)
        df_sgemm_ws(ta, tc, d.M, d.N, d.K, n->a.bmm.alpha, a->out + b * sa, ta ? d.M : d.K, c->out + b * sc,
                    tc ? d.K : d.N, 0.0f, n->out + b * sy, d.N, ws_of(g));
}

static void bmm_backward(df_graph *g, df_node *n) {
    df_node *a = df_node_input(g, n, 0), *c = df_node_input(g, n, 1);
    bmm_dims d = dims_of(n, a);
    int ta = n->a.bmm.trans_a, tc = n->a.bmm.trans_b;
    float alpha = n->a.bmm.alpha;
    size_t sa = (size_t)d.M * d.K, sc = (size_t)d.K * d.N, sy = (size_t)d.M * d.N;
    for (int b = 0; b < g->batch; b++) {
        const float *G = n->dout + b * sy, *A = a->out + b * sa, *C = c->out + b * sc;
        if (a->dout) {
            float beta = n->grad_accum[0] ? 1.0f : 0.0f, *dA = a->dout + b * sa;
            if (!ta) /* dA (M, K) = G op(c)^T */
                df_sgemm_ws(0, !tc, d.M, d.K, d.N, alpha, G, d.N, C, tc ? d.K : d.N, beta, dA, d.K, ws_of(g));
            else /* dA (K, M) = op(c) G^T */
                df_sgemm_ws(tc, 1, d.K, d.M, d.N, alpha, C, tc ? d.K : d.N, G, d.N, beta, dA, d.M, ws_of(g));
        }
        if (c->dout) {
            float beta = n->grad_accum[1] ? 1.0f : 0.0f, *dC = c->dout + b * sc;
            if (!tc) /* dC (K, N) = op(a)^T G */
                df_sgemm_ws(!ta, 0, d.K, d.N, d.M, alpha, A, ta ? d.M : d.K, G, d.N, beta, dC, d.N, ws_of(g));
            else /* dC (N, K) = G^T op(a) */
                df_sgemm_ws(1, ta, d.N, d.K, d.M, alpha, G, d.N, A, ta ? d.M : d.K, beta, dC, d.K, ws_of(g));
        }
    }
}

static double bmm_flops(const df_graph *g, const df_node *n) {
    bmm_dims d = dims_of(n, &g->nodes[n->in[0]]);
    return 2.0 * d.M * d.N * d.K;
}

static const df_op bmm_op = {"bmm", bmm_forward, bmm_backward, bmm_flops, 0};

static size_t max3(size_t x, size_t y, size_t z) { return x > y ? (x > z ? x : z) : (y > z ? y : z); }

int df_bmm(df_graph *g, const char *name, int a, int c, int trans_a, int trans_b, float alpha) {
    int in[2] = {a, c};
    if (df_graph_check_inputs(g, name, in, 2)) return -1;
    df_shape as = g->nodes[a].shape, cs = g->nodes[c].shape;
    char x[64], y[64];
    if (as.rank != 3 || cs.rank != 3 || as.d[0] != cs.d[0])
        return df_graph_fail(g, "layer '%s' (bmm): needs two (batch, rows, cols) inputs of one batch; got %s from "
                             "'%s' and %s from '%s'", name, df_shape_str(as, x, sizeof x), g->nodes[a].name,
                             df_shape_str(cs, y, sizeof y), g->nodes[c].name);
    int M = trans_a ? as.d[2] : as.d[1], K = trans_a ? as.d[1] : as.d[2];
    int Kc = trans_b ? cs.d[2] : cs.d[1], N = trans_b ? cs.d[1] : cs.d[2];
    if (K != Kc)
        return df_graph_fail(g, "layer '%s' (bmm): inner sizes differ: %s%s from '%s' has %d, %s%s from '%s' has %d",
                             name, df_shape_str(as, x, sizeof x), trans_a ? " transposed" : "", g->nodes[a].name, K,
                             df_shape_str(cs, y, sizeof y), trans_b ? " transposed" : "", g->nodes[c].name, Kc);
    df_node *n = df_graph_add_node(g, &bmm_op, name, in, 2, (df_shape){3, {as.d[0], M, N}});
    if (!n) return -1;
    n->a.bmm.trans_a = trans_a != 0;
    n->a.bmm.trans_b = trans_b != 0;
    n->a.bmm.alpha = alpha;
    int T = omp_get_max_threads();
    n->scratch_bytes = max3(df_sgemm_ws_bytes(M, N, K, T), df_sgemm_ws_bytes(M, K, N, T),
                            max3(df_sgemm_ws_bytes(K, M, N, T), df_sgemm_ws_bytes(K, N, M, T),
                                 df_sgemm_ws_bytes(N, K, M, T)));
    return n->index;
}
