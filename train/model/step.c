/* step.c: see step.h. */
#include "train/model/step.h"

#include <math.h>

df_step_result df_train_step(df_graph *g, int loss, df_optim *o, float lr, float clip_norm) {
    df_step_result r = {0, 0, 1, -1};
    df_graph_set_training(g, 1);
    df_graph_zero_grads(g);
    df_graph_forward(g);
    r.loss = g->nodes[loss].out[0];
    if (!isfinite(r.loss)) {
        r.finite = 0;
        return r;
    }
    df_graph_backward(g);
    r.grad_norm = df_clip_grad_norm(g, clip_norm);
    if (!isfinite(r.grad_norm)) {
        r.finite = 0;
        df_grads_finite(g, &r.bad_tensor);
        return r;
    }
    df_optim_step(o, g, lr);
    return r;
}
