/* layout_util.c: shared pieces of the dataset-layout loaders (see layout_util.h). */
#include "data/layouts/layout_util.h"
#include "data/layouts/datasets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int df_is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

char *df_folder_of(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return df_strdup(".");
    if (slash == path) return df_strdup("/");
    char *dir = df_strdup(path);
    dir[slash - path] = '\0';
    return dir;
}

char *df_group_or_row(const char *field, int line) {
    if (field[0]) return df_strdup(field);
    char buf[32];
    snprintf(buf, sizeof buf, "row:%d", line);
    return df_strdup(buf);
}

void df_dataset_start_(df_dataset *d, const char *source, int cap, int n_views, int with_masks,
                       int with_groups, int n_meta_cols) {
    memset(d, 0, sizeof *d);
    size_t n = (size_t)(cap ? cap : 1);
    d->n_views = n_views;
    d->source = df_strdup(source);
    d->labels = df_calloc(n, sizeof *d->labels);
    d->ids = df_calloc(n, sizeof *d->ids);
    d->source_rows = df_calloc(n, sizeof *d->source_rows);
    d->image_paths = df_calloc(n * (size_t)n_views, sizeof *d->image_paths);
    if (with_masks) d->mask_paths = df_calloc(n, sizeof *d->mask_paths);
    if (with_groups) d->groups = df_calloc(n, sizeof *d->groups);
    d->n_meta_cols = n_meta_cols;
    d->meta_cols = df_calloc((size_t)(n_meta_cols ? n_meta_cols : 1), sizeof *d->meta_cols);
    d->meta_values = df_calloc(n * (size_t)(n_meta_cols ? n_meta_cols : 1), sizeof *d->meta_values);
}

void df_dataset_copy_row_(df_dataset *d, int s, const df_csv *t, int r, int first) {
    for (int c = 0; c < t->n_cols; c++)
        d->meta_values[(size_t)s * (size_t)d->n_meta_cols + (size_t)(first + c)] = df_strdup(df_csv_get(t, r, c));
}

void df_dataset_add_row_(df_dataset *d, const df_csv *t, int r, int label, char *id, char *path, char *mask,
                         int c_group) {
    int s = d->n_samples++, line = t->lines[r];
    d->labels[s] = label;
    d->source_rows[s] = line;
    d->ids[s] = id;
    d->image_paths[s] = path;
    if (d->mask_paths) d->mask_paths[s] = mask;
    if (d->groups) d->groups[s] = df_group_or_row(df_csv_get(t, r, c_group), line);
    df_dataset_copy_row_(d, s, t, r, 0);
}

const char *const df_layout_names[] = {"isic", "milk10k", "csv", NULL};

int df_require_cols_grouped(const df_csv *t, const char *const *need, int n, const char *group_col, df_error *err) {
    int no_group = group_col && df_csv_col(t, group_col) < 0;
    if (df_csv_require_cols(t, need, n, err)) {
        size_t used = strlen(err->msg);
        if (no_group)
            snprintf(err->msg + used, sizeof err->msg - used, "; nor column '%s' (data.group_by; set data.group_by: "
                     "'' to split without grouping)", group_col);
        return -1;
    }
    if (no_group)
        return df_fail(err, "%s:1: no column '%s' (data.group_by; set data.group_by: '' to split without grouping)",
                       t->path, group_col);
    return 0;
}
