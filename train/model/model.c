/* model.c: builds the fusion models of model.h from layers. */
#include "train/model/model.h"

#include "core/memory.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layers/fused.h"
#include "layers/layers.h"
#include "train/model/fusion_blocks.h"

const char *const df_fusion_names[] = {"image", "meta", "early", "intermediate", "gated", "film",
                                          "cross_attention", "late", NULL};
const char *const df_backbone_names[] = {"vgg", "resnet", NULL};
const char *const df_head_names[] = {"softmax", "sigmoid", NULL};
const char *const df_stage_pool_names[] = {"max", "avg", "none", NULL};
const char *const df_init_scheme_names[] = {"he", "pytorch", NULL};

const char *df_fusion_name(df_fusion f) { return df_fusion_names[f]; }

int df_stage_pool_parse(const char *name) {
    for (int k = 0; df_stage_pool_names[k]; k++)
        if (!strcmp(df_stage_pool_names[k], name)) return k;
    return -1;
}

df_model_spec df_model_spec_default(df_fusion fusion, int n_classes, int image_size, int meta_dim) {
    df_model_spec s = {0};
    s.fusion = fusion;
    s.n_classes = n_classes;
    s.image_size = image_size;
    s.n_views = 1;
    s.in_channels = 3;
    s.meta_dim = meta_dim;
    s.backbone = DF_BACKBONE_VGG;
    s.n_stages = 4;
    for (int i = 0; i < 4; i++) {
        s.widths[i] = 32 << i;
        s.depth[i] = 1;
    }
    s.stem_width = 64;
    s.stem_stride = 2;
    s.n_meta_hidden = 2;
    s.meta_hidden[0] = 64;
    s.meta_hidden[1] = 32;
    s.dropout = 0.0f;
    s.attention_heads = 1;
    s.attention_dim = 64;
    s.attention_tokens = 4;
    s.bn_momentum = 0.1f;
    s.bn_eps = 1e-5f;
    return s;
}

/* Layer names are built in NAME_BUF-sized buffers so no join truncates; a name too long for the graph is
 * refused there, with the name in the message. */
#define NAME_BUF (2 * DF_NAME_MAX)

static char *join(char *buf, const char *prefix, const char *suffix) {
    size_t a = strnlen(prefix, DF_NAME_MAX), b = strnlen(suffix, DF_NAME_MAX);
    memcpy(buf, prefix, a);
    buf[a] = '.';
    memcpy(buf + a + 1, suffix, b);
    buf[a + 1 + b] = '\0';
    return buf;
}

static char *path(char *buf, const char *prefix, const char *fmt, int a, int b) {
    char tail[64];
    snprintf(tail, sizeof tail, fmt, a, b);
    return join(buf, prefix, tail);
}

/* What follows a convolution's batch norm in the same node (layers/fused.h). */
typedef enum { NORM, NORM_RELU, NORM_RELU_POOL } norm_tail;

/* conv -> batchnorm (-> relu (-> 2x2 max pooling)), named <p>.conv, <p>.bn. Convolutions before batch norm
 * carry no bias: the norm's shift makes it redundant. Whatever follows the norm runs in the norm's node. */
static int conv_bn_relu(df_graph *g, const df_model_spec *s, const char *p, int x, int ch, int k, int stride,
                        norm_tail tail) {
    char n[NAME_BUF];
    x = df_conv2d(g, join(n, p, "conv"), x, ch, k, stride, k / 2, 0);
    join(n, p, "bn");
    switch (tail) {
    case NORM_RELU: return df_batchnorm_relu(g, n, x, s->bn_eps, s->bn_momentum);
    case NORM_RELU_POOL: return df_batchnorm_relu_maxpool(g, n, x, s->bn_eps, s->bn_momentum);
    case NORM: break;
    }
    return df_batchnorm(g, n, x, s->bn_eps, s->bn_momentum);
}

/* After each backbone stage: FiLM by the metadata features film_meta where the model has them (>= 0). */
static int stage_end(df_graph *g, const char *prefix, int stage, int x, int film_meta) {
    return film_meta >= 0 ? df_film_stage(g, prefix, stage, x, film_meta) : x;
}

/* A VGG stage: (conv -> batchnorm+ReLU) x depth, then its pooling. A max-pool runs inside the last batch
 * norm's node (df_batchnorm_relu_maxpool) so the full-size normalised map is never stored; an average pool
 * is a node of its own, "<stage>.pool". */
static int vgg_backbone(df_graph *g, const df_model_spec *s, const char *prefix, int x, int film_meta) {
    char p[NAME_BUF];
    for (int st = 0; st < s->n_stages; st++) {
        for (int i = 0; i < s->depth[st]; i++) {
            int last = i == s->depth[st] - 1;
            x = conv_bn_relu(g, s, path(p, prefix, s->depth[st] > 1 ? "stage%d.conv%d" : "stage%d", st + 1, i + 1),
                             x, s->widths[st], 3, 1, last && s->pool[st] == DF_POOL_MAX ? NORM_RELU_POOL : NORM_RELU);
        }
        if (s->pool[st] == DF_POOL_AVG) x = df_avgpool(g, path(p, prefix, "stage%d.pool", st + 1, 0), x, 2, 2, 0);
        x = stage_end(g, prefix, st + 1, x, film_meta);
    }
    return x;
}

/* ResNet basic block: two 3x3 conv-BN, a projection shortcut (1x1 conv-BN) when the shape changes. The second
 * batch norm, the residual add and the ReLU are one node, <p>.b.bn (df_batchnorm_add_relu), so the block's
 * sum is never stored apart; the parameters keep the names of the unfused block. */
static int basic_block(df_graph *g, const df_model_spec *s, const char *p, int x, int ch, int stride) {
    char n[NAME_BUF];
    int in_ch = g->failed ? ch : g->nodes[x].shape.d[3];
    int y = conv_bn_relu(g, s, join(n, p, "a"), x, ch, 3, stride, NORM_RELU);
    y = df_conv2d(g, join(n, p, "b.conv"), y, ch, 3, 1, 1, 0);
    int shortcut = x;
    if (stride != 1 || in_ch != ch) shortcut = conv_bn_relu(g, s, join(n, p, "down"), x, ch, 1, stride, NORM);
    return df_batchnorm_add_relu(g, join(n, p, "b.bn"), y, shortcut, s->bn_eps, s->bn_momentum);
}

static int resnet_backbone(df_graph *g, const df_model_spec *s, const char *prefix, int x, int film_meta) {
    char p[NAME_BUF];
    if (s->stem_stride == 2) {
        x = conv_bn_relu(g, s, path(p, prefix, "stem", 0, 0), x, s->stem_width, 7, 2, NORM_RELU);
        x = df_maxpool(g, path(p, prefix, "stem.pool", 0, 0), x, 3, 2, 1);
    } else {
        x = conv_bn_relu(g, s, path(p, prefix, "stem", 0, 0), x, s->stem_width, 3, 1, NORM_RELU);
    }
    for (int st = 0; st < s->n_stages; st++) {
        for (int b = 0; b < s->depth[st]; b++)
            x = basic_block(g, s, path(p, prefix, "stage%d.block%d", st + 1, b + 1), x, s->widths[st],
                            b == 0 && st > 0 ? 2 : 1);
        x = stage_end(g, prefix, st + 1, x, film_meta);
    }
    return x;
}

static int backbone(df_graph *g, const df_model_spec *s, const char *prefix, int x, int film_meta) {
    return s->backbone == DF_BACKBONE_VGG ? vgg_backbone(g, s, prefix, x, film_meta)
                                          : resnet_backbone(g, s, prefix, x, film_meta);
}

static int meta_mlp(df_graph *g, const df_model_spec *s, int x) {
    char p[NAME_BUF];
    for (int i = 0; i < s->n_meta_hidden; i++) {
        x = df_linear(g, path(p, "meta", "fc%d", i + 1, 0), x, s->meta_hidden[i], 1);
        x = df_relu(g, path(p, "meta", "relu%d", i + 1, 0), x);
    }
    return x;
}

/* PyTorch's default draws for every convolution and linear layer: U(+-1/sqrt(fan_in)) for the weight and, where
 * there is one, the bias. fan_in is the weight's size over its output count (k*k*C or in_features). */
static void use_pytorch_init(df_graph *g) {
    for (int i = 0; i < g->n_nodes; i++) {
        const df_node *n = &g->nodes[i];
        if (strcmp(n->op->name, "conv2d") && strcmp(n->op->name, "linear")) continue;
        df_tensor_info *w = &g->tensors[n->param[0]];
        float bound = 1.0f / sqrtf((float)(w->numel / (size_t)w->shape.d[0]));
        for (int k = 0; k < n->n_params; k++) {
            g->tensors[n->param[k]].init = DF_INIT_UNIFORM;
            g->tensors[n->param[k]].init_scale = bound;
        }
    }
}

static int check_attention(const df_model_spec *s, df_error *err) {
    if (s->attention_heads < 1 || s->attention_heads > 2)
        return df_fail(err, "model: attention_heads is %d; cross_attention takes 1 or 2 heads", s->attention_heads);
    if (s->attention_dim < 1 || s->attention_dim > 4096 || s->attention_dim % s->attention_heads)
        return df_fail(err, "model: attention_dim is %d; need 1 to 4096, a multiple of attention_heads (%d) so each "
                       "head gets an equal share", s->attention_dim, s->attention_heads);
    if (s->attention_tokens < 1 || s->attention_tokens > 64)
        return df_fail(err, "model: attention_tokens is %d; need 1 to 64", s->attention_tokens);
    if ((long)s->attention_tokens * s->attention_dim > 65536)
        return df_fail(err, "model: attention_tokens x attention_dim is %ld; at most 65536 values of tokens",
                       (long)s->attention_tokens * s->attention_dim);
    return 0;
}

static int check_spec(const df_model_spec *s, df_error *err) {
    if (s->fusion < DF_FUSION_IMAGE || s->fusion >= DF_FUSION_LATE)
        return df_fail(err, "model: late fusion is two models (train/late), not one graph");
    if (s->n_classes < 2 || s->n_classes > DF_MAX_CLASSES)
        return df_fail(err, "model: %d classes, need 2 to %d", s->n_classes, DF_MAX_CLASSES);
    if (s->binary_sigmoid && s->n_classes != 2)
        return df_fail(err, "model: a sigmoid head needs 2 classes, got %d", s->n_classes);
    int uses_meta = s->fusion != DF_FUSION_IMAGE, uses_image = s->fusion != DF_FUSION_META;
    if (uses_meta && s->meta_dim < 1)
        return df_fail(err, "model: fusion '%s' needs metadata features, but none are configured",
                       df_fusion_name(s->fusion));
    if (uses_image && (s->image_size < 8 || s->image_size > 4096))
        return df_fail(err, "model: image size %d, need 8 to 4096", s->image_size);
    if (uses_image && s->in_channels != 1 && s->in_channels != 3)
        return df_fail(err, "model: %d input channels, need 1 (gray) or 3 (RGB)", s->in_channels);
    if (uses_image && (s->n_views < 1 || s->n_views > 2))
        return df_fail(err, "model: %d image views, need 1 or 2", s->n_views);
    if (uses_image && (s->n_stages < 1 || s->n_stages > DF_MAX_STAGES))
        return df_fail(err, "model: %d backbone stages, need 1 to %d", s->n_stages, DF_MAX_STAGES);
    if (s->fusion == DF_FUSION_META && s->n_meta_hidden < 1)
        return df_fail(err, "model: a metadata-only model needs at least one hidden layer");
    if (s->fusion != DF_FUSION_IMAGE && s->fusion != DF_FUSION_META && s->fusion != DF_FUSION_EARLY &&
        s->n_meta_hidden < 1)
        return df_fail(err, "model: fusion '%s' needs at least one metadata hidden layer", df_fusion_name(s->fusion));
    if (s->fusion == DF_FUSION_CROSS_ATTENTION) return check_attention(s, err);
    return 0;
}

static int check_memory(const df_model_spec *s, const df_graph *g, int loss, df_error *err) {
    if (!s->memory_limit) return 0;
    df_graph_memory p = df_graph_memory_plan(g, loss);
    size_t params = p.params * (size_t)(2 + s->extra_param_copies) + p.buffers;
    size_t total = p.arena + p.scratch + params + s->reserved_bytes;
    if (total <= s->memory_limit) return 0;
    char t[32], a[32], w[32], sc[32], r[32], lim[32];
    df_memory_format(total, t, sizeof t), df_memory_format(p.arena, a, sizeof a);
    df_memory_format(params, w, sizeof w), df_memory_format(p.scratch, sc, sizeof sc);
    df_memory_format(s->reserved_bytes, r, sizeof r), df_memory_format(s->memory_limit, lim, sizeof lim);
    return df_fail(err, "needs %s of memory for batches of %d at %dx%d pixels, more than the %s there is: activations, "
                   "their gradients and saved values %s, parameters with gradients and optimizer moments %s, "
                   "scratch %s, data loaders %s", t, g->max_batch, s->image_size, s->image_size, lim, a, w, sc, r);
}

df_model *df_model_build(const df_model_spec *spec, int max_batch, uint64_t seed, df_error *err) {
    if (check_spec(spec, err)) return NULL;
    df_model *m = df_calloc(1, sizeof *m);
    m->spec = *spec;
    const df_model_spec *s = &m->spec;
    df_graph *g = m->g = df_graph_new(max_batch);
    m->image[0] = m->image[1] = m->meta = m->last_maps[0] = m->last_maps[1] = -1;

    int uses_meta = s->fusion != DF_FUSION_IMAGE, uses_image = s->fusion != DF_FUSION_META;
    if (uses_image)
        for (int v = 0; v < s->n_views; v++) {
            char n[DF_NAME_MAX];
            snprintf(n, sizeof n, "input.image%d", v);
            m->image[v] = df_input(g, n, (df_shape){3, {s->image_size, s->image_size, s->in_channels}}, 0);
        }
    if (uses_meta) m->meta = df_input(g, "input.meta", df_shape1(s->meta_dim), 0);
    m->target = df_input(g, "input.target", (df_shape){0, {0}}, 0);

    int meta_feat = uses_meta && s->fusion != DF_FUSION_EARLY ? meta_mlp(g, s, m->meta) : -1;
    int parts[DF_MAX_INPUTS], n_parts = 0;
    for (int v = 0; uses_image && v < s->n_views; v++) {
        char prefix[32], n[NAME_BUF];
        if (s->n_views == 1)
            snprintf(prefix, sizeof prefix, "image");
        else
            snprintf(prefix, sizeof prefix, "image%d", v);
        int x = m->image[v];
        if (s->fusion == DF_FUSION_EARLY) {
            snprintf(n, sizeof n, "early%d.planes", v);
            int planes = df_broadcast_planes(g, n, m->meta, s->image_size, s->image_size);
            snprintf(n, sizeof n, "early%d.concat", v);
            x = df_concat(g, n, (int[]){x, planes}, 2);
        }
        x = backbone(g, s, prefix, x, s->fusion == DF_FUSION_FILM ? meta_feat : -1);
        m->last_maps[v] = x;
        if (s->fusion == DF_FUSION_GATED) {
            snprintf(n, sizeof n, "gate%d.fc", v);
            int gate = df_linear(g, n, meta_feat, g->failed ? 1 : g->nodes[x].shape.d[3], 1);
            snprintf(n, sizeof n, "gate%d.sigmoid", v);
            gate = df_activation_layer(g, n, gate, DF_ACT_SIGMOID);
            snprintf(n, sizeof n, "gate%d.scale", v);
            x = df_scale_channels(g, n, x, gate);
        }
        snprintf(n, sizeof n, "%s.gap", prefix);
        parts[n_parts++] = df_global_avgpool(g, n, x);
    }
    if (s->fusion == DF_FUSION_CROSS_ATTENTION)
        parts[n_parts++] = df_cross_attention(g, s, m->last_maps, s->n_views, meta_feat);
    else if (meta_feat >= 0 && s->fusion != DF_FUSION_FILM)
        parts[n_parts++] = meta_feat;
    int features = n_parts == 1 ? parts[0] : df_concat(g, "fusion.concat", parts, n_parts);
    if (s->head_hidden > 0) {
        features = df_linear(g, "head.hidden", features, s->head_hidden, 1);
        features = df_relu(g, "head.relu", features);
    }
    m->features = features;
    int x = s->dropout > 0 ? df_dropout(g, "head.dropout", features, s->dropout) : features;
    m->logits = df_linear(g, "logits", x, s->binary_sigmoid ? 1 : s->n_classes, 1);
    m->loss = s->binary_sigmoid
                  ? df_bce_with_logits(g, "loss", m->logits, m->target, s->class_weights, s->label_smoothing)
                  : df_softmax_cross_entropy(g, "loss", m->logits, m->target, s->n_classes, s->class_weights,
                                             s->label_smoothing);
    if (!g->failed && s->init == DF_INIT_SCHEME_PYTORCH) use_pytorch_init(g);
    if (!g->failed && s->fusion == DF_FUSION_FILM) df_film_zero_init(g);
    /* Grad-CAM reads the last feature maps' gradient after the backward (train/analysis/gradcam.c). */
    for (int v = 0; v < 2 && !g->failed; v++)
        if (m->last_maps[v] >= 0) df_graph_keep_grad(g, m->last_maps[v]);
    if ((!g->failed && check_memory(s, g, m->loss, err)) || df_graph_compile(g, m->loss, seed, err)) {
        df_fail_prefix(err, "model '%s'", df_fusion_name(s->fusion));
        df_model_free(m);
        return NULL;
    }
    return m;
}

void df_model_free(df_model *m) {
    if (!m) return;
    df_graph_free(m->g);
    free(m);
}

void df_model_probabilities(const df_model *m, float *prob) {
    const float *z = m->g->nodes[m->logits].out;
    int K = m->spec.n_classes;
    for (int i = 0; i < m->g->batch; i++) {
        float *p = prob + (size_t)i * K;
        if (m->spec.binary_sigmoid) {
            p[1] = 1.0f / (1.0f + expf(-z[i]));
            p[0] = 1.0f - p[1];
            continue;
        }
        const float *zi = z + (size_t)i * K;
        float zmax = zi[0], sum = 0.0f;
        for (int k = 1; k < K; k++) zmax = zi[k] > zmax ? zi[k] : zmax;
        for (int k = 0; k < K; k++) sum += p[k] = expf(zi[k] - zmax);
        for (int k = 0; k < K; k++) p[k] /= sum;
    }
}
