/* gemm_avx2.c: the AVX2 + FMA micro-kernel (6 x 16 tile) and its block sizes. Compiled with -mavx2
 * -mfma; only called when the CPU reports both (gemm.c checks). Contract: gemm_internal.h.
 *
 * 6 rows x 2 ymm vectors = 12 accumulators, plus 2 B vectors and 1 broadcast, fit the 16 ymm registers
 * and give 12 independent FMA chains, enough to cover FMA latency on two FMA pipes. */
#include <immintrin.h>

#include "core/gemm/gemm_internal.h"

enum { MR = 6, NV = 2, NR = 8 * NV };

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
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++) acc[i][v] = _mm256_setzero_ps();

    for (int k = 0; k < kc; k++, a += MR, b += NR) {
        __m256 bv[NV];
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++) bv[v] = _mm256_loadu_ps(b + 8 * v);
#pragma GCC unroll 8
        for (int i = 0; i < MR; i++) {
            __m256 av = _mm256_broadcast_ss(a + i);
#pragma GCC unroll 2
            for (int v = 0; v < NV; v++) acc[i][v] = _mm256_fmadd_ps(av, bv[v], acc[i][v]);
        }
    }

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

const df_gemm_kernel df_gemm_kernel_avx2 = {
    .name = "avx2 6x16", .mr = MR, .nr = NR, .mc = 6 * 24, .kc = 256, .nc = 3072, .kernel = kernel_6x16,
    .pack_a = df_gemm_pack_a_avx2, .pack_b = df_gemm_pack_b_avx2, .pack_rows = df_gemm_pack_rows_avx2,
    .pack_b_patches = df_gemm_pack_b_patches_avx2};
