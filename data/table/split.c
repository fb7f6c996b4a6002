/* split.c: grouped, stratified hold-out and k-fold splits (see split.h). */
#include "data/table/split.h"

#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "data/table/csv.h"


typedef struct {
    int first, size; /* a run of `order` */
    int majority;
    int rank;        /* position after the seeded shuffle */
} group;

static int cmp_group(const void *a, const void *b) {
    const group *x = a, *y = b;
    if (x->size != y->size) return x->size > y->size ? -1 : 1;
    return (x->rank > y->rank) - (x->rank < y->rank);
}

/* part_of[i] for idx[i]; parts get share[p] of each class. */
static int assign(const df_dataset *d, const int *idx, int n, int n_parts, const double *share, uint64_t seed,
                  int *part_of, df_error *err) {
    int nc = d->n_classes;
    df_named *order = df_malloc((size_t)(n ? n : 1) * sizeof *order);
    for (int i = 0; i < n; i++) {
        int s = idx ? idx[i] : i;
        DF_ASSERT(s >= 0 && s < d->n_samples && d->labels[s] >= 0 && d->labels[s] < nc);
        order[i].name = d->groups ? d->groups[s] : NULL;
        order[i].pos = i;
    }
    if (d->groups) qsort(order, (size_t)n, sizeof *order, df_named_cmp);

    group *groups = df_malloc((size_t)(n ? n : 1) * sizeof *groups);
    int n_groups = 0;
    int *count = df_calloc((size_t)nc, sizeof *count), *total = df_calloc((size_t)nc, sizeof *total);
    for (int i = 0; i < n;) {
        int j = i + 1;
        while (j < n && order[j].name && !strcmp(order[j].name, order[i].name)) j++;
        memset(count, 0, (size_t)nc * sizeof *count);
        for (int k = i; k < j; k++) {
            int y = d->labels[idx ? idx[order[k].pos] : order[k].pos];
            count[y]++;
            total[y]++;
        }
        int m = 0;
        for (int c = 1; c < nc; c++)
            if (count[c] > count[m]) m = c;
        groups[n_groups++] = (group){i, j - i, m, 0};
        i = j;
    }

    int *perm = df_malloc((size_t)(n_groups ? n_groups : 1) * sizeof *perm);
    for (int g = 0; g < n_groups; g++) perm[g] = g;
    df_rng rng = df_rng_make(seed, DF_STREAM_SPLIT);
    df_rng_shuffle(&rng, perm, n_groups);
    for (int r = 0; r < n_groups; r++) groups[perm[r]].rank = r;
    qsort(groups, (size_t)n_groups, sizeof *groups, cmp_group);

    double *need = df_malloc((size_t)n_parts * (size_t)nc * sizeof *need); /* target minus assigned */
    double *need_all = df_calloc((size_t)n_parts, sizeof *need_all);
    int *part_size = df_calloc((size_t)n_parts, sizeof *part_size);
    for (int p = 0; p < n_parts; p++)
        for (int c = 0; c < nc; c++) {
            need[p * nc + c] = share[p] * total[c];
            need_all[p] += share[p] * total[c];
        }
    for (int g = 0; g < n_groups; g++) {
        const group *gr = &groups[g];
        int best = 0;
        for (int p = 1; p < n_parts; p++) {
            double a = need[p * nc + gr->majority], b = need[best * nc + gr->majority];
            if (a > b || (a == b && need_all[p] > need_all[best])) best = p;
        }
        for (int k = gr->first; k < gr->first + gr->size; k++) {
            int pos = order[k].pos;
            part_of[pos] = best;
            need[best * nc + d->labels[idx ? idx[pos] : pos]] -= 1.0;
        }
        need_all[best] -= gr->size;
        part_size[best] += gr->size;
    }
    int rc = 0;
    for (int p = 0; p < n_parts && !rc; p++)
        if (part_size[p] == 0)
            rc = df_fail(err, "%s: cannot split %d samples in %d groups into %d non-empty parts",
                         d->source ? d->source : "(dataset)", n, n_groups, n_parts);
    free(order);
    free(groups);
    free(count);
    free(total);
    free(perm);
    free(need);
    free(need_all);
    free(part_size);
    return rc;
}

int df_split_holdout(const df_dataset *d, const int *idx, int n, double test_fraction, uint64_t seed,
                     df_split *out, df_error *err) {
    memset(out, 0, sizeof *out);
    if (!idx) n = d->n_samples;
    if (!(test_fraction > 0.0 && test_fraction < 1.0))
        return df_fail(err, "hold-out test fraction %g is not between 0 and 1", test_fraction);
    int *part = df_malloc((size_t)(n ? n : 1) * sizeof *part);
    double share[2] = {1.0 - test_fraction, test_fraction};
    if (assign(d, idx, n, 2, share, seed, part, err)) {
        free(part);
        return -1;
    }
    df_split_fold(idx, n, part, 1, out);
    free(part);
    return 0;
}

int df_split_kfold(const df_dataset *d, const int *idx, int n, int k, uint64_t seed, int *fold_of,
                   df_error *err) {
    if (!idx) n = d->n_samples;
    if (k < 2) return df_fail(err, "k-fold needs k >= 2 (got %d)", k);
    double *share = df_malloc((size_t)k * sizeof *share);
    for (int f = 0; f < k; f++) share[f] = 1.0 / k;
    int rc = assign(d, idx, n, k, share, seed, fold_of, err);
    free(share);
    return rc;
}

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

void df_split_fold(const int *idx, int n, const int *fold_of, int fold, df_split *out) {
    memset(out, 0, sizeof *out);
    out->train = df_malloc((size_t)(n ? n : 1) * sizeof *out->train);
    out->test = df_malloc((size_t)(n ? n : 1) * sizeof *out->test);
    for (int i = 0; i < n; i++) {
        int s = idx ? idx[i] : i;
        if (fold_of[i] == fold) out->test[out->n_test++] = s;
        else out->train[out->n_train++] = s;
    }
    qsort(out->train, (size_t)out->n_train, sizeof *out->train, cmp_int);
    qsort(out->test, (size_t)out->n_test, sizeof *out->test, cmp_int);
}

void df_split_free(df_split *s) {
    if (!s) return;
    free(s->train);
    free(s->test);
    memset(s, 0, sizeof *s);
}
