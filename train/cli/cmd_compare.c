/* cmd_compare.c: `dermfuse compare STUDY.yaml`: trains the models of a study (resuming where a previous
 * invocation stopped) and compares them. Under mpirun the ranks share the study's runs (study_dist.c): rank 0
 * prints the progress (main silences the others' standard output), and every error goes through
 * df_cli_error, prefixed "rank R: " so that the one message of a failed job says which rank failed. */
#include <stdio.h>
#include <stdlib.h>

#include "core/dist/dist.h"
#include "train/cli/commands.h"
#include "train/session/signals.h"
#include "train/study/study.h"

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
        /* Every rank sees it and returns 2 (main ends a bad usage without aborting the job); rank 0 says it. */
        if (rank == 0)
            fprintf(stderr, "dermfuse: --ranks-per-run %d: the job's %d rank%s cannot be split into groups of %d "
                    "(start a multiple of %d ranks)\n", cli.ranks_per_run, N, N > 1 ? "s" : "", cli.ranks_per_run,
                    cli.ranks_per_run);
        return 2;
    }
    df_study_cfg study;
    df_error err;
    df_study_opts opts = {.ranks_per_run = cli.ranks_per_run};
    const char *stop = getenv("DERMFUSE_STOP_AFTER_STEPS"); /* test aid: behave as if interrupted */
    if (stop) opts.stop_after_steps = atoi(stop);
    if (df_study_load(cli.config, cli.sets.v, cli.sets.n, &study, &err)) {
        df_cli_error(err.msg);
        return 1;
    }
    int rc = df_study_compare(&study, &opts, &err);
    if (rc) df_cli_error(err.msg);
    df_study_release(&study);
    /* Stopped by SIGINT or SIGTERM after saving: the shell's status for that signal (130, 143). */
    int sig = df_signals_stop_requested();
    return sig ? 128 + sig : rc ? 1 : 0;
}
