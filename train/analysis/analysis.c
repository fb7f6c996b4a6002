/* analysis.c: see analysis.h. */
#include "train/analysis/analysis.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/image/image.h"
#include "data/loader.h"
#include "train/analysis/gradcam.h"
#include "train/metrics/embed.h"
#include "train/session/run_files.h"

int df_separability_compute(const df_predictions *p, df_separability *out, df_error *err) {
    memset(out, 0, sizeof *out);
    out->silhouette = out->davies_bouldin = NAN;
    if (!p->features || p->feature_dim < 1) return df_fail(err, "separability: the predictions carry no features");
    if (p->n < 2) return df_fail(err, "separability: %d samples, need at least 2", p->n);
    int n = p->n < DF_ANALYSIS_MAX_EMBED ? p->n : DF_ANALYSIS_MAX_EMBED, d = p->feature_dim;
    float *X = df_malloc(sizeof(float) * (size_t)n * d);
    out->labels = df_malloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) {
        size_t src = (size_t)((long long)i * p->n / n); /* evenly spaced; all of them when n = p->n */
        memcpy(X + (size_t)i * d, p->features + src * d, sizeof(float) * (size_t)d);
        out->labels[i] = p->labels[src];
    }
    out->n = n;
    df_error e2;
    /* Undefined scores (one class only, coincident centroids) stay NaN/inf rather than failing the study. */
    if (df_silhouette(X, out->labels, n, d, p->K, &out->silhouette, NULL, &e2)) out->silhouette = NAN;
    if (df_davies_bouldin(X, out->labels, n, d, p->K, &out->davies_bouldin, &e2)) out->davies_bouldin = NAN;
    out->pca = df_calloc((size_t)n * 2, sizeof(float));
    if (d >= 2) {
        df_pca pca;
        if (df_pca_fit(X, n, d, &pca, err)) {
            free(X);
            df_separability_free(out);
            return -1;
        }
        df_pca_transform(&pca, X, n, out->pca);
        for (int k = 0; k < 2; k++) out->explained[k] = pca.total_var > 0 ? pca.var[k] / pca.total_var : 0.0;
        df_pca_free(&pca);
    } else {
        for (int i = 0; i < n; i++) out->pca[2 * i] = X[i];
        out->explained[0] = 1.0;
    }
    free(X);
    return 0;
}

void df_separability_free(df_separability *s) {
    free(s->pca);
    free(s->labels);
    memset(s, 0, sizeof *s);
}

void df_gradcam_summary_free(df_gradcam_summary *s) {
    for (int i = 0; i < s->n_overlays; i++) {
        free(s->overlay_paths[i]);
        free(s->captions[i]);
    }
    memset(s, 0, sizeof *s);
}

/* Grad-CAM's working buffers. */
typedef struct {
    df_session *ses;
    df_loader *loader;
    int *sample;
    float *cam, *up;
    int *pred;
    unsigned char *rgb;
} gc_state;

static void gc_free(gc_state *s) {
    df_loader_free(s->loader);
    void *owned[] = {s->sample, s->cam, s->up, s->pred, s->rgb};
    for (size_t i = 0; i < sizeof owned / sizeof *owned; i++) free(owned[i]);
}

static int explain_batch(gc_state *s, const df_batch *b, const df_loader_opts *o, int n_overlays,
                         const char *overlay_dir, const char *prefix, df_gradcam_summary *out, double *index_sum,
                         df_error *err) {
    df_model *model = s->ses->model;
    if (df_gradcam_batch(model, 0, NULL, s->pred, s->cam, NULL, err)) return -1;
    int h, w, C, S = s->ses->cfg->data.image_size;
    df_gradcam_map_shape(model, 0, &h, &w, &C);
    const df_dataset *ds = s->ses->data.ds[DF_SPLIT_TEST];
    for (int i = 0; i < b->n; i++) {
        df_gradcam_upsample(s->cam + (size_t)h * w * i, h, w, S, S, s->up);
        df_gradcam_normalise(s->up, S * S);
        const float *mask = b->masks ? b->masks + (size_t)S * S * i : NULL;
        double index = mask && mask[0] >= 0.0f ? df_gradcam_mask_index(s->up, mask, S * S) : NAN;
        if (isfinite(index)) *index_sum += index, out->n_masked++;
        if (out->n_overlays < n_overlays) {
            df_augment_denormalise(b->images[0] + (size_t)S * S * o->aug.channels * i, S, S, &o->aug, s->rgb);
            df_image ov;
            df_gradcam_overlay(s->rgb, s->up, S, S, 0.6f, &ov);
            char name[600], caption[600];
            snprintf(name, sizeof name, "%s-%d.png", prefix, out->n_overlays);
            char *path = df_path_join(overlay_dir, name);
            int rc = df_image_save_png(path, &ov, err);
            df_image_free(&ov);
            if (rc == 0) { /* the plain image beside it, <prefix>-<i>-plain.png, for the report */
                df_image plain = {.w = S, .h = S, .c = 3, .data = s->rgb};
                snprintf(name, sizeof name, "%s-%d-plain.png", prefix, out->n_overlays);
                char *plain_path = df_path_join(overlay_dir, name);
                rc = df_image_save_png(plain_path, &plain, err);
                free(plain_path);
            }
            if (rc) {
                free(path);
                return -1;
            }
            int sidx = b->indices[i];
            int n = snprintf(caption, sizeof caption, "%s: true %s, predicted %s", ds->ids[sidx],
                             ds->class_names[ds->labels[sidx]], ds->class_names[s->pred[i]]);
            if (isfinite(index) && n > 0 && (size_t)n < sizeof caption)
                snprintf(caption + n, sizeof caption - (size_t)n, ", heat in lesion %.2f", index);
            out->overlay_paths[out->n_overlays] = path;
            out->captions[out->n_overlays++] = df_strdup(caption);
        }
    }
    out->n_samples += b->n;
    return 0;
}

int df_gradcam_run(df_session *ses, int max_samples, int n_overlays, const char *overlay_dir, const char *prefix,
                   df_gradcam_summary *out, df_error *err) {
    const df_run_config *cfg = ses->cfg;
    memset(out, 0, sizeof *out);
    out->mean_index = NAN;
    if (ses->fusion == DF_FUSION_META) return df_fail(err, "Grad-CAM: a metadata-only model has no image to explain");
    if (!ses->data.has_images) return df_fail(err, "%s: Grad-CAM needs images, and the data have none", cfg->source);
    if (n_overlays > DF_ANALYSIS_MAX_OVERLAYS) n_overlays = DF_ANALYSIS_MAX_OVERLAYS;
    gc_state s;
    memset(&s, 0, sizeof s);
    s.ses = ses;
    const df_dataset *ds = ses->data.ds[DF_SPLIT_TEST];
    int n_test = ses->data.n[DF_SPLIT_TEST], n = n_test < max_samples ? n_test : max_samples;
    if (n < 1) return df_fail(err, "%s: Grad-CAM: the test split is empty", cfg->source);
    /* Batches of at most 32 whatever the training batch: Grad-CAM keeps a map per sample. */
    int batch = cfg->train.batch_size < 32 ? cfg->train.batch_size : 32;
    df_loader_opts o;
    df_session_loader_opts(ses, 0, &o);
    o.batch_size = batch;
    o.use_cache = 0;
    o.load_images = 1;
    o.load_masks = ds->mask_paths != NULL;
    s.sample = df_malloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) s.sample[i] = ses->data.idx[DF_SPLIT_TEST][(long long)i * n_test / n];
    int rc = df_loader_create(ds, s.sample, n, ses->data.meta[DF_SPLIT_TEST], ses->data.meta_dim, &o, &s.loader, err);
    if (rc == 0 && n_overlays > 0) rc = df_make_dirs(overlay_dir, err);
    if (rc == 0) {
        int h, w, C, S = cfg->data.image_size;
        df_gradcam_map_shape(ses->model, 0, &h, &w, &C);
        s.cam = df_malloc(sizeof(float) * (size_t)batch * h * w);
        s.up = df_malloc(sizeof(float) * (size_t)S * S);
        s.pred = df_malloc(sizeof(int) * (size_t)batch);
        s.rgb = df_malloc((size_t)S * S * 3);
        double index_sum = 0.0;
        const df_batch *b;
        df_loader_start_epoch(s.loader, 0, 0);
        while (rc == 0 && (rc = df_loader_next(s.loader, &b, err)) == 1) {
            df_model_feed(ses->model, b);
            rc = explain_batch(&s, b, &o, n_overlays, overlay_dir, prefix, out, &index_sum, err);
        }
        if (rc == 0 && out->n_masked) out->mean_index = index_sum / out->n_masked;
        if (rc > 0) rc = 0;
    }
    gc_free(&s);
    if (rc) df_gradcam_summary_free(out);
    return rc < 0 ? -1 : 0;
}
