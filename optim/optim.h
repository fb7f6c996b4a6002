/* optim.h: optimizers (SGD, Adam, AdamW), gradient-norm clipping and the non-finite gradient check.
 *
 * The optimizer state mirrors the graph's parameter block: each moment is one float block of
 * g->n_param_floats, so tensor t's moment lives at the same offset as its parameter. A step is one pass over
 * the tensor table that skips buffers (DF_BUFFER, not trained) and frozen tensors, and applies weight decay
 * only to tensors whose `decay` flag is set. Updates are elementwise, so results do not depend on the
 * number of OpenMP threads. The step reads g->grads and leaves them as they are (the trainer zeroes them).
 *
 * Semantics follow PyTorch's torch.optim (no dampening, no amsgrad):
 *   SGD    g += wd*p; buf = momentum*buf + g; d = nesterov ? g + momentum*buf : buf; p -= lr*d
 *          (buf starts at zero, which equals PyTorch's "first step buf = g" because there is no dampening;
 *          with momentum 0 there is no buffer and d = g)
 *   Adam   g += wd*p; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
 *          p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
 *   AdamW  p -= lr*wd*p, then Adam without the wd term in g
 *
 * The bias-correction count t is kept per tensor and advances only on steps where the tensor is not frozen,
 * as PyTorch does for a parameter whose gradient is absent: a backbone unfrozen after some epochs starts
 * with a correctly corrected first step instead of one about 3x too large.
 *
 * Checkpoints store the state under stable names: the moments of tensor "x.weight" as "optim.m.x.weight"
 * (and "optim.v.x.weight" for Adam/AdamW), so saving and loading is one loop over tensors and moments
 * (df_optim_n_moments, df_optim_moment_name, df_optim_moment), plus the step counts. */
#ifndef DF_OPTIM_H
#define DF_OPTIM_H

#include <stddef.h>

#include "core/error.h"
#include "core/graph.h"

typedef enum { DF_OPTIM_SGD = 0, DF_OPTIM_ADAM = 1, DF_OPTIM_ADAMW = 2 } df_optim_kind;

typedef struct {
    df_optim_kind kind;
    float lr;           /* base learning rate: the schedule's starting point */
    float momentum;     /* SGD: 0 for plain SGD */
    int nesterov;       /* SGD: needs momentum > 0 */
    float weight_decay; /* L2 term for SGD and Adam, decoupled for AdamW; only tensors with decay set */
    float beta1, beta2; /* Adam, AdamW */
    float eps;          /* Adam, AdamW */
} df_optim_config;

/* Which moment block: the first moment (SGD's momentum buffer, Adam's m) or the second (Adam's v). */
enum { DF_MOMENT_M = 0, DF_MOMENT_V = 1 };

/* Longest checkpoint name of a moment ("optim.m." + a tensor name), terminator included. */
#define DF_OPTIM_NAME_MAX (DF_NAME_MAX + 16)

typedef struct {
    df_optim_config cfg;
    size_t n;        /* floats in each moment block: the graph's n_param_floats */
    int n_tensors;   /* the graph's tensor table size when created */
    float *m;        /* (n) first moment / momentum buffer; NULL for SGD without momentum */
    float *v;        /* (n) second moment; NULL for SGD */
    long step;       /* optimizer steps taken */
    long *t_step;    /* (n_tensors) steps taken by each tensor, i.e. not frozen (bias correction) */
} df_optim;

/* PyTorch's defaults for the kind: lr 0.1 (SGD) or 1e-3, momentum 0, weight decay 0 (AdamW 0.01),
 * betas (0.9, 0.999), eps 1e-8. */
df_optim_config df_optim_defaults(df_optim_kind kind);

/* The kinds' names in df_optim_kind's order, NULL-terminated: "sgd", "adam", "adamw" (configs bind
 * train.optimizer through this table). */
extern const char *const df_optim_kind_names[];

/* Checks the values (lr > 0, 0 <= momentum < 1, nesterov only with momentum, weight_decay >= 0,
 * 0 <= beta < 1, eps > 0); the message names the field and the value. */
int df_optim_config_check(const df_optim_config *cfg, df_error *err);

/* Allocates the zeroed moments for the compiled graph g. Returns NULL with err set on a bad config or an
 * uncompiled graph. */
df_optim *df_optim_new(const df_graph *g, const df_optim_config *cfg, df_error *err);
void df_optim_free(df_optim *o);

/* One update of every trainable tensor of g with learning rate lr (the schedule's value for this step). */
void df_optim_step(df_optim *o, df_graph *g, float lr);
/* The kind-specific steps df_optim_step dispatches to; each expects the matching o->cfg.kind. */
void df_sgd_step(df_optim *o, df_graph *g, float lr);
void df_adam_step(df_optim *o, df_graph *g, float lr); /* Adam and AdamW */
/* Used by the kind-specific steps: counts the step, and a bias-correction step for every tensor that is
 * trained (not frozen) in it. */
void df_optim_advance_(df_optim *o, const df_graph *g);

/* Tensor i as a step sees it: its values, gradient and moments (NULL where the kind keeps none). */
typedef struct {
    float *p;
    const float *grad;
    float *m, *v;
    long n;
    int decay;
} df_optim_slot;

/* Fills *s for tensor i and returns 1 when the step updates it (a parameter that is not frozen), else 0. */
static inline int df_optim_slot_of(const df_optim *o, const df_graph *g, int i, df_optim_slot *s) {
    const df_tensor_info *t = &g->tensors[i];
    if (t->kind != DF_PARAM || t->frozen) return 0;
    *s = (df_optim_slot){g->params + t->offset, g->grads + t->offset, o->m ? o->m + t->offset : NULL,
                         o->v ? o->v + t->offset : NULL, (long)t->numel, t->decay};
    return 1;
}

/* --- State, for checkpoints --- */

/* Number of moment blocks this optimizer keeps: 0 (SGD without momentum), 1 (SGD) or 2 (Adam, AdamW). */
int df_optim_n_moments(const df_optim *o);
/* Writes "optim.m.<tensor name>" or "optim.v.<tensor name>" into buf; returns 0, or -1 if it did not fit. */
int df_optim_moment_name(const df_graph *g, int tensor, int which, char *buf, size_t size);
/* Tensor `tensor`'s slice (numel floats) of moment `which`; NULL for a buffer (DF_BUFFER) or a moment this
 * optimizer does not keep. */
float *df_optim_moment(df_optim *o, const df_graph *g, int tensor, int which);

long df_optim_get_step(const df_optim *o);
/* Sets the step count and every tensor's bias-correction count to `step` (right when no tensor was ever
 * frozen; otherwise restore the per-tensor counts after this with df_optim_set_tensor_step). */
void df_optim_set_step(df_optim *o, long step);
long df_optim_get_tensor_step(const df_optim *o, int tensor);
void df_optim_set_tensor_step(df_optim *o, int tensor, long step);
/* Zeroes the moments and the step counts. */
void df_optim_reset(df_optim *o);

/* --- Gradients --- */

/* L2 norm of the gradients of every trainable (DF_PARAM, not frozen) tensor, computed before clipping; if
 * it exceeds max_norm > 0 those gradients are scaled by max_norm / (norm + 1e-6) (as PyTorch's
 * clip_grad_norm_). max_norm <= 0 only measures. A non-finite norm is returned without scaling so the
 * caller's NaN guard sees it. The sum runs over fixed 2048-float chunks in double, added in order: the
 * result is bit-identical whatever the thread count. */
float df_clip_grad_norm(df_graph *g, float max_norm);

/* Returns 1 if every gradient of every trainable tensor is finite; otherwise 0 and, if bad_tensor is
 * non-NULL, the index (into g->tensors) of the first tensor holding a NaN or Inf. */
int df_grads_finite(const df_graph *g, int *bad_tensor);

#endif
