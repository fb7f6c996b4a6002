/* error.c: error messages and checked allocation (see error.h). */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int df_fail(df_error *err, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int df_fail_prefix(df_error *err, const char *fmt, ...) {
    if (!err) return -1;
    char prefix[512], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    /* The combined message is cut at the buffer's end; the prefix (the file) matters most. */
    size_t n = strlen(prefix);
    if (n > sizeof err->msg - 3) n = sizeof err->msg - 3;
    memcpy(err->msg, prefix, n);
    memcpy(err->msg + n, ": ", 2);
    size_t rest = sizeof err->msg - n - 3;
    size_t m = strlen(old);
    if (m > rest) m = rest;
    memcpy(err->msg + n + 2, old, m);
    err->msg[n + 2 + m] = '\0';
    return -1;
}

_Noreturn void df_abort_at(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "dermfuse: internal error at %s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

static void *check(void *p, size_t bytes, const char *file, int line) {
    if (!p && bytes) df_abort_at(file, line, "out of memory allocating %zu bytes", bytes);
    return p;
}

void *df_malloc_at(size_t bytes, const char *file, int line) {
    return check(malloc(bytes ? bytes : 1), bytes, file, line);
}

void *df_calloc_at(size_t count, size_t size, const char *file, int line) {
    return check(calloc(count ? count : 1, size ? size : 1), count * size, file, line);
}

void *df_realloc_at(void *p, size_t bytes, const char *file, int line) {
    return check(realloc(p, bytes ? bytes : 1), bytes, file, line);
}

/* Large blocks (activation arenas, parameter blocks) are aligned to 2 MiB and offered to transparent huge
 * pages: touching a fresh 4 KiB page costs about 10 us here, a 2 MiB one about as much as 8 small ones. */
#define HUGE_PAGE ((size_t)2 << 20)

void *df_aligned_alloc_at(size_t bytes, const char *file, int line) {
    size_t align = bytes >= 2 * HUGE_PAGE ? HUGE_PAGE : 64;
    size_t rounded = (bytes + align - 1) / align * align;
    if (rounded == 0) rounded = 64;
    void *p = check(aligned_alloc(align, rounded), rounded, file, line);
    if (align == HUGE_PAGE) madvise(p, rounded, MADV_HUGEPAGE); /* advice only: failure changes nothing */
    memset(p, 0, rounded);
    return p;
}

char *df_strdup_at(const char *s, const char *file, int line) {
    size_t n = strlen(s) + 1;
    char *d = df_malloc_at(n, file, line);
    memcpy(d, s, n);
    return d;
}
