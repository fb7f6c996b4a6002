/* adam.c: Adam (L2 decay added to the gradient) and AdamW (decoupled decay), PyTorch semantics (see
 * optim.h). Bias corrections are computed per tensor in double from that tensor's own step count. */
#include "optim/optim.h"

#include <math.h>

void df_adam_step(df_optim *o, df_graph *g, float lr) {
    DF_ASSERT(o->cfg.kind == DF_OPTIM_ADAM || o->cfg.kind == DF_OPTIM_ADAMW);
    const int decoupled = o->cfg.kind == DF_OPTIM_ADAMW;
    const float b1 = o->cfg.beta1, b2 = o->cfg.beta2, eps = o->cfg.eps, wd = o->cfg.weight_decay;
    df_optim_advance_(o, g);

#pragma omp parallel
    for (int i = 0; i < g->n_tensors; i++) {
        df_optim_slot s;
        if (!df_optim_slot_of(o, g, i, &s)) continue;
        float *p = s.p, *m = s.m, *v = s.v; /* (n) each */
        const float *gr = s.grad;
        const double tstep = (double)o->t_step[i];
        const double bc1 = 1.0 - pow((double)b1, tstep), bc2 = 1.0 - pow((double)b2, tstep);
        /* p -= lr * (m / bc1) / (sqrt(v / bc2) + eps), with the per-tensor constants folded. */
        const float step_size = (float)((double)lr / bc1);
        const float inv_sqrt_bc2 = (float)(1.0 / sqrt(bc2));
        const float l2 = s.decay && !decoupled ? wd : 0.0f;
        const float shrink = s.decay && decoupled ? 1.0f - lr * wd : 1.0f;
        const long n = s.n;
#pragma omp for schedule(static) nowait
        for (long j = 0; j < n; j++) {
            float pj = p[j] * shrink;
            float d = gr[j] + l2 * pj;
            float mj = b1 * m[j] + (1.0f - b1) * d;
            float vj = b2 * v[j] + (1.0f - b2) * d * d;
            m[j] = mj;
            v[j] = vj;
            p[j] = pj - step_size * mj / (sqrtf(vj) * inv_sqrt_bc2 + eps);
        }
    }
}
