/* peak.c: FP32 peak by measurement: each thread runs 24 independent FMA chains (enough to cover the FMA
 * latency on two pipes), so the loop is bound by FMA throughput alone. The ISA variants are compiled
 * with target attributes and called only after a CPU check, so the file needs no ISA flags. */
#include "peak.h"

#include <immintrin.h>
#include <omp.h>
#include <string.h>

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
