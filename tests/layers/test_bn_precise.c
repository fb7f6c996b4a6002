/* test_bn_precise.c: layers/bn_precise.h. A small graph (conv -> batchnorm+relu -> flatten -> linear ->
 * batchnorm) runs training-mode forwards over batches of unequal sizes (and an empty one) while collecting;
 * afterwards each batch norm's running mean and variance must be the mean and unbiased variance of every
 * input row it saw, computed here in double, two-pass, from copies of the inputs taken after each forward.
 * The weights must be untouched to the bit, the running statistics must not depend on what they held
 * before, and a second collection, on 1 or 2 threads, must give the same bits. */
#include <omp.h>
#include <string.h>

#include "check.h"
#include "core/rng.h"
#include "layers/bn_precise.h"
#include "layers/fused.h"
#include "layers/layers.h"

#define MAXB 8
#define H 6
#define W 6
#define CIN 3
static const int batches[] = {8, 5, 0, 8, 3}; /* rows per batch; 0: an empty part */
enum { N_BATCHES = sizeof batches / sizeof batches[0] };

typedef struct {
    df_graph *g;
    int x, conv, bn1, lin, bn2;
} net;

static net build(void) {
    net n;
    n.g = df_graph_new(MAXB);
    n.x = df_input(n.g, "x", (df_shape){3, {H, W, CIN}}, 0);
    n.conv = df_conv2d(n.g, "conv", n.x, 4, 3, 1, 1, 1);
    n.bn1 = df_batchnorm_relu(n.g, "bn1", n.conv, 1e-5f, 0.1f);
    int f = df_flatten(n.g, "flat", n.bn1);
    n.lin = df_linear(n.g, "lin", f, 5, 1);
    n.bn2 = df_batchnorm(n.g, "bn2", n.lin, 1e-5f, 0.1f);
    df_error err;
    if (df_graph_compile(n.g, n.bn2, 11, &err)) {
        fprintf(stderr, "compile failed: %s\n", err.msg);
        exit(1);
    }
    /* gamma and beta away from 1 and 0, so that bn1's output (bn2's input) depends on them */
    df_rng r = df_rng_make(5, 1);
    for (int b = 0; b < 2; b++) {
        df_node *bn = df_node_at(n.g, b ? n.bn2 : n.bn1);
        int C = bn->shape.d[bn->shape.rank - 1];
        for (int c = 0; c < C; c++) {
            df_node_param(n.g, bn, 0)[c] = 0.5f + df_rng_uniform(&r);
            df_node_param(n.g, bn, 1)[c] = df_rng_normal(&r);
            df_node_param(n.g, bn, 2)[c] = 7.0f; /* whatever the statistics held before */
            df_node_param(n.g, bn, 3)[c] = 9.0f;
        }
    }
    return n;
}

/* The inputs a batch norm saw, all batches' rows one after another: (rows, C). */
typedef struct {
    double *v;
    size_t rows;
    int C;
} seen;

static void keep(seen *s, const df_graph *g, const df_node *in, int batch) {
    int C = in->shape.d[in->shape.rank - 1];
    size_t rows = (size_t)batch * df_shape_per_sample(in->shape) / (size_t)C;
    s->C = C;
    s->v = realloc(s->v, (s->rows + rows + 1) * (size_t)C * sizeof(double));
    for (size_t i = 0; i < rows * (size_t)C; i++) s->v[s->rows * (size_t)C + i] = in->out[i];
    s->rows += rows;
    (void)g;
}

/* Collects over the batches (inputs from seed 3), copying what each batch norm saw into s (may be NULL). */
static void collect(net *n, int threads, seen s[2]) {
    omp_set_num_threads(threads);
    df_graph *g = n->g;
    df_rng r = df_rng_make(3, 2);
    df_graph_set_training(g, 1);
    df_bn_precise_begin(g);
    for (int b = 0; b < N_BATCHES; b++) {
        df_graph_set_batch(g, batches[b]);
        float *x = df_node_at(g, n->x)->out;
        for (int i = 0; i < batches[b] * H * W * CIN; i++) x[i] = 2.0f + 3.0f * df_rng_normal(&r);
        df_graph_forward(g);
        if (s) {
            keep(&s[0], g, df_node_at(g, n->conv), batches[b]);
            keep(&s[1], g, df_node_at(g, n->lin), batches[b]);
        }
    }
    df_bn_precise_end(g, NULL);
    CHECK(g->bn_precise == NULL);
}

static float *stats_of(net *n) {
    float *out = malloc(2 * (4 + 5) * sizeof(float)), *o = out;
    for (int b = 0; b < 2; b++) {
        df_node *bn = df_node_at(n->g, b ? n->bn2 : n->bn1);
        int C = b ? 5 : 4;
        memcpy(o, df_node_param(n->g, bn, 2), C * sizeof(float)), o += C;
        memcpy(o, df_node_param(n->g, bn, 3), C * sizeof(float)), o += C;
    }
    return out;
}

int main(void) {
    net n = build();
    size_t np = n.g->n_param_floats;
    float *params = malloc(np * sizeof(float));
    memcpy(params, n.g->params, np * sizeof(float));
    uint64_t dropout_step = n.g->dropout_step;

    seen s[2] = {{0}, {0}};
    collect(&n, 2, s);
    CHECK_MSG(!memcmp(params, n.g->params, np * sizeof(float)), "the weights are untouched");
    for (int b = 0; b < 2; b++) {
        df_node *bn = df_node_at(n.g, b ? n.bn2 : n.bn1);
        const float *rmean = df_node_param(n.g, bn, 2), *rvar = df_node_param(n.g, bn, 3);
        for (int c = 0; c < s[b].C; c++) {
            double mean = 0, ss = 0;
            for (size_t i = 0; i < s[b].rows; i++) mean += s[b].v[i * s[b].C + c];
            mean /= (double)s[b].rows;
            for (size_t i = 0; i < s[b].rows; i++) {
                double d = s[b].v[i * s[b].C + c] - mean;
                ss += d * d;
            }
            double var = ss / (double)(s[b].rows - 1);
            /* float32 results of double sums: a few ulps; a biased variance or a batch left out is 1e-3 off */
            CHECK_MSG(fabs(rmean[c] - mean) <= 1e-6 * (1 + fabs(mean)), "bn%d channel %d: mean %g, expected %g",
                      b + 1, c, rmean[c], mean);
            CHECK_MSG(fabs(rvar[c] - var) <= 1e-6 * var, "bn%d channel %d: var %.9g, expected %.9g", b + 1, c,
                      rvar[c], var);
        }
    }
    CHECK(s[0].rows == (size_t)24 * H * W && s[1].rows == 24);
    CHECK_MSG(n.g->dropout_step == dropout_step + N_BATCHES, "each forward counts as a training forward");

    /* Again, from other running statistics and on 1 thread: the same bits. */
    float *first = stats_of(&n);
    for (int b = 0; b < 2; b++) {
        df_node *bn = df_node_at(n.g, b ? n.bn2 : n.bn1);
        for (int c = 0; c < (b ? 5 : 4); c++) df_node_param(n.g, bn, 2)[c] = -3.0f;
    }
    collect(&n, 1, NULL);
    float *second = stats_of(&n);
    CHECK_MSG(!memcmp(first, second, 2 * (4 + 5) * sizeof(float)), "deterministic, whatever the thread count");

    /* Outside a collection the momentum update is back. */
    df_node *bn2 = df_node_at(n.g, n.bn2);
    float before = df_node_param(n.g, bn2, 2)[0];
    df_graph_set_batch(n.g, 8);
    df_graph_forward(n.g);
    CHECK_MSG(df_node_param(n.g, bn2, 2)[0] != before, "training forwards update the running mean again");

    free(first), free(second), free(params), free(s[0].v), free(s[1].v);
    df_graph_free(n.g);
    return check_report();
}
