/* test_graph.c: graph building (shape errors name the layer and the shapes), the parameter block,
 * initialisation, the summary, and running a batch smaller than planned. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "layers/layers.h"

static void expect_build_error(df_graph *g, int id, const char *needle1, const char *needle2) {
    CHECK(id < 0);
    CHECK(g->failed);
    CHECK_MSG(strstr(g->err.msg, needle1) != NULL, "'%s' does not mention '%s'", g->err.msg, needle1);
    CHECK_MSG(strstr(g->err.msg, needle2) != NULL, "'%s' does not mention '%s'", g->err.msg, needle2);
    df_error err;
    CHECK(df_graph_compile(g, -1, 1, &err) == -1);
    CHECK(strcmp(err.msg, g->err.msg) == 0);
    df_graph_free(g);
}

static void test_shape_errors(void) {
    df_graph *g = df_graph_new(4);
    int x = df_input(g, "image", (df_shape){3, {8, 8, 3}}, 0);
    expect_build_error(g, df_linear(g, "head.fc", x, 2, 1), "head.fc", "(4, 8, 8, 3)");

    g = df_graph_new(4);
    x = df_input(g, "image", (df_shape){3, {8, 8, 3}}, 0);
    int m = df_input(g, "meta", df_shape1(5), 0);
    expect_build_error(g, df_concat(g, "fusion.cat", (int[]){x, m}, 2), "fusion.cat", "(4, 5)");

    g = df_graph_new(2);
    x = df_input(g, "image", (df_shape){3, {8, 8, 3}}, 0);
    int c = df_conv2d(g, "c1", x, 4, 3, 2, 1, 0);
    expect_build_error(g, df_add(g, "res", x, c), "res", "(2, 4, 4, 4)");

    g = df_graph_new(2);
    x = df_input(g, "image", (df_shape){3, {4, 4, 3}}, 0);
    expect_build_error(g, df_conv2d(g, "big", x, 4, 7, 1, 0, 0), "big", "does not fit");

    g = df_graph_new(2);
    x = df_input(g, "image", (df_shape){3, {4, 4, 3}}, 0);
    df_relu(g, "act", x);
    expect_build_error(g, df_relu(g, "act", x), "act", "twice");

    /* The first error sticks: a later builder fails without replacing the message. */
    g = df_graph_new(2);
    x = df_input(g, "v", df_shape1(3), 0);
    df_conv2d(g, "first", x, 2, 3, 1, 1, 0);
    expect_build_error(g, df_linear(g, "second", 12345, 2, 1), "first", "conv2d");
}

static void test_parameters(void) {
    df_graph *g = df_graph_new(3);
    int x = df_input(g, "image", (df_shape){3, {6, 6, 3}}, 0);
    int c = df_conv2d(g, "stem.conv", x, 5, 3, 1, 1, 1);
    int b = df_batchnorm(g, "stem.bn", c, 1e-5f, 0.1f);
    int p = df_global_avgpool(g, "pool", df_relu(g, "stem.relu", b));
    int y = df_linear(g, "head", p, 2, 1);
    df_error err;
    CHECK(df_graph_compile(g, y, 7, &err) == 0);
    CHECK(g->n_tensors == 8);
    CHECK(df_graph_find_tensor(g, "stem.conv.weight") == 0);
    CHECK(df_graph_find_tensor(g, "stem.bn.running_var") >= 0);
    CHECK(df_graph_find_tensor(g, "head.bias") >= 0);
    CHECK(df_graph_param_count(g) == 5 * 27 + 5 + 5 + 5 + 2 * 5 + 2);
    size_t end = 0;
    for (int i = 0; i < g->n_tensors; i++) {
        const df_tensor_info *t = &g->tensors[i];
        CHECK(t->offset % 16 == 0);
        if (t->kind == DF_PARAM) {
            CHECK(t->offset >= end);
            end = t->offset + t->numel;
        }
    }
    CHECK(end <= g->n_param_floats);
    /* Initialisation depends on the seed and the tensor's name only. */
    float *first = df_malloc(g->n_param_floats * sizeof(float));
    memcpy(first, g->params, g->n_param_floats * sizeof(float));
    df_graph_init_params(g, 7);
    CHECK(memcmp(first, g->params, g->n_param_floats * sizeof(float)) == 0);
    df_graph_init_params(g, 8);
    CHECK(memcmp(first, g->params, g->n_param_floats * sizeof(float)) != 0);
    const float *rv = g->buffers + g->tensors[df_graph_find_tensor(g, "stem.bn.running_var")].offset;
    CHECK(rv[0] == 1.0f && rv[4] == 1.0f);
    free(first);

    /* Summary names every layer and the total. */
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    df_graph_summary(g, f);
    fclose(f);
    CHECK(strstr(text, "stem.conv") && strstr(text, "(B, 6, 6, 5)") && strstr(text, "conv2d"));
    CHECK(strstr(text, "total: 162 parameters") != NULL);
    free(text);

    /* A smaller batch gives the same per-sample results as the full one (inference mode). */
    df_graph_set_training(g, 0);
    float *in = df_graph_out(g, x);
    for (int i = 0; i < 3 * 6 * 6 * 3; i++) in[i] = (float)((i * 37) % 11) / 11.0f - 0.5f;
    df_graph_forward(g);
    float full[6];
    memcpy(full, df_graph_out(g, y), sizeof full);
    df_graph_set_batch(g, 1);
    df_graph_forward(g);
    CHECK(memcmp(full, df_graph_out(g, y), 2 * sizeof(float)) == 0);
    df_graph_free(g);
}

int main(void) {
    test_shape_errors();
    test_parameters();
    return check_report();
}
