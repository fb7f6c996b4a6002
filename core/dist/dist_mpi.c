/* dist_mpi.c: dist.h over MPI, initialised only in a process a launcher started as a rank (below); any other
 * process is one rank, as with dist_single.c. The process calls MPI from its main thread only
 * (MPI_THREAD_FUNNELED): OpenMP threads and the loader's threads never do. Vectors are reduced in segments of
 * at most SEGMENT elements so that every MPI count fits in an int, whatever the size of the model. */
#include "core/dist/dist.h"

#include <limits.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

#define SEGMENT ((size_t)1 << 26)

struct df_dist {
    MPI_Comm comm;
    int rank, size;
};

static df_dist world = {MPI_COMM_NULL, 0, 1};
static char library[MPI_MAX_LIBRARY_VERSION_STRING];

/* Whether a launcher started this process as a rank: Open MPI's mpirun, or a PMI/PMIx launcher (Slurm's srun,
 * MPICH's hydra). Otherwise MPI is not initialised at all: a singleton MPI_Init costs a few tenths of a second,
 * which every quick command (limits, config-keys, inspect) would pay for nothing. */
static int launched_as_rank(void) {
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", NULL};
    for (int i = 0; vars[i]; i++)
        if (getenv(vars[i])) return 1;
    return 0;
}

void df_dist_init(int *argc, char ***argv) {
    if (!launched_as_rank()) return;
    int provided;
    MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
    world.comm = MPI_COMM_WORLD;
    MPI_Comm_rank(world.comm, &world.rank);
    MPI_Comm_size(world.comm, &world.size);
}

void df_dist_finalize(void) {
    int started, done;
    MPI_Initialized(&started);
    MPI_Finalized(&done);
    if (started && !done) MPI_Finalize();
}

const char *df_dist_library(void) {
    int len = 0;
    MPI_Get_library_version(library, &len);
    library[strcspn(library, ",\n")] = '\0'; /* "Open MPI v4.1.4" without the build details */
    return library;
}

df_dist *df_dist_world(void) { return &world; }

df_dist *df_dist_split(const df_dist *d, int color) {
    df_dist *s = df_calloc(1, sizeof *s);
    if (d->size == 1) { /* also the world of a process no launcher started, where MPI is not initialised */
        *s = (df_dist){MPI_COMM_NULL, 0, 1};
        return s;
    }
    MPI_Comm_split(d->comm, color, d->rank, &s->comm);
    MPI_Comm_rank(s->comm, &s->rank);
    MPI_Comm_size(s->comm, &s->size);
    return s;
}

void df_dist_free(df_dist *d) {
    if (!d || d == &world) return;
    if (d->comm != MPI_COMM_NULL) MPI_Comm_free(&d->comm);
    free(d);
}

static const df_dist *training = &world;
const df_dist *df_dist_training(void) { return training; }
void df_dist_set_training(const df_dist *d) { training = d ? d : &world; }

int df_dist_rank(const df_dist *d) { return d->rank; }
int df_dist_size(const df_dist *d) { return d->size; }

/* One segment of m <= SEGMENT elements of `elem` bytes: reduce-scatter by chunks with an ordered sum, then
 * all-gather. add(acc, x, n) adds n elements of x into acc. */
static void sum_segment(const df_dist *d, void *x, int m, MPI_Datatype type, size_t elem,
                        void (*add)(void *acc, const void *x, int n)) {
    int N = d->size, r = d->rank;
    int *counts = df_malloc(4 * (size_t)N * sizeof *counts), *displs = counts + N, *rc = displs + N, *rd = rc + N;
    for (int k = 0, at = 0; k < N; k++) {
        counts[k] = m / N + (k < m % N);
        displs[k] = at;
        at += counts[k];
    }
    for (int j = 0; j < N; j++) rc[j] = counts[r], rd[j] = j * counts[r];
    unsigned char *tmp = df_malloc((size_t)N * (size_t)counts[r] * elem + 1);
    MPI_Alltoallv(x, counts, displs, type, tmp, rc, rd, type, d->comm);
    unsigned char *mine = (unsigned char *)x + (size_t)displs[r] * elem;
    memcpy(mine, tmp, (size_t)counts[r] * elem);
    for (int j = 1; j < N; j++) add(mine, tmp + (size_t)j * (size_t)counts[r] * elem, counts[r]);
    MPI_Allgatherv(MPI_IN_PLACE, 0, type, x, counts, displs, type, d->comm);
    free(tmp);
    free(counts);
}

static void add_f32(void *acc, const void *x, int n) {
    float *a = acc;
    const float *b = x;
    for (int i = 0; i < n; i++) a[i] += b[i];
}

static void add_f64(void *acc, const void *x, int n) {
    double *a = acc;
    const double *b = x;
    for (int i = 0; i < n; i++) a[i] += b[i];
}

void df_dist_sum_f32(const df_dist *d, float *x, size_t n) {
    if (d->size == 1) return;
    for (size_t at = 0; at < n; at += SEGMENT)
        sum_segment(d, x + at, (int)(n - at < SEGMENT ? n - at : SEGMENT), MPI_FLOAT, sizeof *x, add_f32);
}

void df_dist_sum_f64(const df_dist *d, double *x, size_t n) {
    if (d->size == 1) return;
    for (size_t at = 0; at < n; at += SEGMENT)
        sum_segment(d, x + at, (int)(n - at < SEGMENT ? n - at : SEGMENT), MPI_DOUBLE, sizeof *x, add_f64);
}

long df_dist_min_long(const df_dist *d, long x) {
    long out = x;
    if (d->size > 1) MPI_Allreduce(&x, &out, 1, MPI_LONG, MPI_MIN, d->comm);
    return out;
}

long df_dist_max_long(const df_dist *d, long x) {
    long out = x;
    if (d->size > 1) MPI_Allreduce(&x, &out, 1, MPI_LONG, MPI_MAX, d->comm);
    return out;
}

void df_dist_bcast(const df_dist *d, void *buf, size_t bytes, int root) {
    for (size_t at = 0; d->size > 1 && at < bytes; at += SEGMENT)
        MPI_Bcast((char *)buf + at, (int)(bytes - at < SEGMENT ? bytes - at : SEGMENT), MPI_BYTE, root, d->comm);
}

void *df_dist_gather(const df_dist *d, const void *buf, size_t bytes, int root, size_t *sizes) {
    int N = d->size;
    if (N == 1) {
        sizes[0] = bytes;
        void *out = df_malloc(bytes ? bytes : 1);
        if (bytes) memcpy(out, buf, bytes);
        return out;
    }
    long mine = (long)bytes, *all = df_malloc((size_t)N * sizeof *all);
    MPI_Gather(&mine, 1, MPI_LONG, all, 1, MPI_LONG, root, d->comm);
    unsigned char *out = NULL;
    if (d->rank == root) {
        size_t total = 0;
        for (int k = 0; k < N; k++) total += sizes[k] = (size_t)all[k];
        out = df_malloc(total ? total : 1);
        size_t at = 0;
        for (int k = 0; k < N; k++) {
            if (k == root) {
                memcpy(out + at, buf, bytes);
            } else {
                for (size_t got = 0; got < sizes[k]; got += SEGMENT)
                    MPI_Recv(out + at + got, (int)(sizes[k] - got < SEGMENT ? sizes[k] - got : SEGMENT), MPI_BYTE,
                             k, 0, d->comm, MPI_STATUS_IGNORE);
            }
            at += sizes[k];
        }
    } else {
        for (size_t sent = 0; sent < bytes; sent += SEGMENT)
            MPI_Send((const char *)buf + sent, (int)(bytes - sent < SEGMENT ? bytes - sent : SEGMENT), MPI_BYTE,
                     root, 0, d->comm);
    }
    free(all);
    return out;
}

void df_dist_barrier(const df_dist *d) {
    if (d->size > 1) MPI_Barrier(d->comm);
}

void df_dist_fail_job(int status) {
    if (world.size > 1) MPI_Abort(MPI_COMM_WORLD, status);
}
