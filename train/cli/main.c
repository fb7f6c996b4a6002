/* main.c: the dermfuse command. One binary, sub-commands in the manner of git:
 *   dermfuse train CONFIG [--set key=value]... [--resume] [--threads N] [--gemm BACKEND] [--quiet]
 *   dermfuse eval CONFIG [--checkpoint best|last] [--split test|valid|train] [--set ...] [--threads N]
 *   dermfuse predict CONFIG --out FILE.csv [--checkpoint best|last] [--split test|valid|train] [--set ...]
 *   dermfuse inspect FILE.safetensors
 *   dermfuse synth [options]               (see dermfuse synth --help)
 *   dermfuse compare STUDY.yaml [--set ...] [--threads N] [--gemm BACKEND]
 *   dermfuse config-keys [--run|--study]   (every config and study key with its default and meaning)
 *   dermfuse show-batch CONFIG [--out FILE.png] [--tensors FILE] [--batch N] [--split train|valid|test] [--set ...]
 *   dermfuse export-init CONFIG [--out FILE.safetensors] [--set ...]
 *   dermfuse --version                     (also `dermfuse version`: version, compiler, vector path, GEMM)
 * Exit status: 0 on success, 1 on an error (the message names the input at fault), 2 on bad usage.
 * Each command parses its own options (train/cli/args.h) and answers its own --help. */
#include <stdio.h>
#include <string.h>

#include "core/dist/dist.h"
#include "core/wait_policy.h"
#include "train/cli/commands.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} commands[] = {
    {"train", df_cmd_train, DF_SUMMARY_TRAIN},
    {"eval", df_cmd_eval, DF_SUMMARY_EVAL},
    {"predict", df_cmd_predict, DF_SUMMARY_PREDICT},
    {"inspect", df_cmd_inspect, DF_SUMMARY_INSPECT},
    {"synth", df_cmd_synth, DF_SUMMARY_SYNTH},
    {"compare", df_cmd_compare, DF_SUMMARY_COMPARE},
    {"config-keys", df_cmd_config_keys, DF_SUMMARY_CONFIG_KEYS},
    {"report", df_cmd_report, DF_SUMMARY_REPORT},
    {"show-batch", df_cmd_show_batch, DF_SUMMARY_SHOW_BATCH},
    {"export-init", df_cmd_export_init, DF_SUMMARY_EXPORT_INIT},
    {"limits", df_cmd_limits, DF_SUMMARY_LIMITS},
    {"version", df_cmd_version, DF_SUMMARY_VERSION},
};

static void usage(FILE *f) {
    fprintf(f, "usage: dermfuse COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\nrun 'dermfuse COMMAND --help' for a command's options and examples;\n"
               "'dermfuse --version' for the version and what it runs on\n");
}

static int dispatch(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) return df_cmd_version(argc - 1, argv + 1);
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "dermfuse: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}

/* Under mpirun every rank runs the same command. A rank that fails ends the whole job (its message is
 * printed first), since the others would wait for it in their next collective. */
int main(int argc, char **argv) {
    /* Threads that sleep when idle keep a step from stalling on a busy machine (core/wait_policy.h). */
    df_wait_policy_apply(argv);
    df_dist_init(&argc, &argv);
    /* Rank 0 alone speaks for the job (progress, summaries, results), so that its output reads as one
     * process's; `version` shows every rank's, and every rank's errors reach stderr. */
    int rank = df_dist_rank(df_dist_world());
    if (rank > 0 && !(argc > 1 && strcmp(argv[1], "version") == 0) && !freopen("/dev/null", "w", stdout)) {
        fprintf(stderr, "dermfuse: rank %d: cannot silence its standard output\n", rank);
        df_dist_fail_job(1);
        return 1;
    }
    int status = dispatch(argc, argv);
    /* A bad usage (2) is found alike on every rank, from the same arguments and job size, before any rank
     * waits for another: each ends normally and mpirun reports the status. Any other failure may be one rank's
     * alone and ends the whole job (MPI_Abort, which Open MPI 4.1's launcher has been seen to crash on when
     * it had nothing to stop). */
    if (status != 0 && status != 2) df_dist_fail_job(status);
    df_dist_finalize();
    return status;
}
