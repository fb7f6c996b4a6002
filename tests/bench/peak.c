/* peak.c: FP32 peak by measurement: each thread runs 24 independent FMA chains (enough to cover the FMA
 * latency on two pipes), so the loop is bound by FMA throughput alone. The ISA variants are compiled
 * with target attributes and called only after a CPU check, so the file needs no ISA flags. */
#include "peak.h"

#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

enum { CHAINS = 24, ITERS = 1 << 22 };

static volatile float peak_sink;

__attribute__((target("avx512f"))) static float fma_loop_avx512(float seed) {
    __m512 acc[CHAINS], m = _mm512_set1_ps(0.999999f), x = _mm512_set1_ps(seed);
    for (int c = 0; c < CHAINS; c++) acc[c] = _mm512_set1_ps(seed + (float)c);
    for (int i = 0; i < ITERS; i++)
#pragma GCC unroll 24
        for (int c = 0; c < CHAINS; c++) acc[c] = _mm512_fmadd_ps(acc[c], m, x);
    float sum = 0.0f;
    for (int c = 0; c < CHAINS; c++) sum += _mm512_reduce_add_ps(acc[c]);
    return sum;
}

__attribute__((target("avx2,fma"))) static float fma_loop_avx2(float seed) {
    __m256 acc[CHAINS / 2], m = _mm256_set1_ps(0.999999f), x = _mm256_set1_ps(seed);
    /* 12 chains: with 16 ymm registers 24 would spill. */
    for (int c = 0; c < CHAINS / 2; c++) acc[c] = _mm256_set1_ps(seed + (float)c);
    for (int i = 0; i < ITERS; i++)
#pragma GCC unroll 12
        for (int c = 0; c < CHAINS / 2; c++) acc[c] = _mm256_fmadd_ps(acc[c], m, x);
    float out[8], sum = 0.0f;
    for (int c = 0; c < CHAINS / 2; c++) {
        _mm256_storeu_ps(out, acc[c]);
        for (int j = 0; j < 8; j++) sum += out[j];
    }
    return sum;
}

double bench_peak_gflops(const char *isa, int threads) {
    __builtin_cpu_init();
    int avx512 = strcmp(isa, "avx512") == 0;
    if (avx512 ? !__builtin_cpu_supports("avx512f")
               : !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")))
        return 0.0;
    double flops_per_thread = 2.0 * ITERS * (avx512 ? CHAINS * 16 : CHAINS / 2 * 8);
    double best = 0.0;
    float sink = 0.0f;
    for (int rep = 0; rep < 5; rep++) { /* best of 5: the VM's neighbours only ever slow us down */
        double t0 = omp_get_wtime();
#pragma omp parallel num_threads(threads)
        {
            float s = avx512 ? fma_loop_avx512(1.0f) : fma_loop_avx2(1.0f);
#pragma omp atomic
            sink += s;
        }
        double g = flops_per_thread * threads / (omp_get_wtime() - t0) * 1e-9;
        if (g > best) best = g;
    }
    peak_sink = sink; /* keeps the loops' results alive */
    return best;
}

double bench_best_peak_gflops(int threads, const char **isa) {
    double g = bench_peak_gflops("avx512", threads);
    *isa = "avx512";
    if (g == 0.0) {
        g = bench_peak_gflops("avx2", threads);
        *isa = g > 0.0 ? "avx2" : "none";
    }
    return g;
}

/* 3 arrays of 32 Mi floats: 384 MiB, far beyond any L3. */
#define TRIAD_N ((size_t)32 << 20)

double bench_triad_gbs(int threads) {
    const size_t bytes = TRIAD_N * sizeof(float);
    float *a = aligned_alloc(2 << 20, bytes), *b = aligned_alloc(2 << 20, bytes);
    float *c = aligned_alloc(2 << 20, bytes);
    if (!a || !b || !c) {
        fprintf(stderr, "bench_triad_gbs: cannot allocate 3 x %zu MiB\n", bytes >> 20);
        exit(1);
    }
    /* Huge pages where the kernel gives them: 4 KiB first touches would be most of one pass. */
    madvise(a, bytes, MADV_HUGEPAGE), madvise(b, bytes, MADV_HUGEPAGE), madvise(c, bytes, MADV_HUGEPAGE);
    /* First touch by the threads that use each part, untimed. */
#pragma omp parallel for num_threads(threads) schedule(static)
    for (size_t i = 0; i < TRIAD_N; i++) a[i] = 0.0f, b[i] = 1.0f, c[i] = 2.0f;
    const float s = 0.5f;
    double best = 0.0;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = omp_get_wtime();
#pragma omp parallel for num_threads(threads) schedule(static)
        for (size_t i = 0; i < TRIAD_N; i++) a[i] = b[i] + s * c[i];
        double g = 3.0 * bytes / (omp_get_wtime() - t0) * 1e-9;
        if (g > best) best = g;
    }
    peak_sink = a[TRIAD_N / 2];
    free(a), free(b), free(c);
    return best;
}
