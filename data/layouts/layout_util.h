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
