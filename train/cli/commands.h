/* commands.h: the dermfuse sub-commands; each takes argv from its own name on and returns the exit status
 * (0 success, 1 error, 2 bad usage). */
#ifndef DF_COMMANDS_H
#define DF_COMMANDS_H

int df_cmd_train(int argc, char **argv);
int df_cmd_eval(int argc, char **argv);
int df_cmd_predict(int argc, char **argv);
int df_cmd_inspect(int argc, char **argv);
int df_cmd_compare(int argc, char **argv);
int df_cmd_config_keys(int argc, char **argv);

/* Options every config-taking command shares. */
typedef struct {
    const char *config;
    const char *sets[64];
    int n_sets;
    int threads;
    const char *gemm;
    int resume, quiet;
    const char *checkpoint, *split, *out;
} df_cli;

/* Parses the shared options; `allowed` lists the optional flags this command accepts (e.g. "--resume").
 * Prints a message and returns 2 on a bad usage, 0 otherwise. Applies --threads and --gemm. */
int df_cli_parse(int argc, char **argv, const char *usage, const char *const *allowed, df_cli *cli);

#endif
