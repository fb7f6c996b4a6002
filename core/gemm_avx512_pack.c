/* gemm_avx512_pack.c: AVX-512 packing for the 14 x 32 kernel of gemm_avx512.c; same contract and
 * output as df_gemm_pack_a / df_gemm_pack_b (gemm_internal.h), for mr = 14 and nr = 32 only.
 *
 * Why: the generic packers move a non-transposed A panel and a transposed B panel one float at a time
 * (~2 and ~1 floats/ns here), which costs 5-7% of a GEMM with small N such as (512, 4608, 392). Here
 * both go through 16 x 16 in-register transposes. Edge panels (fewer rows or columns) and the k tail
 * use the generic code. */
#include <immintrin.h>

#include "core/gemm_internal.h"

enum { MR = 14, NR = 32 };

/* rows[r][c] -> rows[c][r] for a 16 x 16 block of floats, in four rounds of shuffles. */
static inline __attribute__((always_inline)) void transpose16(__m512 r[16]) {
    __m512 t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4)
        for (int j = 0; j < 2; j++) {
            __m512d lo = _mm512_castps_pd(t[i + j]), hi = _mm512_castps_pd(t[i + j + 2]);
            r[i + 2 * j] = _mm512_castpd_ps(_mm512_unpacklo_pd(lo, hi));
            r[i + 2 * j + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(lo, hi));
        }
    for (int i = 0; i < 16; i += 8)
        for (int j = 0; j < 4; j++) {
            t[i + j] = _mm512_shuffle_f32x4(r[i + j], r[i + j + 4], 0x88);
            t[i + j + 4] = _mm512_shuffle_f32x4(r[i + j], r[i + j + 4], 0xdd);
        }
    for (int j = 0; j < 8; j++) {
        r[j] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0x88);
        r[j + 8] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0xdd);
    }
}

void df_gemm_pack_a_avx512(int mr, int trans_a, const float *A, int lda, int i0, int rows, int k0, int kc,
                           float *dst) {
    (void)mr; /* always MR */
    for (int p = 0; p < rows; p += MR, dst += (ptrdiff_t)MR * kc) {
        if (rows - p < MR) {
            df_gemm_pack_a(MR, trans_a, A, lda, i0 + p, rows - p, k0, kc, dst);
            continue;
        }
        const __mmask16 m14 = (1u << MR) - 1;
        if (trans_a) {
            const float *src = A + (ptrdiff_t)k0 * lda + i0 + p;
            for (int k = 0; k < kc; k++)
                _mm512_mask_storeu_ps(dst + k * MR, m14, _mm512_maskz_loadu_ps(m14, src + (ptrdiff_t)k * lda));
            continue;
        }
        const float *src = A + (ptrdiff_t)(i0 + p) * lda + k0;
        int k = 0;
        for (; k + 16 <= kc; k += 16) {
            __m512 r[16];
            for (int i = 0; i < MR; i++) r[i] = _mm512_loadu_ps(src + (ptrdiff_t)i * lda + k);
            r[14] = r[15] = _mm512_setzero_ps();
            transpose16(r);
            for (int j = 0; j < 16; j++) _mm512_mask_storeu_ps(dst + (k + j) * MR, m14, r[j]);
        }
        for (; k < kc; k++)
            for (int i = 0; i < MR; i++) dst[k * MR + i] = src[(ptrdiff_t)i * lda + k];
    }
}

void df_gemm_pack_b_avx512(int nr, int trans_b, const float *B, int ldb, int k0, int kc, int j0, int cols,
                           float *dst) {
    (void)nr; /* always NR */
    if (cols < NR) {
        df_gemm_pack_b(NR, trans_b, B, ldb, k0, kc, j0, cols, dst);
        return;
    }
    if (!trans_b) {
        const float *src = B + (ptrdiff_t)k0 * ldb + j0;
        for (int k = 0; k < kc; k++) {
            _mm512_storeu_ps(dst + k * NR, _mm512_loadu_ps(src + (ptrdiff_t)k * ldb));
            _mm512_storeu_ps(dst + k * NR + 16, _mm512_loadu_ps(src + (ptrdiff_t)k * ldb + 16));
        }
        return;
    }
    const float *src = B + (ptrdiff_t)j0 * ldb + k0;
    int k = 0;
    for (; k + 16 <= kc; k += 16)
        for (int half = 0; half < NR; half += 16) {
            __m512 r[16];
            for (int j = 0; j < 16; j++) r[j] = _mm512_loadu_ps(src + (ptrdiff_t)(half + j) * ldb + k);
            transpose16(r);
            for (int kk = 0; kk < 16; kk++) _mm512_storeu_ps(dst + (k + kk) * NR + half, r[kk]);
        }
    for (; k < kc; k++)
        for (int j = 0; j < NR; j++) dst[k * NR + j] = src[(ptrdiff_t)j * ldb + k];
}
