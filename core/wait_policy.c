/* wait_policy.c: dermfuse's OpenMP wait policy (see wait_policy.h). */
#include "core/wait_policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

/* The spin count dermfuse chooses (wait_policy.h). */
#define DEFAULT_SPINCOUNT "1000"
/* Set together with GOMP_SPINCOUNT when dermfuse chose the policy itself: it tells the re-executed program
 * (and the commands it describes itself with) that the choice was not the user's, and it stops a second
 * re-execution should the first one's variable not take. */
#define CHOSEN_HERE "DF_WAIT_POLICY_DEFAULTED"
/* Longest path of the program re-executed (Linux's PATH_MAX). */
#define SELF_MAX 4096

void df_wait_policy_apply(char **argv) {
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT") || getenv(CHOSEN_HERE)) return;
    char self[SELF_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0 || (size_t)n >= sizeof self - 1) return;
    self[n] = '\0';
    if (setenv("GOMP_SPINCOUNT", DEFAULT_SPINCOUNT, 1) != 0 || setenv(CHOSEN_HERE, "1", 1) != 0) return;
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
    static char text[160];
    switch (df_wait_policy_current()) {
    case DF_WAIT_PASSIVE: return "passive: threads sleep at once (OMP_WAIT_POLICY)";
    case DF_WAIT_ACTIVE: return "active: threads spin at barriers (OMP_WAIT_POLICY)";
    case DF_WAIT_SPIN:
        snprintf(text, sizeof text, "spin %.40s iterations, then sleep (%s)", getenv("GOMP_SPINCOUNT"),
                 getenv(CHOSEN_HERE) ? "dermfuse's default; OMP_WAIT_POLICY=passive to sleep at once, =active to spin"
                                     : "GOMP_SPINCOUNT");
        return text;
    default: return "libgomp's default: spin, then sleep";
    }
}
