/* wait_policy.h: how dermfuse's OpenMP threads wait between and inside parallel regions.
 *
 * libgomp's default is to spin for a while (GOMP_SPINCOUNT, 300,000 iterations of a pause loop: from well
 * under a millisecond to tens of milliseconds, depending on how long the CPU's pause instruction takes)
 * before sleeping. Alone on a machine that is free; on a shared one it is what made a training step collapse:
 * when one of a team's threads is preempted by another process, its partner spins at the next barrier
 * through its whole time slice, and a step has dozens of barriers. dermfuse's commands therefore wait
 * passively (a thread that has nothing to do sleeps at once, handing its core to whoever needs it), unless
 * the user chose otherwise with OMP_WAIT_POLICY or GOMP_SPINCOUNT, which are left as they are.
 *
 * libgomp reads these variables once, when it is loaded, before main runs; so the policy is set by
 * re-executing the program with the variable in its environment. That happens once, first thing in main,
 * before any thread, file or MPI state exists (the process keeps its pid, so launchers such as mpirun
 * still track it). */
#ifndef DF_CORE_WAIT_POLICY_H
#define DF_CORE_WAIT_POLICY_H

/* What the program's threads do at a barrier, read from its environment. */
typedef enum {
    DF_WAIT_PASSIVE, /* OMP_WAIT_POLICY=passive (dermfuse's default) */
    DF_WAIT_ACTIVE,  /* OMP_WAIT_POLICY=active: spin, never sleep */
    DF_WAIT_SPIN,    /* GOMP_SPINCOUNT set: spin that many iterations, then sleep */
    DF_WAIT_DEFAULT, /* neither set: libgomp's own default */
} df_wait_policy;

/* Re-executes the program with OMP_WAIT_POLICY=passive when neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT is
 * set; returns only when nothing had to change, or when the re-execution failed (the program then goes on
 * with libgomp's default, which is slower on a busy machine but correct). Call first thing in main. */
void df_wait_policy_apply(char **argv);

/* The policy in effect, and a phrase describing it ("passive (dermfuse's default)"). */
df_wait_policy df_wait_policy_current(void);
const char *df_wait_policy_describe(void);

#endif
