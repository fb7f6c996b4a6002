/* datasets.h: loading the supported dataset layouts into a df_dataset.
 *
 * Every loader reads its CSV file(s) completely, checks each row, and either fills the dataset or fails
 * with a message naming the file and line. Images are only located here (a file exists), never decoded.
 * With with_images = 0 (metadata-only runs) image paths are not resolved and stay NULL. With images, a
 * missing image is an error naming the row and every path tried, or, with skip_missing_images, the row is
 * dropped and counted in *n_skipped (which may be NULL). All CSV columns are kept as raw metadata strings;
 * data/meta.h picks and encodes the feature columns.
 *
 * Strictness, the same in every layout: a label must be exactly one of the layout's spellings (no case
 * folding, no blanks, no numeric leniency); an error names the file, line, column and the accepted values.
 * Sample ids must be unique in a file (an error names both lines). Every file a row names (image, mask)
 * must lie inside the image folder (masks: or the CSV's folder), lexically and after following links,
 * unless allow_outside_paths is set (the config's data.allow_outside_paths); the error names the CSV, line,
 * path and that key. The check is made before the file is looked for, so an outside path is an error even
 * with skip_missing_images. */
#ifndef DF_DATASETS_H
#define DF_DATASETS_H

#include "data/table/dataset.h"

/* The dataset layouts below; df_layout_names holds their names in this order, NULL-terminated (configs
 * bind data.layout through it). */
typedef enum { DF_LAYOUT_ISIC, DF_LAYOUT_MILK10K, DF_LAYOUT_CSV } df_layout;
extern const char *const df_layout_names[]; /* "isic", "milk10k", "csv" */

/* ISIC-DICM-17K as published: a split file (train-set-metadata.csv, valid-set-metadata.csv) with columns
 * image, isic_id, class, ... Label = `class`, exactly "0", "1", "0.0" or "1.0", class names "other" and
 * "malignant" (class 1 is melanoma plus, in part of the data, other malignancies). The image of a row is
 * <image_dir>/<image> if that file exists, else <image_dir>/<isic_id>.jpg (the ISIC Archive's download
 * naming), else <image_dir>/<isic_id>.png. A `mask` column, if present, names a lesion mask relative to
 * image_dir (an empty field: no mask). Sample ids are isic_id. */
typedef struct {
    const char *csv_path;       /* the split file */
    const char *image_dir;      /* folder of the images; required with images */
    int with_images;            /* 0: metadata only */
    int skip_missing_images;    /* 1: drop rows whose image (or named mask) is missing, counting them */
    const char *group_col;      /* "patient_id", "lesion_id", or NULL for no groups; an empty field becomes
                                   its own group "row:<line>" */
    int allow_outside_paths;    /* 1: rows may name files outside image_dir */
} df_isic_options;

int df_isic_load(df_dataset *d, const df_isic_options *o, int *n_skipped, df_error *err);

/* MILK10k as published: <root>/MILK10k_Training_Metadata.csv (one row per image: lesion_id, image_type,
 * isic_id, ..., age_approx, sex, skin_tone_class, site, MONET_*), <root>/MILK10k_Training_GroundTruth.csv
 * (lesion_id and one 0/1 column per class, exactly one 1 per row) and the images
 * <root>/MILK10k_Training_Input/<lesion_id>/<isic_id>.jpg. One sample per lesion, in ground-truth order,
 * with two views: view 0 the "dermoscopic" image, view 1 the "clinical: close-up" image. Class names are
 * the ground-truth columns in file order. The metadata of a sample are all columns of its dermoscopic row
 * under their own names, plus the clinical image's per-image MONET_* scores as "clinical_MONET_*". The
 * group is the lesion id; the sample id is the lesion id; source rows refer to the metadata file. Errors:
 * a lesion without one of the two views or with a view twice, an image_type that is not exactly one of the
 * two above, a ground-truth value that is not exactly 0, 1, 0.0 or 1.0, a row that is not one-hot, a lesion
 * in one file but not the other, a lesion id or an isic_id twice. */
typedef struct {
    const char *root;             /* folder holding the files above */
    const char *metadata_csv;     /* NULL: <root>/MILK10k_Training_Metadata.csv */
    const char *ground_truth_csv; /* NULL: <root>/MILK10k_Training_GroundTruth.csv */
    const char *image_dir;        /* NULL: <root>/MILK10k_Training_Input */
    int with_images;
    int skip_missing_images;      /* 1: drop lesions with a missing image file (not a missing view row) */
    int allow_outside_paths;      /* 1: lesion and isic ids may lead outside image_dir */
} df_milk10k_options;

int df_milk10k_load(df_dataset *d, const df_milk10k_options *o, int *n_skipped, df_error *err);

/* Any CSV + image folder. The image column holds a path relative to image_dir (or absolute). Class names
 * are given explicitly (load a test file with the training file's classes) or, when n_class_names is 0,
 * collected from this file's label column and sorted by byte order. A label outside the given classes, or
 * an empty label, is an error naming file:line, the column and the classes; so are two labels of one file
 * that differ only in letter case or surrounding blanks ("Nevus", "nevus "). Sample ids come from id_col,
 * else the image field, else "row:<line>". */
typedef struct {
    const char *csv_path;
    const char *image_dir;
    const char *image_col;      /* required with images; may be NULL without */
    const char *label_col;      /* required */
    const char *const *class_names; /* [n_class_names], or NULL with n_class_names 0 */
    int n_class_names;
    const char *id_col;         /* optional (NULL) */
    const char *group_col;      /* optional; an empty field becomes its own group "row:<line>" */
    const char *mask_col;       /* optional; relative to image_dir; an empty field: no mask */
    int with_images;
    int skip_missing_images;
    int allow_outside_paths;    /* 1: image and mask paths may lie outside image_dir */
} df_generic_options;

int df_generic_load(df_dataset *d, const df_generic_options *o, int *n_skipped, df_error *err);

#endif
