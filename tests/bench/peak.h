/* peak.h: this machine's measured ceilings, which benchmarks report their share of: FP32 FMA throughput for
 * compute-bound kernels, memory bandwidth for memory-bound ones. */
#ifndef DF_BENCH_PEAK_H
#define DF_BENCH_PEAK_H

/* GFLOP/s (an FMA counts 2) of a loop of independent FMA chains on `threads` OpenMP threads; `isa` is
 * "avx512" or "avx2". Returns 0 if this CPU lacks the ISA. Takes about a quarter of a second. */
double bench_peak_gflops(const char *isa, int threads);

/* The best FMA peak this CPU runs: AVX-512 where it has it, else AVX2 (0 without either); *isa names it. */
double bench_best_peak_gflops(int threads, const char **isa);

/* Memory bandwidth in GB/s of a STREAM-style triad a[i] = b[i] + s * c[i] on `threads` OpenMP threads, over
 * arrays far larger than the caches, counting 12 bytes per element (two reads and a write, as STREAM does);
 * best of 5 passes. Takes about half a second. */
double bench_triad_gbs(int threads);

#endif
