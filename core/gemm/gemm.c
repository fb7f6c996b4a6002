/* gemm.c: df_sgemm's front door (see gemm.h): backend selection, argument checks, the cases that need no
 * multiply at all, the reference triple loop and the OpenBLAS backend. The packed-panel backends live in
 * gemm_blocked.c and the gemm_<isa>.c kernel files. */
#include "core/gemm/gemm.h"

#include <cblas.h>
#include <cpuid.h>
#include <omp.h>
#include <stddef.h>
#include <string.h>

#include "core/error.h"
#include "core/gemm/gemm_internal.h"

/* OpenBLAS (Debian's pthread build) keeps its own thread pool. */
void openblas_set_num_threads(int n);

static const char *const backend_names[] = {"auto", "avx512", "avx2", "portable", "openblas"};

static int cpu_has_avx512(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}

static int cpu_has_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

int df_gemm_fma_halved_of(const char *vendor, unsigned signature) {
    if (strcmp(vendor, "AuthenticAMD") != 0 && strcmp(vendor, "HygonGenuine") != 0) return 0;
    /* Family and model as the manuals compose them: the extended fields count once the base family is 0Fh. */
    const unsigned base = (signature >> 8) & 0xf, family = base == 0xf ? base + ((signature >> 20) & 0xff) : base;
    const unsigned model = ((signature >> 4) & 0xf) | (base == 0xf ? ((signature >> 16) & 0xf) << 4 : 0);
    return (family == 0x17 && model < 0x30) || family == 0x18;
}

static int probe_fma_halved(void) {
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx)) return 0;
    char vendor[13];
    memcpy(vendor, &ebx, 4), memcpy(vendor + 4, &edx, 4), memcpy(vendor + 8, &ecx, 4), vendor[12] = '\0';
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    return df_gemm_fma_halved_of(vendor, eax);
}

/* Probed once: the convolution chooser asks on every call, and under a hypervisor each CPUID instruction
 * traps to it. -1 until the first call; threads that race to it store the same answer. */
static int fma_halved = -1;

int df_gemm_fma_halved(void) {
    int h = __atomic_load_n(&fma_halved, __ATOMIC_RELAXED);
    if (h < 0) {
        h = probe_fma_halved();
        __atomic_store_n(&fma_halved, h, __ATOMIC_RELAXED);
    }
    return h;
}

static df_gemm_backend resolve_auto(void) {
    if (cpu_has_avx512()) return DF_GEMM_AVX512;
    if (cpu_has_avx2()) return DF_GEMM_AVX2;
    return DF_GEMM_PORTABLE;
}

/* 0 until first use: the CPU probe runs lazily so there is no initialiser to call. Stored resolved, never
 * AUTO. Selection is process-wide state meant to be set once at start (or by tests between calls). */
static df_gemm_backend current;

df_gemm_backend df_gemm_get_backend(void) {
    if (current == DF_GEMM_AUTO) current = resolve_auto();
    return current;
}

df_gemm_backend df_gemm_backend_here(void) {
    df_gemm_backend b = df_gemm_get_backend();
    return b == DF_GEMM_OPENBLAS && omp_in_parallel() ? resolve_auto() : b;
}

int df_gemm_backend_supported(df_gemm_backend b) {
    return b == DF_GEMM_AVX512 ? cpu_has_avx512() : b == DF_GEMM_AVX2 ? cpu_has_avx2() : 1;
}

int df_gemm_kernel_of(df_gemm_backend b, df_gemm_kernel *k) {
    switch (b) {
    case DF_GEMM_OPENBLAS: return 0;
    case DF_GEMM_AVX512:
        /* The AVX-512 patch packers are attached here rather than in the kernel's constant, so that file
         * keeps to the micro-kernel. */
        *k = df_gemm_kernel_avx512;
        k->pack_rows = df_gemm_pack_rows_avx512;
        k->pack_b_patches = df_gemm_pack_b_patches_avx512;
        k->pack_a_patches = df_gemm_pack_a_patches_avx512;
        return 1;
    case DF_GEMM_AVX2: *k = df_gemm_kernel_avx2; return 1;
    default: *k = df_gemm_kernel_portable; return 1;
    }
}

size_t df_gemm_blocked_ws_bytes_max(int M, int N, int K, int patches, int threads) {
    size_t best = df_gemm_blocked_ws_floats(&df_gemm_kernel_portable, M, N, K, patches, threads);
    if (cpu_has_avx2()) {
        size_t f = df_gemm_blocked_ws_floats(&df_gemm_kernel_avx2, M, N, K, patches, threads);
        best = f > best ? f : best;
    }
    if (cpu_has_avx512()) {
        size_t f = df_gemm_blocked_ws_floats(&df_gemm_kernel_avx512, M, N, K, patches, threads);
        best = f > best ? f : best;
    }
    return best * sizeof(float);
}

size_t df_sgemm_ws_bytes(int M, int N, int K, int threads) {
    if (M <= 0 || N <= 0 || K <= 0) return 0;
    return df_gemm_blocked_ws_bytes_max(M, N, K, 0, threads);
}

int df_gemm_set_backend(df_gemm_backend b) {
    switch (b) {
    case DF_GEMM_AUTO: current = resolve_auto(); return 0;
    case DF_GEMM_AVX512:
        if (!cpu_has_avx512()) return -1;
        break;
    case DF_GEMM_AVX2:
        if (!cpu_has_avx2()) return -1;
        break;
    case DF_GEMM_PORTABLE: break;
    case DF_GEMM_OPENBLAS:
        /* As many OpenBLAS threads as OpenMP ones, so the two pools never ask for more cores than the run
         * was given. */
        openblas_set_num_threads(omp_get_max_threads());
        break;
    default: return -1;
    }
    current = b;
    return 0;
}

const char *df_gemm_backend_name(df_gemm_backend b) {
    if ((unsigned)b >= sizeof backend_names / sizeof backend_names[0]) return "unknown";
    return backend_names[b];
}

int df_gemm_backend_parse(const char *s, df_gemm_backend *out) {
    for (size_t i = 0; i < sizeof backend_names / sizeof backend_names[0]; i++)
        if (strcmp(s, backend_names[i]) == 0) {
            *out = (df_gemm_backend)i;
            return 0;
        }
    return -1;
}

/* Leading dimensions are checked here once so every backend may assume them; a bad one is a caller bug. */
static void check_args(int trans_a, int trans_b, int M, int N, int K, int lda, int ldb, int ldc) {
    DF_ASSERT(M >= 0 && N >= 0 && K >= 0);
    int a_cols = trans_a ? M : K, b_cols = trans_b ? K : N;
    DF_ASSERT(lda >= (a_cols > 1 ? a_cols : 1));
    DF_ASSERT(ldb >= (b_cols > 1 ? b_cols : 1));
    DF_ASSERT(ldc >= (N > 1 ? N : 1));
}

/* C = beta * C, with beta == 0 writing zeros without reading C (it may hold NaN). */
static void scale_c(int M, int N, float beta, float *C, int ldc) {
    for (int i = 0; i < M; i++) {
        float *c = C + (ptrdiff_t)i * ldc;
        if (beta == 0.0f)
            memset(c, 0, sizeof(float) * (size_t)N);
        else if (beta != 1.0f)
            for (int j = 0; j < N; j++) c[j] *= beta;
    }
}

void df_sgemm_ref(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                  const float *B, int ldb, float beta, float *C, int ldc) {
    check_args(trans_a, trans_b, M, N, K, lda, ldb, ldc);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float acc = 0.0f;
            for (int k = 0; k < K; k++) {
                float a = trans_a ? A[(ptrdiff_t)k * lda + i] : A[(ptrdiff_t)i * lda + k];
                float b = trans_b ? B[(ptrdiff_t)j * ldb + k] : B[(ptrdiff_t)k * ldb + j];
                acc += a * b;
            }
            float *c = &C[(ptrdiff_t)i * ldc + j];
            *c = beta == 0.0f ? alpha * acc : alpha * acc + beta * *c;
        }
}

void df_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc) {
    const df_gemm_ws none = {NULL, 0};
    df_sgemm_ws(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, none);
}

void df_sgemm_ws(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                 const float *B, int ldb, float beta, float *C, int ldc, df_gemm_ws ws) {
    check_args(trans_a, trans_b, M, N, K, lda, ldb, ldc);
    if (M == 0 || N == 0) return;
    if (K == 0 || alpha == 0.0f) {
        scale_c(M, N, beta, C, ldc);
        return;
    }
    df_gemm_backend b = df_gemm_get_backend();
    if (b == DF_GEMM_OPENBLAS && !omp_in_parallel()) {
        cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                    M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    /* Inside a parallel region OpenBLAS's own threads would multiply with the caller's: the best
     * hand-written kernel runs on this thread instead, as every backend does there. */
    if (b == DF_GEMM_OPENBLAS) b = resolve_auto();
    const df_gemm_kernel *kernel = b == DF_GEMM_AVX512 ? &df_gemm_kernel_avx512
                                   : b == DF_GEMM_AVX2 ? &df_gemm_kernel_avx2
                                                       : &df_gemm_kernel_portable;
    df_gemm_blocked(kernel, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, ws);
}
