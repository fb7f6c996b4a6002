/* synth_meta.c: drawn metadata and input rows of a synthetic dataset (see synth_meta.h). */
#include "data/synth/synth_meta.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/rng.h"
#include "data/synth/synth.h"

float df_synth_malignancy(int K, int k) {
    static const float milk[DF_SYNTH_MAX_CLASSES] = {1, 1, 0, 0, 0, 0, 1, 1, 0, 1, 0};
    return K == 2 ? (float)k : milk[k];
}

const char *const df_synth_isic_sites[8] = {"anterior torso", "head/neck",   "lateral torso",   "lower extremity",
                                            "oral/genital",   "palms/soles", "posterior torso", "upper extremity"};
const char *const df_synth_milk_sites[8] = {"trunk",   "head_neck_face", "trunk", "lower_extremity",
                                            "genital", "foot",           "trunk", "upper_extremity"};

df_synth_meta_row df_synth_draw_meta(uint64_t seed, long i, int K, int label, float s) {
    static const float base[8] = {0.19f, 0.18f, 0.01f, 0.21f, 0.01f, 0.02f, 0.19f, 0.19f};
    static const float bias[8] = {0.5f, 0.3f, 0.5f, -0.3f, -0.5f, -0.8f, 1.0f, -0.2f};
    float mean = 0;
    for (int k = 0; k < K; k++) mean += df_synth_malignancy(K, k);
    float d = df_synth_malignancy(K, label) - mean / K;
    df_rng r = {df_rng_subkey(df_rng_subkey(df_rng_key(seed, DF_STREAM_SYNTH), (uint64_t)i), 50), 0};
    df_synth_meta_row m;
    float age = 56 + 22 * d * s + 15 * df_rng_normal(&r);
    int a5 = (int)(age / 5 + 0.5f) * 5;
    m.age = a5 < 0 ? 0 : (a5 > 85 ? 85 : a5);
    if (df_rng_uniform(&r) < 0.02f) m.age = -1;
    m.sex = df_rng_uniform(&r) < 0.5f + 0.3f * d * s ? "male" : "female";
    if (df_rng_uniform(&r) < 0.02f) m.sex = "";
    float w[8], tot = 0;
    for (int k = 0; k < 8; k++) tot += w[k] = base[k] * expf(2 * d * s * bias[k]);
    float u = df_rng_uniform(&r) * tot;
    m.site = 7;
    for (int k = 0; k < 8; k++) {
        if (u < w[k]) {
            m.site = k;
            break;
        }
        u -= w[k];
    }
    if (df_rng_uniform(&r) < 0.05f) m.site = -1;
    return m;
}

/* A `class` value as an integer label below K: decimal digits, optionally followed by ".0" (pandas exports
 * integer columns with missing values as floats). Nothing else: no sign, space, exponent or hex, as the
 * dataset loaders read labels exactly the same way. */
static int parse_label(const char *s, int K, int *out) {
    long v = 0;
    const char *p = s;
    if (!(*p >= '0' && *p <= '9')) return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (*p - '0');
        if (v > K - 1) return -1;
    }
    if (*p == '.' && p[1] == '0' && !p[2]) p += 2;
    if (*p) return -1;
    *out = (int)v;
    return 0;
}

/* Why an `image` value cannot name a file under images/, or NULL when it can. */
static const char *bad_image_name(const char *name) {
    if (!*name || strchr(name, '/') || name[0] == '.') return "is not a plain file name";
    const char *dot = strrchr(name, '.');
    if (!dot || (strcasecmp(dot, ".jpg") && strcasecmp(dot, ".jpeg") && strcasecmp(dot, ".png")))
        return "does not end in .jpg, .jpeg or .png";
    return NULL;
}

static size_t stem_len(const char *name) {
    const char *dot = strrchr(name, '.');
    return dot ? (size_t)(dot - name) : strlen(name);
}

static int cmp_stem(const void *a, const void *b) {
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    size_t nx = stem_len(x), ny = stem_len(y);
    int c = strncmp(x, y, nx < ny ? nx : ny);
    return c ? c : (nx > ny) - (nx < ny);
}

void df_synth_input_free(df_synth_input *in) {
    df_csv_free(&in->t);
    free(in->names);
    free(in->labels);
}

/* Refuses two rows whose images share a name stem, naming both lines. */
static int check_stems(const char *path, const df_synth_input *in, df_error *err) {
    const df_csv *t = &in->t;
    const char **sorted = df_malloc(sizeof(char *) * (size_t)in->n);
    memcpy(sorted, in->names, sizeof(char *) * (size_t)in->n);
    qsort(sorted, (size_t)in->n, sizeof *sorted, cmp_stem);
    int rc = 0;
    for (long i = 1; i < in->n && rc == 0; i++)
        if (cmp_stem(&sorted[i - 1], &sorted[i]) == 0) {
            /* Name both lines: find the rows again (rare, so a scan is fine). */
            int la = 0, lb = 0;
            for (int r = 0; r < t->n_rows; r++) {
                if (in->names[r] == sorted[i - 1]) la = t->lines[r];
                if (in->names[r] == sorted[i]) lb = t->lines[r];
            }
            rc = df_fail(err, "%s:%d: image '%s' has the same name stem as '%s' on line %d (one mask file each)",
                         path, la > lb ? la : lb, la > lb ? sorted[i - 1] : sorted[i],
                         la > lb ? sorted[i] : sorted[i - 1], la < lb ? la : lb);
        }
    free(sorted);
    return rc;
}

int df_synth_input_read(const char *path, int K, df_synth_input *in, df_error *err) {
    memset(in, 0, sizeof *in);
    if (df_csv_read(path, &in->t, err)) return -1;
    const df_csv *t = &in->t;
    static const char *const need[] = {"image", "class"};
    if (df_csv_require_cols(t, need, 2, err)) return -1;
    if (df_csv_col(t, "mask") >= 0)
        return df_fail(err, "%s:1: already has a `mask` column (the one this command adds)", path);
    if (t->n_rows == 0) return df_fail(err, "%s: no data rows", path);
    int ci = df_csv_col(t, "image"), cc = df_csv_col(t, "class");
    in->n = t->n_rows;
    in->names = df_malloc(sizeof(char *) * (size_t)in->n);
    in->labels = df_malloc(sizeof(int) * (size_t)in->n);
    for (int r = 0; r < t->n_rows; r++) {
        const char *name = df_csv_get(t, r, ci), *cls = df_csv_get(t, r, cc), *why = bad_image_name(name);
        if (why) return df_fail(err, "%s:%d: `image` value '%s' %s", path, t->lines[r], name, why);
        if (parse_label(cls, K, &in->labels[r]))
            return df_fail(err, "%s:%d: `class` value '%s' is not an integer label in 0..%d (--classes %d)", path,
                           t->lines[r], cls, K - 1, K);
        in->names[r] = (char *)name;
    }
    return check_stems(path, in, err);
}
