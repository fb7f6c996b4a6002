/* config_load.c: loading a config with its `base:` files, merged under it (see config_tree.h).
 *
 * Bases are found through the chain of files being loaded (by real path), so a cycle is caught whatever
 * names it goes by, while the same base reached through two branches (a diamond) is simply loaded twice. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "train/config/config_tree.h"

static void swap_marks(df_cfg_node *a, df_cfg_node *b) {
    char *f = a->file, *d = a->dir;
    int l = a->line, c = a->column;
    a->file = b->file, a->dir = b->dir, a->line = b->line, a->column = b->column;
    b->file = f, b->dir = d, b->line = l, b->column = c;
}

df_cfg_node *df_cfg_merge(df_cfg_node *base, df_cfg_node *over) {
    if (base->kind != DF_CFG_NODE_MAP || over->kind != DF_CFG_NODE_MAP) {
        df_cfg_free(base);
        return over;
    }
    for (int i = 0; i < over->n; i++) {
        int j = 0;
        while (j < base->n && strcmp(base->keys[j]->text, over->keys[i]->text) != 0) j++;
        if (j < base->n) {
            base->items[j] = df_cfg_merge(base->items[j], over->items[i]);
            df_cfg_free(over->keys[i]);
        } else {
            df_cfg_append(base, over->keys[i], over->items[i]);
        }
    }
    /* The merged mapping is marked where the overriding file wrote it. */
    swap_marks(base, over);
    over->n = 0;
    df_cfg_free(over);
    return base;
}

/* Removes the top-level `base` entry and returns its value (NULL if none); the key node is freed. */
static df_cfg_node *take_base(df_cfg_node *root) {
    for (int i = 0; i < root->n; i++) {
        if (strcmp(root->keys[i]->text, "base") != 0) continue;
        df_cfg_node *value = root->items[i];
        df_cfg_free(root->keys[i]);
        memmove(root->keys + i, root->keys + i + 1, (size_t)(root->n - i - 1) * sizeof *root->keys);
        memmove(root->items + i, root->items + i + 1, (size_t)(root->n - i - 1) * sizeof *root->items);
        root->n--;
        return value;
    }
    return NULL;
}

static int check_base_name(const df_cfg_node *n, df_error *err) {
    if (n->kind != DF_CFG_NODE_SCALAR || df_cfg_is_null(n))
        return df_cfg_fail(err, n, "'base' must be a config file name or a list of file names");
    return 0;
}

typedef struct {
    char *real[DF_CFG_MAX_BASE_DEPTH + 1];
    char *shown[DF_CFG_MAX_BASE_DEPTH + 1];
    int depth;
    int files_read; /* every inclusion counted, so repeated diamonds cannot explode */
} chain;

static int load_rec(const char *shown, const df_cfg_node *from, chain *ch, df_cfg_node **out, df_error *err);

static int load_base(const df_cfg_node *name, const char *including, chain *ch, df_cfg_node **out,
                     df_error *err) {
    /* Shown relative to the including file's name, so marks read like the paths the user typed. */
    char shown[PATH_MAX];
    const char *slash = strrchr(including, '/');
    int n;
    if (name->text[0] == '/' || !slash)
        n = snprintf(shown, sizeof shown, "%s", name->text);
    else
        n = snprintf(shown, sizeof shown, "%.*s/%s", (int)(slash - including), including, name->text);
    if (n < 0 || (size_t)n >= sizeof shown) return df_cfg_fail(err, name, "base path is too long");
    return load_rec(shown, name, ch, out, err);
}

static int load_rec(const char *shown, const df_cfg_node *from, chain *ch, df_cfg_node **out, df_error *err) {
    char *real = realpath(shown, NULL);
    if (!real) {
        if (from) return df_cfg_fail(err, from, "cannot open base config '%s': %s", shown, strerror(errno));
        return df_fail(err, "%s: cannot open config: %s", shown, strerror(errno));
    }
    for (int i = 0; i < ch->depth; i++) {
        if (strcmp(ch->real[i], real) != 0) continue;
        char msg[900];
        size_t len = 0;
        for (int k = i; k < ch->depth && len < sizeof msg; k++)
            len += (size_t)snprintf(msg + len, sizeof msg - len, "%s -> ", ch->shown[k]);
        if (len < sizeof msg) snprintf(msg + len, sizeof msg - len, "%s", shown);
        free(real);
        return df_cfg_fail(err, from, "base configs form a cycle: %s", msg);
    }
    if (ch->depth >= DF_CFG_MAX_BASE_DEPTH) {
        free(real);
        return df_cfg_fail(err, from, "bases nest deeper than the limit of %d files (config.base_depth)",
                           DF_CFG_MAX_BASE_DEPTH);
    }
    if (++ch->files_read > DF_LIMIT_CONFIG_BASE_FILES) {
        free(real);
        return df_cfg_fail(err, from, "more than the limit of %d base files read for one config, each inclusion "
                           "counted (config.base_files); a base listed twice is read twice",
                           DF_LIMIT_CONFIG_BASE_FILES);
    }
    df_cfg_node *root;
    if (df_cfg_parse_file(shown, &root, err)) {
        free(real);
        return -1;
    }
    df_cfg_node *bases = take_base(root);
    if (!bases) {
        free(real);
        *out = root;
        return 0;
    }
    int rc = 0;
    if (bases->kind == DF_CFG_NODE_SEQ) {
        if (bases->n == 0) rc = df_cfg_fail(err, bases, "'base' is an empty list");
        for (int i = 0; i < bases->n && !rc; i++) rc = check_base_name(bases->items[i], err);
    } else {
        rc = check_base_name(bases, err);
    }
    df_cfg_node *merged = NULL;
    if (!rc) {
        ch->real[ch->depth] = real;
        ch->shown[ch->depth] = (char *)shown;
        ch->depth++;
        int count = bases->kind == DF_CFG_NODE_SEQ ? bases->n : 1;
        for (int i = 0; i < count && !rc; i++) {
            const df_cfg_node *name = bases->kind == DF_CFG_NODE_SEQ ? bases->items[i] : bases;
            df_cfg_node *b;
            rc = load_base(name, shown, ch, &b, err);
            if (!rc) merged = merged ? df_cfg_merge(merged, b) : b;
        }
        ch->depth--;
    }
    free(real);
    df_cfg_free(bases);
    if (rc) {
        df_cfg_free(merged);
        df_cfg_free(root);
        return -1;
    }
    *out = df_cfg_merge(merged, root);
    return 0;
}

int df_cfg_load(const char *path, df_cfg_node **root, df_error *err) {
    chain ch = {.depth = 0, .files_read = 0};
    *root = NULL;
    return load_rec(path, NULL, &ch, root, err);
}
