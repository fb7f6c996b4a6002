/* bn_precise.c: see bn_precise.h. */
#include "layers/bn_precise.h"

#include <stdlib.h>

#include "layers/bn_sync.h"

/* One batch norm's moments so far: n rows, their mean and sum of squared deviations, per channel. */
typedef struct {
    int C;        /* 0: the node has not been seen */
    double n;
    double *mean, *m2;
} moments;

struct df_bn_precise {
    int n_nodes;
    moments *m; /* [n_nodes], by node index */
};

void df_bn_precise_begin(df_graph *g) {
    DF_ASSERT(!g->bn_precise);
    struct df_bn_precise *p = df_calloc(1, sizeof *p);
    p->n_nodes = g->n_nodes;
    p->m = df_calloc((size_t)g->n_nodes + 1, sizeof *p->m);
    g->bn_precise = p;
}

void df_bn_precise_add(struct df_bn_precise *p, int node, size_t rows, int C, const double *mean,
                       const double *var) {
    DF_ASSERT(node >= 0 && node < p->n_nodes);
    moments *m = &p->m[node];
    if (!m->C) {
        m->C = C;
        m->mean = df_calloc(2 * (size_t)C, sizeof(double));
        m->m2 = m->mean + C;
    }
    DF_ASSERT(m->C == C);
    if (!rows) return;
    /* Chan et al.'s merge of (n_a, mean_a, M2_a) with (n_b, mean_b, n_b var_b) */
    double na = m->n, nb = (double)rows, n = na + nb;
    for (int c = 0; c < C; c++) {
        double delta = mean[c] - m->mean[c];
        m->mean[c] += delta * nb / n;
        m->m2[c] += nb * var[c] + delta * delta * na * nb / n;
    }
    m->n = n;
}

void df_bn_precise_end(df_graph *g, const df_dist *ranks) {
    struct df_bn_precise *p = g->bn_precise;
    DF_ASSERT(p);
    g->bn_precise = NULL;
    for (int i = 0; i < p->n_nodes; i++) {
        moments *m = &p->m[i];
        if (!m->C) continue;
        int C = m->C;
        double *var = m->m2, *tmp = df_malloc((2 * (size_t)C + 1) * sizeof(double));
        for (int c = 0; c < C; c++) var[c] = m->n > 0 ? m->m2[c] / m->n : 0.0; /* biased */
        double total = m->n;
        if (df_bn_synced(ranks)) total = (double)df_bn_sync_stats(ranks, (size_t)m->n, C, m->mean, var, tmp);
        free(tmp);
        if (total > 0) {
            df_node *n = &g->nodes[i];
            float *rmean = df_node_param(g, n, 2), *rvar = df_node_param(g, n, 3);
            for (int c = 0; c < C; c++) {
                rmean[c] = (float)m->mean[c];
                rvar[c] = (float)(total > 1 ? var[c] * total / (total - 1) : var[c]);
            }
        }
        free(m->mean);
    }
    free(p->m);
    free(p);
}
