/* loss.c: classification losses, mean over the batch, producing a scalar node.
 *   softmax cross-entropy: L = sum_i sum_k c_ik (-log softmax(z_i)_k) / sum_i w_{y_i},
 *       c_ik = (1 - eps) w_{y_i} [k = y_i] + (eps / K) w_k      (PyTorch's weighted, label-smoothed form)
 *   binary cross-entropy with logits: L = sum_i w_{y_i} (max(z,0) - z t + log(1 + exp(-|z|))) / sum_i w_{y_i},
 *       t = y_i (1 - eps) + eps / 2
 * Targets are class indices stored as floats (exact below 2^24). A target outside the classes is a bug in
 * the data pipeline, which validates labels on load, so it aborts here. */
#include <math.h>
#include <string.h>

#include "layers/layers.h"

static float class_weight(const df_node *n, int k) { return n->a.loss.weighted ? n->a.loss.class_weight[k] : 1.0f; }

static int target_class(const df_node *n, float t) {
    int y = (int)t;
    if ((float)y != t || y < 0 || y >= n->a.loss.n_classes)
        df_abort_at(__FILE__, __LINE__, "layer '%s': target %g is not a class index below %d", n->name, t,
                    n->a.loss.n_classes);
    return y;
}

/* Per sample: the loss numerator and, if grad != NULL, its gradient wrt the logits (not yet divided by the
 * weight sum). Returns w_{y_i}. */
static double softmax_ce_sample(const df_node *n, const float *z, int y, double *loss, float *grad) {
    int K = n->a.loss.n_classes;
    float eps = n->a.loss.smoothing;
    float zmax = z[0];
    for (int k = 1; k < K; k++) zmax = z[k] > zmax ? z[k] : zmax;
    double sum = 0.0;
    for (int k = 0; k < K; k++) sum += exp((double)(z[k] - zmax));
    double logsum = log(sum) + zmax, wy = class_weight(n, y), ctotal = 0.0, l = 0.0;
    for (int k = 0; k < K; k++) {
        double c = (eps / K) * class_weight(n, k) + (k == y ? (1.0 - eps) * wy : 0.0);
        ctotal += c;
        l += c * (logsum - z[k]);
    }
    if (grad)
        for (int k = 0; k < K; k++) {
            double c = (eps / K) * class_weight(n, k) + (k == y ? (1.0 - eps) * wy : 0.0);
            grad[k] = (float)(ctotal * exp(z[k] - logsum) - c);
        }
    *loss = l;
    return wy;
}

static void softmax_ce_forward(df_graph *g, df_node *n) {
    const float *z = df_node_input(g, n, 0)->out, *t = df_node_input(g, n, 1)->out;
    int K = n->a.loss.n_classes;
    double total = 0.0, wsum = 0.0;
    for (int i = 0; i < g->batch; i++) {
        double l;
        wsum += softmax_ce_sample(n, z + (size_t)i * K, target_class(n, t[i]), &l, NULL);
        total += l;
    }
    n->out[0] = (float)(total / wsum);
}

static void softmax_ce_backward(df_graph *g, df_node *n) {
    df_node *zn = df_node_input(g, n, 0);
    if (!zn->dout) return;
    const float *t = df_node_input(g, n, 1)->out;
    int K = n->a.loss.n_classes;
    double wsum = 0.0;
    for (int i = 0; i < g->batch; i++) wsum += class_weight(n, target_class(n, t[i]));
    float scale = (float)(n->dout[0] / wsum), grad[DF_MAX_CLASSES];
    for (int i = 0; i < g->batch; i++) {
        double l;
        softmax_ce_sample(n, zn->out + (size_t)i * K, target_class(n, t[i]), &l, grad);
        for (int k = 0; k < K; k++) df_grad_put(&zn->dout[(size_t)i * K + k], scale * grad[k], n->grad_accum[0]);
    }
}

static double loss_flops(const df_graph *g, const df_node *n) {
    return 5.0 * (double)df_shape_per_sample(g->nodes[n->in[0]].shape);
}

static const df_op softmax_ce_op = {"softmax_ce", softmax_ce_forward, softmax_ce_backward, loss_flops, 0};

static void bce_forward(df_graph *g, df_node *n) {
    const float *z = df_node_input(g, n, 0)->out, *t = df_node_input(g, n, 1)->out;
    float eps = n->a.loss.smoothing;
    double total = 0.0, wsum = 0.0;
    for (int i = 0; i < g->batch; i++) {
        int y = target_class(n, t[i]);
        double w = class_weight(n, y), tt = y * (1.0 - eps) + 0.5 * eps, zi = z[i];
        total += w * (fmax(zi, 0.0) - zi * tt + log1p(exp(-fabs(zi))));
        wsum += w;
    }
    n->out[0] = (float)(total / wsum);
}

static void bce_backward(df_graph *g, df_node *n) {
    df_node *zn = df_node_input(g, n, 0);
    if (!zn->dout) return;
    const float *z = zn->out, *t = df_node_input(g, n, 1)->out;
    float eps = n->a.loss.smoothing;
    double wsum = 0.0;
    for (int i = 0; i < g->batch; i++) wsum += class_weight(n, target_class(n, t[i]));
    for (int i = 0; i < g->batch; i++) {
        int y = target_class(n, t[i]);
        double tt = y * (1.0 - eps) + 0.5 * eps, sig = 1.0 / (1.0 + exp(-(double)z[i]));
        df_grad_put(&zn->dout[i], (float)(n->dout[0] * class_weight(n, y) * (sig - tt) / wsum), n->grad_accum[0]);
    }
}

static const df_op bce_op = {"bce_logits", bce_forward, bce_backward, loss_flops, 0};

static int add_loss(df_graph *g, const df_op *op, const char *name, int logits, int target, int n_classes,
                    const float *class_weights, float eps) {
    int in[2] = {logits, target};
    if (df_graph_check_inputs(g, name, in, 2)) return -1;
    df_shape zs = g->nodes[logits].shape, ts = g->nodes[target].shape;
    int width = op == &bce_op ? 1 : n_classes;
    char a[64], b[64];
    if (zs.rank != 2 || zs.d[1] != width || ts.rank != 1)
        return df_graph_fail(g, "layer '%s' (%s): needs logits (batch, %d) and targets (batch); got %s from "
                             "'%s' and %s from '%s'", name, op->name, width, df_shape_str(zs, a, sizeof a),
                             g->nodes[logits].name, df_shape_str(ts, b, sizeof b), g->nodes[target].name);
    if (n_classes < 2 || n_classes > DF_MAX_CLASSES)
        return df_graph_fail(g, "layer '%s' (%s): %d classes, need 2 to %d", name, op->name, n_classes,
                             DF_MAX_CLASSES);
    if (!(eps >= 0.0f && eps < 1.0f))
        return df_graph_fail(g, "layer '%s' (%s): label smoothing must be in [0, 1), got %g", name, op->name, eps);
    for (int k = 0; class_weights && k < n_classes; k++)
        if (!(class_weights[k] > 0.0f) || !isfinite(class_weights[k]))
            return df_graph_fail(g, "layer '%s' (%s): class weight %d is %g, must be positive", name, op->name,
                                 k, class_weights[k]);
    df_node *n = df_graph_add_node(g, op, name, in, 2, df_shape1(1));
    if (!n) return -1;
    n->a.loss.n_classes = n_classes;
    n->a.loss.smoothing = eps;
    n->a.loss.weighted = class_weights != NULL;
    if (class_weights) memcpy(n->a.loss.class_weight, class_weights, sizeof(float) * (size_t)n_classes);
    return n->index;
}

int df_softmax_cross_entropy(df_graph *g, const char *name, int logits, int target, int n_classes,
                             const float *class_weights, float label_smoothing) {
    return add_loss(g, &softmax_ce_op, name, logits, target, n_classes, class_weights, label_smoothing);
}

int df_bce_with_logits(df_graph *g, const char *name, int logits, int target, const float *class_weights,
                       float label_smoothing) {
    return add_loss(g, &bce_op, name, logits, target, 2, class_weights, label_smoothing);
}
