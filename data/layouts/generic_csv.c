/* generic_csv.c: a user's CSV + image folder (see datasets.h). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "data/layouts/datasets.h"
#include "data/layouts/layout_util.h"

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* A label with letter case (ASCII) and surrounding blanks dropped, for spotting one class spelled two ways;
 * a new string. */
static char *folded(const char *s) {
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) n--;
    char *f = df_malloc(n + 1);
    for (size_t i = 0; i < n; i++) f[i] = (char)tolower((unsigned char)s[i]);
    f[n] = '\0';
    return f;
}

/* Fails when two distinct labels fold to the same text: one class spelled two ways would become two. */
static int check_spellings(const df_csv *t, int c_label, df_error *err) {
    df_named *all = df_malloc((size_t)(t->n_rows ? t->n_rows : 1) * sizeof *all);
    for (int r = 0; r < t->n_rows; r++) all[r] = (df_named){folded(df_csv_get(t, r, c_label)), r};
    qsort(all, (size_t)t->n_rows, sizeof *all, df_named_cmp);
    int rc = 0;
    for (int i = 1; i < t->n_rows && !rc; i++) {
        const char *a = df_csv_get(t, all[i - 1].pos, c_label), *b = df_csv_get(t, all[i].pos, c_label);
        if (!strcmp(all[i].name, all[i - 1].name) && strcmp(a, b))
            rc = df_fail(err, "%s:%d: column '%s': label '%s' is the label '%s' of line %d spelled differently "
                         "(letter case or blanks); write each class one way", t->path, t->lines[all[i].pos],
                         t->header[c_label], b, a, t->lines[all[i - 1].pos]);
    }
    for (int r = 0; r < t->n_rows; r++) free((char *)all[r].name);
    free(all);
    return rc;
}

/* The sorted distinct labels of the file; an empty label is an error. */
static int collect_classes(const df_csv *t, int c_label, df_dataset *d, df_error *err) {
    const char **all = df_malloc((size_t)(t->n_rows ? t->n_rows : 1) * sizeof *all);
    for (int r = 0; r < t->n_rows; r++) {
        all[r] = df_csv_get(t, r, c_label);
        if (!all[r][0]) {
            free(all);
            return df_fail(err, "%s:%d: empty label in column '%s'", t->path, t->lines[r], t->header[c_label]);
        }
    }
    if (check_spellings(t, c_label, err)) {
        free(all);
        return -1;
    }
    qsort(all, (size_t)t->n_rows, sizeof *all, cmp_str);
    d->class_names = df_malloc((size_t)(t->n_rows ? t->n_rows : 1) * sizeof *d->class_names);
    for (int r = 0; r < t->n_rows; r++)
        if (r == 0 || strcmp(all[r], all[r - 1])) d->class_names[d->n_classes++] = df_strdup(all[r]);
    free(all);
    if (d->n_classes < 2)
        return df_fail(err, "%s: column '%s' holds %d distinct label%s; a classifier needs at least 2", t->path,
                       t->header[c_label], d->n_classes, d->n_classes == 1 ? "" : "s");
    if (d->n_classes > DF_LIMIT_CLASSES)
        return df_fail(err, "%s: column '%s' holds %d distinct labels, more than the limit of %d (classes)", t->path,
                       t->header[c_label], d->n_classes, DF_LIMIT_CLASSES);
    return 0;
}

static int class_index(const df_dataset *d, const char *label) {
    for (int c = 0; c < d->n_classes; c++)
        if (!strcmp(d->class_names[c], label)) return c;
    return -1;
}

static int bad_label(const df_csv *t, int r, int c_label, const df_dataset *d, df_error *err) {
    char list[600];
    size_t used = 0;
    list[0] = '\0';
    for (int c = 0; c < d->n_classes && used < sizeof list; c++) {
        int w = snprintf(list + used, sizeof list - used, "%s'%s'", c ? ", " : "", d->class_names[c]);
        if (w > 0) used += (size_t)w;
    }
    if (used >= sizeof list) snprintf(list + sizeof list - 5, 5, " ...");
    return df_fail(err, "%s:%d: column '%s': label '%s' is not one of the %d classes (expected exactly one of %s)",
                   t->path, t->lines[r], t->header[c_label], df_csv_get(t, r, c_label), d->n_classes, list);
}

int df_generic_load(df_dataset *d, const df_generic_options *o, int *n_skipped, df_error *err) {
    memset(d, 0, sizeof *d);
    if (n_skipped) *n_skipped = 0;
    if (!o->label_col) return df_fail(err, "%s: no label column given", o->csv_path);
    if (o->with_images && (!o->image_col || !o->image_dir || !o->image_dir[0]))
        return df_fail(err, "%s: images requested but no image column or image folder given", o->csv_path);
    df_csv t;
    if (df_csv_read(o->csv_path, &t, err)) return -1;
    const char *need[5];
    int n_need = 0;
    need[n_need++] = o->label_col;
    if (o->image_col) need[n_need++] = o->image_col;
    if (o->id_col) need[n_need++] = o->id_col;
    if (o->mask_col) need[n_need++] = o->mask_col;
    if (df_require_cols_grouped(&t, need, n_need, o->group_col, err)) {
        df_csv_free(&t);
        return -1;
    }
    int c_label = df_csv_col(&t, o->label_col);
    int c_image = o->image_col ? df_csv_col(&t, o->image_col) : -1;
    int c_id = o->id_col ? df_csv_col(&t, o->id_col) : -1;
    int c_group = o->group_col ? df_csv_col(&t, o->group_col) : -1;
    int c_mask = o->mask_col ? df_csv_col(&t, o->mask_col) : -1;

    int rc = -1; /* until every row is in */
    char *csv_dir = df_folder_of(o->csv_path);
    const char *const folders[2] = {o->image_dir, csv_dir};
    df_path_guard images, masks; /* masks may also lie beside the CSV */
    df_guard_init(&images, folders, 1, o->allow_outside_paths);
    df_guard_init(&masks, folders, 2, o->allow_outside_paths);
    df_dataset_start_(d, o->csv_path, t.n_rows, 1, c_mask >= 0, c_group >= 0, t.n_cols);
    for (int c = 0; c < t.n_cols; c++) d->meta_cols[c] = df_strdup(t.header[c]);
    d->view_names[0] = df_strdup("image");
    if (o->n_class_names > 0) {
        d->class_names = df_malloc((size_t)o->n_class_names * sizeof *d->class_names);
        for (int c = 0; c < o->n_class_names; c++) d->class_names[d->n_classes++] = df_strdup(o->class_names[c]);
    } else if (collect_classes(&t, c_label, d, err)) {
        goto fail;
    }

    for (int r = 0; r < t.n_rows; r++) {
        int line = t.lines[r];
        const char *label = df_csv_get(&t, r, c_label);
        int y = class_index(d, label);
        if (y < 0) {
            bad_label(&t, r, c_label, d, err);
            goto fail;
        }
        const char *image = c_image >= 0 ? df_csv_get(&t, r, c_image) : "";
        char *path = NULL, *mask = NULL;
        if (o->with_images) {
            const char *m = c_mask >= 0 ? df_csv_get(&t, r, c_mask) : "";
            path = image[0] ? df_path_join(o->image_dir, image) : NULL;
            mask = m[0] ? df_path_join(o->image_dir, m) : NULL;
            if ((path && df_guard_check(&images, t.path, line, "image", path, err)) ||
                (mask && df_guard_check(&masks, t.path, line, "mask", mask, err))) {
                free(path);
                free(mask);
                goto fail;
            }
            const char *missing = !path ? "(empty image field)" : !df_is_file(path) ? path
                                  : mask && !df_is_file(mask) ? mask : NULL;
            if (missing) {
                if (!o->skip_missing_images)
                    df_fail(err, "%s:%d: %s '%s' not found", t.path, line, missing == mask ? "mask" : "image",
                            missing);
                free(path);
                free(mask);
                if (!o->skip_missing_images) goto fail;
                if (n_skipped) (*n_skipped)++;
                continue;
            }
        }
        const char *id = c_id >= 0 ? df_csv_get(&t, r, c_id) : image;
        df_dataset_add_row_(d, &t, r, y, df_group_or_row(id, line), path, mask, c_group);
    }
    rc = df_dataset_check_unique_ids(d, err);
fail:
    df_guard_free(&images);
    df_guard_free(&masks);
    free(csv_dir);
    df_csv_free(&t);
    if (rc) df_dataset_free(d);
    return rc;
}
