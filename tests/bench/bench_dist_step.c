/* bench_dist_step.c: the data-parallel training step (train/model/step.h) of the VGG-style intermediate-fusion
 * model (df_model_spec_default: 4 stages conv3x3-BN-ReLU-maxpool 32/64/128/256 beside a metadata MLP; 3x128x128,
 * global batch 32) on this machine's cores used as ranks or as threads.
 *
 * Usage (tests/bench/bench_dist.sh runs all three):
 *   bench_dist_step local             one process over the whole batch with OMP_NUM_THREADS threads: prints
 *                                      its median images/s
 *   mpirun -np N bench_dist_step ranks REF_THREADS REF_ONE
 *                                      N ranks each over its part of the batch (sync batch norm, the gradient
 *                                      sum once per step); rank 0 prints
 *   BENCH dist_step_<N>ranks ours=<img/s> ref=<REF_THREADS: 1 rank x N threads> unit=img/s ratio=<ours/ref>
 *   BENCH dist_allreduce_share ours=<% of the step in the gradient sum> ref=100 unit=% ratio=<share>
 *   BENCH dist_scaling_<N>ranks ours=<img/s> ref=<N x REF_ONE: N x 1 rank x 1 thread> unit=img/s
 *         ratio=<scaling efficiency>
 * Figures are medians over STEPS timed steps after WARMUP. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dist/dist.h"
#include "core/rng.h"
#include "train/model/model.h"
#include "train/model/step.h"

#include "bench_util.h"

enum { BATCH = 32, SIZE = 128, META_DIM = 16, WARMUP = 2, STEPS = 9 };

/* The model over samples [first, first + n) of one fixed global batch. */
static df_model *build(int first, int n) {
    df_model_spec s = df_model_spec_default(DF_FUSION_INTERMEDIATE, 2, SIZE, META_DIM);
    df_error err;
    df_model *m = df_model_build(&s, n, 1, &err);
    if (!m) {
        fprintf(stderr, "bench_dist_step: %s\n", err.msg);
        exit(1);
    }
    float *img = df_graph_out(m->g, m->image[0]), *meta = df_graph_out(m->g, m->meta);
    float *t = df_graph_out(m->g, m->target);
    size_t per = (size_t)SIZE * SIZE * 3;
    for (int i = 0; i < n; i++) {
        df_rng r = df_rng_make(7, (uint64_t)(first + i)); /* a sample's values do not depend on the ranks */
        for (size_t j = 0; j < per; j++) img[(size_t)i * per + j] = df_rng_normal(&r);
        for (int j = 0; j < META_DIM; j++) meta[i * META_DIM + j] = df_rng_normal(&r);
        t[i] = (float)((first + i) % 2);
    }
    m->g->sample_offset = first;
    return m;
}

static df_optim *sgd(df_model *m) {
    df_optim_config oc = df_optim_defaults(DF_OPTIM_SGD);
    oc.momentum = 0.9f;
    df_error err;
    df_optim *o = df_optim_new(m->g, &oc, &err);
    if (!o) {
        fprintf(stderr, "bench_dist_step: %s\n", err.msg);
        exit(1);
    }
    return o;
}

/* Median seconds of a step, and the median share of it in the gradient sum. */
static double step_seconds(df_model *m, df_optim *o, const df_dist *ranks, double *sum_share) {
    double t[STEPS], share[STEPS];
    for (int i = 0; i < WARMUP + STEPS; i++) {
        if (ranks) df_dist_barrier(ranks); /* every rank starts the step together */
        double t0 = omp_get_wtime();
        df_step_result r = df_train_step_ranks(m->g, m->loss, o, 1e-4f, 0, ranks);
        double dt = omp_get_wtime() - t0;
        if (!r.finite) {
            fprintf(stderr, "bench_dist_step: the step's loss or gradient is not finite\n");
            exit(1);
        }
        if (i < WARMUP) continue;
        t[i - WARMUP] = dt;
        share[i - WARMUP] = r.sum_seconds / dt;
    }
    *sum_share = bench_median(share, STEPS);
    return bench_median(t, STEPS);
}

int main(int argc, char **argv) {
    df_dist_init(&argc, &argv);
    df_dist *w = df_dist_world();
    int N = df_dist_size(w), me = df_dist_rank(w), status = 0;
    if (argc == 2 && strcmp(argv[1], "local") == 0) {
        df_model *m = build(0, BATCH);
        df_optim *o = sgd(m);
        double share;
        printf("%.2f\n", BATCH / step_seconds(m, o, NULL, &share));
        df_optim_free(o);
        df_model_free(m);
    } else if (argc == 4 && strcmp(argv[1], "ranks") == 0) {
        double ref_threads = atof(argv[2]), ref_one = atof(argv[3]);
        int first = BATCH * me / N, n = BATCH * (me + 1) / N - first;
        df_model *m = build(first, n);
        m->g->dist = w;
        df_optim *o = sgd(m);
        double share, s = step_seconds(m, o, w, &share);
        double worst = (double)df_dist_max_long(w, (long)(s * 1e9)) * 1e-9; /* the step ends with its slowest rank */
        double ours = BATCH / worst;
        if (me == 0) {
            printf("BENCH dist_step_%dranks ours=%.1f ref=%.1f unit=img/s ratio=%.3f\n", N, ours, ref_threads,
                   ours / ref_threads);
            printf("BENCH dist_allreduce_share ours=%.1f ref=100 unit=%% ratio=%.3f\n", 100 * share, share);
            printf("BENCH dist_scaling_%dranks ours=%.1f ref=%.1f unit=img/s ratio=%.3f\n", N, ours, N * ref_one,
                   ours / (N * ref_one));
        }
        df_optim_free(o);
        df_model_free(m);
    } else {
        fprintf(stderr, "usage: bench_dist_step local | bench_dist_step ranks REF_THREADS REF_ONE\n");
        status = 2;
    }
    df_dist_finalize();
    return status;
}
