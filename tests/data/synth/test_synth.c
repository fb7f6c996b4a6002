/* test_synth.c: the synthetic lesion drawer is deterministic, its masks are non-empty and clear of the image
 * border, the class signal shows in simple measurements at signal 1 and not at signal 0; the dataset writer
 * (df_synth_dataset_write) writes the layouts it promises, byte for byte the same whatever the number of
 * threads, carries the rows of a metadata CSV through with a `mask` column, and refuses bad options and bad
 * CSV rows with DF_SYNTH_DATASET_EINPUT and a message naming the file and line. (The `dermfuse synth` command
 * line is tested in tests/train/cli/test_cli.c.) */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "data/table/csv.h"
#include "data/image/image.h"
#include "data/synth/synth.h"
#include "data/synth/synth_dataset.h"

#define N 40
#define W 64

typedef struct {
    double area, dark;
} meas;

/* Lesion area fraction from the mask, and colour variegation: the standard deviation of luma inside it. */
static meas measure(const df_synth_opts *o, int64_t index, int label) {
    df_image img;
    unsigned char mask[W * W];
    df_synth_draw(o, 11, index, label, &img, mask, NULL);
    meas m = {0, 0};
    int in = 0;
    double s = 0, ss = 0;
    for (int i = 0; i < W * W; i++)
        if (mask[i]) {
            const unsigned char *p = img.data + 3 * i;
            double l = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
            s += l;
            ss += l * l;
            in++;
        }
    m.area = (double)in / (W * W);
    m.dark = in > 1 ? sqrt(fmax(0, (ss - s * s / in) / (in - 1))) : 0;
    df_image_free(&img);
    return m;
}

/* Welch t statistic of feature f (0 area, 1 variegation) between classes 0 and 1. */
static double class_t(float signal, int f) {
    df_synth_opts o;
    df_synth_defaults(&o, W, W, 2);
    o.signal = signal;
    double s[2] = {0}, ss[2] = {0};
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < N; i++) {
            meas m = measure(&o, 1000 * k + i, k);
            double v = f ? m.dark : m.area;
            s[k] += v;
            ss[k] += v * v;
        }
    double mu[2], var[2];
    for (int k = 0; k < 2; k++) {
        mu[k] = s[k] / N;
        var[k] = (ss[k] - N * mu[k] * mu[k]) / (N - 1);
    }
    return (mu[1] - mu[0]) / sqrt(var[0] / N + var[1] / N);
}

static void test_draw(void) {
    df_synth_opts o;
    df_synth_defaults(&o, 48, 40, 2);
    df_image a, b;
    unsigned char ma[48 * 40], mb[48 * 40];
    df_synth_info ia, ib;
    df_synth_draw(&o, 5, 17, 1, &a, ma, &ia);
    df_synth_draw(&o, 5, 17, 1, &b, mb, &ib);
    CHECK(a.w == 48 && a.h == 40 && memcmp(a.data, b.data, 48 * 40 * 3) == 0 && memcmp(ma, mb, sizeof ma) == 0);
    df_image_free(&b);
    df_synth_draw(&o, 5, 18, 1, &b, mb, NULL);
    CHECK(memcmp(a.data, b.data, 48 * 40 * 3) != 0);
    df_image_free(&b);
    df_synth_draw(&o, 6, 17, 1, &b, mb, NULL);
    CHECK(memcmp(a.data, b.data, 48 * 40 * 3) != 0);
    df_image_free(&b);
    df_image_free(&a);

    /* Masks: non-empty, consistent with info, never touching the border; for all classes and both views. */
    for (int view = 0; view < 2; view++)
        for (int k = 0; k < 11; k++) {
            df_synth_opts q;
            df_synth_defaults(&q, 50, 50, 11);
            q.signal = 1;
            q.view = view;
            unsigned char m[50 * 50];
            df_synth_draw(&q, 3, k, k, &a, m, &ia);
            int in = 0, edge = 0;
            for (int y = 0; y < 50; y++)
                for (int x = 0; x < 50; x++) {
                    in += m[y * 50 + x] != 0;
                    if (x == 0 || y == 0 || x == 49 || y == 49) edge += m[y * 50 + x] != 0;
                }
            CHECK_MSG(in > 10 && edge == 0 && in == ia.lesion_pixels, "view %d class %d: %d px, %d on the border",
                      view, k, in, edge);
            CHECK(ia.skin_tone >= 1 && ia.skin_tone <= 6);
            df_image_free(&a);
        }
    /* The clinical view shows the same lesion at half the magnification. */
    df_synth_defaults(&o, 96, 96, 2);
    df_synth_draw(&o, 2, 4, 0, &a, NULL, &ia);
    df_image_free(&a);
    o.view = DF_SYNTH_CLINICAL;
    df_synth_draw(&o, 2, 4, 0, &a, NULL, &ib);
    df_image_free(&a);
    CHECK(memcmp(ia.feature, ib.feature, sizeof ia.feature) == 0 && ia.skin_tone == ib.skin_tone);
    CHECK_CLOSE((double)ib.lesion_pixels / ia.lesion_pixels, 0.25, 0.06, 0);
}

static void test_signal(void) {
    double t_area1 = class_t(1, 0), t_dark1 = class_t(1, 1);
    double t_area0 = class_t(0, 0), t_dark0 = class_t(0, 1);
    printf("class t statistics: signal 1: area %.1f variegation %.1f; signal 0: area %.2f variegation %.2f\n", t_area1,
           t_dark1, t_area0, t_dark0);
    CHECK_MSG(t_area1 > 6, "area t = %.2f at signal 1", t_area1);
    CHECK_MSG(t_dark1 > 4, "variegation t = %.2f at signal 1", t_dark1);
    CHECK_MSG(fabs(t_area0) < 3, "area t = %.2f at signal 0", t_area0);
    CHECK_MSG(fabs(t_dark0) < 3, "variegation t = %.2f at signal 0", t_dark0);
}

/* Options for a dataset under dir/sub. */
static df_synth_dataset_opts opts_at(char *buf, size_t n, const char *dir, const char *sub) {
    df_synth_dataset_opts o;
    df_synth_dataset_defaults(&o);
    snprintf(buf, n, "%s/%s", dir, sub);
    o.out = buf;
    return o;
}

/* Writes the dataset o describes; msg (when non-NULL) gets the error message. */
static int run(const df_synth_dataset_opts *o, char *msg, size_t nmsg) {
    df_error err = {""};
    df_synth_dataset_report rep;
    int rc = df_synth_dataset_write(o, &rep, &err);
    if (msg) snprintf(msg, nmsg, "%s", err.msg);
    return rc;
}

static int exists(const char *dir, const char *name) {
    char p[512];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &st) == 0 && st.st_size > 0;
}

static int count_lines(const char *dir, const char *name, char *first, size_t nfirst) {
    char p[512], line[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "r");
    if (!f) return -1;
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        if (n == 0 && first) snprintf(first, nfirst, "%s", line);
        n++;
    }
    fclose(f);
    return n;
}

static void test_layouts(const char *dir) {
    char head[4096], buf[512], msg[1024];
    df_synth_dataset_opts o = opts_at(buf, sizeof buf, dir, "bad");
    o.size = 5;
    CHECK(run(&o, NULL, 0) == DF_SYNTH_DATASET_EINPUT);
    o = opts_at(buf, sizeof buf, dir, "bad");
    o.layout = DF_SYNTH_LAYOUT_MILK10K;
    o.classes = 2;
    CHECK(run(&o, msg, sizeof msg) == DF_SYNTH_DATASET_EINPUT && strstr(msg, "11 classes"));
    o = opts_at(buf, sizeof buf, dir, "bad");
    o.signal = 1.5f;
    CHECK(run(&o, NULL, 0) == DF_SYNTH_DATASET_EINPUT);
    o = opts_at(buf, sizeof buf, dir, "bad");
    o.out = NULL;
    CHECK(run(&o, NULL, 0) == DF_SYNTH_DATASET_EINPUT);
    /* A folder that cannot be created is a write failure. */
    o = opts_at(buf, sizeof buf, "/proc/df_no_such_dir", "x");
    o.n = 2;
    o.size = 16;
    CHECK(run(&o, msg, sizeof msg) == DF_SYNTH_DATASET_EWRITE && strstr(msg, "cannot create folder"));

    o = opts_at(buf, sizeof buf, dir, "isic");
    o.n = 6;
    o.size = 32;
    o.seed = 3;
    df_synth_dataset_report rep;
    df_error err;
    CHECK(df_synth_dataset_write(&o, &rep, &err) == 0 && rep.images == 6 && rep.rows == 6);
    char out[512];
    snprintf(out, sizeof out, "%s/isic", dir);
    CHECK(exists(out, "images/SYN_0000005.jpg") && exists(out, "masks/SYN_0000005.png"));
    CHECK(count_lines(out, "metadata.csv", head, sizeof head) == 7);
    CHECK(strncmp(head, "image,isic_id,year,class,patient_id,lesion_id,sex,age_approx,anatom_site_general,", 80) == 0);
    CHECK(strstr(head, "family_hx_mm,mask") != NULL);
    df_image img;
    CHECK(df_image_load(strcat(out, "/images/SYN_0000002.jpg"), 0, 0, &img, &err) == 0 && img.w == 32);
    df_image_free(&img);

    o = opts_at(buf, sizeof buf, dir, "milk");
    o.layout = DF_SYNTH_LAYOUT_MILK10K;
    o.n = 3;
    o.size = 32;
    o.png = 1;
    CHECK(df_synth_dataset_write(&o, &rep, &err) == 0 && rep.images == 6);
    snprintf(out, sizeof out, "%s/milk", dir);
    CHECK(exists(out, "MILK10k_Training_Input/IL_0000002/ISIC_0000004.png"));
    CHECK(exists(out, "MILK10k_Training_Input/IL_0000002/ISIC_0000005.png"));
    CHECK(count_lines(out, "MILK10k_Training_Metadata.csv", head, sizeof head) == 7);
    CHECK(strcmp(head, "lesion_id,image_type,isic_id,attribution,copyright_license,image_manipulation,age_approx,sex,"
                       "skin_tone_class,site\n") == 0);
    CHECK(count_lines(out, "MILK10k_Training_GroundTruth.csv", head, sizeof head) == 4);
    CHECK(strcmp(head, "lesion_id,AKIEC,BCC,BEN_OTH,BKL,DF,INF,MAL_OTH,MEL,NV,SCCKA,VASC\n") == 0);

    /* One image per row of a metadata CSV. */
    char csv[512];
    snprintf(csv, sizeof csv, "%s/rows.csv", dir);
    FILE *f = fopen(csv, "w");
    fprintf(f, "image,isic_id,class,sex\nA_1.jpg,ISIC_1,1,male\nB_2.png,ISIC_2,0.0,\n\"C_3.jpg\",ISIC_3,1,female\n");
    fclose(f);
    o = opts_at(buf, sizeof buf, dir, "rows");
    o.from_metadata = csv;
    o.size = 24;
    CHECK(df_synth_dataset_write(&o, &rep, &err) == 0 && rep.images == 3);
    snprintf(out, sizeof out, "%s/rows", dir);
    CHECK(exists(out, "images/A_1.jpg") && exists(out, "images/B_2.png") && exists(out, "images/C_3.jpg"));
    CHECK(exists(out, "masks/B_2.png"));
    CHECK(count_lines(out, "rows.csv", head, sizeof head) == 4);
    CHECK(strcmp(head, "image,isic_id,class,sex,mask\n") == 0);
    f = fopen(csv, "w");
    fprintf(f, "image,isic_id,class\nA_1.jpg,ISIC_1,2\n");
    fclose(f);
    CHECK(run(&o, NULL, 0) == DF_SYNTH_DATASET_EINPUT);
}

/* 1 when the two files exist and hold the same bytes. */
static int same_file(const char *a, const char *b) {
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa && fb;
    while (same) {
        int ca = fgetc(fa), cb = fgetc(fb);
        if (ca != cb) same = 0;
        if (ca == EOF) break;
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return same;
}

/* Every file of both layouts is the same for 1 and for 3 threads (3, so that the dynamic schedule hands
 * chunks out in an order unlike the serial one). */
static void test_threads(const char *dir) {
    char sub[32], buf[512], a[600], b[600];
    int max_threads = omp_get_max_threads();
    for (int t = 0; t < 2; t++) {
        omp_set_num_threads(t ? 3 : 1);
        snprintf(sub, sizeof sub, "thr%d", t);
        df_synth_dataset_opts o = opts_at(buf, sizeof buf, dir, sub);
        o.n = 40;
        o.size = 24;
        o.seed = 9;
        o.classes = 3;
        CHECK(run(&o, NULL, 0) == 0);
        snprintf(sub, sizeof sub, "thrm%d", t);
        o = opts_at(buf, sizeof buf, dir, sub);
        o.layout = DF_SYNTH_LAYOUT_MILK10K;
        o.n = 12;
        o.size = 24;
        o.png = 1;
        CHECK(run(&o, NULL, 0) == 0);
    }
    omp_set_num_threads(max_threads);
    int differ = 0, files = 0;
    for (int i = 0; i < 40; i++) {
        const char *fmt[2] = {"%s/thr%d/images/SYN_%07d.jpg", "%s/thr%d/masks/SYN_%07d.png"};
        for (int k = 0; k < 2; k++) {
            snprintf(a, sizeof a, fmt[k], dir, 0, i);
            snprintf(b, sizeof b, fmt[k], dir, 1, i);
            differ += !same_file(a, b);
            files++;
        }
    }
    for (int i = 0; i < 12; i++)
        for (int v = 0; v < 2; v++) {
            snprintf(a, sizeof a, "%s/thrm0/MILK10k_Training_Input/IL_%07d/ISIC_%07d.png", dir, i, 2 * i + v);
            snprintf(b, sizeof b, "%s/thrm1/MILK10k_Training_Input/IL_%07d/ISIC_%07d.png", dir, i, 2 * i + v);
            differ += !same_file(a, b);
            snprintf(a, sizeof a, "%s/thrm0/masks/ISIC_%07d.png", dir, 2 * i + v);
            snprintf(b, sizeof b, "%s/thrm1/masks/ISIC_%07d.png", dir, 2 * i + v);
            differ += !same_file(a, b);
            files += 2;
        }
    const char *csvs[3] = {"thr%d/metadata.csv", "thrm%d/MILK10k_Training_Metadata.csv",
                           "thrm%d/MILK10k_Training_GroundTruth.csv"};
    for (int k = 0; k < 3; k++) {
        char rel[128];
        snprintf(rel, sizeof rel, csvs[k], 0);
        snprintf(a, sizeof a, "%s/%s", dir, rel);
        snprintf(rel, sizeof rel, csvs[k], 1);
        snprintf(b, sizeof b, "%s/%s", dir, rel);
        differ += !same_file(a, b);
        files++;
    }
    CHECK_MSG(differ == 0, "%d of %d files differ between 1 and 3 threads", differ, files);
    /* The comparison itself can tell files apart. */
    snprintf(a, sizeof a, "%s/thr0/images/SYN_0000000.jpg", dir);
    snprintf(b, sizeof b, "%s/thr0/images/SYN_0000001.jpg", dir);
    CHECK(!same_file(a, b));
}

/* --from-metadata: every field comes back as read (quoted commas, CRLF ends), plus the mask column; bad rows
 * are refused with the file and line. */
static void test_from_metadata(const char *dir) {
    char csv[512], buf[512], msg[2048], out[600];
    snprintf(csv, sizeof csv, "%s/meta.csv", dir);
    FILE *f = fopen(csv, "wb");
    fprintf(f, "image,class,note\r\nX_1.jpg,0,\"a, \"\"b\"\"\"\r\n\r\nY_2.png,1.0,\r\nZ_3.jpeg,1,plain\r\n");
    fclose(f);
    df_synth_dataset_opts o = opts_at(buf, sizeof buf, dir, "fm");
    o.from_metadata = csv;
    o.size = 16;
    CHECK(run(&o, NULL, 0) == 0);
    snprintf(out, sizeof out, "%s/fm/meta.csv", dir);
    df_csv t;
    df_error err;
    CHECK(df_csv_read(out, &t, &err) == 0);
    CHECK(t.n_cols == 4 && t.n_rows == 3 && strcmp(t.header[3], "mask") == 0);
    if (t.n_cols == 4 && t.n_rows == 3) {
        CHECK(strcmp(df_csv_get(&t, 0, 2), "a, \"b\"") == 0);
        CHECK(strcmp(df_csv_get(&t, 0, 3), "../masks/X_1.png") == 0);
        CHECK(strcmp(df_csv_get(&t, 1, 1), "1.0") == 0 && strcmp(df_csv_get(&t, 1, 2), "") == 0);
        CHECK(strcmp(df_csv_get(&t, 2, 0), "Z_3.jpeg") == 0 && strcmp(df_csv_get(&t, 2, 3), "../masks/Z_3.png") == 0);
    }
    df_csv_free(&t);
    snprintf(out, sizeof out, "%s/fm", dir);
    CHECK(exists(out, "images/X_1.jpg") && exists(out, "images/Y_2.png") && exists(out, "images/Z_3.jpeg"));
    CHECK(exists(out, "masks/Z_3.png"));

    static const struct {
        const char *text, *where;
    } bad[] = {
        {"image,class\nA.jpg,0\nB.jpg,1,7\n", "meta.csv:3:"},         /* field count */
        {"image,label\nA.jpg,0\n", "meta.csv"},                        /* no class column */
        {"image,class\nA.jpg,0\n\"B.jpg,1\n", "meta.csv:3:"},          /* unterminated quote */
        {"image,class\nA.jpg,0\nA.png,1\n", "meta.csv:3:"},            /* masks/A.png twice */
        {"image,class\nA.jpg,0\n../B.jpg,1\n", "meta.csv:3:"},         /* not a plain name */
        {"image,class\nA.jpg,0\nB.gif,1\n", "meta.csv:3:"},            /* not an image name */
        {"image,class\nA.jpg,0\n\nB.jpg,2\n", "meta.csv:4:"},          /* label out of range */
        {"image,class\nA.jpg,0\nB.jpg,0.5\n", "meta.csv:3:"},          /* not an integer */
        {"image,class\nA.jpg,0\nB.jpg, 1\n", "meta.csv:3:"},          /* labels are read exactly: */
        {"image,class\nA.jpg,+1\nB.jpg,0\n", "meta.csv:2:"},          /* no space, sign, */
        {"image,class\nA.jpg,0\nB.jpg,0x1\n", "meta.csv:3:"},         /* hex */
        {"image,class\nA.jpg,1e0\nB.jpg,0\n", "meta.csv:2:"},         /* or exponent */
        {"image,class,mask\nA.jpg,0,m\n", "meta.csv:1:"},              /* would duplicate `mask` */
        {"image,class\n", "meta.csv: no data rows"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        f = fopen(csv, "wb");
        fputs(bad[k].text, f);
        fclose(f);
        char sub[32];
        snprintf(sub, sizeof sub, "fm%zu", k);
        o = opts_at(buf, sizeof buf, dir, sub);
        o.from_metadata = csv;
        o.size = 16;
        int rc = run(&o, msg, sizeof msg);
        CHECK_MSG(rc == DF_SYNTH_DATASET_EINPUT && strstr(msg, bad[k].where), "case %zu: status %d, message '%s'", k,
                  rc, msg);
    }
}

/* Reads row i (0-based, header skipped) field `col` of a CSV the generator wrote (no quoted commas). */
static void csv_field(const char *path, int row, int col, char *out, size_t n) {
    char line[4096];
    FILE *f = fopen(path, "r");
    out[0] = 0;
    for (int r = -1; f && fgets(line, sizeof line, f);)
        if (r++ == row) {
            char *p = line;
            for (int c = 0; c < col && p; c++) p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL;
            if (p) snprintf(out, n, "%.*s", (int)strcspn(p, ",\n"), p);
            break;
        }
    if (f) fclose(f);
}

/* A subgroup drawn with its own signal: each image of the subgroup is byte for byte the image of a set drawn
 * wholly with the subgroup's signal, every other image that of a set drawn with the main signal; the
 * metadata are those of a set without a subgroup. Bad subgroups are refused by name. */
static void test_subgroup(const char *dir) {
    char buf[3][512], msg[1024];
    const char *names[3] = {"sub", "sub_all0", "sub_all1"};
    df_synth_dataset_opts o[3];
    for (int v = 0; v < 3; v++) {
        o[v] = opts_at(buf[v], sizeof buf[v], dir, names[v]);
        o[v].n = 24;
        o[v].size = 24;
        o[v].png = 1;
        o[v].signal = v == 1 ? 0.0f : 1.0f;
    }
    o[0].subgroup = "anatom_site_general=lower extremity";
    o[0].subgroup_signal = 0.0f;
    for (int v = 0; v < 3; v++) CHECK(run(&o[v], msg, sizeof msg) == 0);
    char meta[3][2048], site[64], a[2048], b[2048], c[2048];
    for (int v = 0; v < 3; v++) snprintf(meta[v], sizeof meta[v], "%s/metadata.csv", buf[v]);
    CHECK(same_file(meta[0], meta[2]));
    int in = 0, out = 0;
    for (int i = 0; i < 24; i++) {
        csv_field(meta[0], i, 8, site, sizeof site);
        snprintf(a, sizeof a, "%s/images/SYN_%07d.png", buf[0], i);
        snprintf(b, sizeof b, "%s/images/SYN_%07d.png", buf[1], i);
        snprintf(c, sizeof c, "%s/images/SYN_%07d.png", buf[2], i);
        int sub = strcmp(site, "lower extremity") == 0;
        in += sub, out += !sub;
        CHECK(same_file(a, sub ? b : c));
        CHECK(!same_file(a, sub ? c : b));
    }
    CHECK(in > 0 && out > 0);

    o[0].subgroup = "sex=female";
    o[0].layout = DF_SYNTH_LAYOUT_MILK10K;
    o[0].n = 2;
    CHECK(run(&o[0], NULL, 0) == 0);
    const char *bad[][2] = {{"sex", "COLUMN=VALUE"},
                            {"sex=other", "female or male"},
                            {"site=trunk", "sex or anatom_site_general"},
                            {"anatom_site_general=moon", "not a site"}};
    for (int k = 0; k < 4; k++) {
        o[1].subgroup = bad[k][0];
        o[1].subgroup_signal = 0.5f;
        CHECK(run(&o[1], msg, sizeof msg) == DF_SYNTH_DATASET_EINPUT && strstr(msg, bad[k][1]));
    }
    o[1].subgroup = "sex=male";
    o[1].subgroup_signal = 2.0f;
    CHECK(run(&o[1], msg, sizeof msg) == DF_SYNTH_DATASET_EINPUT && strstr(msg, "subgroup signal"));
}

int main(void) {
    test_draw();
    test_signal();
    char dir[64] = "/tmp/df_test_synth_XXXXXX";
    if (!mkdtemp(dir)) return 1;
    test_layouts(dir);
    test_threads(dir);
    test_from_metadata(dir);
    test_subgroup(dir);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return check_report();
}
