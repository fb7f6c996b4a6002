/* wait_policy.h: how dermfuse's OpenMP threads wait between and inside parallel regions.
 *
 * libgomp's default is to spin for a while (GOMP_SPINCOUNT, 300,000 iterations of a pause loop: from well
 * under a millisecond to tens of milliseconds, depending on how long the CPU's pause instruction takes)
 * before sleeping. Alone on a machine that is free; on a shared one it is what made a training step collapse:
 * when one of a team's threads is preempted by another process, its partner spins at the next barrier
 * through its whole time slice, and a step has dozens of barriers. Sleeping at once (OMP_WAIT_POLICY=passive)
 * cured that, but then every parallel region starts by waking its threads, which costs more than a short
 * region's work: back-to-back 256^3 sgemm calls ran no faster on 2 threads than on 1. dermfuse's commands
 * therefore spin for about 200 us, then sleep: short against a time slice (milliseconds), long against the
 * gap between two regions and against the imbalance at a region's closing barrier. libgomp counts its spin
 * in iterations of a pause loop, whose length differs 50-fold between CPUs (a few cycles on Zen 1, ~25 ns on
 * Zen 3, ~140 cycles on Intel since Skylake), so the count is the 200 us divided by one iteration's time,
 * measured at start (a 2000-iteration loop, fastest of 5).
 * Measured on 2 threads of a Zen 3 VM (pause loop ~25 ns): back-to-back 256^3 sgemm ran 54-57 GFLOP/s with a
 * 1000-iteration spin (~25 us) and 118-138 with 6000-8100 (150-200 us; 2000 and 4000 were not enough), 512^3
 * 92-125 against 128-133 when threads never sleep; the 28-px fusion recipe alone and beside a 2-thread
 * CPU-bound job was level (scripts/bench_busy.sh --rounds 1, 2 interleaved runs of each: 8,780-9,580 img/s
 * alone and 4,670-5,430 loaded at 200 us, 8,670-10,400 and 4,740-5,540 at 1000 iterations), as were the VGG and
 * ResNet-18 steps (bench_step). An earlier default of 1000 iterations had been measured on a Zen 1 VM against
 * sleeping at once: 256^3 sgemm 36-39 -> 70 GFLOP/s, the 28-px recipe 2520-2737 -> 2731-2764 img/s loaded and
 * 6207-6969 -> 6716-7468 alone. A policy the user chose with OMP_WAIT_POLICY or GOMP_SPINCOUNT is left as it is.
 *
 * libgomp reads these variables once, when it is loaded, before main runs; so the policy is set by
 * re-executing the program with the variable in its environment. That happens once, first thing in main,
 * before any thread, file or MPI state exists (the process keeps its pid, so launchers such as mpirun
 * still track it). */
#ifndef DF_CORE_WAIT_POLICY_H
#define DF_CORE_WAIT_POLICY_H

/* What the program's threads do at a barrier, read from its environment. */
typedef enum {
    DF_WAIT_PASSIVE, /* OMP_WAIT_POLICY=passive: sleep at once */
    DF_WAIT_ACTIVE,  /* OMP_WAIT_POLICY=active: spin, never sleep */
    DF_WAIT_SPIN,    /* GOMP_SPINCOUNT set: spin that many iterations, then sleep (dermfuse's default: ~200 us) */
    DF_WAIT_DEFAULT, /* neither set: libgomp's own default */
} df_wait_policy;

/* Re-executes the program with GOMP_SPINCOUNT set to about 200 us of spinning when neither OMP_WAIT_POLICY nor
 * GOMP_SPINCOUNT is set; returns only when nothing had to change, or when the re-execution failed (the program
 * then goes on with libgomp's default, which is slower on a busy machine but correct). Call first thing in main. */
void df_wait_policy_apply(char **argv);

/* The spin count dermfuse sets where one iteration of the wait loop takes pause_ns nanoseconds: about 200 us
 * of them, at least 1000 and at most 1,000,000 (the most where pause_ns is not a positive number). */
long df_wait_spin_count(double pause_ns);

/* The policy in effect, and a phrase describing it ("spin 8108 iterations (about 200 us on this CPU), then sleep
 * (dermfuse's default; ...)"). */
df_wait_policy df_wait_policy_current(void);
const char *df_wait_policy_describe(void);

#endif
