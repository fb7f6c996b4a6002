/* fusion_blocks.c: the FiLM and cross-attention blocks (fusion_blocks.h). */
#include "train/model/fusion_blocks.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "layers/layers.h"

#define NAME_BUF (2 * DF_NAME_MAX)

int df_film_stage(df_graph *g, const char *view, int stage, int x, int meta) {
    char n[NAME_BUF];
    int C = g->failed ? 1 : g->nodes[x].shape.d[g->nodes[x].shape.rank - 1];
    snprintf(n, sizeof n, "film.%s.stage%d.gamma", view, stage);
    int gamma = df_linear(g, n, meta, C, 1);
    snprintf(n, sizeof n, "film.%s.stage%d.beta", view, stage);
    int beta = df_linear(g, n, meta, C, 1);
    snprintf(n, sizeof n, "film.%s.stage%d", view, stage);
    return df_film(g, n, x, gamma, beta);
}

/* Zero generators make every FiLM layer the identity, (1 + 0) x + 0, at the start: the backbone trains at
 * first exactly as in the image model (and a pretrained backbone keeps its function), and the metadata's
 * influence grows from there as the gradient of gamma, sum over positions of dy * x, is not zero. Random
 * generators would instead rescale every stage by a random per-sample factor before anything is learnt. */
void df_film_zero_init(df_graph *g) {
    for (int i = 0; i < g->n_nodes; i++) {
        const df_node *n = &g->nodes[i];
        if (strcmp(n->op->name, "linear") || strncmp(n->name, "film.", 5)) continue;
        for (int k = 0; k < n->n_params; k++) g->tensors[n->param[k]].init = DF_INIT_ZERO;
    }
}

/* Every view's positions as one (B, P, C) sequence: a map (B, H, W, C) is already H*W rows of C values, and
 * two views' rows follow one another when their flattened maps are concatenated. */
static int positions(df_graph *g, const int *maps, int n_views) {
    if (g->failed) return -1;
    int C = g->nodes[maps[0]].shape.d[3], P = 0, flat[2];
    for (int v = 0; v < n_views; v++) {
        const df_shape s = g->nodes[maps[v]].shape;
        P += s.d[1] * s.d[2];
        if (s.d[3] != C)
            return df_graph_fail(g, "layer 'attn.positions': view %d's feature maps have %d channels, view 0's %d",
                                 v, s.d[3], C);
    }
    int x = maps[0];
    if (n_views > 1) {
        for (int v = 0; v < n_views; v++) {
            char n[NAME_BUF];
            snprintf(n, sizeof n, "attn.positions%d", v);
            flat[v] = df_flatten(g, n, maps[v]);
        }
        x = df_concat(g, "attn.positions.concat", flat, n_views);
    }
    return df_reshape(g, "attn.positions", x, (df_shape){2, {P, C}});
}

/* One head: softmax(q k^T / sqrt(dh)) v, q from the tokens (B, T, dh), k and v from the positions (B, P, dh). */
static int head(df_graph *g, int j, int tokens, int pos, int dh) {
    char n[NAME_BUF];
    snprintf(n, sizeof n, "attn.head%d.q", j);
    int q = df_linear(g, n, tokens, dh, 1);
    snprintf(n, sizeof n, "attn.head%d.k", j);
    int k = df_linear(g, n, pos, dh, 1);
    snprintf(n, sizeof n, "attn.head%d.v", j);
    int v = df_linear(g, n, pos, dh, 1);
    snprintf(n, sizeof n, "attn.head%d.scores", j);
    int s = df_bmm(g, n, q, k, 0, 1, 1.0f / sqrtf((float)dh)); /* (B, T, P) */
    snprintf(n, sizeof n, "attn.head%d.weights", j);
    int a = df_softmax(g, n, s);
    snprintf(n, sizeof n, "attn.head%d.mix", j);
    return df_bmm(g, n, a, v, 0, 0, 1.0f); /* (B, T, dh) */
}

int df_cross_attention(df_graph *g, const df_model_spec *s, const int *maps, int n_views, int meta) {
    int T = s->attention_tokens, d = s->attention_dim, H = s->attention_heads, dh = d / H;
    int tokens = df_linear(g, "attn.tokens", meta, T * d, 1);
    tokens = df_reshape(g, "attn.tokens.rows", tokens, (df_shape){2, {T, d}}); /* (B, T, d) */
    int pos = positions(g, maps, n_views);
    int heads[2];
    for (int j = 0; j < H; j++) heads[j] = head(g, j + 1, tokens, pos, dh);
    int mixed = H == 1 ? heads[0] : df_concat(g, "attn.heads", heads, H);
    mixed = df_linear(g, "attn.out", mixed, d, 1);
    int y = df_add(g, "attn.residual", tokens, mixed);
    y = df_layernorm(g, "attn.norm", y, 1e-5f);
    /* The mean over the T tokens: (B, T, 1, d) is a T x 1 map, which global average pooling averages. */
    y = df_reshape(g, "attn.pool.rows", y, (df_shape){3, {T, 1, d}});
    return df_global_avgpool(g, "attn.pool", y);
}
