/* test_safetensors.c: safetensors files round-trip exactly and deterministically, writes are atomic, and
 * every kind of damaged or malformed file is refused with a message naming the path and the problem. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "core/rng.h"
#include "core/io/safetensors.h"

static char dir[256];

static const char *in_dir(const char *name, char *buf, size_t size) {
    snprintf(buf, size, "%s/%s", dir, name);
    return buf;
}

static unsigned char *slurp(const char *path, size_t *len) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n + 1);
    *len = fread(b, 1, (size_t)n, fp);
    fclose(fp);
    return b;
}

static void spit(const char *path, const void *data, size_t len) {
    FILE *fp = fopen(path, "wb");
    if (!fp) {
        CHECK_MSG(0, "cannot write %s", path);
        return;
    }
    CHECK(fwrite(data, 1, len, fp) == len);
    fclose(fp);
}

/* A hand-made file: the given header text (length stored as is) and data bytes. */
static void spit_raw(const char *path, const char *header, const void *data, size_t data_len) {
    size_t n = strlen(header);
    unsigned char *b = malloc(8 + n + data_len + 1);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)n >> (8 * i));
    memcpy(b + 8, header, n);
    if (data_len) memcpy(b + 8 + n, data, data_len);
    spit(path, b, 8 + n + data_len);
    free(b);
}

static int count_temp_files(void) {
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strstr(e->d_name, ".tmp.")) n++;
    if (d) closedir(d);
    return n;
}

/* The file must be refused; the message must start with the path and contain fragment. */
static void expect_refused(const char *path, const char *fragment, const char *what) {
    df_st_file *f = (df_st_file *)1;
    df_error err = {{0}};
    int rc = df_st_open(path, &f, &err);
    CHECK_MSG(rc == -1 && f == NULL, "%s: accepted", what);
    if (rc == 0) df_st_close(f);
    CHECK_MSG(!strncmp(err.msg, path, strlen(path)), "%s: message does not start with the path: %s", what,
              err.msg);
    CHECK_MSG(strstr(err.msg, fragment) != NULL, "%s: message '%s' lacks '%s'", what, err.msg, fragment);
}

/* ---- the round-trip fixture ---- */

#define NT 6
static const char *names[NT] = {"f.r8", "b.rank0", "a.vec", "d.empty", "c.mat", "e.r4"};
static const int ranks[NT] = {8, 0, 1, 3, 2, 4};
static const int64_t shapes[NT][8] = {
    {1, 2, 1, 2, 1, 1, 2, 1}, {0}, {5}, {2, 0, 3}, {3, 4}, {2, 1, 3, 2},
};
static float *values[NT];
static size_t counts[NT];
static const char *config_text = "model: \"late\" \\ path C:\\x\nnext line\ttab é 日本 😀 \x01 end";

static void make_values(void) {
    df_rng r = df_rng_make(7, DF_STREAM_INIT);
    for (int i = 0; i < NT; i++) {
        size_t c = 1;
        for (int k = 0; k < ranks[i]; k++) c *= (size_t)shapes[i][k];
        counts[i] = c;
        values[i] = malloc((c ? c : 1) * sizeof(float));
        for (size_t k = 0; k < c; k++) values[i][k] = df_rng_normal(&r);
    }
    values[2][1] = -0.0f; /* the sign of zero must survive */
    values[2][2] = 1e-45f; /* a subnormal too */
}

static int write_fixture(const char *path, df_error *err) {
    df_st_writer *w = df_st_writer_new();
    int rc = 0;
    for (int i = 0; i < NT && !rc; i++) rc = df_st_add(w, names[i], ranks[i], shapes[i], values[i], err);
    if (!rc) rc = df_st_add_meta(w, "epoch", "12", err);
    if (!rc) rc = df_st_add_meta(w, "config", config_text, err);
    if (!rc) rc = df_st_add_meta(w, "empty", "", err);
    if (!rc) rc = df_st_write(w, path, err);
    df_st_writer_free(w);
    return rc;
}

static void test_round_trip(void) {
    char p1[300], p2[300];
    in_dir("a.safetensors", p1, sizeof p1);
    in_dir("b.safetensors", p2, sizeof p2);
    df_error err = {{0}};
    CHECK_MSG(write_fixture(p1, &err) == 0, "%s", err.msg);
    CHECK_MSG(write_fixture(p2, &err) == 0, "%s", err.msg);
    CHECK(count_temp_files() == 0);

    size_t n1 = 0, n2 = 0;
    unsigned char *b1 = slurp(p1, &n1), *b2 = slurp(p2, &n2);
    CHECK(b1 && b2 && n1 == n2 && !memcmp(b1, b2, n1));
    if (b1 && n1 >= 8) {
        uint64_t hl = 0;
        for (int i = 7; i >= 0; i--) hl = hl << 8 | b1[i];
        CHECK((8 + hl) % 8 == 0); /* data aligned */
        CHECK(b1[8] == '{');
    }
    free(b1);
    free(b2);
    /* Rewriting the same path replaces it, still identical. */
    CHECK_MSG(write_fixture(p1, &err) == 0, "%s", err.msg);
    b1 = slurp(p1, &n1);
    b2 = slurp(p2, &n2);
    CHECK(b1 && b2 && n1 == n2 && !memcmp(b1, b2, n1));
    free(b1);
    free(b2);

    df_st_file *f = NULL;
    CHECK_MSG(df_st_open(p1, &f, &err) == 0, "%s", err.msg);
    if (!f) return;
    CHECK(!strcmp(df_st_path(f), p1));
    CHECK(df_st_count(f) == NT);
    CHECK(df_st_has_checksum(f));
    /* Data order is name order. */
    for (int i = 1; i < df_st_count(f); i++) CHECK(strcmp(df_st_at(f, i - 1)->name, df_st_at(f, i)->name) < 0);
    for (int i = 0; i < NT; i++) {
        const df_st_tensor *t = df_st_find(f, names[i]);
        CHECK_MSG(t != NULL, "%s missing", names[i]);
        if (!t) continue;
        CHECK(!strcmp(t->name, names[i]) && !strcmp(t->dtype, "F32"));
        CHECK(t->rank == ranks[i] && t->count == counts[i]);
        for (int k = 0; k < ranks[i]; k++) CHECK(t->shape[k] == shapes[i][k]);
        CHECK(((uintptr_t)t->data % 4) == 0);
        CHECK_MSG(counts[i] == 0 || !memcmp(t->data, values[i], counts[i] * 4), "%s values differ", names[i]);
    }
    CHECK(df_st_find(f, "nope") == NULL);
    CHECK(df_st_find(f, "") == NULL);
    CHECK(df_st_meta(f, "config") && !strcmp(df_st_meta(f, "config"), config_text));
    CHECK(df_st_meta(f, "epoch") && !strcmp(df_st_meta(f, "epoch"), "12"));
    CHECK(df_st_meta(f, "empty") && !strcmp(df_st_meta(f, "empty"), ""));
    CHECK(df_st_meta(f, "missing") == NULL);
    const char *ck = df_st_meta(f, DF_ST_CHECKSUM_KEY);
    CHECK(ck && !strncmp(ck, "crc32:", 6) && strlen(ck) == 14);
    CHECK(df_st_meta_count(f) == 4);
    const char *k0, *v0, *k3, *v3;
    df_st_meta_at(f, 0, &k0, &v0);
    df_st_meta_at(f, 3, &k3, &v3);
    CHECK(!strcmp(k0, "config") && !strcmp(k3, "epoch") && !strcmp(v3, "12"));

    /* copy_into: exact shape only. */
    float mat[12] = {0};
    int64_t good[2] = {3, 4}, bad[2] = {4, 3};
    CHECK_MSG(df_st_copy_into(f, "c.mat", 2, good, mat, &err) == 0, "%s", err.msg);
    CHECK(!memcmp(mat, values[4], sizeof mat));
    CHECK(df_st_copy_into(f, "c.mat", 2, bad, mat, &err) == -1);
    CHECK_MSG(strstr(err.msg, p1) == err.msg && strstr(err.msg, "'c.mat' has shape [3, 4] in the checkpoint, "
                                                                "expected [4, 3]"), "%s", err.msg);
    CHECK(df_st_copy_into(f, "c.mat", 1, good, mat, &err) == -1);
    CHECK(df_st_copy_into(f, "x.weight", 2, good, mat, &err) == -1);
    CHECK_MSG(strstr(err.msg, "checkpoint has no tensor 'x.weight'") != NULL, "%s", err.msg);
    float scalar = 0;
    CHECK(df_st_copy_into(f, "b.rank0", 0, NULL, &scalar, &err) == 0 && scalar == values[1][0]);
    df_st_close(f);
}

/* ---- writer errors and atomicity ---- */

static void test_writer_errors(void) {
    char p[300];
    in_dir("w.safetensors", p, sizeof p);
    float x[4] = {1, 2, 3, 4};
    int64_t s4[1] = {4}, s9[9] = {1, 1, 1, 1, 1, 1, 1, 1, 4}, neg[1] = {-1};
    df_error err = {{0}};
    df_st_writer *w = df_st_writer_new();
    CHECK(df_st_add(w, "", 1, s4, x, &err) == -1);
    CHECK(df_st_add(w, "__metadata__", 1, s4, x, &err) == -1 && strstr(err.msg, "reserved"));
    CHECK(df_st_add(w, "r9", 9, s9, x, &err) == -1 && strstr(err.msg, "rank 9"));
    CHECK(df_st_add(w, "neg", 1, neg, x, &err) == -1 && strstr(err.msg, "negative"));
    CHECK(df_st_add(w, "bad\xff", 1, s4, x, &err) == -1 && strstr(err.msg, "UTF-8"));
    CHECK(df_st_add_meta(w, DF_ST_CHECKSUM_KEY, "x", &err) == -1 && strstr(err.msg, "reserved"));
    CHECK(df_st_add_meta(w, "k", "v\xc3", &err) == -1 && strstr(err.msg, "UTF-8"));
    CHECK(df_st_add(w, "x", 1, s4, x, &err) == 0);
    CHECK(df_st_add(w, "y", 1, s4, x, &err) == 0);
    CHECK(df_st_add(w, "x", 1, s4, x, &err) == 0);
    CHECK(df_st_write(w, p, &err) == -1);
    CHECK_MSG(strstr(err.msg, p) == err.msg && strstr(err.msg, "duplicate tensor name 'x'"), "%s", err.msg);
    CHECK(access(p, F_OK) != 0 && count_temp_files() == 0);
    df_st_writer_free(w);

    w = df_st_writer_new();
    CHECK(df_st_add(w, "x", 1, s4, x, &err) == 0);
    CHECK(df_st_add_meta(w, "k", "1", &err) == 0 && df_st_add_meta(w, "k", "2", &err) == 0);
    CHECK(df_st_write(w, p, &err) == -1 && strstr(err.msg, "duplicate metadata key 'k'"));
    df_st_writer_free(w);

    /* An empty file (no tensors, no metadata of its own) is still a valid, checksummed file. */
    w = df_st_writer_new();
    CHECK_MSG(df_st_write(w, p, &err) == 0, "%s", err.msg);
    df_st_writer_free(w);
    df_st_file *f = NULL;
    CHECK_MSG(df_st_open(p, &f, &err) == 0, "%s", err.msg);
    if (f) CHECK(df_st_count(f) == 0 && df_st_has_checksum(f) && df_st_meta_count(f) == 1);
    df_st_close(f);
}

static void test_atomicity(void) {
    char p[300], missing[300], tmp[340], asdir[300], inner[340];
    in_dir("keep.safetensors", p, sizeof p);
    df_error err = {{0}};
    CHECK_MSG(write_fixture(p, &err) == 0, "%s", err.msg);
    size_t n0 = 0;
    unsigned char *before = slurp(p, &n0);

    /* A directory that does not exist. */
    in_dir("no/such/dir/x.safetensors", missing, sizeof missing);
    CHECK(write_fixture(missing, &err) == -1);
    CHECK_MSG(strstr(err.msg, missing) == err.msg && strstr(err.msg, "cannot create the temporary file") &&
                  strstr(err.msg, "No such file or directory"), "%s", err.msg);

    /* The temporary file cannot be created: the existing checkpoint must stay as it was. */
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", p, (long)getpid());
    CHECK(mkdir(tmp, 0700) == 0);
    CHECK(write_fixture(p, &err) == -1);
    CHECK_MSG(strstr(err.msg, "cannot create the temporary file"), "%s", err.msg);
    size_t n1 = 0;
    unsigned char *after = slurp(p, &n1);
    CHECK(before && after && n0 == n1 && !memcmp(before, after, n0));
    free(after);
    rmdir(tmp);

    /* The rename fails (the target is a non-empty directory): no temporary file may be left behind. */
    in_dir("isdir.safetensors", asdir, sizeof asdir);
    snprintf(inner, sizeof inner, "%s/f", asdir);
    CHECK(mkdir(asdir, 0700) == 0);
    spit(inner, "x", 1);
    CHECK(write_fixture(asdir, &err) == -1);
    CHECK_MSG(strstr(err.msg, "cannot rename"), "%s", err.msg);
    CHECK(count_temp_files() == 0);
    unlink(inner);
    rmdir(asdir);
    free(before);
}

/* ---- damaged files ---- */

static void test_corruption(void) {
    char good[300], bad[300];
    in_dir("good.safetensors", good, sizeof good);
    in_dir("bad.safetensors", bad, sizeof bad);
    df_error err = {{0}};
    CHECK_MSG(write_fixture(good, &err) == 0, "%s", err.msg);
    size_t n = 0;
    unsigned char *b = slurp(good, &n);
    if (!b) return;
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = hl << 8 | b[i];
    size_t data_at = 8 + (size_t)hl;
    CHECK(data_at < n);

    /* Truncated at several points. */
    spit(bad, b, 0);
    expect_refused(bad, "too short", "empty file");
    spit(bad, b, 5);
    expect_refused(bad, "too short", "cut inside the length");
    spit(bad, b, 8);
    expect_refused(bad, "runs past the end", "cut after the length");
    spit(bad, b, 8 + (size_t)hl / 2);
    expect_refused(bad, "runs past the end", "cut inside the header");
    spit(bad, b, data_at + (n - data_at) / 2);
    expect_refused(bad, "truncated", "cut inside the data");
    spit(bad, b, n - 1);
    expect_refused(bad, "truncated", "last byte missing");

    /* One flipped bit anywhere in the data. */
    for (size_t i = data_at; i < n; i += 5) {
        b[i] ^= 0x10;
        spit(bad, b, n);
        expect_refused(bad, "checksum mismatch: the file is corrupt", "flipped data byte");
        b[i] ^= 0x10;
    }

    /* One flipped bit anywhere in the header: refused, whether by the JSON reader, the validation or the
     * checksum. The one exception is the checksum's own key: a damaged key reads as a file without a
     * checksum, which is all a reader can see. */
    const char *key = "\"" DF_ST_CHECKSUM_KEY "\"";
    const char *key_at = memmem(b + 8, (size_t)hl, key, strlen(key));
    CHECK(key_at != NULL);
    size_t key_begin = (size_t)(key_at - (const char *)b), key_end = key_begin + strlen(key);
    int refused = 0, tried = 0;
    const unsigned char masks[2] = {0x01, 0x80};
    for (size_t i = 8; i < data_at; i++)
        for (int m = 0; m < 2; m++) {
            b[i] ^= masks[m];
            spit(bad, b, n);
            df_st_file *f = NULL;
            int rc = df_st_open(bad, &f, &err);
            if (i > key_begin && i < key_end - 1) {
                if (rc == 0) CHECK(!df_st_has_checksum(f));
            } else {
                tried++;
                refused += rc == -1;
                CHECK_MSG(rc == -1, "flip 0x%02x at byte %zu ('%c') accepted", masks[m], i, b[i] ^ masks[m]);
                if (rc == -1) CHECK(!strncmp(err.msg, bad, strlen(bad)));
            }
            df_st_close(f);
            b[i] ^= masks[m];
        }
    CHECK(tried > 500 && refused == tried);

    /* Header length field damaged. */
    unsigned char saved[8];
    memcpy(saved, b, 8);
    memset(b, 0xff, 8);
    spit(bad, b, n);
    expect_refused(bad, "over the 100000000-byte limit", "huge header length");
    memset(b, 0, 8);
    b[0] = 0x01, b[1] = 0xe1, b[2] = 0xf5, b[3] = 0x05; /* 100000001 */
    spit(bad, b, n);
    expect_refused(bad, "over the 100000000-byte limit", "header length just over the limit");
    memcpy(b, saved, 8);
    b[0] = (unsigned char)(b[0] + 8); /* points inside the data */
    spit(bad, b, n);
    expect_refused(bad, "header JSON", "header length too long by 8");
    memcpy(b, saved, 8);
    free(b);
}

static void test_malformed(void) {
    char p[300];
    in_dir("m.safetensors", p, sizeof p);
    float d[4] = {1, 2, 3, 4};

    spit_raw(p, "{\"x\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", d, 8);
    expect_refused(p, "tensor 'x' has dtype I64", "wrong dtype");
    spit_raw(p,
             "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
             "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
             d, 12);
    expect_refused(p, "tensors 'a' and 'b' overlap", "overlapping offsets");
    spit_raw(p,
             "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
             "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
             d, 12);
    expect_refused(p, "gap in the data buffer", "gap between tensors");
    spit_raw(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", d, 8);
    expect_refused(p, "has 8 bytes but the tensors cover 4", "trailing bytes");
    spit_raw(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", d, 8);
    expect_refused(p, "shape [3] (12 bytes as F32) but data_offsets [0, 8] span 8 bytes", "shape vs offsets");
    spit_raw(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", d, 8);
    expect_refused(p, "begin after end", "reversed offsets");
    spit_raw(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", d, 8);
    expect_refused(p, "not a non-negative integer", "negative dimension");
    spit_raw(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", d, 8);
    expect_refused(p, "not a non-negative integer", "fractional dimension");
    spit_raw(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"extra\":1}}", d, 8);
    expect_refused(p, "unknown field 'extra'", "unknown field");
    spit_raw(p, "{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", d, 8);
    expect_refused(p, "needs a string \"dtype\"", "missing dtype");
    spit_raw(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", d, 8);
    expect_refused(p, "data_offsets", "missing offsets");
    spit_raw(p,
             "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,8]}}",
             d, 8);
    expect_refused(p, "too large", "shape product overflow");
    spit_raw(p, "{\"__metadata__\":{\"k\":1}}", NULL, 0);
    expect_refused(p, "metadata 'k' is a number, expected a string", "non-string metadata");
    spit_raw(p, "{\"__metadata__\":[]}", NULL, 0);
    expect_refused(p, "__metadata__ is an array", "metadata not an object");
    spit_raw(p, "[1]", NULL, 0);
    expect_refused(p, "header is an array, expected a JSON object", "array header");
    spit_raw(p, "", NULL, 0);
    expect_refused(p, "byte 0: expected a value", "empty header");
    spit_raw(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{}}", d, 4);
    expect_refused(p, "duplicate key \"a\"", "duplicate tensor");
    spit_raw(p, "{\"__metadata__\":{\"df.checksum\":\"crc32:zz\"}}", NULL, 0);
    expect_refused(p, "expected \"crc32:\" and 8 hex digits", "malformed checksum");
    expect_refused(dir, "not a regular file", "a directory");
    char none[300];
    expect_refused(in_dir("does-not-exist", none, sizeof none), "cannot open", "missing file");
}

/* Files from other tools: no checksum, F16/BF16 converted, an F32 tensor at an offset that is not a multiple
 * of 4, zero-size tensors sharing an offset, padding spaces after the JSON. */
static void test_foreign(void) {
    char p[300];
    in_dir("foreign.safetensors", p, sizeof p);
    unsigned char data[22];
    const uint16_t half[5] = {0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00}; /* 1, -2, 65504, 2^-24, inf */
    const uint16_t bf[2] = {0x3f80, 0xbf00};                            /* 1, -0.5 */
    for (int i = 0; i < 5; i++) data[2 * i] = (unsigned char)half[i], data[2 * i + 1] = (unsigned char)(half[i] >> 8);
    for (int i = 0; i < 2; i++)
        data[10 + 2 * i] = (unsigned char)bf[i], data[10 + 2 * i + 1] = (unsigned char)(bf[i] >> 8);
    float f32[2] = {3.25f, -7.5f};
    memcpy(data + 14, f32, 8);
    spit_raw(p,
             "{\"h\":{\"dtype\":\"F16\",\"shape\":[5],\"data_offsets\":[0,10]},"
             "\"z1\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[10,10]},"
             "\"b\":{\"dtype\":\"BF16\",\"shape\":[2,1],\"data_offsets\":[10,14]},"
             "\"z2\":{\"dtype\":\"F32\",\"shape\":[3,0],\"data_offsets\":[10,10]},"
             "\"f\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[14,22]}}     ",
             data, sizeof data);
    df_st_file *f = NULL;
    df_error err = {{0}};
    CHECK_MSG(df_st_open(p, &f, &err) == 0, "%s", err.msg);
    if (!f) return;
    CHECK(!df_st_has_checksum(f) && df_st_meta_count(f) == 0 && df_st_count(f) == 5);
    const df_st_tensor *h = df_st_find(f, "h"), *b = df_st_find(f, "b"), *g = df_st_find(f, "f");
    CHECK(h && b && g && df_st_find(f, "z1") && df_st_find(f, "z2"));
    if (h && b && g) {
        CHECK(!strcmp(h->dtype, "F16") && h->count == 5);
        CHECK(h->data[0] == 1.0f && h->data[1] == -2.0f && h->data[2] == 65504.0f);
        CHECK(h->data[3] == ldexpf(1.0f, -24) && isinf(h->data[4]) && h->data[4] > 0);
        CHECK(!strcmp(b->dtype, "BF16") && b->rank == 2 && b->data[0] == 1.0f && b->data[1] == -0.5f);
        CHECK(((uintptr_t)g->data % 4) == 0 && g->data[0] == 3.25f && g->data[1] == -7.5f);
    }
    df_st_close(f);
}

static void test_crc(void) {
    /* The standard check value of CRC-32. */
    CHECK(df_st_crc32(0, "123456789", 9) == 0xcbf43926u);
    /* Chaining equals one pass, at lengths that exercise both the 8-byte and the byte loop. */
    unsigned char buf[100];
    for (int i = 0; i < 100; i++) buf[i] = (unsigned char)(i * 37 + 11);
    uint32_t whole = df_st_crc32(0, buf, 100);
    for (size_t cut = 0; cut <= 100; cut += 7)
        CHECK(df_st_crc32(df_st_crc32(0, buf, cut), buf + cut, 100 - cut) == whole);
    CHECK(df_st_crc32(0, "", 0) == 0);
}

int main(void) {
    const char *base = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/dermfuse-st-XXXXXX", base ? base : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    make_values();
    test_crc();
    test_round_trip();
    test_writer_errors();
    test_atomicity();
    test_corruption();
    test_malformed();
    test_foreign();
    for (int i = 0; i < NT; i++) free(values[i]);
    /* Remove the files this test made. */
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[600];
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    if (d) closedir(d);
    rmdir(dir);
    return check_report();
}
