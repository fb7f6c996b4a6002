/* late_fusion.c: see late_fusion.h. */
#include "train/late/late_fusion.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dist/dist.h"
#include "train/session/run_files.h"
#include "train/session/session.h"

static void copy_shape(const df_predictions *src, df_predictions *dst) {
    memset(dst, 0, sizeof *dst);
    dst->n = src->n;
    dst->K = src->K;
    dst->prob = df_malloc((size_t)src->n * src->K * sizeof(float) + sizeof(float));
    dst->labels = df_malloc((size_t)src->n * sizeof(int) + sizeof(int));
    dst->indices = df_malloc((size_t)src->n * sizeof(int) + sizeof(int));
    memcpy(dst->labels, src->labels, (size_t)src->n * sizeof(int));
    memcpy(dst->indices, src->indices, (size_t)src->n * sizeof(int));
    dst->loss = NAN;
}

static void blend(const df_predictions *a, const df_predictions *b, double w, df_predictions *out) {
    size_t count = (size_t)a->n * a->K;
    for (size_t i = 0; i < count; i++) out->prob[i] = (float)(w * a->prob[i] + (1.0 - w) * b->prob[i]);
}

/* Stacking features of sample i: log p_a, log p_b (clamped away from 0) and a constant 1; F = 2K + 1. */
static void stack_features(const df_predictions *a, const df_predictions *b, int i, double *x) {
    int K = a->K;
    for (int k = 0; k < K; k++) {
        x[k] = log(fmax(a->prob[(size_t)i * K + k], 1e-6));
        x[K + k] = log(fmax(b->prob[(size_t)i * K + k], 1e-6));
    }
    x[2 * K] = 1.0;
}

/* Softmax of W x (W: K rows of F weights) into p. */
static void stack_probs(const double *W, const double *x, int K, int F, double *p) {
    double zmax = -INFINITY, sum = 0;
    for (int k = 0; k < K; k++) {
        p[k] = 0;
        for (int f = 0; f < F; f++) p[k] += W[k * F + f] * x[f];
        zmax = fmax(zmax, p[k]);
    }
    for (int k = 0; k < K; k++) sum += p[k] = exp(p[k] - zmax);
    for (int k = 0; k < K; k++) p[k] /= sum;
}

/* Stacking: softmax regression on the stacking features, fitted by full-batch gradient descent with a
 * small L2 penalty. Deterministic: a fixed number of iterations from zero weights. */
static void stack_fit(const df_predictions *a, const df_predictions *b, double *W) {
    int K = a->K, F = 2 * K + 1, n = a->n;
    memset(W, 0, sizeof(double) * (size_t)K * F);
    double *grad = df_malloc(sizeof(double) * (size_t)K * F), x[2 * DF_MAX_CLASSES + 1], p[DF_MAX_CLASSES];
    for (int it = 0; it < 500; it++) {
        memset(grad, 0, sizeof(double) * (size_t)K * F);
        for (int i = 0; i < n; i++) {
            stack_features(a, b, i, x);
            stack_probs(W, x, K, F, p);
            for (int k = 0; k < K; k++) {
                double d = p[k] - (a->labels[i] == k);
                for (int f = 0; f < F; f++) grad[k * F + f] += d * x[f] / n;
            }
        }
        for (int j = 0; j < K * F; j++) W[j] -= 0.5 * (grad[j] + 1e-3 * W[j]);
    }
    free(grad);
}

static void stack_apply(const df_predictions *a, const df_predictions *b, const double *W, df_predictions *out) {
    int K = a->K, F = 2 * K + 1;
    double x[2 * DF_MAX_CLASSES + 1], p[DF_MAX_CLASSES];
    for (int i = 0; i < a->n; i++) {
        stack_features(a, b, i, x);
        stack_probs(W, x, K, F, p);
        for (int k = 0; k < K; k++) out->prob[(size_t)i * K + k] = (float)p[k];
    }
}

int df_late_combine(df_late_rule rule, df_metric_id monitor, const df_predictions *valid_img,
                    const df_predictions *valid_meta, const df_predictions *img, const df_predictions *meta,
                    df_predictions *out, double *weight, df_error *err) {
    if (img->n != meta->n || valid_img->n != valid_meta->n || memcmp(img->indices, meta->indices, sizeof(int) * (size_t)img->n))
        return df_fail(err, "late fusion: the image and metadata models saw different samples");
    copy_shape(img, out);
    *weight = NAN;
    switch (rule) {
    case DF_LATE_MEAN:
        *weight = 0.5;
        blend(img, meta, 0.5, out);
        break;
    case DF_LATE_WEIGHTED: {
        df_predictions v;
        copy_shape(valid_img, &v);
        double best = -INFINITY;
        for (int step = 0; step <= 20; step++) {
            double w = step / 20.0;
            blend(valid_img, valid_meta, w, &v);
            df_metrics m;
            if (df_predictions_metrics(&v, &m, err)) {
                df_predictions_free(&v);
                df_predictions_free(out);
                return -1;
            }
            /* loss is not defined for a blend; accuracy stands in when it is the monitor */
            double s = df_metric_value(&m, 0, monitor == DF_METRIC_LOSS ? DF_METRIC_ACCURACY : monitor);
            if (s > best) best = s, *weight = w;
        }
        df_predictions_free(&v);
        blend(img, meta, *weight, out);
        break;
    }
    case DF_LATE_STACKING: {
        int K = img->K;
        double *W = df_malloc(sizeof(double) * (size_t)K * (2 * K + 1));
        stack_fit(valid_img, valid_meta, W);
        stack_apply(img, meta, W, out);
        free(W);
        break;
    }
    }
    return 0;
}

df_run_config df_late_part_config(const df_run_config *cfg, df_fusion part, char *name, size_t size) {
    df_run_config c = *cfg;
    snprintf(name, size, "%s/%s", cfg->run.name, df_fusion_name(part));
    c.run.name = name;
    return c;
}

df_run_config df_late_part_of(const df_run_config *cfg, const df_late_parts *parts, df_fusion part, char *name,
                              size_t size) {
    const df_run_config *given = !parts ? NULL : part == DF_FUSION_IMAGE ? parts->image : parts->meta;
    if (given) {
        snprintf(name, size, "%s", given->run.name);
        return *given;
    }
    return df_late_part_config(cfg, part, name, size);
}

/* Puts the two parts' penultimate features side by side (same samples, same order). */
static void concat_features(df_predictions *out, const df_predictions *a, const df_predictions *b) {
    int d = a->feature_dim + b->feature_dim;
    out->features = df_malloc(sizeof(float) * (size_t)out->n * d + sizeof(float));
    for (int i = 0; i < out->n; i++) {
        memcpy(out->features + (size_t)i * d, a->features + (size_t)i * a->feature_dim,
               sizeof(float) * (size_t)a->feature_dim);
        memcpy(out->features + (size_t)i * d + a->feature_dim, b->features + (size_t)i * b->feature_dim,
               sizeof(float) * (size_t)b->feature_dim);
    }
    out->feature_dim = d;
}

/* Predictions of one part on the validation split (only for rules fitted on it: mean needs none, and a run
 * without validation has only mean; pr[0] stays empty) and on `split`; rd (may be NULL) takes the part's data. */
static int predict_part(const df_run_config *cfg, const df_late_parts *parts, df_fusion part,
                        const char *checkpoint, int split, int keep_features, df_predictions pr[2], df_run_data *rd,
                        df_error *err) {
    char name[512];
    df_run_config c = df_late_part_of(cfg, parts, part, name, sizeof name);
    df_session s;
    if (df_session_open_trained(&s, &c, part, checkpoint, err)) return -1;
    memset(&pr[0], 0, sizeof pr[0]);
    int rc = cfg->model.late_combine == DF_LATE_MEAN ? 0 : df_session_predict(&s, DF_SPLIT_VALID, keep_features, &pr[0], err);
    if (rc == 0 && (rc = df_session_predict(&s, split, keep_features, &pr[1], err))) df_predictions_free(&pr[0]);
    if (rc == 0 && rd) df_session_take_data(&s, rd);
    df_session_close(&s);
    return rc;
}

int df_late_predict(const df_run_config *cfg, const char *checkpoint, int split, int keep_features,
                    df_predictions *out, df_run_data *rd, double *weight, df_error *err) {
    return df_late_predict_parts(cfg, NULL, checkpoint, split, keep_features, out, rd, weight, err);
}

int df_late_predict_parts(const df_run_config *cfg, const df_late_parts *parts, const char *checkpoint, int split,
                          int keep_features, df_predictions *out, df_run_data *rd, double *weight, df_error *err) {
    df_predictions img[2], meta[2];
    if (predict_part(cfg, parts, DF_FUSION_IMAGE, checkpoint, split, keep_features, img, NULL, err)) return -1;
    if (predict_part(cfg, parts, DF_FUSION_META, checkpoint, split, keep_features, meta, rd, err)) {
        for (int i = 0; i < 2; i++) df_predictions_free(&img[i]);
        return -1;
    }
    int rc = df_late_combine(cfg->model.late_combine, cfg->train.monitor, &img[0], &meta[0], &img[1], &meta[1], out,
                             weight, err);
    if (rc == 0 && keep_features) concat_features(out, &img[1], &meta[1]);
    for (int i = 0; i < 2; i++) df_predictions_free(&img[i]), df_predictions_free(&meta[i]);
    if (rc && rd) df_run_data_free(rd);
    return rc;
}

/* test_metrics.json (with the combination's rule and image weight) and test_predictions.csv of the run. */
static int write_results(const char *dir, const df_run_config *cfg, const df_run_data *rd,
                         const df_predictions *p, const df_metrics *m, double w, df_error *err) {
    char extra[192];
    int n = snprintf(extra, sizeof extra, "\"late_combine\":\"%s\",\"checkpoint\":\"%s\"",
                     df_late_rule_names[cfg->model.late_combine], df_test_checkpoint_names[cfg->train.test_checkpoint]);
    if (!isnan(w)) snprintf(extra + n, sizeof extra - (size_t)n, ",\"late_image_weight\":%.6g", w);
    return df_write_test_results(dir, rd, DF_SPLIT_TEST, p, m, extra, err);
}

int df_late_train(const df_run_config *cfg, const df_train_opts *opts, int *stopped, df_error *err) {
    return df_late_train_parts(cfg, NULL, opts, stopped, err);
}

int df_late_train_parts(const df_run_config *cfg, const df_late_parts *parts, const df_train_opts *opts,
                        int *stopped, df_error *err) {
    static const df_fusion parts_of[2] = {DF_FUSION_IMAGE, DF_FUSION_META};
    if (stopped) *stopped = 0;
    for (int p = 0; p < 2; p++) {
        char name[512];
        const df_run_config *given = !parts ? NULL : p == 0 ? parts->image : parts->meta;
        df_run_config pc = df_late_part_of(cfg, parts, parts_of[p], name, sizeof name);
        if (given) {
            printf("late fusion: reusing the finished %s run %s/%s as its %s model\n", df_fusion_name(parts_of[p]),
                   pc.run.out_dir, name, df_fusion_name(parts_of[p]));
            continue;
        }
        printf("late fusion: training the %s model in %s/%s\n", df_fusion_name(parts_of[p]), cfg->run.out_dir, name);
        if (df_train_run(&pc, parts_of[p], opts, stopped, err)) return -1;
        if (stopped && *stopped) return 0;
    }
    df_predictions fused;
    df_run_data rd;
    double w;
    if (df_late_predict_parts(cfg, parts, df_test_checkpoint_file(cfg), DF_SPLIT_TEST, 0, &fused, &rd, &w, err))
        return -1;
    char *dir = df_run_dir(cfg), *path = df_path_join(dir, "config.yaml");
    df_metrics m;
    int rc = df_predictions_metrics(&fused, &m, err);
    int root = df_dist_rank(df_dist_training()) == 0; /* data-parallel: rank 0 alone writes the run's files */
    if (rc == 0 && root) rc = df_make_dirs(dir, err);
    if (rc == 0 && root) rc = df_write_file_atomic(path, cfg->text, strlen(cfg->text), err);
    if (rc == 0 && root) rc = write_results(dir, cfg, &rd, &fused, &m, w, err);
    if (rc == 0) {
        printf("late fusion (%s", df_late_rule_names[cfg->model.late_combine]);
        if (!isnan(w)) printf(", image weight %.2f", w);
        printf(") on the test split: accuracy %.4f  AUC %.4f  balanced accuracy %.4f  F1 %.4f\n", m.accuracy, m.auc,
               m.balanced_accuracy, m.f1);
    }
    free(dir);
    free(path);
    df_predictions_free(&fused);
    df_run_data_free(&rd);
    return rc;
}
