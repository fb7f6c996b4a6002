/* safetensors_write.c: building a safetensors file (see safetensors.h). Contract: the bytes depend only on
 * the tensors and metadata added (both sorted by name, compact JSON, header padded with spaces so the data
 * starts at a multiple of 8); the df.checksum member is written as zeros, computed over header and data and
 * patched in; the file replaces path atomically through core/io/files.h, so a failed write leaves the old
 * file and no temporary file. */
#include "core/io/safetensors_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/io/files.h"
#include "core/io/json.h"

/* ---- writing ---- */

typedef struct {
    char *name;
    int rank;
    int64_t shape[DF_ST_MAX_RANK];
    size_t count;
    const float *data;
} w_tensor;

typedef struct {
    char *key, *value;
} w_meta;

struct df_st_writer {
    w_tensor *t;
    int nt, capt;
    w_meta *m;
    int nm, capm;
};

df_st_writer *df_st_writer_new(void) { return df_calloc(1, sizeof(df_st_writer)); }

void df_st_writer_free(df_st_writer *w) {
    if (!w) return;
    for (int i = 0; i < w->nt; i++) free(w->t[i].name);
    for (int i = 0; i < w->nm; i++) free(w->m[i].key), free(w->m[i].value);
    free(w->t);
    free(w->m);
    free(w);
}

static int check_text(const char *what, const char *s, df_error *err) {
    size_t bad;
    if (!df_json_utf8_valid(s, strlen(s), &bad))
        return df_fail(err, "%s \"%.200s\" is not valid UTF-8 (byte %zu)", what, s, bad);
    return 0;
}

int df_st_add(df_st_writer *w, const char *name, int rank, const int64_t *shape, const float *data,
              df_error *err) {
    if (!name[0]) return df_fail(err, "tensor name is empty");
    if (!strcmp(name, "__metadata__")) return df_fail(err, "tensor name \"__metadata__\" is reserved");
    if (check_text("tensor name", name, err)) return -1;
    if (rank < 0 || rank > DF_ST_MAX_RANK)
        return df_fail(err, "tensor '%s': rank %d is outside 0..%d", name, rank, DF_ST_MAX_RANK);
    for (int i = 0; i < rank; i++)
        if (shape[i] < 0)
            return df_fail(err, "tensor '%s': dimension %d is negative (%lld)", name, i, (long long)shape[i]);
    int64_t count = df_st_shape_count_(rank, shape, 4);
    if (count < 0 || (uint64_t)count > SIZE_MAX / 4) return df_fail(err, "tensor '%s': shape too large", name);
    DF_ASSERT(data || count == 0);
    if (w->nt == w->capt) {
        w->capt = w->capt ? 2 * w->capt : 16;
        w->t = df_realloc(w->t, (size_t)w->capt * sizeof *w->t);
    }
    w_tensor *t = &w->t[w->nt++];
    memset(t, 0, sizeof *t);
    t->name = df_strdup(name);
    t->rank = rank;
    for (int i = 0; i < rank; i++) t->shape[i] = shape[i];
    t->count = (size_t)count;
    t->data = data;
    return 0;
}

int df_st_add_meta(df_st_writer *w, const char *key, const char *value, df_error *err) {
    if (!strcmp(key, DF_ST_CHECKSUM_KEY))
        return df_fail(err, "metadata key \"%s\" is reserved for the file's checksum", key);
    if (check_text("metadata key", key, err) || check_text("metadata value", value, err)) return -1;
    if (w->nm == w->capm) {
        w->capm = w->capm ? 2 * w->capm : 16;
        w->m = df_realloc(w->m, (size_t)w->capm * sizeof *w->m);
    }
    w->m[w->nm].key = df_strdup(key);
    w->m[w->nm].value = df_strdup(value);
    w->nm++;
    return 0;
}

static int cmp_tensor_ptr(const void *a, const void *b) {
    return strcmp((*(const w_tensor *const *)a)->name, (*(const w_tensor *const *)b)->name);
}
static int cmp_meta_ptr(const void *a, const void *b) {
    return strcmp((*(const w_meta *const *)a)->key, (*(const w_meta *const *)b)->key);
}

static void put_checksum_member(df_json_writer *j, size_t *digits_at) {
    df_json_key(j, DF_ST_CHECKSUM_KEY);
    *digits_at = j->len + strlen("\"crc32:");
    df_json_string(j, "crc32:00000000");
}

/* Builds the padded header; *digits_at is where the 8 checksum hex digits go. */
static void build_header(const w_tensor *const *ts, int nt, const w_meta *const *ms, int nm,
                         df_json_writer *j, size_t *digits_at) {
    df_json_object_begin(j);
    df_json_key(j, "__metadata__");
    df_json_object_begin(j);
    int placed = 0;
    for (int i = 0; i < nm; i++) {
        if (!placed && strcmp(ms[i]->key, DF_ST_CHECKSUM_KEY) > 0) {
            put_checksum_member(j, digits_at);
            placed = 1;
        }
        df_json_key(j, ms[i]->key);
        df_json_string(j, ms[i]->value);
    }
    if (!placed) put_checksum_member(j, digits_at);
    df_json_object_end(j);
    uint64_t offset = 0;
    for (int i = 0; i < nt; i++) {
        const w_tensor *t = ts[i];
        df_json_key(j, t->name);
        df_json_object_begin(j);
        df_json_key(j, "dtype");
        df_json_string(j, "F32");
        df_json_key(j, "shape");
        df_json_array_begin(j);
        for (int k = 0; k < t->rank; k++) df_json_int(j, t->shape[k]);
        df_json_array_end(j);
        df_json_key(j, "data_offsets");
        df_json_array_begin(j);
        df_json_int(j, (int64_t)offset);
        offset += (uint64_t)t->count * 4;
        df_json_int(j, (int64_t)offset);
        df_json_array_end(j);
        df_json_object_end(j);
    }
    df_json_object_end(j);
    while ((8 + j->len) % 8) df_json_append_raw(j, " ", 1);
}

static int write_all(FILE *fp, const void *data, size_t n) { return n == 0 || fwrite(data, 1, n, fp) == n; }

int df_st_write(const df_st_writer *w, const char *path, df_error *err) {
    const w_tensor **ts = df_malloc((size_t)(w->nt ? w->nt : 1) * sizeof *ts);
    const w_meta **ms = df_malloc((size_t)(w->nm ? w->nm : 1) * sizeof *ms);
    for (int i = 0; i < w->nt; i++) ts[i] = &w->t[i];
    for (int i = 0; i < w->nm; i++) ms[i] = &w->m[i];
    qsort(ts, (size_t)w->nt, sizeof *ts, cmp_tensor_ptr);
    qsort(ms, (size_t)w->nm, sizeof *ms, cmp_meta_ptr);
    int rc = 0;
    for (int i = 1; i < w->nt && !rc; i++)
        if (!strcmp(ts[i - 1]->name, ts[i]->name))
            rc = df_fail(err, "%s: duplicate tensor name '%s'", path, ts[i]->name);
    for (int i = 1; i < w->nm && !rc; i++)
        if (!strcmp(ms[i - 1]->key, ms[i]->key))
            rc = df_fail(err, "%s: duplicate metadata key '%s'", path, ms[i]->key);
    if (rc) {
        free(ts);
        free(ms);
        return -1;
    }

    df_json_writer j;
    df_json_writer_init(&j);
    size_t digits_at = 0;
    build_header((const w_tensor *const *)ts, w->nt, (const w_meta *const *)ms, w->nm, &j, &digits_at);
    if (j.len > DF_ST_MAX_HEADER) {
        df_json_writer_free(&j);
        free(ts);
        free(ms);
        return df_fail(err, "%s: header would be %zu bytes, over the %d-byte limit", path, j.len,
                       DF_ST_MAX_HEADER);
    }
    uint32_t crc = df_st_crc32(0, j.text, j.len);
    for (int i = 0; i < w->nt; i++) crc = df_st_crc32(crc, ts[i]->data, ts[i]->count * 4);
    char digits[9];
    snprintf(digits, sizeof digits, "%08x", crc);
    memcpy(j.text + digits_at, digits, 8);

    unsigned char len_le[8];
    for (int i = 0; i < 8; i++) len_le[i] = (unsigned char)((uint64_t)j.len >> (8 * i));

    df_atomic_file out;
    rc = df_atomic_open(path, &out, err);
    if (!rc) {
        int ok = write_all(out.f, len_le, 8) && write_all(out.f, j.text, j.len);
        for (int i = 0; ok && i < w->nt; i++) ok = write_all(out.f, ts[i]->data, ts[i]->count * 4);
        if (ok) {
            rc = df_atomic_commit(&out, err);
        } else {
            rc = df_fail(err, "%s: cannot write: %s", out.tmp, strerror(errno));
            df_atomic_abort(&out);
        }
    }
    df_json_writer_free(&j);
    free(ts);
    free(ms);
    return rc;
}
