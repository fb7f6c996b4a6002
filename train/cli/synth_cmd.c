/* synth_cmd.c: the `dermfuse synth` sub-command: writes a synthetic dataset (images, masks, CSV files) in
 * the ISIC-DICM-17K or MILK10k layout, or one image per row of an existing ISIC-DICM-17K split CSV.
 *
 * Layouts written (paths relative to --out):
 *   isic:    images/<image>, masks/<stem>.png, metadata.csv (the 24 ISIC-DICM-17K columns plus `mask`, the
 *            mask path relative to the images folder, ../masks/<stem>.png, as dataset loaders resolve it).
 *            Labels cycle 0, 1, ..., K-1. Metadata (age, sex, site) are drawn
 *            with a class dependence scaled by --meta-signal (see draw_meta); columns that restate the
 *            diagnosis (benign_malignant, diagnosis) are filled consistently with the label, as in the real
 *            files.
 *   isic + --from-metadata CSV: images/<image column>, masks/<stem>.png, and <basename of CSV>: the input
 *            rows (read and written with data/csv.h, so every field comes back as it was read) plus a `mask` column
 *            (as above). Labels come from the `class` column; image i is row i. Rows whose images would share
 *            a mask file (the same name stem) are refused.
 *   milk10k: MILK10k_Training_Input/<lesion_id>/<isic_id>.<ext> (a dermoscopic and a clinical close-up
 *            view per lesion), MILK10k_Training_Metadata.csv, MILK10k_Training_GroundTruth.csv (11 one-hot
 *            diagnosis columns), masks/<isic_id>.png for both views. Labels cycle over the 11 classes.
 * Images are drawn in parallel (OpenMP); each depends only on (seed, index, label, options). Bad options exit
 * with status 2, failures while writing with status 1. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/rng.h"
#include "data/csv.h"
#include "data/image.h"
#include "data/synth.h"

int df_cmd_synth(int argc, char **argv);

typedef struct {
    const char *out, *from, *layout;
    long n;
    int classes, size, quality, png, hair, tone, n_given, classes_given;
    float signal, meta_signal;
    unsigned long long seed;
} cli;

static void usage(FILE *f) {
    fprintf(f,
            "usage: dermfuse synth --out DIR [options]\n"
            "  --out DIR              output folder (created)\n"
            "  --n N                  images (isic) or lesions (milk10k) to draw [1000]\n"
            "  --classes K            2..11 classes (isic) [2]; milk10k always uses its 11\n"
            "  --size S               image side in pixels, 16..16384 [128]\n"
            "  --signal X             how strongly the image shows the class, 0..1 [0.6]\n"
            "  --meta-signal X        how strongly age/sex/site depend on the class, 0..1 [0.6]\n"
            "  --seed S               [1]\n"
            "  --format jpg|png       image format [jpg]\n"
            "  --quality Q            JPEG quality 1..100 [92]\n"
            "  --layout isic|milk10k  [isic]\n"
            "  --from-metadata CSV    isic: one image per row of an ISIC-DICM-17K split CSV (image, class)\n"
            "  --skin-tone T          1..6 fixed, 0 drawn per image [0]\n"
            "  --no-hair              draw no hairs\n");
}

static int bad(const char *opt, const char *val, const char *want) {
    fprintf(stderr, "dermfuse synth: %s %s: expected %s\n", opt, val ? val : "(missing)", want);
    return 2;
}

static int parse_long(const char *s, long lo, long hi, long *out) {
    if (!s || !*s) return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static int parse_float(const char *s, float lo, float hi, float *out) {
    if (!s || !*s) return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !(v >= lo && v <= hi)) return -1;
    *out = (float)v;
    return 0;
}

static int parse_args(int argc, char **argv, cli *c) {
    *c = (cli){.n = 1000, .classes = 2, .size = 128, .quality = 92, .hair = 1, .signal = 0.6f,
               .meta_signal = 0.6f, .seed = 1, .layout = "isic"};
    for (int i = 1; i < argc; i++) {
        char *a = argv[i], *val = NULL, buf[64];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return -1;
        }
        if (strcmp(a, "--no-hair") == 0) {
            c->hair = 0;
            continue;
        }
        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "dermfuse synth: unexpected argument '%s' (see --help)\n", a);
            return 2;
        }
        char *eq = strchr(a, '=');
        if (eq) {
            snprintf(buf, sizeof buf, "%.*s", (int)(eq - a), a);
            val = eq + 1;
            a = buf;
        } else if (i + 1 < argc) {
            val = argv[++i];
        }
        long v;
        if (strcmp(a, "--out") == 0) {
            if (!val || !*val) return bad(a, val, "a folder");
            c->out = val;
        } else if (strcmp(a, "--n") == 0) {
            if (parse_long(val, 1, 100000000, &v)) return bad(a, val, "an integer in 1..100000000");
            c->n = v;
            c->n_given = 1;
        } else if (strcmp(a, "--classes") == 0) {
            if (parse_long(val, 2, DF_SYNTH_MAX_CLASSES, &v)) return bad(a, val, "an integer in 2..11");
            c->classes = (int)v;
            c->classes_given = 1;
        } else if (strcmp(a, "--size") == 0) {
            if (parse_long(val, 16, 16384, &v)) return bad(a, val, "an integer in 16..16384");
            c->size = (int)v;
        } else if (strcmp(a, "--quality") == 0) {
            if (parse_long(val, 1, 100, &v)) return bad(a, val, "an integer in 1..100");
            c->quality = (int)v;
        } else if (strcmp(a, "--skin-tone") == 0) {
            if (parse_long(val, 0, 6, &v)) return bad(a, val, "an integer in 0..6");
            c->tone = (int)v;
        } else if (strcmp(a, "--signal") == 0) {
            if (parse_float(val, 0, 1, &c->signal)) return bad(a, val, "a number in [0, 1]");
        } else if (strcmp(a, "--meta-signal") == 0) {
            if (parse_float(val, 0, 1, &c->meta_signal)) return bad(a, val, "a number in [0, 1]");
        } else if (strcmp(a, "--seed") == 0) {
            char *end;
            errno = 0;
            if (!val || !*val || *val == '-') return bad(a, val, "a non-negative integer");
            c->seed = strtoull(val, &end, 10);
            if (errno || *end) return bad(a, val, "a non-negative integer");
        } else if (strcmp(a, "--format") == 0) {
            if (val && strcmp(val, "jpg") == 0) c->png = 0;
            else if (val && strcmp(val, "png") == 0) c->png = 1;
            else return bad(a, val, "jpg or png");
        } else if (strcmp(a, "--layout") == 0) {
            if (!val || (strcmp(val, "isic") && strcmp(val, "milk10k"))) return bad(a, val, "isic or milk10k");
            c->layout = val;
        } else if (strcmp(a, "--from-metadata") == 0) {
            if (!val || !*val) return bad(a, val, "a CSV file");
            c->from = val;
        } else {
            fprintf(stderr, "dermfuse synth: unknown option '%s' (see --help)\n", a);
            return 2;
        }
    }
    if (!c->out) {
        fprintf(stderr, "dermfuse synth: --out DIR is required (see --help)\n");
        return 2;
    }
    int milk = strcmp(c->layout, "milk10k") == 0;
    if (milk && c->from) {
        fprintf(stderr, "dermfuse synth: --from-metadata works with --layout isic only\n");
        return 2;
    }
    if (milk && c->classes_given && c->classes != DF_SYNTH_MAX_CLASSES) {
        fprintf(stderr, "dermfuse synth: --layout milk10k has 11 classes; --classes %d is not possible\n", c->classes);
        return 2;
    }
    if (c->from && c->n_given) {
        fprintf(stderr, "dermfuse synth: --n and --from-metadata exclude each other (one image per CSV row)\n");
        return 2;
    }
    if (milk) c->classes = DF_SYNTH_MAX_CLASSES;
    return 0;
}

static int make_dir(const char *path) {
    if (mkdir(path, 0755) == 0 || errno == EEXIST) return 0;
    fprintf(stderr, "dermfuse synth: cannot create folder %s: %s\n", path, strerror(errno));
    return -1;
}

static char *join(const char *a, const char *b) {
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = df_malloc(n);
    snprintf(p, n, "%s/%s", a, b);
    return p;
}

/* --- metadata ------------------------------------------------------------------------------------------- */

/* Malignant-like classes: for 2 classes class 1; for the MILK10k codes AKIEC, BCC, MAL_OTH, MEL, SCCKA. */
static float malignancy(int K, int k) {
    static const float milk[DF_SYNTH_MAX_CLASSES] = {1, 1, 0, 0, 0, 0, 1, 1, 0, 1, 0};
    return K == 2 ? (float)k : milk[k];
}

typedef struct {
    int age; /* -1 missing */
    const char *sex;  /* "" missing */
    int site;         /* -1 missing */
} meta_row;

static const char *isic_sites[8] = {"anterior torso",  "head/neck",       "lateral torso",   "lower extremity",
                                    "oral/genital",    "palms/soles",     "posterior torso", "upper extremity"};
static const char *milk_sites[8] = {"trunk", "head_neck_face", "trunk", "lower_extremity",
                                    "genital", "foot",          "trunk", "upper_extremity"};

/* Age ~ N(56 + 22 d s, 15) in steps of 5 within 0..85; P(male) = 0.5 + 0.3 d s; site weights times
 * exp(2 d s b_site), b favouring the torso and head for malignant-like classes; d = malignancy minus its
 * mean over the classes, s = --meta-signal. About 2% of ages and sexes and 5% of sites are missing. */
static meta_row draw_meta(uint64_t seed, long i, int K, int label, float s) {
    static const float base[8] = {0.19f, 0.18f, 0.01f, 0.21f, 0.01f, 0.02f, 0.19f, 0.19f};
    static const float bias[8] = {0.5f, 0.3f, 0.5f, -0.3f, -0.5f, -0.8f, 1.0f, -0.2f};
    float mean = 0;
    for (int k = 0; k < K; k++) mean += malignancy(K, k);
    float d = malignancy(K, label) - mean / K;
    df_rng r = {df_rng_subkey(df_rng_subkey(df_rng_key(seed, DF_STREAM_SYNTH), (uint64_t)i), 50), 0};
    meta_row m;
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

/* --- input CSV (for --from-metadata) ---------------------------------------------------------------- */

typedef struct {
    df_csv t;     /* the rows, written back out with a `mask` column */
    long n;
    char **names; /* [n] image file names (pointers into t) */
    int *labels;
} input_csv;

/* A `class` value as an integer label below K; "1.0" is accepted, since pandas exports write integer
 * columns with missing values as floats. */
static int parse_label(const char *s, int K, int *out) {
    long v;
    float fl;
    if (parse_long(s, 0, K - 1, &v) == 0) {
        *out = (int)v;
        return 0;
    }
    if (parse_float(s, 0, (float)(K - 1), &fl) == 0 && fl == (float)(int)fl) {
        *out = (int)fl;
        return 0;
    }
    return -1;
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

static void free_input(input_csv *in) {
    df_csv_free(&in->t);
    free(in->names);
    free(in->labels);
}

/* Reads the rows to draw. Two rows naming one image, or images whose masks would share a name (A.jpg and
 * A.png), are refused: two threads would write the same file and the result would depend on timing. */
static int read_input(const char *path, int K, input_csv *in, df_error *err) {
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
    const char **sorted = df_malloc(sizeof(char *) * (size_t)in->n);
    memcpy(sorted, in->names, sizeof(char *) * (size_t)in->n);
    qsort(sorted, (size_t)in->n, sizeof *sorted, cmp_stem);
    for (long i = 1; i < in->n; i++)
        if (cmp_stem(&sorted[i - 1], &sorted[i]) == 0) {
            /* Name both lines: find the rows again (rare, so a scan is fine). */
            int la = 0, lb = 0;
            for (int r = 0; r < t->n_rows; r++) {
                if (in->names[r] == sorted[i - 1]) la = t->lines[r];
                if (in->names[r] == sorted[i]) lb = t->lines[r];
            }
            int rc = df_fail(err, "%s:%d: image '%s' has the same name stem as '%s' on line %d (one mask file each)",
                             path, la > lb ? la : lb, la > lb ? sorted[i - 1] : sorted[i],
                             la > lb ? sorted[i] : sorted[i - 1], la < lb ? la : lb);
            free(sorted);
            return rc;
        }
    free(sorted);
    return 0;
}

/* --- drawing ---------------------------------------------------------------------------------------------- */

typedef struct {
    const cli *c;
    df_synth_opts opts;
    long failed_at;
    df_error first;
} job;

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
    df_image img;
    unsigned char *mask = df_malloc((size_t)o.w * o.h);
    df_synth_draw(&o, j->c->seed, index, label, &img, mask, info);
    int rc = png ? df_image_save_png(img_path, &img, err) : df_image_save_jpeg(img_path, &img, j->c->quality, err);
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
static FILE *open_csv(const char *path) {
    FILE *f = fopen(path, "w");
    if (!f) fprintf(stderr, "dermfuse synth: cannot create %s: %s\n", path, strerror(errno));
    return f;
}

/* Closes f; bad is non-zero when a row could not be written. Returns 0, or 1 after reporting the failure. */
static int close_csv(FILE *f, const char *path, int bad) {
    int e = bad ? errno : 0;
    if (fclose(f) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (!bad) return 0;
    fprintf(stderr, "dermfuse synth: writing %s failed: %s\n", path, e ? strerror(e) : "I/O error");
    return 1;
}

static const char *const isic_header[] = {
    "image",          "isic_id",     "year",         "class",     "patient_id",    "lesion_id",
    "sex",            "age_approx",  "anatom_site_general",       "benign_malignant", "dermoscopic_type",
    "diagnosis",      "diagnosis_confirm_type",      "image_type", "mel_class",    "mel_mitotic_index",
    "mel_type",       "mel_ulcer",   "melanocytic",  "nevus_type", "clin_size_long_diam_mm", "mel_thick_mm",
    "personal_hx_mm", "family_hx_mm", "mask"};
enum { ISIC_COLS = sizeof isic_header / sizeof *isic_header };

/* metadata.csv of a drawn set: one row per image, metadata from draw_meta. */
static int write_isic_csv(const cli *c, const char *path, char **names, const int *labels, long n) {
    FILE *f = open_csv(path);
    if (!f) return 1;
    int bad = df_csv_write_row(f, isic_header, ISIC_COLS);
    for (long i = 0; i < n && !bad; i++) {
        meta_row m = draw_meta(c->seed, i, c->classes, labels[i], c->meta_signal);
        char id[32], cls[16], patient[32], lesion[32], age[16] = "";
        snprintf(id, sizeof id, "SYN_%07ld", i);
        snprintf(cls, sizeof cls, "%d", labels[i]);
        snprintf(patient, sizeof patient, "SP_%06ld", i / 3);
        snprintf(lesion, sizeof lesion, "SL_%07ld", i);
        if (m.age >= 0) snprintf(age, sizeof age, "%d.0", m.age);
        char *mask = mask_rel(names[i], 1);
        const char *row[ISIC_COLS] = {
            names[i], id, "2024.0", cls, patient, lesion, m.sex, age, m.site >= 0 ? isic_sites[m.site] : "",
            malignancy(c->classes, labels[i]) > 0 ? "malignant" : "benign", "",
            c->classes == 2 ? (labels[i] ? "melanoma" : "nevus") : df_synth_class_name(c->classes, labels[i]),
            "synthetic", "dermoscopic", "", "", "", "", "", "", "", "", "", "", mask};
        bad = df_csv_write_row(f, row, ISIC_COLS);
        free(mask);
    }
    return close_csv(f, path, bad);
}

/* The input rows, every field as read, plus the `mask` column. */
static int write_input_csv(const input_csv *in, const char *path) {
    FILE *f = open_csv(path);
    if (!f) return 1;
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
    return close_csv(f, path, bad);
}

/* Draws image i of names/labels into images/ and masks/ for every i in 0..n, in parallel. */
static void draw_isic(job *j, const char *imgdir, char **names, const int *labels, long n,
                      int from) {
    const cli *c = j->c;
#pragma omp parallel for schedule(dynamic, 8)
    for (long i = 0; i < n; i++) {
        char *ip = join(imgdir, names[i]), *mr = mask_rel(names[i], 0), *mp = join(c->out, mr);
        df_error e;
        if (draw_one(j, DF_SYNTH_DERMOSCOPIC, i, labels[i], ip, mp, from ? is_png_name(names[i]) : c->png, NULL, &e))
            record(j, i, &e);
        free(ip);
        free(mr);
        free(mp);
    }
}

static int run_isic(const cli *c, job *j) {
    input_csv in = {0};
    int from = c->from != NULL;
    if (from) {
        df_error err;
        if (read_input(c->from, c->classes, &in, &err)) {
            fprintf(stderr, "dermfuse synth: %s\n", err.msg);
            free_input(&in);
            return 2;
        }
    }
    long n = from ? in.n : c->n;
    char *imgdir = join(c->out, "images"), *maskdir = join(c->out, "masks");
    int rc = make_dir(imgdir) || make_dir(maskdir) ? 1 : 0;
    char **names = from ? in.names : df_calloc((size_t)n, sizeof(char *));
    int *labels = from ? in.labels : df_malloc(sizeof(int) * (size_t)n);
    if (!from)
        for (long i = 0; i < n; i++) {
            char buf[64];
            snprintf(buf, sizeof buf, "SYN_%07ld.%s", i, ext_of(c->png));
            names[i] = df_strdup(buf);
            labels[i] = (int)(i % c->classes);
        }
    if (rc == 0) {
        draw_isic(j, imgdir, names, labels, n, from);
        if (j->failed_at < n) {
            fprintf(stderr, "dermfuse synth: %s\n", j->first.msg);
            rc = 1;
        }
    }
    if (rc == 0) {
        const char *base = from ? strrchr(c->from, '/') : NULL;
        base = from ? (base ? base + 1 : c->from) : "metadata.csv";
        char *csv = join(c->out, base);
        rc = from ? write_input_csv(&in, csv) : write_isic_csv(c, csv, names, labels, n);
        free(csv);
    }
    if (!from) {
        for (long i = 0; i < n; i++) free(names[i]);
        free(names);
        free(labels);
    }
    free_input(&in);
    free(imgdir);
    free(maskdir);
    return rc;
}

/* MILK10k_Training_Metadata.csv (a row per image) and MILK10k_Training_GroundTruth.csv (a row per lesion). */
static int write_milk_csvs(const cli *c, const char *meta, const char *gt, const int *tones) {
    static const char *const meta_header[] = {"lesion_id", "image_type", "isic_id", "attribution",
                                              "copyright_license", "image_manipulation", "age_approx", "sex",
                                              "skin_tone_class", "site"};
    FILE *fm = open_csv(meta);
    if (!fm) return 1;
    FILE *fg = open_csv(gt);
    if (!fg) {
        fclose(fm);
        return 1;
    }
    const char *gt_row[1 + DF_SYNTH_MAX_CLASSES] = {"lesion_id"};
    for (int k = 0; k < DF_SYNTH_MAX_CLASSES; k++) gt_row[1 + k] = df_synth_class_name(DF_SYNTH_MAX_CLASSES, k);
    int bad_m = df_csv_write_row(fm, meta_header, 10), bad_g = df_csv_write_row(fg, gt_row, 1 + DF_SYNTH_MAX_CLASSES);
    for (long i = 0; i < c->n && !bad_m && !bad_g; i++) {
        int label = (int)(i % c->classes);
        meta_row m = draw_meta(c->seed, i, c->classes, label, c->meta_signal);
        char lesion[32], isic[32], age[16] = "", tone[16];
        snprintf(lesion, sizeof lesion, "IL_%07ld", i);
        if (m.age >= 0) snprintf(age, sizeof age, "%d", m.age);
        snprintf(tone, sizeof tone, "%d", tones[i]);
        for (int v = 0; v < 2 && !bad_m; v++) {
            snprintf(isic, sizeof isic, "ISIC_%07ld", 2 * i + v);
            const char *row[10] = {lesion, v == 0 ? "dermoscopic" : "clinical: close-up", isic, "dermfuse synthetic",
                                   "CC0", "synthetic", age, m.sex, tone, m.site >= 0 ? milk_sites[m.site] : ""};
            bad_m = df_csv_write_row(fm, row, 10);
        }
        gt_row[0] = lesion;
        for (int k = 0; k < DF_SYNTH_MAX_CLASSES; k++) gt_row[1 + k] = k == label ? "1.0" : "0.0";
        bad_g = df_csv_write_row(fg, gt_row, 1 + DF_SYNTH_MAX_CLASSES);
    }
    int rc = close_csv(fm, meta, bad_m);
    return close_csv(fg, gt, bad_g) || rc;
}

static int run_milk(const cli *c, job *j) {
    long n = c->n;
    char *root = join(c->out, "MILK10k_Training_Input"), *maskdir = join(c->out, "masks");
    if (make_dir(root) || make_dir(maskdir)) {
        free(root);
        free(maskdir);
        return 1;
    }
    int *tones = df_malloc(sizeof(int) * (size_t)n);
#pragma omp parallel for schedule(dynamic, 4)
    for (long i = 0; i < n; i++) {
        char lesion[32], buf[64];
        snprintf(lesion, sizeof lesion, "IL_%07ld", i);
        char *dir = join(root, lesion);
        df_error e;
        if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
            df_fail(&e, "%s: cannot create folder: %s", dir, strerror(errno));
            record(j, i, &e);
        } else {
            for (int v = 0; v < 2; v++) {
                snprintf(buf, sizeof buf, "ISIC_%07ld.%s", 2 * i + v, ext_of(c->png));
                char *ip = join(dir, buf);
                snprintf(buf, sizeof buf, "ISIC_%07ld.png", 2 * i + v);
                char *mp = join(maskdir, buf);
                df_synth_info info;
                if (draw_one(j, v == 0 ? DF_SYNTH_DERMOSCOPIC : DF_SYNTH_CLINICAL, i, (int)(i % c->classes), ip, mp,
                             c->png, &info, &e))
                    record(j, i, &e);
                tones[i] = info.skin_tone;
                free(ip);
                free(mp);
            }
        }
        free(dir);
    }
    int rc = 0;
    if (j->failed_at < n) {
        fprintf(stderr, "dermfuse synth: %s\n", j->first.msg);
        rc = 1;
    }
    char *meta = join(c->out, "MILK10k_Training_Metadata.csv"), *gt = join(c->out, "MILK10k_Training_GroundTruth.csv");
    if (rc == 0) rc = write_milk_csvs(c, meta, gt, tones);
    free(meta);
    free(gt);
    free(tones);
    free(root);
    free(maskdir);
    return rc;
}

int df_cmd_synth(int argc, char **argv) {
    cli c;
    int rc = parse_args(argc, argv, &c);
    if (rc) return rc < 0 ? 0 : rc;
    job j = {.c = &c, .failed_at = 0x7fffffffffffffffL};
    df_synth_defaults(&j.opts, c.size, c.size, c.classes);
    j.opts.signal = c.signal;
    j.opts.hair = c.hair;
    j.opts.skin_tone = c.tone;
    df_error err;
    if (df_synth_check(&j.opts, &err)) {
        fprintf(stderr, "dermfuse synth: %s\n", err.msg);
        return 2;
    }
    if (make_dir(c.out)) return 1;
    return strcmp(c.layout, "milk10k") == 0 ? run_milk(&c, &j) : run_isic(&c, &j);
}
