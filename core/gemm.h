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
 * thread alone. df_sgemm_ref is the plain triple loop that tests hold the fast paths to. */
#ifndef DF_GEMM_H
#define DF_GEMM_H

typedef enum {
    DF_GEMM_AUTO = 0,  /* best hand-written kernel this CPU supports */
    DF_GEMM_AVX512,    /* AVX-512F micro-kernel */
    DF_GEMM_AVX2,      /* AVX2 + FMA micro-kernel */
    DF_GEMM_PORTABLE,  /* plain C, blocked */
    DF_GEMM_OPENBLAS,  /* cblas_sgemm from OpenBLAS */
} df_gemm_backend;

void df_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc);

void df_sgemm_ref(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                  const float *B, int ldb, float beta, float *C, int ldc);

/* Selects the backend for later df_sgemm calls; returns -1 (and keeps the current one) when this CPU
 * cannot run it. DF_GEMM_AUTO resolves to the best supported kernel. */
int df_gemm_set_backend(df_gemm_backend b);
df_gemm_backend df_gemm_get_backend(void);
const char *df_gemm_backend_name(df_gemm_backend b);
/* Parses "auto", "avx512", "avx2", "portable", "openblas"; returns -1 if unknown. */
int df_gemm_backend_parse(const char *s, df_gemm_backend *out);

#endif
