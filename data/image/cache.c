/* cache.c: the memory-mapped image cache (see cache.h for the file layout and the rebuild rule). */
#include "data/image/cache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/io/files.h"
#include "core/rng.h"
#include "data/image/resize.h"

#define CACHE_MAGIC "DFIMGCAC"
#define CACHE_VERSION 1u
#define HEADER_BYTES 64

struct df_cache {
    unsigned char *map;
    size_t map_len;
    int n, size, channels;
};

typedef struct {
    char magic[8];
    uint32_t version, size, count, channels;
    uint64_t fingerprint;
    uint64_t data_offset;
} header;

int df_base_image_load(const char *path, int size, int channels, df_image *out, df_error *err) {
    DF_ASSERT(channels == 1 || channels == 3);
    df_image full;
    if (df_image_load(path, size, size, &full, err)) return -1;
    df_resize_short_center_crop(&full, size, out);
    df_image_free(&full);
    if (channels == 1) { /* after the resize: a third of the pixels to convert */
        df_image rgb = *out;
        df_image_to_gray(&rgb, out);
        df_image_free(&rgb);
    }
    return 0;
}

static uint64_t fold(uint64_t h, uint64_t v) { return df_mix64(h ^ v) + 0x9e3779b97f4a7c15ULL; }

int df_cache_fingerprint(char *const *paths, int n, int size, uint64_t *fp, df_error *err) {
    uint64_t h = fold(fold(0x6361636865ULL, (uint64_t)size), (uint64_t)n);
    for (int i = 0; i < n; i++) {
        struct stat st;
        if (!paths[i]) return df_fail(err, "image cache: sample %d has no image path", i);
        if (stat(paths[i], &st) != 0) return df_fail(err, "%s: cannot stat: %s", paths[i], strerror(errno));
        for (const unsigned char *p = (const unsigned char *)paths[i]; *p; p++) h = fold(h, *p);
        h = fold(h, (uint64_t)st.st_size);
        h = fold(h, (uint64_t)st.st_mtim.tv_sec * 1000000000ULL + (uint64_t)st.st_mtim.tv_nsec);
    }
    *fp = h;
    return 0;
}

static size_t stride_of(int size, int channels) { return (size_t)size * size * channels; }

/* Maps an existing cache file; returns 1 if it is valid for (fp, n, size, channels), 0 if absent or stale. */
static int try_map(const char *path, uint64_t fp, int n, int size, int channels, df_cache *c) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    struct stat st;
    header hd;
    size_t want = HEADER_BYTES + (size_t)n * stride_of(size, channels);
    int ok = fstat(fd, &st) == 0 && (size_t)st.st_size == want && pread(fd, &hd, sizeof hd, 0) == (ssize_t)sizeof hd &&
             memcmp(hd.magic, CACHE_MAGIC, 8) == 0 && hd.version == CACHE_VERSION && hd.size == (uint32_t)size &&
             hd.count == (uint32_t)n && hd.channels == (uint32_t)channels && hd.fingerprint == fp && hd.data_offset == HEADER_BYTES;
    if (ok) {
        void *m = mmap(NULL, want, PROT_READ, MAP_SHARED, fd, 0);
        if (m == MAP_FAILED) ok = 0;
        else {
            c->map = m;
            c->map_len = want;
        }
    }
    close(fd);
    return ok;
}

static int build(const char *path, char *const *paths, int n, int size, int channels, uint64_t fp, df_error *err) {
    df_atomic_file out;
    if (df_atomic_open(path, &out, err)) return df_fail_prefix(err, "image cache");
    /* Positioned writes from many threads go to the descriptor; the stream is never written through. */
    int fd = fileno(out.f);
    const char *tmp = out.tmp;
    size_t stride = stride_of(size, channels), total = HEADER_BYTES + (size_t)n * stride;
    int failed_at = n; /* lowest failing index, so the message does not depend on scheduling */
    df_error first = {{0}};
    if (ftruncate(fd, (off_t)total) != 0) {
        df_fail(&first, "%s: cannot size image cache to %zu bytes: %s", tmp, total, strerror(errno));
        failed_at = -1;
    }
    if (failed_at == n) {
#pragma omp parallel for schedule(dynamic, 4)
        for (int i = 0; i < n; i++) {
            df_image img;
            df_error e;
            int rc = df_base_image_load(paths[i], size, channels, &img, &e);
            if (rc == 0) {
                ssize_t wr = pwrite(fd, img.data, stride, (off_t)(HEADER_BYTES + (size_t)i * stride));
                if (wr != (ssize_t)stride) {
                    rc = -1;
                    df_fail(&e, "%s: writing image cache failed: %s", tmp, wr < 0 ? strerror(errno) : "short write");
                }
                df_image_free(&img);
            }
            if (rc) {
#pragma omp critical(df_cache_err)
                if (i < failed_at) {
                    failed_at = i;
                    first = e;
                }
            }
        }
    }
    if (failed_at == n) {
        header hd;
        memset(&hd, 0, sizeof hd);
        memcpy(hd.magic, CACHE_MAGIC, 8);
        hd.version = CACHE_VERSION;
        hd.size = (uint32_t)size;
        hd.count = (uint32_t)n;
        hd.channels = (uint32_t)channels;
        hd.fingerprint = fp;
        hd.data_offset = HEADER_BYTES;
        unsigned char raw[HEADER_BYTES] = {0};
        memcpy(raw, &hd, sizeof hd);
        if (pwrite(fd, raw, HEADER_BYTES, 0) != HEADER_BYTES) {
            df_fail(&first, "%s: writing image cache failed: %s", tmp, strerror(errno));
            failed_at = -1;
        }
    }
    if (failed_at != n) {
        df_atomic_abort(&out);
        return df_fail(err, "building image cache %s: %s", path, first.msg);
    }
    return df_atomic_commit(&out, err) ? df_fail_prefix(err, "image cache") : 0;
}

/* A build killed before its rename leaves "<cache>.tmp.<pid>" (gigabytes, for a large dataset): removed
 * before the next build of the same cache. */
static int sweep(const char *cache_path, df_error *err) {
    char *dir = df_strdup(cache_path), *slash = strrchr(dir, '/');
    const char *name = slash ? slash + 1 : cache_path;
    if (slash) *slash = '\0';
    const char *names[] = {name, NULL};
    int removed;
    char *kept;
    int rc = df_atomic_sweep(slash ? (dir[0] ? dir : "/") : ".", names, &removed, &kept, err);
    free(kept);
    free(dir);
    return rc ? df_fail_prefix(err, "image cache") : 0;
}

int df_cache_open(const char *cache_path, char *const *paths, int n, int size, int channels, df_cache **out,
                  int *rebuilt, df_error *err) {
    *out = NULL;
    if (n <= 0 || size <= 0 || size > 4096 || (channels != 1 && channels != 3))
        return df_fail(err, "image cache %s: %d images of size %d, %d channels (need n > 0, size in 1..4096, 1 or 3 "
                       "channels)", cache_path, n, size, channels);
    uint64_t fp;
    if (df_cache_fingerprint(paths, n, size, &fp, err)) return df_fail_prefix(err, "image cache %s", cache_path);
    df_cache *c = df_calloc(1, sizeof *c);
    c->n = n;
    c->size = size;
    c->channels = channels;
    int did_build = 0;
    if (!try_map(cache_path, fp, n, size, channels, c)) {
        if (sweep(cache_path, err) || build(cache_path, paths, n, size, channels, fp, err)) {
            free(c);
            return -1;
        }
        did_build = 1;
        if (!try_map(cache_path, fp, n, size, channels, c)) {
            free(c);
            return df_fail(err, "%s: image cache unreadable right after building it (did a source change meanwhile?)",
                           cache_path);
        }
    }
    if (rebuilt) *rebuilt = did_build;
    *out = c;
    return 0;
}

const unsigned char *df_cache_image(const df_cache *c, int i) {
    DF_ASSERT(i >= 0 && i < c->n);
    return c->map + HEADER_BYTES + (size_t)i * stride_of(c->size, c->channels);
}
int df_cache_count(const df_cache *c) { return c->n; }
int df_cache_size(const df_cache *c) { return c->size; }

void df_cache_close(df_cache *c) {
    if (!c) return;
    if (c->map) munmap(c->map, c->map_len);
    free(c);
}
