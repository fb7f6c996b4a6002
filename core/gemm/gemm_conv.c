/* gemm_conv.c: GEMMs with a convolution's patch matrix as an operand, never stored (gemm.h,
 * df_sgemm_patches_a / df_sgemm_patches_b), and the generic packers that gather it from the NHWC input.
 *
 * The packers produce exactly the panels df_gemm_pack_a / df_gemm_pack_b would produce from the stored
 * patch matrix, so the blocked driver does the same arithmetic and results are bit-identical to im2col +
 * df_sgemm. In NHWC a patch row is k*k runs of C contiguous input floats (one per kernel tap), so both
 * packers work per tap: the A packer (patches as rows of C: a forward, or a stride-1 data gradient) gathers
 * mr row pointers per tap and transposes them into the panel; the B packer (patches as the summed
 * dimension: a weight gradient) copies each patch row's runs into a panel row. Taps in the padding are
 * NULL pointers, packed as zeros. */
#include <cblas.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/gemm/gemm_internal.h"

enum { MAX_MR = 16 };

df_conv_patches df_conv_patches_make(const float *x, int n, int H, int W, int C, int k, int stride, int pad) {
    DF_ASSERT(n >= 1 && H >= 1 && W >= 1 && C >= 1 && k >= 1 && stride >= 1 && pad >= 0);
    DF_ASSERT(k <= H + 2 * pad && k <= W + 2 * pad);
    df_conv_patches p = {x, n, H, W, C, k, stride, pad, (H + 2 * pad - k) / stride + 1,
                         (W + 2 * pad - k) / stride + 1};
    return p;
}

void df_gemm_pack_rows(int mr, const float *const *rows, int len, float *dst) {
    for (int i = 0; i < mr; i++) {
        const float *src = rows[i];
        if (src)
            for (int c = 0; c < len; c++) dst[(ptrdiff_t)c * mr + i] = src[c];
        else
            for (int c = 0; c < len; c++) dst[(ptrdiff_t)c * mr + i] = 0.0f;
    }
}

void df_gemm_pack_a_patches(const df_gemm_kernel *kern, const df_conv_patches *pt, int i0, int rows, int k0,
                            int kc, float *dst) {
    const int mr = kern->mr, C = pt->C;
    const df_gemm_pack_rows_fn pack_rows = kern->pack_rows ? kern->pack_rows : df_gemm_pack_rows;
    DF_ASSERT(mr <= MAX_MR);
    df_gemm_patch_pos pos[MAX_MR];
    const float *src[MAX_MR];
    for (int p = 0; p < rows; p += mr, dst += (ptrdiff_t)mr * kc) {
        const int h = rows - p < mr ? rows - p : mr;
        for (int i = 0; i < h; i++) pos[i] = df_gemm_patch_pos_at(pt, i0 + p + i);
        for (int i = h; i < mr; i++) src[i] = NULL;
        for (int k = k0; k < k0 + kc;) {
            const int t = k / C, c0 = k % C, len = C - c0 < k0 + kc - k ? C - c0 : k0 + kc - k;
            const df_gemm_patch_seg seg = {t / pt->k, t % pt->k, c0, len, 0};
            for (int i = 0; i < h; i++) src[i] = df_gemm_patch_src(pt, pos[i], &seg);
            pack_rows(mr, src, len, dst + (ptrdiff_t)(k - k0) * mr);
            k += len;
        }
    }
}

int df_gemm_patch_segments(const df_conv_patches *pt, int j0, int cols, df_gemm_patch_seg *seg) {
    int n = 0;
    for (int j = j0; j < j0 + cols;) {
        const int t = j / pt->C, c0 = j % pt->C;
        const int len = pt->C - c0 < j0 + cols - j ? pt->C - c0 : j0 + cols - j;
        seg[n++] = (df_gemm_patch_seg){t / pt->k, t % pt->k, c0, len, j - j0};
        j += len;
    }
    return n;
}

void df_gemm_pack_b_patches(int nr, const df_conv_patches *pt, int k0, int kc, int j0, int cols, float *dst) {
    df_gemm_patch_seg seg[64];
    DF_ASSERT(nr <= 64);
    const int nseg = df_gemm_patch_segments(pt, j0, cols, seg);
    df_gemm_patch_pos pos = df_gemm_patch_pos_at(pt, k0);
    for (int r = 0; r < kc; r++, dst += nr, df_gemm_patch_next(pt, &pos)) {
        for (int s = 0; s < nseg; s++) {
            const float *src = df_gemm_patch_src(pt, pos, &seg[s]);
            if (src)
                memcpy(dst + seg[s].off, src, sizeof(float) * (size_t)seg[s].len);
            else
                memset(dst + seg[s].off, 0, sizeof(float) * (size_t)seg[s].len);
        }
        for (int j = cols; j < nr; j++) dst[j] = 0.0f;
    }
}

/* ---- entry points ---- */

/* Rows [r0, r0 + n) of the patch matrix, stored (n, cols): the OpenBLAS path. */
static void store_rows(const df_conv_patches *pt, int r0, int n, float *dst) {
    const int cols = df_conv_patches_cols(pt);
    df_gemm_patch_seg seg[1];
    df_gemm_patch_pos pos = df_gemm_patch_pos_at(pt, r0);
    for (int r = 0; r < n; r++, dst += cols, df_gemm_patch_next(pt, &pos))
        for (int t = 0; t < pt->k * pt->k; t++) {
            seg[0] = (df_gemm_patch_seg){t / pt->k, t % pt->k, 0, pt->C, t * pt->C};
            const float *src = df_gemm_patch_src(pt, pos, &seg[0]);
            if (src)
                memcpy(dst + seg[0].off, src, sizeof(float) * (size_t)pt->C);
            else
                memset(dst + seg[0].off, 0, sizeof(float) * (size_t)pt->C);
        }
}

/* Patch rows per stored slice on the OpenBLAS path: about 16 MiB. */
static int slice_rows(const df_conv_patches *pt) {
    int rows = (int)(((size_t)4 << 20) / (size_t)df_conv_patches_cols(pt));
    return rows < 1 ? 1 : rows;
}

/* The OpenBLAS path's slice: from the workspace, or allocated when the caller gave none. */
static float *slice_buf(df_gemm_ws ws, size_t floats) {
    if (!ws.p) return df_malloc(sizeof(float) * floats);
    DF_ASSERT(ws.bytes >= sizeof(float) * floats);
    return ws.p;
}

/* The larger of the OpenBLAS slice (rows x cols: its row count bounded by the matrix's) and the blocked
 * driver's workspace on every hand-written kernel this CPU runs. */
static size_t patches_ws_bytes(const df_conv_patches *pt, int M, int N, int K, int threads) {
    if (M <= 0 || N <= 0 || K <= 0) return 0;
    const int rows = df_conv_patches_rows(pt), slice = slice_rows(pt) < rows ? slice_rows(pt) : rows;
    const size_t blas = sizeof(float) * (size_t)slice * df_conv_patches_cols(pt);
    const size_t blocked = df_gemm_blocked_ws_bytes_max(M, N, K, 1, threads);
    return blas > blocked ? blas : blocked;
}

size_t df_sgemm_patches_a_ws_bytes(const df_conv_patches *a, int N, int threads) {
    return patches_ws_bytes(a, df_conv_patches_rows(a), N, df_conv_patches_cols(a), threads);
}

size_t df_sgemm_patches_b_ws_bytes(int M, const df_conv_patches *b, int threads) {
    return patches_ws_bytes(b, M, df_conv_patches_cols(b), df_conv_patches_rows(b), threads);
}

static void scale_c(int M, int N, float beta, float *C, int ldc) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) C[(ptrdiff_t)i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[(ptrdiff_t)i * ldc + j];
}

/* The patch matrix p (rows x cols) as A (as_b 0: C = p op(X)) or as B (as_b 1: C = op(X) p) times the
 * other operand X, of `other` columns or rows: the blocked driver gathers p while packing; OpenBLAS gets it
 * stored slice by slice of its rows (rows of C as A, blocks of the sum as B). */
static void patches_times(const df_conv_patches *p, int as_b, int trans_x, int other, float alpha, const float *X,
                          int ldx, float beta, float *C, int ldc, df_gemm_ws ws) {
    const int rows = df_conv_patches_rows(p), cols = df_conv_patches_cols(p);
    const int M = as_b ? other : rows, N = as_b ? cols : other, K = as_b ? rows : cols;
    if (other == 0) return;
    if (alpha == 0.0f) {
        scale_c(M, N, beta, C, ldc);
        return;
    }
    df_gemm_kernel kern;
    if (df_gemm_kernel_of(df_gemm_backend_here(), &kern)) {
        const df_gemm_operand po = {0, NULL, 0, p}, xo = {trans_x, X, ldx, NULL};
        df_gemm_blocked_op(&kern, M, N, K, alpha, as_b ? &xo : &po, as_b ? &po : &xo, beta, C, ldc, ws);
        return;
    }
    const int slice = slice_rows(p) < rows ? slice_rows(p) : rows;
    float *buf = slice_buf(ws, (size_t)slice * cols);
    for (int r0 = 0; r0 < rows; r0 += slice) {
        const int n = rows - r0 < slice ? rows - r0 : slice;
        store_rows(p, r0, n, buf);
        const CBLAS_TRANSPOSE tx = trans_x ? CblasTrans : CblasNoTrans;
        if (!as_b) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, tx, n, N, K, alpha, buf, K, X, ldx, beta, C + (ptrdiff_t)r0 * ldc,
                        ldc);
        } else {
            /* Column r0 of op(X) starts at row r0 of X when X is stored transposed. */
            const float *x0 = trans_x ? X + (ptrdiff_t)r0 * ldx : X + r0;
            cblas_sgemm(CblasRowMajor, tx, CblasNoTrans, M, N, n, alpha, x0, ldx, buf, N, r0 == 0 ? beta : 1.0f, C,
                        ldc);
        }
    }
    if (!ws.p) free(buf);
}

void df_sgemm_patches_a(const df_conv_patches *a, int trans_b, int N, float alpha, const float *B, int ldb,
                        float beta, float *C, int ldc, df_gemm_ws ws) {
    const int K = df_conv_patches_cols(a);
    DF_ASSERT(N >= 0 && ldc >= (N > 1 ? N : 1) && ldb >= ((trans_b ? K : N) > 1 ? (trans_b ? K : N) : 1));
    patches_times(a, 0, trans_b, N, alpha, B, ldb, beta, C, ldc, ws);
}

void df_sgemm_patches_b(int trans_a, int M, float alpha, const float *A, int lda, const df_conv_patches *b,
                        float beta, float *C, int ldc, df_gemm_ws ws) {
    const int K = df_conv_patches_rows(b), N = df_conv_patches_cols(b);
    DF_ASSERT(M >= 0 && ldc >= N && lda >= ((trans_a ? M : K) > 1 ? (trans_a ? M : K) : 1));
    patches_times(b, 1, trans_a, M, alpha, A, lda, beta, C, ldc, ws);
}
