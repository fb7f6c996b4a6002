/* gradcheck.h: finite-difference check of a compiled graph's backward.
 *
 * For the output node y and fixed random weights R, L = sum(y * R) (or L = y for a scalar loss). Every
 * element of every input that requires grad and of every parameter is perturbed by +-h, and the central
 * difference (L(+h) - L(-h)) / 2h is compared with the gradient backward produced:
 * |analytic - numeric| <= atol + rtol * |numeric|. Inputs get distinct values spread over [-2, 2] and kept
 * at least `gap` away from 0, so that a kink (ReLU at 0, a max-pool tie) is never straddled by a
 * perturbation when h < gap; parameters get random values in [-1, 1]. Inputs that do not require grad
 * (targets) must be filled by the caller before the call. */
#ifndef DF_GRADCHECK_H
#define DF_GRADCHECK_H

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "core/graph.h"
#include "core/rng.h"

static double gc_loss(df_graph *g, int out, const float *R, uint64_t dropout_step) {
    g->dropout_step = dropout_step; /* the same dropout mask in every evaluation */
    df_graph_forward(g);
    const df_node *y = &g->nodes[out];
    size_t count = (size_t)g->batch * df_shape_per_sample(y->shape);
    if (df_shape_numel(y->shape) == 1) return y->out[0];
    double L = 0.0;
    for (size_t i = 0; i < count; i++) L += (double)y->out[i] * R[i];
    return L;
}

static void gc_fill_inputs(df_graph *g, df_rng *r, float gap) {
    for (int i = 0; i < g->n_nodes; i++) {
        df_node *n = &g->nodes[i];
        if (strcmp(n->op->name, "input") || !n->requires_grad) continue;
        int count = (int)((size_t)g->batch * df_shape_per_sample(n->shape));
        int *perm = df_malloc((size_t)(count > 0 ? count : 1) * sizeof *perm);
        for (int k = 0; k < count; k++) perm[k] = k;
        df_rng_shuffle(r, perm, count);
        for (int k = 0; k < count; k++) {
            float v = -2.0f + 4.0f * ((float)perm[k] + 0.5f) / (float)count;
            if (fabsf(v) < gap) v = v < 0 ? v - gap : v + gap;
            n->out[k] = v;
        }
        free(perm);
    }
    for (size_t k = 0; k < g->n_param_floats; k++) g->params[k] = 2.0f * df_rng_uniform(r) - 1.0f;
}

/* Returns the number of mismatching elements (each is also reported as a failed check). */
static int gradcheck(df_graph *g, int out, float h, float gap, double atol, double rtol, const char *label) {
    df_rng r = df_rng_make(1234, 99);
    gc_fill_inputs(g, &r, gap);
    df_node *y = &g->nodes[out];
    size_t ycount = (size_t)g->batch * df_shape_per_sample(y->shape);
    float *R = df_malloc((ycount ? ycount : 1) * sizeof(float));
    for (size_t i = 0; i < ycount; i++) R[i] = 2.0f * df_rng_uniform(&r) - 1.0f;
    uint64_t step = 7;

    gc_loss(g, out, R, step);
    df_graph_zero_grads(g);
    if (df_shape_numel(y->shape) != 1) memcpy(y->dout, R, ycount * sizeof(float));
    df_graph_backward(g);

    int bad = 0, checked = 0;
    double worst = 0.0;
    /* Inputs that require grad. */
    for (int i = 0; i < g->n_nodes; i++) {
        df_node *n = &g->nodes[i];
        if (strcmp(n->op->name, "input") || !n->requires_grad) continue;
        size_t count = (size_t)g->batch * df_shape_per_sample(n->shape);
        float *analytic = df_malloc(count * sizeof(float));
        memcpy(analytic, n->dout, count * sizeof(float));
        for (size_t k = 0; k < count; k++) {
            float keep = n->out[k];
            n->out[k] = keep + h;
            double lp = gc_loss(g, out, R, step);
            n->out[k] = keep - h;
            double lm = gc_loss(g, out, R, step);
            n->out[k] = keep;
            double num = (lp - lm) / (2.0 * h), err = fabs(analytic[k] - num);
            checked++;
            if (err > worst) worst = err;
            if (!(err <= atol + rtol * fabs(num))) {
                if (bad < 5)
                    fprintf(stderr, "%s: d/d %s[%zu]: backward %.6g, finite difference %.6g\n", label, n->name,
                            k, analytic[k], num);
                bad++;
            }
        }
        free(analytic);
    }
    /* Parameters. */
    float *analytic = df_malloc((g->n_param_floats ? g->n_param_floats : 1) * sizeof(float));
    memcpy(analytic, g->grads, g->n_param_floats * sizeof(float));
    for (int t = 0; t < g->n_tensors; t++) {
        const df_tensor_info *ti = &g->tensors[t];
        if (ti->kind != DF_PARAM) continue;
        for (size_t k = 0; k < ti->numel; k++) {
            float *p = g->params + ti->offset + k, keep = *p;
            *p = keep + h;
            double lp = gc_loss(g, out, R, step);
            *p = keep - h;
            double lm = gc_loss(g, out, R, step);
            *p = keep;
            double num = (lp - lm) / (2.0 * h), an = analytic[ti->offset + k], err = fabs(an - num);
            checked++;
            if (err > worst) worst = err;
            if (!(err <= atol + rtol * fabs(num))) {
                if (bad < 5)
                    fprintf(stderr, "%s: d/d %s[%zu]: backward %.6g, finite difference %.6g\n", label, ti->name,
                            k, an, num);
                bad++;
            }
        }
    }
    free(analytic);
    free(R);
    CHECK_MSG(bad == 0, "%s: %d of %d gradient elements differ from finite differences", label, bad, checked);
    CHECK_MSG(checked > 0, "%s: nothing was checked", label);
    printf("%-48s %6d elements, max |error| %.2e\n", label, checked, worst);
    return bad;
}

#endif
