/* test_fusion_models.c: the film and cross_attention models build for both backbones and one or two views,
 * with their parameters under "film." and "attn.", their ops in the per-layer summary, and a training step
 * that gives finite values; every FiLM layer is the identity at the start under either init scheme (its
 * generators start at zero); bad attention settings are refused with a message naming the setting. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/rng.h"
#include "train/model/model.h"
#include "train/model/step.h"

static df_model_spec small(df_fusion fusion, df_backbone bb, int views) {
    df_model_spec s = df_model_spec_default(fusion, 3, 16, 5);
    s.backbone = bb;
    s.n_views = views;
    s.n_stages = 2;
    s.widths[0] = 4, s.widths[1] = 8;
    s.depth[0] = s.depth[1] = 1;
    s.stem_width = 4;
    s.stem_stride = 1;
    s.attention_dim = 8;
    s.attention_tokens = 3;
    return s;
}

static void fill(df_model *m, df_rng *r) {
    int B = m->g->max_batch;
    for (int v = 0; v < 2; v++)
        if (m->image[v] >= 0)
            for (size_t i = 0; i < (size_t)B * 16 * 16 * 3; i++) df_graph_out(m->g, m->image[v])[i] = df_rng_normal(r);
    for (int i = 0; i < B * 5; i++) df_graph_out(m->g, m->meta)[i] = df_rng_normal(r);
    for (int i = 0; i < B; i++) df_graph_out(m->g, m->target)[i] = (float)(i % 3);
}

static int has_tensor(const df_graph *g, const char *name) { return df_graph_find_tensor(g, name) >= 0; }

static void check_model(df_fusion fusion, df_backbone bb, int views, int heads, df_init_scheme init) {
    df_model_spec s = small(fusion, bb, views);
    s.attention_heads = heads;
    s.init = init;
    char label[128];
    snprintf(label, sizeof label, "%s %s, %d view%s, %d head%s, %s init", df_fusion_name(fusion),
             df_backbone_names[bb], views, views > 1 ? "s" : "", heads, heads > 1 ? "s" : "", df_init_scheme_names[init]);
    df_error err;
    df_model *m = df_model_build(&s, 4, 3, &err);
    CHECK_MSG(m != NULL, "%s: %s", label, m ? "" : err.msg);
    if (!m) return;
    df_graph *g = m->g;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    df_graph_summary(g, f);
    fclose(f);
    const char *view = views == 1 ? "image" : "image1", *ops_film[] = {"film", NULL},
               *ops_attn[] = {"bmm", "softmax", "layernorm", "reshape", NULL};
    const char *const *ops = fusion == DF_FUSION_FILM ? ops_film : ops_attn;
    for (int i = 0; ops[i]; i++) CHECK_MSG(strstr(text, ops[i]) != NULL, "%s: no %s op in the summary", label, ops[i]);
    free(text);
    char name[128];
    if (fusion == DF_FUSION_FILM) {
        for (int st = 1; st <= 2; st++) {
            snprintf(name, sizeof name, "film.%s.stage%d.gamma.weight", view, st);
            CHECK_MSG(has_tensor(g, name), "%s: no tensor %s", label, name);
            snprintf(name, sizeof name, "film.%s.stage%d.beta.bias", view, st);
            CHECK_MSG(has_tensor(g, name), "%s: no tensor %s", label, name);
        }
    } else {
        CHECK_MSG(has_tensor(g, "attn.tokens.weight") && has_tensor(g, "attn.out.weight") &&
                      has_tensor(g, "attn.norm.weight") && has_tensor(g, "attn.head1.q.weight"),
                  "%s: attention parameters missing", label);
        CHECK_MSG(has_tensor(g, "attn.head2.k.weight") == (heads == 2), "%s: second head's presence", label);
        int pos = df_graph_find_node(g, "attn.positions");
        int P = 0;
        for (int v = 0; v < views; v++) P += g->nodes[m->last_maps[v]].shape.d[1] * g->nodes[m->last_maps[v]].shape.d[2];
        CHECK_MSG(pos >= 0 && g->nodes[pos].shape.d[1] == P, "%s: attention over %d positions of every view", label, P);
    }
    df_rng r = df_rng_make(4, (uint64_t)fusion * 8 + (uint64_t)(bb * 4 + views * 2 + heads));
    fill(m, &r);
    df_graph_set_training(g, 1);
    df_graph_forward(g);
    int identity = 1, n_film = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const df_node *n = &g->nodes[i];
        if (strcmp(n->op->name, "film")) continue;
        n_film++;
        const float *x = g->nodes[n->in[0]].out;
        identity &= !memcmp(x, n->out, (size_t)g->batch * df_shape_per_sample(n->shape) * sizeof(float));
    }
    CHECK_MSG(identity && n_film == (fusion == DF_FUSION_FILM ? 2 * views : 0), "%s: %d FiLM layers, identity %d",
              label, n_film, identity);
    df_optim_config oc = df_optim_defaults(DF_OPTIM_ADAM);
    df_optim *o = df_optim_new(g, &oc, &err);
    df_step_result res = {0};
    for (int k = 0; k < 3 && o; k++) res = df_train_step(g, m->loss, o, 1e-3f, 0);
    CHECK_MSG(o && res.finite && isfinite(res.loss), "%s: training steps not finite", label);
    /* After training, FiLM is no longer the identity: its generators learnt from the gradient. */
    if (fusion == DF_FUSION_FILM) {
        int t = df_graph_find_tensor(g, "film.image.stage1.gamma.weight");
        if (views > 1) t = df_graph_find_tensor(g, "film.image0.stage1.gamma.weight");
        double moved = 0;
        for (size_t i = 0; t >= 0 && i < g->tensors[t].numel; i++) moved += fabs(g->params[g->tensors[t].offset + i]);
        CHECK_MSG(moved > 0, "%s: FiLM generator did not move", label);
    }
    printf("%-60s %zu parameters, %.2f MFLOPs per sample\n", label, df_graph_param_count(g), df_graph_flops(g) / 1e6);
    df_optim_free(o);
    df_model_free(m);
}

static void check_refused(df_model_spec s, const char *want) {
    df_error err = {0};
    df_model *m = df_model_build(&s, 2, 1, &err);
    CHECK_MSG(m == NULL && strstr(err.msg, want), "expected an error naming '%s', got '%s'", want, m ? "" : err.msg);
    df_model_free(m);
}

int main(void) {
    for (int bb = 0; bb < 2; bb++)
        for (int views = 1; views <= 2; views++) {
            check_model(DF_FUSION_FILM, (df_backbone)bb, views, 1, DF_INIT_SCHEME_HE);
            check_model(DF_FUSION_CROSS_ATTENTION, (df_backbone)bb, views, 1, DF_INIT_SCHEME_HE);
            check_model(DF_FUSION_CROSS_ATTENTION, (df_backbone)bb, views, 2, DF_INIT_SCHEME_HE);
        }
    check_model(DF_FUSION_FILM, DF_BACKBONE_VGG, 1, 1, DF_INIT_SCHEME_PYTORCH);
    check_model(DF_FUSION_CROSS_ATTENTION, DF_BACKBONE_RESNET, 2, 2, DF_INIT_SCHEME_PYTORCH);
    df_model_spec s = small(DF_FUSION_CROSS_ATTENTION, DF_BACKBONE_VGG, 1);
    s.attention_heads = 3;
    check_refused(s, "attention_heads");
    s.attention_heads = 2, s.attention_dim = 7;
    check_refused(s, "attention_dim");
    s = small(DF_FUSION_FILM, DF_BACKBONE_VGG, 1);
    s.n_meta_hidden = 0;
    check_refused(s, "metadata hidden layer");
    return check_report();
}
