/* test_attention_ref.c: the ops attention and FiLM fusion are built from (layers/layernorm.c, softmax.c,
 * bmm.c, film.c) against plain double-precision loops: forward output, input gradients and parameter
 * gradients for a given output gradient. Each case runs on 1 and 2 threads, which must agree bit for bit,
 * and on a batch smaller than the graph was planned for. Softmax also gets rows of very large and very
 * spread values, which a softmax without its maximum subtracted turns into inf or NaN. Bad shapes must fail
 * the graph with a message naming the layer, never abort. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/rng.h"
#include "layers/layers.h"

/* Largest |ours - reference| allowed relative to the largest |reference| of the array: float32 sums over at
 * most a few dozen terms, against mistakes (a missing term, a wrong transpose) of order 1e-2 or more. */
#define TOL 2e-5

typedef enum { LN, SOFTMAX, BMM, FILM } op_kind;
static const char *const op_names[] = {"layernorm", "softmax", "bmm", "film"};
enum { PLANNED = 4, BATCH = 3, ROWS = 5, D = 17, M = 5, N = 7, K = 9, HH = 4, WW = 3, C = 6 };

typedef struct {
    op_kind op;
    int ta, tb;
    float alpha, scale; /* bmm's alpha; the spread of softmax's inputs */
} op_case;

/* Inputs (in order), the parameters and the output gradient, and what the op produced from them. */
typedef struct {
    float *in[3], *params, *dy, *y, *dx[3], *dparams;
    size_t n_in[3], n_params, ny, bias_offset; /* the parameter block aligns each tensor: bias is not at D */
    int count;
} run;

static float *copy_of(const float *p, size_t n) {
    float *q = malloc((n ? n : 1) * sizeof *q);
    memcpy(q, p, n * sizeof *q);
    return q;
}

static int build(df_graph *g, op_case c, int *in) {
    switch (c.op) {
    case LN:
        in[0] = df_input(g, "x", (df_shape){2, {ROWS, D}}, 1);
        return df_layernorm(g, "ln", in[0], 1e-5f);
    case SOFTMAX:
        in[0] = df_input(g, "x", (df_shape){2, {ROWS, D}}, 1);
        return df_softmax(g, "softmax", in[0]);
    case BMM:
        in[0] = df_input(g, "a", (df_shape){2, {c.ta ? K : M, c.ta ? M : K}}, 1);
        in[1] = df_input(g, "b", (df_shape){2, {c.tb ? N : K, c.tb ? K : N}}, 1);
        return df_bmm(g, "bmm", in[0], in[1], c.ta, c.tb, c.alpha);
    case FILM:
        in[0] = df_input(g, "x", (df_shape){3, {HH, WW, C}}, 1);
        in[1] = df_input(g, "gamma", df_shape1(C), 1);
        in[2] = df_input(g, "beta", df_shape1(C), 1);
        return df_film(g, "film", in[0], in[1], in[2]);
    }
    return -1;
}

static run run_op(op_case c, int threads) {
    omp_set_num_threads(threads);
    df_graph *g = df_graph_new(PLANNED);
    int in[3] = {-1, -1, -1};
    int y = build(g, c, in);
    df_error err;
    if (df_graph_compile(g, y, 1, &err)) {
        fprintf(stderr, "%s: %s\n", op_names[c.op], err.msg);
        exit(1);
    }
    df_graph_set_batch(g, BATCH);
    df_rng r = df_rng_make(5, (uint64_t)c.op * 16 + (uint64_t)(c.ta * 2 + c.tb));
    run o = {0};
    for (int i = 0; i < 3 && in[i] >= 0; i++, o.count++) {
        df_node *n = &g->nodes[in[i]];
        o.n_in[i] = (size_t)BATCH * df_shape_per_sample(n->shape);
        for (size_t k = 0; k < o.n_in[i]; k++) n->out[k] = c.scale * df_rng_normal(&r);
        if (c.op == SOFTMAX) /* one row far from zero, one with a spread of thousands */
            for (int k = 0; k < D; k++) n->out[k] = 1e4f + (float)k, n->out[D + k] = 3000.0f * (float)(k % 3);
        o.in[i] = copy_of(n->out, o.n_in[i]);
    }
    for (size_t k = 0; k < g->n_param_floats; k++) g->params[k] = 1.0f + 0.5f * df_rng_normal(&r);
    o.n_params = g->n_param_floats;
    o.params = copy_of(g->params, o.n_params);
    if (g->n_tensors > 1) o.bias_offset = g->tensors[1].offset;
    o.ny = (size_t)BATCH * df_shape_per_sample(g->nodes[y].shape);
    df_graph_forward(g);
    df_graph_zero_grads(g);
    for (size_t k = 0; k < o.ny; k++) g->nodes[y].dout[k] = df_rng_normal(&r);
    o.dy = copy_of(g->nodes[y].dout, o.ny);
    df_graph_backward(g);
    o.y = copy_of(g->nodes[y].out, o.ny);
    for (int i = 0; i < o.count; i++) o.dx[i] = copy_of(g->nodes[in[i]].dout, o.n_in[i]);
    o.dparams = copy_of(g->grads, o.n_params);
    df_graph_free(g);
    return o;
}

/* The same arrays in double: y, the input gradients, the parameter gradients. */
typedef struct {
    double *y, *dx[3], *dp;
} ref;

static void ref_layernorm(const run *o, ref *r) {
    const float *x = o->in[0], *w = o->params, *b = o->params + o->bias_offset, *dy = o->dy;
    for (int row = 0; row < BATCH * ROWS; row++) {
        const float *xr = x + row * D, *dr = dy + row * D;
        double mu = 0, var = 0, xh[D], sg = 0, sgx = 0;
        for (int i = 0; i < D; i++) mu += xr[i] / (double)D;
        for (int i = 0; i < D; i++) var += (xr[i] - mu) * (xr[i] - mu) / D;
        double rs = 1.0 / sqrt(var + 1e-5);
        for (int i = 0; i < D; i++) {
            xh[i] = (xr[i] - mu) * rs;
            r->y[row * D + i] = xh[i] * w[i] + b[i];
            r->dp[i] += dr[i] * xh[i];
            r->dp[o->bias_offset + i] += dr[i];
            sg += dr[i] * w[i] / D;
            sgx += dr[i] * w[i] * xh[i] / D;
        }
        for (int i = 0; i < D; i++) r->dx[0][row * D + i] = rs * (dr[i] * w[i] - sg - xh[i] * sgx);
    }
}

static void ref_softmax(const run *o, ref *r) {
    for (int row = 0; row < BATCH * ROWS; row++) {
        const float *xr = o->in[0] + row * D, *dr = o->dy + row * D;
        double mx = xr[0], sum = 0, dot = 0, *yr = r->y + row * D;
        for (int i = 1; i < D; i++) mx = fmax(mx, xr[i]);
        for (int i = 0; i < D; i++) sum += yr[i] = exp(xr[i] - mx);
        for (int i = 0; i < D; i++) dot += dr[i] * (yr[i] /= sum);
        for (int i = 0; i < D; i++) r->dx[0][row * D + i] = yr[i] * (dr[i] - dot);
    }
}

/* op(a)[i][k] and op(b)[k][j] read through the flags; y = alpha op(a) op(b) and its gradients. */
static void ref_bmm(const run *o, op_case c, ref *r) {
    for (int s = 0; s < BATCH; s++) {
        const float *A = o->in[0] + s * M * K, *B = o->in[1] + s * K * N, *G = o->dy + s * M * N;
        double *dA = r->dx[0] + s * M * K, *dB = r->dx[1] + s * K * N;
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                double sum = 0;
                for (int k = 0; k < K; k++) {
                    size_t ia = c.ta ? (size_t)k * M + i : (size_t)i * K + k;
                    size_t ib = c.tb ? (size_t)j * K + k : (size_t)k * N + j;
                    sum += (double)A[ia] * B[ib];
                    dA[ia] += c.alpha * (double)G[i * N + j] * B[ib];
                    dB[ib] += c.alpha * (double)G[i * N + j] * A[ia];
                }
                r->y[(s * M + i) * N + j] = c.alpha * sum;
            }
    }
}

static void ref_film(const run *o, ref *r) {
    for (int s = 0; s < BATCH; s++)
        for (int p = 0; p < HH * WW; p++)
            for (int ch = 0; ch < C; ch++) {
                size_t i = ((size_t)s * HH * WW + p) * C + ch, sc = (size_t)s * C + ch;
                double x = o->in[0][i], gm = o->in[1][sc], dy = o->dy[i];
                r->y[i] = (1 + gm) * x + o->in[2][sc];
                r->dx[0][i] = (1 + gm) * dy;
                r->dx[1][sc] += dy * x;
                r->dx[2][sc] += dy;
            }
}

static void compare(const char *label, const char *what, const float *ours, const double *want, size_t n) {
    double scale = 0, worst = 0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(want[i]));
    int finite = 1;
    for (size_t i = 0; i < n; i++) {
        finite &= isfinite(ours[i]);
        worst = fmax(worst, fabs(ours[i] - want[i]));
    }
    CHECK_MSG(finite && worst <= TOL * fmax(scale, 1e-30), "%s: %s differs from the reference by %.3g (scale %.3g)",
              label, what, worst, scale);
}

static void free_run(run *o) {
    for (int i = 0; i < o->count; i++) free(o->in[i]), free(o->dx[i]);
    free(o->params), free(o->dy), free(o->y), free(o->dparams);
}

static void check_case(op_case c) {
    char label[96];
    snprintf(label, sizeof label, "%s%s%s", op_names[c.op], c.ta ? " a^T" : "", c.tb ? " b^T" : "");
    run o = run_op(c, 1), o2 = run_op(c, 2);
    CHECK_MSG(!memcmp(o.y, o2.y, o.ny * sizeof(float)), "%s: output differs on 2 threads", label);
    for (int i = 0; i < o.count; i++)
        CHECK_MSG(!memcmp(o.dx[i], o2.dx[i], o.n_in[i] * sizeof(float)), "%s: input %d gradient differs on 2 threads",
                  label, i);
    CHECK_MSG(!memcmp(o.dparams, o2.dparams, o.n_params * sizeof(float)), "%s: parameter gradients differ on 2 "
              "threads", label);
    ref r = {calloc(o.ny, sizeof(double)), {0}, calloc(o.n_params + 1, sizeof(double))};
    for (int i = 0; i < o.count; i++) r.dx[i] = calloc(o.n_in[i], sizeof(double));
    switch (c.op) {
    case LN: ref_layernorm(&o, &r); break;
    case SOFTMAX: ref_softmax(&o, &r); break;
    case BMM: ref_bmm(&o, c, &r); break;
    case FILM: ref_film(&o, &r); break;
    }
    compare(label, "output", o.y, r.y, o.ny);
    for (int i = 0; i < o.count; i++) compare(label, "input gradient", o.dx[i], r.dx[i], o.n_in[i]);
    if (o.n_params) compare(label, "parameter gradient", o.dparams, r.dp, o.n_params);
    printf("%-20s matches the reference (batch %d of %d, 1 and 2 threads alike)\n", label, BATCH, PLANNED);
    free(r.y), free(r.dp);
    for (int i = 0; i < o.count; i++) free(r.dx[i]);
    free_run(&o);
    free_run(&o2);
}

/* A builder given bad shapes fails the graph with the layer's name in the message. */
static void check_refuses(const char *label, df_graph *g, int id, const char *layer) {
    CHECK_MSG(id == -1 && g->failed && strstr(g->err.msg, layer), "%s: expected a build error naming '%s', got "
              "id %d, '%s'", label, layer, id, g->failed ? g->err.msg : "");
    df_graph_free(g);
}

static void check_bad_shapes(void) {
    df_graph *g = df_graph_new(2);
    int x = df_input(g, "x", df_shape1(4), 1);
    check_refuses("bmm of rank 2", g, df_bmm(g, "scores", x, x, 0, 1, 1.0f), "scores");
    g = df_graph_new(2);
    int a = df_input(g, "a", (df_shape){2, {3, 4}}, 1), b = df_input(g, "b", (df_shape){2, {3, 5}}, 1);
    check_refuses("bmm inner sizes", g, df_bmm(g, "mix", a, b, 0, 0, 1.0f), "mix");
    g = df_graph_new(2);
    x = df_input(g, "x", (df_shape){2, {3, 4}}, 1);
    check_refuses("layernorm eps 0", g, df_layernorm(g, "ln", x, 0.0f), "ln");
    g = df_graph_new(2);
    x = df_input(g, "x", (df_shape){3, {2, 2, 4}}, 1);
    int gm = df_input(g, "gamma", df_shape1(3), 1);
    check_refuses("film channels", g, df_film(g, "film", x, gm, gm), "film");
    g = df_graph_new(2);
    x = df_input(g, "x", (df_shape){2, {3, 4}}, 1);
    check_refuses("reshape count", g, df_reshape(g, "rows", x, (df_shape){2, {5, 2}}), "rows");
    g = df_graph_new(2);
    check_refuses("softmax of a bad node", g, df_softmax(g, "softmax", 7), "softmax");
}

int main(void) {
    check_case((op_case){LN, 0, 0, 0, 2.0f});
    check_case((op_case){SOFTMAX, 0, 0, 0, 4.0f});
    for (int t = 0; t < 4; t++) check_case((op_case){BMM, t & 1, t >> 1, 0.3f, 1.0f});
    check_case((op_case){FILM, 0, 0, 0, 1.0f});
    check_bad_shapes();
    return check_report();
}
