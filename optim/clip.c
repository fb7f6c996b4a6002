/* clip.c: gradient-norm clipping and the non-finite gradient check (see optim.h).
 *
 * Determinism: the trainable gradients are cut into fixed chunks (CHUNK floats, never crossing a tensor
 * boundary); each chunk's sum of squares is computed in double by one thread, and the chunk sums are added
 * in chunk order. Which thread takes which chunk therefore cannot change the result. Chunks are handled in
 * batches of BATCH so the partial sums fit on the stack: nothing is allocated. */
#include <math.h>

#include "optim/optim.h"

#define CHUNK 2048
#define BATCH 512

typedef struct {
    const float *x;
    long n;
} chunk;

static double chunk_sumsq(const float *x, long n) {
    /* Four accumulators let the loop pipeline; the order is fixed, so the sum is reproducible. */
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    long j = 0;
    for (; j + 4 <= n; j += 4) {
        s0 += (double)x[j] * x[j];
        s1 += (double)x[j + 1] * x[j + 1];
        s2 += (double)x[j + 2] * x[j + 2];
        s3 += (double)x[j + 3] * x[j + 3];
    }
    for (; j < n; j++) s0 += (double)x[j] * x[j];
    return (s0 + s1) + (s2 + s3);
}

static double sum_batch(const chunk *c, int n_chunks) {
    double part[BATCH];
#pragma omp parallel for schedule(static)
    for (int k = 0; k < n_chunks; k++) part[k] = chunk_sumsq(c[k].x, c[k].n);
    double s = 0.0;
    for (int k = 0; k < n_chunks; k++) s += part[k];
    return s;
}

static int trainable(const df_tensor_info *t) { return t->kind == DF_PARAM && !t->frozen; }

float df_clip_grad_norm(df_graph *g, float max_norm) {
    chunk c[BATCH];
    int n_chunks = 0;
    double total = 0.0;
    for (int i = 0; i < g->n_tensors; i++) {
        const df_tensor_info *t = &g->tensors[i];
        if (!trainable(t)) continue;
        const float *x = g->grads + t->offset;
        for (size_t j = 0; j < t->numel; j += CHUNK) {
            size_t left = t->numel - j;
            c[n_chunks].x = x + j;
            c[n_chunks].n = (long)(left < CHUNK ? left : CHUNK);
            if (++n_chunks == BATCH) {
                total += sum_batch(c, n_chunks);
                n_chunks = 0;
            }
        }
    }
    if (n_chunks) total += sum_batch(c, n_chunks);
    double norm = sqrt(total);

    if (max_norm > 0.0f && isfinite(norm) && norm > (double)max_norm) {
        const float scale = (float)((double)max_norm / (norm + 1e-6));
#pragma omp parallel
        for (int i = 0; i < g->n_tensors; i++) {
            const df_tensor_info *t = &g->tensors[i];
            if (!trainable(t)) continue;
            float *x = g->grads + t->offset;
            const long n = (long)t->numel;
#pragma omp for schedule(static) nowait
            for (long j = 0; j < n; j++) x[j] *= scale;
        }
    }
    return (float)norm;
}

int df_grads_finite(const df_graph *g, int *bad_tensor) {
    for (int i = 0; i < g->n_tensors; i++) {
        const df_tensor_info *t = &g->tensors[i];
        if (!trainable(t)) continue;
        const float *x = g->grads + t->offset;
        const long n = (long)t->numel;
        int bad = 0;
#pragma omp parallel for reduction(| : bad) schedule(static) if (n > 65536)
        for (long j = 0; j < n; j++) bad |= !isfinite(x[j]);
        if (bad) {
            if (bad_tensor) *bad_tensor = i;
            return 0;
        }
    }
    return 1;
}
