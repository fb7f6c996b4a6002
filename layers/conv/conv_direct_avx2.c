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
 * Work items (image, band) are handed out on demand; each output element is computed by one tile in the
 * same order whichever thread runs it, so results do not depend on the thread count. */
#include <immintrin.h>
#include <omp.h>
#include <string.h>

#include "core/error.h"
#include "layers/conv/conv_avx2.h"

/* A panel is up to PANEL output channels (conv_avx2.h, which sizes the workspace); a tile at most MAX_TILE
 * pixels (one vector), 6 for two. */
enum { PANEL = DF_CONV_AVX2_PANEL, MAX_TILE = 12 };
/* Below this many multiply-adds, forking threads costs more than it saves (as in gemm_blocked.c). */
#define PAR_MIN_MACS (128.0 * 128 * 128)

static inline int tile_pixels(int nv) { return nv == 2 ? 6 : MAX_TILE; }

/* What one band computes: output rows [0, rows) of the band, from the padded copy x (input rows of Wp
 * pixels, output row r starting at input row r * stride). */
typedef struct {
    const float *x;
    int Wp, OW, rows, k;
    float *c; /* C at the band's first output pixel */
    ptrdiff_t ldc;
    float alpha, beta;
    int partial;  /* whether the panel's last vector is cut short */
    __m256i last; /* its lanes, when it is */
} band_job;

/* One tile: `pixels` consecutive output pixels of one row, from x at the tile's first pixel, times the K x
 * (8 nv) B panel: acc = sum over taps and channels, k increasing; then alpha * acc + beta * C stored at c. */
static inline __attribute__((always_inline)) void tile(const int CC, const int S, const int nv, const int pixels,
                                                       const band_job *j, const float *x, const float *panel,
                                                       float *c) {
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
            if (v == nv - 1 && j->partial) {
                if (j->beta != 0.0f) r = _mm256_fmadd_ps(vb, _mm256_maskload_ps(p, j->last), r);
                _mm256_maskstore_ps(p, j->last, r);
            } else {
                if (j->beta != 0.0f) r = _mm256_fmadd_ps(vb, _mm256_loadu_ps(p), r);
                _mm256_storeu_ps(p, r);
            }
        }
}

#define TILE_CASE(P)                                                                                       \
    case P: tile(CC, S, nv, P, j, x, panel, c); return;

/* The tile sizes a row can be cut into for nv vectors: tile_pixels(nv) down to half of it. */
static inline __attribute__((always_inline)) void tile_of(const int CC, const int S, const int nv, int pixels,
                                                          const band_job *j, const float *x, const float *panel,
                                                          float *c) {
    if (nv == 2) {
        switch (pixels) { TILE_CASE(3) TILE_CASE(4) TILE_CASE(5) TILE_CASE(6) }
    } else {
        switch (pixels) { TILE_CASE(6) TILE_CASE(7) TILE_CASE(8) TILE_CASE(9) TILE_CASE(10) TILE_CASE(11)
                          TILE_CASE(12) }
    }
    DF_ASSERT(!"direct convolution tile of an unexpected size");
}

static inline __attribute__((always_inline)) void band_panel(const int CC, const int S, const int nv,
                                                             const band_job *j, const float *panel, int j0) {
    const int per = tile_pixels(nv), tiles = (j->OW + per - 1) / per, base = j->OW / tiles,
              longer = j->OW % tiles;
    for (int r = 0; r < j->rows; r++)
        for (int t = 0, ow = 0; t < tiles; t++) {
            const int n = base + (t < longer);
            tile_of(CC, S, nv, n, j, j->x + ((size_t)r * S * j->Wp + (size_t)ow * S) * CC, panel,
                    j->c + ((ptrdiff_t)r * j->OW + ow) * j->ldc + j0);
            ow += n;
        }
}

#define STRIDE_CASES(CC_, NV)                                                                              \
    if (S == 1)                                                                                            \
        band_panel(CC_, 1, NV, j, panel, j0);                                                              \
    else                                                                                                   \
        band_panel(CC_, 2, NV, j, panel, j0);                                                              \
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

/* A panel of w columns (1..PANEL): nv = ceil(w / 8) vectors, the last one masked unless full. */
static void run_panel(int CC, int S, int w, band_job *j, const float *panel, int j0) {
    const int tail = w % 8;
    j->partial = tail != 0;
    j->last = _mm256_cmpgt_epi32(_mm256_set1_epi32(tail), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    if (w > 8) {
        CHANNEL_CASES(2)
    } else {
        CHANNEL_CASES(1)
    }
}

/* Padded copy of input rows [h0, h0 + rows) of image img (rows outside the image are zeros), each Wp pixels:
 * pad zeros, the image row (as much of it as the band reads), zeros. */
static void pad_rows(const df_conv_patches *pt, int img, int h0, int rows, int Wp, float *dst) {
    const size_t C = (size_t)pt->C, row = (size_t)Wp * C, left = (size_t)pt->pad * C;
    const size_t body = (size_t)(pt->W < Wp - pt->pad ? pt->W : Wp - pt->pad) * C;
    for (int r = 0; r < rows; r++, dst += row) {
        const int h = h0 + r;
        if (h < 0 || h >= pt->H) {
            memset(dst, 0, row * sizeof(float));
            continue;
        }
        memset(dst, 0, left * sizeof(float));
        memcpy(dst + left, pt->x + ((size_t)img * pt->H + h) * pt->W * C, body * sizeof(float));
        memset(dst + left + body, 0, (row - left - body) * sizeof(float));
    }
}

/* Output channels in panel p (of PANEL each, the last one the rest of N). */
static inline int panel_width(int N, int p) { return N - p * PANEL < PANEL ? N - p * PANEL : PANEL; }

/* Columns [j0, j0 + w) of op(B) as K rows of ld = 8 * ceil(w / 8) floats, zero beyond w. */
static void pack_panel(int trans_b, const float *B, int ldb, int K, int j0, int w, float *dst) {
    const int ld = (w + 7) / 8 * 8;
    for (int k = 0; k < K; k++, dst += ld)
        for (int j = 0; j < ld; j++)
            dst[j] = j >= w ? 0.0f : trans_b ? B[(ptrdiff_t)(j0 + j) * ldb + k] : B[(ptrdiff_t)k * ldb + j0 + j];
}

/* Band item it (image, band of `rows` output rows), its padded copy built in band. */
static void run_band(const df_conv_patches *pt, int N, const float *panels, int npanels, int rows, int bands, int it,
                     float *band, float alpha, float beta, float *C, int ldc) {
    const int k = pt->k, K = k * k * pt->C, OH = pt->OH, OW = pt->OW, Wp = df_conv_avx2_padded_width(pt);
    const int img = it / bands, oh0 = (it % bands) * rows, n_rows = OH - oh0 < rows ? OH - oh0 : rows;
    pad_rows(pt, img, oh0 * pt->stride - pt->pad, df_conv_avx2_band_in_rows(pt, n_rows), Wp, band);
    band_job j = {band, Wp, OW, n_rows, k, C + ((ptrdiff_t)img * OH + oh0) * OW * ldc, ldc, alpha, beta, 0,
                  _mm256_setzero_si256()};
    for (int p = 0; p < npanels; p++)
        run_panel(pt->C, pt->stride, panel_width(N, p), &j, panels + (size_t)p * K * PANEL, p * PANEL);
}

void df_conv_direct_avx2(const df_conv_patches *pt, int trans_b, int N, float alpha, const float *B, int ldb,
                         float beta, float *C, int ldc, float *ws, size_t ws_floats) {
    DF_ASSERT(df_conv_direct_avx2_applies(pt));
    const int k = pt->k, K = k * k * pt->C;
    const int npanels = (N + PANEL - 1) / PANEL;
    const int rows = df_conv_avx2_band_rows(pt), bands = (pt->OH + rows - 1) / rows, items = pt->n * bands;
    const size_t band_floats = df_conv_avx2_band_floats(pt), panel_floats = (size_t)npanels * K * PANEL;
    DF_ASSERT(ws_floats >= panel_floats + band_floats);
    float *panels = ws;
    const int par = !omp_in_parallel() && omp_get_max_threads() > 1 &&
                    (double)df_conv_patches_rows(pt) * N * K >= PAR_MIN_MACS;
    /* As many threads as the workspace has bands for (the results do not depend on it). A region on one
     * thread runs as a plain loop: libgomp allocates a team for each `omp parallel if (0)`. */
    const size_t fit = (ws_floats - panel_floats) / band_floats;
    const int threads = !par ? 1 : (size_t)omp_get_max_threads() < fit ? omp_get_max_threads() : (int)fit;

    if (threads > 1) {
#pragma omp parallel num_threads(threads)
        {
#pragma omp for schedule(static)
            for (int p = 0; p < npanels; p++)
                pack_panel(trans_b, B, ldb, K, p * PANEL, panel_width(N, p), panels + (size_t)p * K * PANEL);
            float *band = ws + panel_floats + (size_t)omp_get_thread_num() * band_floats;
#pragma omp for schedule(dynamic, 1)
            for (int it = 0; it < items; it++)
                run_band(pt, N, panels, npanels, rows, bands, it, band, alpha, beta, C, ldc);
        }
    } else {
        for (int p = 0; p < npanels; p++)
            pack_panel(trans_b, B, ldb, K, p * PANEL, panel_width(N, p), panels + (size_t)p * K * PANEL);
        for (int it = 0; it < items; it++)
            run_band(pt, N, panels, npanels, rows, bands, it, ws + panel_floats, alpha, beta, C, ldc);
    }
}
