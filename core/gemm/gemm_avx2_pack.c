/* gemm_avx2_pack.c: AVX2 packers for the 6 x 16 kernel (mr = 6, nr = 16), with exactly the output of the
 * generic ones (gemm_pack.c, gemm_conv.c; layouts in gemm_internal.h), so results do not depend on which
 * packer ran. Compiled with -mavx2 -mfma, called only where the AVX2 kernel runs; other tile sizes go to the
 * generic packers.
 *
 * Why: the generic packers transpose one float at a time. Since threads split C into tasks that each pack
 * their own operands (gemm_blocked.c), packing is done a little more often than once, and on AMD EPYC Zen 1
 * it was 3-14% of a GEMM's time (perf), up to 11% in copies of B panels whose 16-float rows lie a whole
 * row of B apart and missed every cache: the B packer now prefetches the next panel's rows.
 *
 * Transposes avoid lane-crossing shuffles (vperm2f128 is 8 micro-ops on Zen 1): 128-bit halves are put in
 * place by loads (vinsertf128 from memory) or taken out by stores (vextractf128 to memory). */
#include <immintrin.h>
#include <string.h>

#include "core/gemm/gemm_internal.h"

enum { MR = 6, NR = 16 };

/* Packs columns [c, c + 8) of 6 rows (v[i] = row i's 8 floats) into dst[q * 6 + i], q < 8. */
static inline void store_8x6(__m256 v0, __m256 v1, __m256 v2, __m256 v3, __m256 v4, __m256 v5, float *dst) {
    /* In-lane 4 x 4 transposes of rows 0-3: c[q] holds column q (low lane) and q + 4 (high lane). */
    const __m256 t0 = _mm256_unpacklo_ps(v0, v1), t1 = _mm256_unpackhi_ps(v0, v1);
    const __m256 t2 = _mm256_unpacklo_ps(v2, v3), t3 = _mm256_unpackhi_ps(v2, v3);
    const __m256 c[4] = {_mm256_shuffle_ps(t0, t2, 0x44), _mm256_shuffle_ps(t0, t2, 0xee),
                         _mm256_shuffle_ps(t1, t3, 0x44), _mm256_shuffle_ps(t1, t3, 0xee)};
    /* Rows 4 and 5 as pairs: p0 holds columns 0, 1 | 4, 5; p1 columns 2, 3 | 6, 7. */
    const __m256 p0 = _mm256_unpacklo_ps(v4, v5), p1 = _mm256_unpackhi_ps(v4, v5);
    for (int q = 0; q < 4; q++) {
        _mm_storeu_ps(dst + 6 * q, _mm256_castps256_ps128(c[q]));
        _mm_storeu_ps(dst + 6 * (q + 4), _mm256_extractf128_ps(c[q], 1));
    }
    const __m128 p0l = _mm256_castps256_ps128(p0), p0h = _mm256_extractf128_ps(p0, 1);
    const __m128 p1l = _mm256_castps256_ps128(p1), p1h = _mm256_extractf128_ps(p1, 1);
    _mm_storel_pi((__m64 *)(dst + 4), p0l);
    _mm_storeh_pi((__m64 *)(dst + 10), p0l);
    _mm_storel_pi((__m64 *)(dst + 16), p1l);
    _mm_storeh_pi((__m64 *)(dst + 22), p1l);
    _mm_storel_pi((__m64 *)(dst + 28), p0h);
    _mm_storeh_pi((__m64 *)(dst + 34), p0h);
    _mm_storel_pi((__m64 *)(dst + 40), p1h);
    _mm_storeh_pi((__m64 *)(dst + 46), p1h);
}

static inline __m256 load8_or_zero(const float *p) { return p ? _mm256_loadu_ps(p) : _mm256_setzero_ps(); }

void df_gemm_pack_rows_avx2(int mr, const float *const *rows, int len, float *dst) {
    if (mr != MR) {
        df_gemm_pack_rows(mr, rows, len, dst);
        return;
    }
    int c = 0;
    for (; c + 8 <= len; c += 8) {
        const float *r[MR];
        for (int i = 0; i < MR; i++) r[i] = rows[i] ? rows[i] + c : NULL;
        store_8x6(load8_or_zero(r[0]), load8_or_zero(r[1]), load8_or_zero(r[2]), load8_or_zero(r[3]),
                  load8_or_zero(r[4]), load8_or_zero(r[5]), dst + (ptrdiff_t)c * MR);
    }
    for (; c < len; c++)
        for (int i = 0; i < MR; i++) dst[(ptrdiff_t)c * MR + i] = rows[i] ? rows[i][c] : 0.0f;
}

void df_gemm_pack_a_avx2(int mr, int trans_a, const float *A, int lda, int i0, int rows, int k0, int kc,
                         float *dst) {
    if (mr != MR) {
        df_gemm_pack_a(mr, trans_a, A, lda, i0, rows, k0, kc, dst);
        return;
    }
    for (int p = 0; p < rows; p += MR, dst += (ptrdiff_t)MR * kc) {
        const int h = rows - p < MR ? rows - p : MR;
        if (!trans_a) {
            const float *r[MR];
            for (int i = 0; i < MR; i++) r[i] = i < h ? A + (ptrdiff_t)(i0 + p + i) * lda + k0 : NULL;
            df_gemm_pack_rows_avx2(MR, r, kc, dst);
        } else if (h == MR) {
            /* op(A)(i, k) = A[k][i]: column k of the panel is 6 contiguous floats of row k of A. */
            const float *src = A + (ptrdiff_t)k0 * lda + i0 + p;
            for (int k = 0; k < kc; k++, src += lda) {
                _mm_storeu_ps(dst + (ptrdiff_t)k * MR, _mm_loadu_ps(src));
                _mm_storel_pi((__m64 *)(dst + (ptrdiff_t)k * MR + 4), _mm_castpd_ps(_mm_load_sd((const double *)(src + 4))));
            }
        } else {
            df_gemm_pack_a(MR, 1, A, lda, i0 + p, h, k0, kc, dst);
        }
    }
}

/* 4 floats at lo (low lane) and 4 at hi (high lane); NULL for zeros. */
static inline __m256 halves(const float *lo, const float *hi) {
    const __m128 l = lo ? _mm_loadu_ps(lo) : _mm_setzero_ps(), h = hi ? _mm_loadu_ps(hi) : _mm_setzero_ps();
    return _mm256_insertf128_ps(_mm256_castps128_ps256(l), h, 1);
}

static inline void transpose_4x4_lanes(__m256 t0, __m256 t1, __m256 t2, __m256 t3, __m256 out[4]) {
    const __m256 u0 = _mm256_unpacklo_ps(t0, t1), u1 = _mm256_unpackhi_ps(t0, t1);
    const __m256 u2 = _mm256_unpacklo_ps(t2, t3), u3 = _mm256_unpackhi_ps(t2, t3);
    out[0] = _mm256_shuffle_ps(u0, u2, 0x44);
    out[1] = _mm256_shuffle_ps(u0, u2, 0xee);
    out[2] = _mm256_shuffle_ps(u1, u3, 0x44);
    out[3] = _mm256_shuffle_ps(u1, u3, 0xee);
}

/* The 8 x 8 block of rows r[j] (NULL for zeros), columns [k, k + 8), written transposed as
 * dst[q * NR + j]. */
static void pack_8x8_transposed(const float *const r[8], int k, float *dst) {
    __m256 out[4];
    for (int half = 0; half < 2; half++) {
        const int kk = k + 4 * half;
        /* Vector j (j < 4) = [row j, columns kk..kk+3 | row j + 4, same columns]; after the in-lane
         * transpose, out[q] = column kk + q of rows 0-3 | rows 4-7: one whole output row. */
        const __m256 t0 = halves(r[0] ? r[0] + kk : NULL, r[4] ? r[4] + kk : NULL);
        const __m256 t1 = halves(r[1] ? r[1] + kk : NULL, r[5] ? r[5] + kk : NULL);
        const __m256 t2 = halves(r[2] ? r[2] + kk : NULL, r[6] ? r[6] + kk : NULL);
        const __m256 t3 = halves(r[3] ? r[3] + kk : NULL, r[7] ? r[7] + kk : NULL);
        transpose_4x4_lanes(t0, t1, t2, t3, out);
        for (int q = 0; q < 4; q++) _mm256_storeu_ps(dst + (ptrdiff_t)(4 * half + q) * NR, out[q]);
    }
}

void df_gemm_pack_b_avx2(int nr, int trans_b, const float *B, int ldb, int k0, int kc, int j0, int cols,
                         float *dst) {
    if (nr != NR) {
        df_gemm_pack_b(nr, trans_b, B, ldb, k0, kc, j0, cols, dst);
        return;
    }
    if (!trans_b) {
        const float *src = B + (ptrdiff_t)k0 * ldb + j0;
        if (cols < NR) {
            df_gemm_pack_b(NR, 0, B, ldb, k0, kc, j0, cols, dst);
            return;
        }
        /* Rows of the panel lie ldb floats apart, each in its own cache line (or two): the lines of the
         * next panel (columns j0 + 16 ..) are fetched now, so that packing it, next, does not wait on
         * memory. The last float of the next panel lies in its last line; its first line, when the rows are
         * not 64-byte aligned, is this panel's last. */
        for (int k = 0; k < kc; k++, src += ldb) {
            _mm_prefetch((const char *)(src + 2 * NR - 1), _MM_HINT_T0);
            _mm256_storeu_ps(dst + (ptrdiff_t)k * NR, _mm256_loadu_ps(src));
            _mm256_storeu_ps(dst + (ptrdiff_t)k * NR + 8, _mm256_loadu_ps(src + 8));
        }
        return;
    }
    /* op(B)(k, j) = B[j][k]: 16 rows of B, read 8 columns at a time, each 8 x 8 block transposed. */
    const float *r[NR];
    for (int j = 0; j < NR; j++) r[j] = j < cols ? B + (ptrdiff_t)(j0 + j) * ldb + k0 : NULL;
    int k = 0;
    for (; k + 8 <= kc; k += 8) {
        pack_8x8_transposed(r, k, dst + (ptrdiff_t)k * NR);
        pack_8x8_transposed(r + 8, k, dst + (ptrdiff_t)k * NR + 8);
    }
    for (; k < kc; k++)
        for (int j = 0; j < NR; j++) dst[(ptrdiff_t)k * NR + j] = r[j] ? r[j][k] : 0.0f;
}

/* Patch matrix as B (a weight gradient): panel row r is pixel k0 + r's 16 columns, which lie in one kernel
 * tap whenever the channel count is a multiple of 16; they are then two vector copies (or zeros, in the
 * padding), where the generic packer calls memcpy per row. Other panels go to the generic packer. */
void df_gemm_pack_b_patches_avx2(int nr, const df_conv_patches *pt, int k0, int kc, int j0, int cols,
                                 float *dst) {
    df_gemm_patch_seg seg[NR];
    if (nr != NR || cols != NR || df_gemm_patch_segments(pt, j0, cols, seg) != 1) {
        df_gemm_pack_b_patches(nr, pt, k0, kc, j0, cols, dst);
        return;
    }
    df_gemm_patch_pos pos = df_gemm_patch_pos_at(pt, k0);
    for (int r = 0; r < kc; r++, dst += NR, df_gemm_patch_next(pt, &pos)) {
        const float *src = df_gemm_patch_src(pt, pos, &seg[0]);
        _mm256_storeu_ps(dst, src ? _mm256_loadu_ps(src) : _mm256_setzero_ps());
        _mm256_storeu_ps(dst + 8, src ? _mm256_loadu_ps(src + 8) : _mm256_setzero_ps());
    }
}
