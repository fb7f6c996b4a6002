/* conv_direct_avx2.c: df_sgemm_patches_a for convolutions of stride 1 or 2 on the AVX2 backend, with the
 * patch matrix read by the micro-kernel itself instead of packed (contract: conv_avx2.h,
 * df_conv_direct_avx2). Compiled with -mavx2 -mfma; only called where the CPU has both.
 *
 * The design is conv_direct_avx512.c's, cut to 16 ymm registers:
 *
 * - A band of output rows of one image gets a zero-padded copy of the input rows it reads, in a per-thread
 *   slice of the workspace of about DF_CONV_AVX2_BAND_BYTES, so it stays in L2 while every 16-channel panel
 *   of B is computed from it.
 * - A tile is 16 output channels (two vectors) times up to 6 consecutive output pixels of one row: 12
 *   accumulators, 2 B vectors and 1 broadcast fill the 16 registers, and each K step loads 8 values for 12
 *   FMAs, the shape of the GEMM's 6x16 micro-kernel. Wider tiles do not fit: 24 channels by 4 pixels would
 *   load 7 values per 12 FMAs but leaves no register spare (16 exactly), and 64-channel layers split into
 *   24 + 24 + 16. 12 chains cover the FMA latency with two 256-bit pipes (Haswell and later, Zen 2 and
 *   later: 8-10 chains needed); Zen 1, which splits each ymm FMA into two 128-bit halves, is content with
 *   fewer and is not what the shape is for. A last panel of at most 8 channels (one vector) takes up to 12
 *   pixels instead.
 * - A row is cut into equal tiles, each size its own instantiation (3..6 pixels for two vectors, 6..12 for
 *   one), so no pixel is computed that is not stored. Tap (ki, kj) of pixel i is padded pixel
 *   i * s + ki * Wp + kj of the band (Wp = (OW - 1) * s + k), so with C, the stride s, the vector count and
 *   the tile size compile-time constants a tile's pixels are constant displacements from one pointer.
 *   Stride 2 only changes the displacements (every other input pixel), so strided layers take the same
 *   kernel instead of a packed GEMM.
 *
 * The whole K = k * k * C is summed in registers, in increasing order, then alpha * sum + beta * C as the
 * GEMM kernel does: results equal df_sgemm's on the stored patch matrix whenever that runs K as one block.
 * The bands, panels and threads are conv_direct_drive.c's (results do not depend on the thread count). */
#include <immintrin.h>

#include "core/error.h"
#include "layers/conv/conv_avx2.h"
#include "layers/conv/conv_direct_drive.h"

/* A tile is at most MAX_TILE pixels (one vector), 6 for two. */
enum { MAX_TILE = 12 };

static inline int tile_pixels(int nv) { return nv == 2 ? 6 : MAX_TILE; }

/* The lanes of a panel's last vector, when it is cut short (partial). */
typedef struct {
    int partial;
    __m256i last;
} last_vector;

/* One tile: `pixels` consecutive output pixels of one row, from x at the tile's first pixel, times the K x
 * (8 nv) B panel: acc = sum over taps and channels, k increasing; then alpha * acc + beta * C stored at c. */
static inline __attribute__((always_inline)) void tile(const int CC, const int S, const int nv, const int pixels,
                                                       const df_conv_band *j, const last_vector *m,
                                                       const float *x, const float *panel, float *c) {
    __m256 acc[MAX_TILE][2];
#pragma GCC unroll 12
    for (int i = 0; i < pixels; i++)
#pragma GCC unroll 2
        for (int v = 0; v < nv; v++) acc[i][v] = _mm256_setzero_ps();
    const float *b = panel;
    for (int ki = 0; ki < j->k; ki++)
        for (int kj = 0; kj < j->k; kj++) {
            const float *src = x + ((size_t)ki * j->Wp + kj) * CC;
            for (int ch = 0; ch < CC; ch++, b += 8 * nv) {
                __m256 bv[2];
#pragma GCC unroll 2
                for (int v = 0; v < nv; v++) bv[v] = _mm256_loadu_ps(b + 8 * v);
#pragma GCC unroll 12
                for (int i = 0; i < pixels; i++) {
                    const __m256 av = _mm256_broadcast_ss(src + i * S * CC + ch);
#pragma GCC unroll 2
                    for (int v = 0; v < nv; v++) acc[i][v] = _mm256_fmadd_ps(av, bv[v], acc[i][v]);
                }
            }
        }
    const __m256 va = _mm256_set1_ps(j->alpha), vb = _mm256_set1_ps(j->beta);
#pragma GCC unroll 12
    for (int i = 0; i < pixels; i++)
#pragma GCC unroll 2
        for (int v = 0; v < nv; v++) {
            float *p = c + i * j->ldc + 8 * v;
            __m256 r = _mm256_mul_ps(va, acc[i][v]);
            if (v == nv - 1 && m->partial) {
                if (j->beta != 0.0f) r = _mm256_fmadd_ps(vb, _mm256_maskload_ps(p, m->last), r);
                _mm256_maskstore_ps(p, m->last, r);
            } else {
                if (j->beta != 0.0f) r = _mm256_fmadd_ps(vb, _mm256_loadu_ps(p), r);
                _mm256_storeu_ps(p, r);
            }
        }
}

#define TILE_CASE(P)                                                                                       \
    case P: tile(CC, S, nv, P, j, m, x, panel, c); return;

/* The tile sizes a row can be cut into for nv vectors: tile_pixels(nv) down to half of it. */
static inline __attribute__((always_inline)) void tile_of(const int CC, const int S, const int nv, int pixels,
                                                          const df_conv_band *j, const last_vector *m,
                                                          const float *x, const float *panel, float *c) {
    if (nv == 2) {
        switch (pixels) { TILE_CASE(3) TILE_CASE(4) TILE_CASE(5) TILE_CASE(6) }
    } else {
        switch (pixels) { TILE_CASE(6) TILE_CASE(7) TILE_CASE(8) TILE_CASE(9) TILE_CASE(10) TILE_CASE(11)
                          TILE_CASE(12) }
    }
    DF_ASSERT(!"direct convolution tile of an unexpected size");
}

static inline __attribute__((always_inline)) void band_panel(const int CC, const int S, const int nv,
                                                             const df_conv_band *j, const last_vector *m,
                                                             const float *panel, int j0) {
    const int per = tile_pixels(nv), tiles = (j->OW + per - 1) / per, base = j->OW / tiles,
              longer = j->OW % tiles;
    for (int r = 0; r < j->rows; r++)
        for (int t = 0, ow = 0; t < tiles; t++) {
            const int n = base + (t < longer);
            tile_of(CC, S, nv, n, j, m, j->x + ((size_t)r * S * j->Wp + (size_t)ow * S) * CC, panel,
                    j->c + ((ptrdiff_t)r * j->OW + ow) * j->ldc + j0);
            ow += n;
        }
}

#define STRIDE_CASES(CC_, NV)                                                                              \
    if (S == 1)                                                                                            \
        band_panel(CC_, 1, NV, j, &m, panel, j0);                                                          \
    else                                                                                                   \
        band_panel(CC_, 2, NV, j, &m, panel, j0);                                                          \
    break;

#define CHANNEL_CASES(NV)                                                                                  \
    switch (CC) {                                                                                          \
    case 16: STRIDE_CASES(16, NV)                                                                          \
    case 32: STRIDE_CASES(32, NV)                                                                          \
    case 64: STRIDE_CASES(64, NV)                                                                          \
    case 128: STRIDE_CASES(128, NV)                                                                        \
    case 256: STRIDE_CASES(256, NV)                                                                        \
    case 512: STRIDE_CASES(512, NV)                                                                        \
    default: DF_ASSERT(!"channel count without a direct kernel");                                          \
    }

/* A panel of w columns (1..DF_CONV_AVX2_PANEL): nv = ceil(w / 8) vectors, the last one masked unless full. */
static void run_panel(const df_conv_band *j, int CC, int w, const float *panel, int j0) {
    const int tail = w % 8, S = j->stride;
    const last_vector m = {tail != 0,
                           _mm256_cmpgt_epi32(_mm256_set1_epi32(tail), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))};
    if (w > 8) {
        CHANNEL_CASES(2)
    } else {
        CHANNEL_CASES(1)
    }
}

void df_conv_direct_avx2(const df_conv_patches *pt, int trans_b, int N, float alpha, const float *B, int ldb,
                         float beta, float *C, int ldc, float *ws, size_t ws_floats) {
    DF_ASSERT(df_conv_direct_avx2_applies(pt));
    const df_conv_direct_isa isa = {DF_CONV_AVX2_PANEL, 8, df_conv_avx2_band_rows(pt), df_conv_avx2_band_floats(pt),
                                    run_panel};
    df_conv_direct_drive(pt, trans_b, N, alpha, B, ldb, beta, C, ldc, ws, ws_floats, &isa);
}
