/* bench_allreduce.c: the time of df_dist_sum_f32 (the gradient all-reduce of data-parallel training) over the
 * ranks this program is started with (`mpirun -np 2 bench_allreduce [FLOATS]...`), for vectors the size of
 * the configured models' gradients (or the float counts given). Rank 0 prints, per size:
 *
 *   BENCH allreduce_<floats> ranks=<N> bytes=<B> seconds=<median> busbw=<GB/s> unit=s
 *
 * busbw = B x 2(N-1)/N / seconds: the bytes each rank sends (and receives) in a reduce-scatter plus
 * all-gather, per second; the figure a link's bandwidth is compared with. Medians of REPS timed sums after
 * WARMUP, each started together (a barrier before each). With one rank the sum is a no-op and busbw 0. */
#include <stdio.h>
#include <stdlib.h>

#include "core/dist/dist.h"
#include "core/error.h"

#include "bench_util.h"

enum { WARMUP = 3, REPS = 21 };

/* Trainable parameters of the configured models (`dermfuse export-init configs/synthetic/<model>.yaml`:
 * meta, image, early, intermediate, gated) and of a ResNet-18 image model (model.backbone=resnet, widths
 * 64..512, depth 2,2,2,2, 2 classes),
 * plus 1 Mi and 16 Mi floats to show the latency and bandwidth ends. */
static const long defaults[] = {3120, 389424, 393456, 392528, 400976, 11177552, 1L << 20, 1L << 24};

int main(int argc, char **argv) {
    df_dist_init(&argc, &argv);
    df_dist *w = df_dist_world();
    int n_sizes = argc > 1 ? argc - 1 : (int)(sizeof defaults / sizeof *defaults), N = df_dist_size(w);
    for (int i = 0; i < n_sizes; i++) {
        long n = argc > 1 ? atol(argv[i + 1]) : defaults[i];
        if (n < 1) {
            fprintf(stderr, "bench_allreduce: '%s' is not a positive float count\n", argv[i + 1]);
            df_dist_finalize();
            return 2;
        }
        float *x = df_malloc((size_t)n * sizeof *x);
        for (long j = 0; j < n; j++) x[j] = (float)(j % 7) * 0.25f;
        double t[REPS];
        for (int r = 0; r < WARMUP + REPS; r++) {
            df_dist_barrier(w);
            double t0 = bench_now();
            df_dist_sum_f32(w, x, (size_t)n);
            if (r >= WARMUP) t[r - WARMUP] = bench_now() - t0;
        }
        double s = bench_median(t, REPS), bytes = 4.0 * (double)n;
        if (df_dist_rank(w) == 0)
            printf("BENCH allreduce_%ld ranks=%d bytes=%.0f seconds=%.6g busbw=%.3g unit=s\n", n, N, bytes, s,
                   bytes * 2.0 * (N - 1) / N / s / 1e9);
        free(x);
    }
    df_dist_finalize();
    return 0;
}
