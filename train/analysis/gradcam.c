/* gradcam.c: see gradcam.h. */
#include "train/analysis/gradcam.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void df_gradcam_map_shape(const df_model *m, int view, int *h, int *w, int *channels) {
    const df_shape s = m->g->nodes[m->last_maps[view]].shape; /* (B, h, w, C) */
    *h = s.d[1];
    *w = s.d[2];
    *channels = s.d[3];
}

int df_gradcam_batch(df_model *m, int view, const int *cls, int *pred, float *cam, float *weights,
                     df_error *err) {
    if (view < 0 || view > 1 || m->last_maps[view] < 0)
        return df_fail(err, "Grad-CAM: the '%s' model has no image view %d", df_fusion_name(m->spec.fusion), view);
    df_graph *g = m->g;
    const int B = g->batch, L = m->spec.binary_sigmoid ? 1 : m->spec.n_classes;
    df_node *logits = &g->nodes[m->logits], *maps = &g->nodes[m->last_maps[view]];
    if (!logits->dout || !maps->dout)
        return df_fail(err, "Grad-CAM: the logits do not depend on view %d's feature maps", view);
    df_graph_set_training(g, 0);
    df_graph_forward(g);

    /* d logit_c: a one-hot row per sample (a signed single logit for a sigmoid head, see gradcam.h). */
    memset(logits->dout, 0, sizeof(float) * (size_t)B * L);
    for (int i = 0; i < B; i++) {
        const float *z = logits->out + (size_t)i * L;
        int p = 0;
        if (L == 1) {
            p = z[0] > 0.0f;
        } else {
            for (int k = 1; k < L; k++)
                if (z[k] > z[p]) p = k;
        }
        if (pred) pred[i] = p;
        int c = cls ? cls[i] : p;
        if (c < 0 || c >= m->spec.n_classes)
            return df_fail(err, "Grad-CAM: class %d of sample %d is outside 0..%d", c, i, m->spec.n_classes - 1);
        if (L == 1)
            logits->dout[i] = c == 1 ? 1.0f : -1.0f;
        else
            logits->dout[(size_t)i * L + c] = 1.0f;
    }
    df_graph_zero_grads(g);
    df_graph_backward_from(g, m->logits);
    df_graph_zero_grads(g); /* the parameter gradients of an explanation mean nothing to training */

    int h, w, C;
    df_gradcam_map_shape(m, view, &h, &w, &C);
    const size_t plane = (size_t)h * w, per = plane * C;
    double *wk = df_malloc(sizeof(double) * (size_t)C);
    for (int i = 0; i < B; i++) {
        const float *A = maps->out + per * i, *dA = maps->dout + per * i; /* (h, w, C) */
        for (int k = 0; k < C; k++) wk[k] = 0.0;
        for (size_t q = 0; q < plane; q++)
            for (int k = 0; k < C; k++) wk[k] += dA[q * C + k];
        for (int k = 0; k < C; k++) {
            wk[k] /= (double)plane;
            if (weights) weights[(size_t)i * C + k] = (float)wk[k];
        }
        float *out = cam + plane * i;
        for (size_t q = 0; q < plane; q++) {
            double s = 0.0;
            for (int k = 0; k < C; k++) s += wk[k] * A[q * C + k];
            out[q] = s > 0.0 ? (float)s : 0.0f;
        }
    }
    free(wk);
    return 0;
}

/* Source coordinate of output pixel i when n_in pixels are stretched over n_out (centres aligned), and the
 * two neighbours and the weight of the second. */
static void bilinear_tap(int i, int n_in, int n_out, int *i0, int *i1, float *f) {
    float s = ((float)i + 0.5f) * (float)n_in / (float)n_out - 0.5f;
    if (s < 0.0f) s = 0.0f;
    if (s > (float)(n_in - 1)) s = (float)(n_in - 1);
    *i0 = (int)s;
    *i1 = *i0 + 1 < n_in ? *i0 + 1 : *i0;
    *f = s - (float)*i0;
}

void df_gradcam_upsample(const float *cam, int h, int w, int out_h, int out_w, float *out) {
    for (int y = 0; y < out_h; y++) {
        int y0, y1;
        float fy;
        bilinear_tap(y, h, out_h, &y0, &y1, &fy);
        for (int x = 0; x < out_w; x++) {
            int x0, x1;
            float fx;
            bilinear_tap(x, w, out_w, &x0, &x1, &fx);
            float top = cam[y0 * w + x0] * (1.0f - fx) + cam[y0 * w + x1] * fx;
            float bot = cam[y1 * w + x0] * (1.0f - fx) + cam[y1 * w + x1] * fx;
            out[y * out_w + x] = top * (1.0f - fy) + bot * fy;
        }
    }
}

void df_gradcam_normalise(float *cam, int n) {
    float mx = 0.0f;
    for (int i = 0; i < n; i++) mx = cam[i] > mx ? cam[i] : mx;
    for (int i = 0; i < n; i++) cam[i] = mx > 0.0f && cam[i] > 0.0f ? cam[i] / mx : 0.0f;
}

double df_gradcam_mask_index(const float *cam, const float *mask, int n) {
    double in = 0.0, all = 0.0;
    for (int i = 0; i < n; i++) {
        in += (double)cam[i] * mask[i];
        all += cam[i];
    }
    return all > 0.0 ? in / all : NAN;
}

void df_gradcam_colour(float t, unsigned char rgb[3]) {
    static const float stops[4][3] = {{0, 0, 255}, {0, 255, 255}, {255, 255, 0}, {255, 0, 0}};
    t = t < 0.0f ? 0.0f : t > 1.0f ? 1.0f : t;
    float s = t * 3.0f;
    int j = s >= 3.0f ? 2 : (int)s;
    float f = s - (float)j;
    for (int c = 0; c < 3; c++) rgb[c] = (unsigned char)lrintf(stops[j][c] + f * (stops[j + 1][c] - stops[j][c]));
}

void df_gradcam_overlay(const unsigned char *rgb, const float *cam, int w, int h, float alpha, df_image *out) {
    df_image_alloc(out, w, h, 3);
    for (int q = 0; q < w * h; q++) {
        unsigned char heat[3];
        float t = cam[q] < 0.0f ? 0.0f : cam[q] > 1.0f ? 1.0f : cam[q];
        df_gradcam_colour(t, heat);
        float a = alpha * t;
        for (int c = 0; c < 3; c++)
            out->data[3 * q + c] = (unsigned char)lrintf((1.0f - a) * rgb[3 * q + c] + a * heat[c]);
    }
}
