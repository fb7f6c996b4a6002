/* step.c: see step.h. */
#include "train/model/step.h"

#include <math.h>
#include <omp.h>

/* The loss layer's divisor for this slice: the sum of its samples' class weights (1 each unweighted). */
static double slice_weight(df_graph *g, int loss) {
    const df_node *n = &g->nodes[loss];
    const float *t = g->nodes[n->in[1]].out;
    double w = 0.0;
    for (int i = 0; i < g->batch; i++) {
        int y = (int)t[i];
        w += n->a.loss.weighted && y >= 0 && y < n->a.loss.n_classes ? n->a.loss.class_weight[y] : 1.0;
    }
    return w;
}

/* Clip, check and update: the same on every rank, as the gradient is. */
static df_step_result finish(df_graph *g, df_optim *o, float lr, float clip_norm, df_step_result r) {
    r.grad_norm = df_clip_grad_norm(g, clip_norm);
    if (!isfinite(r.grad_norm)) {
        r.finite = 0;
        df_grads_finite(g, &r.bad_tensor);
        return r;
    }
    df_optim_step(o, g, lr);
    return r;
}

df_step_result df_train_step(df_graph *g, int loss, df_optim *o, float lr, float clip_norm) {
    df_step_result r = {0, 0, 1, -1, 0};
    df_graph_set_training(g, 1);
    df_graph_zero_grads(g);
    df_graph_forward(g);
    r.loss = g->nodes[loss].out[0];
    if (!isfinite(r.loss)) {
        r.finite = 0;
        return r;
    }
    df_graph_backward(g);
    return finish(g, o, lr, clip_norm, r);
}

df_step_result df_train_step_ranks(df_graph *g, int loss, df_optim *o, float lr, float clip_norm,
                                   const df_dist *ranks) {
    if (!ranks || df_dist_size(ranks) == 1) return df_train_step(g, loss, o, lr, clip_norm);
    df_step_result r = {0, 0, 1, -1, 0};
    df_graph_set_training(g, 1);
    df_graph_zero_grads(g);
    int run = g->batch > 0 || g->dist; /* an empty slice runs only to take part in batch norm's sums */
    if (run) df_graph_forward(g);
    else g->dropout_step++; /* as a forward would: the step counter is the same on every rank */
    /* {W_r, W_r L_r}: an empty slice adds nothing (its loss layer divided by zero) */
    double w = slice_weight(g, loss), part[2] = {w, w > 0 ? w * (double)g->nodes[loss].out[0] : 0.0};
    df_dist_sum_f64(ranks, part, 2);
    r.loss = (float)(part[1] / part[0]);
    if (!isfinite(r.loss)) { /* a NaN on any rank reaches every rank through the sum */
        r.finite = 0;
        return r;
    }
    df_node *top = &g->nodes[loss];
    if (run && top->dout) {
        top->dout[0] = (float)(w / part[0]);
        df_graph_backward_from(g, loss);
    }
    double t0 = omp_get_wtime();
    df_dist_sum_f32(ranks, g->grads, g->n_param_floats);
    r.sum_seconds = omp_get_wtime() - t0;
    return finish(g, o, lr, clip_norm, r);
}
