/* memory.h: the memory a run may plan for. A run's largest allocations (the graph's arena and parameter
 * blocks, the loaders' batch rings) are known from its config before any is made; they are checked against
 * df_memory_available so a config that needs more fails with the amounts and the keys that drive them,
 * instead of an out-of-memory abort or the machine swapping to a halt. */
#ifndef DF_MEMORY_H
#define DF_MEMORY_H

#include <stddef.h>

/* Physical memory, or the process's cgroup limit (v2 memory.max, v1 limit_in_bytes) when that is lower;
 * 0 when neither can be read (then nothing is checked). */
size_t df_memory_available(void);

/* bytes as "12.3 GiB" (MiB, GiB or TiB, one decimal). */
void df_memory_format(size_t bytes, char *buf, size_t size);

#endif
