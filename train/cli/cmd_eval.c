/* cmd_eval.c: `dermfuse eval CONFIG` (metrics of a run's checkpoint on a split, as a table and JSON) and
 * `dermfuse predict CONFIG --out FILE.csv` (class probabilities per sample of a split, as CSV). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/io/files.h"

#include "train/cli/commands.h"
#include "train/late/run.h"
#include "train/session/run_data.h"
#include "train/session/run_files.h"

static int split_of(const char *name) {
    for (int s = 0; s < DF_N_SPLITS; s++)
        if (!strcmp(name, df_split_names[s])) return s;
    return -1;
}

/* best and last are the run folder's; any other name is a file as the user typed it, relative to the working
 * directory (made absolute here, so the session does not read it as a name inside the run folder). A late-fusion
 * run has a checkpoint per part, so only best or last can name them. NULL after printing why. */
static char *checkpoint_file(const char *name, const df_run_config *cfg) {
    if (!strcmp(name, "best")) return df_strdup("best.safetensors");
    if (!strcmp(name, "last")) return df_strdup("last.safetensors");
    if (cfg->model.fusion == DF_FUSION_LATE) {
        fprintf(stderr, "dermfuse: --checkpoint %s: a late-fusion run has one checkpoint per part; use best or "
                        "last\n", name);
        return NULL;
    }
    if (name[0] == '/') return df_strdup(name);
    char *cwd = getcwd(NULL, 0);
    char *path = cwd ? df_path_join(cwd, name) : df_strdup(name);
    free(cwd);
    return path;
}

static int print_metrics(const df_run_config *cfg, const char *split_name, const df_predictions *p,
                         const df_dataset *ds, df_error *err) {
    df_metrics m;
    if (df_predictions_metrics(p, &m, err)) return -1;
    printf("%s, %s split, %d samples", cfg->run.name, split_name, p->n);
    if (p->K == 2) printf(" (positive class: %s)", ds->class_names[1]);
    printf(":\n");
    /* Macro-F1 only where it differs from F1's meaning (more than two classes); MILK10k's challenge metric is
     * named so only for that layout. */
    const char *macro = p->K <= 2 ? NULL : cfg->data.layout == DF_LAYOUT_MILK10K ? "macro-F1 (MILK10k)" : "macro-F1";
    int rc = df_metrics_write_markdown_header(stdout, macro, err);
    if (rc == 0) rc = df_metrics_write_markdown_row(&m, cfg->run.name, macro != NULL, stdout, err);
    if (rc == 0) rc = df_metrics_write_json(&m, (const char *const *)ds->class_names, stdout, err);
    printf("\n");
    return rc;
}

/* MILK10k's challenge takes lesion_id and one probability column per class; other layouts also get the true
 * label, for analysis. Written whole through a temporary file, never half. */
static int write_predictions(const df_run_config *cfg, const char *path, const df_predictions *p,
                             const df_dataset *ds, df_error *err) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    df_predictions_csv(f, ds, p, cfg->data.layout == DF_LAYOUT_MILK10K);
    fclose(f);
    int rc = df_write_file_atomic(path, text, len, err);
    free(text);
    if (rc == 0) printf("wrote %d predictions to %s\n", p->n, path);
    return rc;
}

static int eval_or_predict(int argc, char **argv, int write_csv) {
    static const df_cli_command eval = {"eval", DF_SUMMARY_EVAL,
                                        "CONFIG", "the run's YAML config", DF_CLI_CHECKPOINT_SPLIT,
                                        DF_EXAMPLES_EVAL};
    static const df_cli_command predict = {"predict", DF_SUMMARY_PREDICT, "CONFIG",
                                           "the run's YAML config", DF_CLI_CHECKPOINT_SPLIT | DF_CLI_OUT,
                                           DF_EXAMPLES_PREDICT};
    df_cli cli;
    int st = df_cli_parse(write_csv ? &predict : &eval, argc, argv, &cli);
    if (st) return df_args_exit_status(st);
    int split = split_of(cli.split);
    df_run_config cfg;
    if (df_cli_load_config(&cli, &cfg)) return 1;
    char *checkpoint = checkpoint_file(cli.checkpoint ? cli.checkpoint
                                                      : df_test_checkpoint_names[cfg.train.test_checkpoint], &cfg);
    if (!checkpoint) {
        df_run_config_free(&cfg);
        return 2;
    }
    df_error err;
    df_predictions p;
    df_run_data rd;
    int rc = df_run_predict(&cfg, checkpoint, split, 0, &p, &rd, NULL, &err);
    free(checkpoint);
    if (rc == 0) {
        rc = write_csv ? write_predictions(&cfg, cli.out, &p, rd.ds[split], &err)
                       : print_metrics(&cfg, cli.split, &p, rd.ds[split], &err);
        df_predictions_free(&p);
        df_run_data_free(&rd);
    }
    if (rc) df_cli_error(err.msg);
    df_run_config_free(&cfg);
    return rc ? 1 : 0;
}

int df_cmd_eval(int argc, char **argv) { return eval_or_predict(argc, argv, 0); }
int df_cmd_predict(int argc, char **argv) { return eval_or_predict(argc, argv, 1); }
