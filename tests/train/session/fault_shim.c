/* fault_shim.c: an LD_PRELOAD library that makes one file operation of a process fail, or kills the process
 * there, for the fault-injection test of a training run (test_fault_injection.py).
 *
 * It counts the operations on files whose path starts with DF_FAULT_PREFIX (absolute paths; nothing is
 * counted without it), in the order the process makes them:
 *   open    fopen for writing or appending, open/openat with O_WRONLY, O_RDWR, O_CREAT or O_TRUNC
 *   write   fwrite and fflush on a stream opened there, write and pwrite on a descriptor opened there
 *   fsync   fsync and fdatasync on a descriptor opened there (the folder a rename went to included)
 *   rename  rename, renameat and renameat2 from or to a path there
 * DF_FAULT_LOG=FILE appends "N kind path" per operation (for rename the path is the destination), so a test
 * can first count a run's operations and see what each one is. DF_FAULT_AT=N with DF_FAULT_ACTION=enospc or
 * eio makes the Nth operation fail with that errno, as the system would (-1, NULL, a short count; a stream
 * failing gets its error indicator set, as glibc sets it); DF_FAULT_ACTION=kill sends SIGKILL to the process
 * instead of doing the Nth operation. Every other operation goes through unchanged.
 *
 * Writes through stdio are caught at fwrite and fflush (what the code under test uses on the files it
 * writes); fputs, fprintf and the like are not counted. This file is Linux and glibc only (RTLD_NEXT, the
 * 64-bit entry points, _IO_ERR_SEEN). */
#undef _FILE_OFFSET_BITS /* define open and open64 as the separate symbols they are */
#undef _FORTIFY_SOURCE   /* no inline wrappers in the way of the definitions below */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define MAX_TRACKED 256

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static const char *prefix;
static long fault_at, count;
static int fault_errno, fault_kill, log_fd = -1;

/* Streams and descriptors opened under the prefix, with their paths. */
static struct {
    FILE *f;
    int fd;
    char *path;
} tracked[MAX_TRACKED];

__attribute__((constructor)) static void init(void) {
    prefix = getenv("DF_FAULT_PREFIX");
    const char *at = getenv("DF_FAULT_AT"), *action = getenv("DF_FAULT_ACTION"), *log = getenv("DF_FAULT_LOG");
    fault_at = at ? atol(at) : 0;
    if (action && !strcmp(action, "enospc")) fault_errno = ENOSPC;
    if (action && !strcmp(action, "eio")) fault_errno = EIO;
    fault_kill = action && !strcmp(action, "kill");
    if (log) {
        int (*real_open)(const char *, int, ...) = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");
        log_fd = real_open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    }
}

#define REAL(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

static int under_prefix(const char *path) {
    return prefix && path && !strncmp(path, prefix, strlen(prefix));
}

static const char *path_of(FILE *f, int fd) {
    const char *p = NULL;
    pthread_mutex_lock(&lock);
    for (int i = 0; i < MAX_TRACKED && !p; i++)
        if (tracked[i].path && (f ? tracked[i].f == f : tracked[i].fd == fd)) p = tracked[i].path;
    pthread_mutex_unlock(&lock);
    return p;
}

/* Forgets the entries of stream f (when not NULL) and of descriptor fd (when >= 0); the caller holds lock. */
static void forget(FILE *f, int fd) {
    for (int i = 0; i < MAX_TRACKED; i++)
        if (tracked[i].path && ((f && tracked[i].f == f) || (fd >= 0 && tracked[i].fd == fd))) {
            free(tracked[i].path);
            tracked[i].path = NULL;
        }
}

/* A descriptor just opened is new: an entry with its number is one whose closing was not seen (a stream
 * over an opened descriptor, closed by fclose). */
static void track(FILE *f, int fd, const char *path) {
    pthread_mutex_lock(&lock);
    forget(f, fd);
    for (int i = 0; i < MAX_TRACKED; i++)
        if (!tracked[i].path) {
            tracked[i].f = f;
            tracked[i].fd = fd;
            tracked[i].path = strdup(path);
            break;
        }
    pthread_mutex_unlock(&lock);
}

static void untrack(FILE *f, int fd) {
    pthread_mutex_lock(&lock);
    forget(f, fd);
    pthread_mutex_unlock(&lock);
}

/* Counts one operation; returns 1 when it is to fail (errno set), kills the process when asked to. */
static int hit(const char *kind, const char *path) {
    int saved = errno;
    pthread_mutex_lock(&lock);
    long n = ++count;
    if (log_fd >= 0) {
        char line[4096];
        int len = snprintf(line, sizeof line, "%ld %s %s\n", n, kind, path);
        if (len > 0 && REAL(write)(log_fd, line, (size_t)len < sizeof line ? (size_t)len : sizeof line - 1) < 0) {
            /* the log is a test aid; a failed line shows as a missing count there */
        }
    }
    pthread_mutex_unlock(&lock);
    if (n != fault_at) {
        errno = saved;
        return 0;
    }
    if (fault_kill) kill(getpid(), SIGKILL);
    errno = fault_errno;
    return fault_errno != 0;
}

static int writes(int flags) { return (flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)) != 0; }

/* ---- opening ---- */

static int opened(int fd, const char *path) {
    if (fd >= 0 && under_prefix(path)) track(NULL, fd, path);
    return fd;
}

/* open, open64, openat, openat64: counted when opening for writing; a descriptor under the prefix is kept. */
#define OPEN_LIKE(name, params, args)                                   \
    int name params {                                                   \
        mode_t mode = 0;                                                \
        if (flags & (O_CREAT | O_TMPFILE)) {                            \
            va_list ap;                                                 \
            va_start(ap, flags);                                        \
            mode = va_arg(ap, mode_t);                                  \
            va_end(ap);                                                 \
        }                                                               \
        if (under_prefix(path) && writes(flags) && hit("open", path))  \
            return -1;                                                  \
        return opened(REAL(name) args, path);                           \
    }

OPEN_LIKE(open, (const char *path, int flags, ...), (path, flags, mode))
OPEN_LIKE(open64, (const char *path, int flags, ...), (path, flags, mode))
OPEN_LIKE(openat, (int dirfd, const char *path, int flags, ...), (dirfd, path, flags, mode))
OPEN_LIKE(openat64, (int dirfd, const char *path, int flags, ...), (dirfd, path, flags, mode))

static FILE *fopen_like(FILE *(*real)(const char *, const char *), const char *path, const char *mode) {
    int w = strpbrk(mode, "wa+") != NULL;
    if (under_prefix(path) && w && hit("open", path)) return NULL;
    FILE *f = real(path, mode);
    if (f && under_prefix(path)) track(f, fileno(f), path);
    return f;
}

FILE *fopen(const char *path, const char *mode) { return fopen_like(REAL(fopen), path, mode); }
FILE *fopen64(const char *path, const char *mode) { return fopen_like(REAL(fopen64), path, mode); }

int fclose(FILE *f) {
    untrack(f, fileno(f));
    return REAL(fclose)(f);
}

int close(int fd) {
    untrack(NULL, fd);
    return REAL(close)(fd);
}

/* ---- writing ---- */

size_t fwrite(const void *data, size_t size, size_t n, FILE *f) {
    const char *path = path_of(f, -1);
    if (path && hit("write", path)) {
        f->_flags |= _IO_ERR_SEEN; /* what a failed write does to a glibc stream: ferror() sees it */
        return 0;
    }
    return REAL(fwrite)(data, size, n, f);
}

int fflush(FILE *f) {
    const char *path = f ? path_of(f, -1) : NULL;
    if (path && hit("write", path)) {
        f->_flags |= _IO_ERR_SEEN;
        return EOF;
    }
    return REAL(fflush)(f);
}

ssize_t write(int fd, const void *data, size_t n) {
    const char *path = path_of(NULL, fd);
    if (path && hit("write", path)) return -1;
    return REAL(write)(fd, data, n);
}

ssize_t pwrite(int fd, const void *data, size_t n, off_t at) {
    const char *path = path_of(NULL, fd);
    if (path && hit("write", path)) return -1;
    return REAL(pwrite)(fd, data, n, at);
}

ssize_t pwrite64(int fd, const void *data, size_t n, off64_t at) {
    const char *path = path_of(NULL, fd);
    if (path && hit("write", path)) return -1;
    return REAL(pwrite64)(fd, data, n, at);
}

int fsync(int fd) {
    const char *path = path_of(NULL, fd);
    if (path && hit("fsync", path)) return -1;
    return REAL(fsync)(fd);
}

int fdatasync(int fd) {
    const char *path = path_of(NULL, fd);
    if (path && hit("fsync", path)) return -1;
    return REAL(fdatasync)(fd);
}

/* ---- renaming ---- */

int rename(const char *from, const char *to) {
    if ((under_prefix(from) || under_prefix(to)) && hit("rename", to)) return -1;
    return REAL(rename)(from, to);
}

int renameat(int fromfd, const char *from, int tofd, const char *to) {
    if ((under_prefix(from) || under_prefix(to)) && hit("rename", to)) return -1;
    return REAL(renameat)(fromfd, from, tofd, to);
}

int renameat2(int fromfd, const char *from, int tofd, const char *to, unsigned int flags) {
    if ((under_prefix(from) || under_prefix(to)) && hit("rename", to)) return -1;
    return REAL(renameat2)(fromfd, from, tofd, to, flags);
}
