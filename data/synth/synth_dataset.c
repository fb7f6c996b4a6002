/* synth_dataset.c: writes a synthetic dataset in the ISIC-DICM-17K or MILK10k layout (see synth_dataset.h). */
#include "data/synth/synth_dataset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/io/files.h"
#include "data/table/csv.h"
#include "data/image/image.h"
#include "data/synth/synth.h"
#include "data/synth/synth_meta.h"

void df_synth_dataset_defaults(df_synth_dataset_opts *o) {
    *o = (df_synth_dataset_opts){.n = 1000, .size = 128, .signal = 0.6f, .meta_signal = 0.6f, .seed = 1,
                                 .quality = 92, .hair = 1};
}

/* --- drawing ---------------------------------------------------------------------------------------------- */

/* Which rows are in the subgroup (df_synth_dataset_opts.subgroup): by a drawn field or a column of the input. */
typedef enum { SUBGROUP_NONE, SUBGROUP_SEX, SUBGROUP_SITE, SUBGROUP_COLUMN } subgroup_kind;

typedef struct {
    const df_synth_dataset_opts *o;
    const df_synth_input *in; /* from_metadata's rows, else NULL */
    int classes;
    df_synth_opts opts;
    subgroup_kind sub;
    const char *sub_value; /* within o->subgroup, after '=' */
    const char *const *sites; /* SUBGROUP_SITE: the layout's site names (milk10k names several indices alike) */
    int sub_column;        /* SUBGROUP_COLUMN: the input column */
    long failed_at;
    df_error first;
} job;

/* The image signal of row i with label: the subgroup's for a row in it. Drawn metadata are a function of
 * (seed, i, label), so the image knows the row it will be written with. */
static float signal_of(const job *j, long i, int label) {
    const df_synth_dataset_opts *o = j->o;
    if (j->sub == SUBGROUP_NONE) return o->signal;
    int in;
    if (j->sub == SUBGROUP_COLUMN) {
        in = strcmp(df_csv_get(&j->in->t, (int)i, j->sub_column), j->sub_value) == 0;
    } else {
        df_synth_meta_row m = df_synth_draw_meta(o->seed, i, j->classes, label, o->meta_signal);
        in = j->sub == SUBGROUP_SEX ? strcmp(m.sex, j->sub_value) == 0
                                    : m.site >= 0 && strcmp(j->sites[m.site], j->sub_value) == 0;
    }
    return in ? o->subgroup_signal : o->signal;
}

/* Binds o->subgroup ("COLUMN=VALUE") to the columns the layout writes. */
static int bind_subgroup(job *j, int milk, df_error *err) {
    const char *spec = j->o->subgroup, *eq = spec ? strchr(spec, '=') : NULL;
    if (!spec) return 0;
    const char *site_col = milk ? "site" : "anatom_site_general";
    const char *const *sites = milk ? df_synth_milk_sites : df_synth_isic_sites;
    if (!eq || eq == spec || !eq[1])
        return df_fail(err, "subgroup '%s': expected COLUMN=VALUE, e.g. sex=female or %s=%s", spec, site_col, sites[1]);
    if (!(j->o->subgroup_signal >= 0 && j->o->subgroup_signal <= 1))
        return df_fail(err, "subgroup signal %g must be in [0, 1]", j->o->subgroup_signal);
    size_t len = (size_t)(eq - spec);
    j->sub_value = eq + 1;
    if (j->in) {
        for (int c = 0; c < j->in->t.n_cols; c++)
            if (strlen(j->in->t.header[c]) == len && !strncmp(j->in->t.header[c], spec, len)) {
                j->sub = SUBGROUP_COLUMN;
                j->sub_column = c;
                return 0;
            }
        return df_fail(err, "subgroup '%s': %s has no column '%.*s'", spec, j->o->from_metadata, (int)len, spec);
    }
    if (len == 3 && !strncmp(spec, "sex", 3)) {
        if (strcmp(j->sub_value, "female") && strcmp(j->sub_value, "male"))
            return df_fail(err, "subgroup '%s': sex is female or male", spec);
        j->sub = SUBGROUP_SEX;
        return 0;
    }
    if (strlen(site_col) == len && !strncmp(spec, site_col, len)) {
        for (int k = 0; k < 8; k++)
            if (!strcmp(sites[k], j->sub_value)) {
                j->sub = SUBGROUP_SITE;
                j->sites = sites;
                return 0;
            }
        return df_fail(err, "subgroup '%s': '%s' is not a site the generator draws (%s, %s, %s, ...)", spec,
                       j->sub_value, sites[0], sites[1], sites[2]);
    }
    return df_fail(err, "subgroup '%s': the column is sex or %s (the metadata this layout draws)", spec, site_col);
}

static void record(job *j, long i, const df_error *e) {
#pragma omp critical(df_synth_err)
    if (i < j->failed_at) {
        j->failed_at = i;
        j->first = *e;
    }
}

/* Draws one view and writes its image and mask. */
static int draw_one(const job *j, df_synth_view view, long index, int label, const char *img_path,
                    const char *mask_path, int png, df_synth_info *info, df_error *err) {
    df_synth_opts o = j->opts;
    o.view = view;
    o.signal = signal_of(j, index, label);
    df_image img;
    unsigned char *mask = df_malloc((size_t)o.w * o.h);
    df_synth_draw(&o, j->o->seed, index, label, &img, mask, info);
    int rc = png ? df_image_save_png(img_path, &img, err) : df_image_save_jpeg(img_path, &img, j->o->quality, err);
    if (rc == 0) rc = df_image_save_gray_png(mask_path, mask, o.w, o.h, err);
    df_image_free(&img);
    free(mask);
    return rc;
}

static const char *ext_of(int png) { return png ? "png" : "jpg"; }

static int is_png_name(const char *name) {
    const char *dot = strrchr(name, '.');
    return dot && strcasecmp(dot, ".png") == 0;
}

/* Mask path of an image name: masks/<stem>.png; with up, as the CSV names it from the images folder
 * (../masks/<stem>.png). */
static char *mask_rel(const char *name, int up) {
    const char *dot = strrchr(name, '.');
    int stem = dot ? (int)(dot - name) : (int)strlen(name);
    size_t n = strlen(name) + 16;
    char *p = df_malloc(n);
    snprintf(p, n, "%smasks/%.*s.png", up ? "../" : "", stem, name);
    return p;
}

/* Opens a CSV to write; the caller ends it with close_csv. */
static FILE *open_csv(const char *path, df_error *err) {
    FILE *f = fopen(path, "w");
    if (!f) df_fail(err, "cannot create %s: %s", path, strerror(errno));
    return f;
}

/* Closes f; bad is non-zero when a row could not be written. Returns 0, or -1 with the failure in err. */
static int close_csv(FILE *f, const char *path, int bad, df_error *err) {
    int e = bad ? errno : 0;
    if (fclose(f) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (!bad) return 0;
    return df_fail(err, "writing %s failed: %s", path, e ? strerror(e) : "I/O error");
}

static const char *const isic_header[] = {
    "image",          "isic_id",     "year",         "class",     "patient_id",    "lesion_id",
    "sex",            "age_approx",  "anatom_site_general",       "benign_malignant", "dermoscopic_type",
    "diagnosis",      "diagnosis_confirm_type",      "image_type", "mel_class",    "mel_mitotic_index",
    "mel_type",       "mel_ulcer",   "melanocytic",  "nevus_type", "clin_size_long_diam_mm", "mel_thick_mm",
    "personal_hx_mm", "family_hx_mm", "mask"};
enum { ISIC_COLS = sizeof isic_header / sizeof *isic_header };

/* metadata.csv of a drawn set: one row per image, metadata from df_synth_draw_meta. */
static int write_isic_csv(const job *j, const char *path, char **names, const int *labels, long n, df_error *err) {
    FILE *f = open_csv(path, err);
    if (!f) return -1;
    int K = j->classes, bad = df_csv_write_row(f, isic_header, ISIC_COLS);
    for (long i = 0; i < n && !bad; i++) {
        df_synth_meta_row m = df_synth_draw_meta(j->o->seed, i, K, labels[i], j->o->meta_signal);
        char id[32], cls[16], patient[32], lesion[32], age[16] = "";
        snprintf(id, sizeof id, "SYN_%07ld", i);
        snprintf(cls, sizeof cls, "%d", labels[i]);
        snprintf(patient, sizeof patient, "SP_%06ld", i / 3);
        snprintf(lesion, sizeof lesion, "SL_%07ld", i);
        if (m.age >= 0) snprintf(age, sizeof age, "%d.0", m.age);
        char *mask = mask_rel(names[i], 1);
        const char *row[ISIC_COLS] = {
            names[i], id, "2024.0", cls, patient, lesion, m.sex, age, m.site >= 0 ? df_synth_isic_sites[m.site] : "",
            df_synth_malignancy(K, labels[i]) > 0 ? "malignant" : "benign", "",
            K == 2 ? (labels[i] ? "melanoma" : "nevus") : df_synth_class_name(K, labels[i]),
            "synthetic", "dermoscopic", "", "", "", "", "", "", "", "", "", "", mask};
        bad = df_csv_write_row(f, row, ISIC_COLS);
        free(mask);
    }
    return close_csv(f, path, bad, err);
}

/* The input rows, every field as read, plus the `mask` column. */
static int write_input_csv(const df_synth_input *in, const char *path, df_error *err) {
    FILE *f = open_csv(path, err);
    if (!f) return -1;
    const df_csv *t = &in->t;
    const char **row = df_malloc(sizeof(char *) * ((size_t)t->n_cols + 1));
    for (int k = 0; k < t->n_cols; k++) row[k] = t->header[k];
    row[t->n_cols] = "mask";
    int bad = df_csv_write_row(f, row, t->n_cols + 1);
    for (long i = 0; i < in->n && !bad; i++) {
        for (int k = 0; k < t->n_cols; k++) row[k] = df_csv_get(t, (int)i, k);
        char *mask = mask_rel(in->names[i], 1);
        row[t->n_cols] = mask;
        bad = df_csv_write_row(f, row, t->n_cols + 1);
        free(mask);
    }
    free(row);
    return close_csv(f, path, bad, err);
}

/* Draws image i of names/labels into images/ and masks/ for every i in 0..n, in parallel. */
static void draw_isic(job *j, const char *imgdir, char **names, const int *labels, long n, int from) {
    const df_synth_dataset_opts *o = j->o;
#pragma omp parallel for schedule(dynamic, 8)
    for (long i = 0; i < n; i++) {
        char *ip = df_path_join(imgdir, names[i]), *mr = mask_rel(names[i], 0), *mp = df_path_join(o->out, mr);
        df_error e;
        if (draw_one(j, DF_SYNTH_DERMOSCOPIC, i, labels[i], ip, mp, from ? is_png_name(names[i]) : o->png, NULL, &e))
            record(j, i, &e);
        free(ip);
        free(mr);
        free(mp);
    }
}

static int run_isic(job *j, const df_synth_input *in, df_synth_dataset_report *rep, df_error *err) {
    const df_synth_dataset_opts *o = j->o;
    int from = o->from_metadata != NULL;
    long n = from ? in->n : o->n;
    char *imgdir = df_path_join(o->out, "images"), *maskdir = df_path_join(o->out, "masks");
    int rc = df_make_dirs(imgdir, err) || df_make_dirs(maskdir, err) ? -1 : 0;
    char **names = from ? in->names : df_calloc((size_t)n, sizeof(char *));
    int *labels = from ? in->labels : df_malloc(sizeof(int) * (size_t)n);
    if (!from)
        for (long i = 0; i < n; i++) {
            char buf[64];
            snprintf(buf, sizeof buf, "SYN_%07ld.%s", i, ext_of(o->png));
            names[i] = df_strdup(buf);
            labels[i] = (int)(i % j->classes);
        }
    if (rc == 0) {
        draw_isic(j, imgdir, names, labels, n, from);
        if (j->failed_at < n) rc = df_fail(err, "%s", j->first.msg);
    }
    if (rc == 0) {
        const char *base = from ? strrchr(o->from_metadata, '/') : NULL;
        base = from ? (base ? base + 1 : o->from_metadata) : "metadata.csv";
        char *csv = df_path_join(o->out, base);
        rc = from ? write_input_csv(in, csv, err) : write_isic_csv(j, csv, names, labels, n, err);
        free(csv);
    }
    if (!from) {
        for (long i = 0; i < n; i++) free(names[i]);
        free(names);
        free(labels);
    }
    free(imgdir);
    free(maskdir);
    rep->images = rep->rows = n;
    return rc;
}

/* MILK10k_Training_Metadata.csv (a row per image) and MILK10k_Training_GroundTruth.csv (a row per lesion). */
static int write_milk_csvs(const job *j, const char *meta, const char *gt, const int *tones, df_error *err) {
    static const char *const meta_header[] = {"lesion_id", "image_type", "isic_id", "attribution",
                                              "copyright_license", "image_manipulation", "age_approx", "sex",
                                              "skin_tone_class", "site"};
    const df_synth_dataset_opts *o = j->o;
    FILE *fm = open_csv(meta, err);
    if (!fm) return -1;
    FILE *fg = open_csv(gt, err);
    if (!fg) {
        fclose(fm);
        return -1;
    }
    const char *gt_row[1 + DF_SYNTH_MAX_CLASSES] = {"lesion_id"};
    for (int k = 0; k < DF_SYNTH_MAX_CLASSES; k++) gt_row[1 + k] = df_synth_class_name(DF_SYNTH_MAX_CLASSES, k);
    int bad_m = df_csv_write_row(fm, meta_header, 10), bad_g = df_csv_write_row(fg, gt_row, 1 + DF_SYNTH_MAX_CLASSES);
    for (long i = 0; i < o->n && !bad_m && !bad_g; i++) {
        int label = (int)(i % j->classes);
        df_synth_meta_row m = df_synth_draw_meta(o->seed, i, j->classes, label, o->meta_signal);
        char lesion[32], isic[32], age[16] = "", tone[16];
        snprintf(lesion, sizeof lesion, "IL_%07ld", i);
        if (m.age >= 0) snprintf(age, sizeof age, "%d", m.age);
        snprintf(tone, sizeof tone, "%d", tones[i]);
        for (int v = 0; v < 2 && !bad_m; v++) {
            snprintf(isic, sizeof isic, "ISIC_%07ld", 2 * i + v);
            const char *row[10] = {lesion, v == 0 ? "dermoscopic" : "clinical: close-up", isic, "dermfuse synthetic",
                                   "CC0", "synthetic", age, m.sex, tone, m.site >= 0 ? df_synth_milk_sites[m.site] : ""};
            bad_m = df_csv_write_row(fm, row, 10);
        }
        gt_row[0] = lesion;
        for (int k = 0; k < DF_SYNTH_MAX_CLASSES; k++) gt_row[1 + k] = k == label ? "1.0" : "0.0";
        bad_g = df_csv_write_row(fg, gt_row, 1 + DF_SYNTH_MAX_CLASSES);
    }
    df_error e2;
    int rc = close_csv(fm, meta, bad_m, err);
    if (close_csv(fg, gt, bad_g, &e2) && rc == 0) rc = df_fail(err, "%s", e2.msg);
    return rc;
}

/* Draws both views of lesion i into MILK10k_Training_Input/<lesion_id>/ and masks/; tone gets its skin tone. */
static void draw_lesion(job *j, const char *root, const char *maskdir, long i, int *tone) {
    const df_synth_dataset_opts *o = j->o;
    char lesion[32], buf[64];
    snprintf(lesion, sizeof lesion, "IL_%07ld", i);
    char *dir = df_path_join(root, lesion);
    df_error e;
    if (df_make_dirs(dir, &e)) {
        record(j, i, &e);
    } else {
        for (int v = 0; v < 2; v++) {
            snprintf(buf, sizeof buf, "ISIC_%07ld.%s", 2 * i + v, ext_of(o->png));
            char *ip = df_path_join(dir, buf);
            snprintf(buf, sizeof buf, "ISIC_%07ld.png", 2 * i + v);
            char *mp = df_path_join(maskdir, buf);
            df_synth_info info;
            if (draw_one(j, v == 0 ? DF_SYNTH_DERMOSCOPIC : DF_SYNTH_CLINICAL, i, (int)(i % j->classes), ip, mp,
                         o->png, &info, &e))
                record(j, i, &e);
            *tone = info.skin_tone;
            free(ip);
            free(mp);
        }
    }
    free(dir);
}

static int run_milk(job *j, df_synth_dataset_report *rep, df_error *err) {
    const df_synth_dataset_opts *o = j->o;
    long n = o->n;
    char *root = df_path_join(o->out, "MILK10k_Training_Input"), *maskdir = df_path_join(o->out, "masks");
    int *tones = NULL;
    int rc = df_make_dirs(root, err) || df_make_dirs(maskdir, err) ? -1 : 0;
    if (rc == 0) {
        tones = df_malloc(sizeof(int) * (size_t)n);
#pragma omp parallel for schedule(dynamic, 4)
        for (long i = 0; i < n; i++) draw_lesion(j, root, maskdir, i, &tones[i]);
        if (j->failed_at < n) rc = df_fail(err, "%s", j->first.msg);
    }
    if (rc == 0) {
        char *meta = df_path_join(o->out, "MILK10k_Training_Metadata.csv");
        char *gt = df_path_join(o->out, "MILK10k_Training_GroundTruth.csv");
        rc = write_milk_csvs(j, meta, gt, tones, err);
        free(meta);
        free(gt);
    }
    free(tones);
    free(root);
    free(maskdir);
    rep->images = 2 * n;
    rep->rows = 2 * n;
    return rc;
}

/* Options that no drawing could satisfy; df_synth_check covers size, classes, signal and skin tone. */
static int check_opts(const df_synth_dataset_opts *o, int milk, df_error *err) {
    if (!o->out || !*o->out) return df_fail(err, "no output folder given");
    if (milk && o->from_metadata) return df_fail(err, "a metadata CSV works with the isic layout only");
    if (milk && o->classes && o->classes != DF_SYNTH_MAX_CLASSES)
        return df_fail(err, "the milk10k layout has 11 classes; %d is not possible", o->classes);
    if (!o->from_metadata && o->n < 1) return df_fail(err, "%ld images: at least 1 is needed", o->n);
    if (o->quality < 1 || o->quality > 100) return df_fail(err, "JPEG quality %d must be in 1..100", o->quality);
    if (!(o->meta_signal >= 0 && o->meta_signal <= 1))
        return df_fail(err, "meta signal %g must be in [0, 1]", o->meta_signal);
    return 0;
}

int df_synth_dataset_write(const df_synth_dataset_opts *o, df_synth_dataset_report *out_or_null, df_error *err) {
    int milk = o->layout == DF_SYNTH_LAYOUT_MILK10K;
    job j = {.o = o, .failed_at = 0x7fffffffffffffffL};
    df_synth_input in = {0};
    j.in = o->from_metadata ? &in : NULL;
    j.classes = milk ? DF_SYNTH_MAX_CLASSES : (o->classes ? o->classes : 2);
    df_synth_defaults(&j.opts, o->size, o->size, j.classes);
    j.opts.signal = o->signal;
    j.opts.hair = o->hair;
    j.opts.skin_tone = o->skin_tone;
    if (check_opts(o, milk, err) || df_synth_check(&j.opts, err)) return DF_SYNTH_DATASET_EINPUT;
    if (o->from_metadata && df_synth_input_read(o->from_metadata, j.classes, &in, err)) {
        df_synth_input_free(&in);
        return DF_SYNTH_DATASET_EINPUT;
    }
    if (bind_subgroup(&j, milk, err)) {
        df_synth_input_free(&in);
        return DF_SYNTH_DATASET_EINPUT;
    }
    df_synth_dataset_report rep = {0};
    int rc = df_make_dirs(o->out, err);
    if (rc == 0) rc = milk ? run_milk(&j, &rep, err) : run_isic(&j, &in, &rep, err);
    df_synth_input_free(&in);
    if (out_or_null) *out_or_null = rep;
    return rc ? DF_SYNTH_DATASET_EWRITE : 0;
}
