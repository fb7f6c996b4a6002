/* dataset.h: a labelled set of lesions, as every loader in data/ produces it and the batch loader reads it.
 *
 * One sample is one lesion: one image view (ISIC-DICM-17K, generic CSV) or two (MILK10k: dermoscopic and
 * clinical close-up), the raw metadata fields of its CSV row, a class label, and optionally a group id
 * (patient or lesion; splits keep a group on one side) and a lesion-mask path (synthetic data; used by the
 * heat-map analysis). Metadata stay raw strings here: data/meta.h encodes them with statistics fitted on
 * the training split only. */
#ifndef DF_DATASET_H
#define DF_DATASET_H

#include "core/error.h"

#define DF_MAX_VIEWS 2

typedef struct {
    int n_samples;
    int n_classes;
    char **class_names;        /* [n_classes] */
    int n_views;               /* 1 or 2 */
    char *view_names[DF_MAX_VIEWS]; /* e.g. "dermoscopic", "clinical" */
    char **image_paths;        /* [n_samples * n_views], sample-major; NULL entries for metadata-only use */
    char **mask_paths;         /* [n_samples] or NULL; an entry may be NULL */
    int *labels;               /* [n_samples], 0..n_classes-1 */
    char **ids;                /* [n_samples] sample id (isic_id or lesion_id), for predictions */
    char **groups;             /* [n_samples] group id or NULL (no grouping) */
    int n_meta_cols;
    char **meta_cols;          /* [n_meta_cols] column names */
    char **meta_values;        /* [n_samples * n_meta_cols] raw fields, "" when missing */
    char *source;              /* file the samples came from, for messages */
    int *source_rows;          /* [n_samples] 1-based line in `source` of each sample, for messages */
} df_dataset;

void df_dataset_free(df_dataset *d);

/* Checks (dataset_check.c); each fails naming the file and the line(s) at fault.
 *
 * Sample ids are the file's own ids (isic_id, lesion_id, an id column or the image path) where it has them;
 * a sample without one gets "row:<its line>", which is unique within its file by construction and is not an
 * identity: df_dataset_id_is_row says so, and such ids are not compared across files. */
int df_dataset_id_is_row(const df_dataset *d, int s);
/* Fails naming both lines when two samples of d share an id. */
int df_dataset_check_unique_ids(const df_dataset *d, df_error *err);
/* Fails naming the line in each file when a sample id (not a row id) is in both a and b; a_role and b_role
 * ("training", "validation", "test") say which splits they hold. */
int df_dataset_check_disjoint(const df_dataset *a, const char *a_role, const df_dataset *b, const char *b_role,
                              df_error *err);
/* Fails naming the file, `what` ("training split") and every class with no sample among idx[0..n) (all
 * samples when idx is NULL). */
int df_dataset_check_classes(const df_dataset *d, const int *idx, int n, const char *what, df_error *err);

#endif
