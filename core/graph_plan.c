/* graph_plan.c: the arena's layout, gradients sharing memory by lifetime (see graph_plan.h). */
#include "core/graph_plan.h"

#include <stdlib.h>

static size_t align64(size_t n) { return (n + 63) / 64 * 64; }

void df_graph_loss_path(const df_graph *g, int loss, int *reached, int *first_writer) {
    for (int i = 0; i < g->n_nodes; i++) reached[i] = 0, first_writer[i] = -1;
    if (loss < 0) return;
    reached[loss] = 1;
    /* Consumers come after their producers, so the reverse loop meets a node's consumers first. */
    for (int i = g->n_nodes - 1; i >= 0; i--) {
        const df_node *n = &g->nodes[i];
        if (!reached[i] || !n->requires_grad) continue;
        for (int k = 0; k < n->n_in; k++) {
            int j = n->in[k];
            if (!g->nodes[j].requires_grad) continue;
            reached[j] = 1;
            if (first_writer[j] < 0) first_writer[j] = i;
        }
    }
}

/* A shared gradient: its size and its lifetime in backward steps (node i's backward is step n - 1 - i). */
typedef struct {
    int node;
    size_t bytes, off;
    int first, last;
} grad_slot;

static int larger_first(const void *a, const void *b) {
    const grad_slot *x = a, *y = b;
    if (x->bytes != y->bytes) return x->bytes < y->bytes ? 1 : -1;
    return x->node - y->node; /* the same layout on every run */
}

static int by_offset(const void *a, const void *b) {
    const grad_slot *x = *(grad_slot *const *)a, *y = *(grad_slot *const *)b;
    return (x->off > y->off) - (x->off < y->off);
}

/* Places the slots (largest first, each at the lowest offset clear of the placed slots that are alive at
 * the same time); returns the bytes they span. */
static size_t place_slots(grad_slot *s, int n) {
    qsort(s, (size_t)n, sizeof *s, larger_first);
    grad_slot **live = malloc(sizeof *live * (size_t)(n > 0 ? n : 1));
    DF_ASSERT(live);
    size_t span = 0;
    for (int i = 0; i < n; i++) {
        int m = 0;
        for (int j = 0; j < i; j++)
            if (s[j].first <= s[i].last && s[i].first <= s[j].last) live[m++] = &s[j];
        qsort(live, (size_t)m, sizeof *live, by_offset);
        size_t off = 0;
        for (int j = 0; j < m; j++) {
            if (live[j]->off >= off + s[i].bytes) break;
            size_t end = live[j]->off + live[j]->bytes;
            if (end > off) off = end;
        }
        s[i].off = off;
        if (off + s[i].bytes > span) span = off + s[i].bytes;
    }
    free(live);
    return span;
}

size_t df_graph_plan_arena(const df_graph *g, int loss, df_node_place *place) {
    const int n = g->n_nodes;
    int *reached = df_calloc((size_t)n + 1, sizeof *reached);
    int *first_writer = df_calloc((size_t)n + 1, sizeof *first_writer);
    grad_slot *slots = df_calloc((size_t)n + 1, sizeof *slots);
    df_graph_loss_path(g, loss, reached, first_writer);

    size_t at = 0;
    int n_slots = 0;
    for (int i = 0; i < n; i++) {
        const df_node *nd = &g->nodes[i];
        size_t bytes = align64(df_shape_numel(nd->shape) * sizeof(float));
        df_node_place p = {at, DF_NO_PLACE, 0};
        at += bytes;
        p.saved = at;
        at += align64(nd->saved_bytes);
        if (nd->requires_grad) {
            const int shared = reached[i] && nd->n_in > 0 && !nd->keep_grad;
            if (shared) {
                const int writer = i == loss ? loss : first_writer[i];
                slots[n_slots++] = (grad_slot){i, bytes, 0, n - 1 - writer, n - 1 - i};
            } else {
                p.dout = at;
                at += bytes;
            }
        }
        if (place) place[i] = p;
    }
    size_t span = place_slots(slots, n_slots);
    if (place)
        for (int k = 0; k < n_slots; k++) place[slots[k].node].dout = at + slots[k].off;
    free(reached);
    free(first_writer);
    free(slots);
    return at + span;
}
