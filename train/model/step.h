/* step.h: one optimisation step of a compiled model graph: zero the gradients, forward and backward in
 * training mode, measure (and optionally clip) the gradient norm, refuse to update on a non-finite gradient,
 * then take the optimizer step. The caller has filled the graph's inputs for g->batch samples.
 *
 * Data-parallel (df_train_step_ranks with several ranks): each rank holds a slice of one batch (possibly
 * empty) and the same parameters. The step's loss is the whole batch's: the loss layers divide by their
 * slice's weight sum W_r (the sample count, or the sum of the samples' class weights), so each rank seeds its
 * backward with W_r / W, W the ranks' total, which makes the summed gradient that of the whole batch's mean.
 * After backward the parameter gradients are summed over the ranks once, in place over the graph's one
 * gradient block (df_dist_sum_f32: the same bits on every rank), so clipping, the finite check and the
 * optimizer step see the whole batch's gradient and every rank takes the same step. */
#ifndef DF_STEP_H
#define DF_STEP_H

#include "core/dist/dist.h"
#include "core/graph.h"
#include "optim/optim.h"

typedef struct {
    float loss;       /* the whole batch's */
    float grad_norm;  /* before clipping */
    int finite;       /* 0: loss or a gradient was NaN/Inf and no update was made */
    int bad_tensor;   /* when !finite: the first tensor with a non-finite gradient, or -1 for the loss */
    double sum_seconds; /* in the gradient sum over the ranks */
} df_step_result;

df_step_result df_train_step(df_graph *g, int loss, df_optim *o, float lr, float clip_norm);
/* The step of one rank of `ranks` (NULL or one rank: df_train_step). A rank whose slice is empty (g->batch
 * 0) runs forward and backward only when its batch norms sum over the ranks (g->dist), to take part. */
df_step_result df_train_step_ranks(df_graph *g, int loss, df_optim *o, float lr, float clip_norm,
                                   const df_dist *ranks);

#endif
