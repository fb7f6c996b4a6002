/* test_gradcam.c: Grad-CAM against its definition. On tiny models (a gated model with a hidden head layer, so
 * the logits are a non-linear function of the feature maps, and a sigmoid-head image model), the channel
 * weights must equal the spatial mean of d logit_c / d A measured by central finite differences on the
 * last feature maps, and the map must be ReLU(sum_k w_k A_k). Also: the parameter gradients are left zero,
 * a model without images is refused, and upsampling, normalisation, the heat-map index and the overlay
 * follow their stated rules. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "check.h"
#include "train/analysis/gradcam.h"

static void fill_inputs(df_model *m, int batch, uint64_t seed) {
    df_graph *g = m->g;
    df_graph_set_batch(g, batch);
    df_rng r = df_rng_make(seed, 99);
    size_t n = (size_t)batch * df_shape_per_sample(g->nodes[m->image[0]].shape);
    float *img = df_graph_out(g, m->image[0]);
    for (size_t i = 0; i < n; i++) img[i] = 2.0f * df_rng_uniform(&r) - 1.0f;
    if (m->meta >= 0) {
        float *meta = df_graph_out(g, m->meta);
        for (int i = 0; i < batch * m->spec.meta_dim; i++) meta[i] = df_rng_normal(&r);
    }
    memset(df_graph_out(g, m->target), 0, sizeof(float) * (size_t)batch);
}

/* Re-runs the nodes after the last feature maps (the maps' values are whatever the caller left there). */
static void forward_tail(df_model *m) {
    df_graph *g = m->g;
    for (int i = m->last_maps[0] + 1; i < g->n_nodes; i++) g->nodes[i].op->forward(g, &g->nodes[i]);
}

/* The explained score: logit c, or +-z for a sigmoid head. */
static double score(df_model *m, int i, int c) {
    const float *z = df_graph_out(m->g, m->logits);
    if (m->spec.binary_sigmoid) return c == 1 ? z[i] : -z[i];
    return z[i * m->spec.n_classes + c];
}

/* Finite-difference weights of sample i for class c: (1/hw) sum_q d score / d A[q, k]. */
static void fd_weights(df_model *m, int i, int c, double *w) {
    int h, wd, C;
    df_gradcam_map_shape(m, 0, &h, &wd, &C);
    size_t plane = (size_t)h * wd;
    float *A = df_graph_out(m->g, m->last_maps[0]) + plane * C * i;
    const float eps = 1e-2f;
    for (int k = 0; k < C; k++) {
        double sum = 0.0;
        for (size_t q = 0; q < plane; q++) {
            float keep = A[q * C + k];
            A[q * C + k] = keep + eps;
            forward_tail(m);
            double up = score(m, i, c);
            A[q * C + k] = keep - eps;
            forward_tail(m);
            double down = score(m, i, c);
            A[q * C + k] = keep;
            sum += (up - down) / (2.0 * eps);
        }
        w[k] = sum / (double)plane;
    }
    forward_tail(m);
}

static int grads_zero(const df_graph *g) {
    for (size_t i = 0; i < g->n_param_floats; i++)
        if (g->grads[i] != 0.0f) return 0;
    return 1;
}

static void check_model(df_model *m, int batch, const int *cls) {
    int h, w, C;
    df_gradcam_map_shape(m, 0, &h, &w, &C);
    size_t plane = (size_t)h * w;
    float *cam = malloc(sizeof(float) * plane * batch), *weights = malloc(sizeof(float) * (size_t)C * batch);
    int pred[8];
    df_error err;
    fill_inputs(m, batch, 7);
    m->g->grads[0] = 1.0f; /* a stale gradient must not survive */
    CHECK(df_gradcam_batch(m, 0, cls, pred, cam, weights, &err) == 0);
    CHECK(grads_zero(m->g));
    CHECK(m->g->training == 0);
    double *wfd = malloc(sizeof(double) * (size_t)C);
    int positive = 0;
    for (int i = 0; i < batch; i++) {
        /* the predicted class from the logits */
        const float *z = df_graph_out(m->g, m->logits);
        int p = 0;
        if (m->spec.binary_sigmoid) {
            p = z[i] > 0.0f;
        } else {
            for (int k = 1; k < m->spec.n_classes; k++)
                if (z[i * m->spec.n_classes + k] > z[i * m->spec.n_classes + p]) p = k;
        }
        CHECK(pred[i] == p);
        int c = cls ? cls[i] : p;
        fd_weights(m, i, c, wfd);
        for (int k = 0; k < C; k++) CHECK_CLOSE(weights[(size_t)i * C + k], wfd[k], 2e-3, 2e-2);
        const float *A = df_graph_out(m->g, m->last_maps[0]) + plane * C * i;
        for (size_t q = 0; q < plane; q++) {
            double s = 0.0;
            for (int k = 0; k < C; k++) s += wfd[k] * A[q * C + k];
            CHECK_CLOSE(cam[plane * i + q], s > 0.0 ? s : 0.0, 5e-3, 2e-2);
            positive += cam[plane * i + q] > 0.0f;
        }
    }
    CHECK(positive > 0); /* the ReLU did not wipe every map: the comparison above had something to compare */
    free(wfd);
    free(cam);
    free(weights);
}

static void test_against_finite_differences(void) {
    df_error err;
    df_model_spec s = df_model_spec_default(DF_FUSION_GATED, 3, 8, 3);
    s.n_stages = 2;
    s.widths[0] = 4;
    s.widths[1] = 5;
    s.n_meta_hidden = 1;
    s.meta_hidden[0] = 4;
    s.head_hidden = 6;
    df_model *m = df_model_build(&s, 4, 11, &err);
    CHECK(m != NULL);
    if (!m) return;
    check_model(m, 3, NULL);
    int cls[3] = {2, 0, 1};
    check_model(m, 3, cls);
    int bad[3] = {0, 3, 0};
    float cam[256];
    CHECK(df_gradcam_batch(m, 0, bad, NULL, cam, NULL, &err) == -1);
    CHECK(df_gradcam_batch(m, 1, NULL, NULL, cam, NULL, &err) == -1); /* one view only */
    df_model_free(m);

    df_model_spec b = df_model_spec_default(DF_FUSION_IMAGE, 2, 8, 0);
    b.n_stages = 1;
    b.widths[0] = 3;
    b.binary_sigmoid = 1;
    m = df_model_build(&b, 4, 5, &err);
    CHECK(m != NULL);
    if (!m) return;
    check_model(m, 2, NULL);
    int both[2][2] = {{0, 0}, {1, 1}};
    int h, w, C;
    df_gradcam_map_shape(m, 0, &h, &w, &C);
    float *w0 = malloc(sizeof(float) * 2 * C), *w1 = malloc(sizeof(float) * 2 * C), *c2 = malloc(sizeof(float) * 2 * h * w);
    CHECK(df_gradcam_batch(m, 0, both[0], NULL, c2, w0, &err) == 0);
    CHECK(df_gradcam_batch(m, 0, both[1], NULL, c2, w1, &err) == 0);
    for (int k = 0; k < 2 * C; k++) CHECK_CLOSE(w0[k], -w1[k], 1e-7, 1e-6); /* class 0 is the evidence -z */
    free(w0);
    free(w1);
    free(c2);
    df_model_free(m);

    df_model_spec mm = df_model_spec_default(DF_FUSION_META, 2, 8, 3);
    m = df_model_build(&mm, 2, 1, &err);
    CHECK(m != NULL);
    if (m) {
        CHECK(df_gradcam_batch(m, 0, NULL, NULL, cam, NULL, &err) == -1);
        CHECK(strstr(err.msg, "no image view") != NULL);
        df_model_free(m);
    }
}

static void test_maps(void) {
    /* Upsampling with centres aligned: a constant stays constant; a 2x2 map to 4x4. */
    float c[4] = {3, 3, 3, 3}, out[16];
    df_gradcam_upsample(c, 2, 2, 4, 4, out);
    for (int i = 0; i < 16; i++) CHECK_CLOSE(out[i], 3.0, 1e-6, 0);
    float m2[4] = {0, 4, 8, 12}; /* rows (0 4), (8 12) */
    df_gradcam_upsample(m2, 2, 2, 4, 4, out);
    CHECK_CLOSE(out[0], 0.0, 1e-6, 0);        /* (0,0) clamps to the corner */
    CHECK_CLOSE(out[1], 1.0, 1e-6, 0);        /* x source 0.25: 0.75 * 0 + 0.25 * 4 */
    CHECK_CLOSE(out[2], 3.0, 1e-6, 0);        /* x source 0.75 */
    CHECK_CLOSE(out[3], 4.0, 1e-6, 0);        /* clamps to the last column */
    CHECK_CLOSE(out[4 + 1], 1.0 + 2.0, 1e-6, 0); /* y source 0.25 adds 0.25 * 8 */
    CHECK_CLOSE(out[15], 12.0, 1e-6, 0);

    float n[4] = {0, 1, 2, 4};
    df_gradcam_normalise(n, 4);
    CHECK_CLOSE(n[3], 1.0, 0, 0);
    CHECK_CLOSE(n[1], 0.25, 1e-7, 0);
    float z[3] = {0, 0, 0};
    df_gradcam_normalise(z, 3);
    CHECK(z[0] == 0 && z[1] == 0 && z[2] == 0);

    /* Heat-map index: 1 inside, 0 outside, the mass share in between, NaN without heat. */
    float mask[8] = {0, 0, 1, 1, 1, 1, 0, 0};
    float in[8] = {0, 0, 0.5f, 1, 0.2f, 0, 0, 0}, outside[8] = {1, 0.3f, 0, 0, 0, 0, 0.7f, 0};
    float half[8] = {1, 0, 1, 0, 0, 0, 0, 0}, none[8] = {0};
    CHECK_CLOSE(df_gradcam_mask_index(in, mask, 8), 1.0, 1e-12, 0);
    CHECK_CLOSE(df_gradcam_mask_index(outside, mask, 8), 0.0, 1e-12, 0);
    CHECK_CLOSE(df_gradcam_mask_index(half, mask, 8), 0.5, 1e-12, 0);
    CHECK(isnan(df_gradcam_mask_index(none, mask, 8)));
    float soft[2] = {0.5f, 0.5f}, heat[2] = {1, 3}; /* a soft mask edge counts by its fraction */
    CHECK_CLOSE(df_gradcam_mask_index(heat, soft, 2), 0.5, 1e-12, 0);

    /* The colour map's ends and the overlay: no heat leaves the image as it was. */
    unsigned char rgb[3];
    df_gradcam_colour(0.0f, rgb);
    CHECK(rgb[0] == 0 && rgb[1] == 0 && rgb[2] == 255);
    df_gradcam_colour(1.0f, rgb);
    CHECK(rgb[0] == 255 && rgb[1] == 0 && rgb[2] == 0);
    unsigned char img[6] = {10, 20, 30, 200, 100, 50};
    float cam2[2] = {0.0f, 1.0f};
    df_image ov;
    df_gradcam_overlay(img, cam2, 2, 1, 0.5f, &ov);
    CHECK(ov.w == 2 && ov.h == 1 && ov.c == 3);
    CHECK(ov.data[0] == 10 && ov.data[1] == 20 && ov.data[2] == 30);
    CHECK(ov.data[3] == 228 && ov.data[4] == 50 && ov.data[5] == 25); /* half image, half red */
    df_image_free(&ov);
}

int main(void) {
    test_against_finite_differences();
    test_maps();
    return check_report();
}
