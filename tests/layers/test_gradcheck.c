/* test_gradcheck.c: every op's backward against finite differences, wrt its inputs and its parameters, at
 * several shapes (odd sizes, stride 2, padding, batch 1, a batch smaller than the planned one), in training
 * and inference mode where they differ; and each fused op (layers/fused.h) against the composition of the
 * ops it replaces (bit for bit, or to stated rounding where it sums in another order). */
#include <math.h>
#include <stdlib.h>

#include "gradcheck.h"
#include "layers/fused.h"
#include "layers/layers.h"

#define H 5e-3f
#define GAP 0.02f
#define ATOL 1e-3
#define RTOL 1e-2

static df_graph *compile_or_die(df_graph *g, int out) {
    df_error err;
    if (df_graph_compile(g, out, 42, &err)) {
        fprintf(stderr, "compile failed: %s\n", err.msg);
        exit(1);
    }
    return g;
}

static void check_conv(int B, int Hh, int W, int C, int CO, int k, int s, int p, int bias) {
    df_graph *g = df_graph_new(B);
    int x = df_input(g, "x", (df_shape){3, {Hh, W, C}}, 1);
    int y = df_conv2d(g, "conv", x, CO, k, s, p, bias);
    compile_or_die(g, y);
    char label[128];
    snprintf(label, sizeof label, "conv2d B%d %dx%dx%d->%d k%d s%d p%d%s", B, Hh, W, C, CO, k, s, p,
             bias ? " bias" : "");
    gradcheck(g, y, H, GAP, ATOL, RTOL, label);
    df_graph_free(g);
}

static void check_linear(int B, int in, int out, int bias) {
    df_graph *g = df_graph_new(B);
    int x = df_input(g, "x", df_shape1(in), 1);
    int y = df_linear(g, "fc", x, out, bias);
    compile_or_die(g, y);
    char label[96];
    snprintf(label, sizeof label, "linear B%d %d->%d%s", B, in, out, bias ? " bias" : "");
    gradcheck(g, y, H, GAP, ATOL, RTOL, label);
    df_graph_free(g);
}

static void check_batchnorm(df_shape sample, int B, int training) {
    df_graph *g = df_graph_new(B);
    int x = df_input(g, "x", sample, 1);
    int y = df_batchnorm(g, "bn", x, 1e-5f, 0.1f);
    compile_or_die(g, y);
    df_graph_set_training(g, training);
    /* Inference mode needs running statistics other than the initial 0/1 to be a real test. */
    for (size_t i = 0; i < g->n_buffer_floats; i++) g->buffers[i] = 0.5f + 0.1f * (float)(i % 7);
    char label[96];
    snprintf(label, sizeof label, "batchnorm rank %d B%d %s", sample.rank + 1, B, training ? "train" : "eval");
    gradcheck(g, y, H, GAP, 2 * ATOL, RTOL, label);
    df_graph_free(g);
}

static void check_batchnorm_relu(df_shape sample, int B, int training) {
    df_graph *g = df_graph_new(B);
    int x = df_input(g, "x", sample, 1);
    int y = df_batchnorm_relu(g, "bnrelu", x, 1e-5f, 0.1f);
    compile_or_die(g, y);
    df_graph_set_training(g, training);
    for (size_t i = 0; i < g->n_buffer_floats; i++) g->buffers[i] = 0.5f + 0.1f * (float)(i % 7);
    char label[96];
    snprintf(label, sizeof label, "batchnorm+relu rank %d B%d %s", sample.rank + 1, B,
             training ? "train" : "eval");
    gradcheck(g, y, H, GAP, 2 * ATOL, RTOL, label);
    df_graph_free(g);
}

/* The fused batchnorm+ReLU against batchnorm then relu in one graph fed the same input, parameters and
 * output gradient: outputs, running statistics, input and parameter gradients must be identical. A second
 * consumer of x checks that the fused op adds into an input gradient another op already wrote. */
static void check_batchnorm_relu_matches_composition(int training) {
    const int B = 3, Hh = 5, W = 7, C = 19; /* C not a multiple of a vector width */
    df_graph *g = df_graph_new(B);
    int x = df_input(g, "x", (df_shape){3, {Hh, W, C}}, 1);
    int bn = df_batchnorm(g, "a", x, 1e-5f, 0.1f);
    int ra = df_relu(g, "a.relu", bn);
    int rb = df_batchnorm_relu(g, "b", x, 1e-5f, 0.1f);
    int sum = df_add(g, "sum", ra, rb);
    /* Their backward runs again below, after the graph's: their output gradients must still be there. */
    df_graph_keep_grad(g, bn);
    df_graph_keep_grad(g, rb);
    compile_or_die(g, sum);
    df_graph_set_training(g, training);
    df_rng r = df_rng_make(5, 5);
    size_t n = (size_t)B * Hh * W * C;
    for (size_t i = 0; i < n; i++) g->nodes[x].out[i] = 3.0f * df_rng_normal(&r) + 1.0f;
    int ta = df_graph_find_tensor(g, "a.weight"), tb = df_graph_find_tensor(g, "b.weight");
    for (int k = 0; k < 2; k++) /* weight, bias */
        for (int c = 0; c < C; c++) {
            float v = df_rng_normal(&r);
            g->params[g->tensors[ta + k].offset + c] = v;
            g->params[g->tensors[tb + k].offset + c] = v;
        }
    for (int k = 2; k < 4; k++) /* running statistics */
        for (int c = 0; c < C; c++) {
            float v = 0.5f + df_rng_uniform(&r);
            g->buffers[g->tensors[ta + k].offset + c] = v;
            g->buffers[g->tensors[tb + k].offset + c] = v;
        }
    df_graph_forward(g);
    for (size_t i = 0; i < n; i++) g->nodes[sum].dout[i] = df_rng_normal(&r);
    df_graph_zero_grads(g);
    df_graph_backward(g);
    int same_y = 1, zeros = 0;
    for (size_t i = 0; i < n; i++) {
        same_y &= g->nodes[ra].out[i] == g->nodes[rb].out[i];
        zeros += g->nodes[rb].out[i] == 0.0f;
    }
    CHECK_MSG(same_y, "batchnorm+relu %s: output differs from batchnorm then relu", training ? "train" : "eval");
    CHECK_MSG(zeros > 0 && zeros < (int)n, "batchnorm+relu: %d of %zu outputs clamped, the test needs both", zeros,
              n);
    int same_p = 1;
    for (int k = 0; k < 4; k++)
        for (int c = 0; c < C; c++) {
            const df_tensor_info *a = &g->tensors[ta + k], *b = &g->tensors[tb + k];
            const float *base = a->kind == DF_PARAM ? g->grads : g->buffers;
            same_p &= base[a->offset + c] == base[b->offset + c];
        }
    CHECK_MSG(same_p, "batchnorm+relu %s: parameter gradients or running statistics differ",
              training ? "train" : "eval");
    /* In reverse order the fused node writes x's gradient first (stores), then the batchnorm adds. Each
     * branch's input gradient alone, then: they must be equal, and their sum what the graph produced. */
    float *both = df_malloc(n * sizeof(float)), *dx_b = df_malloc(n * sizeof(float));
    memcpy(both, g->nodes[x].dout, n * sizeof(float));
    df_node *fused = &g->nodes[rb], *plain = &g->nodes[bn];
    CHECK(fused->grad_accum[0] == 0 && plain->grad_accum[0] == 1);
    fused->op->backward(g, fused);
    memcpy(dx_b, g->nodes[x].dout, n * sizeof(float));
    plain->grad_accum[0] = 0;
    plain->op->backward(g, plain); /* from a.relu's gradient, still in bn's dout */
    int same_dx = 1, adds = 1;
    for (size_t i = 0; i < n; i++) {
        same_dx &= dx_b[i] == g->nodes[x].dout[i];
        adds &= both[i] == dx_b[i] + g->nodes[x].dout[i];
    }
    CHECK_MSG(same_dx, "batchnorm+relu %s: input gradient differs from batchnorm then relu",
              training ? "train" : "eval");
    CHECK_MSG(adds, "batchnorm+relu %s: the two consumers' input gradients are not summed",
              training ? "train" : "eval");
    free(both);
    free(dx_b);
    df_graph_free(g);
}

static void check_batchnorm_relu_maxpool(int B, int Hh, int W, int C, int training) {
    df_graph *g = df_graph_new(B);
    int x = df_input(g, "x", (df_shape){3, {Hh, W, C}}, 1);
    int y = df_batchnorm_relu_maxpool(g, "bnpool", x, 1e-5f, 0.1f);
    compile_or_die(g, y);
    df_graph_set_training(g, training);
    for (size_t i = 0; i < g->n_buffer_floats; i++) g->buffers[i] = 0.5f + 0.1f * (float)(i % 7);
    char label[96];
    snprintf(label, sizeof label, "batchnorm+relu+maxpool B%d %dx%dx%d %s", B, Hh, W, C,
             training ? "train" : "eval");
    gradcheck(g, y, H, GAP, 2 * ATOL, RTOL, label);
    df_graph_free(g);
}

static int close_rel(float a, float b, float tol) { return fabsf(a - b) <= tol * (1.0f + fabsf(b)); }

/* The fused batchnorm+ReLU+max-pool against batchnorm+ReLU then max pooling, fed the same input, parameters
 * and output gradient. Outputs and running statistics are the same expressions on the same values: equal bit
 * for bit. The gradient sums run over windows instead of pixels, a different order of the same float terms,
 * so gradients agree to a few float roundings: 1e-5 relative, where a wrong winner, mask or missing term
 * would be off by O(1). A second consumer of x checks that the fused op adds into an existing gradient. */
static void check_batchnorm_relu_maxpool_matches_composition(int Hh, int W, int training) {
    const int B = 3, C = 19; /* C not a multiple of a vector width */
    df_graph *g = df_graph_new(B);
    int x = df_input(g, "x", (df_shape){3, {Hh, W, C}}, 1);
    int bn = df_batchnorm_relu(g, "a", x, 1e-5f, 0.1f);
    int pa = df_maxpool(g, "a.pool", bn, 2, 2, 0);
    int pb = df_batchnorm_relu_maxpool(g, "b", x, 1e-5f, 0.1f);
    int sum = df_add(g, "sum", pa, pb);
    /* Their backward runs again below, after the graph's: their output gradients must still be there. */
    df_graph_keep_grad(g, bn);
    df_graph_keep_grad(g, pb);
    compile_or_die(g, sum);
    df_graph_set_training(g, training);
    df_rng r = df_rng_make(5, 6);
    size_t n = (size_t)B * Hh * W * C, m = (size_t)B * (Hh / 2) * (W / 2) * C;
    for (size_t i = 0; i < n; i++) g->nodes[x].out[i] = 3.0f * df_rng_normal(&r) + 1.0f;
    int ta = df_graph_find_tensor(g, "a.weight"), tb = df_graph_find_tensor(g, "b.weight");
    for (int k = 0; k < 2; k++)
        for (int c = 0; c < C; c++) {
            float v = df_rng_normal(&r);
            g->params[g->tensors[ta + k].offset + c] = g->params[g->tensors[tb + k].offset + c] = v;
        }
    for (int k = 2; k < 4; k++)
        for (int c = 0; c < C; c++) {
            float v = 0.5f + df_rng_uniform(&r);
            g->buffers[g->tensors[ta + k].offset + c] = g->buffers[g->tensors[tb + k].offset + c] = v;
        }
    df_graph_forward(g);
    const char *mode = training ? "train" : "eval";
    int same_y = 1, zeros = 0;
    for (size_t i = 0; i < m; i++) {
        same_y &= g->nodes[pa].out[i] == g->nodes[pb].out[i];
        zeros += g->nodes[pb].out[i] == 0.0f;
    }
    CHECK_MSG(same_y, "batchnorm+relu+maxpool %dx%d %s: output differs from the composition", Hh, W, mode);
    CHECK_MSG(zeros > 0 && zeros < (int)m, "batchnorm+relu+maxpool: %d of %zu outputs zero, the test needs both",
              zeros, m);
    for (size_t i = 0; i < m; i++) g->nodes[sum].dout[i] = df_rng_normal(&r);
    df_graph_zero_grads(g);
    df_graph_backward(g);
    int same_p = 1;
    for (int k = 0; k < 4; k++)
        for (int c = 0; c < C; c++) {
            const df_tensor_info *a = &g->tensors[ta + k], *b = &g->tensors[tb + k];
            if (a->kind == DF_PARAM)
                same_p &= close_rel(g->grads[b->offset + c], g->grads[a->offset + c], 1e-5f);
            else
                same_p &= g->buffers[a->offset + c] == g->buffers[b->offset + c];
        }
    CHECK_MSG(same_p, "batchnorm+relu+maxpool %dx%d %s: parameter gradients or running statistics differ", Hh,
              W, mode);
    /* Each branch's input gradient alone (the fused node ran first in reverse order and stored; the
     * composition's batchnorm added): equal to tolerance, and their sum what the graph produced. */
    float *both = df_malloc(n * sizeof(float)), *dx_b = df_malloc(n * sizeof(float));
    memcpy(both, g->nodes[x].dout, n * sizeof(float));
    df_node *fused = &g->nodes[pb], *plain = &g->nodes[bn];
    CHECK(fused->grad_accum[0] == 0 && plain->grad_accum[0] == 1);
    fused->op->backward(g, fused);
    memcpy(dx_b, g->nodes[x].dout, n * sizeof(float));
    plain->grad_accum[0] = 0;
    plain->op->backward(g, plain);
    int same_dx = 1, adds = 1;
    for (size_t i = 0; i < n; i++) {
        same_dx &= close_rel(dx_b[i], g->nodes[x].dout[i], 1e-5f);
        adds &= close_rel(both[i], dx_b[i] + g->nodes[x].dout[i], 1e-6f);
    }
    CHECK_MSG(same_dx, "batchnorm+relu+maxpool %dx%d %s: input gradient differs from the composition", Hh, W,
              mode);
    CHECK_MSG(adds, "batchnorm+relu+maxpool %dx%d %s: the two consumers' input gradients are not summed", Hh, W,
              mode);
    free(both);
    free(dx_b);
    df_graph_free(g);
}

/* A NaN in a max-pooling window reaches the output (as in PyTorch) instead of losing to its neighbours, so
 * the NaN guard sees it; in max pooling alone and in the fused batchnorm+ReLU+max-pool, whose input gradient
 * must still equal the composition's (the ReLU stops the gradient at a NaN). */
/* The fused batchnorm+add+ReLU against finite differences, with the residual also read by a later node, so the
 * fused op adds into a gradient another op wrote first. The ReLU's kink is at bn(x) + r = 0, which the inputs'
 * gap from 0 does not keep clear of: this shape and these fixed draws keep every pre-activation further than
 * h from it (others put one within h, and the difference quotient then straddles the kink); the exact
 * comparison with the composition below holds for any draw. */
static void check_batchnorm_add_relu(int B, int Hh, int W, int C, int training) {
    df_graph *g = df_graph_new(B);
    int x = df_input(g, "x", (df_shape){3, {Hh, W, C}}, 1);
    int r = df_input(g, "r", (df_shape){3, {Hh, W, C}}, 1);
    int y = df_batchnorm_add_relu(g, "bnadd", x, r, 1e-5f, 0.1f);
    int out = df_add(g, "out", y, r);
    compile_or_die(g, out);
    CHECK(g->nodes[y].grad_accum[1] == 1 && g->nodes[out].grad_accum[1] == 0);
    df_graph_set_training(g, training);
    for (size_t i = 0; i < g->n_buffer_floats; i++) g->buffers[i] = 0.5f + 0.1f * (float)(i % 7);
    char label[96];
    snprintf(label, sizeof label, "batchnorm+add+relu B%d %dx%dx%d %s", B, Hh, W, C, training ? "train" : "eval");
    gradcheck(g, out, H, GAP, 2 * ATOL, RTOL, label);
    df_graph_free(g);
}

/* One graph of the block's end, fused or as batchnorm -> add -> relu, both with parameters "bn.*". */
static df_graph *block_end(int fused, int B, int Hh, int W, int C, int *x, int *r, int *y) {
    df_graph *g = df_graph_new(B);
    *x = df_input(g, "x", (df_shape){3, {Hh, W, C}}, 1);
    *r = df_input(g, "r", (df_shape){3, {Hh, W, C}}, 1);
    if (fused) {
        *y = df_batchnorm_add_relu(g, "bn", *x, *r, 1e-5f, 0.1f);
    } else {
        int t = df_batchnorm(g, "bn", *x, 1e-5f, 0.1f);
        *y = df_relu(g, "relu", df_add(g, "add", t, *r));
    }
    return compile_or_die(g, *y);
}

/* The fused op and the composition fed the same inputs, parameters, statistics and output gradient: the same
 * expressions in the same order, so outputs, running statistics and every gradient are equal bit for bit. */
static void check_batchnorm_add_relu_matches_composition(int training) {
    const int B = 3, Hh = 5, W = 6, C = 19; /* C not a multiple of a vector width */
    int x[2], r[2], y[2];
    df_graph *g[2];
    for (int f = 0; f < 2; f++) {
        g[f] = block_end(f, B, Hh, W, C, &x[f], &r[f], &y[f]);
        df_graph_set_training(g[f], training);
        df_rng rng = df_rng_make(8, 9);
        size_t n = (size_t)B * Hh * W * C;
        for (size_t i = 0; i < n; i++) g[f]->nodes[x[f]].out[i] = 3.0f * df_rng_normal(&rng) + 1.0f;
        for (size_t i = 0; i < n; i++) g[f]->nodes[r[f]].out[i] = df_rng_normal(&rng);
        for (size_t i = 0; i < g[f]->n_param_floats; i++) g[f]->params[i] = df_rng_normal(&rng);
        for (size_t i = 0; i < g[f]->n_buffer_floats; i++) g[f]->buffers[i] = 0.5f + df_rng_uniform(&rng);
        df_graph_forward(g[f]);
        for (size_t i = 0; i < n; i++) g[f]->nodes[y[f]].dout[i] = df_rng_normal(&rng);
        df_graph_zero_grads(g[f]);
        df_graph_backward(g[f]);
    }
    const size_t n = (size_t)B * Hh * W * C;
    const char *mode = training ? "train" : "eval";
    int zeros = 0;
    for (size_t i = 0; i < n; i++) zeros += g[1]->nodes[y[1]].out[i] == 0.0f;
    CHECK_MSG(zeros > 0 && zeros < (int)n, "batchnorm+add+relu: %d of %zu outputs zero, the test needs both", zeros, n);
    CHECK_MSG(!memcmp(g[0]->nodes[y[0]].out, g[1]->nodes[y[1]].out, n * sizeof(float)),
              "batchnorm+add+relu %s: output differs from batchnorm, add, relu", mode);
    CHECK_MSG(!memcmp(g[0]->buffers, g[1]->buffers, g[0]->n_buffer_floats * sizeof(float)),
              "batchnorm+add+relu %s: running statistics differ", mode);
    CHECK_MSG(!memcmp(g[0]->grads, g[1]->grads, g[0]->n_param_floats * sizeof(float)),
              "batchnorm+add+relu %s: parameter gradients differ", mode);
    CHECK_MSG(!memcmp(g[0]->nodes[x[0]].dout, g[1]->nodes[x[1]].dout, n * sizeof(float)),
              "batchnorm+add+relu %s: the normalised input's gradient differs", mode);
    CHECK_MSG(!memcmp(g[0]->nodes[r[0]].dout, g[1]->nodes[r[1]].dout, n * sizeof(float)),
              "batchnorm+add+relu %s: the residual's gradient differs", mode);
    df_graph_free(g[0]);
    df_graph_free(g[1]);

    /* A residual of another shape is refused, naming both. */
    df_graph *bad = df_graph_new(2);
    int a = df_input(bad, "a", (df_shape){3, {4, 4, 8}}, 1), b = df_input(bad, "b", (df_shape){3, {2, 2, 8}}, 1);
    CHECK(df_batchnorm_add_relu(bad, "bn", a, b, 1e-5f, 0.1f) < 0);
    CHECK_MSG(strstr(bad->err.msg, "'b'") && strstr(bad->err.msg, "(2, 2, 2, 8)"), "%s", bad->err.msg);
    df_graph_free(bad);
}

static void check_maxpool_nan(void) {
    df_graph *g = df_graph_new(1);
    int x = df_input(g, "x", (df_shape){3, {2, 4, 1}}, 1);
    int plain = df_maxpool(g, "pool", x, 2, 2, 0);
    int bn = df_batchnorm_relu(g, "a", x, 1e-5f, 0.1f);
    int pa = df_maxpool(g, "a.pool", bn, 2, 2, 0);
    int pb = df_batchnorm_relu_maxpool(g, "b", x, 1e-5f, 0.1f);
    int s1 = df_add(g, "s1", pa, pb), out = df_add(g, "out", s1, plain);
    compile_or_die(g, out);
    df_graph_set_training(g, 0); /* running statistics 0 and 1: the norm is (nearly) the identity */
    const float in[8] = {1.0f, NAN, 2.0f, 5.0f, 3.0f, 2.0f, 4.0f, -1.0f}; /* windows {1,NaN,3,2}, {2,5,4,-1} */
    memcpy(g->nodes[x].out, in, sizeof in);
    df_graph_forward(g);
    const float *yp = g->nodes[plain].out, *ya = g->nodes[pa].out, *yb = g->nodes[pb].out;
    CHECK_MSG(isnan(yp[0]) && isnan(ya[0]) && isnan(yb[0]), "max pooling lost a NaN: %g %g %g", yp[0], ya[0],
              yb[0]);
    CHECK_MSG(yp[1] == 5.0f && ya[1] == yb[1] && fabsf(yb[1] - 5.0f) < 1e-3f, "max pooling: %g %g %g, want 5",
              yp[1], ya[1], yb[1]);
    for (int i = 0; i < 2; i++) g->nodes[out].dout[i] = 1.0f;
    df_graph_zero_grads(g);
    df_graph_backward(g);
    float dx_b[8];
    df_node *fused = &g->nodes[pb];
    const int acc = fused->grad_accum[0];
    fused->grad_accum[0] = 0;
    fused->op->backward(g, fused);
    memcpy(dx_b, g->nodes[x].dout, sizeof dx_b);
    fused->grad_accum[0] = acc;
    g->nodes[bn].grad_accum[0] = 0;
    g->nodes[bn].op->backward(g, &g->nodes[bn]); /* from a.pool's gradient, still in a's dout */
    int same = 1;
    for (int i = 0; i < 8; i++) /* the NaN input's own gradient is NaN in both (0 * NaN) */
        same &= dx_b[i] == g->nodes[x].dout[i] || (isnan(dx_b[i]) && isnan(g->nodes[x].dout[i]));
    CHECK_MSG(same, "batchnorm+relu+maxpool: input gradient around a NaN differs from the composition");
    CHECK_MSG(dx_b[3] > 0.5f && dx_b[0] == 0.0f && dx_b[4] == 0.0f && dx_b[5] == 0.0f,
              "batchnorm+relu+maxpool: gradient %g at the winning 5, %g %g %g beside the NaN", dx_b[3], dx_b[0],
              dx_b[4], dx_b[5]);
    df_graph_free(g);
}

static void check_activation(df_activation kind, const char *label) {
    df_graph *g = df_graph_new(3);
    int x = df_input(g, "x", (df_shape){3, {3, 4, 5}}, 1);
    int y = df_activation_layer(g, "act", x, kind);
    compile_or_die(g, y);
    gradcheck(g, y, H, GAP, ATOL, RTOL, label);
    df_graph_free(g);
}

static void check_pool(int maxpool, int B, int Hh, int W, int C, int k, int s, int p) {
    df_graph *g = df_graph_new(B);
    int x = df_input(g, "x", (df_shape){3, {Hh, W, C}}, 1);
    int y = maxpool ? df_maxpool(g, "pool", x, k, s, p) : df_avgpool(g, "pool", x, k, s, p);
    compile_or_die(g, y);
    char label[96];
    snprintf(label, sizeof label, "%s B%d %dx%dx%d k%d s%d p%d", maxpool ? "maxpool" : "avgpool", B, Hh, W, C,
             k, s, p);
    /* Max pooling: inputs are spaced 4/n apart, so h must stay below half of that to keep the argmax. */
    gradcheck(g, y, maxpool ? 1e-3f : H, GAP, ATOL, RTOL, label);
    df_graph_free(g);
}

/* Layer norm over the last dimension of (rows, D) and (h, w, D) samples, and on a batch smaller than the planned
 * one (its saved row statistics are laid out for the planned batch). */
static void check_layernorm(df_shape sample, int B, int run_batch) {
    df_graph *g = df_graph_new(B);
    int x = df_input(g, "x", sample, 1);
    int y = df_layernorm(g, "ln", x, 1e-5f);
    compile_or_die(g, y);
    df_graph_set_batch(g, run_batch);
    char label[96];
    snprintf(label, sizeof label, "layernorm rank %d B%d of %d", sample.rank + 1, run_batch, B);
    gradcheck(g, y, H, GAP, 2 * ATOL, RTOL, label);
    df_graph_free(g);
}

static void check_softmax(df_shape sample, int B) {
    df_graph *g = df_graph_new(B);
    int x = df_input(g, "x", sample, 1);
    int y = df_softmax(g, "softmax", x);
    compile_or_die(g, y);
    char label[96];
    snprintf(label, sizeof label, "softmax rank %d B%d", sample.rank + 1, B);
    gradcheck(g, y, H, GAP, ATOL, RTOL, label);
    df_graph_free(g);
}

/* op(a) (M, K) times op(b) (K, N) with every pair of transpose flags. */
static void check_bmm(int B, int M, int N, int K, int ta, int tb, float alpha) {
    df_graph *g = df_graph_new(B);
    int a = df_input(g, "a", (df_shape){2, {ta ? K : M, ta ? M : K}}, 1);
    int b = df_input(g, "b", (df_shape){2, {tb ? N : K, tb ? K : N}}, 1);
    int y = df_bmm(g, "bmm", a, b, ta, tb, alpha);
    compile_or_die(g, y);
    char label[96];
    snprintf(label, sizeof label, "bmm B%d %dx%dx%d%s%s alpha %g", B, M, N, K, ta ? " a^T" : "", tb ? " b^T" : "",
             (double)alpha);
    gradcheck(g, y, H, GAP, ATOL, RTOL, label);
    df_graph_free(g);
}

/* Attention's core on its own: softmax(q k^T / sqrt(d)) v, q (T, d), k and v (P, d); and q q^T, one input
 * feeding both operands, whose gradient the second must add to the first's. */
static void check_attention_core(void) {
    {
        df_graph *g = df_graph_new(2);
        int q = df_input(g, "q", (df_shape){2, {3, 4}}, 1);
        int k = df_input(g, "k", (df_shape){2, {5, 4}}, 1);
        int v = df_input(g, "v", (df_shape){2, {5, 2}}, 1);
        int s = df_bmm(g, "scores", q, k, 0, 1, 0.5f);
        int a = df_softmax(g, "weights", s);
        int y = df_bmm(g, "mix", a, v, 0, 0, 1.0f);
        gradcheck(compile_or_die(g, y), y, H, GAP, ATOL, RTOL, "attention softmax(q k^T/2) v");
        df_graph_free(g);
    }
    {
        df_graph *g = df_graph_new(2);
        int q = df_input(g, "q", (df_shape){2, {3, 4}}, 1);
        int y = df_bmm(g, "gram", q, q, 0, 1, 1.0f);
        gradcheck(compile_or_die(g, y), y, H, GAP, ATOL, RTOL, "bmm q q^T (one input, both operands)");
        df_graph_free(g);
    }
}

static void check_film(void) {
    df_graph *g = df_graph_new(2);
    int x = df_input(g, "x", (df_shape){3, {3, 2, 5}}, 1);
    int gm = df_input(g, "gamma", df_shape1(5), 1);
    int bt = df_input(g, "beta", df_shape1(5), 1);
    int y = df_film(g, "film", x, gm, bt);
    gradcheck(compile_or_die(g, y), y, H, GAP, ATOL, RTOL, "film 3x2x5");
    df_graph_free(g);
}

static void check_structural(void) {
    {
        df_graph *g = df_graph_new(2);
        int x = df_input(g, "x", (df_shape){3, {3, 4, 5}}, 1);
        int y = df_global_avgpool(g, "gap", x);
        gradcheck(compile_or_die(g, y), y, H, GAP, ATOL, RTOL, "global avgpool 3x4x5");
        df_graph_free(g);
    }
    {
        df_graph *g = df_graph_new(2);
        int x = df_input(g, "x", (df_shape){3, {3, 2, 5}}, 1);
        int y = df_flatten(g, "flat", x);
        gradcheck(compile_or_die(g, y), y, H, GAP, ATOL, RTOL, "flatten 3x2x5");
        df_graph_free(g);
    }
    {
        df_graph *g = df_graph_new(2);
        int x = df_input(g, "x", (df_shape){3, {3, 2, 5}}, 1);
        int y = df_reshape(g, "rows", x, (df_shape){2, {6, 5}});
        gradcheck(compile_or_die(g, y), y, H, GAP, ATOL, RTOL, "reshape 3x2x5 -> 6x5");
        df_graph_free(g);
    }
    {
        df_graph *g = df_graph_new(2);
        int a = df_input(g, "a", (df_shape){3, {3, 2, 5}}, 1);
        int b = df_input(g, "b", (df_shape){3, {3, 2, 2}}, 1);
        int c = df_input(g, "c", (df_shape){3, {3, 2, 1}}, 1);
        int y = df_concat(g, "cat", (int[]){a, b, c}, 3);
        gradcheck(compile_or_die(g, y), y, H, GAP, ATOL, RTOL, "concat 5+2+1 channels");
        df_graph_free(g);
    }
    {
        df_graph *g = df_graph_new(3);
        int a = df_input(g, "a", df_shape1(4), 1);
        int b = df_input(g, "b", df_shape1(3), 1);
        int y = df_concat(g, "cat", (int[]){a, b}, 2);
        gradcheck(compile_or_die(g, y), y, H, GAP, ATOL, RTOL, "concat 4+3 features");
        df_graph_free(g);
    }
    {
        df_graph *g = df_graph_new(2);
        int a = df_input(g, "a", (df_shape){3, {3, 4, 2}}, 1);
        int b = df_input(g, "b", (df_shape){3, {3, 4, 2}}, 1);
        int y = df_add(g, "add", a, b);
        gradcheck(compile_or_die(g, y), y, H, GAP, ATOL, RTOL, "add");
        df_graph_free(g);
    }
    {
        /* x feeds two consumers: checks that the second one adds to, not overwrites, x's gradient. */
        df_graph *g = df_graph_new(2);
        int x = df_input(g, "x", (df_shape){3, {3, 3, 4}}, 1);
        int c = df_conv2d(g, "conv", x, 4, 3, 1, 1, 1);
        int r = df_relu(g, "relu", c);
        int y = df_add(g, "residual", r, x);
        gradcheck(compile_or_die(g, y), y, H, GAP, ATOL, RTOL, "residual block (shared input)");
        df_graph_free(g);
    }
    {
        df_graph *g = df_graph_new(2);
        int x = df_input(g, "x", (df_shape){3, {3, 4, 5}}, 1);
        int s = df_input(g, "s", df_shape1(5), 1);
        int y = df_scale_channels(g, "gate", x, s);
        gradcheck(compile_or_die(g, y), y, H, GAP, ATOL, RTOL, "scale channels");
        df_graph_free(g);
    }
    {
        df_graph *g = df_graph_new(2);
        int x = df_input(g, "x", df_shape1(3), 1);
        int y = df_broadcast_planes(g, "planes", x, 3, 5);
        gradcheck(compile_or_die(g, y), y, H, GAP, ATOL, RTOL, "broadcast planes 3 -> 3x5x3");
        df_graph_free(g);
    }
    for (int training = 0; training < 2; training++) {
        df_graph *g = df_graph_new(3);
        int x = df_input(g, "x", df_shape1(20), 1);
        int y = df_dropout(g, "drop", x, 0.3f);
        compile_or_die(g, y);
        df_graph_set_training(g, training);
        gradcheck(g, y, H, GAP, ATOL, RTOL, training ? "dropout train" : "dropout eval");
        df_graph_free(g);
    }
}

static void check_losses(void) {
    static const float weights[3] = {0.5f, 2.0f, 1.25f};
    for (int variant = 0; variant < 4; variant++) {
        int B = variant == 3 ? 1 : 5;
        df_graph *g = df_graph_new(B);
        int z = df_input(g, "z", df_shape1(3), 1);
        int t = df_input(g, "t", (df_shape){0, {0}}, 0);
        int L = df_softmax_cross_entropy(g, "loss", z, t, 3, variant & 1 ? weights : NULL,
                                         variant >= 2 ? 0.1f : 0.0f);
        compile_or_die(g, L);
        for (int i = 0; i < B; i++) df_graph_out(g, t)[i] = (float)(i % 3);
        char label[64];
        snprintf(label, sizeof label, "softmax CE B%d%s%s", B, variant & 1 ? " weighted" : "",
                 variant >= 2 ? " smoothed" : "");
        gradcheck(g, L, H, GAP, ATOL, RTOL, label);
        df_graph_free(g);
    }
    for (int variant = 0; variant < 3; variant++) {
        df_graph *g = df_graph_new(6);
        int z = df_input(g, "z", df_shape1(1), 1);
        int t = df_input(g, "t", (df_shape){0, {0}}, 0);
        static const float w2[2] = {0.3f, 1.7f};
        int L = df_bce_with_logits(g, "loss", z, t, variant == 1 ? w2 : NULL, variant == 2 ? 0.2f : 0.0f);
        compile_or_die(g, L);
        for (int i = 0; i < 6; i++) df_graph_out(g, t)[i] = (float)(i % 2);
        static const char *labels[] = {"BCE logits", "BCE logits weighted", "BCE logits smoothed"};
        gradcheck(g, L, H, GAP, ATOL, RTOL, labels[variant]);
        df_graph_free(g);
    }
}

int main(void) {
    check_expected_cpu();
    check_linear(3, 7, 5, 1);
    check_linear(1, 4, 3, 0);
    {
        /* Rank 3: every row of the last dimension through the same weights. */
        df_graph *g = df_graph_new(2);
        int x = df_input(g, "x", (df_shape){2, {3, 4}}, 1);
        int y = df_linear(g, "fc", x, 5, 1);
        gradcheck(compile_or_die(g, y), y, H, GAP, ATOL, RTOL, "linear B2 (3, 4)->(3, 5) bias");
        df_graph_free(g);
    }
    check_conv(2, 5, 6, 3, 4, 3, 1, 1, 1);
    check_conv(1, 7, 7, 2, 3, 3, 2, 1, 0);
    check_conv(2, 6, 5, 3, 2, 1, 1, 0, 1);
    check_conv(1, 4, 4, 2, 3, 1, 2, 0, 0);
    check_conv(1, 9, 8, 2, 2, 7, 2, 3, 1);
    check_conv(3, 5, 5, 1, 2, 5, 1, 0, 1);
    /* Short patches and 16k output channels: the register-blocked kernels of conv_small.c on AVX-512. */
    check_conv(2, 5, 6, 3, 32, 3, 1, 1, 1);
    check_conv(1, 7, 6, 1, 16, 5, 1, 2, 0);
    {
        /* A batch smaller than the graph was planned for. */
        df_graph *g = df_graph_new(4);
        int x = df_input(g, "x", (df_shape){3, {4, 4, 3}}, 1);
        int c = df_conv2d(g, "conv", x, 2, 3, 1, 1, 1);
        int y = df_batchnorm(g, "bn", c, 1e-5f, 0.1f);
        compile_or_die(g, y);
        df_graph_set_training(g, 1);
        df_graph_set_batch(g, 2);
        gradcheck(g, y, H, GAP, 2 * ATOL, RTOL, "conv+batchnorm, batch 2 of 4");
        df_graph_free(g);
    }
    check_batchnorm(df_shape1(6), 5, 1);
    check_batchnorm(df_shape1(6), 5, 0);
    check_batchnorm((df_shape){3, {3, 4, 5}}, 2, 1);
    check_batchnorm((df_shape){3, {3, 4, 5}}, 2, 0);
    check_batchnorm_relu(df_shape1(6), 5, 1);
    check_batchnorm_relu(df_shape1(6), 5, 0);
    check_batchnorm_relu((df_shape){3, {3, 4, 5}}, 2, 1);
    check_batchnorm_relu((df_shape){3, {3, 4, 5}}, 2, 0);
    check_batchnorm_relu_matches_composition(1);
    check_batchnorm_relu_matches_composition(0);
    for (int training = 0; training < 2; training++) {
        check_batchnorm_relu_maxpool(2, 6, 4, 3, training);
        check_batchnorm_relu_maxpool(1, 5, 7, 2, training); /* odd: a row and a column in no window */
        check_batchnorm_relu_maxpool_matches_composition(6, 8, training);
        check_batchnorm_relu_maxpool_matches_composition(7, 5, training);
    }
    for (int training = 0; training < 2; training++) {
        check_batchnorm_add_relu(3, 3, 3, 3, training);
        check_batchnorm_add_relu_matches_composition(training);
    }
    check_maxpool_nan();
    check_activation(DF_ACT_RELU, "relu");
    check_activation(DF_ACT_SILU, "silu");
    check_activation(DF_ACT_SIGMOID, "sigmoid");
    check_pool(1, 2, 6, 6, 3, 2, 2, 0);
    check_pool(1, 1, 7, 5, 2, 3, 2, 1);
    check_pool(0, 2, 6, 6, 3, 2, 2, 0);
    check_pool(0, 1, 7, 5, 2, 3, 2, 1);
    check_structural();
    check_layernorm(df_shape1(7), 3, 3);
    check_layernorm((df_shape){2, {4, 6}}, 2, 2);
    check_layernorm((df_shape){3, {2, 3, 5}}, 4, 2);
    check_softmax(df_shape1(6), 3);
    check_softmax((df_shape){2, {3, 7}}, 2);
    for (int t = 0; t < 4; t++) check_bmm(2, 3, 4, 5, t & 1, t >> 1, t == 3 ? 0.5f : 1.0f);
    check_bmm(1, 1, 6, 2, 0, 1, 0.25f);
    check_attention_core();
    check_film();
    check_losses();
    return check_report();
}
