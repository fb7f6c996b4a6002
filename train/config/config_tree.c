/* config_tree.c: config nodes and the libyaml event parser that builds them (see config_tree.h).
 *
 * The parser walks libyaml's event stream recursively: each event is copied into a node and deleted before
 * the next is read, so no libyaml memory outlives a call. Every error is formatted with the mark of the
 * offending event. */
#include "train/config/config_tree.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "core/io/files.h"

int df_cfg_fail(df_error *err, const df_cfg_node *at, const char *fmt, ...) {
    if (!err) return -1;
    char msg[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return df_fail(err, "%s:%d:%d: %s", at->file, at->line, at->column, msg);
}

static char *cwd_copy(void) {
    char *cwd = getcwd(NULL, 0); /* allocated to fit (glibc, POSIX.1-2008 extension), freed with free() */
    return cwd ? cwd : df_strdup(".");
}

df_cfg_node *df_cfg_new(df_cfg_kind kind, const char *text, int quoted, const char *file, const char *dir,
                        int line, int column) {
    df_cfg_node *n = df_calloc(1, sizeof *n);
    n->kind = kind;
    n->text = df_strdup(text ? text : "");
    n->quoted = quoted;
    n->file = df_strdup(file);
    n->dir = dir ? df_strdup(dir) : cwd_copy();
    n->line = line;
    n->column = column;
    return n;
}

void df_cfg_append(df_cfg_node *parent, df_cfg_node *key, df_cfg_node *value) {
    DF_ASSERT(parent->kind != DF_CFG_NODE_SCALAR);
    DF_ASSERT((key != NULL) == (parent->kind == DF_CFG_NODE_MAP));
    size_t n = (size_t)parent->n + 1;
    parent->items = df_realloc(parent->items, n * sizeof *parent->items);
    parent->items[n - 1] = value;
    if (key) {
        parent->keys = df_realloc(parent->keys, n * sizeof *parent->keys);
        parent->keys[n - 1] = key;
    }
    parent->n = (int)n;
}

void df_cfg_free(df_cfg_node *node) {
    if (!node) return;
    for (int i = 0; i < node->n; i++) {
        df_cfg_free(node->items[i]);
        if (node->keys) df_cfg_free(node->keys[i]);
    }
    void *owned[] = {node->items, node->keys, node->text, node->file, node->dir, node};
    for (size_t i = 0; i < sizeof owned / sizeof *owned; i++) free(owned[i]);
}

df_cfg_node *df_cfg_copy(const df_cfg_node *src) {
    df_cfg_node *n = df_cfg_new(src->kind, src->text, src->quoted, src->file, src->dir, src->line, src->column);
    for (int i = 0; i < src->n; i++)
        df_cfg_append(n, src->keys ? df_cfg_copy(src->keys[i]) : NULL, df_cfg_copy(src->items[i]));
    return n;
}

df_cfg_node *df_cfg_get(const df_cfg_node *map, const char *key) {
    if (!map || map->kind != DF_CFG_NODE_MAP) return NULL;
    for (int i = 0; i < map->n; i++)
        if (strcmp(map->keys[i]->text, key) == 0) return map->items[i];
    return NULL;
}

df_cfg_node *df_cfg_find(const df_cfg_node *root, const char *dotted) {
    const df_cfg_node *cur = root;
    const char *p = dotted;
    while (cur) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        char key[256];
        if (len >= sizeof key) return NULL;
        memcpy(key, p, len);
        key[len] = '\0';
        cur = df_cfg_get(cur, key);
        if (!dot) return (df_cfg_node *)cur;
        p = dot + 1;
    }
    return NULL;
}

int df_cfg_is_null(const df_cfg_node *n) {
    if (n->kind != DF_CFG_NODE_SCALAR || n->quoted) return 0;
    const char *t = n->text;
    return !t[0] || !strcmp(t, "~") || !strcmp(t, "null") || !strcmp(t, "Null") || !strcmp(t, "NULL");
}

int df_cfg_depth(const df_cfg_node *n) {
    int deepest = 0;
    for (int i = 0; i < n->n; i++) {
        int d = df_cfg_depth(n->items[i]);
        if (d > deepest) deepest = d;
    }
    return n->kind == DF_CFG_NODE_SCALAR ? 0 : deepest + 1;
}

static long count_nodes(const df_cfg_node *n) {
    long c = 1;
    for (int i = 0; i < n->n; i++) c += count_nodes(n->items[i]) + (n->keys ? 1 : 0);
    return c;
}

/* ---- parsing ---- */

typedef struct {
    char *name;
    df_cfg_node *node;
} anchor;

typedef struct {
    yaml_parser_t parser;
    const char *file;
    const char *dir;
    int col_offset;
    anchor *anchors;
    int n_anchors;
    long n_nodes;
    int depth; /* mappings and lists open around the node being parsed */
    df_error *err;
} parse_ctx;

static df_cfg_node *node_at(parse_ctx *c, df_cfg_kind kind, const char *text, int quoted, yaml_mark_t m) {
    int line = (int)m.line + 1;
    int col = (int)m.column + 1 + (m.line == 0 ? c->col_offset : 0);
    c->n_nodes++;
    return df_cfg_new(kind, text, quoted, c->file, c->dir, line, col);
}

static int fail_at(parse_ctx *c, yaml_mark_t m, const char *what, const char *detail) {
    int line = (int)m.line + 1;
    int col = (int)m.column + 1 + (m.line == 0 ? c->col_offset : 0);
    return df_fail(c->err, "%s:%d:%d: %s%s", c->file, line, col, what, detail ? detail : "");
}

/* Fails at the start of ev with a formatted reason and deletes ev (the parser's one way out of an event). */
__attribute__((format(printf, 3, 4))) static int fail_event(parse_ctx *c, yaml_event_t *ev, const char *fmt, ...) {
    char what[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    fail_at(c, ev->start_mark, what, NULL);
    yaml_event_delete(ev);
    return -1;
}

static int next_event(parse_ctx *c, yaml_event_t *ev) {
    if (yaml_parser_parse(&c->parser, ev)) return 0;
    yaml_parser_t *p = &c->parser;
    char detail[512] = "";
    if (p->context)
        snprintf(detail, sizeof detail, " (%s, started at line %d column %d)", p->context,
                 (int)p->context_mark.line + 1,
                 (int)p->context_mark.column + 1 + (p->context_mark.line == 0 ? c->col_offset : 0));
    char what[512];
    snprintf(what, sizeof what, "invalid YAML: %s", p->problem ? p->problem : "unknown libyaml error");
    return fail_at(c, p->problem_mark, what, detail);
}

static void add_anchor(parse_ctx *c, const char *name, df_cfg_node *node) {
    c->anchors = df_realloc(c->anchors, (size_t)(c->n_anchors + 1) * sizeof *c->anchors);
    c->anchors[c->n_anchors].name = df_strdup(name);
    c->anchors[c->n_anchors].node = node;
    c->n_anchors++;
}

static int parse_node(parse_ctx *c, yaml_event_t *ev, df_cfg_node **out);

/* Reads the next event and parses the node it starts. */
static int parse_next(parse_ctx *c, yaml_event_t *ev, df_cfg_node **out) {
    if (next_event(c, ev)) return -1;
    return parse_node(c, ev, out);
}

static int parse_alias(parse_ctx *c, yaml_event_t *ev, df_cfg_node **out) {
    const char *name = (const char *)ev->data.alias.anchor;
    /* The latest definition wins, as YAML allows an anchor to be redefined. */
    for (int i = c->n_anchors - 1; i >= 0; i--) {
        if (strcmp(c->anchors[i].name, name) != 0) continue;
        long size = count_nodes(c->anchors[i].node);
        if (c->n_nodes + size > DF_CFG_MAX_NODES)
            return fail_event(c, ev, "alias expands the document past the limit of %d values (config.nodes)",
                              DF_LIMIT_CONFIG_NODES);
        if (c->depth + df_cfg_depth(c->anchors[i].node) > DF_LIMIT_CONFIG_DEPTH)
            return fail_event(c, ev, "alias nests mappings and lists deeper than the limit of %d levels "
                              "(config.depth)", DF_LIMIT_CONFIG_DEPTH);
        c->n_nodes += size;
        df_cfg_node *copy = df_cfg_copy(c->anchors[i].node);
        copy->line = (int)ev->start_mark.line + 1;
        copy->column = (int)ev->start_mark.column + 1 + (ev->start_mark.line == 0 ? c->col_offset : 0);
        *out = copy;
        yaml_event_delete(ev);
        return 0;
    }
    return fail_event(c, ev, "alias '*%.200s' names no anchor defined before it", name);
}

static int refuse_tag(parse_ctx *c, yaml_event_t *ev, const yaml_char_t *tag) {
    if (!tag) return 0;
    return fail_event(c, ev, "tags are not supported (found '%.200s'); quote a value to make it a string",
                      (const char *)tag);
}

/* The next event of a mapping or sequence into *ev: 1, or 0 at its end (event `end`, consumed), -1 on error. */
static int next_item(parse_ctx *c, yaml_event_type_t end, yaml_event_t *ev) {
    if (next_event(c, ev)) return -1;
    if (ev->type != end) return 1;
    yaml_event_delete(ev);
    return 0;
}

static int parse_map(parse_ctx *c, df_cfg_node *map) {
    yaml_event_t ev;
    for (;;) {
        int more = next_item(c, YAML_MAPPING_END_EVENT, &ev);
        if (more <= 0) return more;
        if (ev.type != YAML_SCALAR_EVENT) {
            fail_at(c, ev.start_mark, "a mapping key must be a plain name, not a list, mapping or alias", NULL);
            yaml_event_delete(&ev);
            return -1;
        }
        yaml_mark_t km = ev.start_mark;
        int plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        if (plain && strcmp((const char *)ev.data.scalar.value, "<<") == 0) {
            fail_at(c, km, "merge keys '<<' are not supported; use a top-level 'base:' file instead", NULL);
            yaml_event_delete(&ev);
            return -1;
        }
        df_cfg_node *key;
        if (parse_node(c, &ev, &key)) return -1;
        if (key->text[0] == '\0' || (plain && df_cfg_is_null(key))) {
            df_cfg_free(key);
            return fail_at(c, km, "empty key", NULL);
        }
        for (int i = 0; i < map->n; i++) {
            if (strcmp(map->keys[i]->text, key->text) != 0) continue;
            char what[600];
            snprintf(what, sizeof what, "duplicate key '%.200s' (first defined at line %d column %d)", key->text,
                     map->keys[i]->line, map->keys[i]->column);
            df_cfg_free(key);
            return fail_at(c, km, what, NULL);
        }
        df_cfg_node *value;
        if (parse_next(c, &ev, &value)) {
            df_cfg_free(key);
            return -1;
        }
        df_cfg_append(map, key, value);
    }
}

static int parse_seq(parse_ctx *c, df_cfg_node *seq) {
    yaml_event_t ev;
    for (;;) {
        int more = next_item(c, YAML_SEQUENCE_END_EVENT, &ev);
        if (more <= 0) return more;
        df_cfg_node *item;
        if (parse_node(c, &ev, &item)) return -1;
        df_cfg_append(seq, NULL, item);
    }
}

/* Parses the node that ev starts; takes ev (deletes it). */
static int parse_node(parse_ctx *c, yaml_event_t *ev, df_cfg_node **out) {
    *out = NULL;
    if (c->n_nodes >= DF_CFG_MAX_NODES)
        return fail_event(c, ev, "document has more than the limit of %d values (config.nodes)",
                          DF_LIMIT_CONFIG_NODES);
    if ((ev->type == YAML_SEQUENCE_START_EVENT || ev->type == YAML_MAPPING_START_EVENT) &&
        c->depth >= DF_LIMIT_CONFIG_DEPTH)
        return fail_event(c, ev, "mappings and lists nest deeper than the limit of %d levels (config.depth)",
                          DF_LIMIT_CONFIG_DEPTH);
    df_cfg_node *n = NULL;
    char *anchor_name = NULL;
    int rc = 0;
    switch (ev->type) {
    case YAML_ALIAS_EVENT:
        return parse_alias(c, ev, out);
    case YAML_SCALAR_EVENT: {
        if (refuse_tag(c, ev, ev->data.scalar.tag)) return -1;
        const char *v = (const char *)ev->data.scalar.value;
        if (strlen(v) != ev->data.scalar.length) {
            fail_at(c, ev->start_mark, "a value contains a NUL character", NULL);
            yaml_event_delete(ev);
            return -1;
        }
        n = node_at(c, DF_CFG_NODE_SCALAR, v, ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE, ev->start_mark);
        if (ev->data.scalar.anchor) anchor_name = df_strdup((const char *)ev->data.scalar.anchor);
        yaml_event_delete(ev);
        break;
    }
    case YAML_SEQUENCE_START_EVENT:
        if (refuse_tag(c, ev, ev->data.sequence_start.tag)) return -1;
        n = node_at(c, DF_CFG_NODE_SEQ, "", 0, ev->start_mark);
        if (ev->data.sequence_start.anchor)
            anchor_name = df_strdup((const char *)ev->data.sequence_start.anchor);
        yaml_event_delete(ev);
        c->depth++;
        rc = parse_seq(c, n);
        c->depth--;
        break;
    case YAML_MAPPING_START_EVENT:
        if (refuse_tag(c, ev, ev->data.mapping_start.tag)) return -1;
        n = node_at(c, DF_CFG_NODE_MAP, "", 0, ev->start_mark);
        if (ev->data.mapping_start.anchor) anchor_name = df_strdup((const char *)ev->data.mapping_start.anchor);
        yaml_event_delete(ev);
        c->depth++;
        rc = parse_map(c, n);
        c->depth--;
        break;
    default:
        fail_at(c, ev->start_mark, "unexpected YAML structure", NULL);
        yaml_event_delete(ev);
        return -1;
    }
    if (rc) {
        df_cfg_free(n);
        free(anchor_name);
        return -1;
    }
    if (anchor_name) add_anchor(c, anchor_name, n);
    free(anchor_name);
    *out = n;
    return 0;
}

/* Parses a whole stream: nothing (returns a NULL *out) or exactly one document. */
static int parse_stream(parse_ctx *c, df_cfg_node **out) {
    yaml_event_t ev;
    *out = NULL;
    if (next_event(c, &ev)) return -1; /* stream start */
    yaml_event_delete(&ev);
    if (next_event(c, &ev)) return -1;
    if (ev.type == YAML_STREAM_END_EVENT) {
        yaml_event_delete(&ev);
        return 0;
    }
    yaml_event_delete(&ev); /* document start */
    df_cfg_node *root;
    if (parse_next(c, &ev, &root)) return -1;
    if (next_event(c, &ev)) goto fail; /* document end */
    yaml_event_delete(&ev);
    if (next_event(c, &ev)) goto fail;
    if (ev.type != YAML_STREAM_END_EVENT) {
        fail_at(c, ev.start_mark, "a second YAML document ('---') is not supported; use one document per file",
                NULL);
        yaml_event_delete(&ev);
        goto fail;
    }
    yaml_event_delete(&ev);
    *out = root;
    return 0;
fail:
    df_cfg_free(root);
    return -1;
}

static int parse_buffer(const char *buf, size_t len, const char *file, int col_offset, const char *dir,
                        df_cfg_node **out, df_error *err) {
    parse_ctx c = {.file = file, .dir = dir, .col_offset = col_offset, .err = err};
    if (!yaml_parser_initialize(&c.parser)) return df_fail(err, "%s: cannot initialise the YAML parser", file);
    yaml_parser_set_input_string(&c.parser, (const unsigned char *)buf, len);
    int rc = parse_stream(&c, out);
    yaml_parser_delete(&c.parser);
    for (int i = 0; i < c.n_anchors; i++) free(c.anchors[i].name);
    free(c.anchors);
    return rc;
}

int df_cfg_parse_string(const char *text, const char *file, int col_offset, const char *dir,
                        df_cfg_node **out, df_error *err) {
    char *cwd = dir ? NULL : cwd_copy();
    int rc = parse_buffer(text, strlen(text), file, col_offset, dir ? dir : cwd, out, err);
    if (rc == 0 && !*out) *out = df_cfg_new(DF_CFG_NODE_SCALAR, "", 0, file, dir ? dir : cwd, 1, 1 + col_offset);
    free(cwd);
    return rc;
}

int df_cfg_parse_file(const char *path, df_cfg_node **out, df_error *err) {
    unsigned char *text;
    size_t len;
    if (df_read_file(path, DF_CFG_MAX_FILE_BYTES, &text, &len, err)) return -1;
    char *buf = (char *)text;
    char *real = realpath(path, NULL);
    if (!real) {
        free(buf);
        return df_fail(err, "%s: cannot resolve config path: %s", path, strerror(errno));
    }
    char *slash = strrchr(real, '/');
    if (slash == real) slash[1] = '\0';
    else if (slash) *slash = '\0';
    const char *dir = real;
    df_cfg_node *root;
    int rc = parse_buffer(buf, len, path, 0, dir, &root, err);
    free(buf);
    if (rc == 0 && !root) root = df_cfg_new(DF_CFG_NODE_MAP, "", 0, path, dir, 1, 1);
    free(real);
    if (rc) return -1;
    if (root->kind != DF_CFG_NODE_MAP) {
        df_cfg_fail(err, root, "a config must be a mapping of keys to values at the top level");
        df_cfg_free(root);
        return -1;
    }
    *out = root;
    return 0;
}
