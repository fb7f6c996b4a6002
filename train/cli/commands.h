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
#define DF_SUMMARY_CONFIG_KEYS "list every key of run configs and study files, its default and its meaning"
#define DF_SUMMARY_SHOW_BATCH "draw one batch as the model sees it (after augmentation) into a PNG grid"
#define DF_SUMMARY_EXPORT_INIT "write the weights a run starts from (before its first step) as safetensors"
#define DF_SUMMARY_LIMITS "the bounds on every input (file sizes, nesting, image sides, counts)"
#define DF_SUMMARY_VERSION "the version, compiler, vector path, GEMM backend, threads and OpenBLAS build"

/* Each command's examples, printed at the end of its --help. They run as written from the repository root
 * once the quick start (scripts/quickstart.sh) has built build/dermfuse and drawn runs/synthetic-data; an
 * example that needs a trained run follows the train example that makes it. */
#define DF_EXAMPLES_TRAIN                                                                                        \
    "  build/dermfuse train configs/synthetic/intermediate.yaml            # one run; Ctrl-C saves and stops\n"  \
    "  build/dermfuse train configs/synthetic/intermediate.yaml --resume   # continues where it stopped\n"     \
    "  build/dermfuse train configs/synthetic/early.yaml --set train.lr=0.01 --set train.epochs=3 --quiet\n"  \
    "  build/dermfuse train configs/synthetic/image.yaml --threads 2 --gemm openblas\n"
#define DF_EXAMPLES_EVAL                                                                                         \
    "  build/dermfuse eval configs/synthetic/intermediate.yaml   # train.test_checkpoint (best), test split\n" \
    "  build/dermfuse eval configs/synthetic/intermediate.yaml --checkpoint last --split valid\n"
#define DF_EXAMPLES_PREDICT                                                                                      \
    "  build/dermfuse predict configs/synthetic/intermediate.yaml --out predictions.csv\n"                     \
    "  build/dermfuse predict configs/synthetic/intermediate.yaml --out valid.csv --split valid --checkpoint last\n"
#define DF_EXAMPLES_INSPECT "  build/dermfuse inspect runs/synthetic-intermediate/best.safetensors\n"
#define DF_EXAMPLES_SYNTH                                                                                        \
    "  build/dermfuse synth --out runs/synthetic-data --n 2000 --size 64 --seed 1 --signal 0.25 --meta-signal 0.6\n" \
    "  build/dermfuse synth --layout milk10k --out runs/synthetic-milk10k --n 1500 --size 64 --seed 1\n"      \
    "  build/dermfuse synth --out runs/tiny --n 40 --size 32 --classes 3 --format png --no-hair\n"
#define DF_EXAMPLES_COMPARE                                                                                      \
    "  build/dermfuse compare configs/studies/quickstart.yaml\n"                                             \
    "  build/dermfuse compare configs/studies/quickstart.yaml --set study.seeds=[1,2,3] --threads 4\n"
#define DF_EXAMPLES_CONFIG_KEYS                                                                                  \
    "  build/dermfuse config-keys           # run configs, then study files\n"                                \
    "  build/dermfuse config-keys --study   # study files only\n"
#define DF_EXAMPLES_SHOW_BATCH                                                                                   \
    "  build/dermfuse show-batch configs/synthetic/intermediate.yaml --out batch.png\n"                       \
    "  build/dermfuse show-batch configs/synthetic/intermediate.yaml --out valid.png --split valid --batch 1\n" \
    "  build/dermfuse show-batch configs/synthetic/intermediate.yaml --set train.batch_size=16 --set data.image_size=96\n" \
    "  build/dermfuse show-batch configs/synthetic/intermediate.yaml --tensors batch.safetensors\n"
#define DF_EXAMPLES_EXPORT_INIT                                                                                  \
    "  build/dermfuse export-init configs/synthetic/intermediate.yaml --out init.safetensors\n"               \
    "  build/dermfuse export-init configs/synthetic/image.yaml --set model.init=pytorch --out image-init.safetensors\n"
#define DF_EXAMPLES_LIMITS "  build/dermfuse limits\n"
#define DF_EXAMPLES_VERSION "  build/dermfuse --version\n  build/dermfuse version --gemm openblas\n"
#define DF_EXAMPLES_REPORT                                                                                       \
    "  build/dermfuse report runs/synthetic-intermediate              # writes its report.html\n"            \
    "  build/dermfuse report runs/synthetic-intermediate --out intermediate.html\n"

int df_cmd_train(int argc, char **argv);
int df_cmd_eval(int argc, char **argv);
int df_cmd_predict(int argc, char **argv);
int df_cmd_inspect(int argc, char **argv);
int df_cmd_compare(int argc, char **argv);
int df_cmd_config_keys(int argc, char **argv);
int df_cmd_synth(int argc, char **argv);
int df_cmd_report(int argc, char **argv);
int df_cmd_show_batch(int argc, char **argv);
int df_cmd_export_init(int argc, char **argv);
int df_cmd_limits(int argc, char **argv);
int df_cmd_version(int argc, char **argv);

/* --gemm's help (train, compare, show-batch, version). */
#define DF_CLI_GEMM_HELP                                                                                         \
    "matrix-multiply backend: auto = the best hand-written kernel this CPU runs (avx512, else avx2, else "       \
    "portable); avx512, avx2 = the hand-written AVX-512 / AVX2+FMA kernels; portable = the hand-written plain-C " \
    "kernel; openblas = OpenBLAS's sgemm. Results differ in the last bits between backends; the hand-written " \
    "ones give the same bits for any thread count"

/* Options the config-taking commands share (train, eval, predict, compare). */
typedef struct {
    const char *config;
    df_arg_list sets;
    int threads; /* 0: not given */
    const char *gemm;
    int resume, quiet;
    const char *checkpoint, *split, *out;
    int ranks_per_run; /* compare under mpirun: ranks that train one run together (1 when not given) */
} df_cli;

/* --set's help: the value is YAML, as in a config file. */
#define DF_CLI_SET_HELP                                                                                          \
    "override a config key; VALUE is YAML as in a file (0.01, true, [8, 16], 'text'); nothing after '=' is the " \
    "empty string (data.group_by= for no grouping), refused for numbers, booleans, choices and lists"

/* Which of the shared options a command takes besides --set and --threads. */
enum { DF_CLI_GEMM = 1, DF_CLI_RESUME_QUIET = 2, DF_CLI_CHECKPOINT_SPLIT = 4, DF_CLI_OUT = 8, DF_CLI_RANKS = 16 };

typedef struct {
    const char *command, *summary;
    const char *positional, *positional_help; /* "CONFIG", "the run's YAML config" */
    unsigned which;
    const char *examples; /* lines printed under "examples:" at the end of --help (DF_EXAMPLES_*) */
} df_cli_command;

/* Parses the shared options of cmd into cli, then applies --threads (omp_set_num_threads) and --gemm
 * (df_gemm_set_backend). Returns a df_args_parse status: DF_ARGS_BAD also when --gemm cannot be applied. */
int df_cli_parse(const df_cli_command *cmd, int argc, char **argv, df_cli *cli);

/* Loads cli->config with its --set overrides into cfg; --threads wins over run.threads. Prints the error and
 * returns 1 on failure. */
int df_cli_load_config(const df_cli *cli, df_run_config *cfg);
/* Prints "dermfuse: MSG" to stderr, "dermfuse: rank R: MSG" in a job of several ranks, so that a failing
 * rank's message says which rank failed. */
void df_cli_error(const char *msg);

#endif
