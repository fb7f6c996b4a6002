/* error.h: how dermfuse reports errors.
 *
 * Functions that can fail on user input (a shape, a file, a config value) return 0 on success and -1 on
 * failure, filling a df_error with one message that names the input (file:line, layer name, shapes) and
 * what was expected. Programmer errors (a broken invariant) go through DF_ASSERT and abort. Out-of-memory
 * aborts with the caller's file:line: nothing useful can continue after it. */
#ifndef DF_ERROR_H
#define DF_ERROR_H

#include <stddef.h>

typedef struct {
    char msg[1024];
} df_error;

/* Formats the message into err (if non-NULL) and returns -1, so callers can `return df_fail(err, ...)`. */
int df_fail(df_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prepends "prefix: " to an existing message, e.g. the file name when a parser knew only the line. */
int df_fail_prefix(df_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void *df_malloc_at(size_t bytes, const char *file, int line);
void *df_calloc_at(size_t count, size_t size, const char *file, int line);
void *df_realloc_at(void *p, size_t bytes, const char *file, int line);
/* 64-byte aligned, zero-filled; free with free(). */
void *df_aligned_alloc_at(size_t bytes, const char *file, int line);
char *df_strdup_at(const char *s, const char *file, int line);

#define df_malloc(n) df_malloc_at((n), __FILE__, __LINE__)
#define df_calloc(c, s) df_calloc_at((c), (s), __FILE__, __LINE__)
#define df_realloc(p, n) df_realloc_at((p), (n), __FILE__, __LINE__)
#define df_aligned_alloc(n) df_aligned_alloc_at((n), __FILE__, __LINE__)
#define df_strdup(s) df_strdup_at((s), __FILE__, __LINE__)

_Noreturn void df_abort_at(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define DF_ASSERT(cond)                                                                            \
    do {                                                                                           \
        if (!(cond)) df_abort_at(__FILE__, __LINE__, "invariant failed: %s", #cond);              \
    } while (0)

#endif
