/* fuzz_st.c: see fuzz_st.h. */
#include "fuzz_st.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/io/json.h"
#include "core/io/safetensors.h"

#define CHECKSUM_PLACEHOLDER "crc32:00000000"
#define MAX_RELAYOUT_BYTES ((uint64_t)1 << 16)

static char *dup_n(const char *s, size_t n) {
    char *d = malloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static void put_json_string(fuzz_buf *b, const char *s, size_t n) {
    fuzz_buf_puts(b, "\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') fuzz_buf_printf(b, "\\%c", c);
        else if (c < 0x20) fuzz_buf_printf(b, "\\u%04x", c);
        else fuzz_buf_put(b, &s[i], 1);
    }
    fuzz_buf_puts(b, "\"");
}

/* Any parsed JSON value back to text (for metadata values that are not strings). */
static void put_json(fuzz_buf *b, const df_json *v) {
    switch (v->type) {
    case DF_JSON_NULL: fuzz_buf_puts(b, "null"); break;
    case DF_JSON_BOOL: fuzz_buf_puts(b, v->boolean ? "true" : "false"); break;
    case DF_JSON_NUMBER:
        if (v->is_integer) fuzz_buf_printf(b, "%" PRId64, v->integer);
        else fuzz_buf_printf(b, "%.17g", v->number);
        break;
    case DF_JSON_STRING: put_json_string(b, v->str, v->len); break;
    case DF_JSON_ARRAY:
    case DF_JSON_OBJECT:
        fuzz_buf_puts(b, v->type == DF_JSON_ARRAY ? "[" : "{");
        for (int i = 0; i < v->count; i++) {
            if (i) fuzz_buf_puts(b, ",");
            if (v->type == DF_JSON_OBJECT) {
                put_json_string(b, v->keys[i], strlen(v->keys[i]));
                fuzz_buf_puts(b, ":");
            }
            put_json(b, &v->items[i]);
        }
        fuzz_buf_puts(b, v->type == DF_JSON_ARRAY ? "]" : "}");
        break;
    }
}

void fst_free(fst_file *f) {
    for (int i = 0; i < f->nt; i++) free(f->t[i].name);
    for (int i = 0; i < f->nm; i++) {
        free(f->m[i].key);
        free(f->m[i].value);
    }
    free(f->data);
    memset(f, 0, sizeof *f);
}

void fst_set_meta(fst_file *f, const char *key, const char *value, int raw) {
    f->has_meta = 1;
    for (int i = 0; i < f->nm; i++)
        if (!strcmp(f->m[i].key, key)) {
            free(f->m[i].value);
            f->m[i].value = strdup(value);
            f->m[i].raw = raw;
            return;
        }
    if (f->nm == FST_MAX_META) return;
    f->m[f->nm].key = strdup(key);
    f->m[f->nm].value = strdup(value);
    f->m[f->nm++].raw = raw;
}

const char *fst_get_meta(const fst_file *f, const char *key) {
    for (int i = 0; i < f->nm; i++)
        if (!strcmp(f->m[i].key, key) && !f->m[i].raw) return f->m[i].value;
    return NULL;
}

static int parse_tensor(fst_tensor *t, const char *name, const df_json *v) {
    const df_json *dtype = df_json_get(v, "dtype"), *shape = df_json_get(v, "shape"),
                  *offs = df_json_get(v, "data_offsets");
    if (!dtype || dtype->type != DF_JSON_STRING || dtype->len >= sizeof t->dtype || !shape ||
        shape->type != DF_JSON_ARRAY || shape->count > FST_MAX_RANK || !offs || offs->type != DF_JSON_ARRAY ||
        offs->count != 2)
        return -1;
    for (int i = 0; i < shape->count; i++)
        if (shape->items[i].type != DF_JSON_NUMBER || !shape->items[i].is_integer) return -1;
    for (int i = 0; i < 2; i++)
        if (offs->items[i].type != DF_JSON_NUMBER || !offs->items[i].is_integer || offs->items[i].integer < 0)
            return -1;
    t->name = strdup(name);
    memcpy(t->dtype, dtype->str, dtype->len + 1);
    t->rank = shape->count;
    for (int i = 0; i < shape->count; i++) t->shape[i] = shape->items[i].integer;
    t->begin = (uint64_t)offs->items[0].integer;
    t->end = (uint64_t)offs->items[1].integer;
    return 0;
}

int fst_parse(const uint8_t *buf, size_t len, fst_file *f) {
    memset(f, 0, sizeof *f);
    if (len < 8) return -1;
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | buf[i];
    if (n > len - 8) return -1;
    df_json_doc *doc;
    df_error err;
    if (df_json_parse((const char *)buf + 8, (size_t)n, &doc, &err)) return -1;
    const df_json *root = df_json_root(doc);
    int rc = root->type == DF_JSON_OBJECT ? 0 : -1;
    for (int i = 0; rc == 0 && i < root->count; i++) {
        const df_json *v = &root->items[i];
        if (!strcmp(root->keys[i], "__metadata__")) {
            if (v->type != DF_JSON_OBJECT) {
                rc = -1;
                break;
            }
            f->has_meta = 1;
            for (int k = 0; k < v->count && f->nm < FST_MAX_META; k++) {
                const df_json *mv = &v->items[k];
                if (!strcmp(v->keys[k], DF_ST_CHECKSUM_KEY)) {
                    f->checksum = 1;
                    continue;
                }
                f->m[f->nm].key = strdup(v->keys[k]);
                if (mv->type == DF_JSON_STRING) {
                    f->m[f->nm].value = dup_n(mv->str, mv->len);
                } else {
                    fuzz_buf b = {0};
                    put_json(&b, mv);
                    f->m[f->nm].value = b.s ? b.s : strdup("");
                    f->m[f->nm].raw = 1;
                }
                f->nm++;
            }
        } else if (f->nt == FST_MAX_TENSORS || v->type != DF_JSON_OBJECT ||
                   parse_tensor(&f->t[f->nt], root->keys[i], v)) {
            rc = -1;
        } else {
            f->nt++;
        }
    }
    df_json_free(doc);
    if (rc) {
        fst_free(f);
        return -1;
    }
    size_t header_end = 8 + (size_t)n;
    f->data_len = len - header_end;
    f->data = malloc(f->data_len + 1);
    memcpy(f->data, buf + header_end, f->data_len);
    return 0;
}

static uint64_t elem_bytes(const char *dtype) {
    return !strcmp(dtype, "F16") || !strcmp(dtype, "BF16") ? 2 : 4;
}

void fst_relayout(fst_file *f, fuzz_rng *r) {
    uint64_t total = 0, size[FST_MAX_TENSORS];
    for (int i = 0; i < f->nt; i++) {
        uint64_t count = 1;
        for (int d = 0; d < f->t[i].rank; d++) {
            if (f->t[i].shape[d] < 0 || (f->t[i].shape[d] && count > MAX_RELAYOUT_BYTES / (uint64_t)f->t[i].shape[d]))
                return;
            count *= (uint64_t)f->t[i].shape[d];
        }
        size[i] = count * elem_bytes(f->t[i].dtype);
        total += size[i];
        if (total > MAX_RELAYOUT_BYTES) return;
    }
    uint64_t at = 0;
    for (int i = 0; i < f->nt; i++) {
        f->t[i].begin = at;
        f->t[i].end = at + size[i];
        at += size[i];
    }
    unsigned char *data = malloc((size_t)total + 1);
    for (size_t i = 0; i < total; i++) data[i] = i < f->data_len ? f->data[i] : (unsigned char)fuzz_next(r);
    free(f->data);
    f->data = data;
    f->data_len = (size_t)total;
}

void fst_write(const fst_file *f, fuzz_buf *out) {
    fuzz_buf h = {0};
    size_t digits = 0; /* offset in h of the checksum's hex digits */
    fuzz_buf_puts(&h, "{");
    int first = 1;
    if (f->has_meta || f->checksum) {
        fuzz_buf_puts(&h, "\"__metadata__\":{");
        for (int i = 0; i < f->nm; i++) {
            if (i) fuzz_buf_puts(&h, ",");
            put_json_string(&h, f->m[i].key, strlen(f->m[i].key));
            fuzz_buf_puts(&h, ":");
            if (f->m[i].raw) fuzz_buf_puts(&h, f->m[i].value);
            else put_json_string(&h, f->m[i].value, strlen(f->m[i].value));
        }
        if (f->checksum) {
            fuzz_buf_printf(&h, "%s\"" DF_ST_CHECKSUM_KEY "\":\"", f->nm ? "," : "");
            digits = h.len + 6;
            fuzz_buf_puts(&h, CHECKSUM_PLACEHOLDER "\"");
        }
        fuzz_buf_puts(&h, "}");
        first = 0;
    }
    for (int i = 0; i < f->nt; i++) {
        const fst_tensor *t = &f->t[i];
        if (!first) fuzz_buf_puts(&h, ",");
        first = 0;
        put_json_string(&h, t->name, strlen(t->name));
        fuzz_buf_puts(&h, ":{\"dtype\":");
        put_json_string(&h, t->dtype, strlen(t->dtype));
        fuzz_buf_puts(&h, ",\"shape\":[");
        for (int d = 0; d < t->rank; d++) fuzz_buf_printf(&h, "%s%" PRId64, d ? "," : "", t->shape[d]);
        fuzz_buf_printf(&h, "],\"data_offsets\":[%" PRIu64 ",%" PRIu64 "]}", t->begin, t->end);
    }
    fuzz_buf_puts(&h, "}");
    for (int i = 0; i < f->pad; i++) fuzz_buf_puts(&h, " ");
    while ((8 + h.len) % 8) fuzz_buf_puts(&h, " ");
    if (f->checksum) {
        uint32_t crc = df_st_crc32(df_st_crc32(0, h.s, h.len), f->data, f->data_len);
        if (f->checksum == 2) crc ^= 1;
        char hex[9];
        snprintf(hex, sizeof hex, "%08x", crc);
        memcpy(h.s + digits, hex, 8);
    }
    unsigned char len[8];
    for (int i = 0; i < 8; i++) len[i] = (unsigned char)((uint64_t)h.len >> (8 * i));
    fuzz_buf_put(out, len, 8);
    fuzz_buf_put(out, h.s, h.len);
    fuzz_buf_put(out, f->data, f->data_len);
    fuzz_buf_free(&h);
}

static const char *const names[] = {"w", "b", "image.stage0.conv.weight", "head.fc.bias", "optim.m.w", "a.b",
                                    "", "\xc3\xa9", "x\"y", "tab\there", "__metadata_", "n\n", NULL};
static const char *const dtypes[] = {"F32", "F16", "BF16", "F32", "F16", "BF16", "F64", "I32", "U8", "f32", "",
                                     NULL};

static void random_shape(fst_tensor *t, fuzz_rng *r) {
    t->rank = (int)fuzz_below(r, 4);
    if (fuzz_one_in(r, 20)) t->rank = DF_ST_MAX_RANK + (int)fuzz_below(r, 2);
    for (int d = 0; d < t->rank; d++) t->shape[d] = fuzz_below(r, 5);
    if (fuzz_one_in(r, 30)) t->shape[0] = (int64_t)1 << (30 + fuzz_below(r, 33));
}

void fst_random(fst_file *f, fuzz_rng *r) {
    memset(f, 0, sizeof *f);
    f->nt = (int)fuzz_below(r, 7);
    for (int i = 0; i < f->nt; i++) {
        fst_tensor *t = &f->t[i];
        char name[64];
        snprintf(name, sizeof name, "%s%s", fuzz_pick(r, names), fuzz_one_in(r, 4) ? "" : (char[]){(char)('0' + i), 0});
        t->name = strdup(name);
        snprintf(t->dtype, sizeof t->dtype, "%s", fuzz_pick(r, dtypes));
        random_shape(t, r);
    }
    f->data = malloc(1);
    fst_relayout(f, r);
    if (fuzz_one_in(r, 2)) {
        f->has_meta = 1;
        int n = (int)fuzz_below(r, 3);
        for (int i = 0; i < n; i++) {
            char key[16];
            snprintf(key, sizeof key, "k%d", i);
            fst_set_meta(f, key, fuzz_one_in(r, 5) ? "1" : "v", 0);
        }
        if (fuzz_one_in(r, 6)) fst_set_meta(f, "raw", fuzz_one_in(r, 2) ? "1" : "[\"x\"]", 1);
    }
    f->checksum = fuzz_one_in(r, 2) ? 1 : fuzz_one_in(r, 4) ? 2 : 0;
    f->pad = fuzz_one_in(r, 4) ? (int)fuzz_below(r, 20) : 0;
}

void fst_perturb(fst_file *f, fuzz_rng *r) {
    int i = f->nt ? (int)fuzz_below(r, (uint32_t)f->nt) : -1;
    fst_tensor *t = i >= 0 ? &f->t[i] : NULL;
    int layout = 0;
    switch (fuzz_below(r, 14)) {
    case 0:
        if (t) snprintf(t->dtype, sizeof t->dtype, "%s", fuzz_pick(r, dtypes)), layout = 1;
        break;
    case 1:
        if (t && t->rank) {
            int d = (int)fuzz_below(r, (uint32_t)t->rank);
            static const int64_t deltas[] = {1, -1, 2, -2};
            t->shape[d] = fuzz_one_in(r, 8) ? (int64_t)1 << fuzz_below(r, 63) : t->shape[d] + deltas[fuzz_below(r, 4)];
            layout = 1;
        }
        break;
    case 2:
        if (t && fuzz_one_in(r, 2) && t->rank < FST_MAX_RANK) t->shape[t->rank++] = fuzz_below(r, 4);
        else if (t && t->rank) t->rank--;
        layout = 1;
        break;
    case 3:
        if (f->nt >= 2) {
            int j = (int)fuzz_below(r, (uint32_t)f->nt);
            fst_tensor tmp = f->t[i];
            f->t[i] = f->t[j];
            f->t[j] = tmp;
            layout = fuzz_one_in(r, 2);
        }
        break;
    case 4:
        if (t) {
            free(t->name);
            memmove(t, t + 1, (size_t)(f->nt - i - 1) * sizeof *t);
            f->nt--;
            layout = fuzz_one_in(r, 2);
        }
        break;
    case 5:
        if (t && f->nt < FST_MAX_TENSORS) {
            f->t[f->nt] = *t;
            size_t n = strlen(t->name) + 4;
            f->t[f->nt].name = malloc(n);
            snprintf(f->t[f->nt].name, n, "%s%s", t->name, fuzz_one_in(r, 4) ? "" : "_2");
            f->nt++;
            layout = 1;
        }
        break;
    case 6:
        if (t) {
            size_t n = strlen(t->name);
            if (n && !fuzz_one_in(r, 3)) {
                t->name[fuzz_below(r, (uint32_t)n)] = "._aZ0\xc3"[fuzz_below(r, 6)];
            } else {
                free(t->name);
                t->name = strdup(fuzz_pick(r, names));
            }
        }
        break;
    case 7:
        if (t) {
            uint64_t *o = fuzz_one_in(r, 2) ? &t->begin : &t->end;
            *o = (uint64_t)((int64_t)*o + (int64_t)fuzz_below(r, 9) - 4);
        }
        break;
    case 8: {
        static const char *const keys[] = {"df.format", "df.arch", "df.state", "df.config", "df.encoder",
                                           "df.data", "df.classes", "k", "", NULL};
        static const char *const values[] = {"", "x", "dermfuse.checkpoint.v1", "{}", "[]", "0", "\xc3\xa9", NULL};
        fst_set_meta(f, fuzz_pick(r, keys), fuzz_pick(r, values), 0);
        break;
    }
    case 9:
        if (f->nm) {
            int k = (int)fuzz_below(r, (uint32_t)f->nm);
            free(f->m[k].key);
            free(f->m[k].value);
            f->m[k] = f->m[--f->nm];
        } else {
            f->has_meta = !f->has_meta;
        }
        break;
    case 10:
        if (f->nm) {
            static const char *const raw[] = {"1", "null", "[]", "{}", "true", "\"s\"", NULL};
            int k = (int)fuzz_below(r, (uint32_t)f->nm);
            fst_set_meta(f, f->m[k].key, fuzz_pick(r, raw), 1);
        }
        break;
    case 11: {
        size_t n = fuzz_one_in(r, 2) && f->data_len ? f->data_len - 1 - fuzz_below(r, (uint32_t)f->data_len)
                                                     : f->data_len + 1 + fuzz_below(r, 8);
        f->data = realloc(f->data, n + 1);
        for (size_t k = f->data_len; k < n; k++) f->data[k] = (unsigned char)fuzz_next(r);
        f->data_len = n;
        break;
    }
    case 12: f->checksum = (int)fuzz_below(r, 3); break;
    default: f->pad = (int)fuzz_below(r, 24); break;
    }
    if (layout && !fuzz_one_in(r, 4)) fst_relayout(f, r);
}

void fuzz_st_fix(uint8_t *data, size_t size) {
    size_t i = 8;
    while (i < size && (data[i] == ' ' || data[i] == '\n' || data[i] == '\t' || data[i] == '\r')) i++;
    if (i >= size || data[i] != '{') return;
    int depth = 0, in_str = 0;
    size_t end = 0;
    for (size_t j = i; j < size && !end; j++) {
        unsigned char c = data[j];
        if (in_str) {
            if (c == '\\') j++;
            else if (c == '"') in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if ((c == '}' || c == ']') && --depth == 0) {
            end = j + 1;
        }
    }
    if (!end) return;
    while (end < size && data[end] == ' ') end++;
    uint64_t n = end - 8;
    for (int k = 0; k < 8; k++) data[k] = (uint8_t)(n >> (8 * k));
    static const char key[] = "\"" DF_ST_CHECKSUM_KEY "\"";
    uint8_t *at = memmem(data + 8, end - 8, key, sizeof key - 1);
    if (!at) return;
    size_t p = (size_t)(at - data) + sizeof key - 1;
    while (p < end && data[p] == ' ') p++;
    if (p >= end || data[p++] != ':') return;
    while (p < end && data[p] == ' ') p++;
    if (p + 16 > end || memcmp(data + p, "\"crc32:", 7) || data[p + 15] != '"') return;
    memset(data + p + 7, '0', 8);
    uint32_t crc = df_st_crc32(df_st_crc32(0, data + 8, end - 8), data + end, size - end);
    char hex[9];
    snprintf(hex, sizeof hex, "%08x", crc);
    memcpy(data + p + 7, hex, 8);
}

size_t fuzz_st_mutate(uint8_t *data, size_t size, size_t max, unsigned seed, void (*gen)(fst_file *, fuzz_rng *),
                      void (*perturb)(fst_file *, fuzz_rng *)) {
    fuzz_rng r = fuzz_rng_make(seed);
    uint32_t k = fuzz_below(&r, 10);
    fst_file f;
    int have = 0;
    if (k == 0 && gen) {
        gen(&f, &r);
        have = 1;
    } else if (k <= 4 && fst_parse(data, size, &f) == 0) {
        int n = 1 + (int)fuzz_below(&r, 3);
        for (int i = 0; i < n; i++) perturb(&f, &r);
        have = 1;
    }
    if (have) {
        fuzz_buf b = {0};
        fst_write(&f, &b);
        fst_free(&f);
        size_t n = fuzz_emit(&b, data, max);
        fuzz_buf_free(&b);
        if (n) return n;
    }
    size_t n = LLVMFuzzerMutate(data, size, max);
    if (!fuzz_one_in(&r, 4)) fuzz_st_fix(data, n);
    return n;
}
