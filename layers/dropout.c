/* dropout.c: y = x * m / (1 - p), m ~ Bernoulli(1 - p), in training mode; y = x in inference mode.
 * The mask is drawn from a counter-based stream keyed by (graph seed, layer index, training step), element
 * i taking draw i: it never depends on the thread count, and backward re-derives it instead of storing it.
 * A data-parallel rank's slice starts at the batch's sample g->sample_offset and draws from there on, so the
 * whole batch's mask is the same for any number of ranks. */
#include <stdint.h>
#include <string.h>

#include "core/rng.h"
#include "layers/layers.h"

static uint64_t mask_key(const df_graph *g, const df_node *n, uint64_t step) {
    uint64_t k = df_rng_key(g->seed, DF_STREAM_DROPOUT);
    return df_rng_subkey(df_rng_subkey(k, (uint64_t)n->index), step);
}

static void dropout_forward(df_graph *g, df_node *n) {
    const float *x = df_node_input(g, n, 0)->out;
    long count = (long)((size_t)g->batch * df_shape_per_sample(n->shape));
    float p = n->a.dropout.p;
    if (!g->training || p == 0.0f) {
        memcpy(n->out, x, (size_t)count * sizeof(float));
        return;
    }
    uint64_t *step = n->saved;
    *step = g->dropout_step;
    uint64_t key = mask_key(g, n, *step), first = (uint64_t)g->sample_offset * df_shape_per_sample(n->shape);
    float scale = 1.0f / (1.0f - p);
#pragma omp parallel for schedule(static)
    for (long i = 0; i < count; i++)
        n->out[i] = df_uniform_at(key, first + (uint64_t)i) < p ? 0.0f : x[i] * scale;
}

static void dropout_backward(df_graph *g, df_node *n) {
    df_node *xn = df_node_input(g, n, 0);
    if (!xn->dout) return;
    long count = (long)((size_t)g->batch * df_shape_per_sample(n->shape));
    float p = n->a.dropout.p;
    int acc = n->grad_accum[0];
    int active = g->training && p > 0.0f;
    uint64_t key = active ? mask_key(g, n, *(const uint64_t *)n->saved) : 0;
    float scale = active ? 1.0f / (1.0f - p) : 1.0f;
    uint64_t first = (uint64_t)g->sample_offset * df_shape_per_sample(n->shape);
#pragma omp parallel for schedule(static)
    for (long i = 0; i < count; i++) {
        float keep = !active || df_uniform_at(key, first + (uint64_t)i) >= p;
        df_grad_put(&xn->dout[i], keep ? n->dout[i] * scale : 0.0f, acc);
    }
}

static double dropout_flops(const df_graph *g, const df_node *n) {
    (void)g;
    return (double)df_shape_per_sample(n->shape);
}

static const df_op dropout_op = {"dropout", dropout_forward, dropout_backward, dropout_flops, 0};

int df_dropout(df_graph *g, const char *name, int x, float p) {
    if (df_graph_check_inputs(g, name, &x, 1)) return -1;
    if (!(p >= 0.0f && p < 1.0f))
        return df_graph_fail(g, "layer '%s' (dropout): probability must be in [0, 1), got %g", name, p);
    df_node *n = df_graph_add_node(g, &dropout_op, name, &x, 1, g->nodes[x].shape);
    if (!n) return -1;
    n->a.dropout.p = p;
    n->saved_bytes = sizeof(uint64_t);
    return n->index;
}
