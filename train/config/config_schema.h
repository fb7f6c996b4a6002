/* config_schema.h: binding a config tree to C structs through a declarative table, strictly.
 *
 * A section is a table of fields; each field names its key, type, place in the struct, whether it is
 * required, its range or choices and its default. df_cfg_bind fills the struct from a mapping and refuses,
 * with a message beginning `file:line:column: `:
 *   - a key the section does not declare (with "did you mean" the nearest declared key),
 *   - a value of the wrong type ("expected an integer, got 'abc'"), an empty (null) value,
 *   - a number outside the field's range or its C type, a non-finite number,
 *   - an enum value outside its choices (listing them), a path that must exist and does not,
 *   - a missing required key (marked where its section is).
 * A field that is absent takes its default, written in the table as YAML text and parsed by the same code,
 * so defaults obey the same rules (df_cfg_check_schema tests every default without a config).
 *
 * Scalar rules: bool is plain `true` or `false`; integers are plain decimal ([+-]digits); numbers are plain
 * decimal or exponent notation (an integer is a valid number; .inf/.nan are refused); quoted values are
 * strings and never numbers or booleans. Strings accept plain or quoted text; write '' for an empty string.
 *
 * Struct members by type:  BOOL int (0/1) | INT int | LONG long | DOUBLE double | ENUM an enum (int-sized):
 * the index of the value in the field's choices, so a choices table is the C enum's names table, in the
 * enum's order, owned by the subsystem that defines the enum | STRING, PATH char* (owned, freed by
 * df_cfg_release) | STRINGS char*[cap] | INTS long[cap] | DOUBLES double[cap], each list with
 * an int count member | SECTION a nested struct.
 *
 * Paths: a relative path is resolved against the directory of the file that wrote it (the working directory
 * for --set values and defaults), giving an absolute path, so a dumped config reloads to the same struct from
 * anywhere. The empty string stays empty (it means "none"); DF_CFG_MUST_EXIST checks non-empty paths only.
 *
 * Example:
 *   typedef enum { OPT_SGD, OPT_ADAM } opt_kind;
 *   static const char *const optimizers[] = {"sgd", "adam", NULL};  (opt_kind's names, in its order)
 *   static const df_cfg_field train_fields[] = {
 *       {"lr", DF_CFG_DOUBLE, DF_CFG_AT(train_cfg, lr), .required = 1, .range = "(0, inf)",
 *        .help = "learning rate"},
 *       {"optimizer", DF_CFG_ENUM, DF_CFG_AT(train_cfg, optimizer), .choices = optimizers, .def = "sgd"},
 *       {"milestones", DF_CFG_INTS, DF_CFG_LIST_AT(train_cfg, milestones, n_milestones),
 *        .range = "[1, inf)", .def = "[]"},
 *   };
 *   static const df_cfg_section train_section = DF_CFG_SECTION_OF("train", train_fields, train_cfg);
 */
#ifndef DF_CONFIG_SCHEMA_H
#define DF_CONFIG_SCHEMA_H

#include <stddef.h>
#include <stdio.h>

#include "core/error.h"
#include "train/config/config_tree.h"

typedef enum {
    DF_CFG_BOOL = 1,
    DF_CFG_INT,
    DF_CFG_LONG,
    DF_CFG_DOUBLE,
    DF_CFG_STRING,
    DF_CFG_ENUM,
    DF_CFG_PATH,
    DF_CFG_STRINGS,
    DF_CFG_INTS,
    DF_CFG_DOUBLES,
    DF_CFG_SECTION,
} df_cfg_type;

enum {
    DF_CFG_MUST_EXIST = 1, /* PATH: a non-empty path must name an existing file or folder */
    DF_CFG_NONEMPTY = 2,   /* STRING, ENUM, PATH, and list items: "" is refused */
    /* A number, bool or enum, or a list whose default is []: left out of the resolved config (dumps, tables,
     * comparisons) while it holds its default. A key added later whose default keeps the old behaviour thus
     * leaves the saved config of every run that does not use it as it was, and such a run still resumes. */
    DF_CFG_OMIT_DEFAULT = 4,
};

struct df_cfg_section;

typedef struct df_cfg_field {
    const char *key;
    df_cfg_type type;
    size_t offset;       /* of the member (lists: of the array) */
    size_t count_offset; /* lists: of the int item count */
    int capacity;        /* lists: array length */
    int required;        /* no default: the key must be given (a SECTION: the section must be given) */
    /* Numbers and number-list items: an interval such as "[0, 1)", "(0, inf)", "[1, 4096]"; NULL: any
     * finite value (integers: any value of their C type). */
    const char *range;
    const char *const *choices;       /* ENUM: the enum's names, in its order, NULL-terminated */
    const struct df_cfg_section *sub; /* SECTION */
    int flags;                        /* DF_CFG_MUST_EXIST, DF_CFG_NONEMPTY, DF_CFG_OMIT_DEFAULT */
    const char *help;                 /* one line, shown by df_cfg_print_table */
    const char *def;                  /* default as YAML text ("0.9", "adam", "[]", "''"); NULL if required */
} df_cfg_field;

typedef struct df_cfg_section {
    const char *name; /* for messages: "train"; the root section's name is not shown */
    const df_cfg_field *fields;
    int n_fields;
    size_t size; /* sizeof the struct */
} df_cfg_section;

#define DF_CFG_AT(type, member) offsetof(type, member)
#define DF_CFG_LIST_AT(type, member, count)                                                       \
    offsetof(type, member), offsetof(type, count),                                                 \
        (int)(sizeof(((type *)0)->member) / sizeof(((type *)0)->member[0]))
#define DF_CFG_SECTION_OF(name, fields, type)                                                      \
    { (name), (fields), (int)(sizeof(fields) / sizeof((fields)[0])), sizeof(type) }

/* Checks the table itself (keys unique, choices/sub/capacity present, ranges well formed, every
 * non-required field has a default and every default binds). For tests of a schema. */
int df_cfg_check_schema(const df_cfg_section *s, df_error *err);

/* Fills obj (a struct of s->size bytes; zeroed first) from the mapping root. On failure obj is released
 * (zeroed, nothing to free). */
int df_cfg_bind(const df_cfg_node *root, const df_cfg_section *s, void *obj, df_error *err);

/* Load (with bases), apply n_sets overrides "a.b=c", bind. */
int df_cfg_load_bind(const char *path, const char *const *sets, int n_sets, const df_cfg_section *s, void *obj,
                     df_error *err);

/* Frees the strings a bind allocated and zeroes obj. */
void df_cfg_release(const df_cfg_section *s, void *obj);

/* The bound values as a tree (every field, defaults included but for DF_CFG_OMIT_DEFAULT ones, in table order; numbers written so they read
 * back exactly). Marked with file `<resolved config>`. */
df_cfg_node *df_cfg_from_struct(const df_cfg_section *s, const void *obj);

/* Writes the bound values as YAML that df_cfg_bind reads back to an equal struct. 0, or -1 on write error. */
int df_cfg_dump_struct(const df_cfg_section *s, const void *obj, FILE *f);
/* The same YAML as a malloc'ed string. */
char *df_cfg_to_yaml(const df_cfg_section *s, const void *obj);

/* One line per field, "  train.lr    0.01    learning rate", for the start of a run. */
void df_cfg_print_table(const df_cfg_section *s, const void *obj, FILE *f);

/* 0 if trees a and b are equal (kinds, texts, keys in order) but for the dotted keys in skip (NULL-terminated,
 * may be NULL); otherwise 1, with the dotted key of the first difference in where ("train.lr",
 * "model.widths[1]"). */
int df_cfg_tree_diff(const df_cfg_node *a, const df_cfg_node *b, const char *const *skip, char *where,
                     size_t where_size);

/* 0 if a and b hold the same values; otherwise 1, with the dotted key of the first difference in where. */
int df_cfg_compare(const df_cfg_section *s, const void *a, const void *b, char *where, size_t where_size);

#endif
