/* fuzz_safetensors.c: the safetensors reader (core/io/safetensors.h), as checkpoints and pretrained weights
 * are opened.
 *
 * Input: a whole file. For each input, df_st_open; a file that opens is read the way callers read it: every
 * tensor's data touched, found by name, copied into a buffer of its shape (and refused for another shape),
 * every metadata entry listed. Then a round trip: when the writer accepts every tensor and metadata entry
 * of the file, what it writes must open to the same tensors (names, shapes, float bits) and metadata.
 * The custom mutator (fuzz_st.h) changes structural choices (dtypes, shapes, offsets, names, metadata) and
 * keeps the header length and df.checksum consistent, besides libFuzzer's byte mutations. */
#include <stdlib.h>
#include <string.h>

#include "core/io/safetensors.h"
#include "fuzz_st.h"
#include "fuzz_util.h"

static volatile float sink;

static void read_like_a_caller(const df_st_file *f) {
    df_error err;
    for (int i = 0; i < df_st_count(f); i++) {
        const df_st_tensor *t = df_st_at(f, i);
        float sum = 0;
        for (size_t k = 0; k < t->count; k++) sum += t->data[k];
        sink = sum;
        if (df_st_find(f, t->name) == NULL) fuzz_fail("tensor '%s' is listed but not found by name", t->name);
        float *dst = malloc((t->count ? t->count : 1) * sizeof *dst);
        if (df_st_copy_into(f, t->name, t->rank, t->shape, dst, &err))
            fuzz_fail("tensor '%s' cannot be copied at its own shape: %s", t->name, err.msg);
        int64_t other[DF_ST_MAX_RANK + 1];
        memcpy(other, t->shape, sizeof t->shape);
        other[t->rank] = 2;
        if (df_st_copy_into(f, t->name, t->rank + 1 <= DF_ST_MAX_RANK ? t->rank + 1 : t->rank - 1, other, dst,
                            &err) == 0)
            fuzz_fail("tensor '%s' was copied at another rank", t->name);
        free(dst);
    }
    for (int i = 0; i < df_st_meta_count(f); i++) {
        const char *key, *value;
        df_st_meta_at(f, i, &key, &value);
        if (df_st_meta(f, key) == NULL) fuzz_fail("metadata '%s' is listed but not found", key);
    }
    df_st_find(f, "");
    df_st_has_checksum(f);
}

static void check_round_trip(const df_st_file *f) {
    df_st_writer *w = df_st_writer_new();
    df_error err;
    int ok = 1;
    for (int i = 0; i < df_st_count(f) && ok; i++) {
        const df_st_tensor *t = df_st_at(f, i);
        ok = df_st_add(w, t->name, t->rank, t->shape, t->data, &err) == 0;
    }
    for (int i = 0; i < df_st_meta_count(f) && ok; i++) {
        const char *key, *value;
        df_st_meta_at(f, i, &key, &value);
        if (strcmp(key, DF_ST_CHECKSUM_KEY)) ok = df_st_add_meta(w, key, value, &err) == 0;
    }
    const char *path = NULL;
    if (ok) {
        path = fuzz_write("rt.safetensors", "", 0);
        if (df_st_write(w, path, &err)) fuzz_fail("the writer accepted every part but did not write: %s", err.msg);
    }
    df_st_writer_free(w);
    if (!ok) return;
    df_st_file *back;
    if (df_st_open(path, &back, &err)) fuzz_fail("a rewritten file does not open: %s", err.msg);
    if (df_st_count(back) != df_st_count(f)) fuzz_fail("%d tensors read back as %d", df_st_count(f), df_st_count(back));
    for (int i = 0; i < df_st_count(f); i++) {
        const df_st_tensor *a = df_st_at(f, i), *b = df_st_find(back, a->name);
        if (!b || b->rank != a->rank || memcmp(b->shape, a->shape, (size_t)a->rank * sizeof *a->shape) ||
            b->count != a->count || memcmp(b->data, a->data, a->count * sizeof(float)))
            fuzz_fail("tensor '%s' reads back differently", a->name);
    }
    for (int i = 0; i < df_st_meta_count(f); i++) {
        const char *key, *value;
        df_st_meta_at(f, i, &key, &value);
        const char *v = df_st_meta(back, key);
        if (strcmp(key, DF_ST_CHECKSUM_KEY) && (!v || strcmp(v, value)))
            fuzz_fail("metadata '%s' reads back differently", key);
    }
    if (!df_st_has_checksum(back)) fuzz_fail("a rewritten file carries no checksum");
    df_st_close(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_reset();
    const char *path = fuzz_write("in.safetensors", data, size);
    df_st_file *f;
    df_error err;
    if (df_st_open(path, &f, &err) == 0) {
        read_like_a_caller(f);
        check_round_trip(f);
        df_st_close(f);
    } else {
        fuzz_note("df_st_open", err.msg);
    }
    return 0;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed) {
    return fuzz_st_mutate(data, size, max_size, seed, fst_random, fst_perturb);
}
