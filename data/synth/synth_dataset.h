/* synth_dataset.h: writes a synthetic dataset (images, masks, CSV files) in the ISIC-DICM-17K or MILK10k
 * layout, or one image per row of an existing ISIC-DICM-17K split CSV; the `dermfuse synth` command is its
 * command line.
 *
 * Layouts written (paths relative to out):
 *   isic:    images/<image>, masks/<stem>.png, metadata.csv (the 24 ISIC-DICM-17K columns plus `mask`, the
 *            mask path relative to the images folder, ../masks/<stem>.png, as dataset loaders resolve it).
 *            Labels cycle 0, 1, ..., K-1. Metadata (age, sex, site) are drawn with a class dependence scaled
 *            by meta_signal (see synth_meta.h); columns that restate the diagnosis (benign_malignant,
 *            diagnosis) are filled consistently with the label, as in the real files.
 *   isic + from_metadata CSV: images/<image column>, masks/<stem>.png, and <basename of CSV>: the input rows
 *            (read and written with data/csv.h, so every field comes back as it was read) plus a `mask`
 *            column (as above). Labels come from the `class` column; image i is row i. Rows whose images
 *            would share a mask file (the same name stem) are refused.
 *   milk10k: MILK10k_Training_Input/<lesion_id>/<isic_id>.<ext> (a dermoscopic and a clinical close-up view
 *            per lesion), MILK10k_Training_Metadata.csv, MILK10k_Training_GroundTruth.csv (11 one-hot
 *            diagnosis columns), masks/<isic_id>.png for both views. Labels cycle over the 11 classes.
 * With a subgroup, an image whose lesion belongs to it (by the metadata the image's row gets) is drawn with
 * subgroup_signal instead of signal; both views of a lesion share it.
 * Images are drawn in parallel (OpenMP); each depends only on (seed, index, label, options), so every file is
 * the same whatever the number of threads. */
#ifndef DF_SYNTH_DATASET_H
#define DF_SYNTH_DATASET_H

#include "core/error.h"

typedef enum { DF_SYNTH_LAYOUT_ISIC = 0, DF_SYNTH_LAYOUT_MILK10K = 1 } df_synth_layout;

typedef struct {
    const char *out;           /* the folder to write (created) */
    const char *from_metadata; /* isic only: an ISIC-DICM-17K split CSV (image, class), or NULL */
    df_synth_layout layout;
    long n;                    /* images (isic) or lesions (milk10k); unused with from_metadata */
    int classes;               /* isic: 2..11; milk10k: 11 (0: the layout's own, 2 or 11) */
    int size;                  /* image side in pixels, 16..16384 */
    float signal;              /* how strongly the image shows the class, 0..1 */
    float meta_signal;         /* how strongly age/sex/site depend on the class, 0..1 */
    unsigned long long seed;
    int png;                   /* 1: PNG images, 0: JPEG (from_metadata: each image's own extension) */
    int quality;               /* JPEG quality 1..100 */
    int skin_tone;             /* 1..6 fixed, 0 drawn per image */
    int hair;                  /* 0: no hairs */
    /* A subgroup whose images show the class with another strength, so that an analysis by subgroup can be
     * checked against a known answer: "COLUMN=VALUE" of the metadata written (sex, or the site column:
     * anatom_site_general for isic, site for milk10k; with from_metadata any column of the CSV), or NULL. */
    const char *subgroup;
    float subgroup_signal;     /* the subgroup's image signal, 0..1 */
} df_synth_dataset_opts;

typedef struct {
    long images; /* images written, each with its mask (two per lesion for milk10k) */
    long rows;   /* data rows of the metadata CSV */
} df_synth_dataset_report;

/* Return values of df_synth_dataset_write besides 0, as the command's exit statuses. */
enum { DF_SYNTH_DATASET_EWRITE = 1, DF_SYNTH_DATASET_EINPUT = 2 };

/* n 1000, classes 0 (the layout's), size 128, signal and meta_signal 0.6, seed 1, JPEG quality 92, skin
 * tones drawn, hairs; out NULL. */
void df_synth_dataset_defaults(df_synth_dataset_opts *o);

/* Writes the dataset o describes. Returns 0; DF_SYNTH_DATASET_EINPUT for bad options or a bad from_metadata
 * CSV (the message names the file and line); DF_SYNTH_DATASET_EWRITE when a folder or file cannot be written.
 * out_or_null, when given, gets what was written. */
int df_synth_dataset_write(const df_synth_dataset_opts *o, df_synth_dataset_report *out_or_null, df_error *err);

#endif
