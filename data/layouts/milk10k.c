/* milk10k.c: the MILK10k training layout, two images per lesion (see datasets.h). The ground-truth file
 * fixes the samples and their order; each metadata row is attached to its lesion by lesion_id, and every
 * lesion must end with exactly one dermoscopic and one clinical close-up row. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "data/layouts/datasets.h"
#include "data/layouts/layout_util.h"


static const char *const VIEW_TYPES[DF_MAX_VIEWS] = {"dermoscopic", "clinical: close-up"};

static int view_of(const char *type) {
    for (int v = 0; v < DF_MAX_VIEWS; v++)
        if (!strcmp(type, VIEW_TYPES[v])) return v;
    return -1;
}

/* A ground-truth cell: exactly "0", "1", "0.0" or "1.0" (as the published file writes them); -1 otherwise. */
static int truth_value(const char *s) {
    if (!strcmp(s, "0") || !strcmp(s, "0.0")) return 0;
    if (!strcmp(s, "1") || !strcmp(s, "1.0")) return 1;
    return -1;
}

/* Reads the ground truth: labels[r] for each row, checking one-hot rows and unique lesion ids. */
static int read_truth(const df_csv *g, int *labels, df_named *sorted, df_error *err) {
    if (df_csv_col(g, "lesion_id") != 0 || g->n_cols < 3)
        return df_fail(err, "%s:1: expected lesion_id followed by one column per class", g->path);
    if (g->n_cols - 1 > DF_LIMIT_CLASSES)
        return df_fail(err, "%s:1: %d class columns, more than the limit of %d (classes)", g->path, g->n_cols - 1,
                       DF_LIMIT_CLASSES);
    for (int r = 0; r < g->n_rows; r++) {
        int ones = 0;
        for (int c = 1; c < g->n_cols; c++) {
            const char *v = df_csv_get(g, r, c);
            int x = truth_value(v);
            if (x < 0)
                return df_fail(err, "%s:%d: column '%s': '%s' is not a ground-truth value (expected exactly one of "
                               "0, 1, 0.0, 1.0)", g->path, g->lines[r], g->header[c], v);
            if (x == 1) {
                ones++;
                labels[r] = c - 1;
            }
        }
        if (ones != 1)
            return df_fail(err, "%s:%d: lesion %s: ground truth is not one-hot (%d classes set, expected exactly 1)",
                           g->path, g->lines[r], df_csv_get(g, r, 0), ones);
        if (!df_csv_get(g, r, 0)[0]) return df_fail(err, "%s:%d: empty lesion_id", g->path, g->lines[r]);
        sorted[r].name = df_csv_get(g, r, 0);
        sorted[r].pos = r;
    }
    qsort(sorted, (size_t)g->n_rows, sizeof *sorted, df_named_cmp);
    for (int i = 1; i < g->n_rows; i++)
        if (!strcmp(sorted[i].name, sorted[i - 1].name))
            return df_fail(err, "%s:%d: lesion %s already has ground truth at line %d", g->path,
                           g->lines[sorted[i].pos], sorted[i].name, g->lines[sorted[i - 1].pos]);
    return 0;
}

/* Attaches each metadata row to its lesion's view: view_row[lesion * 2 + view] = metadata row. */
static int attach_views(const df_csv *m, const df_csv *g, const df_named *sorted, int *view_row, df_error *err) {
    int c_lesion = df_csv_col(m, "lesion_id"), c_type = df_csv_col(m, "image_type");
    for (int r = 0; r < m->n_rows; r++) {
        df_named key = {df_csv_get(m, r, c_lesion), -1};
        const df_named *hit = NULL;
        int lo = 0, hi = g->n_rows;
        while (lo < hi) { /* first entry with id >= key */
            int mid = (lo + hi) / 2;
            if (strcmp(sorted[mid].name, key.name) < 0) lo = mid + 1;
            else hi = mid;
        }
        if (lo < g->n_rows && !strcmp(sorted[lo].name, key.name)) hit = &sorted[lo];
        if (!hit)
            return df_fail(err, "%s:%d: lesion '%s' has no row in the ground truth %s", m->path, m->lines[r], key.name,
                           g->path);
        const char *type = df_csv_get(m, r, c_type);
        int v = view_of(type);
        if (v < 0)
            return df_fail(err, "%s:%d: column 'image_type': '%s' is neither '%s' nor '%s' (spelled exactly so)",
                           m->path, m->lines[r], type, VIEW_TYPES[0], VIEW_TYPES[1]);
        int *slot = &view_row[hit->pos * DF_MAX_VIEWS + v];
        if (*slot >= 0)
            return df_fail(err, "%s:%d: lesion %s has a second %s image (the first is at line %d)", m->path,
                           m->lines[r], key.name, VIEW_TYPES[v], m->lines[*slot]);
        *slot = r;
    }
    for (int l = 0; l < g->n_rows; l++) {
        int d0 = view_row[l * DF_MAX_VIEWS], d1 = view_row[l * DF_MAX_VIEWS + 1];
        if (d0 < 0 && d1 < 0)
            return df_fail(err, "%s:%d: lesion %s has no image rows in %s", g->path, g->lines[l],
                           df_csv_get(g, l, 0), m->path);
        if (d0 < 0 || d1 < 0)
            return df_fail(err, "%s:%d: lesion %s has a %s image but no %s image", m->path,
                           m->lines[d0 >= 0 ? d0 : d1], df_csv_get(g, l, 0), VIEW_TYPES[d0 >= 0 ? 0 : 1],
                           VIEW_TYPES[d0 >= 0 ? 1 : 0]);
    }
    return 0;
}

int df_milk10k_load(df_dataset *d, const df_milk10k_options *o, int *n_skipped, df_error *err) {
    memset(d, 0, sizeof *d);
    if (n_skipped) *n_skipped = 0;
    char *meta_path = o->metadata_csv ? df_strdup(o->metadata_csv)
                                      : df_path_join(o->root, "MILK10k_Training_Metadata.csv");
    char *gt_path = o->ground_truth_csv ? df_strdup(o->ground_truth_csv)
                                        : df_path_join(o->root, "MILK10k_Training_GroundTruth.csv");
    char *image_dir = o->image_dir ? df_strdup(o->image_dir) : df_path_join(o->root, "MILK10k_Training_Input");
    df_csv m = {0}, g = {0};
    df_path_guard guard = {0};
    int *labels = NULL, *view_row = NULL, *monet = NULL, rc = -1;
    df_named *sorted = NULL;
    if (df_csv_read(gt_path, &g, err) || df_csv_read(meta_path, &m, err)) goto done;
    static const char *const need[] = {"lesion_id", "image_type", "isic_id"};
    if (df_csv_require_cols(&m, need, 3, err) || df_csv_check_unique(&m, df_csv_col(&m, "isic_id"), err)) goto done;
    labels = df_calloc((size_t)(g.n_rows ? g.n_rows : 1), sizeof *labels);
    sorted = df_calloc((size_t)(g.n_rows ? g.n_rows : 1), sizeof *sorted);
    view_row = df_malloc((size_t)(g.n_rows ? g.n_rows : 1) * DF_MAX_VIEWS * sizeof *view_row);
    for (int i = 0; i < g.n_rows * DF_MAX_VIEWS; i++) view_row[i] = -1;
    if (read_truth(&g, labels, sorted, err) || attach_views(&m, &g, sorted, view_row, err)) goto done;

    /* Metadata columns: the dermoscopic row's, then the clinical image's MONET scores. */
    monet = df_malloc((size_t)m.n_cols * sizeof *monet);
    int n_monet = 0;
    for (int c = 0; c < m.n_cols; c++)
        if (!strncmp(m.header[c], "MONET_", 6)) monet[n_monet++] = c;
    df_dataset_start_(d, meta_path, g.n_rows, 2, 0, 1, m.n_cols + n_monet);
    for (int c = 0; c < m.n_cols; c++) d->meta_cols[c] = df_strdup(m.header[c]);
    for (int k = 0; k < n_monet; k++) {
        size_t len = strlen(m.header[monet[k]]) + 10;
        d->meta_cols[m.n_cols + k] = df_malloc(len);
        snprintf(d->meta_cols[m.n_cols + k], len, "clinical_%s", m.header[monet[k]]);
    }
    d->n_classes = g.n_cols - 1;
    d->class_names = df_malloc((size_t)d->n_classes * sizeof *d->class_names);
    for (int c = 1; c < g.n_cols; c++) d->class_names[c - 1] = df_strdup(g.header[c]);
    for (int v = 0; v < DF_MAX_VIEWS; v++) d->view_names[v] = df_strdup(v ? "clinical" : "dermoscopic");

    int c_iid = df_csv_col(&m, "isic_id");
    const char *const folders[1] = {image_dir};
    df_guard_init(&guard, folders, 1, o->allow_outside_paths);
    for (int l = 0; l < g.n_rows; l++) {
        const char *lesion = df_csv_get(&g, l, 0);
        int rd = view_row[l * DF_MAX_VIEWS], rcl = view_row[l * DF_MAX_VIEWS + 1];
        char *paths[DF_MAX_VIEWS] = {NULL, NULL};
        if (o->with_images) {
            int missing = -1;
            for (int v = 0; v < DF_MAX_VIEWS && missing < 0; v++) {
                int r = v ? rcl : rd;
                const char *iid = df_csv_get(&m, r, c_iid);
                char *folder = df_path_join(image_dir, lesion), *name = df_malloc(strlen(iid) + 5);
                sprintf(name, "%s.jpg", iid);
                paths[v] = df_path_join(folder, name);
                free(folder);
                free(name);
                if (df_guard_check(&guard, m.path, m.lines[r], "image", paths[v], err)) {
                    free(paths[0]);
                    free(paths[1]);
                    goto done;
                }
                if (!df_is_file(paths[v])) missing = v;
            }
            if (missing >= 0) {
                if (!o->skip_missing_images)
                    df_fail(err, "%s:%d: %s image of lesion %s not found at '%s'", m.path,
                            m.lines[missing ? rcl : rd], VIEW_TYPES[missing], lesion, paths[missing]);
                free(paths[0]);
                free(paths[1]);
                if (!o->skip_missing_images) goto done;
                if (n_skipped) (*n_skipped)++;
                continue;
            }
        }
        int s = d->n_samples++;
        d->labels[s] = labels[l];
        d->source_rows[s] = m.lines[rd];
        d->ids[s] = df_strdup(lesion);
        d->groups[s] = df_strdup(lesion);
        for (int v = 0; v < DF_MAX_VIEWS; v++) d->image_paths[(size_t)s * DF_MAX_VIEWS + (size_t)v] = paths[v];
        df_dataset_copy_row_(d, s, &m, rd, 0);
        for (int k = 0; k < n_monet; k++)
            d->meta_values[(size_t)s * (size_t)d->n_meta_cols + (size_t)(m.n_cols + k)] =
                df_strdup(df_csv_get(&m, rcl, monet[k]));
    }
    rc = 0;
done:
    if (rc) df_dataset_free(d);
    df_guard_free(&guard);
    df_csv_free(&m);
    df_csv_free(&g);
    free(labels);
    free(sorted);
    free(view_row);
    free(monet);
    free(meta_path);
    free(gt_path);
    free(image_dir);
    return rc;
}
