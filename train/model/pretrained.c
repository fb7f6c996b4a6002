/* pretrained.c: see pretrained.h. */
#include "train/model/pretrained.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/io/safetensors.h"

int df_torchvision_name(const char *tv, const char *prefix, char *out, size_t size) {
    const char *leaf = strrchr(tv, '.');
    if (!leaf) return -1;
    leaf++; /* weight, bias, running_mean, running_var */
    int s, b, n = 0;
    char part[32];
    if (!strncmp(tv, "conv1.", 6)) {
        snprintf(out, size, "%s.stem.conv.%s", prefix, leaf);
    } else if (!strncmp(tv, "bn1.", 4)) {
        snprintf(out, size, "%s.stem.bn.%s", prefix, leaf);
    } else if (sscanf(tv, "layer%d.%d.%31[a-z0-9].%n", &s, &b, part, &n) == 3 && n > 0) {
        const char *rest = tv + n; /* after "layerS.B.part." */
        const char *what = NULL;
        if (!strcmp(part, "conv1")) what = "a.conv";
        else if (!strcmp(part, "bn1")) what = "a.bn";
        else if (!strcmp(part, "conv2")) what = "b.conv";
        else if (!strcmp(part, "bn2")) what = "b.bn";
        else if (!strcmp(part, "downsample") && !strncmp(rest, "0.", 2)) what = "down.conv";
        else if (!strcmp(part, "downsample") && !strncmp(rest, "1.", 2)) what = "down.bn";
        if (!what) return -1;
        snprintf(out, size, "%s.stage%d.block%d.%s.%s", prefix, s, b + 1, what, leaf);
    } else {
        return -1;
    }
    return 0;
}

/* Copies src (shape in file order) into the tensor, permuting (O, I, KH, KW) -> (O, KH, KW, I) if asked. */
static int copy_tensor(const df_st_tensor *src, const df_tensor_info *t, float *dst, int permute_conv,
                       const char *path, df_error *err) {
    char a[96], b[96];
    int rank_ok = src->rank == t->shape.rank;
    if (permute_conv && t->shape.rank == 4) {
        int O = t->shape.d[0], KH = t->shape.d[1], KW = t->shape.d[2], I = t->shape.d[3];
        if (!rank_ok || src->shape[0] != O || src->shape[1] != I || src->shape[2] != KH || src->shape[3] != KW)
            return df_fail(err, "%s: '%s' is %s, but the model's '%s' needs (%d, %d, %d, %d) in (out, in, kh, kw) "
                           "order", path, src->name, df_st_shape_str(src->rank, src->shape, a, sizeof a), t->name,
                           O, I, KH, KW);
        for (int o = 0; o < O; o++)
            for (int i = 0; i < I; i++)
                for (int y = 0; y < KH; y++)
                    for (int x = 0; x < KW; x++)
                        dst[(((size_t)o * KH + y) * KW + x) * I + i] = src->data[(((size_t)o * I + i) * KH + y) * KW + x];
        return 0;
    }
    int same = rank_ok;
    for (int d = 0; same && d < src->rank; d++) same = src->shape[d] == t->shape.d[d];
    if (!same)
        return df_fail(err, "%s: '%s' is %s but the model's '%s' is %s", path, src->name,
                       df_st_shape_str(src->rank, src->shape, a, sizeof a), t->name, df_shape_str(t->shape, b, sizeof b));
    memcpy(dst, src->data, t->numel * sizeof(float));
    return 0;
}

/* 1 when the name is under one of the prefixes ("image" matches "image.x" and "image", not "image0.x"). */
static int included(const char *name, const char *const *include, int n_include) {
    if (n_include == 0) return 1;
    for (int i = 0; i < n_include; i++) {
        size_t l = strlen(include[i]);
        if (!strncmp(name, include[i], l) && (name[l] == '.' || name[l] == '\0')) return 1;
    }
    return 0;
}

const char *const df_weights_format_names[] = {"dermfuse", "torchvision", NULL};

int df_pretrained_load(df_graph *g, const char *path, df_weights_format format, const char *const *include,
                       int n_include, unsigned char *loaded, int *n_loaded, df_error *err) {
    df_st_file *f;
    if (df_st_open(path, &f, err)) return -1;
    int torchvision = format == DF_WEIGHTS_TORCHVISION, rc = 0;
    *n_loaded = 0;
    memset(loaded, 0, (size_t)g->n_tensors);
    for (int i = 0; i < df_st_count(f) && rc == 0; i++) {
        const df_st_tensor *src = df_st_at(f, i);
        if (!torchvision) {
            int t = df_graph_find_tensor(g, src->name);
            if (t < 0 || !included(src->name, include, n_include)) continue;
            float *dst = (g->tensors[t].kind == DF_PARAM ? g->params : g->buffers) + g->tensors[t].offset;
            rc = copy_tensor(src, &g->tensors[t], dst, 0, path, err);
            if (rc == 0) loaded[t] = 1, (*n_loaded)++;
            continue;
        }
        /* One torchvision tensor initialises the same layer of every image view. */
        static const char *const prefixes[] = {"image", "image0", "image1"};
        for (int p = 0; p < 3 && rc == 0; p++) {
            char name[DF_NAME_MAX * 2];
            if (df_torchvision_name(src->name, prefixes[p], name, sizeof name)) break;
            int t = df_graph_find_tensor(g, name);
            if (t < 0 || !included(name, include, n_include)) continue;
            float *dst = (g->tensors[t].kind == DF_PARAM ? g->params : g->buffers) + g->tensors[t].offset;
            rc = copy_tensor(src, &g->tensors[t], dst, 1, path, err);
            if (rc == 0) loaded[t] = 1, (*n_loaded)++;
        }
    }
    if (rc == 0 && *n_loaded == 0)
        rc = df_fail(err, "%s: no tensor of the model is in this file (format %s); check model.pretrained_format "
                     "and the backbone", path, df_weights_format_names[format]);
    df_st_close(f);
    return rc;
}
