/* bn_precise.h: batch-norm running statistics recomputed with the weights as they are ("precise BN").
 *
 * The running statistics that training keeps are an exponential average over the last steps' batches, each
 * taken with the weights of its own step; after a few fast steps they lag the weights that are saved. Between
 * df_bn_precise_begin and df_bn_precise_end every training-mode forward of g's batch norms hands its batch's
 * per-channel moments here (the rows this process holds, before any sync over ranks) and leaves the running
 * statistics alone. The end sets each batch norm's running mean to the mean of every row it saw, over all
 * batches and all ranks, and its running variance to their unbiased variance (n / (n - 1) times the biased
 * one, as the training update uses), both as if every row had been one batch: a plain average, not momentum.
 *
 * Moments are merged in double: batch after batch on each rank (count, mean, and the sum of squared
 * deviations from the mean, merged by the pairwise formula, so no raw sum of squares cancels), then over the
 * ranks through bn_sync.h's combination, in rank order, so every rank gets the same bits. */
#ifndef DF_LAYERS_BN_PRECISE_H
#define DF_LAYERS_BN_PRECISE_H

#include <stddef.h>

#include "core/dist/dist.h"
#include "core/graph.h"

/* Starts collecting into a new accumulator attached to g (g->bn_precise, which must be NULL). */
void df_bn_precise_begin(df_graph *g);

/* Writes the running statistics of every batch norm that saw rows on some rank (one that saw none keeps
 * its own), frees the accumulator and detaches it. Collective over `ranks` (NULL: this process alone), which
 * must have run the same forwards. */
void df_bn_precise_end(df_graph *g, const df_dist *ranks);

/* Called by batch norm's training forward: node `node`, C channels, this process's `rows` rows with biased
 * moments mean and var (ignored when rows is 0). */
void df_bn_precise_add(struct df_bn_precise *p, int node, size_t rows, int C, const double *mean,
                       const double *var);

#endif
