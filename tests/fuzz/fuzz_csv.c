/* fuzz_csv.c: CSV files, and the run data built on them, as `dermfuse train` reads a dataset.
 *
 * Input: one CSV file, or two separated by a "#@file" line (fuzz_util.h) for the MILK10k layout (metadata,
 * then ground truth). For each input:
 *   1. df_csv_parse; a table that parses must write back (df_csv_write_row) to text that parses to the very
 *      same table (csv.h promises it);
 *   2. df_run_data_load, as a run loads its data, on a config made from the file's own header: layout isic
 *      when the header has isic_id and class, milk10k for two files, else csv with the last column as the
 *      label; every other column a numeric feature when its first value is a number, else a categorical
 *      one (label-determining columns only for one input length in seven); holdout or published splits,
 *      skip_bad_rows and allow_leaky chosen from the input's length;
 *   3. for a run that loads, the fitted metadata encoder is saved as JSON and restored (as prediction does)
 *      and must encode every sample to the same floats.
 * Images are not resolved (metadata only), so no image folder is needed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/io/json.h" /* df_json_utf8_valid */
#include "data/table/csv.h"
#include "data/table/meta.h"
#include "fuzz_util.h"
#include "train/session/run_data.h"

static void check_round_trip(const df_csv *t) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) fuzz_fail("open_memstream");
    int rc = df_csv_write_row(f, (const char *const *)t->header, t->n_cols);
    for (int r = 0; r < t->n_rows && !rc; r++)
        rc = df_csv_write_row(f, (const char *const *)t->fields + (size_t)r * (size_t)t->n_cols, t->n_cols);
    if (fclose(f) || rc) fuzz_fail("df_csv_write_row failed");
    df_csv back;
    df_error err;
    if (df_csv_parse(text, len, "<written>", &back, &err))
        fuzz_fail("a parsed table, written back, does not parse: %s", err.msg);
    if (back.n_cols != t->n_cols || back.n_rows != t->n_rows)
        fuzz_fail("a parsed table of %d x %d reads back as %d x %d", t->n_rows, t->n_cols, back.n_rows, back.n_cols);
    for (int c = 0; c < t->n_cols; c++)
        if (strcmp(back.header[c], t->header[c]))
            fuzz_fail("header %d '%s' reads back as '%s'", c, t->header[c], back.header[c]);
    for (int r = 0; r < t->n_rows; r++)
        for (int c = 0; c < t->n_cols; c++)
            if (strcmp(df_csv_get(&back, r, c), df_csv_get(t, r, c)))
                fuzz_fail("field (%d, %d) '%s' reads back as '%s'", r, c, df_csv_get(t, r, c), df_csv_get(&back, r, c));
    df_csv_free(&back);
    free(text);
}

/* The restored encoder must encode every split's samples exactly as the fitted one did. */
static void check_encoder_round_trip(const df_run_data *rd) {
    char *json = df_meta_to_json(&rd->enc);
    df_meta_encoder back;
    df_error err;
    if (df_meta_from_json(&back, json, &err))
        fuzz_fail("a fitted encoder's JSON does not restore: %s\n%s", err.msg, json);
    if (back.dim != rd->enc.dim) fuzz_fail("restored encoder has width %d, fitted %d", back.dim, rd->enc.dim);
    for (int s = 0; s < DF_N_SPLITS; s++) {
        const df_dataset *ds = rd->ds[s];
        size_t n = (size_t)ds->n_samples * (size_t)back.dim;
        float *x = malloc(n * sizeof *x + sizeof *x);
        unsigned char *bad = malloc((size_t)ds->n_samples + 1);
        if (df_meta_encode(&back, ds, NULL, 0, x, bad, NULL, &err))
            fuzz_fail("the restored encoder fails where the fitted one encoded: %s", err.msg);
        if (memcmp(x, rd->meta[s], n * sizeof *x)) fuzz_fail("the restored encoder encodes split %d differently", s);
        free(x);
        free(bad);
    }
    df_meta_encoder_free(&back);
    free(json);
}

/* Picks the run's data options from the table t (file 0) and loads the run's data. */
static void load_run_data(const df_csv *t, const char *path, int two_files, size_t size) {
    df_run_config cfg;
    memset(&cfg, 0, sizeof cfg);
    df_data_section *d = &cfg.data;
    cfg.source = "<fuzz config>";
    cfg.run.seed = 1;
    int isic = df_csv_col(t, "isic_id") >= 0 && df_csv_col(t, "class") >= 0;
    d->layout = two_files ? DF_LAYOUT_MILK10K : isic ? DF_LAYOUT_ISIC : DF_LAYOUT_CSV;
    d->train_csv = (char *)path;
    d->valid_csv = (char *)path;
    d->test_csv = "";
    d->root = (char *)fuzz_dir();
    d->image_dir = "";
    d->label_column = d->layout == DF_LAYOUT_CSV && t->n_cols ? t->header[t->n_cols - 1] : "label";
    d->image_column = "";
    d->group_by = df_csv_col(t, "patient_id") >= 0 ? "patient_id" : df_csv_col(t, "lesion_id") >= 0 ? "lesion_id" : "";
    d->split = size % 3 == 0 ? DF_SPLIT_PUBLISHED : DF_SPLIT_HOLDOUT;
    d->valid_fraction = 0.2;
    d->test_fraction = size % 5 == 0 ? 0.5 : 0.2;
    d->skip_bad_rows = (int)(size / 2 % 2);
    d->allow_leaky = (int)(size / 4 % 2);
    for (int c = 0; c < t->n_cols; c++) {
        if (!strcmp(t->header[c], d->label_column) && d->layout == DF_LAYOUT_CSV) continue;
        /* a config lists label-determining columns only now and then (they are refused without allow_leaky) */
        if (df_meta_is_leaky(t->header[c]) && size % 7) continue;
        /* a config (YAML, so UTF-8) can only name UTF-8 columns */
        if (!df_json_utf8_valid(t->header[c], strlen(t->header[c]), NULL)) continue;
        double x;
        int numeric = t->n_rows && df_meta_parse_number(df_csv_get(t, 0, c), &x);
        if (numeric && d->n_numeric < DF_CFG_LIST_MAX) d->numeric[d->n_numeric++] = t->header[c];
        else if (!numeric && d->n_categorical < DF_CFG_LIST_MAX) d->categorical[d->n_categorical++] = t->header[c];
    }
    df_run_data rd;
    df_error err;
    if (df_run_data_load(&cfg, 0, NULL, &rd, &err)) {
        fuzz_note("df_run_data_load", err.msg);
        return;
    }
    char fingerprint[17];
    df_run_data_fingerprint(&rd, fingerprint);
    float *w = malloc((size_t)(rd.n_classes ? rd.n_classes : 1) * sizeof *w);
    df_run_data_balanced_weights(&rd, w);
    free(w);
    if (rd.meta_dim) check_encoder_round_trip(&rd);
    df_run_data_free(&rd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_reset();
    fuzz_parts p;
    fuzz_split(data, size, &p);
    df_csv t;
    df_error err;
    if (df_csv_parse(p.file[0], p.file_len[0], "f0.csv", &t, &err) == 0) {
        check_round_trip(&t);
        const char *path;
        if (p.n_files >= 2) {
            path = fuzz_write("MILK10k_Training_Metadata.csv", p.file[0], p.file_len[0]);
            fuzz_write("MILK10k_Training_GroundTruth.csv", p.file[1], p.file_len[1]);
        } else {
            path = fuzz_write("f0.csv", p.file[0], p.file_len[0]);
        }
        load_run_data(&t, path, p.n_files >= 2, size);
        df_csv_free(&t);
    } else {
        fuzz_note("df_csv_parse", err.msg);
    }
    fuzz_parts_free(&p);
    return 0;
}
