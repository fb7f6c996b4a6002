/* layout_util.h: pieces shared by the dataset-layout loaders (isic.c, milk10k.c, generic_csv.c); not part
 * of the public data API. */
#ifndef DF_LAYOUT_UTIL_H
#define DF_LAYOUT_UTIL_H

#include "core/io/files.h" /* df_path_join */
#include "data/table/csv.h"
#include "data/table/dataset.h"

/* 1 when path names an existing regular file (or a link to one). */
int df_is_file(const char *path);
/* "row:<line>" for an empty group field, else a copy of the field. */
char *df_group_or_row(const char *field, int line);
/* df_csv_require_cols for the layout's n columns, and the grouping column group_col (NULL: none): one missing
 * is named with the config key that chose it (data.group_by, whose default names a column many CSVs lack) and
 * how to split without groups. */
int df_require_cols_grouped(const df_csv *t, const char *const *need, int n, const char *group_col, df_error *err);

/* The folders the files a CSV names must lie in (path_guard.c), unless allow_outside is set (the config's
 * data.allow_outside_paths). A path is inside when, made absolute and tidied of "." and "..", it lies below
 * one of the folders, and, when it exists, its realpath lies below that folder's realpath (no link leads
 * out). */
#define DF_GUARD_MAX_FOLDERS 2
typedef struct {
    int allow_outside;
    int n;
    char *shown[DF_GUARD_MAX_FOLDERS];   /* as given, for messages */
    char *lexical[DF_GUARD_MAX_FOLDERS]; /* absolute and tidied */
    char *real[DF_GUARD_MAX_FOLDERS];    /* realpath, NULL when the folder does not resolve */
} df_path_guard;
/* Empty or NULL folders are left out. */
void df_guard_init(df_path_guard *g, const char *const *folders, int n, int allow_outside);
void df_guard_free(df_path_guard *g);
/* 0 when path is inside (or allowed); else -1 with "csv:line: <what> path '<path>' is '...', outside the
 * folder '...' ... (set data.allow_outside_paths: true ...)". */
int df_guard_check(const df_path_guard *g, const char *csv, int line, const char *what, const char *path,
                   df_error *err);
/* The folder holding the file at path ("." for a bare name); a new string. */
char *df_folder_of(const char *path);

/* Starts d empty with room for cap samples: labels, ids, source rows, and per-sample arrays for n_views
 * image paths, masks (when with_masks), groups (when with_groups) and the n_meta_cols metadata strings.
 * Entries are NULL until set. */
void df_dataset_start_(df_dataset *d, const char *source, int cap, int n_views, int with_masks,
                       int with_groups, int n_meta_cols);
/* Appends row r of t as a one-view sample: label, id, image and mask paths (all three owned by d from now
 * on; path and mask may be NULL), its group from column c_group (when d keeps groups) and all of the row as
 * metadata. */
void df_dataset_add_row_(df_dataset *d, const df_csv *t, int r, int label, char *id, char *path, char *mask,
                         int c_group);
/* Copies all of row r of t into the metadata of sample s, starting at metadata column `first`. */
void df_dataset_copy_row_(df_dataset *d, int s, const df_csv *t, int r, int first);

#endif
