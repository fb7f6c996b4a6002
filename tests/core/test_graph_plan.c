/* test_graph_plan.c: gradients sharing arena memory by lifetime (core/graph_plan.h).
 *
 * A network with a residual branch, a node read twice by one consumer, a fused batch norm, a concat and a
 * metadata branch is compiled twice from the same seed: as planned, and with every gradient kept whole
 * (df_graph_keep_grad on every node, so nothing shares). The same batch then gives bit-identical losses,
 * parameter gradients and input gradients through two training steps; the planned arena is smaller; and no
 * two gradients that share bytes are alive at the same backward step. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/graph_plan.h"
#include "layers/fused.h"
#include "layers/layers.h"

enum { BATCH = 4, SIDE = 8 };

static df_graph *build(int keep_all, int *loss) {
    df_graph *g = df_graph_new(BATCH);
    int x = df_input(g, "image", (df_shape){3, {SIDE, SIDE, 3}}, 1);
    int meta = df_input(g, "meta", df_shape1(5), 1);
    int t = df_input(g, "target", (df_shape){0, {0}}, 0);
    int c1 = df_conv2d(g, "c1", x, 8, 3, 1, 1, 0);
    int r1 = df_batchnorm_relu(g, "bn1", c1, 1e-5f, 0.1f);
    int c2 = df_conv2d(g, "c2", r1, 8, 3, 1, 1, 0);
    int b2 = df_batchnorm(g, "bn2", c2, 1e-5f, 0.1f);
    int res = df_add(g, "res", b2, r1); /* r1 is read by c2 and by the residual add */
    int sq = df_add(g, "twice", res, res);  /* one consumer reading one input twice */
    int p = df_batchnorm_relu_maxpool(g, "bn3", sq, 1e-5f, 0.1f);
    int gap = df_global_avgpool(g, "gap", p);
    int m = df_relu(g, "meta.relu", df_linear(g, "meta.fc", meta, 6, 1));
    int cat = df_concat(g, "cat", (int[]){gap, m}, 2);
    int logits = df_linear(g, "logits", cat, 3, 1);
    *loss = df_softmax_cross_entropy(g, "loss", logits, t, 3, NULL, 0.0f);
    if (keep_all)
        for (int i = 0; i < g->n_nodes; i++) df_graph_keep_grad(g, i);
    df_error err;
    CHECK_MSG(df_graph_compile(g, *loss, 11, &err) == 0, "%s", err.msg);
    df_graph_set_training(g, 1);
    return g;
}

static void fill(df_graph *g) {
    float *x = df_graph_out(g, df_graph_find_node(g, "image")), *m = df_graph_out(g, df_graph_find_node(g, "meta"));
    float *t = df_graph_out(g, df_graph_find_node(g, "target"));
    for (int i = 0; i < BATCH * SIDE * SIDE * 3; i++) x[i] = (float)((i * 37) % 23) / 11.0f - 1.0f;
    for (int i = 0; i < BATCH * 5; i++) m[i] = (float)((i * 13) % 7) / 3.0f - 1.0f;
    for (int i = 0; i < BATCH; i++) t[i] = (float)(i % 3);
}

static void step(df_graph *g) {
    df_graph_zero_grads(g);
    df_graph_forward(g);
    df_graph_backward(g);
}

static int same(const float *a, const float *b, size_t n) { return memcmp(a, b, n * sizeof(float)) == 0; }

static void test_same_gradients(void) {
    int la, lb;
    df_graph *a = build(0, &la), *b = build(1, &lb);
    CHECK_MSG(a->arena_bytes < b->arena_bytes, "shared %zu bytes, kept %zu", a->arena_bytes, b->arena_bytes);
    CHECK(df_graph_memory_plan(a, la).arena == a->arena_bytes);
    fill(a), fill(b);
    for (int s = 0; s < 2; s++) {
        step(a), step(b);
        CHECK(same(a->nodes[la].out, b->nodes[lb].out, 1));
        CHECK_MSG(same(a->grads, b->grads, a->n_param_floats), "step %d: parameter gradients differ", s);
        const char *inputs[] = {"image", "meta"};
        for (int k = 0; k < 2; k++) {
            const df_node *na = &a->nodes[df_graph_find_node(a, inputs[k])];
            const df_node *nb = &b->nodes[df_graph_find_node(b, inputs[k])];
            CHECK_MSG(same(na->dout, nb->dout, df_shape_numel(na->shape)), "step %d: %s's gradient differs", s,
                      inputs[k]);
        }
        /* A learning step between the two, so the second backward starts from other weights. */
        for (size_t i = 0; i < a->n_param_floats; i++) a->params[i] -= 0.1f * a->grads[i];
        for (size_t i = 0; i < b->n_param_floats; i++) b->params[i] -= 0.1f * b->grads[i];
    }
    df_graph_free(a);
    df_graph_free(b);
}

/* Every pair of gradients whose bytes overlap: their lifetimes must not. */
static void test_no_live_overlap(void) {
    int loss;
    df_graph *g = build(0, &loss);
    const int n = g->n_nodes;
    int *reached = calloc((size_t)n, sizeof *reached), *first = calloc((size_t)n, sizeof *first);
    df_graph_loss_path(g, loss, reached, first);
    int shared = 0;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            const df_node *a = &g->nodes[i], *b = &g->nodes[j];
            if (!a->dout || !b->dout) continue;
            const char *a0 = (const char *)a->dout, *b0 = (const char *)b->dout;
            const char *a1 = a0 + df_shape_numel(a->shape) * sizeof(float), *b1 = b0 + df_shape_numel(b->shape) * sizeof(float);
            if (a1 <= b0 || b1 <= a0) continue;
            shared++;
            /* Lifetimes in backward steps: from the first writer's (node loss for the loss) to the node's. */
            int fa = i == loss ? loss : first[i], fb = j == loss ? loss : first[j];
            CHECK_MSG(fa >= 0 && fb >= 0, "%s and %s share memory without both being written", a->name, b->name);
            int alive_together = !(i > fb || j > fa); /* [i, fa] and [j, fb] in node indices */
            CHECK_MSG(!alive_together, "%s (nodes %d..%d) and %s (%d..%d) share bytes while both alive", a->name,
                      i, fa, b->name, j, fb);
            CHECK_MSG(!a->keep_grad && !b->keep_grad && a->n_in > 0 && b->n_in > 0, "%s or %s is kept but shares",
                      a->name, b->name);
        }
    CHECK_MSG(shared > 0, "no two gradients share memory: the plan reuses nothing");
    free(reached);
    free(first);
    df_graph_free(g);
}

int main(void) {
    test_same_gradients();
    test_no_live_overlap();
    return check_report();
}
