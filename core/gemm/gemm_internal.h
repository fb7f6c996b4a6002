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

#include "core/gemm/gemm.h"

typedef void (*df_gemm_ukernel_fn)(int kc, const float *a, const float *b, float *c, ptrdiff_t ldc,
                                   float alpha, float beta);

typedef void (*df_gemm_edge_fn)(int kc, const float *a, const float *b, float *c, ptrdiff_t ldc,
                                float alpha, float beta, int h, int w);

typedef void (*df_gemm_pack_a_fn)(int mr, int trans_a, const float *A, int lda, int i0, int rows, int k0,
                                  int kc, float *dst);
typedef void (*df_gemm_pack_b_fn)(int nr, int trans_b, const float *B, int ldb, int k0, int kc, int j0,
                                  int cols, float *dst);

/* Packs len columns of mr rows into dst[c * mr + i]; rows[i] points at row i's len contiguous floats, or is
 * NULL for a row of zeros. */
typedef void (*df_gemm_pack_rows_fn)(int mr, const float *const *rows, int len, float *dst);
/* Packs rows [k0, k0 + kc) x columns [j0, j0 + cols) of a patch matrix (gemm.h), cols <= nr, as one B
 * panel zero-padded to nr columns. */
typedef void (*df_gemm_pack_b_patches_fn)(int nr, const df_conv_patches *pt, int k0, int kc, int j0, int cols,
                                          float *dst);

typedef struct df_gemm_kernel df_gemm_kernel;
/* Packs rows [i0, i0 + rows) x columns [k0, k0 + kc) of a patch matrix as A panels. */
typedef void (*df_gemm_pack_a_patches_fn)(const df_gemm_kernel *kern, const df_conv_patches *pt, int i0, int rows,
                                          int k0, int kc, float *dst);

struct df_gemm_kernel {
    const char *name;
    int mr, nr;     /* register tile */
    int mc, kc, nc; /* cache blocks: A block mc x kc (L2), B panel kc x nc (L3); mc % mr == nc % nr == 0 */
    df_gemm_ukernel_fn kernel;
    df_gemm_edge_fn edge;     /* optional */
    df_gemm_pack_a_fn pack_a; /* optional: ISA-specific packers with the same output as the generic ones */
    df_gemm_pack_b_fn pack_b;
    df_gemm_pack_rows_fn pack_rows;           /* optional: patch matrices as A */
    df_gemm_pack_b_patches_fn pack_b_patches; /* optional: patch matrices as B */
    df_gemm_pack_a_patches_fn pack_a_patches; /* optional: replaces df_gemm_pack_a_patches */
};

/* One operand as the driver sees it: a stored matrix (trans, p, ld), or, when patches is set, a patch
 * matrix used as it is (A: rows x cols, B: rows x cols, never transposed). */
typedef struct {
    int trans;
    const float *p;
    int ld;
    const df_conv_patches *patches;
} df_gemm_operand;

/* A grow-only buffer, kept per thread (_Thread_local) and reused across calls: the stand-in workspace of
 * calls that bring none (fresh pages cost ~10 us each to fault in, more than the multiply for small
 * shapes). */
typedef struct {
    float *p;
    size_t cap; /* floats */
} df_gemm_buf;
float *df_gemm_buf_reserve(df_gemm_buf *b, size_t floats);

extern const df_gemm_kernel df_gemm_kernel_portable;
extern const df_gemm_kernel df_gemm_kernel_avx2;   /* only call where avx2 and fma are supported */
extern const df_gemm_kernel df_gemm_kernel_avx512; /* only call where avx512f is supported */

/* The whole GEMM through the packed loop nest; same contract as df_sgemm (M, N, K > 0, alpha != 0). */
void df_gemm_blocked(const df_gemm_kernel *kern, int trans_a, int trans_b, int M, int N, int K,
                     float alpha, const float *A, int lda, const float *B, int ldb, float beta, float *C,
                     int ldc, df_gemm_ws ws);

/* The same with either operand possibly a patch matrix. */
void df_gemm_blocked_op(const df_gemm_kernel *kern, int M, int N, int K, float alpha, const df_gemm_operand *a,
                        const df_gemm_operand *b, float beta, float *C, int ldc, df_gemm_ws ws);

/* Floats of workspace df_gemm_blocked_op needs on `threads` threads for any shape up to M x N x K (patches:
 * whether an operand is a patch matrix, which allows longer k blocks). */
size_t df_gemm_blocked_ws_floats(const df_gemm_kernel *kern, int M, int N, int K, int patches, int threads);
/* The largest df_gemm_blocked_ws_floats over the hand-written kernels this CPU runs, in bytes. */
size_t df_gemm_blocked_ws_bytes_max(int M, int N, int K, int patches, int threads);
/* The hand-written kernel a call from here runs on backend b (OpenBLAS: none, 0 returned), with the
 * AVX-512 patch packers attached. */
int df_gemm_kernel_of(df_gemm_backend b, df_gemm_kernel *k);

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
/* The same for mr = 6, nr = 16 with AVX2 transposes (gemm_avx2_pack.c), and its patch-matrix packers. */
void df_gemm_pack_a_avx2(int mr, int trans_a, const float *A, int lda, int i0, int rows, int k0, int kc,
                         float *dst);
void df_gemm_pack_b_avx2(int nr, int trans_b, const float *B, int ldb, int k0, int kc, int j0, int cols,
                         float *dst);
void df_gemm_pack_rows_avx2(int mr, const float *const *rows, int len, float *dst);
void df_gemm_pack_b_patches_avx2(int nr, const df_conv_patches *pt, int k0, int kc, int j0, int cols,
                                 float *dst);

/* Patch-matrix packers (gemm_conv.c): the same panel layouts as df_gemm_pack_a / df_gemm_pack_b. The A
 * packer gathers, per panel and per kernel tap, mr row pointers into the input and hands them to the
 * kernel's pack_rows (or df_gemm_pack_rows). */
void df_gemm_pack_a_patches(const df_gemm_kernel *kern, const df_conv_patches *pt, int i0, int rows, int k0,
                            int kc, float *dst);
void df_gemm_pack_rows(int mr, const float *const *rows, int len, float *dst);
void df_gemm_pack_b_patches(int nr, const df_conv_patches *pt, int k0, int kc, int j0, int cols, float *dst);

/* Where a patch matrix's row lies in the input, walked row by row by the B packers. */
typedef struct {
    int b, oh, ow;
} df_gemm_patch_pos;
/* A run of patch-matrix columns inside one kernel tap (ti, tj): channels [c0, c0 + len), packed at
 * column off of the panel. */
typedef struct {
    int ti, tj, c0, len, off;
} df_gemm_patch_seg;
/* Cuts columns [j0, j0 + cols) into per-tap runs; returns their count (at most cols). */
int df_gemm_patch_segments(const df_conv_patches *pt, int j0, int cols, df_gemm_patch_seg *seg);
static inline df_gemm_patch_pos df_gemm_patch_pos_at(const df_conv_patches *pt, int row) {
    int per_img = pt->OH * pt->OW, q = row % per_img;
    df_gemm_patch_pos p = {row / per_img, q / pt->OW, q % pt->OW};
    return p;
}
static inline void df_gemm_patch_next(const df_conv_patches *pt, df_gemm_patch_pos *p) {
    if (++p->ow == pt->OW) {
        p->ow = 0;
        if (++p->oh == pt->OH) p->oh = 0, p->b++;
    }
}
/* The input floats of a run at a position, or NULL when the tap falls in the padding. */
static inline const float *df_gemm_patch_src(const df_conv_patches *pt, df_gemm_patch_pos p,
                                             const df_gemm_patch_seg *s) {
    int h = p.oh * pt->stride - pt->pad + s->ti, w = p.ow * pt->stride - pt->pad + s->tj;
    if (h < 0 || h >= pt->H || w < 0 || w >= pt->W) return NULL;
    return pt->x + (((size_t)p.b * pt->H + h) * pt->W + w) * pt->C + s->c0;
}

/* AVX-512 versions (gemm_avx512_pack.c), mr = 14 and nr = 32. The A packer handles panels of 14 pixels
 * in one output row of a stride-1 convolution with at most 3 taps a row itself, and hands others to
 * df_gemm_pack_a_patches. */
void df_gemm_pack_a_patches_avx512(const df_gemm_kernel *kern, const df_conv_patches *pt, int i0, int rows, int k0,
                                   int kc, float *dst);
void df_gemm_pack_rows_avx512(int mr, const float *const *rows, int len, float *dst);
void df_gemm_pack_b_patches_avx512(int nr, const df_conv_patches *pt, int k0, int kc, int j0, int cols,
                                   float *dst);

#endif
