/* test_conv.c: the conv2d layer's forward, input gradient (stored, and added onto an existing gradient),
 * weight gradient and bias gradient against plain direct loops in double, on odd shapes (1x1, 3x3, 5x5,
 * 7x7; stride 1 and 2; padding 0 up to wider than the kernel's reach; odd channel counts and sizes; batch 1
 * and 3), on every df_sgemm backend this CPU runs; and bit-identical results for 1 and 2 threads. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/gemm.h"
#include "core/rng.h"
#include "layers/layers.h"

typedef struct {
    int B, H, W, C, CO, k, s, p, bias;
} conv_case;

static const conv_case cases[] = {
    {3, 5, 7, 5, 6, 1, 1, 0, 1},     /* pointwise: a plain GEMM */
    {1, 7, 9, 3, 16, 3, 1, 1, 1},    /* RGB-like: the short-patch kernels on AVX-512 */
    {3, 9, 6, 19, 33, 3, 1, 1, 1},   /* implicit GEMM, channels not a multiple of a vector */
    {3, 13, 11, 5, 7, 7, 2, 3, 0},   /* 7x7 stride 2: explicit input gradient */
    {1, 8, 8, 17, 16, 3, 2, 0, 1},   /* stride 2, no padding */
    {3, 9, 10, 4, 9, 5, 1, 0, 0},    /* no padding: the input gradient pads by 4 */
    {1, 5, 5, 3, 5, 3, 1, 3, 1},     /* padding wider than the kernel reaches */
    {3, 7, 7, 6, 5, 1, 2, 0, 0},     /* 1x1 stride 2 */
    {2, 12, 12, 64, 40, 3, 1, 1, 1}, /* K = 576: more than one kc block */
    {2, 5, 37, 21, 18, 3, 1, 1, 0},  /* rows of 14 pixels packed once for a kernel row's taps */
    {1, 6, 31, 9, 16, 2, 1, 1, 1},   /* an even kernel */
    {3, 20, 20, 32, 48, 3, 1, 1, 0}, /* large enough to run on 2 threads */
};

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

/* Gradients start from junk (the op must store, not add, where grad_accum is 0; parameter gradients are
 * added, so they start from zero as df_graph_zero_grads leaves them). */
static void run(conv_net *net, int accumulate_dx, const float *dx0) {
    net->n->op->forward(net->g, net->n);
    df_graph_zero_grads(net->g);
    net->n->grad_accum[0] = accumulate_dx;
    memcpy(net->x->dout, dx0, net->nx * sizeof(float));
    net->n->op->backward(net->g, net->n);
}

/* |got - want| <= bound, the bound from the count and magnitudes of the summed terms (float rounding in
 * any summation order, with FMA or not, stays within a few units of n * 2^-24 * sum |terms|). */
static int close_enough(float got, double want, double abs_sum, int terms) {
    return fabs(got - want) <= 4.0 * (terms + 4) * (1.0 / (1 << 24)) * abs_sum + 1e-30;
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

    for (int accumulate = 0; accumulate <= 1; accumulate++) {
        run(&net, accumulate, dx0);
        int bad_y = 0, bad_dx = 0, bad_dw = 0, bad_db = 0;
        for (size_t i = 0; i < net.ny; i++) {
            double b = bias ? bias[i % (size_t)c.CO] : 0.0;
            bad_y += !close_enough(net.n->out[i], ry[i] + b, ay[i] + fabs(b), c.k * c.k * c.C + 1);
        }
        for (size_t i = 0; i < net.nx; i++) {
            double base = accumulate ? dx0[i] : 0.0;
            bad_dx += !close_enough(net.x->dout[i], rdx[i] + base, adx[i] + fabs(base), ndx[i] + 1);
        }
        for (size_t i = 0; i < net.nw; i++)
            bad_dw += !close_enough(df_node_param_grad(net.g, net.n, 0)[i], rdw[i], adw[i], c.B * OH * OW);
        if (bias)
            for (int co = 0; co < c.CO; co++) {
                double s = 0, a = 0;
                for (size_t p = 0; p < net.ny / (size_t)c.CO; p++) s += dy[p * c.CO + co], a += fabs(dy[p * c.CO + co]);
                bad_db += !close_enough(df_node_param_grad(net.g, net.n, 1)[co], s, a, (int)(net.ny / c.CO));
            }
        CHECK_MSG(bad_y + bad_dx + bad_dw + bad_db == 0,
                  "%s, %dx%d stride %d pad %d, B %d, %dx%dx%d -> %d, dx %s: wrong y %d, dx %d, dW %d, db %d",
                  backend, c.k, c.k, c.s, c.p, c.B, c.H, c.W, c.C, c.CO, accumulate ? "added" : "stored", bad_y,
                  bad_dx, bad_dw, bad_db);
    }
    free(ry), free(ay), free(rdx), free(adx), free(rdw), free(adw), free(ndx), free(dx0);
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
        run(&net, 0, dx0);
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
    const df_gemm_backend all[] = {DF_GEMM_AVX512, DF_GEMM_AVX2, DF_GEMM_PORTABLE, DF_GEMM_OPENBLAS};
    const int ncases = (int)(sizeof cases / sizeof cases[0]);
    for (size_t b = 0; b < sizeof all / sizeof all[0]; b++) {
        if (df_gemm_set_backend(all[b]) != 0) {
            printf("backend %s: not supported by this CPU, skipped\n", df_gemm_backend_name(all[b]));
            continue;
        }
        const char *name = df_gemm_backend_name(all[b]);
        for (int i = 0; i < ncases; i++) check_case(cases[i], name);
        if (all[b] != DF_GEMM_OPENBLAS) {
            check_threads(cases[ncases - 1], name);
            check_threads(cases[3], name);
            check_threads(cases[1], name);
        }
    }
    return check_report();
}
