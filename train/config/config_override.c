/* config_override.c: `--set a.b.c=value` overrides on a loaded config tree (see config_tree.h). The value is
 * YAML text; nothing after '=' is the empty string.
 *
 * Keys created by an override are marked with the column of their own path component, so a misspelt key
 * is reported by the schema binder pointing into the --set argument that introduced it. */
#include <stdlib.h>
#include <string.h>

#include "train/config/config_tree.h"

static int key_char(char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
           ch == '-';
}

int df_cfg_set(df_cfg_node *root, const char *assignment, df_error *err) {
    DF_ASSERT(root && root->kind == DF_CFG_NODE_MAP);
    /* The mark names the argument; a very long one is shortened so messages keep their reason. */
    size_t shown = strlen(assignment) > 160 ? 160 : strlen(assignment);
    size_t name_len = shown + 40;
    char *file = df_malloc(name_len);
    snprintf(file, name_len, "<command line --set %.*s%s>", (int)shown, assignment,
             shown < strlen(assignment) ? "..." : "");
    df_cfg_node *value = NULL;
    int rc = -1;

    const char *eq = strchr(assignment, '=');
    if (!eq) {
        df_fail(err, "%s:1:1: expected key.path=value", file);
        goto done;
    }
    /* Check the whole path before touching the tree, so a failed override changes nothing. */
    size_t component = 0;
    int parts = 1;
    for (const char *p = assignment; p < eq; p++) {
        parts += *p == '.';
        int at_start = p == assignment || p[-1] == '.';
        if (*p == '.' ? (at_start || p + 1 == eq) : !key_char(*p)) {
            df_fail(err, "%s:1:%d: a key path is names of letters, digits, '_' or '-' joined by '.'", file,
                    (int)(p - assignment) + 1);
            goto done;
        }
        component = *p == '.' ? 0 : component + 1;
        if (component >= 256) {
            df_fail(err, "%s:1:%d: key is too long", file, (int)(p - assignment) + 1);
            goto done;
        }
    }
    if (eq == assignment) {
        df_fail(err, "%s:1:1: empty key before '='", file);
        goto done;
    }
    if (!eq[1]) {
        /* `key=` is the empty string, as '' would be in a file: a string or path key takes it (a path then names
         * none), and the binder refuses it for a number, boolean, choice or list. */
        value = df_cfg_new(DF_CFG_NODE_SCALAR, "", 1, file, NULL, 1, (int)(eq + 1 - assignment) + 1);
    } else if (df_cfg_parse_string(eq + 1, file, (int)(eq + 1 - assignment), NULL, &value, err)) {
        goto done;
    }
    if (value->kind == DF_CFG_NODE_MAP) {
        df_cfg_fail(err, value, "a --set value must be a value or a list [a, b]; set one key at a time");
        goto done;
    }
    /* The root mapping and one mapping per dotted part before the last, then the value's own levels. */
    if (parts + df_cfg_depth(value) > DF_LIMIT_CONFIG_DEPTH) {
        df_fail(err, "%s:1:1: the key path and value nest deeper than the limit of %d levels (config.depth)",
                file, DF_LIMIT_CONFIG_DEPTH);
        goto done;
    }

    df_cfg_node *cur = root;
    const char *p = assignment;
    for (;;) {
        const char *dot = memchr(p, '.', (size_t)(eq - p));
        const char *end = dot ? dot : eq;
        char key[256];
        size_t len = (size_t)(end - p);
        int col = (int)(p - assignment) + 1;
        DF_ASSERT(len < sizeof key);
        memcpy(key, p, len);
        key[len] = '\0';
        int idx = -1;
        for (int i = 0; i < cur->n; i++)
            if (strcmp(cur->keys[i]->text, key) == 0) idx = i;
        if (!dot) {
            value->line = 1;
            if (idx >= 0) {
                df_cfg_free(cur->items[idx]);
                cur->items[idx] = value;
            } else {
                df_cfg_append(cur, df_cfg_new(DF_CFG_NODE_SCALAR, key, 0, file, NULL, 1, col), value);
            }
            value = NULL;
            rc = 0;
            goto done;
        }
        if (idx < 0) {
            df_cfg_node *map = df_cfg_new(DF_CFG_NODE_MAP, "", 0, file, NULL, 1, col);
            df_cfg_append(cur, df_cfg_new(DF_CFG_NODE_SCALAR, key, 0, file, NULL, 1, col), map);
            cur = map;
        } else if (cur->items[idx]->kind != DF_CFG_NODE_MAP) {
            const df_cfg_node *v = cur->items[idx];
            df_fail(err, "%s:1:%d: '%.*s' is a value, not a section (set at %s:%d:%d)", file, col,
                    (int)(end - assignment), assignment, v->file, v->line, v->column);
            goto done;
        } else {
            cur = cur->items[idx];
        }
        p = dot + 1;
    }
done:
    df_cfg_free(value);
    free(file);
    return rc;
}

int df_cfg_set_all(df_cfg_node *root, const char *const *assignments, int n, df_error *err) {
    for (int i = 0; i < n; i++)
        if (df_cfg_set(root, assignments[i], err)) return -1;
    return 0;
}
