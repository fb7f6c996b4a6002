/* test_meta_dropout.c: train.meta_dropout (train/session/meta_dropout.h) on a metadata model's input, with
 * an encoder of one numeric and one categorical column built by hand: the row a dropped sample gets is the
 * missing encoding (numeric 0 with its _missing slot 1, categorical <unknown> 1, nothing else); p = 0 leaves
 * the fed rows bit for bit; p = 1 drops every sample; p = 0.3 drops about 30% of samples, the same ones for
 * the same (seed, step, place in the whole batch), so a rank's part of a batch (its offset) drops what the
 * whole batch drops there. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/rng.h"
#include "train/session/meta_dropout.h"

#define B 8

static void make_encoder(df_meta_encoder *enc) {
    memset(enc, 0, sizeof *enc);
    enc->n_features = 2;
    enc->features = calloc(2, sizeof *enc->features);
    enc->features[0] = (df_meta_feature){.column = df_strdup("age"), .kind = DF_META_NUMERIC, .mean = 50, .sd = 10};
    enc->features[1].column = df_strdup("site");
    enc->features[1].kind = DF_META_CATEGORICAL;
    enc->features[1].n_values = 3;
    enc->features[1].values = malloc(3 * sizeof(char *));
    const char *v[3] = {"arm", "head", "leg"};
    for (int i = 0; i < 3; i++) enc->features[1].values[i] = df_strdup(v[i]);
    df_meta_finish_(enc);
}

/* The metadata input after feeding rows (n of them, from place `offset` of the whole batch) at `step`. */
static void feed(df_model *m, const df_meta_dropout *md, const float *rows, int n, int offset, long step,
                 float *out) {
    float labels[B] = {0};
    int idx[B] = {0};
    df_batch b = {.n = n, .offset = offset, .total = B, .meta = (float *)rows, .labels = labels, .indices = idx};
    df_model_feed(m, &b);
    df_meta_dropout_apply(md, m, &b, step);
    memcpy(out, df_graph_out(m->g, m->meta), (size_t)n * md->dim * sizeof(float));
}

int main(void) {
    df_meta_encoder enc;
    make_encoder(&enc);
    CHECK(enc.dim == 6);
    df_model_spec spec = df_model_spec_default(DF_FUSION_META, 2, 16, enc.dim);
    df_error err;
    df_model *m = df_model_build(&spec, B, 1, &err);
    CHECK_MSG(m != NULL, "%s", m ? "" : err.msg);
    if (!m) return check_report();

    float rows[B * 6], got[B * 6], whole[B * 6];
    df_rng r = df_rng_make(9, 1);
    for (int i = 0; i < B * 6; i++) rows[i] = df_rng_normal(&r);

    df_meta_dropout md;
    df_meta_dropout_setup(&md, 1.0, 7, &enc);
    const float missing[6] = {0, 1, 0, 0, 0, 1}; /* age, age_missing, site=arm, =head, =leg, =<unknown> */
    CHECK_MSG(md.missing_row && !memcmp(md.missing_row, missing, sizeof missing), "the missing encoding");
    feed(m, &md, rows, B, 0, 3, got);
    for (int i = 0; i < B; i++) CHECK_MSG(!memcmp(got + i * 6, missing, sizeof missing), "p 1: row %d dropped", i);
    df_meta_dropout_free(&md);

    df_meta_dropout_setup(&md, 0.0, 7, &enc);
    CHECK(md.missing_row == NULL);
    md.dim = enc.dim; /* off: apply must leave the input as fed */
    feed(m, &md, rows, B, 0, 3, got);
    CHECK_MSG(!memcmp(got, rows, sizeof rows), "p 0: the rows as fed");

    df_meta_dropout_setup(&md, 0.3, 7, &enc);
    int dropped = 0, total = 0, same_again = 1, parts_agree = 1;
    for (long step = 0; step < 400; step++) {
        feed(m, &md, rows, B, 0, step, whole);
        for (int i = 0; i < B; i++) {
            int d = !memcmp(whole + i * 6, missing, sizeof missing);
            CHECK(d == df_meta_dropout_drops(&md, step, i));
            CHECK(d || !memcmp(whole + i * 6, rows + i * 6, sizeof missing));
            dropped += d;
            total++;
        }
        feed(m, &md, rows, B, 0, step, got);
        same_again &= !memcmp(got, whole, sizeof whole);
        feed(m, &md, rows + 3 * 6, B - 3, 3, step, got); /* a rank holding samples 3..7 */
        parts_agree &= !memcmp(got, whole + 3 * 6, (B - 3) * 6 * sizeof(float));
    }
    double share = (double)dropped / total; /* 3200 draws: sd 0.008 */
    CHECK_MSG(share > 0.26 && share < 0.34, "p 0.3 dropped %.3f", share);
    CHECK(same_again);
    CHECK(parts_agree);
    df_meta_dropout md2;
    df_meta_dropout_setup(&md2, 0.3, 8, &enc);
    int differ = 0;
    for (long step = 0; step < 50; step++)
        for (int i = 0; i < B; i++) differ |= df_meta_dropout_drops(&md, step, i) != df_meta_dropout_drops(&md2, step, i);
    CHECK_MSG(differ, "another seed drops other samples");
    df_meta_dropout_free(&md);
    df_meta_dropout_free(&md2);
    df_model_free(m);
    df_meta_encoder_free(&enc);
    return check_report();
}
