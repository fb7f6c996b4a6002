/* conv_direct_avx512.c: df_sgemm_patches_a for stride-1 convolutions on the AVX-512 backend, with the patch
 * matrix read by the micro-kernel itself instead of packed (contract: conv_avx512.h,
 * df_conv_direct_avx512). Compiled with AVX-512 flags; only called where the CPU has avx512f.
 *
 * Packing A costs as much as the multiply when N (output channels) is small: each packed float feeds only
 * N / 16 FMAs, and a 32-channel input gradient got 214 GFLOP/s where the kernel alone runs at ~300. So
 * here the kernel broadcasts its A values straight from the input:
 *
 * - A band of output rows of one image gets a zero-padded copy of the input rows it reads, in a per-thread
 *   slice of the workspace of about DF_CONV_DIRECT_BAND_BYTES (it stays in L2 while every output-channel
 *   panel is computed from it).
 * - A tile is up to 64 output channels (nv = 1..4 vectors of 16) times a few consecutive output pixels of
 *   one row, as many as keep 24-28 accumulators in the 32 zmm registers: 14 pixels for two vectors, 8 for
 *   three, 6 for four (and 14, a row's longest tile, for one: 14 chains still cover the FMA latency). A
 *   row is cut into equal tiles, each size its own instantiation, so no pixel is computed that is not
 *   stored. Tap (ki, kj) of pixel i is padded pixel i + ki * Wp + kj of the band (Wp = OW + k - 1, the
 *   padded width), consecutive pixels C floats apart.
 * - With C, nv and the tile size compile-time constants a tile's pixels are constant displacements from one
 *   pointer, so the loop is the GEMM kernel's: nv B vectors and one broadcast per pixel, nv FMAs each.
 *   Four vectors by 6 pixels load 10 values per 24 FMAs, against 16 per 28 for 2 by 14: on an AVX-512
 *   Xeon (Ice Lake) 64-channel layers ran 5-18% faster that way.
 *
 * The whole K = k * k * C is summed in registers, in increasing order, then alpha * sum + beta * C as the
 * GEMM kernel does: results equal df_sgemm's on the stored patch matrix whenever that runs K as one block.
 * The bands, panels and threads are conv_direct_drive.c's (results do not depend on the thread count). */
#include <immintrin.h>

#include "core/error.h"
#include "layers/conv/conv_avx512.h"
#include "layers/conv/conv_direct_drive.h"

/* A tile is at most MAX_TILE pixels. */
enum { MAX_TILE = 14 };

/* Pixels per tile for nv vectors of output channels: 24-28 accumulators (14 for one vector), and room for
 * the nv B vectors and a broadcast. A row is cut into tiles of at most this many pixels, as equal as they
 * come, so a tile has at least half of it (a row is at least MIN_ROW pixels). */
static inline int tile_pixels(int nv) { return nv <= 2 ? 14 : nv == 3 ? 8 : 6; }

/* One tile: `pixels` consecutive output pixels of one row, from x at the tile's first pixel, times the K x
 * (16 nv) B panel: acc = sum over taps and channels, k increasing; then alpha * acc + beta * C stored at c
 * (the last vector's columns masked by `last`). */
static inline __attribute__((always_inline)) void tile(const int CC, const int nv, const int pixels,
                                                       const df_conv_band *j, const float *x, const float *panel,
                                                       float *c, __mmask16 last) {
    __m512 acc[MAX_TILE][4];
#pragma GCC unroll 16
    for (int i = 0; i < pixels; i++)
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++) acc[i][v] = _mm512_setzero_ps();
    const float *b = panel;
    for (int ki = 0; ki < j->k; ki++)
        for (int kj = 0; kj < j->k; kj++) {
            const float *src = x + ((size_t)ki * j->Wp + kj) * CC;
            for (int ch = 0; ch < CC; ch++, b += 16 * nv) {
                __m512 bv[4];
#pragma GCC unroll 4
                for (int v = 0; v < nv; v++) bv[v] = _mm512_load_ps(b + 16 * v);
#pragma GCC unroll 16
                for (int i = 0; i < pixels; i++) {
                    __m512 av = _mm512_set1_ps(src[i * CC + ch]);
#pragma GCC unroll 4
                    for (int v = 0; v < nv; v++) acc[i][v] = _mm512_fmadd_ps(av, bv[v], acc[i][v]);
                }
            }
        }
    const __m512 va = _mm512_set1_ps(j->alpha), vb = _mm512_set1_ps(j->beta);
#pragma GCC unroll 16
    for (int i = 0; i < pixels; i++)
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++) {
            float *p = c + i * j->ldc + 16 * v;
            const __mmask16 m = v == nv - 1 ? last : 0xffff;
            __m512 r = _mm512_mul_ps(va, acc[i][v]);
            if (j->beta != 0.0f) r = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m, p), r);
            _mm512_mask_storeu_ps(p, m, r);
        }
}

#define TILE_CASE(P)                                                                                       \
    case P: tile(CC, nv, P, j, x, panel, c, last); return;

/* The tile sizes a row can be cut into for nv vectors: tile_pixels(nv) down to about half of it. */
static inline __attribute__((always_inline)) void tile_of(const int CC, const int nv, int pixels,
                                                          const df_conv_band *j, const float *x, const float *panel,
                                                          float *c, __mmask16 last) {
    if (nv <= 2) {
        switch (pixels) { TILE_CASE(7) TILE_CASE(8) TILE_CASE(9) TILE_CASE(10) TILE_CASE(11) TILE_CASE(12)
                          TILE_CASE(13) TILE_CASE(14) }
    } else if (nv == 3) {
        switch (pixels) { TILE_CASE(4) TILE_CASE(5) TILE_CASE(6) TILE_CASE(7) TILE_CASE(8) }
    } else {
        switch (pixels) { TILE_CASE(3) TILE_CASE(4) TILE_CASE(5) TILE_CASE(6) }
    }
    DF_ASSERT(!"direct convolution tile of an unexpected size");
}

static inline __attribute__((always_inline)) void band_panel(const int CC, const int nv, const df_conv_band *j,
                                                             const float *panel, int j0, __mmask16 last) {
    const int per = tile_pixels(nv), tiles = (j->OW + per - 1) / per, base = j->OW / tiles,
              longer = j->OW % tiles;
    for (int r = 0; r < j->rows; r++)
        for (int t = 0, ow = 0; t < tiles; t++) {
            const int n = base + (t < longer);
            tile_of(CC, nv, n, j, j->x + ((size_t)r * j->Wp + ow) * CC, panel,
                    j->c + ((ptrdiff_t)r * j->OW + ow) * j->ldc + j0, last);
            ow += n;
        }
}

#define CHANNEL_CASES(NV)                                                                                  \
    switch (CC) {                                                                                          \
    case 16: band_panel(16, NV, j, panel, j0, last); break;                                                \
    case 32: band_panel(32, NV, j, panel, j0, last); break;                                                \
    case 64: band_panel(64, NV, j, panel, j0, last); break;                                                \
    case 128: band_panel(128, NV, j, panel, j0, last); break;                                              \
    case 256: band_panel(256, NV, j, panel, j0, last); break;                                              \
    case 512: band_panel(512, NV, j, panel, j0, last); break;                                              \
    default: DF_ASSERT(!"channel count without a direct kernel");                                          \
    }

/* A panel of w columns (1..DF_CONV_DIRECT_PANEL): nv = ceil(w / 16) vectors. */
static void run_panel(const df_conv_band *j, int CC, int w, const float *panel, int j0) {
    const __mmask16 last = (__mmask16)((1u << ((w - 1) % 16 + 1)) - 1);
    switch ((w + 15) / 16) {
    case 1: CHANNEL_CASES(1) break;
    case 2: CHANNEL_CASES(2) break;
    case 3: CHANNEL_CASES(3) break;
    default: CHANNEL_CASES(4) break;
    }
}

void df_conv_direct_avx512(const df_conv_patches *pt, int trans_b, int N, float alpha, const float *B, int ldb,
                           float beta, float *C, int ldc, float *ws, size_t ws_floats) {
    DF_ASSERT(df_conv_direct_avx512_applies(pt));
    const df_conv_direct_isa isa = {DF_CONV_DIRECT_PANEL, 16, df_conv_direct_band_rows(pt),
                                    df_conv_direct_band_floats(pt), run_panel};
    df_conv_direct_drive(pt, trans_b, N, alpha, B, ldb, beta, C, ldc, ws, ws_floats, &isa);
}
