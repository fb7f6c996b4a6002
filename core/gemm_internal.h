/* gemm_internal.h: what the packed-panel GEMM backends share (not part of the public API).
 *
 * The blocked driver (gemm_blocked.c) follows the GotoBLAS/BLIS loop nest: B is packed into kc x nr
 * panels, A into mc x kc blocks made of mr-row panels, and a micro-kernel multiplies one A panel by one
 * B panel into an mr x nr tile of C. Packing (gemm_pack.c) absorbs both transposes and zero-pads the
 * edges, so every micro-kernel sees a single layout:
 *
 *   packed A panel: a[k * mr + i], i < mr, k < kc   (column k of the panel is contiguous)
 *   packed B panel: b[k * nr + j], j < nr, k < kc   (row k of the panel is contiguous)
 *
 * A micro-kernel computes, for its full mr x nr tile,
 *   C[i][j] = alpha * sum_k a[k][i] * b[k][j] + beta * C[i][j]     (C not read when beta == 0)
 * summing k in increasing order. Edge tiles (h < mr rows or w < nr columns) go to the kernel's `edge`
 * function when it has one, which must do the same arithmetic per element and touch only h x w of C;
 * otherwise the driver runs the full kernel on a temporary tile. Each ISA file defines its kernels and
 * block sizes as one df_gemm_kernel constant. */
#ifndef DF_GEMM_INTERNAL_H
#define DF_GEMM_INTERNAL_H

#include <stddef.h>

typedef void (*df_gemm_ukernel_fn)(int kc, const float *a, const float *b, float *c, ptrdiff_t ldc,
                                   float alpha, float beta);

typedef void (*df_gemm_edge_fn)(int kc, const float *a, const float *b, float *c, ptrdiff_t ldc,
                                float alpha, float beta, int h, int w);

typedef void (*df_gemm_pack_a_fn)(int mr, int trans_a, const float *A, int lda, int i0, int rows, int k0,
                                  int kc, float *dst);
typedef void (*df_gemm_pack_b_fn)(int nr, int trans_b, const float *B, int ldb, int k0, int kc, int j0,
                                  int cols, float *dst);

typedef struct {
    const char *name;
    int mr, nr;     /* register tile */
    int mc, kc, nc; /* cache blocks: A block mc x kc (L2), B panel kc x nc (L3); mc % mr == nc % nr == 0 */
    df_gemm_ukernel_fn kernel;
    df_gemm_edge_fn edge;     /* optional */
    df_gemm_pack_a_fn pack_a; /* optional: ISA-specific packers with the same output as the generic ones */
    df_gemm_pack_b_fn pack_b;
} df_gemm_kernel;

extern const df_gemm_kernel df_gemm_kernel_portable;
extern const df_gemm_kernel df_gemm_kernel_avx2;   /* only call where avx2 and fma are supported */
extern const df_gemm_kernel df_gemm_kernel_avx512; /* only call where avx512f is supported */

/* The whole GEMM through the packed loop nest; same contract as df_sgemm (M, N, K > 0, alpha != 0). */
void df_gemm_blocked(const df_gemm_kernel *kern, int trans_a, int trans_b, int M, int N, int K,
                     float alpha, const float *A, int lda, const float *B, int ldb, float beta, float *C,
                     int ldc);

/* Packs rows [i0, i0 + rows) x columns [k0, k0 + kc) of op(A) as ceil(rows / mr) panels into dst,
 * zero-padding the last panel to mr rows. */
void df_gemm_pack_a(int mr, int trans_a, const float *A, int lda, int i0, int rows, int k0, int kc,
                    float *dst);
/* Packs rows [k0, k0 + kc) x columns [j0, j0 + cols) of op(B), cols <= nr, as one panel zero-padded to
 * nr columns. */
void df_gemm_pack_b(int nr, int trans_b, const float *B, int ldb, int k0, int kc, int j0, int cols,
                    float *dst);
/* The same for mr = 14, nr = 32, with AVX-512 transposes (gemm_avx512_pack.c). */
void df_gemm_pack_a_avx512(int mr, int trans_a, const float *A, int lda, int i0, int rows, int k0, int kc,
                           float *dst);
void df_gemm_pack_b_avx512(int nr, int trans_b, const float *B, int ldb, int k0, int kc, int j0, int cols,
                           float *dst);

#endif
