/* bn_sync.h: batch-norm statistics over the whole batch of a data-parallel step, where each rank holds a
 * slice of it (sync batch norm). Internal to layers/.
 *
 * The ranks' moments are combined in two sums in double: first the counts and count-weighted means give the
 * global mean M; then each rank adds n_r (var_r + (mean_r - M)^2), its rows' squared deviations from M, so
 * no sum of squares of raw values cancels when the mean is large against the spread. A rank with no rows
 * adds zeros. The sums run in rank order (dist.h), so every rank gets the same bits. */
#ifndef DF_LAYERS_BN_SYNC_H
#define DF_LAYERS_BN_SYNC_H

#include <stddef.h>

#include "core/dist/dist.h"

/* Whether g's batch norms reduce over several ranks. */
int df_bn_synced(const df_dist *d);

/* mean, var (C each): this rank's moments over `rows` rows in, the whole batch's out; returns the batch's
 * rows. tmp holds 2 C + 1 doubles. */
size_t df_bn_sync_stats(const df_dist *d, size_t rows, int C, double *mean, double *var, double *tmp);

/* sg, sgc (C each): this rank's gradient sums in, the whole batch's out; returns the batch's rows. tmp holds
 * 2 C + 1 doubles. */
size_t df_bn_sync_grad_sums(const df_dist *d, size_t rows, int C, double *sg, double *sgc, double *tmp);

#endif
