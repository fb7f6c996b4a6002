/* fusion_blocks.h: the FiLM and cross-attention fusion blocks of model.h, each appended to a model's graph by
 * model.c. Both return a node id, or -1 with the graph's sticky error set. */
#ifndef DF_FUSION_BLOCKS_H
#define DF_FUSION_BLOCKS_H

#include "core/graph.h"
#include "train/model/model.h"

/* FiLM of one backbone stage's output x (B, H, W, C) by the metadata features meta (B, F):
 * (1 + gamma) x + beta with gamma, beta = linear(meta) (B, C), named "film.<view>.stage<stage>" (its
 * generators ".gamma", ".beta"). Their weights and biases start at zero (df_film_zero_init). */
int df_film_stage(df_graph *g, const char *view, int stage, int x, int meta);
/* Draws every FiLM generator's weights and biases as zero, whatever the init scheme set before. */
void df_film_zero_init(df_graph *g);

/* Cross-attention of metadata tokens to image positions, pooled: (B, attention_dim), named "attn.*".
 * maps: the last feature maps of each of the n_views backbones (B, H, W, C), all with the same C;
 * meta: the metadata features (B, F). See model.h for the design. */
int df_cross_attention(df_graph *g, const df_model_spec *s, const int *maps, int n_views, int meta);

#endif
