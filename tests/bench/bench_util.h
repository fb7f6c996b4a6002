/* bench_util.h: what every benchmark needs: a monotonic clock, the median of repeated timings, and the
 * process's peak resident memory. */
#ifndef DF_BENCH_UTIL_H
#define DF_BENCH_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline double bench_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int bench_cmp_double_(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of v[0..n) (sorts v). */
static inline double bench_median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double_);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* The process's peak resident set so far in MB (10^6 bytes), the kernel's VmHWM (what getrusage's ru_maxrss
 * also reports); 0 where /proc/self/status cannot be read. It covers the whole process, so a benchmark that
 * reports it measures one model per process. */
static inline double bench_peak_rss_mb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return 0;
    char line[256];
    double kb = 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0) kb = atof(line + 6);
    fclose(f);
    return kb * 1024 * 1e-6;
}

#endif
