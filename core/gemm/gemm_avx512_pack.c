/* gemm_avx512_pack.c: AVX-512 packing for the 14 x 32 kernel of gemm_avx512.c; same contract and
 * output as df_gemm_pack_a / df_gemm_pack_b (gemm_internal.h), for mr = 14 and nr = 32 only.
 *
 * Why: the generic packers move a non-transposed A panel and a transposed B panel one float at a time
 * (~2 and ~1 floats/ns here), which costs 5-7% of a GEMM with small N such as (512, 4608, 392). Here
 * both go through 16 x 16 in-register transposes. Edge panels (fewer rows or columns) and the k tail
 * use the generic code. */
#include <immintrin.h>

#include "core/gemm/gemm_internal.h"

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

/* Patch matrices (gemm_conv.c gathers the row pointers): 14 rows of len contiguous floats, NULL rows as
 * zeros, through the same transposes, the last partial block of 16 columns with masked loads. */
void df_gemm_pack_rows_avx512(int mr, const float *const *rows, int len, float *dst) {
    (void)mr; /* always MR */
    const __mmask16 m14 = (1u << MR) - 1;
    for (int c = 0; c < len; c += 16) {
        const int n = len - c < 16 ? len - c : 16;
        const __mmask16 m = (__mmask16)((1u << n) - 1);
        __m512 r[16];
        for (int i = 0; i < MR; i++) r[i] = rows[i] ? _mm512_maskz_loadu_ps(m, rows[i] + c) : _mm512_setzero_ps();
        r[14] = r[15] = _mm512_setzero_ps();
        transpose16(r);
        if (n == 16)
            for (int j = 0; j < 16; j++) _mm512_mask_storeu_ps(dst + (c + j) * MR, m14, r[j]);
        else
            for (int j = 0; j < n; j++) _mm512_mask_storeu_ps(dst + (c + j) * MR, m14, r[j]);
    }
}

void df_gemm_pack_b_patches_avx512(int nr, const df_conv_patches *pt, int k0, int kc, int j0, int cols,
                                   float *dst) {
    (void)nr; /* always NR */
    df_gemm_patch_seg seg[NR];
    const int nseg = df_gemm_patch_segments(pt, j0, cols, seg);
    df_gemm_patch_pos pos = df_gemm_patch_pos_at(pt, k0);
    if (nseg == 1 && cols == NR) { /* the panel lies in one tap (C a multiple of 32): two vectors a row */
        for (int r = 0; r < kc; r++, dst += NR, df_gemm_patch_next(pt, &pos)) {
            const float *src = df_gemm_patch_src(pt, pos, &seg[0]);
            _mm512_storeu_ps(dst, src ? _mm512_loadu_ps(src) : _mm512_setzero_ps());
            _mm512_storeu_ps(dst + 16, src ? _mm512_loadu_ps(src + 16) : _mm512_setzero_ps());
        }
        return;
    }
    for (int r = 0; r < kc; r++, dst += NR, df_gemm_patch_next(pt, &pos)) {
        for (int s = 0; s < nseg; s++) {
            const float *src = df_gemm_patch_src(pt, pos, &seg[s]);
            float *d = dst + seg[s].off;
            for (int c = 0; c < seg[s].len; c += 16) {
                const int n = seg[s].len - c < 16 ? seg[s].len - c : 16;
                const __mmask16 m = (__mmask16)((1u << n) - 1);
                _mm512_mask_storeu_ps(d + c, m, src ? _mm512_maskz_loadu_ps(m, src + c) : _mm512_setzero_ps());
            }
        }
        for (int j = cols; j < NR; j += 16) {
            const int n = NR - j < 16 ? NR - j : 16;
            _mm512_mask_storeu_ps(dst + j, (__mmask16)((1u << n) - 1), _mm512_setzero_ps());
        }
    }
}

/* In a stride-1 convolution, tap (ti, tj) of output pixel ow reads input pixel ow + tj - pad: the panels
 * of a kernel row's taps are the same 16 input pixels shifted by tj. So each block of 16 channels of those
 * pixels is transposed once and stored for every tap of the row, through a store mask shifted by tj
 * (lanes tj .. tj + 13 land on the panel's 14 rows). */
static void pack_row_taps(const df_conv_patches *pt, df_gemm_patch_pos pos, int k0, int kc, float *dst) {
    const int C = pt->C, kk = pt->k;
    for (int ti = 0; ti < kk; ti++) {
        const int h = pos.oh - pt->pad + ti;
        const float *src[16];
        for (int q = 0; q < 16; q++) {
            const int w = pos.ow - pt->pad + q;
            src[q] = h < 0 || h >= pt->H || w < 0 || w >= pt->W
                         ? NULL
                         : pt->x + (((size_t)pos.b * pt->H + h) * pt->W + w) * C;
        }
        for (int c0 = 0; c0 < C; c0 += 16) {
            const int n = C - c0 < 16 ? C - c0 : 16;
            /* Columns of this block for tap tj: (ti * kk + tj) * C + c0 + [0, n). */
            const int first = (ti * kk) * C + c0, last = (ti * kk + kk - 1) * C + c0 + n;
            if (last <= k0 || first >= k0 + kc) continue;
            const __mmask16 m = (__mmask16)((1u << n) - 1);
            __m512 r[16];
            for (int q = 0; q < 16; q++) r[q] = src[q] ? _mm512_maskz_loadu_ps(m, src[q] + c0) : _mm512_setzero_ps();
            transpose16(r);
            for (int tj = 0; tj < kk; tj++) {
                const __mmask16 rows = (__mmask16)(((1u << MR) - 1) << tj);
                const int col = (ti * kk + tj) * C + c0;
                for (int j = 0; j < n; j++)
                    if (col + j >= k0 && col + j < k0 + kc)
                        _mm512_mask_storeu_ps(dst + (ptrdiff_t)(col + j - k0) * MR - tj, rows, r[j]);
            }
        }
    }
}

void df_gemm_pack_a_patches_avx512(const df_gemm_kernel *kern, const df_conv_patches *pt, int i0, int rows, int k0,
                                   int kc, float *dst) {
    for (int p = 0; p < rows; p += MR, dst += (ptrdiff_t)MR * kc) {
        const int h = rows - p < MR ? rows - p : MR;
        const df_gemm_patch_pos pos = df_gemm_patch_pos_at(pt, i0 + p);
        if (h == MR && pt->stride == 1 && pt->k <= 3 && pos.ow + MR <= pt->OW)
            pack_row_taps(pt, pos, k0, kc, dst);
        else
            df_gemm_pack_a_patches(kern, pt, i0 + p, h, k0, kc, dst);
    }
}
