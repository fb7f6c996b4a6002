/* model_dump.c: builds a small film model (one view) and a small cross_attention model (two views, two heads),
 * draws every parameter at random (the FiLM generators too, so that FiLM is not the identity), runs one
 * training-mode forward and backward on random inputs and writes every input, parameter, the logits, the loss
 * and every parameter's gradient to a folder (raw float32 per array, manifest.json with names and shapes), for
 * tests/train/model/model_twin.py to recompute with PyTorch. Usage: model_dump OUT_DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "train/model/model.h"

static FILE *manifest;
static const char *dir;
static int first;

static void put(const char *model, const char *name, const float *data, df_shape shape, size_t count) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s.%s.f32", dir, model, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, sizeof(float), count, f) != count || fclose(f)) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    fprintf(manifest, "%s\"%s\": [", first ? "" : ", ", name);
    for (int d = 0; d < shape.rank; d++) fprintf(manifest, d ? ", %d" : "%d", shape.d[d]);
    fprintf(manifest, "]");
    first = 0;
}

static void dump(const char *label, df_model_spec s, int batch, int last) {
    df_error err;
    df_model *m = df_model_build(&s, batch, 1, &err);
    if (!m) {
        fprintf(stderr, "%s: %s\n", label, err.msg);
        exit(1);
    }
    df_graph *g = m->g;
    df_rng r = df_rng_make(21, (uint64_t)s.fusion);
    int ins[4] = {m->image[0], m->image[1], m->meta, m->target};
    for (int k = 0; k < 3; k++)
        if (ins[k] >= 0)
            for (size_t i = 0; i < df_shape_numel(g->nodes[ins[k]].shape); i++) g->nodes[ins[k]].out[i] = df_rng_normal(&r);
    for (int i = 0; i < batch; i++) df_graph_out(g, m->target)[i] = (float)(i % s.n_classes);
    for (size_t i = 0; i < g->n_param_floats; i++) g->params[i] = 0.3f * df_rng_normal(&r);
    df_graph_set_training(g, 1);
    df_graph_forward(g);
    df_graph_zero_grads(g);
    df_graph_backward(g);
    fprintf(manifest, "  \"%s\": {\"heads\": %d, \"tokens\": %d, \"dim\": %d, \"views\": %d, \"arrays\": {", label,
            s.attention_heads, s.attention_tokens, s.attention_dim, s.n_views);
    first = 1;
    for (int k = 0; k < 4; k++)
        if (ins[k] >= 0) {
            df_shape sh = g->nodes[ins[k]].shape;
            if (k == 3) sh = df_shape1(batch);
            put(label, g->nodes[ins[k]].name, g->nodes[ins[k]].out, sh, df_shape_numel(sh));
        }
    for (int t = 0; t < g->n_tensors; t++) {
        const df_tensor_info *ti = &g->tensors[t];
        if (ti->kind != DF_PARAM) continue;
        put(label, ti->name, g->params + ti->offset, ti->shape, ti->numel);
        char name[160];
        snprintf(name, sizeof name, "grad.%s", ti->name);
        put(label, name, g->grads + ti->offset, ti->shape, ti->numel);
    }
    put(label, "logits", g->nodes[m->logits].out, g->nodes[m->logits].shape, df_shape_numel(g->nodes[m->logits].shape));
    put(label, "loss", g->nodes[m->loss].out, df_shape1(1), 1);
    fprintf(manifest, "}}%s\n", last ? "" : ",");
    df_model_free(m);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: model_dump OUT_DIR\n");
        return 2;
    }
    dir = argv[1];
    char path[512];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    manifest = fopen(path, "w");
    if (!manifest) {
        perror(path);
        return 1;
    }
    fprintf(manifest, "{\n");
    df_model_spec s = df_model_spec_default(DF_FUSION_FILM, 3, 8, 5);
    s.n_stages = 2;
    s.widths[0] = 4, s.widths[1] = 6;
    s.n_meta_hidden = 1;
    s.meta_hidden[0] = 7;
    dump("film", s, 4, 0);
    s.fusion = DF_FUSION_CROSS_ATTENTION;
    s.n_views = 2;
    s.attention_heads = 2;
    s.attention_dim = 6;
    s.attention_tokens = 3;
    dump("cross_attention", s, 4, 1);
    fprintf(manifest, "}\n");
    return fclose(manifest) ? 1 : 0;
}
