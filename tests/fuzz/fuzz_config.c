/* fuzz_config.c: a run config as `dermfuse train CFG --set k=v` loads it.
 *
 * Input: files f0.yaml (the config), f1.yaml, ... (its bases, by those names) and --set overrides, in
 * fuzz_util.h's "#@file" / "#@set" format. For each input:
 *   1. df_cfg_load (bases merged) and df_cfg_set_all give the tree; its dump (df_cfg_dump) must parse back
 *      to the same tree (config_tree.h promises it);
 *   2. df_run_config_load loads, overrides, binds to the run schema and checks the combinations, as the
 *      command does; the resolved text it keeps (saved with the run and in checkpoints) must parse and bind
 *      back to the same config.
 * The custom mutator writes schema-aware YAML (fuzz_yaml.h) besides libFuzzer's byte mutations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "fuzz_yaml.h"
#include "train/config/config_schema.h"
#include "train/config/config_tree.h"
#include "train/config/run_config.h"

static const fuzz_yaml_schemas schemas = {&df_run_schema, &df_run_schema, &df_run_schema};

static char *dump(const df_cfg_node *n) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f || df_cfg_dump(n, f) || fclose(f)) fuzz_fail("df_cfg_dump failed");
    return text;
}

static void check_tree_round_trip(const df_cfg_node *root) {
    char *text = dump(root);
    df_cfg_node *back;
    df_error err;
    if (df_cfg_parse_string(text, "<dump>", 0, "/", &back, &err))
        fuzz_fail("the dump of a loaded config does not parse: %s\n--- dump:\n%s", err.msg, text);
    char where[256];
    if (df_cfg_tree_diff(root, back, NULL, where, sizeof where)) {
        const df_cfg_node *a = df_cfg_find(root, where), *b = df_cfg_find(back, where);
        fuzz_fail("the dump of a loaded config reads back differently at '%s' (%s%s%s, read back as %s%s%s)\n"
                  "--- dump:\n%s", where, a && a->quoted ? "quoted " : "", a ? "text " : "", a ? a->text : "?",
                  b && b->quoted ? "quoted " : "", b ? "text " : "", b ? b->text : "?", text);
    }
    df_cfg_free(back);
    free(text);
}

static void check_resolved_text(const df_run_config *cfg) {
    df_cfg_node *tree;
    df_error err;
    if (df_cfg_parse_string(cfg->text, "<resolved>", 0, "/", &tree, &err))
        fuzz_fail("the resolved config does not parse: %s\n--- text:\n%s", err.msg, cfg->text);
    df_run_config back;
    if (df_cfg_bind(tree, &df_run_schema, &back, &err))
        fuzz_fail("the resolved config does not bind: %s\n--- text:\n%s", err.msg, cfg->text);
    char where[256];
    if (df_cfg_compare(&df_run_schema, cfg, &back, where, sizeof where))
        fuzz_fail("the resolved config binds back differently at '%s'\n--- text:\n%s", where, cfg->text);
    df_cfg_release(&df_run_schema, &back);
    df_cfg_free(tree);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_reset();
    fuzz_parts p;
    fuzz_split(data, size, &p);
    const char *path = fuzz_write_parts(&p, ".yaml");
    df_error err;
    df_cfg_node *root;
    if (df_cfg_load(path, &root, &err) == 0) {
        if (df_cfg_set_all(root, p.set, p.n_sets, &err) == 0) check_tree_round_trip(root);
        else fuzz_note("df_cfg_set_all", err.msg);
        df_cfg_free(root);
    } else {
        fuzz_note("df_cfg_load", err.msg);
    }
    df_run_config cfg;
    if (df_run_config_load(path, p.set, p.n_sets, &cfg, &err) == 0) {
        check_resolved_text(&cfg);
        df_run_config_free(&cfg);
    } else {
        fuzz_note("df_run_config_load", err.msg);
    }
    fuzz_parts_free(&p);
    return 0;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed) {
    return fuzz_yaml_mutate(&schemas, data, size, max_size, seed);
}
