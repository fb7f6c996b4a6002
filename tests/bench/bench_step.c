/* bench_step.c: a whole training step (zero grads, forward, backward, gradient norm, SGD with momentum) of
 * the VGG-style CNN (4 blocks conv3x3-BN-ReLU-maxpool 32/64/128/256, GAP, linear head; 3x128x128, batch 32,
 * df_model_spec_default) and of its intermediate-fusion variant (a metadata MLP beside the backbone).
 *
 *   BENCH step_<model> ours=<images/s> ref=<images/s> unit=img/s ratio=<ours/ref>
 *
 * `ref` is the figure in the environment variable DF_BENCH_REF_STEP_<MODEL> when set (scripts/bench_compare.sh
 * passes PyTorch's best, measured just before); otherwise the same step with df_sgemm switched to OpenBLAS
 * (same layers, only the GEMM differs). Figures are medians of STEPS timed steps after warm-up.
 *
 * step_image_unfused is the same network built here from the plain ops, conv -> batchnorm -> relu -> maxpool,
 * where train/model/model.c uses one fused batchnorm+ReLU+max-pool node (layers/fused.h): what the fusion saves.
 *
 * DF_PROFILE=1 also prints where a step's time goes: a runner that does what df_train_step does, node by
 * node in the order core/graph.c runs them, timing each op's forward and backward (medians over the
 * profiled steps), then totals per op kind. Usage: bench_step [image|intermediate|image_unfused|all] */
#include <ctype.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gemm/gemm.h"
#include "core/rng.h"
#include "layers/layers.h"
#include "train/model/model.h"
#include "train/model/step.h"

#include "bench_util.h"
#include "peak.h"

enum { BATCH = 32, SIZE = 128, META_DIM = 16, WARMUP = 2, STEPS = 9, PROFILE_STEPS = 5 };


static df_model *build(df_fusion fusion) {
    df_model_spec s = df_model_spec_default(fusion, 2, SIZE, fusion == DF_FUSION_IMAGE ? 0 : META_DIM);
    df_error err;
    df_model *m = df_model_build(&s, BATCH, 1, &err);
    if (!m) {
        fprintf(stderr, "bench_step: %s\n", err.msg);
        exit(1);
    }
    df_rng r = df_rng_make(7, 1);
    float *img = df_graph_out(m->g, m->image[0]), *t = df_graph_out(m->g, m->target);
    for (size_t i = 0; i < (size_t)BATCH * SIZE * SIZE * 3; i++) img[i] = df_rng_normal(&r);
    if (m->meta >= 0) {
        float *meta = df_graph_out(m->g, m->meta);
        for (int i = 0; i < BATCH * META_DIM; i++) meta[i] = df_rng_normal(&r);
    }
    for (int i = 0; i < BATCH; i++) t[i] = (float)(i % 2);
    return m;
}

/* df_model_spec_default's image model from unfused ops: conv -> batchnorm -> relu -> maxpool per stage. */
static df_model *build_unfused(void) {
    df_model *m = calloc(1, sizeof *m);
    m->spec = df_model_spec_default(DF_FUSION_IMAGE, 2, SIZE, 0);
    df_graph *g = m->g = df_graph_new(BATCH);
    m->image[0] = df_input(g, "input.image0", (df_shape){3, {SIZE, SIZE, 3}}, 0);
    m->image[1] = m->meta = -1;
    m->target = df_input(g, "input.target", (df_shape){0, {0}}, 0);
    int x = m->image[0];
    for (int st = 0; st < 4; st++) {
        char n[64];
        snprintf(n, sizeof n, "image.stage%d.conv", st + 1);
        x = df_conv2d(g, n, x, m->spec.widths[st], 3, 1, 1, 0);
        snprintf(n, sizeof n, "image.stage%d.bn", st + 1);
        x = df_batchnorm(g, n, x, m->spec.bn_eps, m->spec.bn_momentum);
        snprintf(n, sizeof n, "image.stage%d.relu", st + 1);
        x = df_relu(g, n, x);
        snprintf(n, sizeof n, "image.stage%d.pool", st + 1);
        x = df_maxpool(g, n, x, 2, 2, 0);
    }
    m->features = df_global_avgpool(g, "image.gap", x);
    m->logits = df_linear(g, "logits", m->features, 2, 1);
    m->loss = df_softmax_cross_entropy(g, "loss", m->logits, m->target, 2, NULL, 0.0f);
    df_error err;
    if (df_graph_compile(g, m->loss, 1, &err)) {
        fprintf(stderr, "bench_step: %s\n", err.msg);
        exit(1);
    }
    df_rng r = df_rng_make(7, 1);
    float *img = df_graph_out(g, m->image[0]), *t = df_graph_out(g, m->target);
    for (size_t i = 0; i < (size_t)BATCH * SIZE * SIZE * 3; i++) img[i] = df_rng_normal(&r);
    for (int i = 0; i < BATCH; i++) t[i] = (float)(i % 2);
    return m;
}

static df_optim *sgd(df_model *m) {
    df_optim_config oc = df_optim_defaults(DF_OPTIM_SGD);
    oc.lr = 0.01f;
    oc.momentum = 0.9f;
    df_error err;
    df_optim *o = df_optim_new(m->g, &oc, &err);
    if (!o) {
        fprintf(stderr, "bench_step: %s\n", err.msg);
        exit(1);
    }
    return o;
}

/* Median images/s of df_train_step. A tiny learning rate keeps many steps from diverging. */
static double step_rate(df_model *m, df_optim *o) {
    double t[STEPS];
    for (int i = 0; i < WARMUP; i++) df_train_step(m->g, m->loss, o, 1e-4f, 0);
    for (int i = 0; i < STEPS; i++) {
        double t0 = omp_get_wtime();
        df_step_result r = df_train_step(m->g, m->loss, o, 1e-4f, 0);
        t[i] = omp_get_wtime() - t0;
        if (!r.finite) {
            fprintf(stderr, "bench_step: the step's loss or gradient is not finite\n");
            exit(1);
        }
    }
    return BATCH / bench_median(t, STEPS);
}

typedef struct {
    double fwd[PROFILE_STEPS], bwd[PROFILE_STEPS];
} node_times;

/* df_train_step spelled out: the same calls in the same order, with a clock around every op. */
static void profile(df_model *m, df_optim *o) {
    df_graph *g = m->g;
    node_times *nt = calloc((size_t)g->n_nodes, sizeof *nt);
    double other[PROFILE_STEPS], total[PROFILE_STEPS];
    for (int s = -1; s < PROFILE_STEPS; s++) { /* s = -1: warm-up */
        double t_start = omp_get_wtime();
        df_graph_set_training(g, 1);
        df_graph_zero_grads(g);
        for (int i = 0; i < g->n_nodes; i++) {
            double t0 = omp_get_wtime();
            g->nodes[i].op->forward(g, &g->nodes[i]);
            if (s >= 0) nt[i].fwd[s] = omp_get_wtime() - t0;
        }
        g->dropout_step++;
        df_node *top = &g->nodes[g->loss];
        if (df_shape_numel(top->shape) == 1) top->dout[0] = 1.0f;
        for (int i = g->loss; i >= 0; i--) {
            df_node *n = &g->nodes[i];
            double t0 = omp_get_wtime();
            if (n->on_loss_path) n->op->backward(g, n);
            if (s >= 0) nt[i].bwd[s] = omp_get_wtime() - t0;
        }
        double t0 = omp_get_wtime();
        df_clip_grad_norm(g, 0);
        df_optim_step(o, g, 1e-4f);
        if (s >= 0) {
            other[s] = omp_get_wtime() - t0;
            total[s] = omp_get_wtime() - t_start;
        }
    }
    enum { KINDS = 32 };
    const char *kind[KINDS];
    double kf[KINDS] = {0}, kb[KINDS] = {0};
    int nk = 0;
    double sum = 0;
    printf("# %-28s %-10s %9s %9s %9s\n", "node", "op", "fwd ms", "bwd ms", "GFLOP/s");
    for (int i = 0; i < g->n_nodes; i++) {
        df_node *n = &g->nodes[i];
        double f = bench_median(nt[i].fwd, PROFILE_STEPS) * 1e3, b = bench_median(nt[i].bwd, PROFILE_STEPS) * 1e3;
        double flop = n->op->flops(g, n) * g->batch;
        /* Backward of a layer with weights costs two forwards (input and weight gradients), one if the
         * input needs no gradient. */
        int has_dx = n->n_in > 0 && g->nodes[n->in[0]].requires_grad;
        double fb_flop = flop * (n->n_params ? (has_dx ? 3 : 2) : 1);
        printf("# %-28s %-10s %9.2f %9.2f %9.1f\n", n->name, n->op->name, f, b,
               flop > 1e6 ? fb_flop / ((f + b) * 1e-3) * 1e-9 : 0.0);
        sum += f + b;
        int k = 0;
        while (k < nk && strcmp(kind[k], n->op->name)) k++;
        if (k == nk && nk < KINDS) kind[nk++] = n->op->name;
        if (k < KINDS) kf[k] += f, kb[k] += b;
    }
    double o_ms = bench_median(other, PROFILE_STEPS) * 1e3, t_ms = bench_median(total, PROFILE_STEPS) * 1e3;
    printf("# per op kind (fwd + bwd ms):");
    for (int k = 0; k < nk; k++) printf("  %s %.1f+%.1f", kind[k], kf[k], kb[k]);
    printf("\n# ops %.1f ms, clip+SGD %.1f ms, step %.1f ms (%.1f img/s)\n", sum, o_ms, t_ms,
           BATCH / (t_ms * 1e-3));
    free(nt);
}

/* The measured FMA peak on the benchmark's threads (peak.h), set in main. */
static double peak_gflops;

static void bench(df_fusion fusion, int unfused, int prof) {
    char name[64];
    snprintf(name, sizeof name, "%s%s", df_fusion_name(fusion), unfused ? "_unfused" : "");
    df_model *m = unfused ? build_unfused() : build(fusion);
    df_optim *o = sgd(m);
    printf("# step_%s: %.2f GFLOP per image (forward)\n", name, df_graph_flops(m->g) * 1e-9);
    if (prof) profile(m, o);
    double ours = step_rate(m, o);
    char var[128], *v = var;
    /* The unfused variant is the same network: it is held to the same reference. */
    snprintf(var, sizeof var, "DF_BENCH_REF_STEP_%s", df_fusion_name(fusion));
    for (; *v; v++) *v = (char)toupper((unsigned char)*v);
    const char *env = getenv(var);
    double ref;
    if (env && atof(env) > 0) {
        ref = atof(env);
        printf("# ref: %s=%s\n", var, env);
    } else {
        df_gemm_backend keep = df_gemm_get_backend();
        df_gemm_set_backend(DF_GEMM_OPENBLAS);
        ref = step_rate(m, o);
        df_gemm_set_backend(keep);
        printf("# ref: the same step with df_sgemm on OpenBLAS\n");
    }
    printf("BENCH step_%s ours=%.1f ref=%.1f unit=img/s ratio=%.3f\n", name, ours, ref, ours / ref);
    /* A step as 3x the forward's FLOPs: the backward of each convolution and linear layer is two products of
     * the forward's size (the first layer skips its input gradient, so this slightly overcounts). */
    const double step_gflop = 3 * df_graph_flops(m->g) * 1e-9;
    if (peak_gflops > 0) /* 0 on a CPU without AVX2: no FMA loop to measure */
        printf("#   at %.2f GFLOP an image a step: ours %.0f GFLOP/s (%.0f%% of the measured peak, %.0f GFLOP/s), "
               "reference %.0f%%\n",
               step_gflop, ours * step_gflop, 100 * ours * step_gflop / peak_gflops, peak_gflops,
               100 * ref * step_gflop / peak_gflops);
    fflush(stdout);
    df_optim_free(o);
    df_model_free(m);
}

int main(int argc, char **argv) {
    const char *which = argc > 1 ? argv[1] : "all";
    const char *p = getenv("DF_PROFILE");
    int prof = p && atoi(p) > 0;
    df_gemm_set_backend(DF_GEMM_AUTO);
    printf("# threads %d, df_sgemm backend %s, batch %d, %dx%dx3\n", omp_get_max_threads(),
           df_gemm_backend_name(df_gemm_get_backend()), BATCH, SIZE, SIZE);
    int all = !strcmp(which, "all");
    if (!all && strcmp(which, "image") && strcmp(which, "intermediate") && strcmp(which, "image_unfused")) {
        fprintf(stderr, "usage: bench_step [image|intermediate|image_unfused|all]\n");
        return 2;
    }
    const char *isa;
    peak_gflops = bench_best_peak_gflops(omp_get_max_threads(), &isa);
    printf("# measured FP32 FMA peak (%s) on %d threads: %.1f GFLOP/s\n", isa, omp_get_max_threads(), peak_gflops);
    if (all || !strcmp(which, "image")) bench(DF_FUSION_IMAGE, 0, prof);
    if (all || !strcmp(which, "intermediate")) bench(DF_FUSION_INTERMEDIATE, 0, prof);
    if (all || !strcmp(which, "image_unfused")) bench(DF_FUSION_IMAGE, 1, prof);
    return 0;
}
