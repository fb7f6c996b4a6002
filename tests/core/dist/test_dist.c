/* test_dist.c: the collectives of core/dist on the ranks it is started with (1 directly, 2 under mpirun):
 * sums equal, bit for bit, the sum in rank order of every rank's vector (whose terms are chosen so that
 * another order would round differently), for lengths that do not divide into the ranks and for fewer
 * elements than ranks; min and max; broadcast from the last rank; gather of unequal sizes in rank order;
 * split groups and the training communicator.
 *
 * Usage: test_dist EXPECTED_RANKS. Exits 77 (skipped) when more ranks are expected and the build has no MPI. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/dist/dist.h"

/* Rank r's element i: large and small magnitudes mixed, so that float addition is not associative here. */
static float term32(int r, size_t i) {
    float big = (float)((i * 7919u + (unsigned)r * 104729u) % 1000u) * 1.0e4f;
    float small = (float)((i * 31u + (unsigned)r * 17u) % 97u) * 1.0e-3f + 0.1f;
    return (r + i) % 2 ? big + small : -big + small;
}

static double term64(int r, size_t i) { return (double)term32(r, i) * (1.0 + 1e-9 * (double)r); }

static void check_sums(const df_dist *d, size_t n) {
    int N = df_dist_size(d), me = df_dist_rank(d);
    float *x = malloc(sizeof(float) * (n ? n : 1)), *want = malloc(sizeof(float) * (n ? n : 1));
    double *y = malloc(sizeof(double) * (n ? n : 1)), *want64 = malloc(sizeof(double) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) {
        x[i] = term32(me, i);
        y[i] = term64(me, i);
        want[i] = term32(0, i);
        want64[i] = term64(0, i);
        for (int r = 1; r < N; r++) {
            want[i] += term32(r, i);
            want64[i] += term64(r, i);
        }
    }
    df_dist_sum_f32(d, x, n);
    df_dist_sum_f64(d, y, n);
    CHECK_MSG(n == 0 || memcmp(x, want, sizeof(float) * n) == 0, "f32 sum of %zu on %d ranks in rank order", n, N);
    CHECK_MSG(n == 0 || memcmp(y, want64, sizeof(double) * n) == 0, "f64 sum of %zu on %d ranks", n, N);
    free(x);
    free(want);
    free(y);
    free(want64);
}

int main(int argc, char **argv) {
    df_dist_init(&argc, &argv);
    int expected = argc > 1 ? atoi(argv[1]) : 1;
    df_dist *w = df_dist_world();
    int N = df_dist_size(w), me = df_dist_rank(w);
    if (expected > 1 && strcmp(df_dist_library(), "no MPI") == 0) {
        df_dist_finalize();
        return 77;
    }
    CHECK_MSG(N == expected, "%d ranks, expected %d", N, expected);
    CHECK(me >= 0 && me < N);
    CHECK(df_dist_training() == w);

    size_t lengths[] = {0, 1, 2, 3, 1001, 4099};
    for (size_t k = 0; k < sizeof lengths / sizeof *lengths; k++) check_sums(w, lengths[k]);
    /* the same bits on every rank: rank 0's result broadcast and compared */
    float v[5];
    for (int i = 0; i < 5; i++) v[i] = term32(me, (size_t)i);
    df_dist_sum_f32(w, v, 5);
    float v0[5];
    memcpy(v0, v, sizeof v);
    df_dist_bcast(w, v0, sizeof v0, 0);
    CHECK(memcmp(v, v0, sizeof v) == 0);

    CHECK(df_dist_min_long(w, 10 + me) == 10);
    CHECK(df_dist_max_long(w, 10 + me) == 10 + N - 1);
    CHECK(df_dist_min_long(w, -5L * me) == -5L * (N - 1));

    char msg[32];
    snprintf(msg, sizeof msg, "from rank %d", me);
    df_dist_bcast(w, msg, sizeof msg, N - 1);
    char want_msg[32];
    snprintf(want_msg, sizeof want_msg, "from rank %d", N - 1);
    CHECK(strcmp(msg, want_msg) == 0);

    /* rank r sends r + 1 bytes of value r (rank 0 one byte, ...) */
    unsigned char mine[16];
    memset(mine, me, sizeof mine);
    size_t sizes[16] = {0};
    unsigned char *all = df_dist_gather(w, mine, (size_t)me + 1, 0, sizes);
    if (me == 0) {
        CHECK(all != NULL);
        size_t at = 0;
        for (int r = 0; r < N; r++) {
            CHECK_MSG(sizes[r] == (size_t)r + 1, "gather: rank %d sent %zu bytes", r, sizes[r]);
            for (size_t j = 0; j < sizes[r]; j++) CHECK(all[at + j] == r);
            at += sizes[r];
        }
    } else {
        CHECK(all == NULL);
    }
    free(all);
    /* an empty contribution */
    all = df_dist_gather(w, mine, me == 0 ? 0 : 3, 0, sizes);
    if (me == 0) CHECK(sizes[0] == 0 && (N == 1 || sizes[1] == 3));
    free(all);

    /* groups of even and odd ranks: each sums over itself only */
    df_dist *g = df_dist_split(w, me % 2);
    int gn = df_dist_size(g);
    CHECK(gn == (N + 1 - me % 2) / 2);
    CHECK(df_dist_rank(g) == me / 2);
    double one = 1.0;
    df_dist_sum_f64(g, &one, 1);
    CHECK(one == (double)gn);
    check_sums(g, 7);
    df_dist_set_training(g);
    CHECK(df_dist_training() == g);
    df_dist_set_training(w);
    CHECK(df_dist_training() == w);
    df_dist_free(g);
    df_dist_barrier(w);

    int failures = check_report();
    /* every rank's verdict: a failure on rank 1 fails the test too */
    long worst = df_dist_max_long(w, failures);
    df_dist_finalize();
    return worst ? 1 : 0;
}
