/* torch_dump.c: runs each op on seeded random inputs and writes inputs, parameters, outputs and gradients to
 * a folder (one raw float32 file per array plus manifest.json), for tests/layers/torch_compare.py to
 * recompute with PyTorch. Usage: torch_dump OUT_DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "layers/fused.h"
#include "layers/layers.h"

static FILE *manifest;
static const char *dir;
static int first_case = 1, first_array;

static void put_array(const char *case_name, const char *name, const float *data, size_t count) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s.%s.f32", dir, case_name, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, sizeof(float), count, f) != count || fclose(f)) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    fprintf(manifest, "%s\"%s\": %zu", first_array ? "" : ", ", name, count);
    first_array = 0;
}

/* Builds nothing itself: the caller has compiled g with output node y; fills random inputs and parameters,
 * runs forward and backward with dout = R, and dumps everything. attrs is a JSON object's body. */
static void run_case(df_graph *g, int y, const char *case_name, const char *op, const char *attrs, int training) {
    df_rng r = df_rng_make(77, (uint64_t)strlen(case_name) * 131 + (uint64_t)case_name[0]);
    df_graph_set_training(g, training);
    for (int i = 0; i < g->n_nodes; i++) {
        df_node *n = &g->nodes[i];
        if (strcmp(n->op->name, "input") || !n->requires_grad) continue;
        size_t count = df_shape_numel(n->shape);
        for (size_t k = 0; k < count; k++) n->out[k] = df_rng_normal(&r);
    }
    for (size_t k = 0; k < g->n_param_floats; k++) g->params[k] = 0.5f * df_rng_normal(&r);
    for (int t = 0; t < g->n_tensors; t++)
        if (g->tensors[t].kind == DF_BUFFER && strstr(g->tensors[t].name, "running_var"))
            for (size_t k = 0; k < g->tensors[t].numel; k++)
                g->buffers[g->tensors[t].offset + k] = 0.5f + df_rng_uniform(&r);
    fprintf(manifest, "%s\n  {\"name\": \"%s\", \"op\": \"%s\", \"training\": %d, \"attrs\": {%s}, \"arrays\": {",
            first_case ? "" : ",", case_name, op, training, attrs);
    first_case = 0;
    first_array = 1;
    /* Inputs, parameters and buffers before the step. */
    for (int i = 0; i < g->n_nodes; i++) {
        df_node *n = &g->nodes[i];
        if (strcmp(n->op->name, "input")) continue;
        put_array(case_name, n->name, n->out, df_shape_numel(n->shape));
    }
    for (int t = 0; t < g->n_tensors; t++) {
        const df_tensor_info *ti = &g->tensors[t];
        put_array(case_name, ti->name, (ti->kind == DF_PARAM ? g->params : g->buffers) + ti->offset, ti->numel);
    }
    df_node *out = &g->nodes[y];
    size_t ycount = df_shape_numel(out->shape);
    float *R = malloc(ycount * sizeof(float));
    for (size_t k = 0; k < ycount; k++) R[k] = df_rng_normal(&r);
    df_graph_forward(g);
    df_graph_zero_grads(g);
    if (ycount > 1) memcpy(out->dout, R, ycount * sizeof(float));
    df_graph_backward(g);
    put_array(case_name, "out", out->out, ycount);
    if (ycount > 1) put_array(case_name, "dout", R, ycount);
    for (int i = 0; i < g->n_nodes; i++) {
        df_node *n = &g->nodes[i];
        if (strcmp(n->op->name, "input") || !n->requires_grad) continue;
        char name[128];
        snprintf(name, sizeof name, "grad.%s", n->name);
        put_array(case_name, name, n->dout, df_shape_numel(n->shape));
    }
    for (int t = 0; t < g->n_tensors; t++) {
        const df_tensor_info *ti = &g->tensors[t];
        char name[160];
        snprintf(name, sizeof name, ti->kind == DF_PARAM ? "grad.%s" : "after.%s", ti->name);
        put_array(case_name, name, (ti->kind == DF_PARAM ? g->grads : g->buffers) + ti->offset, ti->numel);
    }
    fprintf(manifest, "}, \"shapes\": {");
    for (int i = 0; i < g->n_nodes; i++) {
        df_shape s = g->nodes[i].shape;
        fprintf(manifest, "%s\"%s\": [", i ? ", " : "", i == y ? "out" : g->nodes[i].name);
        for (int d = 0; d < s.rank; d++) fprintf(manifest, d ? ", %d" : "%d", s.d[d]);
        fprintf(manifest, "]");
    }
    fprintf(manifest, "}}");
    free(R);
    df_error err;
    (void)err;
}

static df_graph *compiled(df_graph *g, int y) {
    df_error err;
    if (df_graph_compile(g, y, 1, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    return g;
}

static void conv_case(const char *name, int B, int H, int W, int C, int CO, int k, int s, int p, int bias) {
    df_graph *g = df_graph_new(B);
    int x = df_input(g, "x", (df_shape){3, {H, W, C}}, 1);
    int y = df_conv2d(g, "conv", x, CO, k, s, p, bias);
    char attrs[128];
    snprintf(attrs, sizeof attrs, "\"k\": %d, \"stride\": %d, \"pad\": %d, \"bias\": %d", k, s, p, bias);
    run_case(compiled(g, y), y, name, "conv2d", attrs, 1);
    df_graph_free(g);
}

static void pool_case(const char *name, int maxpool, int k, int s, int p) {
    df_graph *g = df_graph_new(2);
    int x = df_input(g, "x", (df_shape){3, {7, 6, 3}}, 1);
    int y = maxpool ? df_maxpool(g, "pool", x, k, s, p) : df_avgpool(g, "pool", x, k, s, p);
    char attrs[96];
    snprintf(attrs, sizeof attrs, "\"k\": %d, \"stride\": %d, \"pad\": %d", k, s, p);
    run_case(compiled(g, y), y, name, maxpool ? "maxpool" : "avgpool", attrs, 1);
    df_graph_free(g);
}

/* op(a) (3, 4) times op(b) (4, 5) for one pair of transpose flags, alpha 0.5. */
static void bmm_case(const char *name, int ta, int tb) {
    df_graph *g = df_graph_new(2);
    int a = df_input(g, "a", (df_shape){2, {ta ? 4 : 3, ta ? 3 : 4}}, 1);
    int b = df_input(g, "b", (df_shape){2, {tb ? 5 : 4, tb ? 4 : 5}}, 1);
    int y = df_bmm(g, "bmm", a, b, ta, tb, 0.5f);
    char attrs[96];
    snprintf(attrs, sizeof attrs, "\"trans_a\": %d, \"trans_b\": %d, \"alpha\": 0.5", ta, tb);
    run_case(compiled(g, y), y, name, "bmm", attrs, 1);
    df_graph_free(g);
}

/* Layer norm, softmax, the batched products and FiLM: attention's and FiLM fusion's ops. */
static void fusion_op_cases(void) {
    {
        df_graph *g = df_graph_new(3);
        int x = df_input(g, "x", (df_shape){2, {4, 6}}, 1);
        int y = df_layernorm(g, "ln", x, 1e-5f);
        run_case(compiled(g, y), y, "layernorm", "layernorm", "\"eps\": 1e-5", 1);
        df_graph_free(g);
    }
    {
        df_graph *g = df_graph_new(2);
        int x = df_input(g, "x", (df_shape){2, {3, 7}}, 1);
        int y = df_softmax(g, "softmax", x);
        run_case(compiled(g, y), y, "softmax", "softmax", "", 1);
        df_graph_free(g);
    }
    bmm_case("bmm", 0, 0);
    bmm_case("bmm_bt", 0, 1);
    bmm_case("bmm_at", 1, 0);
    bmm_case("bmm_at_bt", 1, 1);
    {
        df_graph *g = df_graph_new(2);
        int x = df_input(g, "x", (df_shape){3, {3, 4, 5}}, 1);
        int gm = df_input(g, "gamma", df_shape1(5), 1);
        int bt = df_input(g, "beta", df_shape1(5), 1);
        int y = df_film(g, "film", x, gm, bt);
        run_case(compiled(g, y), y, "film", "film", "", 1);
        df_graph_free(g);
    }
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: torch_dump OUT_DIR\n");
        return 2;
    }
    dir = argv[1];
    char path[512];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    manifest = fopen(path, "w");
    if (!manifest) {
        perror(path);
        return 1;
    }
    fprintf(manifest, "[");
    {
        df_graph *g = df_graph_new(3);
        int x = df_input(g, "x", df_shape1(7), 1);
        int y = df_linear(g, "fc", x, 5, 1);
        run_case(compiled(g, y), y, "linear", "linear", "", 1);
        df_graph_free(g);
    }
    conv_case("conv_k3s1p1", 2, 6, 5, 3, 4, 3, 1, 1, 1);
    conv_case("conv_k3s2p1", 2, 7, 7, 4, 3, 3, 2, 1, 0);
    conv_case("conv_k1", 2, 5, 5, 6, 4, 1, 1, 0, 1);
    conv_case("conv_k7s2p3", 1, 11, 9, 3, 5, 7, 2, 3, 0);
    for (int training = 0; training < 2; training++) {
        df_graph *g = df_graph_new(4);
        int x = df_input(g, "x", (df_shape){3, {5, 3, 6}}, 1);
        int y = df_batchnorm(g, "bn", x, 1e-5f, 0.1f);
        run_case(compiled(g, y), y, training ? "bn2d_train" : "bn2d_eval", "batchnorm2d",
                 "\"eps\": 1e-5, \"momentum\": 0.1", training);
        df_graph_free(g);
    }
    for (int training = 0; training < 2; training++) { /* odd width: its last column is in no window */
        df_graph *g = df_graph_new(3);
        int x = df_input(g, "x", (df_shape){3, {6, 5, 4}}, 1);
        int y = df_batchnorm_relu_maxpool(g, "bn", x, 1e-5f, 0.1f);
        run_case(compiled(g, y), y, training ? "bn_relu_pool_train" : "bn_relu_pool_eval", "batchnorm_relu_maxpool",
                 "\"eps\": 1e-5, \"momentum\": 0.1", training);
        df_graph_free(g);
    }
    {
        df_graph *g = df_graph_new(6);
        int x = df_input(g, "x", df_shape1(5), 1);
        int y = df_batchnorm(g, "bn", x, 1e-3f, 0.2f);
        run_case(compiled(g, y), y, "bn1d_train", "batchnorm1d", "\"eps\": 1e-3, \"momentum\": 0.2", 1);
        df_graph_free(g);
    }
    static const char *acts[] = {"relu", "silu", "sigmoid"};
    for (int a = 0; a < 3; a++) {
        df_graph *g = df_graph_new(2);
        int x = df_input(g, "x", (df_shape){3, {3, 4, 5}}, 1);
        int y = df_activation_layer(g, "act", x, (df_activation)a);
        run_case(compiled(g, y), y, acts[a], acts[a], "", 1);
        df_graph_free(g);
    }
    pool_case("maxpool_k2s2", 1, 2, 2, 0);
    pool_case("maxpool_k3s2p1", 1, 3, 2, 1);
    pool_case("avgpool_k3s2p1", 0, 3, 2, 1);
    {
        df_graph *g = df_graph_new(2);
        int x = df_input(g, "x", (df_shape){3, {4, 5, 3}}, 1);
        int y = df_global_avgpool(g, "gap", x);
        run_case(compiled(g, y), y, "gap", "gap", "", 1);
        df_graph_free(g);
    }
    {
        static const float w[4] = {0.5f, 1.5f, 1.0f, 2.0f};
        df_graph *g = df_graph_new(6);
        int z = df_input(g, "z", df_shape1(4), 1);
        int t = df_input(g, "t", (df_shape){0, {0}}, 0);
        int y = df_softmax_cross_entropy(g, "loss", z, t, 4, w, 0.1f);
        compiled(g, y);
        for (int i = 0; i < 6; i++) df_graph_out(g, t)[i] = (float)((i * 3) % 4);
        run_case(g, y, "softmax_ce", "softmax_ce", "\"smoothing\": 0.1, \"weights\": [0.5, 1.5, 1.0, 2.0]", 1);
        df_graph_free(g);
    }
    {
        static const float w[2] = {0.7f, 1.9f};
        df_graph *g = df_graph_new(6);
        int z = df_input(g, "z", df_shape1(1), 1);
        int t = df_input(g, "t", (df_shape){0, {0}}, 0);
        int y = df_bce_with_logits(g, "loss", z, t, w, 0.0f);
        compiled(g, y);
        for (int i = 0; i < 6; i++) df_graph_out(g, t)[i] = (float)(i % 2);
        run_case(g, y, "bce", "bce", "\"weights\": [0.7, 1.9]", 1);
        df_graph_free(g);
    }
    fusion_op_cases();
    fprintf(manifest, "\n]\n");
    return fclose(manifest) ? 1 : 0;
}
