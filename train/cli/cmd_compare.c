/* cmd_compare.c: `dermfuse compare STUDY.yaml`: trains the models of a study (resuming where a previous
 * invocation stopped) and compares them. Under mpirun the ranks share the study's runs (study_dist.c): rank 0
 * prints the progress, the other ranks print nothing but their errors, each prefixed "rank R: " so that the
 * one message of a failed job says which rank failed. */
#include <stdio.h>
#include <stdlib.h>

#include "core/dist/dist.h"
#include "train/cli/commands.h"
#include "train/session/signals.h"
#include "train/study/study.h"

/* An error: with more than one rank, prefixed by the rank that met it. */
static void report(const char *msg) {
    df_dist *w = df_dist_world();
    if (df_dist_size(w) > 1)
        fprintf(stderr, "dermfuse: rank %d: %s\n", df_dist_rank(w), msg);
    else
        fprintf(stderr, "dermfuse: %s\n", msg);
}

int df_cmd_compare(int argc, char **argv) {
    static const df_cli_command cmd = {"compare", DF_SUMMARY_COMPARE,
                                       "STUDY.yaml", "the study's YAML file", DF_CLI_GEMM | DF_CLI_RANKS,
                                       DF_EXAMPLES_COMPARE};
    df_cli cli;
    int st = df_cli_parse(&cmd, argc, argv, &cli);
    if (st) return df_args_exit_status(st);
    df_dist *world = df_dist_world();
    int N = df_dist_size(world), rank = df_dist_rank(world);
    if (N % cli.ranks_per_run) {
        /* Every rank sees it; rank 0 says it, and its failure ends the job while the others wait here. */
        if (rank == 0) {
            fprintf(stderr, "dermfuse: --ranks-per-run %d: the job's %d rank%s cannot be split into groups of %d "
                    "(start a multiple of %d ranks)\n", cli.ranks_per_run, N, N > 1 ? "s" : "", cli.ranks_per_run,
                    cli.ranks_per_run);
            return 2;
        }
        df_dist_barrier(world);
        return 2;
    }
    /* One progress log: rank 0's. */
    if (rank > 0 && !freopen("/dev/null", "w", stdout)) {
        report("cannot silence this rank's output (/dev/null)");
        return 1;
    }
    df_study_cfg study;
    df_error err;
    df_study_opts opts = {.ranks_per_run = cli.ranks_per_run};
    const char *stop = getenv("DERMFUSE_STOP_AFTER_STEPS"); /* test aid: behave as if interrupted */
    if (stop) opts.stop_after_steps = atoi(stop);
    if (df_study_load(cli.config, cli.sets.v, cli.sets.n, &study, &err)) {
        report(err.msg);
        return 1;
    }
    int rc = df_study_compare(&study, &opts, &err);
    if (rc) report(err.msg);
    df_study_release(&study);
    /* Stopped by SIGINT or SIGTERM after saving: the shell's status for that signal (130, 143). */
    int sig = df_signals_stop_requested();
    return sig ? 128 + sig : rc ? 1 : 0;
}
