/* safetensors.c: writing and reading safetensors files (see safetensors.h for the promises). */
#include "core/io/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/io/json.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors data is little-endian; this file assumes a little-endian host"
#endif

/* ---- CRC-32, slicing by 8 (eight table lookups per 8 input bytes instead of one per byte) ---- */

static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[0][i] = c;
    }
    for (int t = 1; t < 8; t++)
        for (int i = 0; i < 256; i++)
            crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
}

static uint32_t load_le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint32_t df_st_crc32(uint32_t crc, const void *data, size_t n) {
    pthread_once(&crc_once, crc_init);
    const unsigned char *p = data;
    crc = ~crc;
    for (; n >= 8; n -= 8, p += 8) {
        uint32_t a = crc ^ load_le32(p), b = load_le32(p + 4);
        crc = crc_table[7][a & 0xff] ^ crc_table[6][(a >> 8) & 0xff] ^ crc_table[5][(a >> 16) & 0xff] ^
              crc_table[4][a >> 24] ^ crc_table[3][b & 0xff] ^ crc_table[2][(b >> 8) & 0xff] ^
              crc_table[1][(b >> 16) & 0xff] ^ crc_table[0][b >> 24];
    }
    for (; n; n--, p++) crc = crc_table[0][(crc ^ *p) & 0xff] ^ (crc >> 8);
    return ~crc;
}

const char *df_st_shape_str(int rank, const int64_t *shape, char *buf, size_t size) {
    size_t used = 0;
    used += (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < rank && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (used < size) snprintf(buf + used, size - used, "]");
    return buf;
}

/* Elements in a shape, or -1 if the count times elem_bytes overflows. */
static int64_t shape_count(int rank, const int64_t *shape, int64_t elem_bytes) {
    int64_t count = 1;
    for (int i = 0; i < rank; i++) {
        if (shape[i] == 0) return 0;
        if (count > INT64_MAX / elem_bytes / shape[i]) return -1;
        count *= shape[i];
    }
    return count;
}

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
    int64_t count = shape_count(rank, shape, 4);
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

static int sync_dir(const char *path, df_error *err) {
    char *dir = df_strdup(path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        strcpy(dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    int rc = 0;
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0 || (fsync(fd) != 0 && errno != EINVAL && errno != ENOTSUP))
        rc = df_fail(err, "%s: written, but syncing its directory '%s' failed: %s", path, dir, strerror(errno));
    if (fd >= 0) close(fd);
    free(dir);
    return rc;
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

    size_t tmp_size = strlen(path) + 32;
    char *tmp = df_malloc(tmp_size);
    snprintf(tmp, tmp_size, "%s.tmp.%ld", path, (long)getpid());
    FILE *fp = fopen(tmp, "wb");
    if (!fp) {
        rc = df_fail(err, "%s: cannot create the temporary file '%s': %s", path, tmp, strerror(errno));
    } else {
        int ok = write_all(fp, len_le, 8) && write_all(fp, j.text, j.len);
        for (int i = 0; ok && i < w->nt; i++) ok = write_all(fp, ts[i]->data, ts[i]->count * 4);
        ok = ok && fflush(fp) == 0 && fsync(fileno(fp)) == 0;
        int saved = errno;
        if (fclose(fp) != 0 && ok) ok = 0, saved = errno;
        if (!ok) {
            rc = df_fail(err, "%s: writing the temporary file '%s' failed: %s", path, tmp, strerror(saved));
        } else if (rename(tmp, path) != 0) {
            rc = df_fail(err, "%s: cannot rename '%s' to it: %s", path, tmp, strerror(errno));
        } else {
            rc = sync_dir(path, err);
        }
        if (rc && access(tmp, F_OK) == 0) unlink(tmp);
    }
    free(tmp);
    df_json_writer_free(&j);
    free(ts);
    free(ms);
    return rc;
}

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
    unsigned char *data;
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
    free(f->t);
    free(f->by_name);
    free(f->meta_key);
    free(f->meta_value);
    free(f->data);
    df_json_free(f->doc);
    free(f->path);
    free(f);
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
    int64_t count = shape_count(out->t.rank, out->t.shape, out->elem_bytes);
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

/* Reads the 8-byte length, the header text (NUL-terminated, into *header) and the data buffer. */
static int read_file(df_st_file *f, char **header, size_t *header_len, df_error *err) {
    const char *p = f->path;
    FILE *fp = fopen(p, "rb");
    if (!fp) return df_fail(err, "%s: cannot open: %s", p, strerror(errno));
    struct stat st;
    int rc = 0;
    if (fstat(fileno(fp), &st) != 0) {
        rc = df_fail(err, "%s: cannot stat: %s", p, strerror(errno));
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = df_fail(err, "%s: not a regular file", p);
        goto done;
    }
    uint64_t size = (uint64_t)st.st_size;
    unsigned char len_le[8];
    if (size < 8) {
        rc = df_fail(err, "%s: file is %llu bytes, too short to hold the 8-byte header length (truncated?)", p,
                     (unsigned long long)size);
        goto done;
    }
    if (fread(len_le, 1, 8, fp) != 8) {
        rc = df_fail(err, "%s: read error: %s", p, ferror(fp) ? strerror(errno) : "unexpected end of file");
        goto done;
    }
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | len_le[i];
    if (n > DF_ST_MAX_HEADER) {
        rc = df_fail(err, "%s: header length %llu is over the %d-byte limit (not a safetensors file, or corrupt)",
                     p, (unsigned long long)n, DF_ST_MAX_HEADER);
        goto done;
    }
    if (n > size - 8) {
        rc = df_fail(err, "%s: header length %llu runs past the end of the %llu-byte file (truncated?)", p,
                     (unsigned long long)n, (unsigned long long)size);
        goto done;
    }
    *header_len = (size_t)n;
    *header = df_malloc((size_t)n + 1);
    f->data_len = (size_t)(size - 8 - n);
    f->data = df_aligned_alloc(f->data_len);
    if (fread(*header, 1, (size_t)n, fp) != n || fread(f->data, 1, f->data_len, fp) != f->data_len) {
        rc = df_fail(err, "%s: read error: %s", p,
                     ferror(fp) ? strerror(errno) : "file shrank while being read");
        goto done;
    }
    (*header)[n] = '\0';
done:
    fclose(fp);
    return rc;
}

static int load(df_st_file *f, df_error *err) {
    const char *p = f->path;
    char *header = NULL;
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
        if (t->elem_bytes == 4 && t->begin % 4 == 0) {
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
    free(header);
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
