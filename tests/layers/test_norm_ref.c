/* test_norm_ref.c: the memory-bound vector kernels (layers/bn_kernels.c, activation.c, pool.c) against plain
 * double-precision references: batch norm, batch norm + ReLU and batch norm + ReLU + 2x2 max pooling, in
 * training mode (batch statistics, running-statistics update) and inference mode, forward and backward
 * (input, scale and shift gradients); ReLU and max pooling alone. Channel counts 1, 3, 17, 64 and 100 leave
 * vector tails on every ISA, odd heights and widths leave pixels no pooling window covers. Each case also
 * runs on 1 and 2 threads, which must agree bit for bit.
 *
 * The kernels are compiled for AVX-512, AVX2 and the baseline and picked by the CPU (layers/simd.h); meson
 * also runs this test under valgrind, whose virtual CPU has AVX2 but no AVX-512, so the AVX2 versions are
 * held to the same references (tests/layers/meson.build). */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/rng.h"
#include "layers/fused.h"
#include "layers/layers.h"

#define EPS 1e-5f
#define MOMENTUM 0.1f
/* Largest |ours - reference| allowed, relative to the largest |reference|: float32 sums over at most 96
 * rows a channel, against formulas whose mistakes (a biased variance, a missing mean term) are 1e-3 or more
 * at these sizes. */
#define FWD_TOL 2e-6
#define GRAD_TOL 2e-5

typedef enum { OP_BN, OP_BN_RELU, OP_BN_RELU_POOL, OP_RELU, OP_MAXPOOL } op_kind;
static const char *const op_names[] = {"batchnorm", "batchnorm+relu", "batchnorm+relu+maxpool", "relu",
                                       "maxpool 3x3/2 pad 1"};

typedef struct {
    int B, H, W, C; /* H = W = 0: a (B, C) feature batch */
} dims;

static size_t rows_of(dims d) { return (size_t)d.B * (d.H ? (size_t)d.H * d.W : 1); }

/* What one run of the op produced, copied out of the graph: the output, the output gradient it was given,
 * and every gradient and running statistic. */
typedef struct {
    float *y, *dy, *dx, *dgamma, *dbeta, *rmean, *rvar;
    size_t ny;
} result;

static float *copy_of(const float *p, size_t n) {
    float *q = malloc(n * sizeof *q);
    memcpy(q, p, n * sizeof *q);
    return q;
}

static void result_free(result *r) {
    free(r->y), free(r->dy), free(r->dx), free(r->dgamma), free(r->dbeta), free(r->rmean), free(r->rvar);
}

static int has_norm(op_kind op) { return op <= OP_BN_RELU_POOL; }

static result run_op(op_kind op, dims d, int training, int threads, const float *x, const float *gamma,
                     const float *beta, const float *rmean, const float *rvar, uint64_t dy_seed) {
    df_graph *g = df_graph_new(d.B);
    df_shape s = d.H ? (df_shape){3, {d.H, d.W, d.C}} : (df_shape){1, {d.C}};
    int in = df_input(g, "x", s, 1), y = -1;
    switch (op) {
    case OP_BN: y = df_batchnorm(g, "op", in, EPS, MOMENTUM); break;
    case OP_BN_RELU: y = df_batchnorm_relu(g, "op", in, EPS, MOMENTUM); break;
    case OP_BN_RELU_POOL: y = df_batchnorm_relu_maxpool(g, "op", in, EPS, MOMENTUM); break;
    case OP_RELU: y = df_relu(g, "op", in); break;
    case OP_MAXPOOL: y = df_maxpool(g, "op", in, 3, 2, 1); break;
    }
    df_error err;
    if (df_graph_compile(g, y, 7, &err)) {
        fprintf(stderr, "compile failed: %s\n", err.msg);
        exit(1);
    }
    df_graph_set_training(g, training);
    df_node *n = df_node_at(g, y);
    memcpy(df_node_at(g, in)->out, x, rows_of(d) * d.C * sizeof(float));
    if (has_norm(op)) {
        memcpy(df_node_param(g, n, 0), gamma, d.C * sizeof(float));
        memcpy(df_node_param(g, n, 1), beta, d.C * sizeof(float));
        memcpy(df_node_param(g, n, 2), rmean, d.C * sizeof(float));
        memcpy(df_node_param(g, n, 3), rvar, d.C * sizeof(float));
    }
    omp_set_num_threads(threads);
    df_graph_forward(g);
    result r = {0};
    r.ny = df_shape_per_sample(n->shape) * (size_t)d.B;
    df_rng rng = df_rng_make(dy_seed, 3);
    for (size_t i = 0; i < r.ny; i++) n->dout[i] = df_rng_normal(&rng);
    df_graph_zero_grads(g);
    df_graph_backward(g);
    r.y = copy_of(n->out, r.ny);
    r.dy = copy_of(n->dout, r.ny);
    r.dx = copy_of(df_node_at(g, in)->dout, rows_of(d) * d.C);
    if (has_norm(op)) {
        r.dgamma = copy_of(df_node_param_grad(g, n, 0), d.C);
        r.dbeta = copy_of(df_node_param_grad(g, n, 1), d.C);
        r.rmean = copy_of(df_node_param(g, n, 2), d.C);
        r.rvar = copy_of(df_node_param(g, n, 3), d.C);
    }
    df_graph_free(g);
    return r;
}

/* ---- references, in double ---- */

/* Batch norm over rows x C: z (normalised, scaled, shifted) and what the backward needs. */
typedef struct {
    double *z, *mean, *invstd, *var;
} bn_ref;

static bn_ref bn_reference(dims d, int training, const float *x, const float *gamma, const float *beta,
                           const float *rmean, const float *rvar) {
    const size_t n = rows_of(d);
    const int C = d.C;
    bn_ref r = {malloc(n * C * sizeof(double)), calloc(C, sizeof(double)), malloc(C * sizeof(double)),
                calloc(C, sizeof(double))};
    for (int c = 0; c < C; c++) {
        if (training) {
            for (size_t i = 0; i < n; i++) r.mean[c] += x[i * C + c];
            r.mean[c] /= (double)n;
            for (size_t i = 0; i < n; i++) r.var[c] += (x[i * C + c] - r.mean[c]) * (x[i * C + c] - r.mean[c]);
            r.var[c] /= (double)n;
        } else {
            r.mean[c] = rmean[c], r.var[c] = rvar[c];
        }
        r.invstd[c] = 1.0 / sqrt(r.var[c] + EPS);
        for (size_t i = 0; i < n; i++)
            r.z[i * C + c] = gamma[c] * (x[i * C + c] - r.mean[c]) * r.invstd[c] + beta[c];
    }
    return r;
}

/* dz -> dx, dgamma, dbeta through the batch norm. */
static void bn_reference_backward(dims d, int training, const float *x, const float *gamma, const bn_ref *r,
                                  const double *dz, double *dx, double *dgamma, double *dbeta) {
    const size_t n = rows_of(d);
    const int C = d.C;
    for (int c = 0; c < C; c++) {
        dgamma[c] = dbeta[c] = 0;
        for (size_t i = 0; i < n; i++) {
            const double xhat = (x[i * C + c] - r->mean[c]) * r->invstd[c];
            dbeta[c] += dz[i * C + c];
            dgamma[c] += dz[i * C + c] * xhat;
        }
        for (size_t i = 0; i < n; i++) {
            const double xhat = (x[i * C + c] - r->mean[c]) * r->invstd[c];
            dx[i * C + c] = training ? gamma[c] * r->invstd[c] / (double)n *
                                           ((double)n * dz[i * C + c] - dbeta[c] - xhat * dgamma[c])
                                     : gamma[c] * r->invstd[c] * dz[i * C + c];
        }
    }
}

/* Max pooling k x k, stride s, padding p over (B, H, W, C) of v: y, and dy routed to each window's
 * largest element (the first in row-major order among equals). */
static void pool_reference(dims d, int k, int s, int p, const double *v, double *y, const float *dy,
                           double *dv) {
    const int OH = (d.H + 2 * p - k) / s + 1, OW = (d.W + 2 * p - k) / s + 1, C = d.C;
    memset(dv, 0, rows_of(d) * C * sizeof(double));
    for (int b = 0; b < d.B; b++)
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++)
                for (int c = 0; c < C; c++) {
                    size_t best = 0;
                    double m = -INFINITY;
                    for (int i = 0; i < k; i++)
                        for (int j = 0; j < k; j++) {
                            const int h = oh * s - p + i, w = ow * s - p + j;
                            if (h < 0 || h >= d.H || w < 0 || w >= d.W) continue;
                            const size_t at = (((size_t)b * d.H + h) * d.W + w) * C + c;
                            if (v[at] > m) m = v[at], best = at;
                        }
                    const size_t o = (((size_t)b * OH + oh) * OW + ow) * C + c;
                    y[o] = m;
                    dv[best] += dy[o];
                }
}

static double max_abs(const double *v, size_t n) {
    double m = 1e-30;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(v[i]));
    return m;
}

/* max |ours - ref| / max |ref| <= tol, naming the first element that breaks it. */
static void check_against(const char *label, const char *what, const float *ours, const double *ref, size_t n,
                          double tol) {
    const double scale = max_abs(ref, n);
    size_t worst = 0;
    double err = 0;
    for (size_t i = 0; i < n && !isnan(err); i++) /* a NaN is the worst there is: report the first */
        if (!(fabs(ours[i] - ref[i]) <= err)) err = fabs(ours[i] - ref[i]), worst = i;
    CHECK_MSG(err <= tol * scale, "%s: %s[%zu] = %.9g, reference %.9g (max error %.2g of scale %.3g, tol %.1g)",
              label, what, worst, ours[worst], ref[worst], err, scale, tol);
}

static void check_case(op_kind op, dims d, int training) {
    const size_t n = rows_of(d), nx = n * d.C;
    char label[128];
    snprintf(label, sizeof label, "%s B%d %dx%dx%d %s", op_names[op], d.B, d.H, d.W, d.C,
             training ? "train" : "eval");
    df_rng rng = df_rng_make(1000 + (uint64_t)op * 31 + (uint64_t)d.C, 1);
    float *x = malloc(nx * sizeof *x), *gamma = malloc(d.C * sizeof *gamma), *beta = malloc(d.C * sizeof *beta);
    float *rmean = malloc(d.C * sizeof *rmean), *rvar = malloc(d.C * sizeof *rvar);
    for (size_t i = 0; i < nx; i++) x[i] = 0.3f + 1.7f * df_rng_normal(&rng);
    for (int c = 0; c < d.C; c++) {
        gamma[c] = 0.5f + df_rng_uniform(&rng);
        beta[c] = df_rng_normal(&rng);
        rmean[c] = 0.4f * df_rng_normal(&rng);
        rvar[c] = 0.5f + 2.0f * df_rng_uniform(&rng);
    }

    result r1 = run_op(op, d, training, 1, x, gamma, beta, rmean, rvar, 99);
    result r2 = run_op(op, d, training, 2, x, gamma, beta, rmean, rvar, 99);
    const float *dy = r1.dy;
    CHECK_MSG(memcmp(r1.y, r2.y, r1.ny * sizeof(float)) == 0 && memcmp(r1.dx, r2.dx, nx * sizeof(float)) == 0,
              "%s: 1 and 2 threads differ", label);
    if (has_norm(op))
        CHECK_MSG(memcmp(r1.dgamma, r2.dgamma, d.C * sizeof(float)) == 0 &&
                      memcmp(r1.dbeta, r2.dbeta, d.C * sizeof(float)) == 0 &&
                      memcmp(r1.rmean, r2.rmean, d.C * sizeof(float)) == 0 &&
                      memcmp(r1.rvar, r2.rvar, d.C * sizeof(float)) == 0,
                  "%s: 1 and 2 threads differ in the parameter gradients or running statistics", label);

    double *y = calloc(r1.ny, sizeof *y), *dx = malloc(nx * sizeof *dx), *dz = malloc(nx * sizeof *dz);
    double *z = malloc(nx * sizeof *z);
    bn_ref bn = {0};
    if (has_norm(op)) {
        bn = bn_reference(d, training, x, gamma, beta, rmean, rvar);
        memcpy(z, bn.z, nx * sizeof *z);
    } else {
        for (size_t i = 0; i < nx; i++) z[i] = x[i];
    }
    const int relu = op == OP_BN_RELU || op == OP_BN_RELU_POOL || op == OP_RELU;
    double *a = calloc(nx, sizeof *a); /* after the ReLU, if any */
    for (size_t i = 0; i < nx; i++) a[i] = relu ? fmax(z[i], 0.0) : z[i];
    if (op == OP_BN_RELU_POOL || op == OP_MAXPOOL) {
        const int k = op == OP_MAXPOOL ? 3 : 2, p = op == OP_MAXPOOL ? 1 : 0;
        pool_reference(d, k, 2, p, a, y, dy, dz);
    } else {
        memcpy(y, a, nx * sizeof *y);
        for (size_t i = 0; i < nx; i++) dz[i] = dy[i];
    }
    if (relu)
        for (size_t i = 0; i < nx; i++) dz[i] = z[i] > 0 ? dz[i] : 0.0;
    check_against(label, "y", r1.y, y, r1.ny, FWD_TOL);
    if (has_norm(op)) {
        double *dgamma = malloc(d.C * sizeof(double)), *dbeta = malloc(d.C * sizeof(double));
        bn_reference_backward(d, training, x, gamma, &bn, dz, dx, dgamma, dbeta);
        check_against(label, "dx", r1.dx, dx, nx, GRAD_TOL);
        check_against(label, "dgamma", r1.dgamma, dgamma, d.C, GRAD_TOL);
        check_against(label, "dbeta", r1.dbeta, dbeta, d.C, GRAD_TOL);
        double *want_mean = malloc(d.C * sizeof(double)), *want_var = malloc(d.C * sizeof(double));
        for (int c = 0; c < d.C; c++) {
            const double unbiased = bn.var[c] * (double)n / (double)(n - 1);
            want_mean[c] = training ? (1 - MOMENTUM) * rmean[c] + MOMENTUM * bn.mean[c] : rmean[c];
            want_var[c] = training ? (1 - MOMENTUM) * rvar[c] + MOMENTUM * unbiased : rvar[c];
        }
        check_against(label, "running_mean", r1.rmean, want_mean, d.C, FWD_TOL);
        check_against(label, "running_var", r1.rvar, want_var, d.C, FWD_TOL);
        free(dgamma), free(dbeta), free(want_mean), free(want_var);
        free(bn.z), free(bn.mean), free(bn.invstd), free(bn.var);
    } else {
        for (size_t i = 0; i < nx; i++) dx[i] = dz[i];
        check_against(label, "dx", r1.dx, dx, nx, GRAD_TOL);
    }
    free(x), free(gamma), free(beta), free(rmean), free(rvar), free(y), free(dx), free(dz), free(z), free(a);
    result_free(&r1), result_free(&r2);
}

int main(void) {
    check_expected_cpu();
    static const dims images[] = {{2, 5, 7, 3}, {3, 4, 6, 17}, {1, 9, 9, 64}, {2, 6, 8, 100}, {4, 3, 2, 1}};
    static const dims features[] = {{5, 0, 0, 33}, {3, 0, 0, 1}, {9, 0, 0, 64}};
    for (size_t i = 0; i < sizeof images / sizeof images[0]; i++)
        for (int training = 0; training < 2; training++) {
            check_case(OP_BN, images[i], training);
            check_case(OP_BN_RELU, images[i], training);
            if (images[i].H >= 2 && images[i].W >= 2) check_case(OP_BN_RELU_POOL, images[i], training);
        }
    for (size_t i = 0; i < sizeof features / sizeof features[0]; i++)
        for (int training = 0; training < 2; training++) check_case(OP_BN, features[i], training);
    for (size_t i = 0; i < sizeof images / sizeof images[0]; i++) {
        check_case(OP_RELU, images[i], 1);
        check_case(OP_MAXPOOL, images[i], 1);
    }
    return check_report();
}
