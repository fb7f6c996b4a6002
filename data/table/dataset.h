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

#endif
