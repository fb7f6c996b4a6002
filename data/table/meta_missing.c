/* meta_missing.c: the encoder's encoding of a missing value, written where a value is to be withheld
 * (evaluation with a field masked, training with metadata dropout) as well as where a field is empty. */
#include <string.h>

#include "data/table/meta.h"

int df_meta_feature_width(const df_meta_feature *ft) {
    return ft->kind == DF_META_NUMERIC ? 2 : ft->n_values + 1;
}

void df_meta_encode_missing(const df_meta_encoder *enc, int f, float *row) {
    const df_meta_feature *ft = &enc->features[f];
    float *slots = row + ft->offset;
    memset(slots, 0, (size_t)df_meta_feature_width(ft) * sizeof *slots);
    /* numeric: the value slot holds the training mean (0), "<c>_missing" 1; categorical: "c=<unknown>" 1 */
    slots[ft->kind == DF_META_NUMERIC ? 1 : ft->n_values] = 1.0f;
}

void df_meta_mask_rows(const df_meta_encoder *enc, const unsigned char *missing, float *x, const int *idx, int n) {
    for (int i = 0; i < n; i++) {
        float *row = x + (size_t)(idx ? idx[i] : i) * (size_t)enc->dim;
        for (int f = 0; f < enc->n_features; f++)
            if (!missing || missing[f]) df_meta_encode_missing(enc, f, row);
    }
}
