/* main.c: the dermfuse command. One binary, sub-commands in the manner of git:
 *   dermfuse train CONFIG [--set key=value]... [--resume] [--threads N] [--gemm BACKEND] [--quiet]
 *   dermfuse eval CONFIG [--checkpoint best|last] [--split test|valid|train] [--set ...] [--threads N]
 *   dermfuse predict CONFIG --out FILE.csv [--checkpoint best|last] [--split test|valid|train] [--set ...]
 *   dermfuse inspect FILE.safetensors
 *   dermfuse synth [options]               (see dermfuse synth --help)
 *   dermfuse compare STUDY.yaml [--threads N]
 *   dermfuse config-keys                   (every config key with its default and meaning)
 * Exit status: 0 on success, 1 on an error (the message names the input at fault), 2 on bad usage. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gemm/gemm.h"
#include "train/cli/commands.h"

int df_cmd_synth(int argc, char **argv);

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} commands[] = {
    {"train", df_cmd_train, "train a model from a config (resumes exactly with --resume)"},
    {"eval", df_cmd_eval, "metrics of a run's checkpoint on a split, as a table and JSON"},
    {"predict", df_cmd_predict, "class probabilities per sample of a split, as CSV"},
    {"inspect", df_cmd_inspect, "what a checkpoint or safetensors file holds"},
    {"synth", df_cmd_synth, "draw a synthetic dermoscopy dataset (ISIC-DICM-17K or MILK10k layout)"},
    {"compare", df_cmd_compare, "train and compare the models of a study, with statistics"},
    {"config-keys", df_cmd_config_keys, "list every config key, its default and its meaning"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: dermfuse COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\nrun 'dermfuse COMMAND --help' for a command's options\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "dermfuse: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
