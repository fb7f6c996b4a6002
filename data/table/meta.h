/* meta.h: turning the raw metadata strings of a df_dataset into a float vector per sample.
 *
 * The config names numeric and categorical columns. The encoder is fitted on the training samples only and
 * then encodes any split the same way:
 *   numeric column c     -> 2 slots: "c" = (x - mean) / sd with the training mean and population sd (sd 0
 *                           becomes 1), 0 (the mean) when missing; "c_missing" = 1 when missing, else 0.
 *   categorical column c -> one slot per value seen in training, sorted by byte order ("c=female",
 *                           "c=male"), plus "c=<unknown>" for a missing value or one never seen in training.
 * Numeric columns come first, each list in the order given. A field is missing when it is "", "NA" or "nan"
 * (any case, surrounding blanks ignored); nothing else is. A numeric field must otherwise be a decimal number
 * (optional sign, digits with an optional fraction, optional exponent; blanks around it allowed; no hex, no
 * "inf", nothing after it) whose value is finite in a double and lies in the column's plausible range
 * (df_meta_range: age_approx and age 0..120, clin_size_long_diam_mm 0..1000, any other column
 * within +-DF_META_MAX_ABS). A field that is not is an error naming the source file, line, column and value,
 * or, in skip-bad-rows mode, marks its row bad. The statistics and every encoded value are checked finite.
 * Category values that differ only in letter case or surrounding blanks ("male", "Male ") are an error
 * naming both rows: they are one category spelled two ways, and would silently become two.
 *
 * Label leakage: columns that are determined by the diagnosis (see df_meta_leaky_columns) and the dataset's
 * label column are refused as features unless allow_leaky is set, and df_meta_perfect_separators reports any
 * encoded feature that alone separates a training class from the rest.
 *
 * The fitted state serialises to a compact JSON string (floats as %.9g, which round-trips a float exactly),
 * so a checkpoint can carry it and prediction encodes exactly as training did. */
#ifndef DF_META_H
#define DF_META_H

#include "core/limits.h"

#include <stddef.h>

#include "data/table/dataset.h"

typedef enum { DF_META_NUMERIC = 0, DF_META_CATEGORICAL = 1 } df_meta_kind;

typedef struct {
    char *column;       /* source column name */
    df_meta_kind kind;
    float mean, sd;     /* numeric: training statistics */
    int n_values;       /* categorical: the training vocabulary, sorted by strcmp */
    char **values;
    int offset;         /* first encoded slot of this feature */
} df_meta_feature;

typedef struct {
    int n_features;
    df_meta_feature *features;
    int dim;            /* encoded width */
    char **names;       /* [dim] slot names, e.g. "age_approx_missing", "sex=<unknown>" */
} df_meta_encoder;

typedef struct {
    const char *const *numeric;     /* [n_numeric] column names */
    int n_numeric;
    const char *const *categorical; /* [n_categorical] column names */
    int n_categorical;
    const char *label_col;  /* the dataset's label column, refused as a feature like the built-in list; may be NULL */
    int allow_leaky;        /* 1: accept label-determining columns (an ablation, never a default) */
    int skip_bad_rows;      /* 1: an unparsable numeric field marks its row bad instead of failing */
} df_meta_spec;

/* Fits on samples idx[0..n) of d (all samples when idx is NULL; n is then ignored). In skip-bad-rows mode
 * rows with an unparsable numeric field are left out of the statistics and counted in *n_bad (may be
 * NULL). Fails on an unknown, repeated or leaky column, or (not skipping) an unparsable field. */
int df_meta_fit(df_meta_encoder *enc, const df_meta_spec *spec, const df_dataset *d, const int *idx, int n,
                int *n_bad, df_error *err);

/* Encodes samples idx[0..n) (all when idx is NULL) into out[n * enc->dim], row i for idx[i]. With bad
 * non-NULL (skip-bad-rows mode), bad[i] is set to 1 for a row with an unparsable numeric field (that field
 * is encoded as missing) and to 0 otherwise, and *n_bad (may be NULL) counts them; with bad NULL such a
 * field is an error. A feature column absent from d is an error. */
int df_meta_encode(const df_meta_encoder *enc, const df_dataset *d, const int *idx, int n, float *out,
                   unsigned char *bad, int *n_bad, df_error *err);

void df_meta_encoder_free(df_meta_encoder *enc);

/* Slots of one feature: 2 for a numeric one, its vocabulary plus <unknown> for a categorical one. */
int df_meta_feature_width(const df_meta_feature *ft);
/* Writes feature f's slots of an encoded row as a missing value encodes them (above); the other slots are left
 * as they are. df_meta_encode writes every missing field through this. */
void df_meta_encode_missing(const df_meta_encoder *enc, int f, float *row);
/* Encoded rows idx[0..n) of x (rows 0..n when idx is NULL; x is [rows x enc->dim]): every feature f with
 * missing[f] set (all of them when missing is NULL) rewritten as missing. */
void df_meta_mask_rows(const df_meta_encoder *enc, const unsigned char *missing, float *x, const int *idx, int n);

/* Compact JSON of the fitted state; free() the result. */
char *df_meta_to_json(const df_meta_encoder *enc);
/* Rebuilds an encoder from df_meta_to_json's output; errors name the byte offset in json. */
int df_meta_from_json(df_meta_encoder *enc, const char *json, df_error *err);

/* The bound on any numeric metadata value without a known range: far beyond any clinical measurement, and
 * small enough that sums and squares of millions of them stay finite. */
#define DF_META_MAX_ABS DF_LIMIT_META_MAGNITUDE

/* 1 when s counts as a missing value. */
int df_meta_is_missing(const char *s);
/* Parses a decimal number (see above; blanks around it allowed) that is finite in a double; 1 on success, 0
 * otherwise. */
int df_meta_parse_number(const char *s, double *x);
/* The plausible range [*lo, *hi] of a numeric column: a known column's, else +-DF_META_MAX_ABS. */
void df_meta_range(const char *column, double *lo, double *hi);
/* Reads field s of numeric column `column`: 0 when missing, 1 with *x set when a number in the column's
 * range, -1 otherwise. */
int df_meta_read_number(const char *column, const char *s, double *x);
/* Fails with the message for a field that df_meta_read_number refused: sample `sample` of d (its file and
 * line), the column, the value and what was expected. */
int df_meta_bad_number(const df_dataset *d, int sample, const char *column, const char *value, df_error *err);

/* Label-determining columns of ISIC-DICM-17K and MILK10k, NULL-terminated. */
extern const char *const df_meta_leaky_columns[];
int df_meta_is_leaky(const char *column);

/* Counts the encoded features that alone separate one training class from all others: the class's values
 * all lie strictly above, or all strictly below, every other class's values. Classes with fewer than 5
 * samples are not judged (a tiny class is separated by chance). x is [n * enc->dim] for samples with
 * labels[0..n). When the count is non-zero, msg (cap bytes, may be NULL) receives a warning naming them. */
int df_meta_perfect_separators(const df_meta_encoder *enc, const float *x, const int *labels, int n,
                               int n_classes, char *msg, size_t cap);

/* Internal: computes offsets, dim and slot names from features (used by fit and from_json). */
void df_meta_finish_(df_meta_encoder *enc);

#endif
