/* bench_step.c: a whole training step (zero grads, forward, backward, gradient norm, SGD with momentum),
 * batch 32, of these models (train/model/model.c builds them; scripts/torch_models.py is their PyTorch twin):
 *   image            the VGG-style CNN, df_model_spec_default: 4 blocks conv3x3-BN-ReLU-maxpool 32/64/128/256,
 *                    GAP, linear head; 3x128x128
 *   intermediate     the same beside a metadata MLP (16 -> 64 -> 32), intermediate fusion; 3x128x128
 *   image_unfused    `image` built here from the plain ops (below)
 *   resnet18         ResNet-18 (backbone resnet: 7x7/2 stem and 3x3/2 max-pool, basic blocks 2,2,2,2 of
 *                    64/128/256/512 with 1x1/2 projection shortcuts, GAP, linear head); 3x128x128
 *   image_224, intermediate_224, resnet18_224   the same at 3x224x224
 *
 *   BENCH step_<model> ours=<images/s> ref=<images/s> unit=img/s ratio=<ours/ref>
 *
 * `ref` is the figure in the environment variable DF_BENCH_REF_STEP_<MODEL> when set; otherwise the same step
 * with df_sgemm switched to OpenBLAS (same layers, only the GEMM differs). With --no-ref neither: the line is
 * `BENCH step_<model> ours=<images/s> unit=img/s` (scripts/bench_compare.sh takes its ratios itself, so the
 * run holds nothing but dermfuse). Figures are medians of the timed steps after warm-up (--warmup, --steps;
 * by default 2 and 9 at 128 px, 1 and 3 at 224 px, where a step takes seconds on 2 cores).
 *
 * Peak memory: when one model runs, its process's peak RSS (VmHWM) follows, as
 *   BENCH rss_step_<model> ours=<MB> [ref=<MB> unit=MB ratio=<ref/ours>]   (ratio > 1: ours uses less)
 * with ref from DF_BENCH_REF_RSS_STEP_<MODEL>; with several models it is only a comment (one model's peak
 * would mask the next one's).
 *
 * step_image_unfused is the same network built here from the plain ops, conv -> batchnorm -> relu -> maxpool,
 * where train/model/model.c uses one fused batchnorm+ReLU+max-pool node (layers/fused.h): what the fusion saves.
 *
 * DF_PROFILE=1 also prints where a step's time goes: a runner that does what df_train_step does, node by
 * node in the order core/graph.c runs them, timing each op's forward and backward (medians over the
 * profiled steps), then totals per op kind.
 * Usage: bench_step [--warmup N] [--steps N] [--no-ref] [model...|all]   (no model: the four at 128 px) */
#include <ctype.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gemm/gemm.h"
#include "core/wait_policy.h"
#include "core/rng.h"
#include "layers/layers.h"
#include "train/model/model.h"
#include "train/model/step.h"

#include "bench_util.h"
#include "peak.h"

enum { BATCH = 32, META_DIM = 16, PROFILE_STEPS = 5, MAX_STEPS = 1000 };

typedef struct {
    const char *name; /* the figure is step_<name> */
    df_fusion fusion;
    df_backbone backbone;
    int size;    /* square input, pixels */
    int unfused; /* build_unfused instead of df_model_build */
} step_model;

static const step_model models[] = {
    {"image", DF_FUSION_IMAGE, DF_BACKBONE_VGG, 128, 0},
    {"intermediate", DF_FUSION_INTERMEDIATE, DF_BACKBONE_VGG, 128, 0},
    {"image_unfused", DF_FUSION_IMAGE, DF_BACKBONE_VGG, 128, 1},
    {"resnet18", DF_FUSION_IMAGE, DF_BACKBONE_RESNET, 128, 0},
    {"image_224", DF_FUSION_IMAGE, DF_BACKBONE_VGG, 224, 0},
    {"intermediate_224", DF_FUSION_INTERMEDIATE, DF_BACKBONE_VGG, 224, 0},
    {"resnet18_224", DF_FUSION_IMAGE, DF_BACKBONE_RESNET, 224, 0},
};
enum { N_MODELS = sizeof models / sizeof *models, N_DEFAULT = 4 /* the 128-px ones */ };

/* The timing plan, from the command line. */
static int warmup_arg = -1, steps_arg = -1, no_ref;

/* ResNet-18 as torchvision's resnet18 lays it out (an ImageNet stem), with a 2-class head. */
static df_model_spec resnet18_spec(int size) {
    df_model_spec s = df_model_spec_default(DF_FUSION_IMAGE, 2, size, 0);
    s.backbone = DF_BACKBONE_RESNET;
    s.stem_width = 64;
    s.stem_stride = 2;
    for (int i = 0; i < 4; i++) {
        s.widths[i] = 64 << i;
        s.depth[i] = 2;
    }
    return s;
}

/* Random images (and metadata), alternating targets: the step's speed does not depend on the values. */
static void fill_inputs(df_model *m, int size) {
    df_rng r = df_rng_make(7, 1);
    float *img = df_graph_out(m->g, m->image[0]), *t = df_graph_out(m->g, m->target);
    for (size_t i = 0; i < (size_t)BATCH * size * size * 3; i++) img[i] = df_rng_normal(&r);
    if (m->meta >= 0) {
        float *meta = df_graph_out(m->g, m->meta);
        for (int i = 0; i < BATCH * META_DIM; i++) meta[i] = df_rng_normal(&r);
    }
    for (int i = 0; i < BATCH; i++) t[i] = (float)(i % 2);
}

static df_model *build(const step_model *sm) {
    df_model_spec s = sm->backbone == DF_BACKBONE_RESNET
                          ? resnet18_spec(sm->size)
                          : df_model_spec_default(sm->fusion, 2, sm->size, sm->fusion == DF_FUSION_IMAGE ? 0 : META_DIM);
    df_error err;
    df_model *m = df_model_build(&s, BATCH, 1, &err);
    if (!m) {
        fprintf(stderr, "bench_step: %s\n", err.msg);
        exit(1);
    }
    fill_inputs(m, sm->size);
    return m;
}

/* df_model_spec_default's image model from unfused ops: conv -> batchnorm -> relu -> maxpool per stage. */
static df_model *build_unfused(int size) {
    df_model *m = calloc(1, sizeof *m);
    m->spec = df_model_spec_default(DF_FUSION_IMAGE, 2, size, 0);
    df_graph *g = m->g = df_graph_new(BATCH);
    m->image[0] = df_input(g, "input.image0", (df_shape){3, {size, size, 3}}, 0);
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
    fill_inputs(m, size);
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

/* Median images/s of df_train_step over `steps` timed steps after `warmup`. A tiny learning rate keeps many
 * steps from diverging. */
static double step_rate(df_model *m, df_optim *o, int warmup, int steps) {
    double t[MAX_STEPS];
    for (int i = 0; i < warmup; i++) df_train_step(m->g, m->loss, o, 1e-4f, 0);
    for (int i = 0; i < steps; i++) {
        double t0 = omp_get_wtime();
        df_step_result r = df_train_step(m->g, m->loss, o, 1e-4f, 0);
        t[i] = omp_get_wtime() - t0;
        if (!r.finite) {
            fprintf(stderr, "bench_step: the step's loss or gradient is not finite\n");
            exit(1);
        }
    }
    return BATCH / bench_median(t, steps);
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

/* The figure in DF_BENCH_REF_<NAME> (upper case), or 0. */
static double env_ref(const char *name) {
    char var[128], *v = var;
    snprintf(var, sizeof var, "DF_BENCH_REF_%s", name);
    for (; *v; v++) *v = (char)toupper((unsigned char)*v);
    const char *env = getenv(var);
    if (!env || atof(env) <= 0) return 0;
    printf("# ref: %s=%s\n", var, env);
    return atof(env);
}

static void bench(const step_model *sm, int prof) {
    char name[64];
    snprintf(name, sizeof name, "step_%s", sm->name);
    df_model *m = sm->unfused ? build_unfused(sm->size) : build(sm);
    df_optim *o = sgd(m);
    const int big = sm->size > 128;
    const int warmup = warmup_arg >= 0 ? warmup_arg : big ? 1 : 2, steps = steps_arg > 0 ? steps_arg : big ? 3 : 9;
    printf("# %s: %dx%dx3, %zu parameters, %.2f GFLOP per image (forward), %d warm-up and %d timed steps\n", name,
           sm->size, sm->size, df_graph_param_count(m->g), df_graph_flops(m->g) * 1e-9, warmup, steps);
    if (prof) profile(m, o);
    double ours = step_rate(m, o, warmup, steps);
    /* The unfused variant is the same network: it is held to the same reference. */
    double ref = no_ref ? 0 : env_ref(sm->unfused ? "step_image" : name);
    if (!no_ref && ref <= 0) {
        df_gemm_backend keep = df_gemm_get_backend();
        df_gemm_set_backend(DF_GEMM_OPENBLAS);
        ref = step_rate(m, o, warmup, steps);
        df_gemm_set_backend(keep);
        printf("# ref: the same step with df_sgemm on OpenBLAS\n");
    }
    if (no_ref)
        printf("BENCH %s ours=%.2f unit=img/s\n", name, ours);
    else
        printf("BENCH %s ours=%.2f ref=%.2f unit=img/s ratio=%.3f\n", name, ours, ref, ours / ref);
    /* A step as 3x the forward's FLOPs: the backward of each convolution and linear layer is two products of
     * the forward's size (the first layer skips its input gradient, so this slightly overcounts). */
    const double step_gflop = 3 * df_graph_flops(m->g) * 1e-9;
    if (peak_gflops > 0) { /* 0 on a CPU without AVX2: no FMA loop to measure */
        printf("#   at %.2f GFLOP an image a step: ours %.0f GFLOP/s (%.0f%% of the measured peak, %.0f GFLOP/s)",
               step_gflop, ours * step_gflop, 100 * ours * step_gflop / peak_gflops, peak_gflops);
        if (ref > 0) printf(", reference %.0f%%", 100 * ref * step_gflop / peak_gflops);
        printf("\n");
    }
    fflush(stdout);
    df_optim_free(o);
    df_model_free(m);
}

/* The process's peak RSS after the model(s) ran: a BENCH line for one model, a comment for several. */
static void report_rss(const step_model *only) {
    const double mb = bench_peak_rss_mb();
    if (!only) {
        printf("# peak RSS of this process (several models, the largest masks the rest): %.1f MB\n", mb);
        return;
    }
    char name[64];
    snprintf(name, sizeof name, "rss_step_%s", only->name);
    const double ref = no_ref ? 0 : env_ref(name);
    if (ref > 0)
        printf("BENCH %s ours=%.1f ref=%.1f unit=MB ratio=%.3f\n", name, mb, ref, ref / mb);
    else
        printf("BENCH %s ours=%.1f unit=MB\n", name, mb);
}

static int usage(void) {
    fprintf(stderr, "usage: bench_step [--warmup N] [--steps N] [--no-ref] [model...|all]\nmodels:");
    for (int k = 0; k < N_MODELS; k++) fprintf(stderr, " %s", models[k].name);
    fprintf(stderr, "\n");
    return 2;
}

int main(int argc, char **argv) {
    /* The OpenMP wait policy the dermfuse command runs with (core/wait_policy.h). */
    df_wait_policy_apply(argv);
    const char *p = getenv("DF_PROFILE");
    int prof = p && atoi(p) > 0;
    int chosen[N_MODELS] = {0}, n_chosen = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--no-ref")) {
            no_ref = 1;
        } else if (!strcmp(argv[i], "--warmup") && i + 1 < argc) {
            warmup_arg = atoi(argv[++i]);
            if (warmup_arg < 0 || warmup_arg > MAX_STEPS) return usage();
        } else if (!strcmp(argv[i], "--steps") && i + 1 < argc) {
            steps_arg = atoi(argv[++i]);
            if (steps_arg < 1 || steps_arg > MAX_STEPS) return usage();
        } else if (!strcmp(argv[i], "all")) {
            for (int k = 0; k < N_MODELS; k++) n_chosen += !chosen[k], chosen[k] = 1;
        } else {
            int k = 0;
            while (k < N_MODELS && strcmp(argv[i], models[k].name)) k++;
            if (k == N_MODELS) return usage();
            n_chosen += !chosen[k];
            chosen[k] = 1;
        }
    }
    if (!n_chosen)
        for (int k = 0; k < N_DEFAULT; k++) chosen[k] = 1, n_chosen++;
    df_gemm_set_backend(DF_GEMM_AUTO);
    printf("# threads %d, df_sgemm backend %s, batch %d\n", omp_get_max_threads(),
           df_gemm_backend_name(df_gemm_get_backend()), BATCH);
    printf("# openmp waiting: %s\n", df_wait_policy_describe());
    const char *isa;
    peak_gflops = bench_best_peak_gflops(omp_get_max_threads(), &isa);
    printf("# measured FP32 FMA peak (%s) on %d threads: %.1f GFLOP/s\n", isa, omp_get_max_threads(), peak_gflops);
    const step_model *only = NULL;
    for (int k = 0; k < N_MODELS; k++)
        if (chosen[k]) {
            bench(&models[k], prof);
            only = &models[k];
        }
    report_rss(n_chosen == 1 ? only : NULL);
    return 0;
}
