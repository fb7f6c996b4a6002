/* files.c: whole-file reading, atomic replacement and the removal of what killed writers left, path joining
 * and mkdir -p (see files.h for the contract: non-regular files refused before reading, size limits named,
 * temporary files never left behind but by a kill, every message starting with the path and giving the
 * reason). */
#include "core/io/files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- reading ---- */

static const char *kind_of(mode_t mode) {
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
    if (S_ISSOCK(mode)) return "a socket";
    return "a special file";
}

/* Reads f to its end into a buffer grown from cap, at most max bytes; the caller closes f. */
static int read_stream(const char *path, FILE *f, size_t cap, size_t max, unsigned char **buf, size_t *len,
                       df_error *err) {
    unsigned char *b = df_malloc(cap + 1);
    size_t n = 0;
    for (;;) {
        if (n == cap) {
            if (cap > max) break; /* a byte past the limit was read: over it */
            size_t next = cap + cap / 2 + 4096;
            if (next > max && max < SIZE_MAX) next = max + 1;
            cap = next;
            b = df_realloc(b, cap + 1);
        }
        size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    if (ferror(f)) {
        int e = errno;
        free(b);
        return df_fail(err, "%s: read error: %s", path, strerror(e));
    }
    if (n > max) {
        free(b);
        return df_fail(err, "%s: file is larger than the limit of %zu bytes for it", path, max);
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    return 0;
}

int df_read_file(const char *path, size_t max_bytes, unsigned char **buf, size_t *len, df_error *err) {
    *buf = NULL;
    *len = 0;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused just below. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return df_fail(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return df_fail(err, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return df_fail(err, "%s: not a regular file (it is %s)", path, kind_of(st.st_mode));
    }
    if ((unsigned long long)st.st_size > (unsigned long long)max_bytes) {
        close(fd);
        return df_fail(err, "%s: file is %lld bytes, over the limit of %zu bytes for it", path,
                       (long long)st.st_size, max_bytes);
    }
    int flags = fcntl(fd, F_GETFL);
    FILE *f = flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0 ? NULL : fdopen(fd, "rb");
    if (!f) {
        int e = errno;
        close(fd);
        return df_fail(err, "%s: cannot open: %s", path, strerror(e));
    }
    /* The size is a hint only (one byte more, to see the end without growing): the file may change while
     * it is read; the limit holds either way. */
    int rc = read_stream(path, f, (size_t)st.st_size + 1, max_bytes, buf, len, err);
    fclose(f);
    return rc;
}

/* ---- atomic replacement ---- */

static void atomic_release(df_atomic_file *h) {
    free(h->path);
    free(h->tmp);
    memset(h, 0, sizeof *h);
}

int df_atomic_open(const char *path, df_atomic_file *h, df_error *err) {
    memset(h, 0, sizeof *h);
    size_t size = strlen(path) + 32;
    char *tmp = df_malloc(size);
    snprintf(tmp, size, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wbe");
    if (!f) {
        int e = errno;
        df_fail(err, "%s: cannot create the temporary file '%s': %s", path, tmp, strerror(e));
        free(tmp);
        return -1;
    }
    h->f = f;
    h->path = df_strdup(path);
    h->tmp = tmp;
    return 0;
}

void df_atomic_abort(df_atomic_file *h) {
    if (h->f) fclose(h->f);
    if (h->tmp) unlink(h->tmp);
    atomic_release(h);
}

/* fsync of the folder holding path, so the rename itself survives a crash. */
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
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || (fsync(fd) != 0 && errno != EINVAL && errno != ENOTSUP))
        rc = df_fail(err, "%s: written, but syncing its directory '%s' failed: %s", path, dir, strerror(errno));
    if (fd >= 0) close(fd);
    free(dir);
    return rc;
}

int df_atomic_commit(df_atomic_file *h, df_error *err) {
    DF_ASSERT(h->f && h->tmp && h->path);
    int ok = !ferror(h->f) && fflush(h->f) == 0 && fsync(fileno(h->f)) == 0;
    int saved = ok ? 0 : errno;
    if (fclose(h->f) != 0 && ok) ok = 0, saved = errno;
    h->f = NULL;
    int rc = 0;
    if (!ok)
        rc = df_fail(err, "%s: writing the temporary file '%s' failed: %s", h->path, h->tmp,
                     saved ? strerror(saved) : "write error");
    else if (rename(h->tmp, h->path) != 0)
        rc = df_fail(err, "%s: cannot rename '%s' to it: %s", h->path, h->tmp, strerror(errno));
    else
        rc = sync_dir(h->path, err);
    if (rc && access(h->tmp, F_OK) == 0) unlink(h->tmp);
    atomic_release(h);
    return rc;
}

int df_write_file_atomic(const char *path, const char *text, size_t len, df_error *err) {
    df_atomic_file h;
    if (df_atomic_open(path, &h, err)) return -1;
    if (len && fwrite(text, 1, len, h.f) != len) {
        int e = errno;
        df_fail(err, "%s: writing the temporary file '%s' failed: %s", path, h.tmp, strerror(e));
        df_atomic_abort(&h);
        return -1;
    }
    return df_atomic_commit(&h, err);
}

/* ---- temporary files of killed writers ---- */

/* The pid of a temporary file "<name>.tmp.<pid>" of one of names (decimal, no sign or leading zero, within a
 * pid's range); 0 when entry is not one. */
static long temp_pid(const char *entry, const char *const *names) {
    for (int i = 0; names[i]; i++) {
        size_t n = strlen(names[i]);
        if (strncmp(entry, names[i], n) || strncmp(entry + n, ".tmp.", 5)) continue;
        const char *digits = entry + n + 5;
        long pid = 0;
        for (const char *c = digits; *c; c++) {
            if (*c < '0' || *c > '9' || pid > INT_MAX / 10) return 0;
            pid = pid * 10 + (*c - '0');
        }
        return digits[0] == '0' || pid > INT_MAX ? 0 : pid;
    }
    return 0;
}

/* Whether the writer `pid` of a temporary file may still be running: another process with that pid exists
 * (or its existence cannot be ruled out: kill fails only with ESRCH when there is none). */
static int writer_may_run(long pid) {
    if (pid == (long)getpid()) return 0;
    return !(kill((pid_t)pid, 0) != 0 && errno == ESRCH);
}

/* Appends name to the comma-separated list *list (NULL: empty). */
static void list_add(char **list, const char *name) {
    size_t had = *list ? strlen(*list) : 0, n = strlen(name);
    *list = df_realloc(*list, had + 2 + n + 1);
    if (had) memcpy(*list + had, ", ", 2), had += 2;
    memcpy(*list + had, name, n + 1);
}

int df_atomic_sweep(const char *dir, const char *const *names, int *removed, char **kept, df_error *err) {
    *removed = 0;
    *kept = NULL;
    DIR *d = opendir(dir);
    if (!d) return df_fail(err, "%s: cannot list the folder: %s", dir, strerror(errno));
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        long pid = temp_pid(e->d_name, names);
        if (!pid) continue;
        char *path = df_path_join(dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            /* gone meanwhile, or not a file a writer makes */
        } else if (writer_may_run(pid)) {
            list_add(kept, e->d_name);
        } else if (unlink(path) == 0) {
            (*removed)++;
        } else if (errno != ENOENT) {
            rc = df_fail(err, "%s: cannot remove '%s', left by a write that was interrupted: %s", dir, e->d_name,
                         strerror(errno));
        }
        free(path);
    }
    closedir(d);
    return rc;
}

/* ---- paths and folders ---- */

char *df_path_join(const char *dir, const char *name) {
    if (!dir || !dir[0] || name[0] == '/') return df_strdup(name);
    size_t a = strlen(dir), b = strlen(name);
    int slash = dir[a - 1] != '/';
    char *p = df_malloc(a + (size_t)slash + b + 1);
    memcpy(p, dir, a);
    if (slash) p[a] = '/';
    memcpy(p + a + (size_t)slash, name, b + 1);
    return p;
}

/* Creates the folder `part` (path or one of its parents) unless a folder is already there. */
static int make_one(const char *path, const char *part, df_error *err) {
    if (mkdir(part, 0777) == 0) return 0;
    int e = errno;
    struct stat st;
    const char *why = strerror(e);
    if (e == EEXIST && stat(part, &st) == 0) {
        if (S_ISDIR(st.st_mode)) return 0;
        why = "a file that is not a folder is in the way";
    }
    if (!strcmp(part, path)) return df_fail(err, "%s: cannot create folder: %s", path, why);
    return df_fail(err, "%s: cannot create folder '%s': %s", path, part, why);
}

int df_make_dirs(const char *path, df_error *err) {
    if (!path[0]) return df_fail(err, "cannot create a folder with an empty name");
    char *buf = df_strdup(path);
    int rc = 0;
    for (char *p = buf + 1; *p && !rc; p++) {
        if (*p != '/' || p[-1] == '/') continue;
        *p = '\0';
        rc = make_one(path, buf, err);
        *p = '/';
    }
    if (!rc) rc = make_one(path, buf, err);
    free(buf);
    return rc;
}

/* "a/./b/../c" as "a/c", in place: "." and empty components dropped, ".." taking back the one before it
 * (kept at the start of a relative path, dropped at the root). Lexical only: links are not followed. */
static void tidy(char *path) {
    char *src = df_strdup(path), *in = src;
    const int absolute = path[0] == '/';
    char *out = path + absolute;
    size_t kept = 0; /* components written that a ".." may take back */
    while (*in) {
        const char *end = strchr(in, '/');
        const size_t n = end ? (size_t)(end - in) : strlen(in);
        const int dot = n == 1 && in[0] == '.', dotdot = n == 2 && in[0] == '.' && in[1] == '.';
        if (n == 0 || dot || (dotdot && absolute && kept == 0)) {
            /* nothing to write */
        } else if (dotdot && kept > 0) {
            out--; /* the '/' after the last component, then the component */
            while (out > path + absolute && out[-1] != '/') out--;
            kept--;
        } else {
            memmove(out, in, n);
            out += n;
            *out++ = '/';
            kept += !dotdot;
        }
        in += n + (end != NULL);
    }
    if (out > path + absolute) out--; /* the trailing '/' */
    *out = '\0';
    if (!path[0]) strcpy(path, ".");
    free(src);
}

char *df_path_absolute(const char *path) {
    char *abs;
    if (path[0] == '/') {
        abs = df_strdup(path);
    } else {
        char *cwd = getcwd(NULL, 0);
        if (!cwd) return NULL;
        abs = df_path_join(cwd, path);
        free(cwd);
    }
    tidy(abs);
    return abs;
}

char *df_path_shown(const char *path) {
    char *tidied = df_strdup(path);
    tidy(tidied);
    char *cwd = tidied[0] == '/' ? getcwd(NULL, 0) : NULL;
    size_t n = cwd ? strlen(cwd) : 0;
    const char *rest = NULL;
    if (cwd && strncmp(tidied, cwd, n) == 0 && tidied[n] == '/') rest = tidied + n + 1;
    if (cwd && n == 1 && cwd[0] == '/') rest = tidied + 1; /* the working directory is the root */
    char *shown = df_strdup(rest && *rest ? rest : tidied);
    free(cwd);
    free(tidied);
    return shown;
}

int df_check_plain_name(const char *what, const char *name, int max_parts, df_error *err) {
    int parts = 0;
    const char *p = name;
    for (;;) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 0)
            return df_fail(err, "%s '%s' has an empty part (a leading, doubled or trailing '/'); it must be a plain "
                           "name such as 'my-run'", what, name);
        if (p[0] == '.')
            return df_fail(err, "%s '%s': a part may not start with '.' ('.', '..' and hidden names could leave "
                           "or hide in the output folder)", what, name);
        for (size_t i = 0; i < len; i++) {
            char c = p[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                  c == '_' || c == '-' || c == '+'))
                return df_fail(err, "%s '%s' holds '%c' (byte 0x%02x); use letters, digits, '.', '_', '-' and '+'",
                               what, name, c >= 32 && c < 127 ? c : '?', (unsigned char)c);
        }
        if (++parts > max_parts)
            return df_fail(err, "%s '%s' has more than %d part%s separated by '/'", what, name, max_parts,
                           max_parts == 1 ? "" : "s");
        if (!end) return 0;
        p = end + 1;
    }
}
