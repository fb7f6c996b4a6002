/* test_learning.c: the models learn. A metadata MLP overfits one batch of random labels to near-zero loss;
 * a small CNN learns a generated image task (stripe orientation under noise) far above chance; and the same
 * seed gives bit-identical weights after several steps with 1 and with 2 threads. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/rng.h"
#include "train/model/model.h"
#include "train/model/step.h"

/* Stripes: class 0 horizontal, class 1 vertical; random period, phase and contrast, plus pixel noise. */
static void stripes(float *img, int size, int label, df_rng *r) {
    float period = 3.0f + 4.0f * df_rng_uniform(r), phase = 6.2832f * df_rng_uniform(r);
    float contrast = 0.5f + df_rng_uniform(r);
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++) {
            float t = (float)(label ? x : y);
            float v = contrast * sinf(6.2832f * t / period + phase);
            for (int c = 0; c < 3; c++) img[((size_t)y * size + x) * 3 + c] = v + 0.8f * df_rng_normal(r);
        }
}

static df_optim *adam(df_model *m, float lr) {
    df_optim_config oc = df_optim_defaults(DF_OPTIM_ADAM);
    oc.lr = lr;
    df_error err;
    df_optim *o = df_optim_new(m->g, &oc, &err);
    if (!o) fprintf(stderr, "%s\n", err.msg);
    return o;
}

static void test_overfit_one_batch(void) {
    df_model_spec s = df_model_spec_default(DF_FUSION_META, 3, 0, 6);
    df_error err;
    df_model *m = df_model_build(&s, 16, 1, &err);
    CHECK_MSG(m != NULL, "%s", err.msg);
    if (!m) return;
    df_rng r = df_rng_make(3, 1);
    float *meta = df_graph_out(m->g, m->meta), *t = df_graph_out(m->g, m->target);
    for (int i = 0; i < 16 * 6; i++) meta[i] = df_rng_normal(&r);
    for (int i = 0; i < 16; i++) t[i] = (float)df_rng_below(&r, 3);
    df_optim *o = adam(m, 1e-2f);
    float first = 0, last = 0;
    for (int step = 0; step < 300; step++) {
        df_step_result res = df_train_step(m->g, m->loss, o, 1e-2f, 0);
        if (step == 0) first = res.loss;
        last = res.loss;
    }
    printf("overfit one batch: loss %.4f -> %.6f\n", first, last);
    CHECK(first > 0.8f);
    CHECK_MSG(last < 0.01f, "loss after 300 steps %g", last);
    df_optim_free(o);
    df_model_free(m);
}

static void test_cnn_learns_stripes(void) {
    int size = 16, batch = 32, n_train = 512, n_test = 256;
    df_model_spec s = df_model_spec_default(DF_FUSION_IMAGE, 2, size, 0);
    s.n_stages = 2;
    s.widths[0] = 8;
    s.widths[1] = 16;
    df_error err;
    df_model *m = df_model_build(&s, batch, 2, &err);
    CHECK_MSG(m != NULL, "%s", err.msg);
    if (!m) return;
    df_optim *o = adam(m, 3e-3f);
    df_rng r = df_rng_make(5, 2);
    size_t per = (size_t)size * size * 3;
    float *img = df_graph_out(m->g, m->image[0]), *t = df_graph_out(m->g, m->target);
    for (int step = 0; step < n_train / batch * 3; step++) {
        for (int i = 0; i < batch; i++) {
            int label = (int)df_rng_below(&r, 2);
            stripes(img + i * per, size, label, &r);
            t[i] = (float)label;
        }
        df_train_step(m->g, m->loss, o, 3e-3f, 0);
    }
    df_graph_set_training(m->g, 0);
    int correct = 0;
    float prob[64];
    for (int done = 0; done < n_test; done += batch) {
        int labels[32];
        for (int i = 0; i < batch; i++) {
            labels[i] = (int)df_rng_below(&r, 2);
            stripes(img + i * per, size, labels[i], &r);
        }
        df_graph_forward(m->g);
        df_model_probabilities(m, prob);
        for (int i = 0; i < batch; i++) correct += (prob[2 * i + 1] > 0.5f) == labels[i];
    }
    double acc = (double)correct / n_test;
    printf("stripes: held-out accuracy %.3f (chance 0.5)\n", acc);
    CHECK_MSG(acc > 0.9, "accuracy %g", acc);
    df_optim_free(o);
    df_model_free(m);
}

/* Runs 4 steps of a CNN with fusion and dropout on fixed data with `threads` threads; returns the weights. */
static float *train_with_threads(int threads, size_t *count) {
    omp_set_num_threads(threads);
    df_model_spec s = df_model_spec_default(DF_FUSION_INTERMEDIATE, 3, 20, 5);
    s.n_stages = 3;
    s.dropout = 0.3f;
    s.head_hidden = 16;
    df_error err;
    df_model *m = df_model_build(&s, 8, 11, &err);
    if (!m) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    df_optim *o = adam(m, 1e-3f);
    df_rng r = df_rng_make(9, 9);
    for (int step = 0; step < 4; step++) {
        float *img = df_graph_out(m->g, m->image[0]), *meta = df_graph_out(m->g, m->meta);
        for (int i = 0; i < 8 * 20 * 20 * 3; i++) img[i] = df_rng_normal(&r);
        for (int i = 0; i < 8 * 5; i++) meta[i] = df_rng_normal(&r);
        for (int i = 0; i < 8; i++) df_graph_out(m->g, m->target)[i] = (float)(i % 3);
        df_train_step(m->g, m->loss, o, 1e-3f, 1.0f);
    }
    *count = m->g->n_param_floats + m->g->n_buffer_floats;
    float *w = df_malloc(*count * sizeof(float));
    memcpy(w, m->g->params, m->g->n_param_floats * sizeof(float));
    memcpy(w + m->g->n_param_floats, m->g->buffers, m->g->n_buffer_floats * sizeof(float));
    df_optim_free(o);
    df_model_free(m);
    return w;
}

static void test_thread_determinism(void) {
    size_t n1, n2;
    float *one = train_with_threads(1, &n1), *two = train_with_threads(2, &n2);
    CHECK(n1 == n2);
    CHECK_MSG(memcmp(one, two, n1 * sizeof(float)) == 0, "weights differ between 1 and 2 threads");
    free(one);
    free(two);
}

/* The NaN guard: a non-finite loss or gradient stops the step before the optimizer touches the weights. */
static void test_nan_guard(void) {
    df_model_spec s = df_model_spec_default(DF_FUSION_META, 2, 0, 4);
    df_error err;
    df_model *m = df_model_build(&s, 4, 1, &err);
    df_optim *o = m ? adam(m, 1e-2f) : NULL;
    CHECK(o != NULL);
    if (!o) return;
    for (int i = 0; i < 16; i++) df_graph_out(m->g, m->meta)[i] = (float)(i % 5) - 2.0f;
    for (int i = 0; i < 4; i++) df_graph_out(m->g, m->target)[i] = (float)(i % 2);
    int t = df_graph_find_tensor(m->g, "meta.fc1.weight");
    m->g->params[m->g->tensors[t].offset] = NAN;
    float *before = df_malloc(m->g->n_param_floats * sizeof(float));
    memcpy(before, m->g->params, m->g->n_param_floats * sizeof(float));
    df_step_result r = df_train_step(m->g, m->loss, o, 1e-2f, 0);
    CHECK(!r.finite);
    int unchanged = 1;
    for (size_t i = 0; i < m->g->n_param_floats; i++)
        unchanged &= memcmp(&before[i], &m->g->params[i], sizeof(float)) == 0;
    CHECK_MSG(unchanged, "a step with a non-finite loss changed the weights");
    CHECK(df_optim_get_step(o) == 0);
    free(before);
    df_optim_free(o);
    df_model_free(m);
}

int main(void) {
    test_nan_guard();
    test_overfit_one_batch();
    test_cnn_learns_stripes();
    test_thread_determinism();
    return check_report();
}
