/* test_no_alloc.c: a training step (forward, backward, optimizer) allocates nothing, on every GEMM backend
 * this CPU runs. Every buffer a convolution or a GEMM needs during a step must come from the memory the graph
 * planned when it was compiled (core/graph.h): a step that allocates can fail or stall in the middle of a
 * long run, and its page faults cost more than small layers' arithmetic.
 *
 * The executable defines malloc and its relatives itself (glibc looks them up there first), forwarding to
 * glibc's __libc_* functions and counting calls while `counting` is set. The graph has a convolution of each
 * kind that reaches a different kernel (conv_kernel.h): an RGB first layer (short patches), 3x3 stride 1
 * (implicit GEMM, and the direct AVX-512 kernels where they run), 3x3 stride 2 (the explicit input
 * gradient), a 1x1 (a plain GEMM), then batch norm, pooling, a linear head and the loss. One warm-up step
 * first, so the OpenMP runtime (and OpenBLAS) create their threads and pools; then the count must be 0 over
 * several steps. Run with OMP_NUM_THREADS=2 (meson.build) so the parallel paths run.
 *
 * OpenBLAS's threaded sgemm driver itself allocates its job array on every call (level3_thread.c, with
 * the heap for builds of many CPUs, as Debian's is): calls made from inside libopenblas are counted apart,
 * reported, and not held against the step, since no caller can plan that memory. */
#include <dlfcn.h>
#include <link.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/gemm/gemm.h"
#include "layers/layers.h"
#include "optim/optim.h"

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);

static volatile int counting;
static volatile long n_allocs, n_blas_allocs;
/* Where libopenblas's code lies, found at start. */
static uintptr_t blas_lo, blas_hi;

static int find_blas(struct dl_phdr_info *info, size_t size, void *arg) {
    (void)size, (void)arg;
    if (!info->dlpi_name || !strstr(info->dlpi_name, "openblas")) return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        if (!blas_lo || lo < blas_lo) blas_lo = lo;
        if (hi > blas_hi) blas_hi = hi;
    }
    return 0;
}

/* The caller's address sorts the call: from inside libopenblas, or from anything else. */
#define count() count_from((uintptr_t)__builtin_return_address(0))
static inline void count_from(uintptr_t caller) {
    if (!counting) return;
    if (caller >= blas_lo && caller < blas_hi)
        __atomic_add_fetch(&n_blas_allocs, 1, __ATOMIC_RELAXED);
    else
        __atomic_add_fetch(&n_allocs, 1, __ATOMIC_RELAXED);
}

void *malloc(size_t n) {
    count();
    return __libc_malloc(n);
}
void *calloc(size_t n, size_t size) {
    count();
    return __libc_calloc(n, size);
}
void *realloc(void *p, size_t n) {
    count();
    return __libc_realloc(p, n);
}
void free(void *p) {
    if (p) count();
    __libc_free(p);
}
int posix_memalign(void **out, size_t align, size_t n) {
    count();
    void *p = __libc_memalign(align, n);
    if (!p) return 12; /* ENOMEM */
    *out = p;
    return 0;
}
void *aligned_alloc(size_t align, size_t n) {
    count();
    return __libc_memalign(align, n);
}
void *memalign(size_t align, size_t n) {
    count();
    return __libc_memalign(align, n);
}

enum { BATCH = 4, SIZE = 32, STEPS = 3 };

static df_graph *build(int *loss) {
    df_graph *g = df_graph_new(BATCH);
    int x = df_input(g, "image", (df_shape){3, {SIZE, SIZE, 3}}, 0);
    int t = df_input(g, "target", (df_shape){0, {0}}, 0);
    x = df_conv2d(g, "rgb", x, 16, 3, 1, 1, 0);            /* short patches: 27 values */
    x = df_relu(g, "rgb.relu", df_batchnorm(g, "rgb.bn", x, 1e-5f, 0.1f));
    x = df_conv2d(g, "c3", x, 32, 3, 1, 1, 1);             /* 3x3 stride 1 */
    x = df_relu(g, "c3.relu", df_batchnorm(g, "c3.bn", x, 1e-5f, 0.1f));
    x = df_conv2d(g, "c3s2", x, 32, 3, 2, 1, 0);           /* 3x3 stride 2 */
    x = df_conv2d(g, "c1", x, 64, 1, 1, 0, 1);             /* 1x1 */
    x = df_maxpool(g, "pool", x, 2, 2, 0);
    x = df_conv2d(g, "c3b", x, 64, 3, 1, 1, 0);            /* 64 channels: the direct kernels' shapes */
    x = df_global_avgpool(g, "gap", x);
    int logits = df_linear(g, "fc", x, 2, 1);
    *loss = df_softmax_cross_entropy(g, "loss", logits, t, 2, NULL, 0.0f);
    df_error err;
    if (df_graph_compile(g, *loss, 1, &err)) {
        fprintf(stderr, "test_no_alloc: %s\n", err.msg);
        exit(1);
    }
    float *img = df_graph_out(g, 0), *tg = df_graph_out(g, t);
    for (size_t i = 0; i < (size_t)BATCH * SIZE * SIZE * 3; i++) img[i] = (float)((i * 7919) % 97) / 97.0f - 0.5f;
    for (int i = 0; i < BATCH; i++) tg[i] = (float)(i % 2);
    return g;
}

static void step(df_graph *g, df_optim *o) {
    df_graph_zero_grads(g);
    df_graph_forward(g);
    df_graph_backward(g);
    df_optim_step(o, g, 1e-3f);
}

/* Allocations over STEPS steps on backend b, after one warm-up step; -1 when the CPU cannot run b. */
static long allocs_on(df_gemm_backend b) {
    if (df_gemm_set_backend(b)) return -1;
    int loss;
    df_graph *g = build(&loss);
    df_optim_config oc = df_optim_defaults(DF_OPTIM_ADAM);
    df_error err;
    df_optim *o = df_optim_new(g, &oc, &err);
    CHECK(o != NULL);
    df_graph_set_training(g, 1);
    step(g, o);
    n_allocs = n_blas_allocs = 0;
    counting = 1;
    for (int i = 0; i < STEPS; i++) step(g, o);
    counting = 0;
    long n = n_allocs;
    df_optim_free(o);
    df_graph_free(g);
    return n;
}

int main(void) {
    dl_iterate_phdr(find_blas, NULL);
    const df_gemm_backend backends[] = {DF_GEMM_AUTO, DF_GEMM_PORTABLE, DF_GEMM_AVX2, DF_GEMM_OPENBLAS,
                                        DF_GEMM_AVX512};
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++) {
        long n = allocs_on(backends[i]);
        if (n < 0) {
            printf("%-8s not supported by this CPU, skipped\n", df_gemm_backend_name(backends[i]));
            continue;
        }
        printf("%-8s %ld allocation calls in %d training steps (%d threads)", df_gemm_backend_name(backends[i]), n,
               STEPS, omp_get_max_threads());
        if (n_blas_allocs) printf("; %ld more inside OpenBLAS's own sgemm driver, not counted", n_blas_allocs);
        printf("\n");
        CHECK_MSG(n == 0, "backend %s: %ld allocation calls during training steps",
                  df_gemm_backend_name(backends[i]), n);
    }
    df_gemm_set_backend(DF_GEMM_AUTO);
    return check_report();
}
