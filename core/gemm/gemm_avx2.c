/* gemm_avx2.c: the AVX2 + FMA micro-kernel (6 x 16 tile) and its block sizes. Compiled with -mavx2
 * -mfma; only called when the CPU reports both (gemm.c checks). Contract: gemm_internal.h. Its packers
 * are in gemm_avx2_pack.c.
 *
 * 6 rows x 2 ymm vectors = 12 accumulators, plus 2 B vectors and 1 broadcast, fit the 16 ymm registers
 * and give 12 independent FMA chains: enough to cover FMA latency (4-5 cycles) on cores with two 256-bit
 * FMA pipes (Zen 2-4, Intel), twice what Zen 1 (one 256-bit FMA a cycle, as two 128-bit halves) needs.
 *
 * Block sizes are chosen for the smallest caches among the CPUs this backend runs on (Zen 1-4: 32 KiB L1D,
 * 512 KiB-1 MiB L2; Intel client/server: 48 KiB L1D, 1.25-2 MiB L2), not for one of them:
 *   kc = 256: the B micro-panel the kernel reads for every tile of an A block is kc x 16 floats = 16 KiB,
 *     half of a 32 KiB L1D, so it stays there beside the 6 KiB A micro-panel streaming past it; 384 would
 *     take 24 + 9 KiB, more than Zen's L1D.
 *   mc = 144: the packed A block, mc x kc = 144 KiB, stays in a 512 KiB L2 with room for the B panels and
 *     C tiles passing through. A larger mc only makes each B micro-panel serve more tiles per trip into
 *     L1 (already 24), so the 1.25-2 MiB L2s of Intel and Zen 4 would gain little from one.
 *   nc = 3072: a kc x nc B block is 3 MiB, inside the L3 share of a core group (8 MiB per Zen 1 CCX, more
 *     elsewhere); with several threads each packs its own, nc / threads wide (gemm_blocked.c).
 * The k blocking is the one that shapes results (the order of the sum); mc and nc change only speed. */
#include <immintrin.h>

#include "core/gemm/gemm_internal.h"

enum { MR = 6, NV = 2, NR = 8 * NV };

/* acc[i][v] = sum over k of a[k][i] * b[k][8v .. 8v + 7], k in increasing order, for the first mh rows and
 * nv vectors of the tile (both constants once inlined, so acc stays in registers). */
static inline __attribute__((always_inline)) void accumulate(int mh, int nv, int kc, const float *a,
                                                             const float *b, __m256 acc[MR][NV]) {
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++) acc[i][v] = _mm256_setzero_ps();
    for (int k = 0; k < kc; k++, a += MR, b += NR) {
        __m256 bv[NV];
#pragma GCC unroll 2
        for (int v = 0; v < nv; v++) bv[v] = _mm256_loadu_ps(b + 8 * v);
#pragma GCC unroll 8
        for (int i = 0; i < mh; i++) {
            __m256 av = _mm256_broadcast_ss(a + i);
#pragma GCC unroll 2
            for (int v = 0; v < nv; v++) acc[i][v] = _mm256_fmadd_ps(av, bv[v], acc[i][v]);
        }
    }
}

static void kernel_6x16(int kc, const float *a, const float *b, float *c, ptrdiff_t ldc, float alpha,
                        float beta) {
    /* The tile of C is read (beta != 0) or written only after the k loop: asking for its lines now hides
     * their latency behind the loop (6 rows ldc apart are 6 to 12 misses when C is larger than L2). */
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++) {
        _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + i * ldc + NR - 1), _MM_HINT_T0);
    }
    __m256 acc[MR][NV];
    accumulate(MR, NV, kc, a, b, acc);

    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++) {
            float *p = c + i * ldc + 8 * v;
            __m256 r = _mm256_mul_ps(va, acc[i][v]);
            if (beta != 0.0f) r = _mm256_fmadd_ps(vb, _mm256_loadu_ps(p), r);
            _mm256_storeu_ps(p, r);
        }
}

/* An edge tile, h <= 6 rows by w <= 16 columns, with the full kernel's arithmetic per element (the panels
 * are zero-padded, so the sums are the same) but only the h x w elements of C read and written, through
 * masked loads and stores: no round trip through a temporary tile. Only the rows and vectors the tile has are
 * multiplied: a tile at most 8 wide (an N that is 8 more than a multiple of 16, such as 392) takes the first B
 * vector only, and the last panel of 64 or 128 rows (4 rows: 64 = 10 x 6 + 4) 4 rows of FMAs, not 6. Fewer
 * rows also mean fewer independent FMA chains, but a k step takes the longer of one FMA's latency (the same
 * either way) and the time to issue its FMAs (less with fewer rows), so no step takes longer than before. */
static inline __attribute__((always_inline)) void edge_tile(int mh, int nv, int kc, const float *a,
                                                            const float *b, float *c, ptrdiff_t ldc,
                                                            float alpha, float beta, int w) {
    __m256 acc[MR][NV];
    accumulate(mh, nv, kc, a, b, acc);
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    /* Loops over all of the tile with constant indices, so that acc stays in registers. */
#pragma GCC unroll 2
    for (int v = 0; v < nv; v++) {
        const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(w - 8 * v), lane);
#pragma GCC unroll 8
        for (int i = 0; i < mh; i++) {
            float *p = c + i * ldc + 8 * v;
            __m256 r = _mm256_mul_ps(va, acc[i][v]);
            if (beta != 0.0f) r = _mm256_fmadd_ps(vb, _mm256_maskload_ps(p, mask), r);
            _mm256_maskstore_ps(p, mask, r);
        }
    }
}

/* One instance per (rows, vectors), each with its tile in registers. */
#define EDGE(mh, nv)                                                                                            \
    static void edge_##mh##x##nv(int kc, const float *a, const float *b, float *c, ptrdiff_t ldc, float alpha, \
                                 float beta, int w) {                                                          \
        edge_tile(mh, nv, kc, a, b, c, ldc, alpha, beta, w);                                                  \
    }
EDGE(1, 1) EDGE(2, 1) EDGE(3, 1) EDGE(4, 1) EDGE(5, 1) EDGE(6, 1)
EDGE(1, 2) EDGE(2, 2) EDGE(3, 2) EDGE(4, 2) EDGE(5, 2) EDGE(6, 2)
#undef EDGE

typedef void (*edge_fn)(int kc, const float *a, const float *b, float *c, ptrdiff_t ldc, float alpha, float beta,
                        int w);
static const edge_fn edges[NV][MR] = {{edge_1x1, edge_2x1, edge_3x1, edge_4x1, edge_5x1, edge_6x1},
                                      {edge_1x2, edge_2x2, edge_3x2, edge_4x2, edge_5x2, edge_6x2}};

static void edge_6x16(int kc, const float *a, const float *b, float *c, ptrdiff_t ldc, float alpha, float beta,
                      int h, int w) {
    edges[w > 8][h - 1](kc, a, b, c, ldc, alpha, beta, w);
}

const df_gemm_kernel df_gemm_kernel_avx2 = {
    .name = "avx2 6x16", .mr = MR, .nr = NR, .mc = 6 * 24, .kc = 256, .nc = 3072, .kernel = kernel_6x16, .edge = edge_6x16,
    .pack_a = df_gemm_pack_a_avx2, .pack_b = df_gemm_pack_b_avx2, .pack_rows = df_gemm_pack_rows_avx2,
    .pack_b_patches = df_gemm_pack_b_patches_avx2};
