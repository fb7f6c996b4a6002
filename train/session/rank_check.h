/* rank_check.h: before the ranks of a data-parallel run train together, that they are the same program with
 * the same resolved config: otherwise they would sum gradients of different models, or wait for each other
 * in different collectives, and hang or train garbage.
 *
 * Collective over the training ranks (df_dist_training). Rank 0 gathers every rank's version and resolved
 * config text and compares them with its own. On a mismatch rank 0 returns -1 with an error naming the first
 * rank that differs and its first differing key with both values; the other ranks then wait in a barrier
 * rank 0 never enters, so that rank 0's message is the job's one message before its failure ends the job
 * (train/cli ends a job when a rank fails). One rank: 0 at once. */
#ifndef DF_RANK_CHECK_H
#define DF_RANK_CHECK_H

#include "core/error.h"
#include "train/config/run_config.h"

int df_rank_check(const df_run_config *cfg, const char *version, df_error *err);

#endif
