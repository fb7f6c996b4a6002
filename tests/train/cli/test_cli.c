/* test_cli.c: the command-line parser (train/cli/args.h): --opt value and --opt=value, every kind with its
 * range, missing values, unknown options, flags given a value, repeatable options, positional arguments,
 * required options, and --help text listing every option with its default; then the `synth` command's bad
 * usages (status 2, before anything is written) and its --help (status 0); every command's --help listing its
 * options and examples; `dermfuse version`; `config-keys` with run and study keys; predict without --out. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "train/cli/args.h"
#include "core/gemm/gemm.h"
#include "train/cli/commands.h"

typedef struct {
    int flag, n;
    const char *name, *choice, *config;
    unsigned long long seed;
    double x;
    df_arg_list sets;
} vals;

static const char *const choices[] = {"jpg", "png", NULL};

/* Parses the space-separated args with a table of every kind; out and err get what was printed. */
static int parse(const char *args, vals *v, char *out, char *err) {
    char buf[1024], *argv[96];
    snprintf(buf, sizeof buf, "%s", args);
    int argc = 0;
    argv[argc++] = "cmd";
    for (char *t = strtok(buf, " "); t && argc < 95; t = strtok(NULL, " ")) argv[argc++] = t;
    argv[argc] = NULL;
    *v = (vals){.n = 7, .name = "dflt", .choice = "jpg", .seed = 1, .x = 0.5};
    df_arg_opt opts[] = {
        DF_OPT_FLAG("--flag", &v->flag, "a flag"),
        DF_OPT_INT("--n", &v->n, "N", "a count", "7", 1, 1024),
        DF_OPT_STRING("--name", &v->name, "NAME", "a name", "dflt"),
        DF_OPT_CHOICE("--format", &v->choice, "FMT", "a format", "jpg", choices),
        DF_OPT_U64("--seed", &v->seed, "S", "a seed", "1"),
        DF_OPT_NUMBER("--x", &v->x, "X", "a number", "0.5", 0, 1),
        DF_OPT_STRINGS("--set", &v->sets, "KEY=VALUE", "an override"),
    };
    df_arg_pos pos = {"CONFIG", &v->config, "the config"};
    df_args_spec spec = {"cmd", "a test command", opts, sizeof opts / sizeof *opts, &pos, 1, "  dermfuse cmd c.yaml\n"};
    memset(out, 0, 4096);
    memset(err, 0, 4096);
    FILE *fo = fmemopen(out, 4095, "w"), *fe = fmemopen(err, 4095, "w");
    int st = df_args_parse(&spec, argc, argv, fo, fe);
    fclose(fo);
    fclose(fe);
    return st;
}

static void test_parse(void) {
    static char out[4096], err[4096];
    vals v;
    CHECK(parse("c.yaml", &v, out, err) == DF_ARGS_OK && !strcmp(v.config, "c.yaml"));
    CHECK(v.n == 7 && !strcmp(v.name, "dflt") && v.seed == 1 && v.x == 0.5 && !v.flag && v.sets.n == 0);
    CHECK(parse("c.yaml --n 12 --name=abc --format png --seed=18446744073709551615 --x 0.25 --flag", &v, out, err) ==
          DF_ARGS_OK);
    CHECK(v.n == 12 && !strcmp(v.name, "abc") && !strcmp(v.choice, "png") && v.seed == 18446744073709551615ULL);
    CHECK(v.x == 0.25 && v.flag == 1);
    /* Options before the positional, and a value that begins with '-'. */
    CHECK(parse("--n=3 --name -x c.yaml", &v, out, err) == DF_ARGS_OK && v.n == 3 && !strcmp(v.name, "-x") &&
          !strcmp(v.config, "c.yaml"));
    /* Repeatable. */
    CHECK(parse("c.yaml --set a=1 --set=b=2 --set c=3", &v, out, err) == DF_ARGS_OK && v.sets.n == 3);
    CHECK(v.sets.n == 3 && !strcmp(v.sets.v[0], "a=1") && !strcmp(v.sets.v[1], "b=2") && !strcmp(v.sets.v[2], "c=3"));

    static const struct {
        const char *args, *msg;
    } bad[] = {
        {"c.yaml --n", "--n: expected an integer in 1..1024, got nothing"},
        {"c.yaml --n x", "--n: expected an integer in 1..1024, got 'x'"},
        {"c.yaml --n 0", "--n: expected an integer in 1..1024, got '0'"},
        {"c.yaml --n=1025", "--n: expected an integer in 1..1024, got '1025'"},
        {"c.yaml --n 3x", "got '3x'"},
        {"c.yaml --x 1.5", "--x: expected a number in 0..1, got '1.5'"},
        {"c.yaml --x nan", "--x: expected a number in 0..1"},
        {"c.yaml --seed -1", "--seed: expected a non-negative integer, got '-1'"},
        {"c.yaml --format gif", "--format: expected jpg or png, got 'gif'"},
        {"c.yaml --name=", "--name: expected NAME, got ''"},
        {"c.yaml --set", "--set: expected KEY=VALUE, got nothing"},
        {"c.yaml --bogus 1", "unknown option '--bogus'"},
        {"c.yaml --bogus=1", "unknown option '--bogus'"},
        {"c.yaml -v", "unknown option '-v'"},
        {"c.yaml --flag=1", "--flag takes no value"},
        {"c.yaml d.yaml", "unexpected argument 'd.yaml'"},
        {"--n 3", "missing CONFIG"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        int st = parse(bad[k].args, &v, out, err);
        CHECK_MSG(st == DF_ARGS_BAD && strstr(err, bad[k].msg) && strstr(err, "usage: dermfuse cmd CONFIG"),
                  "'%s': status %d, message '%s'", bad[k].args, st, err);
        CHECK_MSG(!strncmp(err, "dermfuse cmd: ", 14) && !*out, "'%s': '%s'", bad[k].args, err);
    }
    /* At most DF_ARG_LIST_MAX of a repeatable option. */
    char many[1024] = "c.yaml";
    for (int i = 0; i <= DF_ARG_LIST_MAX && strlen(many) < sizeof many - 16; i++) strcat(many, " --set=k");
    CHECK(parse(many, &v, out, err) == DF_ARGS_BAD && strstr(err, "at most 64 --set options"));

    /* --help wins wherever it stands, even after a bad option, and lists every option with its default. */
    CHECK(parse("c.yaml --n x --help", &v, out, err) == DF_ARGS_HELP && !*err);
    CHECK(parse("-h", &v, out, err) == DF_ARGS_HELP);
    CHECK(strncmp(out, "usage: dermfuse cmd CONFIG [options]\na test command\n", 50) == 0);
    static const char *const lines[] = {"  CONFIG ", "  --flag ", "  --n N ", "a count (an integer in 1..1024) [7]",
                                        "  --name NAME ", "a name [dflt]", "  --format FMT ", "(jpg or png) [jpg]",
                                        "  --seed S ", "  --x X ", "(a number in 0..1) [0.5]",
                                        "  --set KEY=VALUE ", "(repeatable)", "  --help "};
    for (size_t k = 0; k < sizeof lines / sizeof *lines; k++)
        CHECK_MSG(strstr(out, lines[k]) != NULL, "help lacks '%s':\n%s", lines[k], out);
}

static void test_required(void) {
    const char *out_path = NULL;
    char *argv[] = {"cmd", NULL};
    df_arg_opt opts[] = {DF_OPT_REQUIRED("--out", &out_path, "DIR", "where")};
    df_args_spec spec = {"cmd", "needs --out", opts, 1, NULL, 0, NULL};
    static char err[4096], out[4096];
    FILE *fe = fmemopen(err, sizeof err - 1, "w"), *fo = fmemopen(out, sizeof out - 1, "w");
    CHECK(df_args_parse(&spec, 1, argv, fo, fe) == DF_ARGS_BAD);
    fclose(fe);
    fclose(fo);
    CHECK_MSG(strstr(err, "--out DIR is required") && strstr(err, "usage: dermfuse cmd --out DIR [options]"), "'%s'",
              err);
}

/* The synth command: bad usage gives 2 (its messages go to stderr), --help 0. */
static int synth(const char *args) {
    char buf[1024], *argv[32];
    snprintf(buf, sizeof buf, "synth %s", args);
    int argc = 0;
    for (char *t = strtok(buf, " "); t && argc < 31; t = strtok(NULL, " ")) argv[argc++] = t;
    argv[argc] = NULL;
    return df_cmd_synth(argc, argv);
}

static void test_synth_cmd(void) {
    static const char *const bad[] = {
        "--out /tmp/df_cli_x --size 5",       "--out /tmp/df_cli_x --bogus 1",
        "--out /tmp/df_cli_x --format gif",   "--n 4",
        "--out /tmp/df_cli_x --layout milk10k --classes 2",
        "--out /tmp/df_cli_x --signal 1.5",   "--out /tmp/df_cli_x --seed -3",
        "--out /tmp/df_cli_x --from-metadata x.csv --n 4",
        "--out /tmp/df_cli_x --layout milk10k --from-metadata x.csv",
        "--out /tmp/df_cli_x --no-hair=1",    "stray --out /tmp/df_cli_x",
    };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) CHECK_MSG(synth(bad[k]) == 2, "synth %s", bad[k]);
    CHECK(synth("--help") == 0);
}

/* Runs cmd on the space-separated args (its name first) with stdout and stderr sent to files, then reads them
 * back into out and err (each 64 KiB). Returns the command's status. */
static char cap_out[65536], cap_err[65536];
static int capture(int (*cmd)(int, char **), const char *args) {
    char buf[1024], *argv[64];
    snprintf(buf, sizeof buf, "%s", args);
    int argc = 0;
    for (char *t = strtok(buf, " "); t && argc < 63; t = strtok(NULL, " ")) argv[argc++] = t;
    argv[argc] = NULL;
    char po[] = "/tmp/df_cli_outXXXXXX", pe[] = "/tmp/df_cli_errXXXXXX";
    int fo = mkstemp(po), fe = mkstemp(pe);
    fflush(stdout);
    fflush(stderr);
    int so = dup(1), se = dup(2);
    dup2(fo, 1);
    dup2(fe, 2);
    int st = cmd(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    char *dst[2] = {cap_out, cap_err};
    int fds[2] = {fo, fe};
    for (int k = 0; k < 2; k++) {
        lseek(fds[k], 0, SEEK_SET);
        ssize_t n = read(fds[k], dst[k], sizeof cap_out - 1);
        dst[k][n > 0 ? n : 0] = 0;
        close(fds[k]);
    }
    unlink(po);
    unlink(pe);
    return st;
}

/* Every command's --help: status 0, its summary, every option, and its examples. */
static void test_command_help(void) {
    static const struct {
        int (*cmd)(int, char **);
        const char *name, *examples, *opts[16];
    } cmds[] = {
        {df_cmd_train, "train", DF_EXAMPLES_TRAIN, {"--set KEY=VALUE", "--threads N", "--gemm BACKEND", "--resume",
                                                    "--quiet", "--help"}},
        {df_cmd_eval, "eval", DF_EXAMPLES_EVAL, {"--set KEY=VALUE", "--threads N", "--checkpoint NAME", "--split SPLIT"}},
        {df_cmd_predict, "predict", DF_EXAMPLES_PREDICT,
         {"--set KEY=VALUE", "--threads N", "--checkpoint NAME", "--split SPLIT", "--out FILE.csv"}},
        {df_cmd_inspect, "inspect", DF_EXAMPLES_INSPECT, {"FILE.safetensors", "--help"}},
        {df_cmd_synth, "synth", DF_EXAMPLES_SYNTH,
         {"--out DIR", "--n N", "--classes K", "--size S", "--signal X", "--meta-signal X", "--seed S",
          "--format FMT", "--quality Q", "--layout LAYOUT", "--from-metadata CSV", "--skin-tone T", "--no-hair"}},
        {df_cmd_compare, "compare", DF_EXAMPLES_COMPARE, {"STUDY.yaml", "--set KEY=VALUE", "--threads N", "--gemm BACKEND"}},
        {df_cmd_config_keys, "config-keys", DF_EXAMPLES_CONFIG_KEYS, {"--run", "--study"}},
        {df_cmd_show_batch, "show-batch", DF_EXAMPLES_SHOW_BATCH,
         {"CONFIG", "--out FILE.png", "--batch N", "--split SPLIT", "--set KEY=VALUE", "--threads N"}},
        {df_cmd_version, "version", DF_EXAMPLES_VERSION, {"--gemm BACKEND", "--threads N"}},
    };
    for (size_t c = 0; c < sizeof cmds / sizeof *cmds; c++) {
        char args[64];
        snprintf(args, sizeof args, "%s --help", cmds[c].name);
        int st = capture(cmds[c].cmd, args);
        char usage[64];
        snprintf(usage, sizeof usage, "usage: dermfuse %s", cmds[c].name);
        CHECK_MSG(st == 0 && !strncmp(cap_out, usage, strlen(usage)) && !*cap_err, "%s: status %d:\n%s%s", args, st,
                  cap_out, cap_err);
        CHECK_MSG(strstr(cap_out, "\nexamples:\n") && strstr(cap_out, cmds[c].examples), "%s lacks its examples:\n%s",
                  args, cap_out);
        for (int k = 0; k < 16 && cmds[c].opts[k]; k++) {
            char want[64];
            snprintf(want, sizeof want, "\n  %s ", cmds[c].opts[k]);
            CHECK_MSG(strstr(cap_out, want) != NULL, "%s lacks '%s':\n%s", args, cmds[c].opts[k], cap_out);
        }
        /* Every example is a dermfuse command line of this command. */
        char prefix[64];
        snprintf(prefix, sizeof prefix, "  build/dermfuse %s", strcmp(cmds[c].name, "version") ? cmds[c].name : "");
        for (const char *e = cmds[c].examples; *e; e = strchr(e, '\n') + 1)
            CHECK_MSG(!strncmp(e, prefix, strlen(prefix)), "%s: example '%.60s'", cmds[c].name, e);
    }
    /* --gemm and --quiet say what they do (help lines wrapped: compare with whitespace runs as one space). */
    capture(df_cmd_train, "train --help");
    char *w = cap_out;
    for (const char *r = cap_out; *r; r++)
        if (!(*r == ' ' || *r == '\n') || (w > cap_out && w[-1] != ' ')) *w++ = *r == '\n' ? ' ' : *r;
    *w = 0;
    static const char *const words[] = {"auto = the best hand-written kernel", "openblas = OpenBLAS's sgemm",
                                        "last bits", "print only the training progress"};
    for (size_t k = 0; k < sizeof words / sizeof *words; k++)
        CHECK_MSG(strstr(cap_out, words[k]) != NULL, "train --help lacks '%s'", words[k]);
}

static void test_version_keys_predict(void) {
    CHECK(capture(df_cmd_version, "version") == 0);
    CHECK_MSG(strstr(cap_out, "dermfuse 0.") && strstr(cap_out, "compiler:") && strstr(cap_out, "openblas:") &&
                  strstr(cap_out, "openmp threads:"),
              "%s", cap_out);
    CHECK_MSG(strstr(cap_out, "vector path:    AVX-512") || strstr(cap_out, "vector path:    AVX2") ||
                  strstr(cap_out, "vector path:    baseline"),
              "%s", cap_out);
    /* An AVX2 CPU is named with its kind of FMA units, which decides its convolution kernels. */
    if (strstr(cap_out, "vector path:    AVX2"))
        CHECK_MSG(strstr(cap_out, df_gemm_fma_halved() ? "256-bit FMAs run as two halves" : "full-width FMA units"),
                  "%s", cap_out);
    char want[64];
    snprintf(want, sizeof want, "gemm backend:   %s\n", df_gemm_backend_name(df_gemm_get_backend()));
    CHECK_MSG(strstr(cap_out, want) != NULL, "lacks '%s':\n%s", want, cap_out);
    CHECK(capture(df_cmd_version, "--version --gemm portable") == 0 && strstr(cap_out, "gemm backend:   portable\n"));
    CHECK(capture(df_cmd_version, "version --gemm bogus") == 2 && strstr(cap_err, "bogus"));
    df_gemm_set_backend(DF_GEMM_AUTO);

    CHECK(capture(df_cmd_config_keys, "config-keys") == 0);
    CHECK_MSG(strstr(cap_out, "run config keys") && strstr(cap_out, "study file keys (dermfuse compare)") &&
                  strstr(cap_out, "  train.lr ") && strstr(cap_out, "  study.models ") &&
                  strstr(cap_out, "run config keys") < strstr(cap_out, "study file keys"),
              "%s", cap_out);
    CHECK(capture(df_cmd_config_keys, "config-keys --study") == 0 && strstr(cap_out, "  study.models ") &&
          !strstr(cap_out, "train.lr"));
    CHECK(capture(df_cmd_config_keys, "config-keys --run") == 0 && strstr(cap_out, "  train.lr ") &&
          !strstr(cap_out, "study.models"));

    /* predict without --out names it, before reading any config. */
    CHECK(capture(df_cmd_predict, "predict missing.yaml") == 2);
    CHECK_MSG(strstr(cap_err, "--out FILE.csv is required") != NULL, "'%s'", cap_err);
}

int main(void) {
    test_parse();
    test_required();
    test_synth_cmd();
    test_command_help();
    test_version_keys_predict();
    return check_report();
}
