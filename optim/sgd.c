/* sgd.c: SGD with optional (Nesterov) momentum and L2 weight decay, PyTorch semantics (see optim.h).
 *
 * One parallel region for the whole step; each tensor's elements are shared out statically, without a
 * barrier between tensors because no element depends on another. */
#include "optim/optim.h"

void df_sgd_step(df_optim *o, df_graph *g, float lr) {
    DF_ASSERT(o->cfg.kind == DF_OPTIM_SGD);
    const float mu = o->cfg.momentum, wd = o->cfg.weight_decay;
    const int nesterov = o->cfg.nesterov;
    df_optim_advance_(o, g);

#pragma omp parallel
    for (int i = 0; i < g->n_tensors; i++) {
        df_optim_slot s;
        if (!df_optim_slot_of(o, g, i, &s)) continue;
        float *p = s.p, *buf = s.m; /* (n) each; no buffer without momentum */
        const float *gr = s.grad;
        const float decay = s.decay ? wd : 0.0f;
        const long n = s.n;
        if (buf) {
#pragma omp for schedule(static) nowait
            for (long j = 0; j < n; j++) {
                float d = gr[j] + decay * p[j];
                float b = mu * buf[j] + d;
                buf[j] = b;
                p[j] -= lr * (nesterov ? d + mu * b : b);
            }
        } else {
#pragma omp for schedule(static) nowait
            for (long j = 0; j < n; j++) p[j] -= lr * (gr[j] + decay * p[j]);
        }
    }
}
