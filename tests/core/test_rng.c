/* test_rng.c: counter-based streams are reproducible, random-access, independent per purpose, and
 * roughly uniform; shuffles are permutations. */
#include <stdlib.h>

#include "check.h"
#include "core/rng.h"

int main(void) {
    df_rng a = df_rng_make(5, DF_STREAM_INIT), b = df_rng_make(5, DF_STREAM_INIT);
    df_rng c = df_rng_make(5, DF_STREAM_SHUFFLE), d = df_rng_make(6, DF_STREAM_INIT);
    int same_ab = 1, same_ac = 0, same_ad = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = df_rng_u64(&a);
        same_ab &= x == df_rng_u64(&b);
        same_ac += x == df_rng_u64(&c);
        same_ad += x == df_rng_u64(&d);
        CHECK(x == df_rng_at(a.key, (uint64_t)i)); /* random access equals sequential draws */
    }
    CHECK(same_ab);
    CHECK(same_ac == 0 && same_ad == 0);

    /* Uniform [0,1): mean 0.5, variance 1/12, within 5 standard errors for 100k draws. */
    df_rng r = df_rng_make(1, 2);
    double sum = 0, sumsq = 0, nsum = 0, nsumsq = 0;
    int n = 100000, in_range = 1;
    for (int i = 0; i < n; i++) {
        float u = df_rng_uniform(&r);
        in_range &= u >= 0.0f && u < 1.0f;
        sum += u;
        sumsq += (double)u * u;
        float z = df_rng_normal(&r);
        nsum += z;
        nsumsq += (double)z * z;
    }
    CHECK(in_range);
    CHECK_CLOSE(sum / n, 0.5, 5 * 0.2887 / 316.2, 0);
    CHECK_CLOSE(sumsq / n - (sum / n) * (sum / n), 1.0 / 12, 0.002, 0);
    CHECK_CLOSE(nsum / n, 0.0, 5.0 / 316.2, 0);
    CHECK_CLOSE(nsumsq / n, 1.0, 0.03, 0);

    int idx[50], seen[50] = {0};
    for (int i = 0; i < 50; i++) idx[i] = i;
    df_rng_shuffle(&r, idx, 50);
    int moved = 0;
    for (int i = 0; i < 50; i++) {
        seen[idx[i]]++;
        moved += idx[i] != i;
    }
    int perm = 1;
    for (int i = 0; i < 50; i++) perm &= seen[i] == 1;
    CHECK(perm);
    CHECK(moved > 25);
    int below_ok = 1;
    for (int i = 0; i < 1000; i++) below_ok &= df_rng_below(&r, 7) < 7;
    CHECK(below_ok);
    return check_report();
}
