/* graph.h: a static compute graph with reverse-mode autodiff.
 *
 * Define, then run. A model is built once by calling layer builders (layers/layers.h), each of which appends
 * one node whose inputs are earlier nodes, so the node array is already in topological order: forward is
 * one loop over it and backward the reverse loop. Building checks every shape as it goes; the first error
 * (naming the layer and the shapes) sticks in the graph and makes later builders return -1, so a model
 * builder can check once at the end.
 *
 * df_graph_compile then plans all memory once:
 *   - every parameter lives in one contiguous block `params`, its gradient at the same offset in `grads`
 *     (optimizer moments mirror it too), so zeroing, clipping and an optimizer step are single loops;
 *   - non-trained state (batch-norm running statistics) lives in a second block, `buffers`;
 *   - activations, their gradients and what each op saves for its backward live in one arena, where
 *     gradients whose lifetimes in the backward do not overlap share memory (core/graph_plan.h): a node's
 *     gradient is valid from its first writer's backward to its own, unless df_graph_keep_grad keeps it;
 *   - one scratch area, as large as the largest op asks for, is shared by all ops (it does not outlive a call).
 * Nothing is allocated during forward or backward.
 *
 * Each parameter and buffer has a stable dotted name ("image.block2.conv.weight") under which checkpoints
 * store it. Dimension 0 of every activation is the batch: the graph is planned for max_batch samples and can
 * run any batch 1..max_batch (df_graph_set_batch), and 0 where a data-parallel rank's slice of a small last batch
 * is empty but its batch norms must still take part in the ranks' sums.
 *
 * Backward contract: op->backward reads n->dout and writes the gradients of the inputs that need one and of
 * its parameters. Input gradients are *stored* when n->grad_accum[i] is 0 (this op is the first to write
 * them, in reverse order) and *added* when it is 1; parameter gradients are always added, the trainer zeroes
 * `grads` once per step (so gradient accumulation over micro-batches works). */
#ifndef DF_GRAPH_H
#define DF_GRAPH_H

#include "core/limits.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/error.h"
#include "core/shape.h"

#define DF_NAME_MAX 96
#define DF_MAX_INPUTS 4
#define DF_MAX_NODE_PARAMS 4
#define DF_MAX_CLASSES DF_LIMIT_CLASSES

typedef struct df_graph df_graph;
typedef struct df_node df_node;

/* One op: its name and its forward and backward. Shapes and parameters are set by the op's builder. */
typedef struct {
    const char *name;
    void (*forward)(df_graph *g, df_node *n);
    void (*backward)(df_graph *g, df_node *n);
    /* Forward floating-point operations for one sample (for the summary and for throughput figures). */
    double (*flops)(const df_graph *g, const df_node *n);
    /* Runs with an empty batch too (g->batch 0): an op that sums over the ranks of g->dist (batch norm) must
     * take part in every sum; every other op is skipped then, having nothing to compute. */
    int with_empty_batch;
} df_op;

typedef enum { DF_PARAM = 0, DF_BUFFER = 1 } df_tensor_kind;

typedef enum {
    DF_INIT_ZERO,
    DF_INIT_ONE,
    DF_INIT_NORMAL,  /* N(0, scale^2) */
    DF_INIT_UNIFORM, /* U(-scale, scale) */
} df_init;

typedef struct {
    char name[DF_NAME_MAX];
    df_shape shape; /* no batch dimension */
    df_tensor_kind kind;
    size_t offset; /* into params (DF_PARAM) or buffers (DF_BUFFER) */
    size_t numel;
    int decay; /* weight decay applies: weights yes, biases and norm parameters no */
    int frozen; /* excluded from the optimizer step (set by the trainer to freeze a branch) */
    df_init init;
    float init_scale;
} df_tensor_info;

/* Op attributes: each op reads its own member. */
typedef union {
    struct { int kh, kw, stride, pad, has_bias; } conv;
    struct { int k, stride, pad; } pool;
    struct { int has_bias; } linear;
    struct { int kind; } act;
    struct { float eps, momentum; } norm;
    struct { float p; } dropout;
    struct { int trans_a, trans_b; float alpha; } bmm;
    struct { int axis_offset[DF_MAX_INPUTS]; } concat;
    struct { int h, w; } planes;
    struct { int n_classes; float smoothing; int weighted; float class_weight[DF_MAX_CLASSES]; } loss;
} df_attr;

struct df_node {
    const df_op *op;
    char name[DF_NAME_MAX];
    int index;
    int n_in;
    int in[DF_MAX_INPUTS];
    int grad_accum[DF_MAX_INPUTS]; /* see the backward contract above */
    df_shape shape;                /* output shape, d[0] = max_batch */
    int requires_grad;             /* has parameters, or an input that requires grad */
    int on_loss_path;              /* requires grad and the loss depends on it: its backward runs */
    int keep_grad;                 /* dout stays valid after the backward (df_graph_keep_grad) */
    int n_params;
    int param[DF_MAX_NODE_PARAMS]; /* indices into g->tensors */
    df_attr a;
    float *out;  /* (shape) */
    float *dout; /* (shape), NULL when !requires_grad */
    size_t saved_bytes, scratch_bytes; /* asked for by the builder */
    void *saved;                       /* kept from forward to backward */
};

struct df_graph {
    df_node *nodes;
    int n_nodes, cap_nodes;
    df_tensor_info *tensors;
    int n_tensors, cap_tensors;

    float *params, *grads; /* n_param_floats each, one block */
    size_t n_param_floats;
    float *buffers;
    size_t n_buffer_floats;

    unsigned char *arena;
    size_t arena_bytes;
    void *scratch;
    size_t scratch_bytes;

    int max_batch, batch;
    int training;        /* batch norm uses batch statistics, dropout is active */
    int loss;            /* node index of the loss, -1 for an inference graph */
    uint64_t seed;
    uint64_t dropout_step; /* advances once per training forward; part of the exact-resume state */
    /* Data-parallel training, where this process holds a slice of a batch that several ranks share: in
     * training mode batch norm takes its statistics over the whole batch of `dist`'s ranks (NULL: this
     * process's samples only; layers reach the other ranks through dist.h and never MPI itself), and
     * sample_offset is the place of this slice's first sample in the whole batch, so that what a sample
     * draws (dropout) does not depend on the number of ranks. */
    const struct df_dist *dist; /* core/dist/dist.h, which builds on core: named, not included */
    int sample_offset;
    int compiled;
    int failed;
    df_error err;
};

df_graph *df_graph_new(int max_batch);
void df_graph_free(df_graph *g);

/* Sticky build error: the first message wins, later builders return -1 without overwriting it. */
int df_graph_fail(df_graph *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Validates that input ids are real nodes of this graph; returns 0, or -1 with the error set. */
int df_graph_check_inputs(df_graph *g, const char *name, const int *in, int n_in);
/* For builders of one-input layers: x is a node of this graph whose shape has the rank the op takes (2:
 * (batch, features); 4: (batch, height, width, channels)). Returns 0, or -1 with the error set naming the
 * layer, the op and the shape it got from which node. */
int df_graph_check_input_rank(df_graph *g, const char *name, const char *op, int x, int rank);

/* Used by builders: appends a node (name must be unique) and returns it, or NULL if the graph failed. */
df_node *df_graph_add_node(df_graph *g, const df_op *op, const char *name, const int *in, int n_in,
                           df_shape out_shape);
/* Declares a parameter or buffer "<node name>.<suffix>" of the given shape (no batch dimension). */
int df_node_add_tensor(df_graph *g, df_node *n, const char *suffix, df_shape shape, df_tensor_kind kind,
                       df_init init, float init_scale, int decay);

/* A graph input of per-sample shape `sample` (the batch dimension is added). requires_grad is for tests. */
int df_input(df_graph *g, const char *name, df_shape sample, int requires_grad);

/* What df_graph_compile allocates, in bytes, known as soon as the graph is built: the arena (activations,
 * their gradients, what ops save for backward), the parameter block (the gradient block is as large), the
 * buffer block and the shared scratch area. Callers check it against the memory there is before compiling,
 * with the loss node they will compile with (it decides which gradients share memory). */
typedef struct {
    size_t arena, params, buffers, scratch;
} df_graph_memory;
df_graph_memory df_graph_memory_plan(const df_graph *g, int loss);

/* Keeps node's gradient whole for the entire backward, so it can be read afterwards (Grad-CAM reads its
 * feature maps'); call before compiling. Graph inputs' gradients are always kept. */
void df_graph_keep_grad(df_graph *g, int node);

/* Plans memory and initialises parameters from `seed`. loss is the node backward starts from (-1: none).
 * Returns 0, or -1 with err set (also when a builder failed earlier). */
int df_graph_compile(df_graph *g, int loss, uint64_t seed, df_error *err);
/* Re-draws every parameter and resets every buffer to its initial value. */
void df_graph_init_params(df_graph *g, uint64_t seed);

void df_graph_set_batch(df_graph *g, int batch);
void df_graph_set_training(df_graph *g, int training);
void df_graph_forward(df_graph *g);
/* Backward from the loss node: a scalar loss is seeded with d loss = 1; for a non-scalar output node the
 * caller fills its dout first (gradient checks do). Parameter gradients are added into g->grads. */
void df_graph_backward(df_graph *g);
/* Backward from an earlier node on the loss path (e.g. the logits, for Grad-CAM): the caller fills that
 * node's dout; only the nodes before it run. Parameter gradients are added into g->grads as usual. */
void df_graph_backward_from(df_graph *g, int node);
void df_graph_zero_grads(df_graph *g);

static inline df_node *df_node_at(df_graph *g, int id) { return &g->nodes[id]; }
static inline df_node *df_node_input(df_graph *g, const df_node *n, int i) { return &g->nodes[n->in[i]]; }
static inline float *df_node_param(df_graph *g, const df_node *n, int k) {
    const df_tensor_info *t = &g->tensors[n->param[k]];
    return (t->kind == DF_PARAM ? g->params : g->buffers) + t->offset;
}
/* Gradient of the node's k-th tensor; NULL for buffers. */
static inline float *df_node_param_grad(df_graph *g, const df_node *n, int k) {
    const df_tensor_info *t = &g->tensors[n->param[k]];
    return t->kind == DF_PARAM ? g->grads + t->offset : NULL;
}
/* The graph's data pointer for a node (inputs are filled through it) and its gradient. */
static inline float *df_graph_out(df_graph *g, int id) { return g->nodes[id].out; }
static inline float *df_graph_dout(df_graph *g, int id) { return g->nodes[id].dout; }
/* Index of the named parameter or buffer, or -1. */
int df_graph_find_tensor(const df_graph *g, const char *name);
/* Index of the named node, or -1. */
int df_graph_find_node(const df_graph *g, const char *name);

/* Stores v into *dst, or adds it, by the node's grad_accum flag for that input. */
static inline void df_grad_put(float *dst, float v, int accumulate) { *dst = accumulate ? *dst + v : v; }

/* Prints one line per node: name, op, output shape, parameters, forward MFLOPs per sample; and totals. */
void df_graph_summary(const df_graph *g, FILE *f);
size_t df_graph_param_count(const df_graph *g);
double df_graph_flops(const df_graph *g);

#endif
