/* gemm_pack.c: copies blocks of op(A) and op(B) into the panel layouts the micro-kernels read (see
 * gemm_internal.h), zero-padding partial panels so kernels need no edge cases. Compiled with generic
 * flags: packing moves O(MK + KN) floats against O(MNK) multiply-adds, so it is not worth an ISA copy. */
#include <string.h>

#include "core/gemm/gemm_internal.h"

void df_gemm_pack_a(int mr, int trans_a, const float *A, int lda, int i0, int rows, int k0, int kc,
                    float *dst) {
    for (int p = 0; p < rows; p += mr, dst += (ptrdiff_t)mr * kc) {
        int h = rows - p < mr ? rows - p : mr;
        if (trans_a) {
            /* op(A)(i, k) = A[k][i]: each k gives h contiguous floats, a straight copy per column. */
            const float *src = A + (ptrdiff_t)k0 * lda + i0 + p;
            for (int k = 0; k < kc; k++) {
                memcpy(dst + (ptrdiff_t)k * mr, src + (ptrdiff_t)k * lda, sizeof(float) * (size_t)h);
                for (int i = h; i < mr; i++) dst[(ptrdiff_t)k * mr + i] = 0.0f;
            }
        } else {
            /* Row by row: each source row is read sequentially and scattered with stride mr. */
            for (int i = 0; i < h; i++) {
                const float *src = A + (ptrdiff_t)(i0 + p + i) * lda + k0;
                for (int k = 0; k < kc; k++) dst[(ptrdiff_t)k * mr + i] = src[k];
            }
            for (int i = h; i < mr; i++)
                for (int k = 0; k < kc; k++) dst[(ptrdiff_t)k * mr + i] = 0.0f;
        }
    }
}

void df_gemm_pack_b(int nr, int trans_b, const float *B, int ldb, int k0, int kc, int j0, int cols,
                    float *dst) {
    if (trans_b) {
        /* op(B)(k, j) = B[j][k]: read each of the cols rows of B sequentially, scatter with stride nr. */
        for (int j = 0; j < cols; j++) {
            const float *src = B + (ptrdiff_t)(j0 + j) * ldb + k0;
            for (int k = 0; k < kc; k++) dst[(ptrdiff_t)k * nr + j] = src[k];
        }
        for (int j = cols; j < nr; j++)
            for (int k = 0; k < kc; k++) dst[(ptrdiff_t)k * nr + j] = 0.0f;
    } else {
        const float *src = B + (ptrdiff_t)k0 * ldb + j0;
        for (int k = 0; k < kc; k++) {
            memcpy(dst + (ptrdiff_t)k * nr, src + (ptrdiff_t)k * ldb, sizeof(float) * (size_t)cols);
            for (int j = cols; j < nr; j++) dst[(ptrdiff_t)k * nr + j] = 0.0f;
        }
    }
}
