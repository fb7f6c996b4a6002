/* shape.c: see shape.h. */
#include "core/shape.h"

#include <stdio.h>

df_shape df_shape1(int a) { return (df_shape){1, {a, 0, 0, 0}}; }
df_shape df_shape2(int a, int b) { return (df_shape){2, {a, b, 0, 0}}; }
df_shape df_shape4(int n, int h, int w, int c) { return (df_shape){4, {n, h, w, c}}; }

size_t df_shape_numel(df_shape s) {
    size_t n = 1;
    for (int i = 0; i < s.rank; i++) n *= (size_t)s.d[i];
    return n;
}

size_t df_shape_per_sample(df_shape s) {
    size_t n = 1;
    for (int i = 1; i < s.rank; i++) n *= (size_t)s.d[i];
    return n;
}

int df_shape_equal(df_shape a, df_shape b) {
    if (a.rank != b.rank) return 0;
    for (int i = 0; i < a.rank; i++)
        if (a.d[i] != b.d[i]) return 0;
    return 1;
}

const char *df_shape_str(df_shape s, char *buf, size_t size) {
    size_t used = 0;
    used += (size_t)snprintf(buf, size, "(");
    for (int i = 0; i < s.rank && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, i ? ", %d" : "%d", s.d[i]);
    if (used < size) snprintf(buf + used, size - used, ")");
    return buf;
}
