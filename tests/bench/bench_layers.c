/* bench_layers.c: speed of single layers, each against a plain reference measured in the same run.
 *
 *   conv3x3 64->64, 56x56, batch 8 (NHWC): forward, backward (input and weight gradients), and the two
 *     together (one training iteration of the layer), in GFLOP/s, against the plain lowering: per image
 *     im2col, cblas_sgemm (OpenBLAS), and col2im over a zeroed dx;
 *   conv3x3 3->32, 128x128, batch 32 (the VGG's first layer, on RGB): forward, and backward (the weight
 *     gradient only: the network's input needs none), in GFLOP/s, against the same layer with df_sgemm on
 *     the OpenBLAS backend (the default backend takes the direct short-patch kernels, OpenBLAS the GEMM);
 *   conv_direct: the AVX2 direct convolution kernels (layers/conv/conv_avx2.h) against the implicit GEMM
 *     (df_sgemm_patches_a / _b, the AVX2 backend's packed micro-kernel) on the same operands, batch 8, per
 *     direction (forward, stride-1 input gradient, weight gradient), in GFLOP/s: 3x3 64->64 56x56,
 *     32->32 112x112, 128->128 28x28, 256->256 14x14, and ResNet's strided 3x3 64->128 and 1x1 64->128
 *     downsample at stride 2 (forward and weight gradient; their input gradient is the explicit col2im);
 *   conv_small: the AVX2 short-patch kernels (layers/conv/conv_small.h) against the same implicit GEMM,
 *     batch 32, forward and weight gradient, in GFLOP/s: 3x3 3->64 at 128 px (the VGG's first layer), 3x3
 *     3->8 at 128 px (a narrow VGG's: the 8-channel tiles) and 7x7 stride-2 3->64 at 224 px (ResNet's stem);
 *   batchnorm 64 channels, 56x56, batch 32, training forward + backward, in images/s, against a plain
 *     two-pass implementation (per-element double sums);
 *   batchnorm + ReLU the same way, the fused op against the batchnorm and relu ops run one after the other;
 *   batchnorm + ReLU + 2x2 max pooling (a VGG stage's tail) the same way, the one fused node against the
 *     fused batchnorm + ReLU node followed by the max-pooling node.
 *
 *   BENCH <name> ours=<x> ref=<y> unit=<u> ratio=<ours/ref>     (ratio > 1: ours is faster)
 *
 * When DF_BENCH_REF_<NAME> is set (upper case, e.g. DF_BENCH_REF_CONV3X3_FWD) its value, in the line's unit,
 * replaces the in-binary reference: scripts/bench_compare.sh passes PyTorch's figures that way. Figures are
 * medians of samples taken in alternating rounds of ours and the reference, so the VM's noise hits both.
 *
 * --rounds N sets the number of alternating rounds (default 5, each PER_ROUND timed calls). --no-ref runs
 * ours alone and prints `BENCH <name> ours=<x> unit=<u>`: scripts/bench_compare.sh times PyTorch in a process
 * of its own, before or after this one, and takes the ratios itself.
 *
 * --check runs each case's agreement check (ours against its reference, before any timing) and nothing else:
 * the test suite runs it, so that a change that breaks a case's setup fails there, not first in a benchmark.
 *
 * Usage: bench_layers [--rounds N] [--no-ref] [--check]
 *                     [conv3x3|conv_rgb|conv_direct|conv_small|batchnorm|bn_pool]...   (no case: all) */
#include <cblas.h>
#include <ctype.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/gemm/gemm.h"
#include "core/wait_policy.h"
#include "core/rng.h"
#include "layers/conv/conv_kernel.h"
#include "layers/conv/conv_small.h"
#include "layers/fused.h"
#include "layers/layers.h"

#include "bench_util.h"
#include "peak.h"

enum { ROUNDS = 5, MAX_ROUNDS = 100, PER_ROUND = 3 };

/* From the command line: alternating rounds per figure, and whether the in-binary reference is skipped. */
static int rounds = ROUNDS, no_ref, check_only;
#define SETTLE_NS 300000000L


typedef void (*bench_fn)(void *ctx);

/* The reference figure given in the environment for a BENCH line, DF_BENCH_REF_<NAME>, or 0. */
static double external_ref(const char *name) {
    char var[96], *v;
    snprintf(var, sizeof var, "DF_BENCH_REF_%s", name);
    for (v = var; *v; v++) *v = (char)toupper((unsigned char)*v);
    const char *env = getenv(var);
    return env && atof(env) > 0 ? atof(env) : 0.0;
}

/* Median seconds per call of fn[0] (ours) and fn[1] (the in-binary reference), in alternating rounds. With
 * settle, each round of ours starts after a pause: OpenBLAS's pthreads spin for a while after a call and
 * would take the cores from ours. When the environment gives the reference figure for `name` (see report),
 * the in-binary one is not run at all, so nothing of it runs beside ours; sec[1] is then 0. */
static void measure(const char *name, bench_fn fn[2], void *ctx, double sec[2], int settle) {
    sec[0] = sec[1] = 0;
    if (check_only) return;
    const int n_ref = no_ref || external_ref(name) > 0 ? 0 : 2;
    double s[2][MAX_ROUNDS * PER_ROUND];
    for (int w = 0; w < 2; w++)
        for (int which = 0; which < n_ref || which == 0; which++) fn[which](ctx);
    for (int r = 0; r < rounds; r++)
        for (int which = 0; which < n_ref || which == 0; which++) {
            if (settle && which == 0 && n_ref) nanosleep(&(struct timespec){0, SETTLE_NS}, NULL);
            fn[which](ctx);
            for (int i = 0; i < PER_ROUND; i++) {
                double t = omp_get_wtime();
                fn[which](ctx);
                s[which][r * PER_ROUND + i] = omp_get_wtime() - t;
            }
        }
    sec[0] = bench_median(s[0], rounds * PER_ROUND);
    sec[1] = n_ref ? bench_median(s[1], rounds * PER_ROUND) : 0.0;
}

/* "# <name>: <a> x ms, <b> y ms", the second only where the reference ran. */
static void print_times(const char *name, const char *a, const char *b, const double sec[2]) {
    if (check_only) return;
    printf("# %s: %s %.2f ms", name, a, sec[0] * 1e3);
    if (sec[1] > 0) printf(", %s %.2f ms", b, sec[1] * 1e3);
    printf("\n");
}

/* This machine's ceilings, measured at start (peak.h). */
static double peak_gflops, triad_gbs;

/* Prints the BENCH line; `ours` and `ref` are throughputs (higher is better). DF_BENCH_REF_<NAME> in the
 * environment replaces the in-binary reference (scripts/bench_compare.sh passes PyTorch's figures). Returns
 * the reference figure printed, 0 with --no-ref (the line then has no reference and no ratio). */
static double report(const char *name, double ours, double ref, const char *unit) {
    if (check_only) return 0;
    if (no_ref) {
        printf("BENCH %s ours=%.1f unit=%s\n", name, ours, unit);
        fflush(stdout);
        return 0;
    }
    const double given = external_ref(name);
    if (given > 0) {
        printf("# %s: reference from the environment, %.1f %s\n", name, given, unit);
        ref = given;
    }
    printf("BENCH %s ours=%.1f ref=%.1f unit=%s ratio=%.3f\n", name, ours, ref, unit, ours / ref);
    fflush(stdout);
    return ref;
}

/* For a compute-bound line in GFLOP/s: both figures as shares of the measured FMA peak. */
static void report_gflops(const char *name, double ours, double ref) {
    if (check_only) return;
    ref = report(name, ours, ref, "GFLOP/s");
    if (peak_gflops <= 0) return; /* a CPU without AVX2: no FMA loop to measure */
    if (ref <= 0) {
        printf("#   share of the measured FP32 peak (%.0f GFLOP/s): ours %.0f%%\n", peak_gflops, 100 * ours / peak_gflops);
        return;
    }
    printf("#   share of the measured FP32 peak (%.0f GFLOP/s): ours %.0f%%, reference %.0f%%\n", peak_gflops,
           100 * ours / peak_gflops, 100 * ref / peak_gflops);
}

/* For a memory-bound line in images/s: what our `passes` passes over `bytes` per image (the kernels' reads
 * and writes, as layers/bn_kernels.h counts them) come to, against the measured triad bandwidth. */
static void report_bandwidth(const char *name, double ours, double ref, double passes, double bytes) {
    if (check_only) return;
    report(name, ours, ref, "img/s");
    const double gbs = ours * passes * bytes * 1e-9;
    printf("#   ours: %.2f passes over %.1f MB an image, %.1f GB/s, %.0f%% of the measured triad (%.1f GB/s)\n",
           passes, bytes * 1e-6, gbs, 100 * gbs / triad_gbs, triad_gbs);
}

static void fill(float *p, size_t n, uint64_t seed) {
    df_rng r = df_rng_make(seed, 1);
    for (size_t i = 0; i < n; i++) p[i] = df_rng_normal(&r);
}

static df_graph *compile_or_die(df_graph *g, int out) {
    df_error err;
    if (df_graph_compile(g, out, 1, &err)) {
        fprintf(stderr, "bench_layers: %s\n", err.msg);
        exit(1);
    }
    return g;
}

/* ---- convolution ---- */

enum { CB = 8, CH = 56, CW = 56, CC = 64, CCO = 64 };

typedef struct {
    df_graph *g;
    df_node *n;
    const float *x, *w, *dy;
    float *y, *dx, *dw, *col, *dcol; /* reference buffers */
} conv_ctx;

static void ref_im2col(const float *x, float *col) {
    for (int oh = 0; oh < CH; oh++)
        for (int ow = 0; ow < CW; ow++)
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++) {
                    int h = oh + i - 1, w = ow + j - 1;
                    float *dst = col + ((size_t)oh * CW + ow) * 9 * CC + (i * 3 + j) * CC;
                    if (h < 0 || h >= CH || w < 0 || w >= CW)
                        memset(dst, 0, CC * sizeof(float));
                    else
                        memcpy(dst, x + ((size_t)h * CW + w) * CC, CC * sizeof(float));
                }
}

static void ref_conv_fwd(void *p) {
    conv_ctx *c = p;
    for (int b = 0; b < CB; b++) {
        ref_im2col(c->x + (size_t)b * CH * CW * CC, c->col);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, CH * CW, CCO, 9 * CC, 1.0f, c->col, 9 * CC, c->w,
                    9 * CC, 0.0f, c->y + (size_t)b * CH * CW * CCO, CCO);
    }
}

static void ref_conv_bwd(void *p) {
    conv_ctx *c = p;
    const int P = CH * CW, K = 9 * CC;
    memset(c->dw, 0, sizeof(float) * CCO * K);
    for (int b = 0; b < CB; b++) {
        const float *dy = c->dy + (size_t)b * P * CCO;
        float *dx = c->dx + (size_t)b * P * CC;
        ref_im2col(c->x + (size_t)b * P * CC, c->col);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, CCO, K, P, 1.0f, dy, CCO, c->col, K, 1.0f, c->dw,
                    K);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, P, K, CCO, 1.0f, dy, CCO, c->w, K, 0.0f,
                    c->dcol, K);
        memset(dx, 0, sizeof(float) * P * CC);
        for (int oh = 0; oh < CH; oh++)
            for (int ow = 0; ow < CW; ow++)
                for (int i = 0; i < 3; i++)
                    for (int j = 0; j < 3; j++) {
                        int h = oh + i - 1, w = ow + j - 1;
                        if (h < 0 || h >= CH || w < 0 || w >= CW) continue;
                        const float *src = c->dcol + ((size_t)oh * CW + ow) * K + (i * 3 + j) * CC;
                        float *dst = dx + ((size_t)h * CW + w) * CC;
                        for (int k = 0; k < CC; k++) dst[k] += src[k];
                    }
    }
}

static void our_conv_fwd(void *p) {
    conv_ctx *c = p;
    c->n->op->forward(c->g, c->n);
}

static void our_conv_bwd(void *p) {
    conv_ctx *c = p;
    df_graph_zero_grads(c->g);
    c->n->op->backward(c->g, c->n);
}

/* One training iteration of the layer: the forward, then both gradients. */
static void our_conv_fwd_bwd(void *p) { our_conv_fwd(p), our_conv_bwd(p); }
static void ref_conv_fwd_bwd(void *p) { ref_conv_fwd(p), ref_conv_bwd(p); }

static double max_rel_diff(const float *a, const float *b, size_t n) {
    double worst = 0, scale = 1e-6;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(b[i]));
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs(a[i] - b[i]));
    return worst / scale;
}

static void bench_conv(void) {
    df_graph *g = df_graph_new(CB);
    int x = df_input(g, "x", (df_shape){3, {CH, CW, CC}}, 1);
    int y = df_conv2d(g, "conv", x, CCO, 3, 1, 1, 0);
    compile_or_die(g, y);
    const df_conv_shape d = {CH, CW, CC, CH, CW, CCO, 3, 1, 1};
    const df_gemm_backend be = df_gemm_backend_here();
    printf("# conv3x3 kernels (%s backend): forward %s, input gradient %s, weight gradient %s\n",
           df_gemm_backend_name(be), df_conv_kernel_name(df_conv_choose(d, DF_CONV_FORWARD, be)),
           df_conv_kernel_name(df_conv_choose(d, DF_CONV_INPUT_GRAD, be)),
           df_conv_kernel_name(df_conv_choose(d, DF_CONV_WEIGHT_GRAD, be)));
    conv_ctx c = {g, &g->nodes[y], g->nodes[x].out, df_node_param(g, &g->nodes[y], 0), g->nodes[y].dout,
                  NULL, NULL, NULL, NULL, NULL};
    const size_t P = CH * CW, K = 9 * CC;
    fill(g->nodes[x].out, CB * P * CC, 1);
    fill(g->nodes[y].dout, CB * P * CCO, 2);
    c.y = malloc(sizeof(float) * CB * P * CCO);
    c.dx = malloc(sizeof(float) * CB * P * CC);
    c.dw = malloc(sizeof(float) * CCO * K);
    c.col = malloc(sizeof(float) * P * K);
    c.dcol = malloc(sizeof(float) * P * K);

    /* The two must agree before their speed means anything. */
    our_conv_fwd(&c), ref_conv_fwd(&c), our_conv_bwd(&c), ref_conv_bwd(&c);
    double e_y = max_rel_diff(g->nodes[y].out, c.y, CB * P * CCO);
    double e_dx = max_rel_diff(g->nodes[x].dout, c.dx, CB * P * CC);
    double e_dw = max_rel_diff(df_node_param_grad(g, c.n, 0), c.dw, CCO * K);
    printf("# conv3x3 ours vs reference, max |diff| / max |ref|: y %.1e, dx %.1e, dW %.1e\n", e_y, e_dx, e_dw);
    if (e_y > 1e-4 || e_dx > 1e-4 || e_dw > 1e-4) {
        fprintf(stderr, "bench_layers: conv results differ from the reference\n");
        exit(1);
    }
    double flops = 2.0 * CB * P * CCO * K, sec[2];
    bench_fn fwd[2] = {our_conv_fwd, ref_conv_fwd}, bwd[2] = {our_conv_bwd, ref_conv_bwd};
    measure("conv3x3_fwd", fwd, &c, sec, 1);
    print_times("conv3x3_fwd", "ours", "reference", sec);
    report_gflops("conv3x3_fwd", flops / sec[0] * 1e-9, flops / sec[1] * 1e-9);
    measure("conv3x3_bwd", bwd, &c, sec, 1);
    print_times("conv3x3_bwd", "ours", "reference", sec);
    report_gflops("conv3x3_bwd", 2 * flops / sec[0] * 1e-9, 2 * flops / sec[1] * 1e-9);
    bench_fn both[2] = {our_conv_fwd_bwd, ref_conv_fwd_bwd};
    measure("conv3x3_fwd_bwd", both, &c, sec, 1);
    print_times("conv3x3_fwd_bwd", "ours", "reference", sec);
    report_gflops("conv3x3_fwd_bwd", 3 * flops / sec[0] * 1e-9, 3 * flops / sec[1] * 1e-9);
    free(c.y), free(c.dx), free(c.dw), free(c.col), free(c.dcol);
    df_graph_free(g);
}

/* ---- first layer on RGB ---- */

enum { RB = 32, RH = 128, RW = 128, RC = 3, RCO = 32 };

typedef struct {
    df_graph *g;
    df_node *n;
    df_gemm_backend ours; /* the default backend */
} rgb_ctx;

static void rgb_fwd(rgb_ctx *c, df_gemm_backend b) {
    df_gemm_set_backend(b);
    c->n->op->forward(c->g, c->n);
}

static void rgb_bwd(rgb_ctx *c, df_gemm_backend b) {
    df_gemm_set_backend(b);
    df_graph_zero_grads(c->g);
    c->n->op->backward(c->g, c->n);
}

static void our_rgb_fwd(void *p) { rgb_fwd(p, ((rgb_ctx *)p)->ours); }
static void ref_rgb_fwd(void *p) { rgb_fwd(p, DF_GEMM_OPENBLAS); }
static void our_rgb_bwd(void *p) { rgb_bwd(p, ((rgb_ctx *)p)->ours); }
static void ref_rgb_bwd(void *p) { rgb_bwd(p, DF_GEMM_OPENBLAS); }

static void bench_conv_rgb(void) {
    df_graph *g = df_graph_new(RB);
    int x = df_input(g, "x", (df_shape){3, {RH, RW, RC}}, 0);
    int y = df_conv2d(g, "conv", x, RCO, 3, 1, 1, 0);
    compile_or_die(g, y);
    rgb_ctx c = {g, &g->nodes[y], df_gemm_get_backend()};
    const size_t ny = (size_t)RB * RH * RW * RCO, nw = (size_t)RCO * 9 * RC;
    fill(g->nodes[x].out, (size_t)RB * RH * RW * RC, 6);
    fill(df_node_param(g, c.n, 0), nw, 7);
    fill(c.n->dout, ny, 8);

    /* Both backends must agree before their speed means anything. */
    float *y_ref = malloc(ny * sizeof(float)), *dw_ref = malloc(nw * sizeof(float));
    ref_rgb_fwd(&c), ref_rgb_bwd(&c);
    memcpy(y_ref, c.n->out, ny * sizeof(float));
    memcpy(dw_ref, df_node_param_grad(g, c.n, 0), nw * sizeof(float));
    our_rgb_fwd(&c), our_rgb_bwd(&c);
    double e_y = max_rel_diff(c.n->out, y_ref, ny), e_dw = max_rel_diff(df_node_param_grad(g, c.n, 0), dw_ref, nw);
    printf("# conv_rgb ours (%s) vs OpenBLAS backend, max |diff| / max |ref|: y %.1e, dW %.1e\n",
           df_gemm_backend_name(c.ours), e_y, e_dw);
    if (e_y > 1e-4 || e_dw > 1e-4) {
        fprintf(stderr, "bench_layers: conv_rgb results differ between backends\n");
        exit(1);
    }
    double flops = 2.0 * RB * RH * RW * RCO * 9 * RC, sec[2];
    bench_fn fwd[2] = {our_rgb_fwd, ref_rgb_fwd}, bwd[2] = {our_rgb_bwd, ref_rgb_bwd};
    measure("conv_rgb_fwd", fwd, &c, sec, 1);
    print_times("conv_rgb_fwd", "ours", "reference", sec);
    report_gflops("conv_rgb_fwd", flops / sec[0] * 1e-9, flops / sec[1] * 1e-9);
    measure("conv_rgb_bwd", bwd, &c, sec, 1);
    print_times("conv_rgb_bwd", "ours", "reference", sec);
    report_gflops("conv_rgb_bwd", flops / sec[0] * 1e-9, flops / sec[1] * 1e-9);
    df_gemm_set_backend(c.ours);
    free(y_ref), free(dw_ref);
    df_graph_free(g);
}

/* ---- direct convolution kernels against the implicit GEMM ---- */

typedef struct {
    df_conv_shape d;
    df_conv_patches pt, dpt; /* x's patches; dY's (stride 1 only) */
    const float *w, *wf, *dy;  /* W (CO x K); W' (K' x C), random like W: speed does not depend on it */
    float *y, *dx, *dw;
    df_gemm_ws ws;
    df_conv_kernel kind; /* DIRECT_AVX2, SMALL_AVX2 or IMPLICIT_GEMM */
    void *small;         /* SMALL_AVX2's scratch */
} direct_ctx;

static void direct_fwd(void *p) {
    direct_ctx *c = p;
    if (df_conv_small_isa_of(c->kind)) {
        df_conv_small_forward(df_conv_small_isa_of(c->kind), &c->pt, c->w, NULL, c->d.CO, c->y, c->small);
        return;
    }
    df_conv_patches_times(c->kind, &c->pt, 1, c->d.CO, c->w, c->d.k * c->d.k * c->d.C, 0.0f, c->y, c->d.CO, c->ws);
}
static void direct_dgrad(void *p) {
    direct_ctx *c = p;
    df_conv_patches_times(c->kind, &c->dpt, 0, c->d.C, c->wf, c->d.C, 0.0f, c->dx, c->d.C, c->ws);
}
static void direct_wgrad(void *p) {
    direct_ctx *c = p;
    if (df_conv_small_isa_of(c->kind)) {
        df_conv_small_weight_grad(df_conv_small_isa_of(c->kind), &c->pt, c->dy, c->d.CO, c->dw, c->small);
        return;
    }
    df_conv_wgrad_times(c->kind, c->d.CO, c->dy, &c->pt, c->dw, c->d.k * c->d.k * c->d.C, c->ws);
}

/* One direction, fn, with the direct kernel (c[0]) and with the implicit GEMM (c[1]): measure() alternates
 * the two on the same operands. */
typedef struct {
    direct_ctx *c;
    bench_fn fn;
} direct_pair;
static void pair_direct(void *p) { ((direct_pair *)p)->fn(&((direct_pair *)p)->c[0]); }
static void pair_implicit(void *p) { ((direct_pair *)p)->fn(&((direct_pair *)p)->c[1]); }

/* Batch N; kind: the direct kernel set against the implicit GEMM (DIRECT_AVX2 or SMALL_AVX2). */
static void bench_direct_shape(int C, int CO, int H, int k, int s, int N, df_conv_kernel kind, const char *tag) {
    const int p = k / 2, O = (H + 2 * p - k) / s + 1, K = k * k * C;
    const df_conv_shape d = {H, H, C, O, O, CO, k, s, p};
    const size_t nx = (size_t)N * H * H * C, ny = (size_t)N * O * O * CO;
    float *x = malloc(nx * sizeof(float)), *dy = malloc(ny * sizeof(float)), *w = malloc((size_t)CO * K * 4),
          *wf = malloc((size_t)CO * K * 4);
    fill(x, nx, 11), fill(dy, ny, 12), fill(w, (size_t)CO * K, 13), fill(wf, (size_t)CO * K, 14);
    const size_t ws_bytes = (df_conv_ws_bytes(d, N, omp_get_max_threads()) + 63) / 64 * 64;
    direct_ctx c[2];
    for (int i = 0; i < 2; i++) {
        c[i] = (direct_ctx){d, df_conv_input_patches(d, N, x), {0}, w, wf, dy,
                            aligned_alloc(64, (ny * sizeof(float) + 63) / 64 * 64),
                            malloc(nx * sizeof(float)), calloc((size_t)CO * K, sizeof(float)),
                            {aligned_alloc(64, ws_bytes), ws_bytes}, i ? DF_CONV_IMPLICIT_GEMM : kind,
                            malloc(df_conv_small_scratch_bytes(K, CO))};
        if (s == 1) c[i].dpt = df_conv_dgrad_patches(d, N, dy);
    }
    const double flops = 2.0 * N * O * O * CO * K;
    struct {
        const char *dir;
        bench_fn fn;
        df_conv_dir which;
    } runs[] = {{"fwd", direct_fwd, DF_CONV_FORWARD}, {"dgrad", direct_dgrad, DF_CONV_INPUT_GRAD},
                {"wgrad", direct_wgrad, DF_CONV_WEIGHT_GRAD}};
    for (int r = 0; r < 3; r++) {
        /* The short-patch kernels have no input gradient (nor does a network's input need one). */
        if (runs[r].which == DF_CONV_INPUT_GRAD && (s != 1 || df_conv_small_isa_of(kind))) continue;
        char name[64];
        snprintf(name, sizeof name, "conv_direct_%s_%s", runs[r].dir, tag);
        /* Both kinds must agree before their speed means anything. */
        runs[r].fn(&c[0]), runs[r].fn(&c[1]);
        const float *a = r == 0 ? c[0].y : r == 1 ? c[0].dx : c[0].dw, *b = r == 0 ? c[1].y : r == 1 ? c[1].dx : c[1].dw;
        const double err = max_rel_diff(a, b, r == 0 ? ny : r == 1 ? nx : (size_t)CO * K);
        if (err > 1e-4) {
            fprintf(stderr, "bench_layers: %s: direct and implicit GEMM differ (%.1e)\n", name, err);
            exit(1);
        }
        double sec[2];
        bench_fn fns[2] = {pair_direct, pair_implicit};
        direct_pair pair = {c, runs[r].fn};
        measure(name, fns, &pair, sec, 0);
        printf("# %s (%s by the layer): direct %.2f ms, implicit GEMM %.2f ms\n", name,
               df_conv_kernel_name(df_conv_choose(d, runs[r].which, DF_GEMM_AVX2)), sec[0] * 1e3, sec[1] * 1e3);
        report(name, flops / sec[0] * 1e-9, flops / sec[1] * 1e-9, "GFLOP/s");
    }
    for (int i = 0; i < 2; i++) free(c[i].y), free(c[i].dx), free(c[i].dw), free(c[i].ws.p), free(c[i].small);
    free(x), free(dy), free(w), free(wf);
}

/* On the AVX2 backend (forced where the CPU also has AVX-512), so the implicit GEMM runs the AVX2 kernel:
 * the direct kernels for 16 or more channels (conv_direct), or the short-patch ones (conv_small). */
static void bench_conv_direct(int small) {
    const df_gemm_backend was = df_gemm_get_backend();
    if (df_gemm_set_backend(DF_GEMM_AVX2) != 0) {
        printf("# %s: this CPU has no AVX2+FMA, skipped\n", small ? "conv_small" : "conv_direct");
        return;
    }
    const df_conv_kernel d = DF_CONV_DIRECT_AVX2, sm = DF_CONV_SMALL_AVX2;
    if (small) {
        /* Batch 32: the VGG's RGB first layer, a narrow one (8 filters), and ResNet's 7x7 stride-2 stem. */
        bench_direct_shape(3, 64, 128, 3, 1, 32, sm, "small_rgb3x3c128");
        bench_direct_shape(3, 8, 128, 3, 1, 32, sm, "small_rgb3x3to8c128");
        bench_direct_shape(3, 64, 224, 7, 2, 32, sm, "small_rgb7x7s2c224");
    } else {
        bench_direct_shape(64, 64, 56, 3, 1, 8, d, "64c56");
        bench_direct_shape(32, 32, 112, 3, 1, 8, d, "32c112");
        bench_direct_shape(128, 128, 28, 3, 1, 8, d, "128c28");
        bench_direct_shape(256, 256, 14, 3, 1, 8, d, "256c14");
        bench_direct_shape(64, 128, 56, 3, 2, 8, d, "64c56s2");
        bench_direct_shape(64, 128, 56, 1, 2, 8, d, "1x1_64c56s2");
        bench_direct_shape(128, 256, 28, 1, 2, 8, d, "1x1_128c28s2");
        bench_direct_shape(256, 512, 14, 1, 2, 8, d, "1x1_256c14s2");
    }
    df_gemm_set_backend(was);
}

/* ---- batch norm ---- */

enum { BB = 32, BH = 56, BW = 56, BC = 64 };

typedef struct {
    df_graph *g;
    df_node *bn, *relu; /* relu: NULL, or the relu after bn (unfused) */
    df_node *fused;
    const float *x, *dy;
    float *y, *dx, *mean, *invstd; /* reference buffers */
} bn_ctx;

static void ref_bn(void *p) {
    bn_ctx *c = p;
    const size_t rows = (size_t)BB * BH * BW;
    double sum[BC] = {0}, sq[BC] = {0}, sdy[BC] = {0}, sdyx[BC] = {0};
    for (size_t r = 0; r < rows; r++)
        for (int k = 0; k < BC; k++) sum[k] += c->x[r * BC + k], sq[k] += (double)c->x[r * BC + k] * c->x[r * BC + k];
    for (int k = 0; k < BC; k++) {
        double m = sum[k] / rows;
        c->mean[k] = (float)m;
        c->invstd[k] = (float)(1.0 / sqrt(sq[k] / rows - m * m + 1e-5));
    }
    for (size_t r = 0; r < rows; r++)
        for (int k = 0; k < BC; k++) c->y[r * BC + k] = (c->x[r * BC + k] - c->mean[k]) * c->invstd[k];
    for (size_t r = 0; r < rows; r++)
        for (int k = 0; k < BC; k++) {
            sdy[k] += c->dy[r * BC + k];
            sdyx[k] += (double)c->dy[r * BC + k] * c->y[r * BC + k];
        }
    for (size_t r = 0; r < rows; r++)
        for (int k = 0; k < BC; k++)
            c->dx[r * BC + k] = c->invstd[k] * (c->dy[r * BC + k] - (float)(sdy[k] / rows) -
                                                 c->y[r * BC + k] * (float)(sdyx[k] / rows));
}

static void run_fwd_bwd(df_graph *g, df_node **nodes, int n) {
    for (int i = 0; i < n; i++) nodes[i]->op->forward(g, nodes[i]);
    for (int i = n - 1; i >= 0; i--) nodes[i]->op->backward(g, nodes[i]);
}

static void our_bn(void *p) {
    bn_ctx *c = p;
    run_fwd_bwd(c->g, &c->bn, 1);
}

static void our_bn_then_relu(void *p) {
    bn_ctx *c = p;
    df_node *nodes[2] = {c->bn, c->relu};
    run_fwd_bwd(c->g, nodes, 2);
}

static void our_bn_relu_fused(void *p) {
    bn_ctx *c = p;
    run_fwd_bwd(c->g, &c->fused, 1);
}

static void bench_batchnorm(void) {
    df_graph *g = df_graph_new(BB);
    int x = df_input(g, "x", (df_shape){3, {BH, BW, BC}}, 1);
    int bn = df_batchnorm(g, "bn", x, 1e-5f, 0.1f);
    int relu = df_relu(g, "relu", bn);
    int fused = df_batchnorm_relu(g, "bnrelu", x, 1e-5f, 0.1f);
    compile_or_die(g, relu); /* the fused node is not on the loss path: its backward is called directly */
    df_graph_set_training(g, 1);
    const size_t n = (size_t)BB * BH * BW * BC;
    bn_ctx c = {g, &g->nodes[bn], &g->nodes[relu], &g->nodes[fused], g->nodes[x].out, g->nodes[bn].dout,
                malloc(n * sizeof(float)), malloc(n * sizeof(float)), malloc(BC * sizeof(float)),
                malloc(BC * sizeof(float))};
    fill(g->nodes[x].out, n, 3);
    fill(g->nodes[bn].dout, n, 4);
    fill(g->nodes[relu].dout, n, 5);
    /* The fused node's output gradient: dout buffers are planned only for nodes that need one. */
    if (!c.fused->dout) {
        fprintf(stderr, "bench_layers: the fused node has no gradient buffer\n");
        exit(1);
    }
    memcpy(c.fused->dout, g->nodes[relu].dout, n * sizeof(float));

    our_bn(&c), ref_bn(&c);
    double e = max_rel_diff(g->nodes[x].dout, c.dx, n);
    printf("# batchnorm ours vs reference, max |diff| / max |ref|: dx %.1e\n", e);
    if (e > 1e-4) {
        fprintf(stderr, "bench_layers: batchnorm results differ from the reference\n");
        exit(1);
    }
    double sec[2];
    bench_fn f[2] = {our_bn, ref_bn};
    measure("batchnorm_fwd_bwd", f, &c, sec, 0);
    print_times("batchnorm_fwd_bwd", "ours", "reference", sec);
    /* Forward: statistics (read x), apply (read x, write y); backward: sums (read dy, x), dx (read dy, x,
     * write dx). The same with the ReLU fused. */
    const double image_bytes = (double)BH * BW * BC * sizeof(float);
    report_bandwidth("batchnorm_fwd_bwd", BB / sec[0], BB / sec[1], 8, image_bytes);
    bench_fn f2[2] = {our_bn_relu_fused, our_bn_then_relu};
    measure("batchnorm_relu_fwd_bwd", f2, &c, sec, 0);
    print_times("batchnorm_relu_fwd_bwd", "fused", "batchnorm then relu", sec);
    report_bandwidth("batchnorm_relu_fwd_bwd", BB / sec[0], BB / sec[1], 8, image_bytes);
    free(c.y), free(c.dx), free(c.mean), free(c.invstd);
    df_graph_free(g);
}

/* ---- batchnorm + ReLU + max pooling ---- */

/* Each variant has a graph of its own: in one graph the two would share x's gradient (the later one in the
 * backward accumulating onto what the first wrote) and the arena places of their inner gradients, which
 * the plan lets nodes that are never alive together share. */
typedef struct {
    df_graph *unfused, *fused;
    df_node *bnrelu, *pool, *fused_node;
} bn_pool_ctx;

static void our_bn_pool_fused(void *p) {
    bn_pool_ctx *c = p;
    run_fwd_bwd(c->fused, &c->fused_node, 1);
}

static void our_bn_relu_then_pool(void *p) {
    bn_pool_ctx *c = p;
    df_node *nodes[2] = {c->bnrelu, c->pool};
    run_fwd_bwd(c->unfused, nodes, 2);
}

static void bench_bn_pool(void) {
    const df_shape xs = {3, {BH, BW, BC}};
    df_graph *gu = df_graph_new(BB), *gf = df_graph_new(BB);
    const int xu = df_input(gu, "x", xs, 1), xf = df_input(gf, "x", xs, 1);
    const int bnrelu = df_batchnorm_relu(gu, "a", xu, 1e-5f, 0.1f);
    const int pool = df_maxpool(gu, "a.pool", bnrelu, 2, 2, 0);
    const int fused = df_batchnorm_relu_maxpool(gf, "b", xf, 1e-5f, 0.1f);
    compile_or_die(gu, pool);
    compile_or_die(gf, fused);
    df_graph_set_training(gu, 1);
    df_graph_set_training(gf, 1);
    const size_t n = (size_t)BB * BH * BW * BC, m = n / 4;
    fill(gu->nodes[xu].out, n, 6);
    memcpy(gf->nodes[xf].out, gu->nodes[xu].out, n * sizeof(float));
    fill(gu->nodes[pool].dout, m, 7);
    memcpy(gf->nodes[fused].dout, gu->nodes[pool].dout, m * sizeof(float));
    bn_pool_ctx c = {gu, gf, &gu->nodes[bnrelu], &gu->nodes[pool], &gf->nodes[fused]};

    /* The two must agree (to the rounding of their sums, which run in another order) before timing. */
    our_bn_relu_then_pool(&c);
    our_bn_pool_fused(&c);
    double e = max_rel_diff(gf->nodes[xf].dout, gu->nodes[xu].dout, n),
           ey = max_rel_diff(c.fused_node->out, c.pool->out, m);
    printf("# batchnorm+relu+maxpool fused vs unfused, max |diff| / max |ref|: y %.1e, dx %.1e\n", ey, e);
    if (e > 1e-5 || ey != 0) {
        fprintf(stderr, "bench_layers: fused batchnorm+relu+maxpool differs from the unfused ops\n");
        exit(1);
    }
    double sec[2];
    bench_fn f[2] = {our_bn_pool_fused, our_bn_relu_then_pool};
    measure("batchnorm_relu_pool_fwd_bwd", f, &c, sec, 0);
    print_times("batchnorm_relu_pool_fwd_bwd", "fused", "batchnorm+relu then maxpool", sec);
    /* As batchnorm's 8 passes, with y and dy a quarter of x's size: 2.25 forward, 3.5 backward. */
    report_bandwidth("batchnorm_relu_pool_fwd_bwd", BB / sec[0], BB / sec[1], 5.75,
                     (double)BH * BW * BC * sizeof(float));
    df_graph_free(gu);
    df_graph_free(gf);
}

/* Whether the command line asks for case `name` (one naming no case asks for all). */
static int wanted(int argc, char **argv, const char *name) {
    int cases = 0;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-') {
            i += strcmp(argv[i], "--rounds") == 0; /* skip its value */
            continue;
        }
        cases++;
        if (strcmp(argv[i], name) == 0) return 1;
    }
    return cases == 0;
}

int main(int argc, char **argv) {
    /* The OpenMP wait policy the dermfuse command runs with (core/wait_policy.h). */
    df_wait_policy_apply(argv);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--no-ref") == 0) {
            no_ref = 1;
        } else if (strcmp(argv[i], "--check") == 0) {
            check_only = 1;
        } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            rounds = atoi(argv[++i]);
            if (rounds < 1 || rounds > MAX_ROUNDS) {
                fprintf(stderr, "bench_layers: --rounds takes 1 to %d\n", MAX_ROUNDS);
                return 2;
            }
        } else if (strcmp(argv[i], "conv3x3") && strcmp(argv[i], "conv_rgb") && strcmp(argv[i], "conv_direct") &&
                   strcmp(argv[i], "conv_small") && strcmp(argv[i], "batchnorm") && strcmp(argv[i], "bn_pool")) {
            fprintf(stderr, "bench_layers: unknown argument '%s' (--rounds N, --no-ref, --check, conv3x3, conv_rgb, "
                            "conv_direct, conv_small, batchnorm, bn_pool)\n", argv[i]);
            return 2;
        }
    }
    df_gemm_set_backend(DF_GEMM_AUTO);
    printf("# threads %d, df_sgemm backend %s, OpenBLAS core %s\n", omp_get_max_threads(),
           df_gemm_backend_name(df_gemm_get_backend()), openblas_get_corename());
    printf("# openmp waiting: %s\n", df_wait_policy_describe());
    openblas_set_num_threads(omp_get_max_threads());
    const char *isa;
    if (!check_only) {
        peak_gflops = bench_best_peak_gflops(omp_get_max_threads(), &isa);
        triad_gbs = bench_triad_gbs(omp_get_max_threads());
        printf("# measured on %d threads: FP32 FMA peak (%s) %.1f GFLOP/s, triad bandwidth %.1f GB/s\n",
               omp_get_max_threads(), isa, peak_gflops, triad_gbs);
    }
    if (wanted(argc, argv, "conv3x3")) bench_conv();
    if (wanted(argc, argv, "conv_rgb")) bench_conv_rgb();
    if (wanted(argc, argv, "conv_direct")) bench_conv_direct(0);
    if (wanted(argc, argv, "conv_small")) bench_conv_direct(1);
    if (wanted(argc, argv, "batchnorm")) bench_batchnorm();
    if (wanted(argc, argv, "bn_pool")) bench_bn_pool();
    return 0;
}
