/* test_model_options.c: the model options a recipe sets. model.init pytorch draws every convolution and linear
 * weight, and every linear bias, from U(+-1/sqrt(fan_in)) (bounded, spread as a uniform's variance
 * bound^2/3), leaves batch norm at one and zero; he keeps conv weights normal with variance 2/fan_in and linear
 * biases at zero. model.pool sets what ends each VGG stage: max and avg halve the map (avg as its own
 * "<stage>.pool" node), none keeps it; a stage without pooling keeps the names of the others. bn_momentum and
 * bn_eps reach every batch-norm node. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "train/model/model.h"

static const df_tensor_info *tensor(const df_graph *g, const char *name) {
    for (int i = 0; i < g->n_tensors; i++)
        if (!strcmp(g->tensors[i].name, name)) return &g->tensors[i];
    return NULL;
}

static const float *values(const df_graph *g, const df_tensor_info *t) {
    return (t->kind == DF_PARAM ? g->params : g->buffers) + t->offset;
}

/* max |x| and mean x^2 of a tensor */
static void spread(const df_graph *g, const char *name, double *max_abs, double *mean_sq) {
    const df_tensor_info *t = tensor(g, name);
    CHECK_MSG(t != NULL, "no tensor %s", name);
    *max_abs = *mean_sq = 0;
    if (!t) return;
    const float *v = values(g, t);
    for (size_t i = 0; i < t->numel; i++) {
        *max_abs = fabs(v[i]) > *max_abs ? fabs(v[i]) : *max_abs;
        *mean_sq += (double)v[i] * v[i] / (double)t->numel;
    }
}

static df_model *build(df_init_scheme init, const df_stage_pool *pool) {
    df_model_spec s = df_model_spec_default(DF_FUSION_INTERMEDIATE, 2, 16, 5);
    s.n_stages = 2;
    s.widths[0] = 16, s.widths[1] = 32;
    s.depth[0] = s.depth[1] = 1;
    s.n_meta_hidden = 1;
    s.meta_hidden[0] = 64;
    s.init = init;
    s.bn_momentum = 0.25f;
    s.bn_eps = 1e-3f;
    if (pool) memcpy(s.pool, pool, sizeof s.pool);
    df_error err;
    df_model *m = df_model_build(&s, 4, 7, &err);
    CHECK_MSG(m != NULL, "%s", err.msg);
    return m;
}

static void test_pytorch_init(void) {
    df_model *m = build(DF_INIT_SCHEME_PYTORCH, NULL);
    if (!m) return;
    /* fan_in: stage2 conv 3*3*16 = 144, meta.fc1 5, logits 32 + 64 = 96 */
    struct { const char *name; double fan_in; } cases[] = {
        {"image.stage2.conv.weight", 144}, {"meta.fc1.weight", 5}, {"meta.fc1.bias", 5}, {"logits.weight", 96}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        double bound = 1.0 / sqrt(cases[i].fan_in), max_abs, mean_sq;
        spread(m->g, cases[i].name, &max_abs, &mean_sq);
        CHECK_MSG(max_abs <= bound && max_abs > 0.8 * bound, "%s: max %g, bound %g", cases[i].name, max_abs, bound);
        /* U(-b, b) has variance b^2/3; 64..4608 draws keep the estimate within 35% */
        CHECK_CLOSE(mean_sq, bound * bound / 3, 0, 0.35);
    }
    double max_abs, mean_sq; /* the two logits' biases: drawn, within the bound */
    spread(m->g, "logits.bias", &max_abs, &mean_sq);
    CHECK(max_abs <= 1.0 / sqrt(96.0) && max_abs > 0);
    spread(m->g, "image.stage1.bn.weight", &max_abs, &mean_sq);
    CHECK(max_abs == 1.0 && mean_sq == 1.0);
    spread(m->g, "image.stage1.bn.bias", &max_abs, &mean_sq);
    CHECK(max_abs == 0.0);
    df_model_free(m);
}

static void test_he_init(void) {
    df_model *m = build(DF_INIT_SCHEME_HE, NULL);
    if (!m) return;
    double max_abs, mean_sq;
    spread(m->g, "image.stage2.conv.weight", &max_abs, &mean_sq);
    CHECK_CLOSE(mean_sq, 2.0 / 144, 0, 0.1);
    CHECK(max_abs > sqrt(2.0 / 144) * 2.5); /* a normal's tail, beyond any uniform of that variance */
    spread(m->g, "logits.bias", &max_abs, &mean_sq);
    CHECK(max_abs == 0.0);
    df_model_free(m);
}

static int node(const df_graph *g, const char *name) {
    for (int i = 0; i < g->n_nodes; i++)
        if (!strcmp(g->nodes[i].name, name)) return i;
    return -1;
}

static void test_stage_pooling(void) {
    struct { df_stage_pool pool[2]; int side; int avg_node; } cases[] = {
        {{DF_POOL_MAX, DF_POOL_MAX}, 4, 0}, {{DF_POOL_MAX, DF_POOL_NONE}, 8, 0},
        {{DF_POOL_NONE, DF_POOL_NONE}, 16, 0}, {{DF_POOL_AVG, DF_POOL_MAX}, 4, 1}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        df_stage_pool pool[DF_MAX_STAGES] = {cases[i].pool[0], cases[i].pool[1]};
        df_model *m = build(DF_INIT_SCHEME_HE, pool);
        if (!m) continue;
        const df_shape *last = &m->g->nodes[m->last_maps[0]].shape;
        CHECK_MSG(last->d[1] == cases[i].side && last->d[2] == cases[i].side && last->d[3] == 32,
                  "case %zu: last map %dx%dx%d, expected %dx%dx32", i, last->d[1], last->d[2], last->d[3],
                  cases[i].side, cases[i].side);
        CHECK((node(m->g, "image.stage1.pool") >= 0) == cases[i].avg_node);
        CHECK(tensor(m->g, "image.stage1.conv.weight") && tensor(m->g, "image.stage2.bn.running_var"));
        int bn = node(m->g, "image.stage2.bn");
        CHECK(bn >= 0 && m->g->nodes[bn].a.norm.momentum == 0.25f && m->g->nodes[bn].a.norm.eps == 1e-3f);
        df_model_free(m);
    }
}

/* Average pooling is the mean of each 2x2 window: with the batch-norm and ReLU output known, the pool's
 * output is checked by hand on one element. */
static void test_avg_pool_values(void) {
    df_stage_pool pool[DF_MAX_STAGES] = {DF_POOL_AVG, DF_POOL_NONE};
    df_model *m = build(DF_INIT_SCHEME_HE, pool);
    if (!m) return;
    df_graph *g = m->g;
    df_graph_set_batch(g, 1);
    for (int i = 0; i < 16 * 16 * 3; i++) g->nodes[m->image[0]].out[i] = sinf((float)i);
    for (int i = 0; i < 5; i++) g->nodes[m->meta].out[i] = 0.1f * (float)i;
    df_graph_set_training(g, 0);
    df_graph_forward(g);
    int a = node(g, "image.stage1.bn"), b = node(g, "image.stage1.pool");
    CHECK(a >= 0 && b >= 0);
    if (a < 0 || b < 0) {
        df_model_free(m);
        return;
    }
    const float *in = g->nodes[a].out, *out = g->nodes[b].out;
    int C = 16, W = 16; /* output (y, x, c) = mean of input (2y..2y+1, 2x..2x+1, c) */
    int y = 3, x = 5, c = 7;
    float want = 0.25f * (in[((2 * y) * W + 2 * x) * C + c] + in[((2 * y) * W + 2 * x + 1) * C + c] +
                          in[((2 * y + 1) * W + 2 * x) * C + c] + in[((2 * y + 1) * W + 2 * x + 1) * C + c]);
    CHECK_CLOSE(out[(y * 8 + x) * C + c], want, 1e-6, 1e-6);
    df_model_free(m);
}

int main(void) {
    test_pytorch_init();
    test_he_init();
    test_stage_pooling();
    test_avg_pool_values();
    return check_report();
}
