/* model.h: the study's models, built as one graph from a model description.
 *
 *   image         backbone(image) -> GAP -> head
 *   meta          MLP(meta) -> head
 *   early         backbone([image | meta broadcast to planes]) -> GAP -> head      (input-level fusion)
 *   intermediate  [GAP(backbone(image)) | MLP(meta)] -> head                       (feature-level, joint)
 *   gated         GAP(backbone(image) * sigmoid(W MLP(meta))) | MLP(meta) -> head  (MetaBlock-style gate)
 *   film          backbone(image) with every stage's output map x replaced by (1 + gamma) x + beta, gamma and
 *                 beta (per channel) linear in MLP(meta), zero at the start -> GAP -> head    (FiLM)
 *   cross_attention  [GAP(backbone(image)) | mean over tokens of LN(t + Attn(t, positions))] -> head
 *                 t: attention_tokens metadata tokens of attention_dim values, one linear map of MLP(meta);
 *                 positions: every position of the last feature maps (of both views); Attn: the tokens as
 *                 queries, the positions as keys and values, attention_heads heads, an output projection
 * In cross_attention the metadata asks and the image answers: each token is a learnt question ("where is the
 * lesion feature this patient's age and site make likely?") whose answer is a weighted pool of image positions,
 * a pooling GAP cannot do; queries from the image positions over a handful of metadata tokens would only
 * re-weight T vectors that the plain concatenation of intermediate fusion already offers the head.
 * Late (decision-level) fusion combines an `image` and a `meta` model trained separately; it is not one
 * graph (see train/late/late_fusion.h).
 *
 * With two views (MILK10k: dermoscopic and clinical close-up) each view goes through a backbone of its own
 * and their pooled features are concatenated before fusion with the metadata.
 *
 * Names: inputs "input.image0", "input.image1", "input.meta", "input.target"; parameters under "image."
 * (or "image0."/"image1." with two views), "meta.", "gate.", "film.", "attn.", "head.". The node "features" is
 * the penultimate representation (the analyses read it) and "logits" the classifier output. */
#ifndef DF_MODEL_H
#define DF_MODEL_H

#include "core/graph.h"

/* The study's fusion modes; every one but late is one graph. df_fusion_names holds their names in this
 * order, NULL-terminated (configs bind model.fusion through it). */
typedef enum {
    DF_FUSION_IMAGE,
    DF_FUSION_META,
    DF_FUSION_EARLY,
    DF_FUSION_INTERMEDIATE,
    DF_FUSION_GATED,
    DF_FUSION_FILM,
    DF_FUSION_CROSS_ATTENTION,
    DF_FUSION_LATE, /* two models, combined by train/late; df_model_build refuses it */
} df_fusion;
extern const char *const df_fusion_names[];

typedef enum { DF_BACKBONE_VGG, DF_BACKBONE_RESNET } df_backbone;
extern const char *const df_backbone_names[]; /* "vgg", "resnet" */

/* What ends a VGG stage: a 2x2 max-pool (the default, zero), a 2x2 average pool, or nothing (the map keeps
 * its size into the next stage or the global pooling). df_stage_pool_names: "max", "avg", "none". */
typedef enum { DF_POOL_MAX = 0, DF_POOL_AVG, DF_POOL_NONE } df_stage_pool;
extern const char *const df_stage_pool_names[];
/* The df_stage_pool a name stands for, or -1. */
int df_stage_pool_parse(const char *name);

/* How parameters are drawn before training (biases and batch-norm shifts start at zero, batch-norm scales
 * at one, in both):
 *   he       convolution weights N(0, 2/fan_in), linear weights U(+-sqrt(6/fan_in)), linear biases zero
 *   pytorch  torch.nn's defaults: convolution and linear weights U(+-1/sqrt(fan_in)) (kaiming_uniform with
 *            a = sqrt(5)), linear biases U(+-1/sqrt(fan_in))
 * df_init_scheme_names: "he", "pytorch". */
typedef enum { DF_INIT_SCHEME_HE = 0, DF_INIT_SCHEME_PYTORCH } df_init_scheme;
extern const char *const df_init_scheme_names[];

/* The classifier output: softmax over K logits, or for two classes one logit with a sigmoid. */
typedef enum { DF_HEAD_SOFTMAX, DF_HEAD_SIGMOID } df_head;
extern const char *const df_head_names[]; /* "softmax", "sigmoid" */

#define DF_MAX_STAGES 6
#define DF_MAX_MLP 4

typedef struct {
    df_fusion fusion;
    int n_classes;       /* 2 or more */
    int binary_sigmoid;  /* n_classes == 2 with one logit and BCE instead of two and softmax CE */
    int image_size;      /* square input, pixels */
    int n_views;         /* 1 or 2 */
    int in_channels;     /* of each view's image: 3 (RGB) or 1 (gray); early fusion adds meta_dim planes */
    int meta_dim;        /* length of the encoded metadata vector (0 for image-only) */

    df_backbone backbone;
    int n_stages;
    int widths[DF_MAX_STAGES]; /* VGG: channels per stage; ResNet: per stage of residual blocks */
    int depth[DF_MAX_STAGES];  /* VGG: convs per stage; ResNet: blocks per stage (2,2,2,2 = ResNet-18) */
    df_stage_pool pool[DF_MAX_STAGES]; /* VGG: what ends each stage */
    int stem_width;            /* ResNet stem channels */
    int stem_stride;           /* ResNet: 2 = 7x7/2 conv + 3x3/2 max-pool (ImageNet style); 1 = a 3x3 conv */

    int n_meta_hidden;
    int meta_hidden[DF_MAX_MLP]; /* metadata MLP widths */
    int head_hidden;             /* 0: the head is one linear layer */
    float dropout;               /* before the final linear layer */
    int attention_heads;         /* cross_attention: 1 or 2; attention_dim / heads values each */
    int attention_dim;           /* cross_attention: width of the tokens and of the attention output */
    int attention_tokens;        /* cross_attention: metadata tokens (queries) */
    float bn_momentum, bn_eps;   /* running = (1 - momentum) * running + momentum * batch, as in PyTorch */
    df_init_scheme init;

    const float *class_weights; /* n_classes or NULL */
    float label_smoothing;

    /* Memory: building fails before the graph allocates anything when its plan (core/graph.h) plus
     * extra_param_copies more parameter blocks (the optimizer's moments) plus reserved_bytes (the loaders'
     * batches) is over memory_limit bytes; 0: not checked. The message gives each part. */
    size_t memory_limit, reserved_bytes;
    int extra_param_copies;
} df_model_spec;

/* The spec of a small VGG-style CNN (4 stages 32/64/128/256, one conv each) with sensible defaults. */
df_model_spec df_model_spec_default(df_fusion fusion, int n_classes, int image_size, int meta_dim);

typedef struct {
    df_graph *g;
    df_model_spec spec;
    int image[2];  /* input node ids (-1 if absent) */
    int meta;      /* -1 if absent */
    int target;
    int features;  /* penultimate representation */
    int logits;
    int loss;
    int last_maps[2]; /* last feature maps of each view's backbone (Grad-CAM), -1 if absent */
} df_model;

/* Builds and compiles the model for batches of up to max_batch. Returns NULL with err set on a bad spec. */
df_model *df_model_build(const df_model_spec *spec, int max_batch, uint64_t seed, df_error *err);
void df_model_free(df_model *m);

/* Probabilities from the current logits: n x n_classes, rows sum to 1 (binary sigmoid gives [1-p, p]). */
void df_model_probabilities(const df_model *m, float *prob);

const char *df_fusion_name(df_fusion f);

#endif
