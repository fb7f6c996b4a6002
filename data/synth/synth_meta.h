/* synth_meta.h: the tabular side of a synthetic dataset (used by synth_dataset.c): metadata drawn with a
 * class dependence, and the rows of an existing split CSV to draw images for. */
#ifndef DF_SYNTH_META_H
#define DF_SYNTH_META_H

#include <stdint.h>

#include "core/error.h"
#include "data/table/csv.h"

/* Malignant-like classes: for 2 classes class 1; for the MILK10k codes AKIEC, BCC, MAL_OTH, MEL, SCCKA. */
float df_synth_malignancy(int K, int k);

typedef struct {
    int age;         /* -1 missing */
    const char *sex; /* "" missing */
    int site;        /* -1 missing; else an index into df_synth_isic_sites / df_synth_milk_sites */
} df_synth_meta_row;

extern const char *const df_synth_isic_sites[8];
extern const char *const df_synth_milk_sites[8];

/* Age ~ N(56 + 22 d s, 15) in steps of 5 within 0..85; P(male) = 0.5 + 0.3 d s; site weights times
 * exp(2 d s b_site), b favouring the torso and head for malignant-like classes; d = malignancy minus its
 * mean over the classes, s = meta_signal. About 2% of ages and sexes and 5% of sites are missing. */
df_synth_meta_row df_synth_draw_meta(uint64_t seed, long i, int K, int label, float meta_signal);

typedef struct {
    df_csv t;     /* the rows, written back out with a `mask` column */
    long n;
    char **names; /* [n] image file names (pointers into t) */
    int *labels;
} df_synth_input;

/* Reads the rows to draw from an ISIC-DICM-17K split CSV (columns image and class, labels below K). Two rows
 * naming one image, or images whose masks would share a name (A.jpg and A.png), are refused: two threads
 * would write the same file and the result would depend on timing. Free with df_synth_input_free, also after
 * a failure. */
int df_synth_input_read(const char *path, int K, df_synth_input *in, df_error *err);
void df_synth_input_free(df_synth_input *in);

#endif
