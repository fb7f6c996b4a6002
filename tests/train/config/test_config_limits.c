/* test_config_limits: the config loader's bounds (core/limits.h) are errors with a place and a name, never a
 * crash or a hang: nesting through the file, through aliases and through --set, and base: files that list
 * the same base more than once. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/limits.h"
#include "tests/check.h"
#include "train/config/config_tree.h"

/* "a: " then n nested flow lists (or mappings) around one scalar: a document of n + 1 levels. */
static char *nested(int n, int maps) {
    char *s = malloc((size_t)n * 8 + 16), *p = s;
    p += sprintf(p, "a: ");
    for (int i = 0; i < n; i++) p += sprintf(p, maps ? "{k: " : "[");
    p += sprintf(p, "x");
    for (int i = 0; i < n; i++) *p++ = maps ? '}' : ']';
    *p = '\0';
    return s;
}

static int parse(const char *text, df_cfg_node **n, df_error *err) {
    err->msg[0] = '\0';
    *n = NULL;
    return df_cfg_parse_string(text, "deep.yaml", 0, NULL, n, err);
}

static void test_nesting(void) {
    const int limit = DF_LIMIT_CONFIG_DEPTH;
    int sizes[] = {limit - 1, limit, limit + 5, 100000}; /* the document is one level more than n */
    for (int maps = 0; maps < 2; maps++) {
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            char *text = nested(sizes[i], maps);
            df_cfg_node *n;
            df_error err;
            int rc = parse(text, &n, &err);
            if (sizes[i] + 1 <= limit) {
                CHECK_MSG(rc == 0 && df_cfg_depth(n) == sizes[i] + 1, "depth %d: '%s'", sizes[i] + 1, err.msg);
            } else {
                /* the error is at the first level past the limit: line 1, column 4 + limit - 1 opening brackets */
                int col = 4 + (limit - 1) * (maps ? 4 : 1);
                char place[64];
                snprintf(place, sizeof place, "deep.yaml:1:%d: ", col);
                CHECK_MSG(rc == -1 && strstr(err.msg, "config.depth") && strncmp(err.msg, place, strlen(place)) == 0,
                          "depth %d: '%s' should begin with '%s'", sizes[i] + 1, err.msg, place);
            }
            if (rc == 0) df_cfg_free(n);
            free(text);
        }
    }
    /* block style, one level per line: the map on line i + 1 is level i + 1 */
    size_t cap = 200 * 210, len = 0;
    char *block = malloc(cap);
    for (int i = 0; i < 200; i++) len += (size_t)snprintf(block + len, cap - len, "%*sk%d:\n", i, "", i);
    df_cfg_node *n;
    df_error err;
    int rc = parse(block, &n, &err);
    CHECK_MSG(rc == -1 && strstr(err.msg, "config.depth") && strncmp(err.msg, "deep.yaml:65:", 13) == 0,
              "block: '%s'", err.msg);
    if (rc == 0) df_cfg_free(n);
    free(block);
}

/* An alias copies its anchor's levels to where it is used: deep enough together is refused. */
static void test_alias_nesting(void) {
    char text[4096];
    int half = DF_LIMIT_CONFIG_DEPTH / 2 + 1;
    size_t len = (size_t)snprintf(text, sizeof text, "a: &deep ");
    for (int i = 0; i < half; i++) len += (size_t)snprintf(text + len, sizeof text - len, "[");
    len += (size_t)snprintf(text + len, sizeof text - len, "x");
    for (int i = 0; i < half; i++) len += (size_t)snprintf(text + len, sizeof text - len, "]");
    len += (size_t)snprintf(text + len, sizeof text - len, "\nb: ");
    for (int i = 0; i < half; i++) len += (size_t)snprintf(text + len, sizeof text - len, "[");
    len += (size_t)snprintf(text + len, sizeof text - len, "*deep");
    for (int i = 0; i < half; i++) len += (size_t)snprintf(text + len, sizeof text - len, "]");
    df_cfg_node *n;
    df_error err;
    int rc = parse(text, &n, &err);
    CHECK_MSG(rc == -1 && strstr(err.msg, "alias") && strstr(err.msg, "config.depth") &&
                  strncmp(err.msg, "deep.yaml:2:", 12) == 0,
              "alias: rc %d '%s'", rc, err.msg);
    if (rc == 0) df_cfg_free(n);
    /* a chain of anchors, each one level deeper than the last, stops at the limit too */
    len = 0;
    len += (size_t)snprintf(text, sizeof text, "a0: &a0 [x]\n");
    for (int i = 1; i < 80; i++) len += (size_t)snprintf(text + len, sizeof text - len, "a%d: &a%d [*a%d]\n", i, i, i - 1);
    rc = parse(text, &n, &err);
    CHECK_MSG(rc == -1 && strstr(err.msg, "config.depth"), "chain: rc %d '%s'", rc, err.msg);
    if (rc == 0) df_cfg_free(n);
}

static void test_set_nesting(void) {
    df_cfg_node *root = df_cfg_new(DF_CFG_NODE_MAP, "", 0, "root", NULL, 1, 1);
    char *assign = malloc(100000 * 3 + 16);
    struct {
        int parts, levels; /* dotted parts of the key, nested lists in the value */
        int ok;
    } cases[] = {{DF_LIMIT_CONFIG_DEPTH, 0, 1}, {DF_LIMIT_CONFIG_DEPTH + 1, 0, 0}, {40, 24, 1}, {40, 25, 0},
                 {1, 100000, 0}, {50000, 0, 0}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char *p = assign;
        for (int i = 0; i < cases[c].parts; i++) p += sprintf(p, i ? ".k" : "k");
        *p++ = '=';
        for (int i = 0; i < cases[c].levels; i++) *p++ = '[';
        *p++ = '1';
        for (int i = 0; i < cases[c].levels; i++) *p++ = ']';
        *p = '\0';
        df_error err = {{0}};
        int rc = df_cfg_set(root, assign, &err);
        if (cases[c].ok) {
            CHECK_MSG(rc == 0 && df_cfg_depth(root) == cases[c].parts + cases[c].levels,
                      "set %d parts, %d levels: rc %d '%s'", cases[c].parts, cases[c].levels, rc, err.msg);
        } else {
            CHECK_MSG(rc == -1 && strstr(err.msg, "config.depth") && strstr(err.msg, "<command line --set k"),
                      "set %d parts, %d levels: rc %d '%.200s'", cases[c].parts, cases[c].levels, rc, err.msg);
        }
    }
    free(assign);
    df_cfg_free(root);
}

/* f0 holds a value; f<i> lists f<i-1> twice, so loading f<i> reads 2^(i+1) - 1 files. */
static void test_repeated_bases(const char *dir) {
    char path[PATH_MAX];
    for (int i = 0; i <= 40; i++) {
        snprintf(path, sizeof path, "%s/f%d.yaml", dir, i);
        FILE *f = fopen(path, "w");
        if (i == 0) fprintf(f, "v: 1\n");
        else fprintf(f, "base: [f%d.yaml, f%d.yaml]\nw%d: %d\n", i - 1, i - 1, i, i);
        fclose(f);
    }
    int within = 0; /* the deepest file whose inclusions fit the limit */
    while ((2L << (within + 1)) - 1 <= DF_LIMIT_CONFIG_BASE_FILES) within++;
    int tries[] = {within, within + 1, DF_LIMIT_CONFIG_BASE_DEPTH - 1}; /* the last nests as deep as allowed */
    for (size_t t = 0; t < 3; t++) {
        snprintf(path, sizeof path, "%s/f%d.yaml", dir, tries[t]);
        df_cfg_node *root = NULL;
        df_error err = {{0}};
        int rc = df_cfg_load(path, &root, &err);
        if (t == 0) {
            CHECK_MSG(rc == 0 && root && df_cfg_get(root, "v") && df_cfg_get(root, "w1"), "f%d: '%s'", tries[t],
                      err.msg);
        } else {
            CHECK_MSG(rc == -1 && strstr(err.msg, "config.base_files") && strstr(err.msg, ".yaml:1:"),
                      "f%d: rc %d '%s'", tries[t], rc, err.msg);
        }
        df_cfg_free(root);
    }
    for (int i = 0; i <= 40; i++) {
        snprintf(path, sizeof path, "%s/f%d.yaml", dir, i);
        remove(path);
    }
}

int main(void) {
    char tmp[] = "/tmp/df_config_limits_XXXXXX";
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 2;
    }
    test_nesting();
    test_alias_nesting();
    test_set_nesting();
    test_repeated_bases(tmp);
    rmdir(tmp);
    return check_report();
}
