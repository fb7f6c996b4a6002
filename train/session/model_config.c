/* model_config.c: see model_config.h. */
#include "train/session/model_config.h"


static int copy_list(const char *what, const long *src, int n, int *dst, int max, df_error *err) {
    if (n > max) return df_fail(err, "model.%s: %d entries, at most %d", what, n, max);
    for (int i = 0; i < n; i++) {
        if (src[i] < 1 || src[i] > 65536) return df_fail(err, "model.%s[%d] = %ld, need 1..65536", what, i, src[i]);
        dst[i] = (int)src[i];
    }
    return 0;
}

/* model.pool: one valid name per stage, as the config's rules have checked. */
static void stage_pools(const df_model_section *mc, df_stage_pool *pool) {
    for (int i = 0; i < mc->n_pool && i < DF_MAX_STAGES; i++) pool[i] = (df_stage_pool)df_stage_pool_parse(mc->pool[i]);
}

int df_model_spec_from_config(const df_run_config *cfg, df_fusion fusion, int n_classes, int n_views,
                              int meta_dim, const float *class_weights, df_model_spec *spec, df_error *err) {
    const df_model_section *mc = &cfg->model;
    df_model_spec s = df_model_spec_default(fusion, n_classes, cfg->data.image_size, meta_dim);
    s.n_views = n_views;
    s.backbone = mc->backbone;
    if (mc->n_widths != mc->n_depth)
        return df_fail(err, "model: widths has %d entries but depth has %d; give one depth per stage",
                       mc->n_widths, mc->n_depth);
    s.n_stages = mc->n_widths;
    if (copy_list("widths", mc->widths, mc->n_widths, s.widths, DF_MAX_STAGES, err)) return -1;
    if (copy_list("depth", mc->depth, mc->n_depth, s.depth, DF_MAX_STAGES, err)) return -1;
    if (copy_list("meta_hidden", mc->meta_hidden, mc->n_meta_hidden, s.meta_hidden, DF_MAX_MLP, err)) return -1;
    s.n_meta_hidden = mc->n_meta_hidden;
    stage_pools(mc, s.pool);
    s.init = mc->init;
    s.bn_momentum = (float)mc->bn_momentum;
    s.bn_eps = (float)mc->bn_eps;
    s.stem_width = mc->stem_width;
    s.stem_stride = mc->stem_stride;
    s.head_hidden = mc->head_hidden;
    s.dropout = (float)mc->dropout;
    s.attention_heads = mc->attention_heads;
    s.attention_dim = mc->attention_dim;
    s.attention_tokens = mc->attention_tokens;
    s.binary_sigmoid = mc->head == DF_HEAD_SIGMOID;
    if (s.binary_sigmoid && n_classes != 2)
        return df_fail(err, "model.head: sigmoid needs 2 classes, the data has %d", n_classes);
    s.class_weights = class_weights;
    s.label_smoothing = (float)cfg->train.label_smoothing;
    *spec = s;
    return 0;
}
