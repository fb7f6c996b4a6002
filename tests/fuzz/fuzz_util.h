/* fuzz_util.h: what the libFuzzer targets of tests/fuzz share (docs/FUZZING.md).
 *
 * - A private folder per process (under $TMPDIR, else /tmp) for targets whose API reads files. Every file a
 *   target writes there is removed by fuzz_reset, which each target calls first, so nothing one input wrote
 *   is seen by the next and a crash replays from its input alone.
 * - Multi-file inputs: an input is split at lines that are exactly "#@file" (what follows is the next file)
 *   or "#@set" (what follows, up to the next marker, is one --set override per line). The part before the
 *   first marker is file 0. Files are written as f0.yaml, f1.yaml, ... so they can name each other.
 * - A growing text buffer and a small deterministic random stream for the structure-aware mutators, which
 *   must produce the same output for the same seed. */
#ifndef DF_FUZZ_UTIL_H
#define DF_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* The process's folder, created on first use. */
const char *fuzz_dir(void);
/* Writes len bytes as <fuzz_dir>/name (name may not contain '/') and returns the path, valid until
 * fuzz_reset. Aborts if the file cannot be written: the harness, not the input, is broken then. */
const char *fuzz_write(const char *name, const void *data, size_t len);
/* Removes every file fuzz_write wrote. */
void fuzz_reset(void);

#define FUZZ_MAX_FILES 8
#define FUZZ_MAX_SETS 16
#define FUZZ_FILE_MARK "#@file"
#define FUZZ_SET_MARK "#@set"

typedef struct {
    int n_files;
    const char *file[FUZZ_MAX_FILES]; /* NUL-terminated copies; file_len excludes the NUL */
    size_t file_len[FUZZ_MAX_FILES];
    int n_sets;
    const char *set[FUZZ_MAX_SETS];
    char *storage_;
} fuzz_parts;

/* Splits an input as described above; parts past the limits are dropped. */
void fuzz_split(const uint8_t *data, size_t size, fuzz_parts *p);
void fuzz_parts_free(fuzz_parts *p);
/* Writes the files of p as f0.yaml, f1.yaml, ... (suffix ".yaml"); returns the path of f0. */
const char *fuzz_write_parts(const fuzz_parts *p, const char *suffix);

typedef struct {
    char *s; /* NUL-terminated */
    size_t len, cap;
} fuzz_buf;

void fuzz_buf_put(fuzz_buf *b, const void *data, size_t n);
void fuzz_buf_puts(fuzz_buf *b, const char *s);
void fuzz_buf_printf(fuzz_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fuzz_buf_free(fuzz_buf *b);

typedef struct {
    uint64_t s;
} fuzz_rng;

fuzz_rng fuzz_rng_make(uint64_t seed);
uint32_t fuzz_next(fuzz_rng *r);
/* Uniform in 0..n-1 (n > 0). */
uint32_t fuzz_below(fuzz_rng *r, uint32_t n);
/* 1 with probability 1/n. */
int fuzz_one_in(fuzz_rng *r, uint32_t n);
/* An element of a NULL-terminated list of strings. */
const char *fuzz_pick(fuzz_rng *r, const char *const *list);

/* Copies b into out (at most max bytes): the mutators' result. Returns the length, or 0 when it does not fit. */
size_t fuzz_emit(const fuzz_buf *b, uint8_t *out, size_t max);

/* libFuzzer's own byte-level mutator, which the custom mutators fall back on. */
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

/* Prints "<stage>: <message>" to stderr when DF_FUZZ_VERBOSE is set (how a seed's path through a target is
 * checked: which stage refused it, and why). */
void fuzz_note(const char *stage, const char *msg);

/* Aborts with a message when an invariant a target checks (a round trip) is broken: libFuzzer records the
 * input as a crash. */
_Noreturn void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
