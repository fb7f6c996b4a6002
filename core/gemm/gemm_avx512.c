/* gemm_avx512.c: the AVX-512F micro-kernels and their block sizes. Compiled with AVX-512 flags; only
 * called when the CPU reports avx512f (gemm.c checks). Contract: gemm_internal.h.
 *
 * The tile is 14 rows x 32 columns (2 zmm): 28 accumulators, 2 B vectors and 1 broadcast A value use 31
 * of the 32 zmm registers, and 28 independent FMA chains cover the FMA latency on two pipes. Measured
 * with operands in cache on the development VM (2 cores of an AVX-512 Intel Xeon), it ran at ~170
 * GFLOP/s against a measured FMA peak of ~174; 6x64, 8x48 and 12x32 tiles reached 149, 135 and 119.
 * Block sizes: kc = 512 and mc = 280 (A block 560 KiB, about half of a 1 MiB L2) measured best or
 * within noise of best over kc 256-640 and mc 168-672.
 *
 * Edge tiles (fewer rows or columns) run the same code instantiated for their row count and 1 or 2
 * vectors, with a masked last vector, so a 64-row GEMM does not pay for 70 rows and nothing needs a
 * temporary tile. Every element still sees the same FMA sequence as in a full tile. */
#include <immintrin.h>

#include "core/gemm/gemm_internal.h"

enum { MR = 14, NR = 32 };

static inline __attribute__((always_inline)) void tile(int rows, int nv, int masked, int kc,
                                                       const float *a, const float *b, float *c,
                                                       ptrdiff_t ldc, float alpha, float beta,
                                                       __mmask16 last_mask) {
    /* C is touched once per kc steps, often far away in L3 or memory: start fetching it now so the
     * update at the end does not stall on it. */
#pragma GCC unroll 16
    for (int i = 0; i < rows; i++)
#pragma GCC unroll 2
        for (int v = 0; v < nv; v++) _mm_prefetch((const char *)(c + i * ldc + 16 * v), _MM_HINT_T0);

    __m512 acc[MR][2];
#pragma GCC unroll 16
    for (int i = 0; i < rows; i++)
#pragma GCC unroll 2
        for (int v = 0; v < nv; v++) acc[i][v] = _mm512_setzero_ps();

    for (int k = 0; k < kc; k++, a += MR, b += NR) {
        __m512 bv[2];
#pragma GCC unroll 2
        for (int v = 0; v < nv; v++) bv[v] = _mm512_loadu_ps(b + 16 * v);
#pragma GCC unroll 16
        for (int i = 0; i < rows; i++) {
            __m512 av = _mm512_set1_ps(a[i]);
#pragma GCC unroll 2
            for (int v = 0; v < nv; v++) acc[i][v] = _mm512_fmadd_ps(av, bv[v], acc[i][v]);
        }
    }

    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma GCC unroll 16
    for (int i = 0; i < rows; i++)
#pragma GCC unroll 2
        for (int v = 0; v < nv; v++) {
            float *p = c + i * ldc + 16 * v;
            __m512 r = _mm512_mul_ps(va, acc[i][v]);
            if (masked && v == nv - 1) {
                if (beta != 0.0f) r = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(last_mask, p), r);
                _mm512_mask_storeu_ps(p, last_mask, r);
            } else {
                if (beta != 0.0f) r = _mm512_fmadd_ps(vb, _mm512_loadu_ps(p), r);
                _mm512_storeu_ps(p, r);
            }
        }
}

static void kernel(int kc, const float *a, const float *b, float *c, ptrdiff_t ldc, float alpha,
                   float beta) {
    tile(MR, 2, 0, kc, a, b, c, ldc, alpha, beta, 0xffff);
}

#define EDGE_CASE(h)                                                                               \
    case h:                                                                                        \
        if (w > 16)                                                                                \
            tile(h, 2, 1, kc, a, b, c, ldc, alpha, beta, mask);                                    \
        else                                                                                       \
            tile(h, 1, 1, kc, a, b, c, ldc, alpha, beta, mask);                                    \
        return;

static void kernel_edge(int kc, const float *a, const float *b, float *c, ptrdiff_t ldc, float alpha,
                        float beta, int h, int w) {
    const __mmask16 mask = (__mmask16)((1u << ((w - 1) % 16 + 1)) - 1);
    switch (h) {
        EDGE_CASE(1)
        EDGE_CASE(2)
        EDGE_CASE(3)
        EDGE_CASE(4)
        EDGE_CASE(5)
        EDGE_CASE(6)
        EDGE_CASE(7)
        EDGE_CASE(8)
        EDGE_CASE(9)
        EDGE_CASE(10)
        EDGE_CASE(11)
        EDGE_CASE(12)
        EDGE_CASE(13)
        EDGE_CASE(14)
    }
}

const df_gemm_kernel df_gemm_kernel_avx512 = {.name = "avx512 14x32",
                                              .mr = MR,
                                              .nr = NR,
                                              .mc = MR * 20,
                                              .kc = 512,
                                              .nc = 3072,
                                              .kernel = kernel,
                                              .edge = kernel_edge,
                                              .pack_a = df_gemm_pack_a_avx512,
                                              .pack_b = df_gemm_pack_b_avx512};
