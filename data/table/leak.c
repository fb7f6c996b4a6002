/* leak.c: guarding the metadata features against the label (see meta.h). A column that is a consequence of
 * the diagnosis (the histology-derived melanoma fields, benign/malignant, the diagnosis itself) makes a
 * metadata model look perfect and says nothing about whether metadata help; such columns are refused by
 * name, and any encoded feature that alone separates the training classes is reported. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/table/meta.h"

const char *const df_meta_leaky_columns[] = {
    /* ISIC-DICM-17K (ISIC Archive fields) and its label */
    "class", "diagnosis", "benign_malignant", "mel_class", "mel_mitotic_index", "mel_type", "mel_ulcer",
    "mel_thick_mm", "melanocytic", "nevus_type", "diagnosis_confirm_type",
    /* ISIC Archive's newer diagnosis hierarchy */
    "diagnosis_1", "diagnosis_2", "diagnosis_3", "diagnosis_4", "diagnosis_5",
    /* MILK10k ground-truth columns */
    "AKIEC", "BCC", "BEN_OTH", "BKL", "DF", "INF", "MAL_OTH", "MEL", "NV", "SCCKA", "VASC",
    NULL,
};

int df_meta_is_leaky(const char *column) {
    for (int i = 0; df_meta_leaky_columns[i]; i++)
        if (!strcmp(column, df_meta_leaky_columns[i])) return 1;
    return 0;
}

#define MIN_CLASS_SAMPLES 5

int df_meta_perfect_separators(const df_meta_encoder *enc, const float *x, const int *labels, int n,
                               int n_classes, char *msg, size_t cap) {
    int found = 0;
    size_t used = 0;
    int *count = df_calloc((size_t)n_classes, sizeof *count);
    float *lo = df_malloc((size_t)n_classes * sizeof *lo), *hi = df_malloc((size_t)n_classes * sizeof *hi);
    for (int i = 0; i < n; i++) count[labels[i]]++;
    if (msg && cap) msg[0] = '\0';
    for (int j = 0; j < enc->dim; j++) {
        for (int c = 0; c < n_classes; c++) {
            lo[c] = INFINITY;
            hi[c] = -INFINITY;
        }
        for (int i = 0; i < n; i++) {
            float v = x[(size_t)i * (size_t)enc->dim + (size_t)j];
            int c = labels[i];
            if (v < lo[c]) lo[c] = v;
            if (v > hi[c]) hi[c] = v;
        }
        int sep_class = -1;
        for (int c = 0; c < n_classes && sep_class < 0; c++) {
            if (count[c] < MIN_CLASS_SAMPLES || n - count[c] < MIN_CLASS_SAMPLES) continue;
            float rest_lo = INFINITY, rest_hi = -INFINITY;
            for (int o = 0; o < n_classes; o++) {
                if (o == c || !count[o]) continue;
                if (lo[o] < rest_lo) rest_lo = lo[o];
                if (hi[o] > rest_hi) rest_hi = hi[o];
            }
            if (lo[c] > rest_hi || hi[c] < rest_lo) sep_class = c;
        }
        if (sep_class < 0) continue;
        found++;
        if (msg && used < cap) {
            int w = snprintf(msg + used, cap - used, "%s'%s' (class %d)", found == 1 ?
                             "warning: these metadata features alone separate a training class perfectly, "
                             "which suggests they leak the label: " : ", ", enc->names[j], sep_class);
            if (w > 0) used += (size_t)w;
        }
    }
    free(count);
    free(lo);
    free(hi);
    return found;
}
