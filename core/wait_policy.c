/* wait_policy.c: dermfuse's OpenMP wait policy (see wait_policy.h). */
#include "core/wait_policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* How long a waiting thread spins before it sleeps, when dermfuse chooses (wait_policy.h). */
#define SPIN_US 200
/* Bounds of the spin count: libgomp's throttled count below, a spin that stays short where a pause
 * instruction is very cheap above. */
#define SPIN_MIN 1000
#define SPIN_MAX 1000000
/* Iterations per timing of the wait loop, and timings (the fastest counts: a preempted one is longer). */
#define PAUSE_ITERS 2000
#define PAUSE_TRIALS 5
/* Set together with GOMP_SPINCOUNT when dermfuse chose the policy itself, to the spin's length in
 * microseconds: it tells the re-executed program (and the commands it describes itself with) that the choice
 * was not the user's, and it stops a second re-execution should the first one's variable not take. */
#define CHOSEN_HERE "DF_WAIT_POLICY_DEFAULTED"
/* Longest path of the program re-executed (Linux's PATH_MAX). */
#define SELF_MAX 4096

long df_wait_spin_count(double pause_ns) {
    if (!(pause_ns > 0)) return SPIN_MAX;
    const double n = SPIN_US * 1000.0 / pause_ns;
    return n < SPIN_MIN ? SPIN_MIN : n > SPIN_MAX ? SPIN_MAX : (long)(n + 0.5);
}

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

/* Nanoseconds of one iteration of a wait loop like libgomp's: read a flag, then pause. */
static double pause_loop_ns(void) {
    static volatile int flag;
    double best = 0;
    for (int trial = 0; trial < PAUSE_TRIALS; trial++) {
        const double t0 = now_ns();
        for (int i = 0; i < PAUSE_ITERS && !flag; i++) __builtin_ia32_pause();
        const double ns = (now_ns() - t0) / PAUSE_ITERS;
        if (trial == 0 || ns < best) best = ns;
    }
    return best;
}

void df_wait_policy_apply(char **argv) {
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT") || getenv(CHOSEN_HERE)) return;
    char self[SELF_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0 || (size_t)n >= sizeof self - 1) return;
    self[n] = '\0';
    char count[32], us[16];
    snprintf(count, sizeof count, "%ld", df_wait_spin_count(pause_loop_ns()));
    snprintf(us, sizeof us, "%d", SPIN_US);
    if (setenv("GOMP_SPINCOUNT", count, 1) != 0 || setenv(CHOSEN_HERE, us, 1) != 0) return;
    fflush(NULL);
    execv(self, argv);
    /* Still here: the program goes on under libgomp's default, which it has already read. */
    unsetenv("GOMP_SPINCOUNT");
    unsetenv(CHOSEN_HERE);
}

df_wait_policy df_wait_policy_current(void) {
    const char *p = getenv("OMP_WAIT_POLICY");
    if (p && !strcasecmp(p, "passive")) return DF_WAIT_PASSIVE;
    if (p && !strcasecmp(p, "active")) return DF_WAIT_ACTIVE;
    if (getenv("GOMP_SPINCOUNT")) return DF_WAIT_SPIN;
    return DF_WAIT_DEFAULT;
}

const char *df_wait_policy_describe(void) {
    static char text[200];
    switch (df_wait_policy_current()) {
    case DF_WAIT_PASSIVE: return "passive: threads sleep at once (OMP_WAIT_POLICY)";
    case DF_WAIT_ACTIVE: return "active: threads spin at barriers (OMP_WAIT_POLICY)";
    case DF_WAIT_SPIN:
        if (getenv(CHOSEN_HERE))
            snprintf(text, sizeof text,
                     "spin %.20s iterations (about %.8s us on this CPU), then sleep (dermfuse's default; "
                     "OMP_WAIT_POLICY=passive to sleep at once, =active to spin)",
                     getenv("GOMP_SPINCOUNT"), getenv(CHOSEN_HERE));
        else
            snprintf(text, sizeof text, "spin %.40s iterations, then sleep (GOMP_SPINCOUNT)", getenv("GOMP_SPINCOUNT"));
        return text;
    default: return "libgomp's default: spin, then sleep";
    }
}
