/* bench_gemm.c: df_sgemm (the AUTO backend) against OpenBLAS's cblas_sgemm, 1 and 2 threads, on squares
 * and on the GEMM shapes of a VGG-style network's 3x3 convolutions. One line per comparison:
 *   BENCH gemm_<shape>_t<threads> ours=<GFLOP/s> ref=<GFLOP/s> unit=GFLOP/s ratio=<ours/ref>
 * Figures are medians over 15 samples after a warm-up, ours and OpenBLAS in alternating rounds so that
 * the VM's noise hits both alike. The header names the OpenBLAS kernel set, which OpenBLAS picks at load time from
 * OPENBLAS_CORETYPE: scripts/bench_gemm.sh runs this twice, with and without it.
 * Usage: bench_gemm [NAME]   (NAME: only the shapes whose name contains it, e.g. conv or sq1024) */
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/gemm/gemm.h"
#include "core/wait_policy.h"
#include "peak.h"

#include "bench_util.h"

enum { ROUNDS = 5, PER_ROUND = 3 };

typedef struct {
    const char *name;
    int M, K, N;
} shape;

static const shape shapes[] = {
    {"sq256", 256, 256, 256},
    {"sq512", 512, 512, 512},
    {"sq1024", 1024, 1024, 1024},
    {"sq2048", 2048, 2048, 2048},
    /* conv3x3 as C[cout, n*h*w] = W[cout, cin*9] x im2col[cin*9, n*h*w], batch 8 */
    {"conv_m64_k576_n25088", 64, 576, 25088},
    {"conv_m128_k1152_n6272", 128, 1152, 6272},
    {"conv_m256_k2304_n1568", 256, 2304, 1568},
    {"conv_m512_k4608_n392", 512, 4608, 392},
};

static void run(int openblas, const shape *s, const float *A, const float *B, float *C) {
    if (openblas)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->M, s->N, s->K, 1.0f, A, s->K, B, s->N,
                    0.0f, C, s->N);
    else
        df_sgemm(0, 0, s->M, s->N, s->K, 1.0f, A, s->K, B, s->N, 0.0f, C, s->N);
}


/* Median GFLOP/s of ours (out[0]) and OpenBLAS (out[1]). Each sample repeats the call to last >= 20 ms.
 * The two are measured in alternating rounds rather than alternating calls, with a pause before each
 * round: after a call, both libgomp's and OpenBLAS's worker threads spin-wait for a while, and on two
 * cores the other library's spinning threads would otherwise steal the cores (we measured 2-thread
 * 256^3 at a tenth of its speed that way). */
static void measure(const shape *s, const float *A, const float *B, float *C, double out[2]) {
    const double flops = 2.0 * s->M * s->N * s->K;
    const struct timespec pause = {0, 200 * 1000 * 1000};
    double t0 = omp_get_wtime();
    for (int w = 0; w < 2; w++) run(0, s, A, B, C);
    const int calls = (int)(0.02 / ((omp_get_wtime() - t0) / 2)) + 1;
    double g[2][ROUNDS * PER_ROUND];
    for (int r = 0; r < ROUNDS; r++)
        for (int which = 0; which < 2; which++) {
            nanosleep(&pause, NULL);
            run(which, s, A, B, C); /* warm-up: caches, and the packing buffers on first use */
            for (int i = 0; i < PER_ROUND; i++) {
                double t = omp_get_wtime();
                for (int c = 0; c < calls; c++) run(which, s, A, B, C);
                g[which][r * PER_ROUND + i] = flops * calls / (omp_get_wtime() - t) * 1e-9;
            }
        }
    out[0] = bench_median(g[0], ROUNDS * PER_ROUND);
    out[1] = bench_median(g[1], ROUNDS * PER_ROUND);
}

int main(int argc, char **argv) {
    /* The OpenMP wait policy the dermfuse command runs with (core/wait_policy.h). */
    df_wait_policy_apply(argv);
    const char *coretype = getenv("OPENBLAS_CORETYPE");
    df_gemm_set_backend(DF_GEMM_AUTO);
    printf("# df_sgemm backend: %s\n", df_gemm_backend_name(df_gemm_get_backend()));
    printf("# openmp waiting: %s\n", df_wait_policy_describe());
    printf("# openblas: core %s, OPENBLAS_CORETYPE=%s, config: %s\n", openblas_get_corename(),
           coretype ? coretype : "(unset)", openblas_get_config());
    double peak[2][2];
    for (int t = 1; t <= 2; t++) {
        peak[0][t - 1] = bench_peak_gflops("avx512", t);
        peak[1][t - 1] = bench_peak_gflops("avx2", t);
        printf("# measured FP32 FMA peak, %d thread%s: avx512 %.1f GFLOP/s, avx2 %.1f GFLOP/s\n", t,
               t > 1 ? "s" : "", peak[0][t - 1], peak[1][t - 1]);
    }
    int isa = df_gemm_get_backend() == DF_GEMM_AVX512 ? 0 : 1;
    srand(1);
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const shape *s = &shapes[i];
        if (argc > 1 && !strstr(s->name, argv[1])) continue;
        float *A = malloc(sizeof(float) * (size_t)s->M * s->K), *B = malloc(sizeof(float) * (size_t)s->K * s->N);
        float *C = malloc(sizeof(float) * (size_t)s->M * s->N);
        for (size_t j = 0; j < (size_t)s->M * s->K; j++) A[j] = (float)rand() / RAND_MAX - 0.5f;
        for (size_t j = 0; j < (size_t)s->K * s->N; j++) B[j] = (float)rand() / RAND_MAX - 0.5f;
        for (int t = 1; t <= 2; t++) {
            omp_set_num_threads(t);
            openblas_set_num_threads(t);
            double g[2];
            measure(s, A, B, C, g);
            printf("BENCH gemm_%s_t%d ours=%.1f ref=%.1f unit=GFLOP/s ratio=%.3f\n", s->name, t, g[0], g[1],
                   g[0] / g[1]);
            printf("#   share of measured %s peak (%.0f): ours %.0f%%, openblas %.0f%%\n", isa ? "avx2" : "avx512",
                   peak[isa][t - 1], 100 * g[0] / peak[isa][t - 1], 100 * g[1] / peak[isa][t - 1]);
            fflush(stdout);
        }
        free(A);
        free(B);
        free(C);
    }
    return 0;
}
