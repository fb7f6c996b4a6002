/* dist_single.c: dist.h for a build without MPI: one rank, and every collective leaves its input as it is. */
#include "core/dist/dist.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

struct df_dist {
    int unused;
};

static df_dist world;

void df_dist_init(int *argc, char ***argv) { (void)argc, (void)argv; }
void df_dist_finalize(void) {}
const char *df_dist_library(void) { return "no MPI"; }
df_dist *df_dist_world(void) { return &world; }

df_dist *df_dist_split(const df_dist *d, int color) {
    (void)d, (void)color;
    return df_calloc(1, sizeof(df_dist));
}

void df_dist_free(df_dist *d) {
    if (d != &world) free(d);
}

static const df_dist *training = &world;
const df_dist *df_dist_training(void) { return training; }
void df_dist_set_training(const df_dist *d) { training = d ? d : &world; }

int df_dist_rank(const df_dist *d) { return (void)d, 0; }
int df_dist_size(const df_dist *d) { return (void)d, 1; }
void df_dist_sum_f32(const df_dist *d, float *x, size_t n) { (void)d, (void)x, (void)n; }
void df_dist_sum_f64(const df_dist *d, double *x, size_t n) { (void)d, (void)x, (void)n; }
long df_dist_min_long(const df_dist *d, long x) { return (void)d, x; }
long df_dist_max_long(const df_dist *d, long x) { return (void)d, x; }
void df_dist_bcast(const df_dist *d, void *buf, size_t bytes, int root) { (void)d, (void)buf, (void)bytes, (void)root; }

void *df_dist_gather(const df_dist *d, const void *buf, size_t bytes, int root, size_t *sizes) {
    (void)d, (void)root;
    sizes[0] = bytes;
    void *out = df_malloc(bytes ? bytes : 1);
    if (bytes) memcpy(out, buf, bytes);
    return out;
}

void df_dist_barrier(const df_dist *d) { (void)d; }
void df_dist_fail_job(int status) { (void)status; }
