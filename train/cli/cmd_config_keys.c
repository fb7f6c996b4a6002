/* cmd_config_keys.c: `dermfuse config-keys`: every config key with its type, default and meaning. */
#include <stdio.h>

#include "train/cli/commands.h"
#include "train/config/config_schema.h"


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
        printf("  %-24s %-8s %-22s %s", key, type_names[f->type], f->required ? "(required)" : f->def,
               f->help ? f->help : "");
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
    df_args_spec spec = {"config-keys", DF_SUMMARY_CONFIG_KEYS, NULL, 0, NULL, 0};
    int st = df_args_parse(&spec, argc, argv, stdout, stderr);
    if (st) return df_args_exit_status(st);
    printf("config keys: name, type, default, meaning\n");
    print_section(&df_run_schema, "");
    return 0;
}
