/* conv_wgrad_avx512.c: df_sgemm_patches_b for a convolution's weight gradient on the AVX-512 backend,
 *   C (M x k*k*C) = alpha * A^T * patches + beta * C,   A (pixels x M) = dY, M = output channels,
 * with neither operand packed (contract: conv_avx512.h, df_conv_wgrad_avx512). Compiled with AVX-512
 * flags; only called where the CPU has avx512f.
 *
 * Packing both operands took a quarter of the packed GEMM's time here (the patch matrix is 9x the input),
 * and it ran at 120-145 GFLOP/s a core. But in NHWC every operand the micro-kernel needs is already in
 * place: for kernel tap (ki, kj) and a 32-channel run, pixel p's B row is 32 contiguous input floats, and
 * its A column (14 output channels) 14 contiguous floats of dY's row p. So a tile of C (14 output channels
 * x 32 input channels of one tap) is a loop over pixels that loads 2 vectors from x, broadcasts 14 values
 * from dY and does 28 FMAs, with pointers stepping by C and M. Pixels whose tap falls in the padding are
 * skipped (their products are zeros): no padded copy either. The output channels are cut into tiles as
 * equal as they come (128 = 10 tiles of 12-13, not 9 of 14 and one of 2 whose 4 FMA chains would run at
 * half speed).
 *
 * Pixels are taken in blocks of whole output rows (about BLOCK_PIXELS), so that a block's dY and input
 * rows stay in L2 while every tile passes over them; the tiles, blocks and threads are conv_direct_drive.c's
 * (results do not depend on the thread count). With at most BLOCK_PIXELS pixels (one block) the result
 * equals df_sgemm's on the stored matrices. */
#include <immintrin.h>

#include "core/error.h"
#include "layers/conv/conv_avx512.h"
#include "layers/conv/conv_direct_drive.h"

enum { MR = 14, NR = 32 };
/* Pixels per block, rounded to whole output rows: dY (BLOCK_PIXELS x M) and the input rows it reads near
 * 0.5 MiB for 64-256 channels, a quarter of L2. */
#define BLOCK_PIXELS 512

/* One tile (rows output channels from co0, nv vectors of input channels from c0, tap t) over output rows
 * [r0, r1) of the whole batch, then its update of C. */
static inline __attribute__((always_inline)) void tile(const int rows, const int nv, const df_conv_wgrad_job *j, int co0,
                                                       int t, int c0, long r0, long r1, float beta) {
    const df_conv_patches *pt = j->pt;
    const int ki = t / pt->k, kj = t % pt->k, s = pt->stride, C = pt->C;
    int oh_lo, oh_hi, ow_lo, ow_hi;
    df_conv_tap_range(pt->OH, pt->H, ki, s, pt->pad, &oh_lo, &oh_hi);
    df_conv_tap_range(pt->OW, pt->W, kj, s, pt->pad, &ow_lo, &ow_hi);
    __m512 acc[MR][2];
#pragma GCC unroll 16
    for (int i = 0; i < rows; i++)
#pragma GCC unroll 2
        for (int v = 0; v < nv; v++) acc[i][v] = _mm512_setzero_ps();
    for (long r = r0; r < r1; r++) {
        const int b = (int)(r / pt->OH), oh = (int)(r % pt->OH);
        if (oh < oh_lo || oh >= oh_hi) continue;
        const int h = oh * s + ki - pt->pad;
        const float *x = pt->x + (((size_t)b * pt->H + h) * pt->W + (size_t)(ow_lo * s + kj - pt->pad)) * C + c0;
        const float *a = j->A + ((size_t)r * pt->OW + ow_lo) * j->lda + co0;
        for (int ow = ow_lo; ow < ow_hi; ow++, x += (size_t)s * C, a += j->lda) {
            __m512 bv[2];
#pragma GCC unroll 2
            for (int v = 0; v < nv; v++) bv[v] = _mm512_loadu_ps(x + 16 * v);
#pragma GCC unroll 16
            for (int i = 0; i < rows; i++) {
                const __m512 av = _mm512_set1_ps(a[i]);
#pragma GCC unroll 2
                for (int v = 0; v < nv; v++) acc[i][v] = _mm512_fmadd_ps(av, bv[v], acc[i][v]);
            }
        }
    }
    const __m512 va = _mm512_set1_ps(j->alpha), vb = _mm512_set1_ps(beta);
#pragma GCC unroll 16
    for (int i = 0; i < rows; i++)
#pragma GCC unroll 2
        for (int v = 0; v < nv; v++) {
            float *p = j->C + (size_t)(co0 + i) * j->ldc + (size_t)t * C + c0 + 16 * v;
            __m512 r = _mm512_mul_ps(va, acc[i][v]);
            if (beta != 0.0f) r = _mm512_fmadd_ps(vb, _mm512_loadu_ps(p), r);
            _mm512_storeu_ps(p, r);
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
    const int nv = cols / 16;
    switch (rows) {
        ROW_CASE(1) ROW_CASE(2) ROW_CASE(3) ROW_CASE(4) ROW_CASE(5) ROW_CASE(6) ROW_CASE(7)
        ROW_CASE(8) ROW_CASE(9) ROW_CASE(10) ROW_CASE(11) ROW_CASE(12) ROW_CASE(13) ROW_CASE(14)
    }
}

void df_conv_wgrad_avx512(int M, float alpha, const float *A, int lda, const df_conv_patches *pt, float beta,
                          float *C, int ldc) {
    DF_ASSERT(df_conv_wgrad_avx512_applies(pt));
    const df_conv_wgrad_isa isa = {MR, NR, BLOCK_PIXELS, run_tile};
    df_conv_wgrad_drive(M, alpha, A, lda, pt, beta, C, ldc, &isa);
}
