/* memory.c: how much memory this process may use (see memory.h). */
#include "core/memory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A cgroup's limit in bytes from a one-number file ("max" or absent: none). */
static size_t cgroup_limit(const char *file) {
    FILE *f = fopen(file, "r");
    if (!f) return 0;
    char buf[64] = "";
    size_t limit = 0;
    if (fgets(buf, sizeof buf, f) && strncmp(buf, "max", 3) != 0) {
        char *end;
        unsigned long long v = strtoull(buf, &end, 10);
        if (end != buf) limit = (size_t)v;
    }
    fclose(f);
    return limit;
}

size_t df_memory_available(void) {
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    size_t total = pages > 0 && page > 0 ? (size_t)pages * (size_t)page : 0;
    const char *files[] = {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        size_t c = cgroup_limit(files[i]);
        if (c && (!total || c < total)) total = c;
    }
    return total;
}

void df_memory_format(size_t bytes, char *buf, size_t size) {
    double b = (double)bytes;
    if (b >= 1024.0 * 1024 * 1024 * 1024) snprintf(buf, size, "%.1f TiB", b / (1024.0 * 1024 * 1024 * 1024));
    else if (b >= 1024.0 * 1024 * 1024) snprintf(buf, size, "%.1f GiB", b / (1024.0 * 1024 * 1024));
    else snprintf(buf, size, "%.1f MiB", b / (1024.0 * 1024));
}
