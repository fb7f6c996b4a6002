/* summary.c: the per-layer table printed when a model is built (shapes, parameters, FLOPs). */
#include <string.h>

#include "core/graph.h"

size_t df_graph_param_count(const df_graph *g) {
    size_t n = 0;
    for (int i = 0; i < g->n_tensors; i++)
        if (g->tensors[i].kind == DF_PARAM) n += g->tensors[i].numel;
    return n;
}

double df_graph_flops(const df_graph *g) {
    double f = 0;
    for (int i = 0; i < g->n_nodes; i++) f += g->nodes[i].op->flops(g, &g->nodes[i]);
    return f;
}

static size_t node_params(const df_graph *g, const df_node *n) {
    size_t count = 0;
    for (int k = 0; k < n->n_params; k++)
        if (g->tensors[n->param[k]].kind == DF_PARAM) count += g->tensors[n->param[k]].numel;
    return count;
}

void df_graph_summary(const df_graph *g, FILE *f) {
    fprintf(f, "%-34s %-12s %-20s %12s %12s\n", "layer", "op", "output (B=batch)", "params", "MFLOP/img");
    for (int i = 0; i < g->n_nodes; i++) {
        const df_node *n = &g->nodes[i];
        /* The batch dimension reads "B"; a scalar (the loss) has none. */
        int batched = n->shape.d[0] == g->max_batch && df_shape_numel(n->shape) != 1;
        char shape[64];
        size_t used = batched ? (size_t)snprintf(shape, sizeof shape, "(B")
                              : (size_t)snprintf(shape, sizeof shape, "(%d", n->shape.d[0]);
        for (int d = 1; d < n->shape.rank; d++)
            used += (size_t)snprintf(shape + used, sizeof shape - used, ", %d", n->shape.d[d]);
        snprintf(shape + used, sizeof shape - used, ")");
        fprintf(f, "%-34s %-12s %-20s %12zu %12.2f\n", n->name, n->op->name, shape, node_params(g, n),
                n->op->flops(g, n) / 1e6);
    }
    fprintf(f, "total: %zu parameters, %.1f MFLOP forward per image (~3x that per training step)\n",
            df_graph_param_count(g), df_graph_flops(g) / 1e6);
}
