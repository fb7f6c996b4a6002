/* commands.h: the dermfuse sub-commands; each takes argv from its own name on and returns the exit status
 * (0 success, 1 error, 2 bad usage). Each parses its options with args.h; none exits. */
#ifndef DF_COMMANDS_H
#define DF_COMMANDS_H

#include "train/cli/args.h"
#include "train/config/run_config.h"

/* Each command's one-line summary: `dermfuse --help` lists them, and each command's --help starts with it. */
#define DF_SUMMARY_TRAIN "train a model from a config (resumes exactly with --resume)"
#define DF_SUMMARY_EVAL "metrics of a run's checkpoint on a split, as a table and JSON"
#define DF_SUMMARY_PREDICT "class probabilities per sample of a split, as CSV"
#define DF_SUMMARY_INSPECT "what a checkpoint or safetensors file holds"
#define DF_SUMMARY_SYNTH "draw a synthetic dermoscopy dataset (ISIC-DICM-17K or MILK10k layout)"
#define DF_SUMMARY_COMPARE "train and compare the models of a study, with statistics"
#define DF_SUMMARY_REPORT "an HTML report of one run (live while it trains)"
#define DF_SUMMARY_CONFIG_KEYS "list every config key, its default and its meaning"

int df_cmd_train(int argc, char **argv);
int df_cmd_eval(int argc, char **argv);
int df_cmd_predict(int argc, char **argv);
int df_cmd_inspect(int argc, char **argv);
int df_cmd_compare(int argc, char **argv);
int df_cmd_config_keys(int argc, char **argv);
int df_cmd_synth(int argc, char **argv);
int df_cmd_report(int argc, char **argv);

/* Options the config-taking commands share (train, eval, predict, compare). */
typedef struct {
    const char *config;
    df_arg_list sets;
    int threads; /* 0: not given */
    const char *gemm;
    int resume, quiet;
    const char *checkpoint, *split, *out;
} df_cli;

/* Which of the shared options a command takes besides --set and --threads. */
enum { DF_CLI_GEMM = 1, DF_CLI_RESUME_QUIET = 2, DF_CLI_CHECKPOINT_SPLIT = 4, DF_CLI_OUT = 8 };

typedef struct {
    const char *command, *summary;
    const char *positional, *positional_help; /* "CONFIG", "the run's YAML config" */
    unsigned which;
} df_cli_command;

/* Parses the shared options of cmd into cli, then applies --threads (omp_set_num_threads) and --gemm
 * (df_gemm_set_backend). Returns a df_args_parse status: DF_ARGS_BAD also when --gemm cannot be applied. */
int df_cli_parse(const df_cli_command *cmd, int argc, char **argv, df_cli *cli);

/* Loads cli->config with its --set overrides into cfg; --threads wins over run.threads. Prints the error and
 * returns 1 on failure. */
int df_cli_load_config(const df_cli *cli, df_run_config *cfg);

#endif
