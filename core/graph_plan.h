/* graph_plan.h: where df_graph_compile puts each node's buffers in the arena (internal to core/graph*.c).
 *
 * A node's output and what it saves for its backward live from its forward to the end of the backward, so
 * each has a place of its own. A gradient lives only during the backward: from the backward step of its
 * first writer (the consumer with the highest index, backward running in reverse) to its own node's
 * backward step, which reads it last. Gradients whose lifetimes do not overlap share memory: they are
 * placed largest first, each at the lowest offset clear of every placed gradient whose lifetime overlaps
 * its own (intervals closed at both ends, so a node's gradient never shares with those it writes).
 *
 * Kept whole for the entire backward (a place of their own): the gradients of graph inputs (gradient checks
 * read them afterwards), of nodes marked with df_graph_keep_grad (Grad-CAM reads its feature maps'), and of
 * nodes that require a gradient but are not on the loss path (nothing writes them). The loss node's gradient
 * is seeded before the backward starts and lives from the first backward step, as does the gradient of any
 * node df_graph_backward_from starts at: nothing placed over it can be written before that node's backward. */
#ifndef DF_CORE_GRAPH_PLAN_H
#define DF_CORE_GRAPH_PLAN_H

#include <stddef.h>

#include "core/graph.h"

#define DF_NO_PLACE ((size_t)-1)

typedef struct {
    size_t out, dout, saved; /* byte offsets into the arena; dout DF_NO_PLACE without a gradient */
} df_node_place;

/* Which nodes the loss depends on through trainable paths (reached[i]), and for each node the first
 * consumer to write its gradient in the backward (first_writer[i], -1 for none). loss < 0: none reached. */
void df_graph_loss_path(const df_graph *g, int loss, int *reached, int *first_writer);

/* The arena's size in bytes for loss node `loss`, and each node's offsets in place[] when not NULL. */
size_t df_graph_plan_arena(const df_graph *g, int loss, df_node_place *place);

#endif
