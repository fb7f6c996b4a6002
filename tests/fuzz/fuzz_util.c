/* fuzz_util.c: see fuzz_util.h. */
#include "fuzz_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *dir;
static char **written;
static int n_written, cap_written;

static void remove_dir(void) {
    fuzz_reset();
    if (dir) rmdir(dir);
}

const char *fuzz_dir(void) {
    if (dir) return dir;
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp) tmp = "/tmp";
    size_t n = strlen(tmp) + 32;
    dir = malloc(n);
    snprintf(dir, n, "%s/dermfuse-fuzz.XXXXXX", tmp);
    if (!mkdtemp(dir)) fuzz_fail("cannot create a folder under %s", tmp);
    atexit(remove_dir);
    return dir;
}

const char *fuzz_write(const char *name, const void *data, size_t len) {
    const char *d = fuzz_dir();
    size_t n = strlen(d) + strlen(name) + 2;
    char *path = malloc(n);
    snprintf(path, n, "%s/%s", d, name);
    FILE *f = fopen(path, "wb");
    if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f)) fuzz_fail("cannot write %s", path);
    if (n_written == cap_written) {
        cap_written = cap_written ? 2 * cap_written : 16;
        written = realloc(written, (size_t)cap_written * sizeof *written);
    }
    written[n_written++] = path;
    return path;
}

void fuzz_reset(void) {
    for (int i = 0; i < n_written; i++) {
        unlink(written[i]);
        free(written[i]);
    }
    n_written = 0;
}

/* The marker at line start s (length n of the line), or 0: 'f' for a file, 's' for a set block. */
static int marker(const char *s, size_t n) {
    if (n == strlen(FUZZ_FILE_MARK) && !memcmp(s, FUZZ_FILE_MARK, n)) return 'f';
    if (n == strlen(FUZZ_SET_MARK) && !memcmp(s, FUZZ_SET_MARK, n)) return 's';
    return 0;
}

/* Adds s[begin..end) to p as a file or, mode 's', as one override per line. */
static void add_part(fuzz_parts *p, char **out, int mode, const char *s, size_t begin, size_t end) {
    if (mode == 'f') {
        if (p->n_files == FUZZ_MAX_FILES) return;
        memcpy(*out, s + begin, end - begin);
        (*out)[end - begin] = '\0';
        p->file[p->n_files] = *out;
        p->file_len[p->n_files++] = end - begin;
        *out += end - begin + 1;
        return;
    }
    for (size_t q = begin; q < end && p->n_sets < FUZZ_MAX_SETS;) {
        const char *nl = memchr(s + q, '\n', end - q);
        size_t e = nl ? (size_t)(nl - s) : end;
        memcpy(*out, s + q, e - q);
        (*out)[e - q] = '\0';
        p->set[p->n_sets++] = *out;
        *out += e - q + 1;
        q = e + 1;
    }
}

void fuzz_split(const uint8_t *data, size_t size, fuzz_parts *p) {
    memset(p, 0, sizeof *p);
    /* Each part is copied with one NUL added; lines of a set block lose their newline to it. */
    p->storage_ = malloc(size + FUZZ_MAX_FILES + FUZZ_MAX_SETS + 1);
    char *out = p->storage_;
    const char *s = (const char *)data;
    int mode = 'f';
    size_t part = 0;
    for (size_t pos = 0;;) {
        const char *nl = memchr(s + pos, '\n', size - pos);
        size_t line_end = nl ? (size_t)(nl - s) : size;
        int m = marker(s + pos, line_end - pos);
        if (m) {
            /* The part ends before the marker line's preceding newline. */
            add_part(p, &out, mode, s, part, pos > part ? pos - 1 : pos);
            mode = m;
            part = nl ? line_end + 1 : size;
        }
        if (!nl) break;
        pos = line_end + 1;
    }
    add_part(p, &out, mode, s, part, size);
}

void fuzz_parts_free(fuzz_parts *p) {
    free(p->storage_);
    memset(p, 0, sizeof *p);
}

const char *fuzz_write_parts(const fuzz_parts *p, const char *suffix) {
    const char *first = NULL;
    for (int i = 0; i < p->n_files; i++) {
        char name[64];
        snprintf(name, sizeof name, "f%d%s", i, suffix);
        const char *path = fuzz_write(name, p->file[i], p->file_len[i]);
        if (!i) first = path;
    }
    return first;
}

static void reserve(fuzz_buf *b, size_t extra) {
    if (b->len + extra + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) cap *= 2;
    b->s = realloc(b->s, cap);
    b->cap = cap;
}

void fuzz_buf_put(fuzz_buf *b, const void *data, size_t n) {
    reserve(b, n);
    if (n) memcpy(b->s + b->len, data, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void fuzz_buf_puts(fuzz_buf *b, const char *s) { fuzz_buf_put(b, s, strlen(s)); }

void fuzz_buf_printf(fuzz_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0) return;
    reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void fuzz_buf_free(fuzz_buf *b) {
    free(b->s);
    memset(b, 0, sizeof *b);
}

fuzz_rng fuzz_rng_make(uint64_t seed) {
    fuzz_rng r = {seed * 0x9E3779B97F4A7C15ULL + 0x2545F4914F6CDD1DULL};
    return r;
}

uint32_t fuzz_next(fuzz_rng *r) {
    /* splitmix64 */
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return (uint32_t)((z ^ (z >> 31)) >> 32);
}

uint32_t fuzz_below(fuzz_rng *r, uint32_t n) { return (uint32_t)(((uint64_t)fuzz_next(r) * n) >> 32); }

int fuzz_one_in(fuzz_rng *r, uint32_t n) { return fuzz_below(r, n) == 0; }

const char *fuzz_pick(fuzz_rng *r, const char *const *list) {
    uint32_t n = 0;
    while (list[n]) n++;
    return list[fuzz_below(r, n)];
}

size_t fuzz_emit(const fuzz_buf *b, uint8_t *out, size_t max) {
    if (!b->len || b->len > max) return 0;
    memcpy(out, b->s, b->len);
    return b->len;
}

void fuzz_note(const char *stage, const char *msg) {
    static int verbose = -1;
    if (verbose < 0) verbose = getenv("DF_FUZZ_VERBOSE") != NULL;
    if (verbose) fprintf(stderr, "%s: %s\n", stage, msg);
}

void fuzz_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("fuzz invariant broken: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}
