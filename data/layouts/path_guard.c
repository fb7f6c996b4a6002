/* path_guard.c: keeping the files a CSV names inside the dataset's folders (see layout_util.h).
 *
 * Two tests, both needed: the lexical one (the joined path, made absolute and tidied of "." and "..", lies
 * under the folder's) refuses "../../etc/passwd" and absolute paths elsewhere before anything is opened,
 * even when the file does not exist; the resolved one (realpath of the file under realpath of the folder)
 * refuses a link inside the folder that points out of it. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/layouts/layout_util.h"

/* 1 when path lies strictly below folder (both absolute and tidy). */
static int below(const char *path, const char *folder) {
    size_t n = strlen(folder);
    if (n == 1) return path[0] == '/' && path[1] != '\0'; /* the root holds everything */
    return !strncmp(path, folder, n) && path[n] == '/' && path[n + 1] != '\0';
}

void df_guard_init(df_path_guard *g, const char *const *folders, int n, int allow_outside) {
    memset(g, 0, sizeof *g);
    g->allow_outside = allow_outside;
    for (int i = 0; i < n && i < DF_GUARD_MAX_FOLDERS; i++) {
        if (!folders[i] || !folders[i][0]) continue;
        g->shown[g->n] = df_strdup(folders[i]);
        g->lexical[g->n] = df_path_absolute(folders[i]);
        g->real[g->n] = realpath(folders[i], NULL);
        g->n++;
    }
}

void df_guard_free(df_path_guard *g) {
    for (int i = 0; i < g->n; i++) {
        free(g->shown[i]);
        free(g->lexical[i]);
        free(g->real[i]);
    }
    memset(g, 0, sizeof *g);
}

static int refuse(const df_path_guard *g, const char *csv, int line, const char *what, const char *path,
                  const char *resolved, const char *how, df_error *err) {
    char folders[600];
    if (g->n > 1)
        snprintf(folders, sizeof folders, "the folders '%.250s' and '%.250s'", g->shown[0], g->shown[1]);
    else
        snprintf(folders, sizeof folders, "the folder '%.500s'", g->n ? g->shown[0] : "");
    return df_fail(err, "%s:%d: %s path '%s' %s '%s', outside %s; files named in the CSV must lie inside "
                   "(set data.allow_outside_paths: true to allow files elsewhere)", csv, line, what, path, how,
                   resolved, folders);
}

int df_guard_check(const df_path_guard *g, const char *csv, int line, const char *what, const char *path,
                   df_error *err) {
    if (g->allow_outside) return 0;
    char *lexical = df_path_absolute(path);
    int inside = 0;
    for (int i = 0; i < g->n && !inside; i++) inside = lexical && g->lexical[i] && below(lexical, g->lexical[i]);
    if (!inside) {
        int rc = refuse(g, csv, line, what, path, lexical ? lexical : path, "is", err);
        free(lexical);
        return rc;
    }
    free(lexical);
    char *real = realpath(path, NULL);
    if (!real) return 0; /* nothing there (yet): the caller's existence check reports it */
    inside = 0;
    for (int i = 0; i < g->n && !inside; i++) inside = g->real[i] && below(real, g->real[i]);
    int rc = inside ? 0 : refuse(g, csv, line, what, path, real, "leads through a link to", err);
    free(real);
    return rc;
}
