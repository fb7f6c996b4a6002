/* rng.c: the non-inline parts of rng.h. */
#include "core/rng.h"

#include <math.h>

float df_rng_normal(df_rng *r) {
    /* u1 in (0, 1] so the log is finite. */
    double u1 = ((double)(df_rng_u64(r) >> 11) + 1.0) * (1.0 / 9007199254740992.0);
    double u2 = (double)(df_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

void df_rng_shuffle(df_rng *r, int *idx, int n) {
    for (int i = n - 1; i > 0; i--) {
        int j = (int)df_rng_below(r, (uint32_t)i + 1);
        int t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}
