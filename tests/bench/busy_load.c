/* busy_load.c: a CPU-bound job to run beside a benchmark, standing in for the other work of a shared
 * workstation (a second training run, a compiler, an indexer): N threads of floating-point work that never
 * synchronise, for S seconds or until killed. scripts/bench_busy.sh runs it beside dermfuse and PyTorch.
 *
 *   busy_load [THREADS (2)] [SECONDS (3600)]
 *
 * Each thread runs 8 independent multiply-add chains on doubles (enough to keep a core's FP pipes busy
 * without touching memory), checking the clock every few million operations. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"

static double seconds;
static volatile double sink;

static void *burn(void *arg) {
    (void)arg;
    double x[8];
    for (int i = 0; i < 8; i++) x[i] = 1.0 + i * 1e-3;
    const double t0 = bench_now();
    while (bench_now() - t0 < seconds)
        for (int r = 0; r < 1 << 18; r++)
            for (int i = 0; i < 8; i++) x[i] = x[i] * 0.999999999 + 1e-9;
    sink = x[0] + x[7];
    return NULL;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    seconds = argc > 2 ? atof(argv[2]) : 3600;
    if (threads < 1 || threads > 256 || !(seconds > 0)) {
        fprintf(stderr, "usage: busy_load [THREADS in 1..256] [SECONDS > 0]\n");
        return 2;
    }
    pthread_t t[256];
    for (int i = 0; i < threads; i++)
        if (pthread_create(&t[i], NULL, burn, NULL) != 0) {
            fprintf(stderr, "busy_load: cannot start thread %d\n", i + 1);
            return 1;
        }
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    return 0;
}
