/* dataset.c: releasing a df_dataset (see dataset.h). Every loader allocates each string separately, and
 * n_samples bounds the per-sample arrays, so one function frees any dataset, also one left half-built by
 * a failed load. */
#include "data/table/dataset.h"

#include <stdlib.h>
#include <string.h>

static void free_strings(char **a, size_t n) {
    if (!a) return;
    for (size_t i = 0; i < n; i++) free(a[i]);
    free(a);
}

void df_dataset_free(df_dataset *d) {
    if (!d) return;
    size_t n = d->n_samples > 0 ? (size_t)d->n_samples : 0;
    free_strings(d->class_names, d->class_names ? (size_t)d->n_classes : 0);
    for (int v = 0; v < DF_MAX_VIEWS; v++) free(d->view_names[v]);
    free_strings(d->image_paths, n * (size_t)(d->n_views > 0 ? d->n_views : 0));
    free_strings(d->mask_paths, n);
    free(d->labels);
    free_strings(d->ids, n);
    free_strings(d->groups, n);
    free_strings(d->meta_values, n * (size_t)(d->n_meta_cols > 0 ? d->n_meta_cols : 0));
    free_strings(d->meta_cols, (size_t)(d->n_meta_cols > 0 ? d->n_meta_cols : 0));
    free(d->source);
    free(d->source_rows);
    memset(d, 0, sizeof *d);
}
