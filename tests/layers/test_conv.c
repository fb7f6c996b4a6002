/* test_conv.c: the conv2d layer's forward, input gradient (stored, and added onto an existing gradient),
 * weight gradient and bias gradient (added onto existing gradients) against plain direct loops in double, on
 * odd shapes (1x1, 3x3, 5x5, 7x7; stride 1 to 3; padding 0 up to wider than the kernel's reach; odd channel
 * counts and sizes; batch 1 to 3), on every df_sgemm backend this CPU runs; and bit-identical results for 1
 * and 2 threads. On the AVX-512 and AVX2 backends the short-patch shapes (k*k*C <= DF_CONV_SMALL_MAX_K, CO a
 * multiple of 16; on AVX2 not 1x1) run the direct kernels of layers/conv/conv_small.h: rows of a width that
 * is not a multiple of their 12- or 6-pixel block, 16-channel tails (CO = 48), a stride larger than the
 * kernel, rows longer than one segment, rows wholly in the padding. On the AVX2 backend the last three cases
 * run its direct kernels (layers/conv/conv_avx2.h), stride 2 included. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/gemm/gemm.h"
#include "core/rng.h"
#include "layers/conv/conv_kernel.h"
#include "layers/conv/conv_small.h"
#include "layers/layers.h"

typedef struct {
    int B, H, W, C, CO, k, s, p, bias;
} conv_case;

static const conv_case cases[] = {
    {3, 5, 7, 5, 6, 1, 1, 0, 1},     /* pointwise: a plain GEMM */
    {1, 7, 9, 3, 16, 3, 1, 1, 1},    /* RGB-like: the short-patch kernels on AVX-512 and AVX2 */
    {3, 9, 6, 19, 33, 3, 1, 1, 1},   /* implicit GEMM, channels not a multiple of a vector */
    {3, 13, 11, 5, 7, 7, 2, 3, 0},   /* 7x7 stride 2: explicit input gradient */
    {1, 8, 8, 17, 16, 3, 2, 0, 1},   /* stride 2, no padding */
    {3, 9, 10, 4, 9, 5, 1, 0, 0},    /* no padding: the input gradient pads by 4 */
    {1, 5, 5, 3, 5, 3, 1, 3, 1},     /* padding wider than the kernel reaches */
    {3, 7, 7, 6, 5, 1, 2, 0, 0},     /* 1x1 stride 2 */
    {2, 12, 12, 64, 40, 3, 1, 1, 1}, /* K = 576: more than one kc block */
    {2, 5, 37, 21, 18, 3, 1, 1, 0},  /* rows of 14 pixels packed once for a kernel row's taps */
    {1, 6, 31, 9, 16, 2, 1, 1, 1},   /* an even kernel */
    /* Short patches: the direct kernels on AVX-512 and AVX2, the GEMM elsewhere. */
    {2, 13, 29, 3, 32, 3, 1, 1, 0},  /* RGB 3x3 -> 32: 29 = 2 pixel blocks + 5 */
    {1, 11, 25, 1, 16, 3, 1, 1, 1},  /* one input channel: 3 taps per kernel row */
    {3, 9, 14, 3, 48, 3, 2, 1, 1},   /* stride 2, CO = 32 + a 16-channel tail */
    {1, 27, 31, 3, 48, 5, 2, 2, 1},  /* 5x5 stride 2: 75 taps, 15 per kernel row */
    {2, 15, 17, 3, 32, 7, 2, 3, 1},  /* 7x7 stride 2 on RGB (a ResNet stem): 147 taps */
    {1, 10, 23, 4, 16, 2, 3, 1, 0},  /* stride 3 > kernel 2: windows copied one by one */
    {2, 9, 9, 12, 16, 1, 2, 0, 1},   /* 1x1 stride 2 */
    {1, 5, 5, 3, 16, 3, 1, 3, 1},    /* output rows whose input rows are all padding */
    {1, 3, 200, 3, 64, 3, 1, 1, 0},  /* weight gradient: rows of 3 segments */
    {1, 2, 700, 3, 16, 4, 1, 1, 1},  /* forward: rows of 2 segments */
    {3, 17, 10, 3, 16, 3, 1, 1, 1},  /* weight gradient: 51 output rows, more than its 32 chunks */
    {2, 13, 29, 3, 8, 3, 1, 1, 1},   /* RGB 3x3 -> 8, a narrow first layer: the AVX2 tiles on both backends */
    {1, 9, 14, 3, 24, 3, 2, 1, 0},   /* CO = 16 + an 8-channel block */
    {3, 20, 20, 32, 48, 3, 1, 1, 0}, /* 288 taps: the GEMM on every backend; 2 threads */
    {2, 8, 9, 32, 16, 3, 1, 1, 1},   /* AVX2 direct forward, input and weight gradients */
    {2, 9, 16, 16, 24, 3, 2, 1, 0},  /* AVX2 direct forward at stride 2 */
    {2, 9, 16, 16, 24, 1, 2, 0, 1},  /* 1x1 stride 2 (the last input column unread): the GEMM on AVX2 */
};

/* Cases whose weight gradient runs on the short-patch kernels where the backend is AVX-512, and AVX2 (all
 * but the 1x1 one), checked against the rule the layer uses, so a change to it does not silently leave them
 * on the GEMM. */
enum { N_SMALL_AVX512 = 16, N_SMALL_AVX2 = 15 };

static df_conv_shape shape_of(conv_case c) {
    const df_conv_shape d = {c.H, c.W, c.C, (c.H + 2 * c.p - c.k) / c.s + 1, (c.W + 2 * c.p - c.k) / c.s + 1,
                             c.CO, c.k, c.s, c.p};
    return d;
}

typedef struct {
    df_graph *g;
    df_node *n, *x;
    size_t nx, ny, nw;
} conv_net;

static conv_net build(conv_case c) {
    conv_net net;
    net.g = df_graph_new(c.B);
    int x = df_input(net.g, "x", (df_shape){3, {c.H, c.W, c.C}}, 1);
    int y = df_conv2d(net.g, "conv", x, c.CO, c.k, c.s, c.p, c.bias);
    df_error err;
    if (y < 0 || df_graph_compile(net.g, y, 1, &err)) {
        fprintf(stderr, "test_conv: cannot build the graph\n");
        exit(1);
    }
    net.n = &net.g->nodes[y];
    net.x = &net.g->nodes[x];
    net.nx = (size_t)c.B * c.H * c.W * c.C;
    net.ny = (size_t)c.B * net.n->shape.d[1] * net.n->shape.d[2] * c.CO;
    net.nw = (size_t)c.CO * c.k * c.k * c.C;
    return net;
}

static void fill(float *p, size_t n, df_rng *r) {
    for (size_t i = 0; i < n; i++) p[i] = 2.0f * df_rng_uniform(r) - 1.0f;
}

/* y starts as NaN (the forward must store it without reading it), dx from junk (stored, not added, where
 * grad_accum is 0), parameter gradients from dw0 (they are always added; NULL: zero, as
 * df_graph_zero_grads leaves them). */
static void run(conv_net *net, int accumulate_dx, const float *dx0, const float *dw0) {
    memset(net->n->out, 0xff, net->ny * sizeof(float));
    net->n->op->forward(net->g, net->n);
    df_graph_zero_grads(net->g);
    if (dw0) memcpy(net->g->grads, dw0, net->g->n_param_floats * sizeof(float));
    net->n->grad_accum[0] = accumulate_dx;
    memcpy(net->x->dout, dx0, net->nx * sizeof(float));
    net->n->op->backward(net->g, net->n);
}

/* |got - want| <= min(4 (n + 4) u, 1e-5) * sum |terms|, u = 2^-24, for a sum of n float products.
 * 4 (n + 4) u bounds the rounding of any summation order, with FMA or not (a few units of n u): the bound
 * for short sums, 7.6e-6 for the 27 taps of an RGB 3x3 forward. For long sums (a weight gradient over
 * hundreds of pixels) the worst case grows with n, but it needs partial sums that grow like the sum of
 * |terms|; the terms here are products of values uniform in [-1, 1], of mean zero, so partial sums grow
 * like sqrt(k) and the error stays a few u of sum |terms| whatever the order: 1e-5 (170 u) holds them with
 * a wide margin. A wrong, missing or doubled term, of size sum |terms| / n on average, exceeds the bound for
 * any sum here (n < 10^4). */
static int close_enough(float got, double want, double abs_sum, int terms) {
    double rel = fmin(4.0 * (terms + 4) * (1.0 / (1 << 24)), 1e-5);
    return fabs(got - want) <= rel * abs_sum + 1e-30;
}

static void check_case(conv_case c, const char *backend) {
    conv_net net = build(c);
    df_rng r = df_rng_make(42, (uint64_t)(c.H * 131 + c.C * 7 + c.k));
    const int OH = net.n->shape.d[1], OW = net.n->shape.d[2];
    float *x = net.x->out, *w = df_node_param(net.g, net.n, 0);
    float *bias = c.bias ? df_node_param(net.g, net.n, 1) : NULL;
    fill(x, net.nx, &r);
    fill(w, net.nw, &r);
    if (bias) fill(bias, (size_t)c.CO, &r);
    fill(net.n->dout, net.ny, &r);
    const float *dy = net.n->dout;
    float *dx0 = malloc(net.nx * sizeof(float));
    fill(dx0, net.nx, &r);
    const size_t np = net.g->n_param_floats;
    float *dw0 = malloc(np * sizeof(float));
    fill(dw0, np, &r);

    double *ry = calloc(net.ny, sizeof(double)), *ay = calloc(net.ny, sizeof(double));
    double *rdx = calloc(net.nx, sizeof(double)), *adx = calloc(net.nx, sizeof(double));
    double *rdw = calloc(net.nw, sizeof(double)), *adw = calloc(net.nw, sizeof(double));
    int *ndx = calloc(net.nx, sizeof(int));
    for (int b = 0; b < c.B; b++)
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++)
                for (int co = 0; co < c.CO; co++) {
                    size_t yi = (((size_t)b * OH + oh) * OW + ow) * c.CO + co;
                    for (int i = 0; i < c.k; i++)
                        for (int j = 0; j < c.k; j++) {
                            int h = oh * c.s + i - c.p, v = ow * c.s + j - c.p;
                            if (h < 0 || h >= c.H || v < 0 || v >= c.W) continue;
                            for (int ci = 0; ci < c.C; ci++) {
                                size_t xi = (((size_t)b * c.H + h) * c.W + v) * c.C + ci;
                                size_t wi = (((size_t)co * c.k + i) * c.k + j) * c.C + ci;
                                ry[yi] += (double)x[xi] * w[wi], ay[yi] += fabs((double)x[xi] * w[wi]);
                                rdx[xi] += (double)dy[yi] * w[wi], adx[xi] += fabs((double)dy[yi] * w[wi]);
                                rdw[wi] += (double)dy[yi] * x[xi], adw[wi] += fabs((double)dy[yi] * x[xi]);
                                ndx[xi]++;
                            }
                        }
                }

    /* Round 1 adds the input gradient, and the parameter gradients onto non-zero ones. */
    for (int accumulate = 0; accumulate <= 1; accumulate++) {
        run(&net, accumulate, dx0, accumulate ? dw0 : NULL);
        const float *gw = df_node_param_grad(net.g, net.n, 0), *gb = bias ? df_node_param_grad(net.g, net.n, 1) : NULL;
        const float *gw0 = dw0 + (gw - net.g->grads), *gb0 = bias ? dw0 + (gb - net.g->grads) : NULL;
        int bad_y = 0, bad_dx = 0, bad_dw = 0, bad_db = 0;
        for (size_t i = 0; i < net.ny; i++) {
            double b = bias ? bias[i % (size_t)c.CO] : 0.0;
            bad_y += !close_enough(net.n->out[i], ry[i] + b, ay[i] + fabs(b), c.k * c.k * c.C + 1);
        }
        for (size_t i = 0; i < net.nx; i++) {
            double base = accumulate ? dx0[i] : 0.0;
            bad_dx += !close_enough(net.x->dout[i], rdx[i] + base, adx[i] + fabs(base), ndx[i] + 1);
        }
        for (size_t i = 0; i < net.nw; i++) {
            double base = accumulate ? gw0[i] : 0.0;
            bad_dw += !close_enough(gw[i], rdw[i] + base, adw[i] + fabs(base), c.B * OH * OW + 1);
        }
        if (bias)
            for (int co = 0; co < c.CO; co++) {
                double s = accumulate ? gb0[co] : 0.0, a = fabs(s);
                for (size_t p = 0; p < net.ny / (size_t)c.CO; p++) s += dy[p * c.CO + co], a += fabs(dy[p * c.CO + co]);
                bad_db += !close_enough(gb[co], s, a, (int)(net.ny / c.CO) + 1);
            }
        CHECK_MSG(bad_y + bad_dx + bad_dw + bad_db == 0,
                  "%s, %dx%d stride %d pad %d, B %d, %dx%dx%d -> %d, dx %s: wrong y %d, dx %d, dW %d, db %d",
                  backend, c.k, c.k, c.s, c.p, c.B, c.H, c.W, c.C, c.CO, accumulate ? "added" : "stored", bad_y,
                  bad_dx, bad_dw, bad_db);
    }
    free(ry), free(ay), free(rdx), free(adx), free(rdw), free(adw), free(ndx), free(dx0), free(dw0);
    df_graph_free(net.g);
}

/* y, dx and dW of a case with 1 and with 2 threads: the same bits. */
static void check_threads(conv_case c, const char *backend) {
    conv_net net = build(c);
    df_rng r = df_rng_make(7, 3);
    fill(net.x->out, net.nx, &r);
    fill(df_node_param(net.g, net.n, 0), net.nw, &r);
    fill(net.n->dout, net.ny, &r);
    float *dx0 = calloc(net.nx, sizeof(float));
    float *out[2][3];
    for (int t = 0; t < 2; t++) {
        omp_set_num_threads(t + 1);
        run(&net, 0, dx0, NULL);
        out[t][0] = malloc(net.ny * sizeof(float));
        out[t][1] = malloc(net.nx * sizeof(float));
        out[t][2] = malloc(net.nw * sizeof(float));
        memcpy(out[t][0], net.n->out, net.ny * sizeof(float));
        memcpy(out[t][1], net.x->dout, net.nx * sizeof(float));
        memcpy(out[t][2], df_node_param_grad(net.g, net.n, 0), net.nw * sizeof(float));
    }
    omp_set_num_threads(2);
    CHECK_MSG(memcmp(out[0][0], out[1][0], net.ny * sizeof(float)) == 0 &&
                  memcmp(out[0][1], out[1][1], net.nx * sizeof(float)) == 0 &&
                  memcmp(out[0][2], out[1][2], net.nw * sizeof(float)) == 0,
              "%s, %dx%d stride %d, %dx%dx%d -> %d: 1 and 2 threads differ", backend, c.k, c.k, c.s, c.H, c.W,
              c.C, c.CO);
    for (int t = 0; t < 2; t++) free(out[t][0]), free(out[t][1]), free(out[t][2]);
    free(dx0);
    df_graph_free(net.g);
}

int main(void) {
    check_expected_cpu();
    /* The choice is a function of shape and backend: checked for AVX-512 on any CPU. Channel counts that
     * the AVX-512 short-patch tiles do not take (CO % 16 == 8) run the AVX2 ones, not the GEMM. */
    const df_conv_dir short_patch_dirs[] = {DF_CONV_FORWARD, DF_CONV_WEIGHT_GRAD};
    const conv_case narrow = {2, 13, 29, 3, 8, 3, 1, 1, 1}, wide = {2, 13, 29, 3, 32, 3, 1, 1, 0};
    for (int i = 0; i < 2; i++) {
        CHECK(df_conv_choose(shape_of(narrow), short_patch_dirs[i], DF_GEMM_AVX512) == DF_CONV_SMALL_AVX2);
        CHECK(df_conv_choose(shape_of(wide), short_patch_dirs[i], DF_GEMM_AVX512) == DF_CONV_SMALL_AVX512);
    }
    const df_gemm_backend all[] = {DF_GEMM_AVX512, DF_GEMM_AVX2, DF_GEMM_PORTABLE, DF_GEMM_OPENBLAS};
    const int ncases = (int)(sizeof cases / sizeof cases[0]);
    for (size_t b = 0; b < sizeof all / sizeof all[0]; b++) {
        if (df_gemm_set_backend(all[b]) != 0) {
            printf("backend %s: not supported by this CPU, skipped\n", df_gemm_backend_name(all[b]));
            continue;
        }
        const char *name = df_gemm_backend_name(all[b]);
        int small = 0;
        for (int i = 0; i < ncases; i++) {
            check_case(cases[i], name);
            small += df_conv_small_isa_of(df_conv_choose(shape_of(cases[i]), DF_CONV_WEIGHT_GRAD, all[b])) != NULL;
        }
        const int want = all[b] == DF_GEMM_AVX512 ? N_SMALL_AVX512 : all[b] == DF_GEMM_AVX2 ? N_SMALL_AVX2 : 0;
        CHECK_MSG(small == want, "%s: %d cases on the short-patch kernels, not %d", name, small, want);
        if (all[b] == DF_GEMM_AVX2) {
            /* Of the last three cases, on a core that halves its FMAs every direction of the first and the
             * forward and weight gradient of the strided 3x3 take the AVX2 direct kernels; on a full-width
             * one only the first's weight gradient (stride 1, 32 input channels). The 1x1 stride-2 one takes
             * the implicit GEMM on both (conv_kernel.h). */
            int avx2_runs = 0;
            for (int i = ncases - 3; i < ncases; i++) {
                const df_conv_shape d = shape_of(cases[i]);
                for (int dir = DF_CONV_FORWARD; dir <= DF_CONV_WEIGHT_GRAD; dir++)
                    avx2_runs += df_conv_choose(d, (df_conv_dir)dir, DF_GEMM_AVX2) == DF_CONV_DIRECT_AVX2;
            }
            const int want_runs = df_gemm_fma_halved() ? 5 : 1;
            CHECK_MSG(avx2_runs == want_runs, "avx2: %d directions on the AVX2 direct kernels, not %d", avx2_runs,
                      want_runs);
            const df_conv_shape one_by_one_s2 = shape_of(cases[ncases - 1]);
            CHECK(df_conv_choose(one_by_one_s2, DF_CONV_FORWARD, DF_GEMM_AVX2) == DF_CONV_IMPLICIT_GEMM);
            CHECK(df_conv_choose(one_by_one_s2, DF_CONV_WEIGHT_GRAD, DF_GEMM_AVX2) == DF_CONV_IMPLICIT_GEMM);
        }
        if (all[b] != DF_GEMM_OPENBLAS) {
            for (int i = 0; i < ncases; i++)
                if (i == 1 || i == 3 || i >= 11) check_threads(cases[i], name);
        }
    }
    return check_report();
}
