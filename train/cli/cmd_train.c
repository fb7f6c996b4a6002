/* cmd_train.c: `dermfuse train CONFIG`: one run from a config; --resume continues it exactly. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/gemm/gemm.h"
#include "train/cli/commands.h"
#include "train/config/config_schema.h"
#include "train/late/late_fusion.h"
#include "train/late/run.h"
#include "train/report/report.h"
#include "train/session/run_files.h"
#include "train/session/signals.h"
#include "train/session/trainer.h"


/* The run's report.html, rewritten after every epoch: a live view of the run (dermfuse report RUN_DIR). */
static void write_report(const char *run_dir, void *ctx) {
    (void)ctx;
    df_error err;
    int in_progress;
    if (df_report_run(run_dir, NULL, &in_progress, &err))
        fprintf(stderr, "dermfuse: warning: the run's report was not written: %s\n", err.msg);
}

int df_cmd_train(int argc, char **argv) {
    static const df_cli_command cmd = {"train", DF_SUMMARY_TRAIN,
                                       "CONFIG", "the run's YAML config",
                                       DF_CLI_GEMM | DF_CLI_RESUME_QUIET, DF_EXAMPLES_TRAIN};
    df_cli cli;
    int st = df_cli_parse(&cmd, argc, argv, &cli);
    if (st) return df_args_exit_status(st);
    df_run_config cfg;
    if (df_cli_load_config(&cli, &cfg)) return 1;
    if (!cli.quiet) {
        printf("config %s (resolved):\n", cli.config);
        df_cfg_print_table(&df_run_schema, &cfg, stdout);
        printf("gemm: %s, threads: %d\n", df_gemm_backend_name(df_gemm_get_backend()),
               cfg.run.threads ? cfg.run.threads : omp_get_max_threads());
    }
    df_train_opts opts = {.resume = cli.resume, .quiet = cli.quiet, .after_epoch = write_report,
                          .version = DF_VERSION};
    char *stop = getenv("DERMFUSE_STOP_AFTER_STEPS"); /* test aid: behave as if interrupted */
    if (stop) opts.stop_after_steps = atoi(stop);
    df_error err;
    int stopped = 0;
    int rc = 0;
    if (cli.resume) { /* a late-fusion run trains its image part first: that part holds what there is to resume */
        char name[512];
        df_run_config part = cfg.model.fusion == DF_FUSION_LATE
                                 ? df_late_part_config(&cfg, DF_FUSION_IMAGE, name, sizeof name)
                                 : cfg;
        char *dir = df_run_dir(&part);
        rc = df_train_check_resumable(dir, &err);
        free(dir);
    }
    if (rc == 0) rc = df_run_train(&cfg, &opts, &stopped, &err);
    if (rc) df_cli_error(err.msg);
    df_run_config_free(&cfg);
    /* Stopped by SIGINT or SIGTERM after saving: the shell's status for that signal (130, 143). */
    int sig = df_signals_stop_requested();
    return rc ? 1 : stopped && sig ? 128 + sig : 0;
}
