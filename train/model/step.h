/* step.h: one optimisation step of a compiled model graph: zero the gradients, forward and backward in
 * training mode, measure (and optionally clip) the gradient norm, refuse to update on a non-finite gradient,
 * then take the optimizer step. The caller has filled the graph's inputs for g->batch samples. */
#ifndef DF_STEP_H
#define DF_STEP_H

#include "core/graph.h"
#include "optim/optim.h"

typedef struct {
    float loss;
    float grad_norm;  /* before clipping */
    int finite;       /* 0: loss or a gradient was NaN/Inf and no update was made */
    int bad_tensor;   /* when !finite: the first tensor with a non-finite gradient, or -1 for the loss */
} df_step_result;

df_step_result df_train_step(df_graph *g, int loss, df_optim *o, float lr, float clip_norm);

#endif
