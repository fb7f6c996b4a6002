/* cmd_compare.c: `dermfuse compare STUDY.yaml`: trains the models of a study (resuming where a previous
 * invocation stopped) and compares them. */
#include <stdio.h>
#include <stdlib.h>

#include "train/cli/commands.h"
#include "train/session/signals.h"
#include "train/study/study.h"

int df_cmd_compare(int argc, char **argv) {
    static const df_cli_command cmd = {"compare", DF_SUMMARY_COMPARE,
                                       "STUDY.yaml", "the study's YAML file", DF_CLI_GEMM,
                                       DF_EXAMPLES_COMPARE};
    df_cli cli;
    int st = df_cli_parse(&cmd, argc, argv, &cli);
    if (st) return df_args_exit_status(st);
    df_study_cfg study;
    df_error err;
    df_study_opts opts = {0};
    const char *stop = getenv("DERMFUSE_STOP_AFTER_STEPS"); /* test aid: behave as if interrupted */
    if (stop) opts.stop_after_steps = atoi(stop);
    if (df_study_load(cli.config, cli.sets.v, cli.sets.n, &study, &err)) {
        fprintf(stderr, "dermfuse: %s\n", err.msg);
        return 1;
    }
    int rc = df_study_compare(&study, &opts, &err);
    if (rc) fprintf(stderr, "dermfuse: %s\n", err.msg);
    df_study_release(&study);
    /* Stopped by SIGINT or SIGTERM after saving: the shell's status for that signal (130, 143). */
    int sig = df_signals_stop_requested();
    return sig ? 128 + sig : rc ? 1 : 0;
}
