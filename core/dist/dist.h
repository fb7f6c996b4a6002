/* dist.h: the processes of a job (MPI ranks, started by mpirun or Slurm's srun) and the collectives dermfuse
 * needs, each in a fixed order, so that a result depends on the number of ranks and never on timing: two runs
 * with the same number of ranks give the same bits.
 *
 * Built without MPI (meson -Dmpi=disabled, or no MPI found), or started without mpirun, there is one rank and
 * every collective leaves its input as it is. A communicator is the world or a group split from it (a study
 * whose runs are each data-parallel over K ranks).
 *
 * Sums (df_dist_sum_f32/f64) are bit-identical on every rank and across runs: the vector is cut into one
 * chunk per rank, rank k receives every rank's chunk k and adds them in rank order 0, 1, ..., N-1, then every
 * rank receives every summed chunk. That is a reduce-scatter and an all-gather, the two halves of a ring
 * all-reduce's traffic: 2 (N-1)/N of the vector's bytes through each rank. */
#ifndef DF_DIST_H
#define DF_DIST_H

#include <stddef.h>

typedef struct df_dist df_dist;

/* First thing in main, last thing before returning from it. Init reads no argument; Open MPI's own are
 * handled by mpirun. */
void df_dist_init(int *argc, char ***argv);
void df_dist_finalize(void);

/* Whether this build has MPI ("Open MPI 4.1.4" or "no MPI"), for `dermfuse version`. */
const char *df_dist_library(void);

/* All ranks of the job. */
df_dist *df_dist_world(void);
/* The ranks of d whose colour equals this rank's, ordered as in d; collective over d. Free with
 * df_dist_free (never the world). */
df_dist *df_dist_split(const df_dist *d, int color);
void df_dist_free(df_dist *d);

int df_dist_rank(const df_dist *d);
int df_dist_size(const df_dist *d);

/* The ranks that train one run together: the world, unless a study has split it into groups that each train
 * their own runs (`compare --ranks-per-run K`). Training, evaluation and their file writes follow this. */
const df_dist *df_dist_training(void);
void df_dist_set_training(const df_dist *d);
/* In place, on every rank of d, in rank order (see above). */
void df_dist_sum_f32(const df_dist *d, float *x, size_t n);
void df_dist_sum_f64(const df_dist *d, double *x, size_t n);
/* The smallest / largest of each rank's value, on every rank. */
long df_dist_min_long(const df_dist *d, long x);
long df_dist_max_long(const df_dist *d, long x);
/* root's bytes into every rank's buf. */
void df_dist_bcast(const df_dist *d, void *buf, size_t bytes, int root);
/* Every rank's bytes (sizes may differ), concatenated in rank order, on root: returns a malloc'ed buffer and
 * fills sizes[0..size) there; NULL on the other ranks. */
void *df_dist_gather(const df_dist *d, const void *buf, size_t bytes, int root, size_t *sizes);
void df_dist_barrier(const df_dist *d);

/* With more than one rank in the world: ends every rank of the job with this status (MPI_Abort), after the
 * caller has printed its message. With one rank it returns, and the caller exits as usual. */
void df_dist_fail_job(int status);

#endif
