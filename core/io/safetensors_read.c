/* safetensors_read.c: opening a safetensors file (see safetensors.h). Contract: the whole file is read
 * through df_read_file (regular files only) and validated before df_st_open returns: the header length and
 * JSON, each tensor's dtype, shape and data_offsets, offsets that tile the data buffer exactly, and the
 * df.checksum when present. F16 and BF16 are converted to float32, and F32 data that is not 4-byte aligned in
 * the buffer is copied; every other tensor points into the file's buffer. Messages start with the path. */
#include "core/io/safetensors_internal.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/io/files.h"
#include "core/io/json.h"

/* ---- reading ---- */

typedef struct {
    df_st_tensor t;
    uint64_t begin, end;
    int elem_bytes; /* in the file: 4 for F32, 2 for F16 and BF16 */
    float *owned; /* converted or realigned copy, when data could not point into the buffer */
} r_tensor;

struct df_st_file {
    char *path;
    df_json_doc *doc; /* owns the names and metadata strings */
    unsigned char *file; /* the whole file */
    const unsigned char *data; /* the data buffer, inside file */
    size_t data_len;
    r_tensor *t;
    int nt;
    int *by_name;
    const char **meta_key, **meta_value;
    int nm;
    int has_checksum;
};

void df_st_close(df_st_file *f) {
    if (!f) return;
    for (int i = 0; i < f->nt; i++) free(f->t[i].owned);
    df_json_free(f->doc);
    void *owned[] = {f->t, f->by_name, f->meta_key, f->meta_value, f->file, f->path, f};
    for (size_t i = 0; i < sizeof owned / sizeof *owned; i++) free(owned[i]);
}

static float half_to_float(uint16_t h) {
    int exp = (h >> 10) & 0x1f;
    int mant = h & 0x3ff;
    float v;
    if (exp == 0)
        v = ldexpf((float)mant, -24); /* zero or subnormal */
    else if (exp == 31)
        v = mant ? NAN : INFINITY;
    else
        v = ldexpf((float)(mant | 0x400), exp - 25);
    return (h & 0x8000) ? -v : v;
}

static float bf16_to_float(uint16_t b) {
    uint32_t bits = (uint32_t)b << 16;
    float v;
    memcpy(&v, &bits, 4);
    return v;
}

/* "an array", "a number", ...: for messages. */
static const char *a_type(df_json_type t) {
    switch (t) {
    case DF_JSON_ARRAY: return "an array";
    case DF_JSON_OBJECT: return "an object";
    case DF_JSON_NULL: return "null";
    default: break;
    }
    return t == DF_JSON_NUMBER ? "a number" : t == DF_JSON_STRING ? "a string" : "a boolean";
}

/* A non-negative JSON integer, or -1. */
static int64_t json_index(const df_json *v) {
    if (!v || v->type != DF_JSON_NUMBER || !v->is_integer || v->integer < 0) return -1;
    return v->integer;
}

static int parse_tensor_entry(df_st_file *f, const char *name, const df_json *v, r_tensor *out,
                              df_error *err) {
    const char *p = f->path;
    if (v->type != DF_JSON_OBJECT)
        return df_fail(err, "%s: header entry '%s' is %s, expected an object with dtype, shape, data_offsets",
                       p, name, a_type(v->type));
    for (int i = 0; i < v->count; i++)
        if (strcmp(v->keys[i], "dtype") && strcmp(v->keys[i], "shape") && strcmp(v->keys[i], "data_offsets"))
            return df_fail(err, "%s: tensor '%s' has unknown field '%s' (expected dtype, shape, data_offsets)",
                           p, name, v->keys[i]);
    const df_json *dtype = df_json_get(v, "dtype"), *shape = df_json_get(v, "shape"),
                  *offs = df_json_get(v, "data_offsets");
    if (!dtype || dtype->type != DF_JSON_STRING)
        return df_fail(err, "%s: tensor '%s' needs a string \"dtype\"", p, name);
    if (!strcmp(dtype->str, "F32")) {
        out->elem_bytes = 4;
    } else if (!strcmp(dtype->str, "F16") || !strcmp(dtype->str, "BF16")) {
        out->elem_bytes = 2;
    } else {
        return df_fail(err, "%s: tensor '%s' has dtype %.40s; dermfuse reads F32 (and converts F16, BF16)", p,
                       name, dtype->str);
    }
    out->t.dtype = dtype->str;
    if (!shape || shape->type != DF_JSON_ARRAY)
        return df_fail(err, "%s: tensor '%s' needs an array \"shape\"", p, name);
    if (shape->count > DF_ST_MAX_RANK)
        return df_fail(err, "%s: tensor '%s' has rank %d, more than %d", p, name, shape->count, DF_ST_MAX_RANK);
    out->t.rank = shape->count;
    for (int i = 0; i < shape->count; i++) {
        int64_t d = json_index(&shape->items[i]);
        if (d < 0)
            return df_fail(err, "%s: tensor '%s': shape entry %d is not a non-negative integer", p, name, i);
        out->t.shape[i] = d;
    }
    if (!offs || offs->type != DF_JSON_ARRAY || offs->count != 2 || json_index(&offs->items[0]) < 0 ||
        json_index(&offs->items[1]) < 0)
        return df_fail(err, "%s: tensor '%s' needs \"data_offsets\": [begin, end] of non-negative integers", p,
                       name);
    out->begin = (uint64_t)offs->items[0].integer;
    out->end = (uint64_t)offs->items[1].integer;
    if (out->begin > out->end)
        return df_fail(err, "%s: tensor '%s' has data_offsets [%llu, %llu] with begin after end", p, name,
                       (unsigned long long)out->begin, (unsigned long long)out->end);
    int64_t count = df_st_shape_count_(out->t.rank, out->t.shape, out->elem_bytes);
    char sh[160];
    df_st_shape_str(out->t.rank, out->t.shape, sh, sizeof sh);
    if (count < 0) return df_fail(err, "%s: tensor '%s' has shape %s, too large", p, name, sh);
    uint64_t bytes = (uint64_t)count * (uint64_t)out->elem_bytes;
    if (bytes != out->end - out->begin)
        return df_fail(err, "%s: tensor '%s' has shape %s (%llu bytes as %s) but data_offsets [%llu, %llu] span "
                       "%llu bytes", p, name, sh, (unsigned long long)bytes, dtype->str,
                       (unsigned long long)out->begin, (unsigned long long)out->end,
                       (unsigned long long)(out->end - out->begin));
    out->t.count = (size_t)count;
    return 0;
}

static int cmp_by_offset(const void *a, const void *b) {
    const r_tensor *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return strcmp(x->t.name, y->t.name);
}

/* The tensors must tile [0, data_len) exactly, in offset order. */
static int check_tiling(df_st_file *f, df_error *err) {
    uint64_t pos = 0;
    const char *prev = NULL;
    for (int i = 0; i < f->nt; i++) {
        const r_tensor *t = &f->t[i];
        if (t->end > f->data_len)
            return df_fail(err, "%s: tensor '%s' data_offsets [%llu, %llu] run past the %zu-byte data buffer "
                           "(file truncated?)", f->path, t->t.name, (unsigned long long)t->begin,
                           (unsigned long long)t->end, f->data_len);
        if (t->begin < pos)
            return df_fail(err, "%s: tensors '%s' and '%s' overlap (data_offsets begin %llu before %llu)", f->path,
                           prev, t->t.name, (unsigned long long)t->begin, (unsigned long long)pos);
        if (t->begin > pos)
            return df_fail(err, "%s: gap in the data buffer: bytes [%llu, %llu) belong to no tensor (before '%s')",
                           f->path, (unsigned long long)pos, (unsigned long long)t->begin, t->t.name);
        pos = t->end;
        prev = t->t.name;
    }
    if (pos != f->data_len)
        return df_fail(err, "%s: the data buffer has %zu bytes but the tensors cover %llu", f->path, f->data_len,
                       (unsigned long long)pos);
    return 0;
}

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int verify_checksum(df_st_file *f, const df_json *value, const char *header, size_t header_len,
                           df_error *err) {
    const char *s = value->str;
    int ok = value->len == 14 && !strncmp(s, "crc32:", 6);
    uint32_t stored = 0;
    for (int i = 6; ok && i < 14; i++) {
        int d = hex_digit(s[i]);
        ok = d >= 0;
        stored = stored << 4 | (uint32_t)(d < 0 ? 0 : d);
    }
    /* The digits are located in the raw header, so they must be written without escapes. */
    size_t at = value->offset;
    ok = ok && at + 16 <= header_len && header[at] == '"' && !memcmp(header + at + 1, s, 14) &&
         header[at + 15] == '"';
    if (!ok)
        return df_fail(err, "%s: metadata %s is \"%.40s\", expected \"crc32:\" and 8 hex digits", f->path,
                       DF_ST_CHECKSUM_KEY, s);
    char *copy = df_malloc(header_len);
    memcpy(copy, header, header_len);
    memset(copy + at + 7, '0', 8);
    uint32_t crc = df_st_crc32(0, copy, header_len);
    free(copy);
    crc = df_st_crc32(crc, f->data, f->data_len);
    if (crc != stored)
        return df_fail(err, "%s: checksum mismatch: the file is corrupt (stored crc32:%08x, computed crc32:%08x)",
                       f->path, stored, crc);
    f->has_checksum = 1;
    return 0;
}

static int cmp_index_name(const void *a, const void *b, void *ctx) {
    const r_tensor *t = ctx;
    return strcmp(t[*(const int *)a].t.name, t[*(const int *)b].t.name);
}

/* Reads the whole file into f->file and finds in it the header text (*header, not NUL-terminated) and the
 * data buffer. */
static int read_file(df_st_file *f, const char **header, size_t *header_len, df_error *err) {
    const char *p = f->path;
    size_t size;
    if (df_read_file(p, DF_ST_MAX_FILE_BYTES, &f->file, &size, err)) return -1;
    if (size < 8)
        return df_fail(err, "%s: file is %zu bytes, too short to hold the 8-byte header length (truncated?)", p,
                       size);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | f->file[i];
    if (n > DF_ST_MAX_HEADER)
        return df_fail(err, "%s: header length %llu is over the %d-byte limit (safetensors.header; not a safetensors file, "
                       "or corrupt)",
                       p, (unsigned long long)n, DF_ST_MAX_HEADER);
    if (n > size - 8)
        return df_fail(err, "%s: header length %llu runs past the end of the %zu-byte file (truncated?)", p,
                       (unsigned long long)n, size);
    *header = (const char *)f->file + 8;
    *header_len = (size_t)n;
    f->data = f->file + 8 + n;
    f->data_len = size - 8 - (size_t)n;
    return 0;
}

static int load(df_st_file *f, df_error *err) {
    const char *p = f->path;
    const char *header = NULL;
    size_t header_len = 0;
    int rc = read_file(f, &header, &header_len, err);
    if (rc) goto done;
    if ((rc = df_json_parse(header, header_len, &f->doc, err))) {
        df_fail_prefix(err, "%s: header JSON (file offset = 8 + byte)", p);
        goto done;
    }
    const df_json *root = df_json_root(f->doc);
    if (root->type != DF_JSON_OBJECT) {
        rc = df_fail(err, "%s: header is %s, expected a JSON object", p, a_type(root->type));
        goto done;
    }
    const df_json *meta = df_json_get(root, "__metadata__");
    if (root->count - (meta != NULL) > DF_LIMIT_SAFETENSORS_TENSORS) {
        rc = df_fail(err, "%s: header lists %d tensors, over the limit of %d (safetensors.tensors)", p,
                     root->count - (meta != NULL), DF_LIMIT_SAFETENSORS_TENSORS);
        goto done;
    }
    f->t = df_calloc((size_t)(root->count ? root->count : 1), sizeof *f->t);
    for (int i = 0; i < root->count && !rc; i++) {
        if (&root->items[i] == meta) continue;
        r_tensor *t = &f->t[f->nt];
        t->t.name = root->keys[i];
        rc = parse_tensor_entry(f, root->keys[i], &root->items[i], t, err);
        f->nt++;
    }
    if (!rc && meta) {
        if (meta->type != DF_JSON_OBJECT) {
            rc = df_fail(err, "%s: __metadata__ is %s, expected an object of strings", p, a_type(meta->type));
        } else {
            f->meta_key = df_malloc((size_t)(meta->count ? meta->count : 1) * sizeof *f->meta_key);
            f->meta_value = df_malloc((size_t)(meta->count ? meta->count : 1) * sizeof *f->meta_value);
            for (int i = 0; i < meta->count && !rc; i++) {
                if (meta->items[i].type != DF_JSON_STRING)
                    rc = df_fail(err, "%s: metadata '%s' is %s, expected a string", p, meta->keys[i],
                                 a_type(meta->items[i].type));
                f->meta_key[f->nm] = meta->keys[i];
                f->meta_value[f->nm] = meta->items[i].str;
                f->nm++;
            }
        }
    }
    if (rc) goto done;
    qsort(f->t, (size_t)f->nt, sizeof *f->t, cmp_by_offset);
    rc = check_tiling(f, err);
    if (!rc && meta) {
        const df_json *sum = df_json_get(meta, DF_ST_CHECKSUM_KEY);
        if (sum) rc = verify_checksum(f, sum, header, header_len, err);
    }
    for (int i = 0; i < f->nt && !rc; i++) {
        r_tensor *t = &f->t[i];
        const unsigned char *src = f->data + t->begin;
        if (t->elem_bytes == 4 && (uintptr_t)src % 4 == 0) {
            t->t.data = (const float *)(const void *)src;
            continue;
        }
        t->owned = df_malloc((t->t.count ? t->t.count : 1) * sizeof(float));
        if (t->elem_bytes == 4) {
            memcpy(t->owned, src, t->t.count * 4);
        } else {
            int bf16 = !strcmp(t->t.dtype, "BF16");
            for (size_t k = 0; k < t->t.count; k++) {
                uint16_t h = (uint16_t)(src[2 * k] | src[2 * k + 1] << 8);
                t->owned[k] = bf16 ? bf16_to_float(h) : half_to_float(h);
            }
        }
        t->t.data = t->owned;
    }
    if (rc) goto done;
    f->by_name = df_malloc((size_t)(f->nt ? f->nt : 1) * sizeof *f->by_name);
    for (int i = 0; i < f->nt; i++) f->by_name[i] = i;
    qsort_r(f->by_name, (size_t)f->nt, sizeof *f->by_name, cmp_index_name, f->t);
    /* Metadata in key order, so iteration is deterministic. */
    for (int i = 1; i < f->nm; i++)
        for (int k = i; k > 0 && strcmp(f->meta_key[k - 1], f->meta_key[k]) > 0; k--) {
            const char *tk = f->meta_key[k], *tv = f->meta_value[k];
            f->meta_key[k] = f->meta_key[k - 1], f->meta_value[k] = f->meta_value[k - 1];
            f->meta_key[k - 1] = tk, f->meta_value[k - 1] = tv;
        }
done:
    return rc;
}

int df_st_open(const char *path, df_st_file **out, df_error *err) {
    *out = NULL;
    df_st_file *f = df_calloc(1, sizeof *f);
    f->path = df_strdup(path);
    if (load(f, err)) {
        df_st_close(f);
        return -1;
    }
    *out = f;
    return 0;
}

const char *df_st_path(const df_st_file *f) { return f->path; }
int df_st_count(const df_st_file *f) { return f->nt; }

const df_st_tensor *df_st_at(const df_st_file *f, int i) {
    DF_ASSERT(i >= 0 && i < f->nt);
    return &f->t[i].t;
}

const df_st_tensor *df_st_find(const df_st_file *f, const char *name) {
    int lo = 0, hi = f->nt;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(f->t[f->by_name[mid]].t.name, name);
        if (c == 0) return &f->t[f->by_name[mid]].t;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const char *df_st_meta(const df_st_file *f, const char *key) {
    for (int i = 0; i < f->nm; i++)
        if (!strcmp(f->meta_key[i], key)) return f->meta_value[i];
    return NULL;
}

int df_st_meta_count(const df_st_file *f) { return f->nm; }

void df_st_meta_at(const df_st_file *f, int i, const char **key, const char **value) {
    DF_ASSERT(i >= 0 && i < f->nm);
    *key = f->meta_key[i];
    *value = f->meta_value[i];
}

int df_st_has_checksum(const df_st_file *f) { return f->has_checksum; }

int df_st_copy_into(const df_st_file *f, const char *name, int rank, const int64_t *shape, float *dst,
                    df_error *err) {
    const df_st_tensor *t = df_st_find(f, name);
    if (!t) return df_fail(err, "%s: checkpoint has no tensor '%s'", f->path, name);
    int same = t->rank == rank;
    for (int i = 0; same && i < rank; i++) same = t->shape[i] == shape[i];
    if (!same) {
        char a[160], b[160];
        return df_fail(err, "%s: tensor '%s' has shape %s in the checkpoint, expected %s", f->path, name,
                       df_st_shape_str(t->rank, t->shape, a, sizeof a), df_st_shape_str(rank, shape, b, sizeof b));
    }
    if (t->count) memcpy(dst, t->data, t->count * sizeof(float));
    return 0;
}
