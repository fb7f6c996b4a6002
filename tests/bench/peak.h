/* peak.h: measured FP32 FMA throughput of this machine, the ceiling benchmarks report their share of. */
#ifndef DF_BENCH_PEAK_H
#define DF_BENCH_PEAK_H

/* GFLOP/s (an FMA counts 2) of a loop of independent FMA chains on `threads` OpenMP threads; `isa` is
 * "avx512" or "avx2". Returns 0 if this CPU lacks the ISA. Takes about a quarter of a second. */
double bench_peak_gflops(const char *isa, int threads);

#endif
