/* study_dist.c: a study over the ranks of a job (`mpirun -np N dermfuse compare STUDY.yaml
 * [--ranks-per-run K]`). With one rank it is the sequential study of study_run.c, unchanged.
 *
 * With N ranks the world is split into N/K groups of K consecutive ranks (group g: ranks gK .. gK+K-1), and
 * each group trains whole runs on its own communicator (df_dist_set_training): with K = 1 every run is an
 * ordinary single-process run, with K > 1 the training is data-parallel over the group. The runs are dealt
 * out in df_study_run_order, phase by phase: the i-th run of a phase goes to group i mod (N/K). Phase 0 holds
 * every model but late fusion, phase 1 late fusion, which may reuse phase 0's image and metadata runs of its
 * seed; a barrier of all ranks separates the phases, so those runs are finished (on whichever group) before
 * any late-fusion run starts, and nothing waits on a run that has not been dealt out. Since the deal depends
 * only on the study and N/K, a restarted job deals the same runs to the same groups, and each run is skipped
 * when finished and resumed when interrupted, as with one rank.
 *
 * After the last phase, rank 0 alone (on a communicator of its own) evaluates and analyses every run from its
 * folder, exactly as a one-rank study restarted after training would, and writes results.md, results.csv,
 * analysis.csv, gradcam/ and report.html; the other ranks wait for it at a final barrier. A run folder is
 * written only by the leader of the group that trains it (within a group, train/session writes on the
 * group's rank 0 only); so rank 0 reads the runs of every group from the file system, which the ranks must
 * share (out_dir on NFS or the like across machines); a run that is not there is an error naming it.
 *
 * Every rank checks that its study is rank 0's (name, folders, config, models, seeds): ranks started with
 * different study files would deal different runs. A failing rank returns its error; the command line then
 * ends the job (df_dist_fail_job), so ranks waiting for it at a barrier do not wait forever. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dist/dist.h"
#include "train/study/study.h"

/* FNV-1a over the fields that decide the deal and where runs are written, each ended by a NUL. */
static uint64_t study_hash(const df_study_cfg *st, int k) {
    uint64_t h = 1469598103934665603ull;
    char num[32];
    const char *fields[3 + DF_STUDY_MAX_MODELS];
    int n = 0;
    fields[n++] = st->name;
    fields[n++] = st->out_dir;
    fields[n++] = st->config;
    for (int m = 0; m < st->n_models; m++) fields[n++] = st->models[m];
    for (int i = 0; i < n + st->n_seeds + 2; i++) {
        const char *f = i < n ? fields[i] : num;
        if (i >= n)
            snprintf(num, sizeof num, "%ld", i - n < st->n_seeds ? st->seeds[i - n] : i - n == st->n_seeds ? (long)k
                                                                                                      : st->folds);
        for (const unsigned char *c = (const unsigned char *)f;; c++) {
            h = (h ^ *c) * 1099511628211ull;
            if (!*c) break;
        }
    }
    return h;
}

/* The phases of the study on this rank's group: its share of each phase, then a barrier of the world. */
static int train_share(const df_study_cfg *st, const df_study_opts *opts, int group, int n_groups, df_error *err) {
    int n = st->n_models * df_study_n_reps(st);
    int *order = df_malloc(2 * (size_t)n * sizeof *order), *phase = order + n, rc = 0;
    df_study_run_order(st, order, phase);
    for (int p = 0; p < 2 && rc == 0; p++) {
        for (int i = 0, j = 0; i < n && rc == 0; i++) {
            if (phase[i] != p) continue;
            if (j++ % n_groups == group)
                rc = df_study_run_one(st, order[i], opts, DF_STUDY_TRAIN, NULL, NULL, err);
        }
        if (rc == 0) df_dist_barrier(df_dist_world());
    }
    free(order);
    return rc;
}

/* Rank 0's summary of the deal, so that the one printed log says which group trains what. */
static void print_deal(const df_study_cfg *st, int n_groups, int k) {
    int n = st->n_models * df_study_n_reps(st);
    int *order = df_malloc(2 * (size_t)n * sizeof *order), *phase = order + n;
    df_study_run_order(st, order, phase);
    printf("study %s on %d ranks: %d group%s of %d rank%s, each training its own runs; rank 0 prints its own "
           "group's progress, then evaluates every run\n",
           st->name, n_groups * k, n_groups, n_groups > 1 ? "s" : "", k, k > 1 ? "s" : "");
    for (int p = 0; p < 2; p++)
        for (int i = 0, j = 0; i < n; i++) {
            if (phase[i] != p) continue;
            int g = j++ % n_groups;
            char what[64];
            printf("  %s, %s: ranks %d-%d\n", st->models[order[i] % st->n_models],
                   df_study_rep_name(st, order[i] / st->n_models, what, sizeof what), g * k, g * k + k - 1);
        }
    fflush(stdout);
    free(order);
}

int df_study_compare(const df_study_cfg *st, const df_study_opts *opts, df_error *err) {
    df_dist *world = df_dist_world();
    int N = df_dist_size(world), rank = df_dist_rank(world), k = opts->ranks_per_run > 0 ? opts->ranks_per_run : 1;
    if (N % k)
        return df_fail(err, "--ranks-per-run %d: the job's %d rank%s cannot be split into groups of %d (start a "
                       "multiple of %d ranks)", k, N, N > 1 ? "s" : "", k, k);
    if (N == 1) return df_study_evaluate(st, opts, DF_STUDY_TRAIN | DF_STUDY_EVALUATE, err);
    uint64_t mine = study_hash(st, k), first = mine;
    df_dist_bcast(world, &first, sizeof first, 0);
    if (first != mine)
        return df_fail(err, "the study (name, out_dir, config, models, seeds, folds or --ranks-per-run) differs from "
                       "rank 0's: every rank must be given the same study");
    int n_groups = N / k, group = rank / k;
    if (rank == 0) print_deal(st, n_groups, k);
    df_dist *mates = df_dist_split(world, group), *self = df_dist_split(world, rank);
    df_dist_set_training(mates);
    int rc = train_share(st, opts, group, n_groups, err);
    if (rc == 0) {
        df_dist_set_training(self);
        if (rank == 0) {
            printf("\nevery run is trained; rank 0 evaluates them\n");
            rc = df_study_evaluate(st, opts, DF_STUDY_EVALUATE, err);
        }
    }
    /* A failed rank 0 ends the job from the command line; the others are ended there too. */
    if (rc == 0) df_dist_barrier(world);
    df_dist_set_training(NULL);
    df_dist_free(mates);
    df_dist_free(self);
    return rc;
}
