/* config_tree.h: YAML configs as a small tree of nodes that remember where each value was written.
 *
 * A config file is read with libyaml into mappings (keys kept in file order), sequences and scalars
 * (text kept verbatim, with a flag saying whether it was quoted). Every node carries the file, line and
 * column (1-based) that supplied it, so any later error can begin with `file:line:column: `.
 *
 * Accepted YAML, strictly: one document whose top level is a mapping (an empty file is an empty mapping);
 * keys are non-empty scalars; a duplicate key is an error naming both places. Anchors and aliases are
 * supported (an alias is a deep copy of the anchored node; the copy's top node is marked where the alias
 * was written, its inner nodes where they were first written). A document that expands past
 * DF_LIMIT_CONFIG_NODES values, or nests mappings and lists (aliases expanded) deeper than
 * DF_LIMIT_CONFIG_DEPTH, is refused (core/limits.h), so no tree is deep enough for the recursive walks here
 * to exhaust the stack. Tags (`!!str`), merge keys (`<<`) and multiple documents are refused.
 *
 * Bases: a top-level key `base:` names one file or a list of files (relative to the including file). Each
 * base is loaded the same way (bases of bases included), later bases override earlier ones, and the
 * including file overrides them all: mappings merge key by key, recursively; scalars and sequences are
 * replaced whole. A node keeps the marks of the file that supplied it. A base that includes itself through
 * any chain is an error listing the chain. A base reached twice (a diamond) is read twice, so the files read
 * for one config, each inclusion counted, are limited (DF_LIMIT_CONFIG_BASE_FILES): a few dozen levels of
 * files listing the same base twice would otherwise take exponential time. The `base` key is removed from
 * the loaded tree.
 *
 * Overrides: `df_cfg_set(root, "train.lr=0.01")` parses the value as YAML (a scalar or a flow sequence
 * `[a, b]`; a mapping is refused: set one key per override; the path and the value together nest at most
 * DF_LIMIT_CONFIG_DEPTH levels; nothing after '=' is the empty string, as a quoted '' is, so the binder takes
 * it for a string or path key only) and puts it at the dotted path, replacing a
 * value or creating keys and mappings on the way. Such nodes are marked with the file
 * `<command line --set train.lr=0.01>`, line 1 and the column within that argument. Whether the key is
 * valid is decided when the tree is bound to a schema (config_schema.h).
 *
 * Relative paths inside a value are resolved (by the schema binder) against the node's `dir`: the
 * absolute directory of the file that supplied it, or the working directory for --set values and
 * schema defaults. */
#ifndef DF_CONFIG_TREE_H
#define DF_CONFIG_TREE_H

#include "core/limits.h"

#include <stdio.h>

#include "core/error.h"

#define DF_CFG_MAX_NODES DF_LIMIT_CONFIG_NODES
#define DF_CFG_MAX_FILE_BYTES DF_LIMIT_CONFIG_BYTES
#define DF_CFG_MAX_BASE_DEPTH DF_LIMIT_CONFIG_BASE_DEPTH

typedef enum { DF_CFG_NODE_SCALAR = 1, DF_CFG_NODE_SEQ, DF_CFG_NODE_MAP } df_cfg_kind;

typedef struct df_cfg_node {
    df_cfg_kind kind;
    char *text;                 /* scalar: its text, never NULL ("" for an empty value) */
    int quoted;                 /* scalar: written quoted or as a block scalar, so always a string */
    int n;                      /* seq, map: number of items */
    struct df_cfg_node **items; /* seq: the items; map: the values */
    struct df_cfg_node **keys;  /* map: the keys (scalar nodes, with their own marks), in order */
    char *file;                 /* a path, "<command line --set ...>", "<default of a.b>" */
    char *dir;                  /* absolute directory that relative paths in this value are against */
    int line, column;           /* 1-based */
} df_cfg_node;

/* Loads a config file and its bases into *root (a mapping). */
int df_cfg_load(const char *path, df_cfg_node **root, df_error *err);

/* Parses one file without resolving its bases (`base` stays an ordinary key) into a mapping. */
int df_cfg_parse_file(const char *path, df_cfg_node **out, df_error *err);

/* Parses one YAML document held in text. Marks name `file`; line and column are those within text, except
 * that a first-line column is shifted by col_offset (so a --set value is marked within its argument).
 * dir NULL: the working directory. An empty document gives an empty plain scalar. */
int df_cfg_parse_string(const char *text, const char *file, int col_offset, const char *dir,
                        df_cfg_node **out, df_error *err);

/* Applies one override "a.b.c=value" (see above); n overrides in order with df_cfg_set_all. */
int df_cfg_set(df_cfg_node *root, const char *assignment, df_error *err);
int df_cfg_set_all(df_cfg_node *root, const char *const *assignments, int n, df_error *err);

/* Deep-merges `over` onto `base` as bases are merged (see above). Takes both, returns the result. */
df_cfg_node *df_cfg_merge(df_cfg_node *base, df_cfg_node *over);

/* A mapping's value for key, or NULL; a dotted path ("train.lr") from a mapping, or NULL. */
df_cfg_node *df_cfg_get(const df_cfg_node *map, const char *key);
df_cfg_node *df_cfg_find(const df_cfg_node *root, const char *dotted);

/* Levels of mappings and lists: 0 for a scalar, 1 for a flat list. Trees never exceed DF_LIMIT_CONFIG_DEPTH. */
int df_cfg_depth(const df_cfg_node *node);

/* A plain scalar that YAML reads as null: empty, "~", "null", "Null", "NULL". */
int df_cfg_is_null(const df_cfg_node *node);

/* New nodes (for building trees in code); text and file are copied, dir NULL means the working directory. */
df_cfg_node *df_cfg_new(df_cfg_kind kind, const char *text, int quoted, const char *file, const char *dir,
                        int line, int column);
/* Appends to a sequence (key NULL) or a mapping (key a scalar node); takes the nodes. */
void df_cfg_append(df_cfg_node *parent, df_cfg_node *key, df_cfg_node *value);
df_cfg_node *df_cfg_copy(const df_cfg_node *node);
void df_cfg_free(df_cfg_node *node);

/* Writes the tree as block-style YAML (sequences of scalars in flow style) that parses back to the same
 * tree, marks aside. Returns 0, or -1 on a write error. */
int df_cfg_dump(const df_cfg_node *node, FILE *f);

/* df_fail with the message prefixed by "file:line:column: " of node. */
int df_cfg_fail(df_error *err, const df_cfg_node *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
