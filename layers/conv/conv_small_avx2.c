/* conv_small_avx2.c: the AVX2 + FMA register tiles of the short-patch kernels (conv_small.h; the driver and
 * its buffers: conv_small.c, conv_small_drive.h). Compiled with -mavx2 -mfma; only called where the CPU has
 * both (the AVX2 backend). The AVX-512 tiles (conv_small_avx512.c) cut to 16 ymm registers:
 *
 * - Forward: 6 pixels x 16 output channels (two vectors) of accumulators, 12 registers; each tap loads the
 *   2 weight vectors and broadcasts 6 input values, 2 + 1 registers more: 15 of 16. It is the GEMM's 6x16
 *   micro-kernel shape with the patch read from the padded rows. 4 pixels x 24 channels would load fewer
 *   values per FMA but needs all 16 registers and does not divide the 16-multiple channel counts; 12
 *   pixels x 8 channels does 13 loads per 12 FMAs, which a core with two FMA pipes cannot feed. 12
 *   independent chains cover the FMA latency with two 256-bit pipes (8-10 needed) and with Zen 1's one
 *   (two 128-bit halves, 5 needed).
 * - Weight gradient: up to 6 taps x 16 channels of accumulators (12), a pixel's 2 dY vectors and one
 *   broadcast input value: 15 registers. A kernel row's k*C taps are cut into groups as equal as they come
 *   (9 = 5 + 4, 21 = 6 + 5 + 5 + 5), not 6 + rest, so no group is left with a few short chains.
 *
 * - Channel counts that are an odd multiple of 8 (a first layer of 8 or 24 filters): the last 8 channels run
 *   as a tile half as wide, 6 pixels (or taps) x 8 channels, 6 accumulator chains: enough for Zen 1's FMA
 *   latency, three quarters of what two 256-bit pipes need. The AVX-512 tiles keep CO % 16 == 0.
 *
 * Every output element is the same products in the same order as on AVX-512 (the forward from the bias
 * through the taps in order, the weight gradient through the pixels in order): the two sets give the same
 * bits.
 *
 * Against the implicit GEMM (bench_layers conv_small, batch 32, 2 threads of a shared Zen 1 VM, medians of
 * 3 runs): RGB 3x3 3->64 at 128 px forward 1.7x, weight gradient 4.7x; the 7x7 stride-2 stem 3->64 at
 * 224 px 1.7x and 2.5x. In a training step the first layer now runs at the other convolutions' GFLOP/s
 * (it ran at a quarter of them in the VGG, half in ResNet-18). */
#include <immintrin.h>
#include <stddef.h>

#include "core/error.h"
#include "layers/conv/conv_small_drive.h"

#define FWD_R 6
#define WG_TAPS 6

/* ---- forward ---- */

/* Output pixels [r0, r0 + FWD_R) of a segment (valid of them stored at y), channels [co, co + 8 * NV), NV 1
 * or 2 vectors: accumulators start at the bias, then every tap of every kernel row. wt (Kt, CO). */
static inline __attribute__((always_inline)) void fwd_block(const df_conv_small_geom *g, const float *buf, int r0,
                                                            int valid, const float *wt, const float *bias, int co,
                                                            float *y, int NV) {
    __m256 a[FWD_R][2];
    __m256 b[2];
    for (int v = 0; v < NV; v++) b[v] = bias ? _mm256_loadu_ps(bias + co + 8 * v) : _mm256_setzero_ps();
#pragma GCC unroll 6
    for (int r = 0; r < FWD_R; r++)
        for (int v = 0; v < NV; v++) a[r][v] = b[v];
    const int pitch = g->pitch, CO = g->CO, Kt = g->k * g->kc;
    const float *xb = buf + (size_t)r0 * pitch, *wq = wt + co;
    /* One loop over all taps (offsets from the table), so the accumulators stay in registers. */
    for (int q = 0; q < Kt; q++, wq += CO) {
        const float *xq = xb + g->off[q];
        __m256 w[2];
        for (int v = 0; v < NV; v++) w[v] = _mm256_loadu_ps(wq + 8 * v);
#pragma GCC unroll 6
        for (int r = 0; r < FWD_R; r++) {
            const __m256 xv = _mm256_broadcast_ss(xq + r * pitch);
            for (int v = 0; v < NV; v++) a[r][v] = _mm256_fmadd_ps(xv, w[v], a[r][v]);
        }
    }
    /* Unrolled with a test per pixel, so the accumulators need no array in memory. With 16 channels a
     * pixel's are one 64-byte line, so streamed stores write whole lines. */
    if (g->stream) {
#pragma GCC unroll 6
        for (int r = 0; r < FWD_R; r++)
            if (r < valid)
                for (int v = 0; v < NV; v++) _mm256_stream_ps(y + (size_t)r * CO + co + 8 * v, a[r][v]);
    } else {
#pragma GCC unroll 6
        for (int r = 0; r < FWD_R; r++)
            if (r < valid)
                for (int v = 0; v < NV; v++) _mm256_storeu_ps(y + (size_t)r * CO + co + 8 * v, a[r][v]);
    }
}

static void fwd_segment(const df_conv_small_geom *g, const float *buf, int n, const float *wt, const float *bias,
                        float *y) {
    const int CO = g->CO, wide = CO / 16 * 16; /* [wide, CO): one 8-channel block, CO being a multiple of 8 */
    for (int r0 = 0; r0 < n; r0 += FWD_R) {
        const int valid = n - r0 < FWD_R ? n - r0 : FWD_R;
        float *yr = y + (size_t)r0 * CO;
        for (int co = 0; co < wide; co += 16) fwd_block(g, buf, r0, valid, wt, bias, co, yr, 2);
        if (wide < CO) fwd_block(g, buf, r0, valid, wt, bias, wide, yr, 1);
    }
}

/* ---- weight gradient ---- */

/* part[t][co .. co + 8 * NV) += sum over the n pixels of x[r*pitch + t] * dy[r*CO + co ..], t < NT:
 * accumulators loaded from part, pixels in order, stored back. pf, unless NULL, is where the same columns of
 * the next pixels' dY lie, prefetched while this pass computes. */
static inline __attribute__((always_inline)) void wg_taps(const float *x, int pitch, const float *dy,
                                                          const float *pf, int CO, int n, int NT, int NV,
                                                          float *part) {
    __m256 a[WG_TAPS][2];
    /* Every loop over t fully unrolled (NT and NV are constants), so the accumulators are registers. */
#pragma GCC unroll 6
    for (int t = 0; t < NT; t++)
        for (int v = 0; v < NV; v++) a[t][v] = _mm256_loadu_ps(part + (size_t)t * CO + 8 * v);
    for (int r = 0; r < n; r++) {
        __m256 d[2];
        for (int v = 0; v < NV; v++) d[v] = _mm256_loadu_ps(dy + (size_t)r * CO + 8 * v);
        const float *xr = x + (size_t)r * pitch;
        if (pf) _mm_prefetch((const char *)(pf + (size_t)r * CO), _MM_HINT_T1);
#pragma GCC unroll 6
        for (int t = 0; t < NT; t++) {
            const __m256 xv = _mm256_broadcast_ss(xr + t);
            for (int v = 0; v < NV; v++) a[t][v] = _mm256_fmadd_ps(xv, d[v], a[t][v]);
        }
    }
#pragma GCC unroll 6
    for (int t = 0; t < NT; t++)
        for (int v = 0; v < NV; v++) _mm256_storeu_ps(part + (size_t)t * CO + 8 * v, a[t][v]);
}

/* One instance per tap count and width, so the accumulators stay in registers. */
#define WG_CASE(NT)                                                                                        \
    case NT:                                                                                               \
        if (nv == 2)                                                                                       \
            wg_taps(x, pitch, dy, pf, CO, n, NT, 2, part);                                                 \
        else                                                                                               \
            wg_taps(x, pitch, dy, pf, CO, n, NT, 1, part);                                                 \
        return;

static void wg_group(const float *x, int pitch, const float *dy, const float *pf, int CO, int n, int nt, int nv,
                     float *part) {
    switch (nt) { WG_CASE(1) WG_CASE(2) WG_CASE(3) WG_CASE(4) WG_CASE(5) WG_CASE(6) }
    DF_ASSERT(!"tap group larger than WG_TAPS");
}

/* A kernel row's kc taps in groups as equal as they come (the longer ones first), each over every
 * 16-channel block and the 8-channel one that may end CO. */
static void wg_row(const df_conv_small_geom *g, const float *buf, const float *dy, const float *pf, int n,
                   float *part) {
    const int CO = g->CO, kc = g->kc, groups = (kc + WG_TAPS - 1) / WG_TAPS;
    const int base = kc / groups, longer = kc % groups;
    for (int gi = 0, t0 = 0; gi < groups; gi++, pf = NULL) {
        const int nt = base + (gi < longer);
        for (int co = 0; co < CO; co += 16) {
            const int nv = CO - co >= 16 ? 2 : 1;
            wg_group(buf + t0, g->pitch, dy + co, pf ? pf + co : NULL, CO, n, nt, nv, part + (size_t)t0 * CO + co);
        }
        t0 += nt;
    }
}

const df_conv_small_isa df_conv_small_avx2 = {8, FWD_R, fwd_segment, wg_row};
