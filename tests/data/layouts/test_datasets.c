/* test_datasets.c: the ISIC-DICM-17K, MILK10k and generic-CSV loaders on small layouts written to a temp
 * folder (CSV files and empty placeholder images: loaders only check that images exist), including the
 * errors for bad rows, labels not spelled exactly as a class, repeated sample ids, missing images and views,
 * non-one-hot ground truth, files named outside the image folder, and a folder or FIFO given as the CSV.
 * With argument "real" it instead loads the published ISIC-DICM-17K split files found beside the source
 * tree (DF_SOURCE_ROOT/../shared/data/isic-dicm-17k) and exits 77 (skipped) when they are absent. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "core/limits.h"
#include "data/layouts/datasets.h"
#include "data/table/meta.h"
#include "data/table/split.h"

static char root[64];

static const char *at(const char *rel) {
    static char buf[64][512]; /* enough that no path a test still holds is overwritten */
    static int k;
    k = (k + 1) % 64;
    snprintf(buf[k], sizeof buf[k], "%s/%s", root, rel);
    return buf[k];
}

static void write_file(const char *rel, const char *text) {
    FILE *f = fopen(at(rel), "wb");
    if (!f) {
        fprintf(stderr, "cannot write %s\n", at(rel));
        exit(1);
    }
    fputs(text, f);
    fclose(f);
}

static int ends_with(const char *s, const char *tail) {
    size_t a = s ? strlen(s) : 0, b = strlen(tail);
    return s && a >= b && !strcmp(s + a - b, tail);
}

static const char *meta_of(const df_dataset *d, int s, const char *col) {
    for (int c = 0; c < d->n_meta_cols; c++)
        if (!strcmp(d->meta_cols[c], col)) return d->meta_values[s * d->n_meta_cols + c];
    return NULL;
}

#define ISIC_HEAD "image,isic_id,year,class,patient_id,lesion_id,sex,age_approx,anatom_site_general,benign_malignant\n"

static void test_isic(void) {
    mkdir(at("img"), 0700);
    write_file("img/ISIC2019_0000001_mel.jpg", "");
    write_file("img/ISIC_0000002.jpg", "");
    write_file("img/ISIC_0000003.png", "");
    write_file("isic.csv", ISIC_HEAD
               "ISIC2019_0000001_mel.jpg,ISIC_0000001,2019.0,1,IP_1,IL_1,male,65.0,posterior torso,malignant\n"
               "ISIC2019_0000002_nv.jpg,ISIC_0000002,2019,0,,IL_2,female,40.0,,benign\n"
               "x.jpg,ISIC_0000003,2020,0.0,IP_1,IL_3,,,,benign\n");
    df_isic_options o = {at("isic.csv"), at("img"), 1, 0, "patient_id", 0};
    df_dataset d;
    df_error err = {""};
    int skipped = -1;
    CHECK_MSG(df_isic_load(&d, &o, &skipped, &err) == 0, "%s", err.msg);
    CHECK(d.n_samples == 3 && d.n_classes == 2 && d.n_views == 1 && skipped == 0);
    if (d.n_samples == 3) {
        CHECK(d.labels[0] == 1 && d.labels[1] == 0 && d.labels[2] == 0);
        CHECK(ends_with(d.image_paths[0], "/img/ISIC2019_0000001_mel.jpg"));
        CHECK(ends_with(d.image_paths[1], "/img/ISIC_0000002.jpg"));
        CHECK(ends_with(d.image_paths[2], "/img/ISIC_0000003.png"));
        CHECK(!strcmp(d.groups[0], "IP_1") && !strcmp(d.groups[1], "row:3") && !strcmp(d.groups[2], "IP_1"));
        CHECK(!strcmp(d.ids[1], "ISIC_0000002") && d.source_rows[2] == 4);
        CHECK(d.n_meta_cols == 10 && !strcmp(meta_of(&d, 0, "age_approx"), "65.0"));
        CHECK(!strcmp(meta_of(&d, 2, "sex"), "") && d.mask_paths == NULL);
    }
    df_dataset_free(&d);

    /* Metadata only: no folder needed, no paths. */
    df_isic_options mo = {at("isic.csv"), NULL, 0, 0, "lesion_id", 0};
    CHECK(df_isic_load(&d, &mo, NULL, &err) == 0);
    CHECK(d.n_samples == 3 && d.image_paths[0] == NULL && !strcmp(d.groups[1], "IL_2"));
    df_dataset_free(&d);

    /* A missing image names the row and every path tried; skipping counts it. */
    write_file("isic_missing.csv", ISIC_HEAD
               "ISIC2019_0000001_mel.jpg,ISIC_0000001,2019,1,,,male,65,,malignant\n"
               "gone.jpg,ISIC_0000009,2019,0,,,male,65,,benign\n");
    o.csv_path = at("isic_missing.csv");
    CHECK(df_isic_load(&d, &o, NULL, &err) == -1);
    CHECK_MSG(strstr(err.msg, "isic_missing.csv:3") && strstr(err.msg, "gone.jpg") &&
                  strstr(err.msg, "ISIC_0000009.jpg") && strstr(err.msg, "ISIC_0000009.png"), "%s", err.msg);
    o.skip_missing_images = 1;
    CHECK(df_isic_load(&d, &o, &skipped, &err) == 0);
    CHECK(d.n_samples == 1 && skipped == 1);
    df_dataset_free(&d);

    /* Bad rows. */
    write_file("isic_short.csv", ISIC_HEAD "a.jpg,ISIC_1,2019,1,,,male,65,,malignant\nb.jpg,ISIC_2,2019,0\n");
    mo.csv_path = at("isic_short.csv");
    CHECK(df_isic_load(&d, &mo, NULL, &err) == -1);
    CHECK_MSG(strstr(err.msg, "isic_short.csv:3") && strstr(err.msg, "4 fields"), "%s", err.msg);
    /* A label is one of the four spellings exactly: no blanks, signs, exponents, case or other numbers. */
    const char *bad_class[] = {"2", "x", "", "1.00", " 1", "1 ", "01", "+1", "1e0", "-0", "0x1", "true",
                               "malignant", "\"1\"\"\"", "0.5", "nan"};
    for (size_t i = 0; i < sizeof bad_class / sizeof *bad_class; i++) {
        char text[512];
        snprintf(text, sizeof text, ISIC_HEAD "a.jpg,ISIC_1,2019,1,,,male,65,,malignant\nb.jpg,ISIC_2,2019,%s,,,,,,\n",
                 bad_class[i]);
        write_file("isic_class.csv", text);
        mo.csv_path = at("isic_class.csv");
        CHECK_MSG(df_isic_load(&d, &mo, NULL, &err) == -1, "class '%s' accepted", bad_class[i]);
        CHECK_MSG(strstr(err.msg, "isic_class.csv:3") && strstr(err.msg, "column 'class'") &&
                      strstr(err.msg, "0, 1, 0.0, 1.0"), "'%s': %s", bad_class[i], err.msg);
    }
    const char *good_class[] = {"0", "1", "0.0", "1.0"};
    for (int i = 0; i < 4; i++) {
        char text[512];
        snprintf(text, sizeof text, ISIC_HEAD "b.jpg,ISIC_2,2019,%s,,,,,,\n", good_class[i]);
        write_file("isic_class.csv", text);
        CHECK_MSG(df_isic_load(&d, &mo, NULL, &err) == 0, "%s", err.msg);
        CHECK(d.n_samples == 1 && d.labels[0] == (i % 2));
        df_dataset_free(&d);
    }
    /* A sample id twice names both lines. */
    write_file("isic_dup.csv", ISIC_HEAD "a.jpg,ISIC_1,2019,1,,,,,,\nb.jpg,ISIC_2,2019,0,,,,,,\nc.jpg,ISIC_1,2019,0,,,,,,\n");
    mo.csv_path = at("isic_dup.csv");
    CHECK(df_isic_load(&d, &mo, NULL, &err) == -1);
    CHECK_MSG(strstr(err.msg, "isic_dup.csv:4") && strstr(err.msg, "'ISIC_1'") && strstr(err.msg, "line 2"), "%s",
              err.msg);
    /* A folder or a FIFO given as the split file fails at once, saying so. */
    mo.csv_path = at("img");
    CHECK(df_isic_load(&d, &mo, NULL, &err) == -1);
    CHECK_MSG(strstr(err.msg, "img") && strstr(err.msg, "not a regular file"), "%s", err.msg);
    CHECK(mkfifo(at("isic_fifo.csv"), 0600) == 0);
    mo.csv_path = at("isic_fifo.csv");
    CHECK(df_isic_load(&d, &mo, NULL, &err) == -1);
    CHECK_MSG(strstr(err.msg, "isic_fifo.csv") && strstr(err.msg, "not a regular file"), "%s", err.msg);
    write_file("isic_nocol.csv", "image,isic_id,year,sex\na.jpg,ISIC_1,2019,male\n");
    mo.csv_path = at("isic_nocol.csv");
    CHECK(df_isic_load(&d, &mo, NULL, &err) == -1);
    CHECK_MSG(strstr(err.msg, "'class'") && strstr(err.msg, "'lesion_id'"), "%s", err.msg);
    /* Only the grouping column missing: the message names the key that chose it and the way out. */
    write_file("isic_nogroup.csv", "image,isic_id,class\na.jpg,ISIC_1,0\n");
    mo.csv_path = at("isic_nogroup.csv");
    CHECK(df_isic_load(&d, &mo, NULL, &err) == -1);
    CHECK_MSG(strstr(err.msg, "isic_nogroup.csv:1: no column 'lesion_id' (data.group_by; set data.group_by: '' to "
                              "split without grouping)"), "%s", err.msg);
}

#define MILK_META_HEAD                                                                                     \
    "lesion_id,image_type,isic_id,attribution,copyright_license,image_manipulation,age_approx,sex,"        \
    "skin_tone_class,site,MONET_ulceration_crust,MONET_hair\n"
#define MILK_GT_HEAD "lesion_id,AKIEC,BCC,BEN_OTH,BKL,DF,INF,MAL_OTH,MEL,NV,SCCKA,VASC\n"

static void test_milk10k(void) {
    mkdir(at("milk"), 0700);
    mkdir(at("milk/MILK10k_Training_Input"), 0700);
    mkdir(at("milk/MILK10k_Training_Input/IL_001"), 0700);
    mkdir(at("milk/MILK10k_Training_Input/IL_002"), 0700);
    const char *imgs[] = {"IL_001/ISIC_1000001.jpg", "IL_001/ISIC_1000002.jpg", "IL_002/ISIC_1000003.jpg",
                          "IL_002/ISIC_1000004.jpg"};
    for (int i = 0; i < 4; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "milk/MILK10k_Training_Input/%s", imgs[i]);
        write_file(rel, "");
    }
    write_file("milk/MILK10k_Training_Metadata.csv", MILK_META_HEAD
               "IL_001,dermoscopic,ISIC_1000001,a,CC-BY,,55,male,3,head_neck_face,0.1,0.2\n"
               "IL_001,clinical: close-up,ISIC_1000002,a,CC-BY,,55,male,3,head_neck_face,0.3,0.4\n"
               "IL_002,clinical: close-up,ISIC_1000004,b,CC-BY,,70,female,2,trunk,0.5,0.6\n"
               "IL_002,dermoscopic,ISIC_1000003,b,CC-BY,,70,female,2,trunk,0.7,0.8\n");
    write_file("milk/MILK10k_Training_GroundTruth.csv", MILK_GT_HEAD
               "IL_002,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,1.0,0.0,0.0\n"
               "IL_001,0.0,1.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0\n");
    char milk[512];
    snprintf(milk, sizeof milk, "%s", at("milk"));
    df_milk10k_options o = {milk, NULL, NULL, NULL, 1, 0, 0};
    df_dataset d;
    df_error err = {""};
    CHECK_MSG(df_milk10k_load(&d, &o, NULL, &err) == 0, "%s", err.msg);
    CHECK(d.n_samples == 2 && d.n_classes == 11 && d.n_views == 2);
    if (d.n_samples == 2 && d.n_classes == 11) {
        CHECK(!strcmp(d.class_names[8], "NV") && !strcmp(d.class_names[1], "BCC"));
        CHECK(d.labels[0] == 8 && d.labels[1] == 1);
        CHECK(!strcmp(d.ids[0], "IL_002") && !strcmp(d.groups[1], "IL_001"));
        CHECK(ends_with(d.image_paths[0], "IL_002/ISIC_1000003.jpg")); /* view 0 dermoscopic */
        CHECK(ends_with(d.image_paths[1], "IL_002/ISIC_1000004.jpg")); /* view 1 clinical */
        CHECK(ends_with(d.image_paths[2], "IL_001/ISIC_1000001.jpg"));
        CHECK(!strcmp(d.view_names[0], "dermoscopic") && !strcmp(d.view_names[1], "clinical"));
        CHECK(d.source_rows[0] == 5 && d.source_rows[1] == 2); /* the dermoscopic rows */
        CHECK(d.n_meta_cols == 14 && !strcmp(meta_of(&d, 1, "MONET_hair"), "0.2") &&
              !strcmp(meta_of(&d, 1, "clinical_MONET_hair"), "0.4") && !strcmp(meta_of(&d, 0, "sex"), "female"));
    }
    df_dataset_free(&d);

    /* Error cases, each an override of one of the two files. */
    struct {
        const char *file, *text, *want1, *want2;
        int is_gt;
    } cases[] = {
        {"milk/meta_noview.csv", MILK_META_HEAD
         "IL_001,dermoscopic,ISIC_1000001,a,,,55,male,3,x,0,0\n"
         "IL_001,clinical: close-up,ISIC_1000002,a,,,55,male,3,x,0,0\n"
         "IL_002,dermoscopic,ISIC_1000003,a,,,55,male,3,x,0,0\n",
         "meta_noview.csv:4", "no clinical: close-up image", 0},
        {"milk/meta_twice.csv", MILK_META_HEAD
         "IL_001,dermoscopic,ISIC_1000001,a,,,55,male,3,x,0,0\n"
         "IL_001,dermoscopic,ISIC_1000002,a,,,55,male,3,x,0,0\n",
         "meta_twice.csv:3", "second dermoscopic", 0},
        {"milk/meta_type.csv", MILK_META_HEAD "IL_001,overview,ISIC_1000001,a,,,55,male,3,x,0,0\n",
         "meta_type.csv:2", "'overview'", 0},
        {"milk/meta_nogt.csv", MILK_META_HEAD "IL_009,dermoscopic,ISIC_1000001,a,,,55,male,3,x,0,0\n",
         "meta_nogt.csv:2", "'IL_009' has no row in the ground truth", 0},
        {"milk/gt_twohot.csv", MILK_GT_HEAD "IL_002,0,0,0,0,0,0,0,0,1,0,0\nIL_001,0,1,0,0,0,0,0,1.0,0,0,0\n",
         "gt_twohot.csv:3", "not one-hot", 1},
        {"milk/gt_zero.csv", MILK_GT_HEAD "IL_002,0,0,0,0,0,0,0,0,0,0,0\nIL_001,0,1,0,0,0,0,0,0,0,0,0\n",
         "gt_zero.csv:2", "not one-hot", 1},
        {"milk/gt_value.csv", MILK_GT_HEAD "IL_002,0,0,0,0,0,0,0,0,0.5,0,0\nIL_001,0,1,0,0,0,0,0,0,0,0,0\n",
         "gt_value.csv:2", "'0.5'", 1},
        {"milk/gt_extra.csv", MILK_GT_HEAD "IL_002,0,0,0,0,0,0,0,0,1,0,0\nIL_001,0,1,0,0,0,0,0,0,0,0,0\n"
         "IL_003,0,1,0,0,0,0,0,0,0,0,0\n",
         "gt_extra.csv:4", "IL_003 has no image rows", 1},
        /* Exact spellings: a view type in another case, a ground-truth value written another way. */
        {"milk/meta_case.csv", MILK_META_HEAD
         "IL_001,Dermoscopic,ISIC_1000001,a,,,55,male,3,x,0,0\n",
         "meta_case.csv:2", "column 'image_type': 'Dermoscopic'", 0},
        {"milk/meta_blank.csv", MILK_META_HEAD
         "IL_001,dermoscopic,ISIC_1000001,a,,,55,male,3,x,0,0\n"
         "IL_001,clinical: close-up ,ISIC_1000002,a,,,55,male,3,x,0,0\n",
         "meta_blank.csv:3", "'clinical: close-up '", 0},
        {"milk/gt_spelled.csv", MILK_GT_HEAD "IL_002,0,0,0,0,0,0,0,0,1.00,0,0\nIL_001,0,1,0,0,0,0,0,0,0,0,0\n",
         "gt_spelled.csv:2", "column 'NV': '1.00' is not a ground-truth value (expected exactly one of 0, 1, 0.0, 1.0)", 1},
        {"milk/gt_blank.csv", MILK_GT_HEAD "IL_002,0,0,0,0,0,0,0,0,1,0,0\nIL_001,0, 1,0,0,0,0,0,0,0,0,0\n",
         "gt_blank.csv:3", "column 'BCC': ' 1'", 1},
        {"milk/gt_empty.csv", MILK_GT_HEAD "IL_002,0,0,0,0,0,0,0,0,1,0,0\nIL_001,0,1,0,0,,0,0,0,0,0,0\n",
         "gt_empty.csv:3", "column 'DF': ''", 1},
        {"milk/gt_dup.csv", MILK_GT_HEAD "IL_002,0,0,0,0,0,0,0,0,1,0,0\nIL_001,0,1,0,0,0,0,0,0,0,0,0\n"
         "IL_002,0,0,0,0,0,0,0,0,1,0,0\n",
         "gt_dup.csv:4", "IL_002 already has ground truth at line 2", 1},
        /* One image id for two rows, and an id that leads out of the image folder. */
        {"milk/meta_dupid.csv", MILK_META_HEAD
         "IL_001,dermoscopic,ISIC_1000001,a,,,55,male,3,x,0,0\n"
         "IL_001,clinical: close-up,ISIC_1000002,a,,,55,male,3,x,0,0\n"
         "IL_002,clinical: close-up,ISIC_1000001,b,,,70,female,2,x,0,0\n"
         "IL_002,dermoscopic,ISIC_1000003,b,,,70,female,2,x,0,0\n",
         "meta_dupid.csv:4", "'ISIC_1000001' appears again (first at line 2)", 0},
        {"milk/meta_escape.csv", MILK_META_HEAD
         "IL_001,dermoscopic,../../../escaped,a,,,55,male,3,x,0,0\n"
         "IL_001,clinical: close-up,ISIC_1000002,a,,,55,male,3,x,0,0\n"
         "IL_002,clinical: close-up,ISIC_1000004,b,,,70,female,2,x,0,0\n"
         "IL_002,dermoscopic,ISIC_1000003,b,,,70,female,2,x,0,0\n",
         "meta_escape.csv:2", "data.allow_outside_paths", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_file(cases[i].file, cases[i].text);
        df_milk10k_options b = o;
        if (cases[i].is_gt) b.ground_truth_csv = at(cases[i].file);
        else b.metadata_csv = at(cases[i].file);
        CHECK(df_milk10k_load(&d, &b, NULL, &err) == -1);
        CHECK_MSG(strstr(err.msg, cases[i].want1) && strstr(err.msg, cases[i].want2), "case %zu: %s", i, err.msg);
    }

    /* A missing image file: an error naming the lesion and path, or a counted skip. */
    unlink(at("milk/MILK10k_Training_Input/IL_001/ISIC_1000002.jpg"));
    CHECK(df_milk10k_load(&d, &o, NULL, &err) == -1);
    CHECK_MSG(strstr(err.msg, "IL_001") && strstr(err.msg, "ISIC_1000002.jpg") &&
                  strstr(err.msg, "MILK10k_Training_Metadata.csv:3"), "%s", err.msg);
    int skipped = 0;
    o.skip_missing_images = 1;
    CHECK(df_milk10k_load(&d, &o, &skipped, &err) == 0 && d.n_samples == 1 && skipped == 1);
    df_dataset_free(&d);
    /* Without images the file is not needed. */
    o.with_images = 0;
    CHECK(df_milk10k_load(&d, &o, NULL, &err) == 0 && d.n_samples == 2 && d.image_paths[0] == NULL);
    df_dataset_free(&d);

    /* More class columns than the class limit: refused, naming the file and the limit. */
    char gt[4096] = "lesion_id";
    size_t n = strlen(gt);
    for (int c = 0; c <= DF_LIMIT_CLASSES; c++) n += (size_t)snprintf(gt + n, sizeof gt - n, ",C%d", c);
    n += (size_t)snprintf(gt + n, sizeof gt - n, "\nIL_001,1");
    for (int c = 0; c < DF_LIMIT_CLASSES; c++) n += (size_t)snprintf(gt + n, sizeof gt - n, ",0");
    snprintf(gt + n, sizeof gt - n, "\n");
    write_file("milk/MILK10k_Training_GroundTruth.csv", gt);
    CHECK(df_milk10k_load(&d, &o, NULL, &err) == -1);
    CHECK_MSG(strstr(err.msg, "GroundTruth.csv:1") && strstr(err.msg, "65 class columns") &&
                  strstr(err.msg, "limit of 64 (classes)"), "%s", err.msg);
}

static void test_generic(void) {
    mkdir(at("gen"), 0700);
    write_file("gen/a.png", "");
    write_file("gen/b.png", "");
    write_file("gen/m_a.png", "");
    write_file("gen/data.csv", "file,dx,who,mask\na.png,nevus,p1,m_a.png\nb.png,bcc,,\n");
    df_generic_options o = {at("gen/data.csv"), at("gen"), "file", "dx", NULL, 0, NULL, "who", "mask", 1, 0, 0};
    df_dataset d;
    df_error err = {""};
    CHECK_MSG(df_generic_load(&d, &o, NULL, &err) == 0, "%s", err.msg);
    CHECK(d.n_samples == 2 && d.n_classes == 2);
    if (d.n_samples == 2 && d.n_classes == 2) {
        CHECK(!strcmp(d.class_names[0], "bcc") && !strcmp(d.class_names[1], "nevus")); /* sorted */
        CHECK(d.labels[0] == 1 && d.labels[1] == 0);
        CHECK(ends_with(d.mask_paths[0], "gen/m_a.png") && d.mask_paths[1] == NULL);
        CHECK(!strcmp(d.groups[1], "row:3") && !strcmp(d.ids[0], "a.png"));
    }
    df_dataset_free(&d);

    /* A test file loaded with the training classes: an unseen label is an error. */
    write_file("gen/test.csv", "file,dx,who,mask\na.png,melanoma,p1,\n");
    const char *classes[] = {"bcc", "nevus"};
    o.csv_path = at("gen/test.csv");
    o.class_names = classes;
    o.n_class_names = 2;
    CHECK(df_generic_load(&d, &o, NULL, &err) == -1);
    CHECK_MSG(strstr(err.msg, "test.csv:2") && strstr(err.msg, "'melanoma'"), "%s", err.msg);
    write_file("gen/nofile.csv", "file,dx,who,mask\nc.png,nevus,p1,\n");
    o.csv_path = at("gen/nofile.csv");
    CHECK(df_generic_load(&d, &o, NULL, &err) == -1);
    CHECK_MSG(strstr(err.msg, "nofile.csv:2") && strstr(err.msg, "c.png"), "%s", err.msg);

    /* Labels match a class exactly; the message names the column and every accepted value. */
    const char *near[] = {"Nevus", "nevus ", " bcc", "BCC", "nevi"};
    for (int i = 0; i < 5; i++) {
        char text[256];
        snprintf(text, sizeof text, "file,dx,who,mask\na.png,bcc,p1,\nb.png,%s,p2,\n", near[i]);
        write_file("gen/near.csv", text);
        o.csv_path = at("gen/near.csv");
        CHECK(df_generic_load(&d, &o, NULL, &err) == -1);
        CHECK_MSG(strstr(err.msg, "near.csv:3") && strstr(err.msg, "column 'dx'") && strstr(err.msg, near[i]) &&
                      strstr(err.msg, "exactly one of 'bcc', 'nevus'"), "'%s': %s", near[i], err.msg);
    }
    /* Collecting the classes of a training file: one class spelled two ways is an error naming both lines. */
    o.class_names = NULL;
    o.n_class_names = 0;
    const char *twice[] = {"Nevus", "nevus ", "NEVUS"};
    for (int i = 0; i < 3; i++) {
        char text[256];
        snprintf(text, sizeof text, "file,dx,who,mask\na.png,nevus,p1,\nb.png,bcc,p2,\nm_a.png,%s,p3,\n", twice[i]);
        write_file("gen/twice.csv", text);
        o.csv_path = at("gen/twice.csv");
        CHECK(df_generic_load(&d, &o, NULL, &err) == -1);
        CHECK_MSG(strstr(err.msg, "twice.csv:") && strstr(err.msg, "column 'dx'") && strstr(err.msg, twice[i]) &&
                      strstr(err.msg, "'nevus'") && strstr(err.msg, "line "), "'%s': %s", twice[i], err.msg);
    }
    /* As many classes as the class limit, and one more (metadata only: the images do not exist). */
    o.csv_path = at("gen/many.csv");
    o.with_images = 0;
    for (int k = DF_LIMIT_CLASSES; k <= DF_LIMIT_CLASSES + 1; k++) {
        char text[4096] = "file,dx,who,mask\n";
        size_t n = strlen(text);
        for (int i = 0; i < k; i++) n += (size_t)snprintf(text + n, sizeof text - n, "f%d.png,c%d,p%d,\n", i, i, i);
        write_file("gen/many.csv", text);
        int rc = df_generic_load(&d, &o, NULL, &err);
        if (k == DF_LIMIT_CLASSES) {
            CHECK_MSG(rc == 0 && d.n_classes == k, "%s", err.msg);
            df_dataset_free(&d);
        } else {
            CHECK(rc == -1);
            CHECK_MSG(strstr(err.msg, "many.csv") && strstr(err.msg, "65 distinct labels") &&
                          strstr(err.msg, "limit of 64 (classes)"), "%s", err.msg);
        }
    }
    o.with_images = 1;
    /* The same image twice is one sample counted twice. */
    write_file("gen/dup.csv", "file,dx,who,mask\na.png,nevus,p1,\nb.png,bcc,p2,\na.png,bcc,p3,\n");
    o.csv_path = at("gen/dup.csv");
    CHECK(df_generic_load(&d, &o, NULL, &err) == -1);
    CHECK_MSG(strstr(err.msg, "dup.csv:4") && strstr(err.msg, "'a.png'") && strstr(err.msg, "line 2"), "%s",
              err.msg);
}

/* Files a CSV names stay inside the image folder (masks: or the CSV's folder), lexically and through links,
 * unless allowed; the error names the CSV, line, path and the config key. */
static void test_paths(void) {
    mkdir(at("p"), 0700);
    mkdir(at("p/img"), 0700);
    mkdir(at("p/img/sub"), 0700);
    mkdir(at("p/masks"), 0700);
    write_file("p/img/a.jpg", "");
    write_file("p/outside.jpg", "");
    write_file("p/masks/m.png", "");
    write_file("outer.png", "");
    CHECK(symlink(at("p/outside.jpg"), at("p/img/link.jpg")) == 0);
    CHECK(symlink("img", at("p/imglink")) == 0);

    static const struct {
        const char *image, *mask;
        int ok;        /* 1: loads; 0: refused */
        const char *want;
    } cases[] = {
        {"a.jpg", "", 1, ""},
        {"sub/../a.jpg", "", 1, ""},
        {"./sub/./../a.jpg", "", 1, ""},
        {"../img/a.jpg", "", 1, ""},               /* leaves and comes back: inside after tidying */
        {"a.jpg", "../masks/m.png", 1, ""},        /* masks beside the CSV, as `dermfuse synth` writes them */
        {"../outside.jpg", "", 0, "/../outside.jpg' is '"},
        {"sub/../../outside.jpg", "", 0, "outside the folder"},
        {"link.jpg", "", 0, "leads through a link to"},
        {"../../outer.png", "", 0, "image path"},
        {"a.jpg", "../../outer.png", 0, "mask path"},
        {"../nonexistent.jpg", "", 0, "/p/nonexistent.jpg'"}, /* refused before it is looked for */
    };
    char csv[256], abs_case[512];
    snprintf(csv, sizeof csv, "%s", at("p/p.csv"));
    df_error err = {""};
    df_dataset d;
    for (int allow = 0; allow <= 1; allow++)
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            char text[512];
            snprintf(text, sizeof text, "image,isic_id,class,mask\n%s,ISIC_1,1,%s\n", cases[i].image, cases[i].mask);
            write_file("p/p.csv", text);
            df_isic_options o = {csv, at("p/img"), 1, 1, NULL, allow};
            int skipped = 0;
            int rc = df_isic_load(&d, &o, &skipped, &err);
            int want_ok = cases[i].ok || (allow && !strstr(cases[i].image, "nonexistent"));
            if (want_ok) {
                CHECK_MSG(rc == 0, "case %zu (allow %d): %s", i, allow, err.msg);
                if (rc == 0) df_dataset_free(&d);
            } else if (!allow) {
                CHECK_MSG(rc == -1, "case %zu accepted", i);
                CHECK_MSG(strstr(err.msg, "p.csv:2:") && strstr(err.msg, cases[i].want) &&
                              strstr(err.msg, "set data.allow_outside_paths: true"), "case %zu: %s", i, err.msg);
            } else { /* allowed but missing: skipped, as any missing image */
                CHECK_MSG(rc == 0 && d.n_samples == 0 && skipped == 1, "case %zu: %s", i, err.msg);
                if (rc == 0) df_dataset_free(&d);
            }
        }
    /* Absolute paths: outside unless allowed; inside the folder they are fine. */
    snprintf(abs_case, sizeof abs_case, "image,isic_id,class\n%s,ISIC_1,1\n", at("p/outside.jpg"));
    write_file("p/p.csv", abs_case);
    df_isic_options o = {csv, at("p/img"), 1, 0, NULL, 0};
    CHECK(df_isic_load(&d, &o, NULL, &err) == -1);
    CHECK_MSG(strstr(err.msg, "p.csv:2:") && strstr(err.msg, "outside.jpg") && strstr(err.msg, "allow_outside_paths"),
              "%s", err.msg);
    o.allow_outside_paths = 1;
    CHECK(df_isic_load(&d, &o, NULL, &err) == 0 && d.n_samples == 1);
    df_dataset_free(&d);
    o.allow_outside_paths = 0;
    snprintf(abs_case, sizeof abs_case, "image,isic_id,class\n%s,ISIC_1,1\n", at("p/img/a.jpg"));
    write_file("p/p.csv", abs_case);
    CHECK_MSG(df_isic_load(&d, &o, NULL, &err) == 0, "%s", err.msg);
    df_dataset_free(&d);
    /* An isic_id that leads out (the ISIC Archive fallback name) is refused the same way. */
    write_file("p/p.csv", "image,isic_id,class\n,../outside,1\n");
    CHECK(df_isic_load(&d, &o, NULL, &err) == -1);
    CHECK_MSG(strstr(err.msg, "p.csv:2:") && strstr(err.msg, "outside.jpg"), "%s", err.msg);
    /* A linked image folder: its files resolve below the folder's own real path. */
    write_file("p/p.csv", "image,isic_id,class\na.jpg,ISIC_1,1\n");
    o.image_dir = at("p/imglink");
    CHECK_MSG(df_isic_load(&d, &o, NULL, &err) == 0, "%s", err.msg);
    df_dataset_free(&d);
    /* A relative image folder is taken from the working directory. */
    char *cwd = getcwd(NULL, 0);
    CHECK(chdir(at("p")) == 0);
    o.csv_path = "p.csv";
    o.image_dir = "img";
    CHECK_MSG(df_isic_load(&d, &o, NULL, &err) == 0, "%s", err.msg);
    df_dataset_free(&d);
    write_file("p/p.csv", "image,isic_id,class\n../outside.jpg,ISIC_1,1\n");
    CHECK(df_isic_load(&d, &o, NULL, &err) == -1);
    CHECK_MSG(strstr(err.msg, "p.csv:2:") && strstr(err.msg, "'img'"), "%s", err.msg);
    CHECK(chdir(cwd) == 0);
    free(cwd);

    /* The generic layout: the same rule for its image and mask columns. */
    write_file("p/g.csv", "file,dx,mask\na.jpg,nevus,\n../outside.jpg,bcc,\n");
    df_generic_options g = {at("p/g.csv"), at("p/img"), "file", "dx", NULL, 0, NULL, NULL, "mask", 1, 0, 0};
    CHECK(df_generic_load(&d, &g, NULL, &err) == -1);
    CHECK_MSG(strstr(err.msg, "g.csv:3:") && strstr(err.msg, "outside.jpg") && strstr(err.msg, "allow_outside_paths"),
              "%s", err.msg);
    g.allow_outside_paths = 1;
    CHECK_MSG(df_generic_load(&d, &g, NULL, &err) == 0 && d.n_samples == 2, "%s", err.msg);
    df_dataset_free(&d);
    g.allow_outside_paths = 0;
    write_file("p/g.csv", "file,dx,mask\na.jpg,nevus,../masks/m.png\nlink.jpg,bcc,\n");
    CHECK(df_generic_load(&d, &g, NULL, &err) == -1);
    CHECK_MSG(strstr(err.msg, "g.csv:3:") && strstr(err.msg, "link"), "%s", err.msg);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The published split files: sizes, balance, and the encoder's statistics against figures computed
 * independently (Python's csv and statistics modules) on the same files. */
static int test_real(void) {
    const char *src = getenv("DF_SOURCE_ROOT");
    char dir[1024], train[1100], valid[1100];
    snprintf(dir, sizeof dir, "%s/../shared/data/isic-dicm-17k", src ? src : ".");
    snprintf(train, sizeof train, "%s/train-set-metadata.csv", dir);
    snprintf(valid, sizeof valid, "%s/valid-set-metadata.csv", dir);
    if (access(train, R_OK) || access(valid, R_OK)) {
        printf("SKIP: %s not found\n", dir);
        return 77;
    }
    const char *files[2] = {train, valid};
    const int rows[2] = {15098, 1962};
    df_dataset d[2];
    df_error err = {""};
    for (int k = 0; k < 2; k++) {
        df_isic_options o = {files[k], NULL, 0, 0, "patient_id", 0};
        CHECK_MSG(df_isic_load(&d[k], &o, NULL, &err) == 0, "%s", err.msg);
        CHECK(d[k].n_samples == rows[k] && d[k].n_meta_cols == 24);
        int ones = 0;
        for (int i = 0; i < d[k].n_samples; i++) ones += d[k].labels[i];
        CHECK(2 * ones == rows[k]);
    }
    const char *num[] = {"age_approx"}, *cat[] = {"sex", "anatom_site_general"};
    df_meta_spec spec = {num, 1, cat, 2, "class", 0, 0};
    df_meta_encoder enc;
    CHECK_MSG(df_meta_fit(&enc, &spec, &d[0], NULL, 0, NULL, &err) == 0, "%s", err.msg);
    CHECK_CLOSE(enc.features[0].mean, 57.40110706, 1e-4, 0);
    CHECK_CLOSE(enc.features[0].sd, 17.14894098, 1e-4, 0);
    CHECK(enc.features[1].n_values == 2 && enc.features[2].n_values == 8);
    CHECK(enc.dim == 2 + 3 + 9);
    float *x = malloc((size_t)d[0].n_samples * (size_t)enc.dim * sizeof *x);
    CHECK(df_meta_encode(&enc, &d[0], NULL, 0, x, NULL, NULL, &err) == 0);
    int missing = 0;
    for (int i = 0; i < d[0].n_samples; i++) missing += x[(size_t)i * (size_t)enc.dim + 1] == 1.0f;
    CHECK(missing == 284);
    char msg[256];
    CHECK(df_meta_perfect_separators(&enc, x, d[0].labels, d[0].n_samples, 2, msg, sizeof msg) == 0);
    free(x);
    df_meta_encoder_free(&enc);
    /* The leaky columns of the real file are refused. */
    const char *leaky[] = {"benign_malignant"};
    df_meta_spec s2 = {NULL, 0, leaky, 1, "class", 0, 0};
    CHECK(df_meta_fit(&enc, &s2, &d[0], NULL, 0, NULL, &err) == -1);

    /* Patient-grouped 5-fold on the training file: no patient in two folds, folds near 50% class 1. */
    int *fold_of = malloc((size_t)d[0].n_samples * sizeof *fold_of);
    CHECK(df_split_kfold(&d[0], NULL, 0, 5, 1, fold_of, &err) == 0);
    for (int f = 0; f < 5; f++) {
        df_split s;
        df_split_fold(NULL, d[0].n_samples, fold_of, f, &s);
        int pos = 0;
        for (int i = 0; i < s.n_test; i++) pos += d[0].labels[s.test[i]];
        printf("fold %d: %d samples, class-1 share %.4f\n", f, s.n_test, (double)pos / s.n_test);
        CHECK_CLOSE((double)pos / s.n_test, 0.5, 0.01, 0);
        CHECK_CLOSE((double)s.n_test / d[0].n_samples, 0.2, 0.01, 0);
        /* no patient (or singleton row group) on both sides */
        char **train_groups = malloc((size_t)s.n_train * sizeof *train_groups);
        for (int i = 0; i < s.n_train; i++) train_groups[i] = d[0].groups[s.train[i]];
        qsort(train_groups, (size_t)s.n_train, sizeof *train_groups, cmp_str);
        int apart = 1;
        for (int j = 0; j < s.n_test; j++)
            apart &= bsearch(&d[0].groups[s.test[j]], train_groups, (size_t)s.n_train, sizeof *train_groups,
                             cmp_str) == NULL;
        CHECK(apart);
        free(train_groups);
        df_split_free(&s);
    }
    free(fold_of);
    df_dataset_free(&d[0]);
    df_dataset_free(&d[1]);
    return check_report();
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "real")) return test_real();
    snprintf(root, sizeof root, "/tmp/df_test_datasets_XXXXXX");
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    test_isic();
    test_milk10k();
    test_generic();
    test_paths();
    int rc = check_report();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", root);
    return rc;
}
