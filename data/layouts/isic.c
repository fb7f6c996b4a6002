/* isic.c: the ISIC-DICM-17K split files (see datasets.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/layouts/datasets.h"
#include "data/layouts/layout_util.h"

/* The label spellings of the `class` column, and the class each means. */
static const char *const CLASS_SPELLINGS[] = {"0", "1", "0.0", "1.0"};
static const int CLASS_OF_SPELLING[] = {0, 1, 0, 1};

static int parse_class(const char *s, int *label) {
    for (size_t i = 0; i < sizeof CLASS_SPELLINGS / sizeof *CLASS_SPELLINGS; i++)
        if (!strcmp(s, CLASS_SPELLINGS[i])) {
            *label = CLASS_OF_SPELLING[i];
            return 1;
        }
    return 0;
}

/* Finds the row's image in dir: the `image` name first, then the ISIC Archive's <isic_id>.jpg / .png. Every
 * candidate tried must lie inside the folder (g). Returns 0 with *found the path (a new string), or with
 * *found NULL and `tried` listing the candidates when none exists; -1 when a candidate lies outside. */
static int find_image(const df_path_guard *g, const char *dir, const df_csv *t, int r, const char *image,
                      const char *isic_id, char **found, char *tried, size_t cap, df_error *err) {
    char *names[3];
    int n = 0;
    if (image[0]) names[n++] = df_strdup(image);
    for (int k = 0; k < 2 && isic_id[0]; k++) {
        size_t len = strlen(isic_id) + 5;
        names[n] = df_malloc(len);
        snprintf(names[n++], len, "%s.%s", isic_id, k ? "png" : "jpg");
    }
    size_t used = 0;
    int rc = 0;
    *found = NULL;
    tried[0] = '\0';
    for (int i = 0; i < n && !*found && !rc; i++) {
        char *p = df_path_join(dir, names[i]);
        rc = df_guard_check(g, t->path, t->lines[r], "image", p, err);
        if (!rc && df_is_file(p)) {
            *found = p;
            break;
        }
        if (used < cap) {
            int w = snprintf(tried + used, cap - used, "%s'%s'", i ? ", " : "", p);
            if (w > 0) used += (size_t)w;
        }
        free(p);
    }
    for (int i = 0; i < n; i++) free(names[i]);
    if (!n) snprintf(tried, cap, "nothing (both image and isic_id are empty)");
    return rc;
}

int df_isic_load(df_dataset *d, const df_isic_options *o, int *n_skipped, df_error *err) {
    memset(d, 0, sizeof *d);
    if (n_skipped) *n_skipped = 0;
    if (o->with_images && (!o->image_dir || !o->image_dir[0]))
        return df_fail(err, "%s: images requested but no image folder given", o->csv_path);
    df_csv t;
    if (df_csv_read(o->csv_path, &t, err)) return -1;
    const char *need[3] = {"image", "isic_id", "class"};
    if (df_require_cols_grouped(&t, need, 3, o->group_col, err)) {
        df_csv_free(&t);
        return -1;
    }
    int c_image = df_csv_col(&t, "image"), c_id = df_csv_col(&t, "isic_id"), c_class = df_csv_col(&t, "class");
    int c_group = o->group_col ? df_csv_col(&t, o->group_col) : -1, c_mask = df_csv_col(&t, "mask");

    char *csv_dir = df_folder_of(o->csv_path);
    const char *const folders[2] = {o->image_dir, csv_dir};
    df_path_guard images, masks; /* masks may also lie beside the CSV, as `dermfuse synth` writes them */
    df_guard_init(&images, folders, 1, o->allow_outside_paths);
    df_guard_init(&masks, folders, 2, o->allow_outside_paths);
    df_dataset_start_(d, o->csv_path, t.n_rows, 1, c_mask >= 0, c_group >= 0, t.n_cols);
    for (int c = 0; c < t.n_cols; c++) d->meta_cols[c] = df_strdup(t.header[c]);
    d->n_classes = 2;
    d->class_names = df_malloc(2 * sizeof *d->class_names);
    /* Not "benign": class 0 is whatever is not class 1, which in the published files includes carcinomas whose
     * benign_malignant field is empty or even "benign". */
    d->class_names[0] = df_strdup("other");
    d->class_names[1] = df_strdup("malignant");
    d->view_names[0] = df_strdup("dermoscopic");

    for (int r = 0; r < t.n_rows; r++) {
        int line = t.lines[r], label;
        const char *cls = df_csv_get(&t, r, c_class), *id = df_csv_get(&t, r, c_id);
        const char *image = df_csv_get(&t, r, c_image);
        if (!parse_class(cls, &label)) {
            df_fail(err, "%s:%d: column 'class': '%s' is not a label of this dataset (expected exactly one of 0, 1, "
                    "0.0, 1.0)", t.path, line, cls);
            goto fail;
        }
        char *path = NULL, *mask = NULL, tried[1024];
        if (o->with_images) {
            if (find_image(&images, o->image_dir, &t, r, image, id, &path, tried, sizeof tried, err)) goto fail;
            if (!path) {
                if (o->skip_missing_images) {
                    if (n_skipped) (*n_skipped)++;
                    continue;
                }
                df_fail(err, "%s:%d: image of %s not found; tried %s", t.path, line, id[0] ? id : image, tried);
                goto fail;
            }
            const char *m = c_mask >= 0 ? df_csv_get(&t, r, c_mask) : "";
            if (m[0]) {
                mask = df_path_join(o->image_dir, m);
                if (df_guard_check(&masks, t.path, line, "mask", mask, err)) {
                    free(path);
                    free(mask);
                    goto fail;
                }
                if (!df_is_file(mask)) {
                    if (o->skip_missing_images) {
                        if (n_skipped) (*n_skipped)++;
                        free(path);
                        free(mask);
                        continue;
                    }
                    df_fail(err, "%s:%d: mask '%s' not found", t.path, line, mask);
                    free(path);
                    free(mask);
                    goto fail;
                }
            }
        }
        df_dataset_add_row_(d, &t, r, label, id[0] ? df_strdup(id) : df_group_or_row(image, line), path, mask,
                            c_group);
    }
    if (df_dataset_check_unique_ids(d, err)) goto fail;
    df_guard_free(&images);
    df_guard_free(&masks);
    free(csv_dir);
    df_csv_free(&t);
    return 0;
fail:
    df_guard_free(&images);
    df_guard_free(&masks);
    free(csv_dir);
    df_csv_free(&t);
    df_dataset_free(d);
    return -1;
}
