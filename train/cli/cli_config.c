/* cli_config.c: the options shared by the config-taking commands (see commands.h). */
#include <omp.h>
#include <stdio.h>
#include <string.h>

#include "core/dist/dist.h"
#include "core/gemm/gemm.h"
#include "train/cli/commands.h"

int df_cli_parse(const df_cli_command *cmd, int argc, char **argv, df_cli *cli) {
    memset(cli, 0, sizeof *cli);
    cli->checkpoint = NULL; /* the config's train.test_checkpoint, known once it is loaded */
    cli->split = "test";
    cli->ranks_per_run = 1;
    static const char *const splits[] = {"train", "valid", "test", NULL};
    df_arg_opt opts[9];
    int n = 0;
    opts[n++] = (df_arg_opt)DF_OPT_STRINGS("--set", &cli->sets, "KEY=VALUE", DF_CLI_SET_HELP);
    opts[n++] = (df_arg_opt)DF_OPT_INT("--threads", &cli->threads, "N",
                                       "OpenMP threads; wins over the config's run.threads", "run.threads", 1, 1024);
    if (cmd->which & DF_CLI_GEMM)
        opts[n++] = (df_arg_opt)DF_OPT_STRING("--gemm", &cli->gemm, "BACKEND",
                                              DF_CLI_GEMM_HELP, "auto");
    if (cmd->which & DF_CLI_RESUME_QUIET) {
        opts[n++] = (df_arg_opt)DF_OPT_FLAG("--resume", &cli->resume,
                                            "continue the run in the run folder exactly where it stopped");
        opts[n++] = (df_arg_opt)DF_OPT_FLAG("--quiet", &cli->quiet,
                                            "print only the training progress (a line per epoch, then the "
                                            "result): no resolved config, GEMM and threads line or per-layer "
                                            "model summary");
    }
    if (cmd->which & DF_CLI_CHECKPOINT_SPLIT) {
        opts[n++] = (df_arg_opt)DF_OPT_STRING("--checkpoint", &cli->checkpoint, "NAME",
                                              "best or last (in the run folder), or a checkpoint file",
                                              "train.test_checkpoint");
        opts[n++] = (df_arg_opt)DF_OPT_CHOICE("--split", &cli->split, "SPLIT", "the split to predict", "test",
                                              splits);
    }
    if (cmd->which & DF_CLI_RANKS)
        opts[n++] = (df_arg_opt)DF_OPT_INT("--ranks-per-run", &cli->ranks_per_run, "K",
                                           "under mpirun: the ranks that train one run together (data-parallel); "
                                           "the job's ranks are split into groups of K, each training its share "
                                           "of the study's runs; the number of ranks must be a multiple of K",
                                           "1", 1, 1 << 20);
    if (cmd->which & DF_CLI_OUT)
        opts[n++] = (df_arg_opt)DF_OPT_REQUIRED("--out", &cli->out, "FILE.csv", "where to write the predictions");
    df_arg_pos pos = {cmd->positional, &cli->config, cmd->positional_help};
    df_args_spec spec = {cmd->command, cmd->summary, opts, n, &pos, 1, cmd->examples};
    int st = df_args_parse(&spec, argc, argv, stdout, stderr);
    if (st)
        return st;
    if (cli->threads)
        omp_set_num_threads(cli->threads);
    if (cli->gemm) {
        df_gemm_backend b;
        if (df_gemm_backend_parse(cli->gemm, &b)) {
            fprintf(stderr, "--gemm: unknown backend '%s' (auto, avx512, avx2, portable, openblas)\n", cli->gemm);
            return DF_ARGS_BAD;
        }
        if (df_gemm_set_backend(b)) {
            fprintf(stderr, "--gemm: this CPU cannot run the %s kernels\n", cli->gemm);
            return DF_ARGS_BAD;
        }
    }
    return DF_ARGS_OK;
}

int df_cli_load_config(const df_cli *cli, df_run_config *cfg) {
    df_error err;
    if (df_run_config_load(cli->config, cli->sets.v, cli->sets.n, cfg, &err)) {
        df_cli_error(err.msg);
        return 1;
    }
    /* --threads wins over the config's run.threads. */
    if (cli->threads)
        cfg->run.threads = cli->threads;
    return 0;
}

void df_cli_error(const char *msg) {
    const df_dist *w = df_dist_world();
    if (df_dist_size(w) > 1) fprintf(stderr, "dermfuse: rank %d: %s\n", df_dist_rank(w), msg);
    else fprintf(stderr, "dermfuse: %s\n", msg);
}
