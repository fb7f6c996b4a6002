/* conv_wgrad_avx2.c: df_sgemm_patches_b for a convolution's weight gradient on the AVX2 backend,
 *   C (M x k*k*C) = alpha * A^T * patches + beta * C,   A (pixels x M) = dY, M = output channels,
 * with neither operand packed (contract: conv_avx2.h, df_conv_wgrad_avx2). Compiled with -mavx2 -mfma; only
 * called where the CPU has both.
 *
 * conv_wgrad_avx512.c's design with the GEMM's 6x16 register tile: in NHWC, for kernel tap (ki, kj) and a
 * 16-channel run, pixel p's B row is 16 contiguous input floats and its A column (6 output channels) 6
 * contiguous floats of dY's row p. So a tile of C (6 output channels x 16 input channels of one tap) is a
 * loop over pixels that loads 2 vectors from x, broadcasts 6 values from dY and does 12 FMAs, pointers
 * stepping by stride * C and M; 12 accumulators + 2 + 1 fill the 16 ymm registers. Pixels whose tap falls
 * in the padding are skipped (their products are zeros), so there is no padded copy. An input-channel rest
 * of 8 takes one vector.
 *
 * Pixels are taken in blocks of whole output rows (about BLOCK_PIXELS), so that a block's dY and input
 * rows stay in L2 while every tile passes over them; the tiles, blocks and threads are
 * conv_direct_drive.c's (results do not depend on the thread count). With at most BLOCK_PIXELS pixels (one
 * block) the result equals df_sgemm's on the stored matrices (whose k block is as long). */
#include <immintrin.h>

#include "core/error.h"
#include "layers/conv/conv_avx2.h"
#include "layers/conv/conv_direct_drive.h"

enum { MR = 6, NR = 16 };
/* Pixels per block, rounded down to whole output rows: dY (BLOCK_PIXELS x M) and the input rows it reads
 * stay near 256 KiB for 64-128 channels, half of a 512 KiB L2. */
#define BLOCK_PIXELS 256

/* One tile (rows output channels from co0, nv vectors of input channels from c0, tap t) over output rows
 * [r0, r1) of the whole batch, then its update of C. */
static inline __attribute__((always_inline)) void tile(const int rows, const int nv, const df_conv_wgrad_job *j,
                                                       int co0, int t, int c0, long r0, long r1, float beta) {
    const df_conv_patches *pt = j->pt;
    const int ki = t / pt->k, kj = t % pt->k, s = pt->stride, C = pt->C;
    int oh_lo, oh_hi, ow_lo, ow_hi;
    df_conv_tap_range(pt->OH, pt->H, ki, s, pt->pad, &oh_lo, &oh_hi);
    df_conv_tap_range(pt->OW, pt->W, kj, s, pt->pad, &ow_lo, &ow_hi);
    __m256 acc[MR][2];
#pragma GCC unroll 6
    for (int i = 0; i < rows; i++)
#pragma GCC unroll 2
        for (int v = 0; v < nv; v++) acc[i][v] = _mm256_setzero_ps();
    for (long r = r0; r < r1; r++) {
        const int b = (int)(r / pt->OH), oh = (int)(r % pt->OH);
        if (oh < oh_lo || oh >= oh_hi) continue;
        const int h = oh * s + ki - pt->pad;
        const float *x = pt->x + (((size_t)b * pt->H + h) * pt->W + (size_t)(ow_lo * s + kj - pt->pad)) * C + c0;
        const float *a = j->A + ((size_t)r * pt->OW + ow_lo) * j->lda + co0;
        for (int ow = ow_lo; ow < ow_hi; ow++, x += (size_t)s * C, a += j->lda) {
            __m256 bv[2];
#pragma GCC unroll 2
            for (int v = 0; v < nv; v++) bv[v] = _mm256_loadu_ps(x + 8 * v);
#pragma GCC unroll 6
            for (int i = 0; i < rows; i++) {
                const __m256 av = _mm256_broadcast_ss(a + i);
#pragma GCC unroll 2
                for (int v = 0; v < nv; v++) acc[i][v] = _mm256_fmadd_ps(av, bv[v], acc[i][v]);
            }
        }
    }
    const __m256 va = _mm256_set1_ps(j->alpha), vb = _mm256_set1_ps(beta);
#pragma GCC unroll 6
    for (int i = 0; i < rows; i++)
#pragma GCC unroll 2
        for (int v = 0; v < nv; v++) {
            float *p = j->C + (size_t)(co0 + i) * j->ldc + (size_t)t * C + c0 + 8 * v;
            __m256 r = _mm256_mul_ps(va, acc[i][v]);
            if (beta != 0.0f) r = _mm256_fmadd_ps(vb, _mm256_loadu_ps(p), r);
            _mm256_storeu_ps(p, r);
        }
}

#define ROW_CASE(h)                                                                                      \
    case h:                                                                                              \
        if (nv == 2)                                                                                     \
            tile(h, 2, j, co0, t, c0, r0, r1, beta);                                                     \
        else                                                                                             \
            tile(h, 1, j, co0, t, c0, r0, r1, beta);                                                     \
        return;

static void run_tile(const df_conv_wgrad_job *j, int rows, int cols, int co0, int t, int c0, long r0, long r1,
                     float beta) {
    const int nv = cols / 8;
    switch (rows) { ROW_CASE(1) ROW_CASE(2) ROW_CASE(3) ROW_CASE(4) ROW_CASE(5) ROW_CASE(6) }
    DF_ASSERT(!"weight gradient tile of an unexpected height");
}

void df_conv_wgrad_avx2(int M, float alpha, const float *A, int lda, const df_conv_patches *pt, float beta,
                        float *C, int ldc) {
    DF_ASSERT(df_conv_wgrad_avx2_applies(pt));
    const df_conv_wgrad_isa isa = {MR, NR, BLOCK_PIXELS, run_tile};
    df_conv_wgrad_drive(M, alpha, A, lda, pt, beta, C, ldc, &isa);
}
