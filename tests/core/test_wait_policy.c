/* test_wait_policy.c: the spin count dermfuse sets for a measured wait-loop time (core/wait_policy.h):
 * about 200 us of iterations, within its bounds. The re-execution itself is tested through the command
 * (tests/train/cli/test_wait_policy.py). */
#include <math.h>
#include <stdio.h>

#include "check.h"
#include "core/wait_policy.h"

int main(void) {
    static const struct {
        double pause_ns;
        long want;
    } cases[] = {
        {25.0, 8000},     /* Zen 3 */
        {40.0, 5000},     /* Intel since Skylake: ~140 cycles */
        {3.0, 66667},     /* a short pause (Zen 1): rounded to the nearest iteration */
        {500.0, 1000},    /* slower than any pause: the floor */
        {0.1, 1000000},   /* faster than any pause: the ceiling */
        {0.0, 1000000},   /* a clock that did not move */
        {-1.0, 1000000},  /* nor one that went back */
        {NAN, 1000000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const long got = df_wait_spin_count(cases[i].pause_ns);
        CHECK_MSG(got == cases[i].want, "pause loop of %g ns: spin count %ld, not %ld", cases[i].pause_ns, got,
                  cases[i].want);
    }
    return check_report();
}
