/* isic.c: the ISIC-DICM-17K split files (see datasets.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/layouts/datasets.h"
#include "data/layouts/layout_util.h"
#include "data/table/meta.h"

/* Finds the row's image: the `image` name first, then the ISIC Archive's <isic_id>.jpg / .png. Returns a
 * new path, or NULL with `tried` listing the candidates. */
static char *find_image(const char *dir, const char *image, const char *isic_id, char *tried, size_t cap) {
    char names[3][512];
    int n = 0;
    if (image[0]) snprintf(names[n++], sizeof names[0], "%s", image);
    if (isic_id[0]) {
        snprintf(names[n++], sizeof names[0], "%s.jpg", isic_id);
        snprintf(names[n++], sizeof names[0], "%s.png", isic_id);
    }
    size_t used = 0;
    tried[0] = '\0';
    for (int i = 0; i < n; i++) {
        char *p = df_path_join(dir, names[i]);
        if (df_is_file(p)) return p;
        if (used < cap) {
            int w = snprintf(tried + used, cap - used, "%s'%s'", i ? ", " : "", p);
            if (w > 0) used += (size_t)w;
        }
        free(p);
    }
    if (!n) snprintf(tried, cap, "nothing (both image and isic_id are empty)");
    return NULL;
}

static int parse_class(const char *s, int *label) {
    double x;
    if (!df_meta_parse_number(s, &x) || (x != 0.0 && x != 1.0)) return 0;
    *label = (int)x;
    return 1;
}

int df_isic_load(df_dataset *d, const df_isic_options *o, int *n_skipped, df_error *err) {
    memset(d, 0, sizeof *d);
    if (n_skipped) *n_skipped = 0;
    if (o->with_images && (!o->image_dir || !o->image_dir[0]))
        return df_fail(err, "%s: images requested but no image folder given", o->csv_path);
    df_csv t;
    if (df_csv_read(o->csv_path, &t, err)) return -1;
    const char *need[4] = {"image", "isic_id", "class", o->group_col};
    if (df_csv_require_cols(&t, need, o->group_col ? 4 : 3, err)) {
        df_csv_free(&t);
        return -1;
    }
    int c_image = df_csv_col(&t, "image"), c_id = df_csv_col(&t, "isic_id"), c_class = df_csv_col(&t, "class");
    int c_group = o->group_col ? df_csv_col(&t, o->group_col) : -1, c_mask = df_csv_col(&t, "mask");

    df_dataset_start_(d, o->csv_path, t.n_rows, 1, c_mask >= 0, c_group >= 0, t.n_cols);
    for (int c = 0; c < t.n_cols; c++) d->meta_cols[c] = df_strdup(t.header[c]);
    d->n_classes = 2;
    d->class_names = df_malloc(2 * sizeof *d->class_names);
    d->class_names[0] = df_strdup("other");
    d->class_names[1] = df_strdup("malignant");
    d->view_names[0] = df_strdup("dermoscopic");

    for (int r = 0; r < t.n_rows; r++) {
        int line = t.lines[r], label;
        const char *cls = df_csv_get(&t, r, c_class), *id = df_csv_get(&t, r, c_id);
        const char *image = df_csv_get(&t, r, c_image);
        if (!parse_class(cls, &label)) {
            df_fail(err, "%s:%d: class '%s' is not a class of this dataset (expected 0 or 1)", t.path, line, cls);
            goto fail;
        }
        char *path = NULL, *mask = NULL, tried[1024];
        if (o->with_images) {
            path = find_image(o->image_dir, image, id, tried, sizeof tried);
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
    df_csv_free(&t);
    return 0;
fail:
    df_csv_free(&t);
    df_dataset_free(d);
    return -1;
}
