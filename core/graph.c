/* graph.c: building, planning and running the compute graph (see graph.h). */
#include "core/graph.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/graph_plan.h"
#include "core/rng.h"

df_graph *df_graph_new(int max_batch) {
    DF_ASSERT(max_batch > 0);
    df_graph *g = df_calloc(1, sizeof *g);
    g->max_batch = max_batch;
    g->batch = max_batch;
    g->loss = -1;
    return g;
}

void df_graph_free(df_graph *g) {
    if (!g) return;
    void *owned[] = {g->nodes, g->tensors, g->params, g->grads, g->buffers, g->arena, g->scratch, g};
    for (size_t i = 0; i < sizeof owned / sizeof *owned; i++) free(owned[i]);
}

int df_graph_fail(df_graph *g, const char *fmt, ...) {
    if (g->failed) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->err.msg, sizeof g->err.msg, fmt, ap);
    va_end(ap);
    g->failed = 1;
    return -1;
}

int df_graph_check_inputs(df_graph *g, const char *name, const int *in, int n_in) {
    if (g->failed) return -1;
    for (int i = 0; i < n_in; i++)
        if (in[i] < 0 || in[i] >= g->n_nodes)
            return df_graph_fail(g, "layer '%s': input %d is not a node of this graph (id %d)", name, i,
                                 in[i]);
    return 0;
}

int df_graph_check_input_rank(df_graph *g, const char *name, const char *op, int x, int rank) {
    if (df_graph_check_inputs(g, name, &x, 1)) return -1;
    df_shape xs = g->nodes[x].shape;
    if (xs.rank == rank) return 0;
    char s[64];
    return df_graph_fail(g, "layer '%s' (%s): expects input %s, got %s from '%s'", name, op,
                         rank == 2 ? "(batch, features)" : "(batch, height, width, channels)",
                         df_shape_str(xs, s, sizeof s), g->nodes[x].name);
}

int df_graph_find_node(const df_graph *g, const char *name) {
    for (int i = 0; i < g->n_nodes; i++)
        if (strcmp(g->nodes[i].name, name) == 0) return i;
    return -1;
}

int df_graph_find_tensor(const df_graph *g, const char *name) {
    for (int i = 0; i < g->n_tensors; i++)
        if (strcmp(g->tensors[i].name, name) == 0) return i;
    return -1;
}

df_node *df_graph_add_node(df_graph *g, const df_op *op, const char *name, const int *in, int n_in,
                           df_shape out_shape) {
    DF_ASSERT(n_in <= DF_MAX_INPUTS);
    if (df_graph_check_inputs(g, name, in, n_in)) return NULL;
    if (g->compiled) {
        df_graph_fail(g, "layer '%s': the graph is already compiled", name);
        return NULL;
    }
    if (strlen(name) == 0 || strlen(name) >= DF_NAME_MAX) {
        df_graph_fail(g, "layer name '%s' must be 1 to %d characters", name, DF_NAME_MAX - 1);
        return NULL;
    }
    if (df_graph_find_node(g, name) >= 0) {
        df_graph_fail(g, "layer name '%s' is used twice", name);
        return NULL;
    }
    for (int i = 0; i < out_shape.rank; i++)
        if (out_shape.d[i] <= 0) {
            char s[64];
            df_graph_fail(g, "layer '%s' (%s): output shape %s has an empty dimension", name, op->name,
                          df_shape_str(out_shape, s, sizeof s));
            return NULL;
        }
    if (g->n_nodes == g->cap_nodes) {
        g->cap_nodes = g->cap_nodes ? 2 * g->cap_nodes : 32;
        g->nodes = df_realloc(g->nodes, (size_t)g->cap_nodes * sizeof *g->nodes);
    }
    df_node *n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof *n);
    n->op = op;
    snprintf(n->name, sizeof n->name, "%s", name);
    n->index = g->n_nodes++;
    n->n_in = n_in;
    for (int i = 0; i < n_in; i++) {
        n->in[i] = in[i];
        if (g->nodes[in[i]].requires_grad) n->requires_grad = 1;
    }
    n->shape = out_shape;
    return n;
}

int df_node_add_tensor(df_graph *g, df_node *n, const char *suffix, df_shape shape, df_tensor_kind kind,
                       df_init init, float init_scale, int decay) {
    DF_ASSERT(n->n_params < DF_MAX_NODE_PARAMS);
    if (g->n_tensors == g->cap_tensors) {
        g->cap_tensors = g->cap_tensors ? 2 * g->cap_tensors : 32;
        g->tensors = df_realloc(g->tensors, (size_t)g->cap_tensors * sizeof *g->tensors);
    }
    df_tensor_info *t = &g->tensors[g->n_tensors];
    memset(t, 0, sizeof *t);
    int len = snprintf(t->name, sizeof t->name, "%s.%s", n->name, suffix);
    if (len >= (int)sizeof t->name)
        return df_graph_fail(g, "layer '%s': tensor name '%s.%s' is too long", n->name, n->name, suffix);
    t->shape = shape;
    t->kind = kind;
    t->numel = 1;
    for (int i = 0; i < shape.rank; i++) t->numel *= (size_t)shape.d[i];
    /* Each parameter starts on a 16-float (64-byte) boundary so kernels may use aligned vector loads. */
    size_t *total = kind == DF_PARAM ? &g->n_param_floats : &g->n_buffer_floats;
    t->offset = *total;
    *total += (t->numel + 15) / 16 * 16;
    t->decay = decay;
    t->init = init;
    t->init_scale = init_scale;
    n->param[n->n_params++] = g->n_tensors++;
    if (kind == DF_PARAM) n->requires_grad = 1;
    return 0;
}

static void input_forward(df_graph *g, df_node *n) { (void)g, (void)n; }
static void input_backward(df_graph *g, df_node *n) { (void)g, (void)n; }
static double input_flops(const df_graph *g, const df_node *n) { return (void)g, (void)n, 0.0; }
static const df_op input_op = {"input", input_forward, input_backward, input_flops, 0};

int df_input(df_graph *g, const char *name, df_shape sample, int requires_grad) {
    if (g->failed) return -1;
    if (sample.rank + 1 > DF_MAX_RANK)
        return df_graph_fail(g, "input '%s': rank %d is more than %d", name, sample.rank, DF_MAX_RANK - 1);
    df_shape s = {sample.rank + 1, {g->max_batch, 0, 0, 0}};
    for (int i = 0; i < sample.rank; i++) s.d[i + 1] = sample.d[i];
    df_node *n = df_graph_add_node(g, &input_op, name, NULL, 0, s);
    if (!n) return -1;
    n->requires_grad = requires_grad;
    return n->index;
}

static uint64_t name_hash(const char *s) {
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

void df_graph_init_params(df_graph *g, uint64_t seed) {
    uint64_t key = df_rng_key(seed, DF_STREAM_INIT);
    for (int i = 0; i < g->n_tensors; i++) {
        const df_tensor_info *t = &g->tensors[i];
        float *p = (t->kind == DF_PARAM ? g->params : g->buffers) + t->offset;
        /* Keyed by name, so adding a layer elsewhere does not change this tensor's initial values. */
        df_rng r = {df_rng_subkey(key, name_hash(t->name)), 0};
        for (size_t j = 0; j < t->numel; j++) {
            switch (t->init) {
            case DF_INIT_ZERO: p[j] = 0.0f; break;
            case DF_INIT_ONE: p[j] = 1.0f; break;
            case DF_INIT_NORMAL: p[j] = t->init_scale * df_rng_normal(&r); break;
            case DF_INIT_UNIFORM: p[j] = t->init_scale * (2.0f * df_rng_uniform(&r) - 1.0f); break;
            }
        }
    }
}

/* The shared scratch area: as large as the largest any op asks for. */
static size_t scratch_plan(const df_graph *g) {
    size_t most = 0;
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].scratch_bytes > most) most = g->nodes[i].scratch_bytes;
    return most;
}

df_graph_memory df_graph_memory_plan(const df_graph *g, int loss) {
    df_graph_memory m = {df_graph_plan_arena(g, loss, NULL), g->n_param_floats * sizeof(float),
                         g->n_buffer_floats * sizeof(float), scratch_plan(g)};
    return m;
}

void df_graph_keep_grad(df_graph *g, int node) {
    DF_ASSERT(!g->compiled && node >= 0 && node < g->n_nodes);
    g->nodes[node].keep_grad = 1;
}

int df_graph_compile(df_graph *g, int loss, uint64_t seed, df_error *err) {
    if (g->failed) return df_fail(err, "%s", g->err.msg);
    if (g->compiled) return df_fail(err, "graph compiled twice");
    if (loss >= g->n_nodes) return df_fail(err, "loss node %d is not in the graph", loss);
    g->loss = loss;
    g->seed = seed;

    /* Which nodes the loss depends on (only their backward runs), and who writes each gradient first: that
     * consumer stores it (at its first use of the input), every other write adds. */
    int *reached = df_calloc((size_t)g->n_nodes + 1, sizeof *reached);
    int *first_writer = df_calloc((size_t)g->n_nodes + 1, sizeof *first_writer);
    df_graph_loss_path(g, loss, reached, first_writer);
    for (int i = 0; i < g->n_nodes; i++) {
        df_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_in; k++) {
            int j = n->in[k], used_before = 0;
            for (int e = 0; e < k; e++) used_before |= n->in[e] == j;
            n->grad_accum[k] = first_writer[j] != i || used_before;
        }
    }
    df_node_place *place = df_calloc((size_t)g->n_nodes + 1, sizeof *place);
    g->arena_bytes = df_graph_plan_arena(g, loss, place);
    g->arena = df_aligned_alloc(g->arena_bytes);
    g->scratch_bytes = scratch_plan(g);
    g->scratch = df_aligned_alloc(g->scratch_bytes);
    unsigned char *arena = g->arena;
    for (int i = 0; i < g->n_nodes; i++) {
        df_node *n = &g->nodes[i];
        n->out = (float *)(arena + place[i].out);
        n->dout = place[i].dout == DF_NO_PLACE ? NULL : (float *)(arena + place[i].dout);
        n->saved = n->saved_bytes ? arena + place[i].saved : NULL;
        n->on_loss_path = reached[i] && n->requires_grad;
    }
    free(place);
    free(first_writer);
    g->params = df_aligned_alloc(g->n_param_floats * sizeof(float));
    g->grads = df_aligned_alloc(g->n_param_floats * sizeof(float));
    g->buffers = df_aligned_alloc(g->n_buffer_floats * sizeof(float));
    free(reached);
    g->compiled = 1;
    df_graph_init_params(g, seed);
    return 0;
}

void df_graph_set_batch(df_graph *g, int batch) {
    DF_ASSERT(batch >= 0 && batch <= g->max_batch);
    g->batch = batch;
}

void df_graph_set_training(df_graph *g, int training) { g->training = training; }

void df_graph_forward(df_graph *g) {
    DF_ASSERT(g->compiled);
    for (int i = 0; i < g->n_nodes; i++)
        if (g->batch > 0 || g->nodes[i].op->with_empty_batch) g->nodes[i].op->forward(g, &g->nodes[i]);
    if (g->training) g->dropout_step++;
}

void df_graph_zero_grads(df_graph *g) { memset(g->grads, 0, g->n_param_floats * sizeof(float)); }

void df_graph_backward(df_graph *g) {
    DF_ASSERT(g->compiled && g->loss >= 0);
    df_node *top = &g->nodes[g->loss];
    if (!top->dout) return; /* the output does not depend on anything trainable */
    if (df_shape_numel(top->shape) == 1) top->dout[0] = 1.0f;
    df_graph_backward_from(g, g->loss);
}

void df_graph_backward_from(df_graph *g, int node) {
    DF_ASSERT(g->compiled && node >= 0 && node <= g->loss && g->nodes[node].on_loss_path);
    /* The first-writer flags were computed from the loss; they hold here when every gradient path from an
     * earlier node to the loss runs through `node`, i.e. no later node on the path reads an earlier one. */
    for (int j = node + 1; j <= g->loss; j++)
        for (int k = 0; g->nodes[j].on_loss_path && k < g->nodes[j].n_in; k++)
            DF_ASSERT(g->nodes[j].in[k] >= node || !g->nodes[g->nodes[j].in[k]].requires_grad);
    for (int i = node; i >= 0; i--) {
        df_node *n = &g->nodes[i];
        if (n->on_loss_path && (g->batch > 0 || n->op->with_empty_batch)) n->op->backward(g, n);
    }
}
