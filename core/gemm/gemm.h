/* gemm.h: single-precision matrix multiply, the kernel under linear and convolution layers.
 *
 *   C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C[M,N]
 *
 * Row-major. op(A) is A (M x K, row stride lda) or, with trans_a, A^T where A is K x M (stride lda);
 * likewise B. beta == 0 means C is written without being read (it may hold NaN garbage).
 *
 * df_sgemm runs the selected backend. The hand-written backends parallelise over blocks of C only (never
 * over K), so every element of C is summed in the same order whatever the thread count: results are
 * bit-identical for 1 and N threads. Called from inside an OpenMP parallel region it runs on the calling
 * thread alone (the OpenBLAS backend then uses the best hand-written kernel, so OpenBLAS's own thread pool
 * never runs beside the caller's threads; selecting OpenBLAS gives it as many threads as OpenMP has). df_sgemm_ref is the plain triple loop that tests hold the fast paths to. */
#ifndef DF_GEMM_H
#define DF_GEMM_H

#include <stddef.h>

typedef enum {
    DF_GEMM_AUTO = 0,  /* best hand-written kernel this CPU supports */
    DF_GEMM_AVX512,    /* AVX-512F micro-kernel */
    DF_GEMM_AVX2,      /* AVX2 + FMA micro-kernel */
    DF_GEMM_PORTABLE,  /* plain C, blocked */
    DF_GEMM_OPENBLAS,  /* cblas_sgemm from OpenBLAS */
} df_gemm_backend;

void df_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc);

/* Workspace: memory a call may use for packing, planned by the caller (a graph node takes it from the
 * graph's scratch, core/graph.h), 64-byte aligned. It is cut into a shared part and one slice per thread;
 * a call runs on as many threads as have a slice, which does not change its results. p == NULL means
 * none: the call then uses a per-thread buffer that grows on demand (fine for tests and benchmarks; not
 * in a training step, which must not allocate). */
typedef struct {
    void *p;
    size_t bytes;
} df_gemm_ws;

/* df_sgemm with a workspace of at least df_sgemm_ws_bytes(M, N, K, threads) bytes (or none). The figure
 * covers every backend this CPU runs, so the backend may change after the workspace was planned, and
 * every smaller M, N, K (a batch below the planned one). */
void df_sgemm_ws(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                 const float *B, int ldb, float beta, float *C, int ldc, df_gemm_ws ws);
size_t df_sgemm_ws_bytes(int M, int N, int K, int threads);

void df_sgemm_ref(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                  const float *B, int ldb, float beta, float *C, int ldc);

/* Selects the backend for later df_sgemm calls; returns -1 (and keeps the current one) when this CPU
 * cannot run it. DF_GEMM_AUTO resolves to the best supported kernel. */
int df_gemm_set_backend(df_gemm_backend b);
df_gemm_backend df_gemm_get_backend(void);
/* The backend a call made here runs: the selected one, except OpenBLAS inside an OpenMP parallel region,
 * which runs the best hand-written kernel instead (see above). Never AUTO. */
df_gemm_backend df_gemm_backend_here(void);
/* Whether this CPU can run backend b (AUTO, portable and OpenBLAS always). */
int df_gemm_backend_supported(df_gemm_backend b);
/* 1 where the CPU executes a 256-bit FMA as two 128-bit halves, so that AVX2 code runs at the FMA rate of
 * SSE code: AMD Zen 1 and Zen+ (family 17h, models below 30h) and Hygon's Dhyana (family 18h, the same core).
 * Every other AVX2 CPU, Zen 2 onwards and Intel's since Haswell, has full-width FMA units. Kernel choices
 * that hold only on one kind of core read this (layers/conv/conv_kernel.h). */
int df_gemm_fma_halved(void);
/* The same for a CPUID vendor string and leaf-1 signature (EAX). */
int df_gemm_fma_halved_of(const char *vendor, unsigned signature);
const char *df_gemm_backend_name(df_gemm_backend b);
/* Parses "auto", "avx512", "avx2", "portable", "openblas"; returns -1 if unknown. */
int df_gemm_backend_parse(const char *s, df_gemm_backend *out);

/* The patch matrix of a 2-D convolution over n NHWC images x (n, H, W, C) with a k x k kernel, stride s and
 * zero padding p, described instead of stored ("implicit GEMM"): it has rows = n * OH * OW and
 * cols = k * k * C, and row (b * OH + oh) * OW + ow, column (i * k + j) * C + c holds
 * x[b, oh * s + i - p, ow * s + j - p, c], or 0 where that falls outside the image. The packing step of the
 * GEMM gathers its values straight from x, so the 9x larger (for 3x3) matrix is never written. */
typedef struct {
    const float *x;
    int n, H, W, C;
    int k, stride, pad;
    int OH, OW; /* (H + 2p - k) / s + 1 and (W + 2p - k) / s + 1, set by df_conv_patches_make */
} df_conv_patches;

/* Fills the descriptor; the shape must be valid (k <= H + 2p, k <= W + 2p, all sizes >= 1, p >= 0). */
df_conv_patches df_conv_patches_make(const float *x, int n, int H, int W, int C, int k, int stride, int pad);
static inline int df_conv_patches_rows(const df_conv_patches *p) { return p->n * p->OH * p->OW; }
static inline int df_conv_patches_cols(const df_conv_patches *p) { return p->k * p->k * p->C; }

/* C (rows x N) = alpha * patches * op(B) + beta * C, op(B) being cols x N (a convolution's forward).
 * C (M x cols) = alpha * op(A) * patches + beta * C, op(A) being M x rows (its weight gradient).
 * Same contract as df_sgemm otherwise, bit-identical results for any thread count included. On the
 * hand-written backends the results equal df_sgemm's on the stored patch matrix exactly while the summed
 * dimension (cols, or rows) fits one of df_sgemm's k blocks; beyond that the sum runs in longer blocks
 * than df_sgemm's, which measured faster for convolution shapes. The OpenBLAS backend stores the patch
 * matrix in slices (of the workspace) and runs cblas_sgemm on them. These are the implicit GEMM only: the
 * direct kernels that skip packing are chosen by the convolution layer (layers/conv/conv_kernel.h).
 * Workspace as df_sgemm_ws, sized by the _ws_bytes functions for the largest batch a caller runs. */
void df_sgemm_patches_a(const df_conv_patches *a, int trans_b, int N, float alpha, const float *B, int ldb,
                        float beta, float *C, int ldc, df_gemm_ws ws);
void df_sgemm_patches_b(int trans_a, int M, float alpha, const float *A, int lda, const df_conv_patches *b,
                        float beta, float *C, int ldc, df_gemm_ws ws);
size_t df_sgemm_patches_a_ws_bytes(const df_conv_patches *a, int N, int threads);
size_t df_sgemm_patches_b_ws_bytes(int M, const df_conv_patches *b, int threads);

#endif
