/* fuzz_config.c: a run config as `dermfuse train CFG --set k=v` loads it.
 *
 * Input: files f0.yaml (the config), f1.yaml, ... (its bases, by those names) and --set overrides, in
 * fuzz_util.h's "#@file" / "#@set" format. For each input:
 *   1. df_cfg_load (bases merged) and df_cfg_set_all give the tree; its dump (df_cfg_dump) must parse back
 *      to the same tree (config_tree.h promises it; plain nulls are one value, quotes may go where they
 *      cannot change a type, as tests/train/config holds it);
 *   2. df_run_config_load loads, overrides, binds to the run schema and checks the combinations, as the
 *      command does; the resolved text it keeps (saved with the run and in checkpoints) must parse and bind
 *      back to the same config.
 * The custom mutator writes schema-aware YAML (fuzz_yaml.h) besides libFuzzer's byte mutations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* A plain string that a reader could take for a number, a boolean or null. */
static int looks_typed(const char *t) {
    static const char *const words[] = {"~", "null", "true", "false", "yes", "no", "on", "off", "y", "n", NULL};
    for (int i = 0; words[i]; i++)
        if (!strcasecmp(t, words[i])) return 1;
    return t[0] && strchr("0123456789+-.", t[0]) != NULL;
}

/* A plain scalar that the schema reads as a number or a boolean (null is checked apart). */
static int typed_value(const char *t) {
    if (!strcmp(t, "true") || !strcmp(t, "false")) return 1;
    char *end;
    strtod(t, &end);
    return end != t && !*end;
}

/* Whether b is a as a config reads it: kinds, keys and texts equal, except that all plain nulls ("", "~",
 * "null") are one value and a string's quotes may come or go where that cannot change its type (as the
 * config tests hold the dump to): a quoted string comes back plain only when it does not look typed, and a
 * plain scalar comes back quoted only when it was not a number or a boolean. *where gets the first
 * difference: its dotted path and both texts. */
static int same_tree(const df_cfg_node *a, const df_cfg_node *b, const char *path, char *where, size_t size) {
    int null_a = df_cfg_is_null(a), null_b = df_cfg_is_null(b);
    int quotes_ok = a->quoted == b->quoted || (a->quoted ? !looks_typed(a->text) : !typed_value(a->text));
    int same = null_a || null_b ? null_a && null_b
                                : a->kind == b->kind && a->n == b->n && !strcmp(a->text, b->text) && quotes_ok;
    for (int i = 0; same && !null_a && i < a->n; i++) {
        char sub[512];
        if (a->keys) snprintf(sub, sizeof sub, "%s.%s", path, a->keys[i]->text);
        else snprintf(sub, sizeof sub, "%s[%d]", path, i);
        if (a->keys && strcmp(a->keys[i]->text, b->keys[i]->text)) {
            snprintf(where, size, "'%s': the key reads back as '%s'", sub, b->keys[i]->text);
            return 0;
        }
        if (!same_tree(a->items[i], b->items[i], sub, where, size)) return 0;
    }
    if (!same) snprintf(where, size, "'%s': %s'%s' reads back as %s'%s'", path, a->quoted ? "quoted " : "",
                        a->text, b->quoted ? "quoted " : "", b->text);
    return same;
}

static void check_tree_round_trip(const df_cfg_node *root) {
    char *text = dump(root);
    df_cfg_node *back;
    df_error err;
    if (df_cfg_parse_string(text, "<dump>", 0, "/", &back, &err))
        fuzz_fail("the dump of a loaded config does not parse: %s\n--- dump:\n%s", err.msg, text);
    char where[1024];
    if (!same_tree(root, back, "", where, sizeof where))
        fuzz_fail("the dump of a loaded config reads back differently at %s\n--- dump:\n%s", where, text);
    /* and the comparison resume uses finds a copy equal */
    df_cfg_node *copy = df_cfg_copy(root);
    if (df_cfg_tree_diff(root, copy, NULL, where, sizeof where))
        fuzz_fail("a tree differs from its copy at '%s'", where);
    df_cfg_free(copy);
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
