/* wait_policy.h: how dermfuse's OpenMP threads wait between and inside parallel regions.
 *
 * libgomp's default is to spin for a while (GOMP_SPINCOUNT, 300,000 iterations of a pause loop: from well
 * under a millisecond to tens of milliseconds, depending on how long the CPU's pause instruction takes)
 * before sleeping. Alone on a machine that is free; on a shared one it is what made a training step collapse:
 * when one of a team's threads is preempted by another process, its partner spins at the next barrier
 * through its whole time slice, and a step has dozens of barriers. Sleeping at once (OMP_WAIT_POLICY=passive)
 * cured that, but then every parallel region starts by waking its threads, which costs more than a short
 * region's work: back-to-back 256^3 sgemm calls ran no faster on 2 threads than on 1. dermfuse's commands
 * therefore spin briefly, then sleep: GOMP_SPINCOUNT=1000, a few microseconds where pause is short (Zen 1) and
 * some tens where it takes ~140 cycles (Intel since Skylake), short against a time slice, long against the gap
 * between two regions. Measured on 2 threads of a Zen 1 VM against sleeping at once: 256^3 sgemm 36-39 ->
 * 70 GFLOP/s; the 28-px fusion recipe beside a 2-thread CPU-bound job (scripts/bench_busy.sh --rounds 1, 3
 * runs sleeping at once and 2 spinning, interleaved) 2520-2737 -> 2731-2764 img/s loaded and 6207-6969 ->
 * 6716-7468 alone; the VGG and ResNet-18 steps (bench_step) and the narrow VGG's training unchanged within
 * the VM's noise. On a Zen 3 VM (pause ~26 ns, so 1000 iterations spin ~26 us) back-to-back 256^3 calls need
 * about 150 us of spin to keep both threads busy (54-57 GFLOP/s at 1000 iterations, 118-138 at 6000-7200), but
 * a training run does not gain from it and its image loader loses: the 28-px recipe ran 12,600 img/s alone at 1000
 * and 9,180 at 7216 (spinning threads take the cores its decoding threads need), 5,460 against 4,170 loaded
 * (scripts/bench_busy.sh --rounds 2 --epochs 3), and the VGG and ResNet-18 steps were level (bench_step, 2
 * interleaved runs). A policy the user chose with OMP_WAIT_POLICY or GOMP_SPINCOUNT is left as it is.
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
    DF_WAIT_SPIN,    /* GOMP_SPINCOUNT set: spin that many iterations, then sleep (dermfuse's default: 1000) */
    DF_WAIT_DEFAULT, /* neither set: libgomp's own default */
} df_wait_policy;

/* Re-executes the program with GOMP_SPINCOUNT=1000 when neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT is set;
 * returns only when nothing had to change, or when the re-execution failed (the program then goes on with
 * libgomp's default, which is slower on a busy machine but correct). Call first thing in main. */
void df_wait_policy_apply(char **argv);

/* The policy in effect, and a phrase describing it ("spin 1000 iterations, then sleep (dermfuse's default; ...)"). */
df_wait_policy df_wait_policy_current(void);
const char *df_wait_policy_describe(void);

#endif
