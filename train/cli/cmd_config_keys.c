/* cmd_config_keys.c: `dermfuse config-keys [--run|--study]`: every key of run configs and of study files
 * (`dermfuse compare`), with its type, default and meaning. */
#include <stdio.h>

#include "train/cli/commands.h"
#include "train/config/config_schema.h"
#include "train/study/study.h"

static void print_section(const df_cfg_section *s, const char *prefix) {
    static const char *const type_names[] = {"", "bool", "int", "int", "number", "string", "choice", "path",
                                             "strings", "ints", "numbers", "section"};
    for (int i = 0; i < s->n_fields; i++) {
        const df_cfg_field *f = &s->fields[i];
        char key[128];
        snprintf(key, sizeof key, "%s%s%s", prefix, *prefix ? "." : "", f->key);
        if (f->type == DF_CFG_SECTION) {
            print_section(f->sub, key);
            continue;
        }
        const char *def = f->required ? "(required)" : f->def ? f->def : "";
        if (f->help && *f->help) printf("  %-24s %-8s %-22s %s", key, type_names[f->type], def, f->help);
        else printf("  %-24s %-8s %s", key, type_names[f->type], def);
        if (f->choices) {
            printf(" [");
            for (const char *const *c = f->choices; *c; c++) printf("%s%s", c == f->choices ? "" : " ", *c);
            printf("]");
        }
        if (f->range) printf(" range %s", f->range);
        printf("\n");
    }
}

int df_cmd_config_keys(int argc, char **argv) {
    int run = 0, study = 0;
    df_arg_opt opts[] = {
        DF_OPT_FLAG("--run", &run, "only the keys of run configs (train, eval, predict, show-batch)"),
        DF_OPT_FLAG("--study", &study, "only the keys of study files (compare)"),
    };
    df_args_spec spec = {"config-keys", DF_SUMMARY_CONFIG_KEYS, opts, 2, NULL, 0, DF_EXAMPLES_CONFIG_KEYS};
    int st = df_args_parse(&spec, argc, argv, stdout, stderr);
    if (st) return df_args_exit_status(st);
    if (!run && !study) run = study = 1;
    if (run) {
        printf("run config keys (dermfuse train, eval, predict, show-batch): name, type, default, meaning\n");
        print_section(&df_run_schema, "");
    }
    if (study) {
        printf("%sstudy file keys (dermfuse compare): name, type, default, meaning\n", run ? "\n" : "");
        print_section(&df_study_schema, "");
    }
    return 0;
}
