/* dataset_check.c: the checks a dataset must pass before it is split or trained on (see dataset.h): unique
 * sample ids within a file, no sample in two split files, every class present where a split needs it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/table/csv.h"
#include "data/table/dataset.h"

int df_dataset_id_is_row(const df_dataset *d, int s) {
    char own[32];
    snprintf(own, sizeof own, "row:%d", d->source_rows ? d->source_rows[s] : s + 1);
    return !strcmp(d->ids[s], own);
}

static int line_of(const df_dataset *d, int s) { return d->source_rows ? d->source_rows[s] : s + 1; }
static const char *file_of(const df_dataset *d) { return d->source ? d->source : "(dataset)"; }

int df_dataset_check_unique_ids(const df_dataset *d, df_error *err) {
    df_named *v = df_malloc((size_t)(d->n_samples ? d->n_samples : 1) * sizeof *v);
    for (int s = 0; s < d->n_samples; s++) v[s] = (df_named){d->ids[s], s};
    qsort(v, (size_t)d->n_samples, sizeof *v, df_named_cmp);
    int rc = 0;
    for (int i = 1; i < d->n_samples && !rc; i++)
        if (!strcmp(v[i].name, v[i - 1].name))
            rc = df_fail(err, "%s:%d: sample id '%s' appears again (first at line %d); each sample must appear "
                         "once, or it is counted twice and may land in two splits", file_of(d), line_of(d, v[i].pos),
                         v[i].name, line_of(d, v[i - 1].pos));
    free(v);
    return rc;
}

int df_dataset_check_disjoint(const df_dataset *a, const char *a_role, const df_dataset *b, const char *b_role,
                              df_error *err) {
    df_named *v = df_malloc((size_t)(a->n_samples ? a->n_samples : 1) * sizeof *v);
    int n = 0;
    for (int s = 0; s < a->n_samples; s++)
        if (!df_dataset_id_is_row(a, s)) v[n++] = (df_named){a->ids[s], s};
    qsort(v, (size_t)n, sizeof *v, df_named_cmp);
    int rc = 0;
    for (int s = 0; s < b->n_samples && !rc; s++) {
        if (df_dataset_id_is_row(b, s)) continue;
        df_named key = {b->ids[s], -1};
        int lo = 0, hi = n;
        while (lo < hi) { /* first entry with id >= key */
            int mid = (lo + hi) / 2;
            if (strcmp(v[mid].name, key.name) < 0) lo = mid + 1;
            else hi = mid;
        }
        if (lo < n && !strcmp(v[lo].name, key.name))
            rc = df_fail(err, "%s:%d: sample id '%s' is also in the %s file %s:%d; a sample in both the %s and the "
                         "%s split leaks between training and evaluation", file_of(b), line_of(b, s), key.name,
                         a_role, file_of(a), line_of(a, v[lo].pos), a_role, b_role);
    }
    free(v);
    return rc;
}

int df_dataset_check_classes(const df_dataset *d, const int *idx, int n, const char *what, df_error *err) {
    if (!idx) n = d->n_samples;
    int *count = df_calloc((size_t)(d->n_classes ? d->n_classes : 1), sizeof *count);
    for (int i = 0; i < n; i++) {
        int y = d->labels[idx ? idx[i] : i];
        DF_ASSERT(y >= 0 && y < d->n_classes);
        count[y]++;
    }
    char missing[512];
    size_t used = 0;
    int n_missing = 0;
    missing[0] = '\0';
    for (int c = 0; c < d->n_classes; c++) {
        if (count[c]) continue;
        if (used < sizeof missing) {
            int w = snprintf(missing + used, sizeof missing - used, "%s'%s'", n_missing ? ", " : "",
                             d->class_names ? d->class_names[c] : "?");
            if (w > 0) used += (size_t)w;
        }
        n_missing++;
    }
    free(count);
    if (!n_missing) return 0;
    return df_fail(err, "%s: the %s has no sample of class%s %s (%d samples in it); every class needs at least "
                   "one there, or its AUC and recall are undefined and cannot choose or judge a model", file_of(d),
                   what, n_missing == 1 ? "" : "es", missing, n);
}
