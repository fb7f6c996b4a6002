/* conv_small_avx512.c: the AVX-512 register tiles of the short-patch kernels (conv_small.h; the driver and
 * its buffers: conv_small.c, conv_small_drive.h). Compiled with AVX-512 flags; only called where the CPU has
 * avx512f (the AVX-512 backend).
 *
 * Forward: 12 pixels x 32 channels of accumulators (24 of the 32 zmm registers), a 16-channel tail taking
 * 12 x 16; each tap loads 2 weight vectors and broadcasts 12 input values for 24 FMAs. Weight gradient:
 * groups of up to 9 taps x 32 channels (18 accumulators) stream over a segment's pixels, loading 2 dY
 * vectors and broadcasting 9 input values per pixel. */
#include <immintrin.h>
#include <stddef.h>

#include "core/error.h"
#include "layers/conv/conv_small_drive.h"

#define FWD_R 12
#define WG_TAPS 9

/* ---- forward ---- */

/* Output pixels [r0, r0 + FWD_R) of a segment (valid of them stored at y), channels [co, co + 16*nv):
 * accumulators start at the bias, then every tap of every kernel row. wt (Kt, CO). */
static inline __attribute__((always_inline)) void fwd_block(const df_conv_small_geom *g, const float *buf, int r0,
                                                            int valid, const float *wt, const float *bias, int co,
                                                            int nv, float *y) {
    __m512 a0[FWD_R], a1[FWD_R];
    const __m512 b0 = bias ? _mm512_loadu_ps(bias + co) : _mm512_setzero_ps();
    const __m512 b1 = bias && nv > 1 ? _mm512_loadu_ps(bias + co + 16) : _mm512_setzero_ps();
#pragma GCC unroll 12
    for (int r = 0; r < FWD_R; r++) a0[r] = b0, a1[r] = b1;
    const int pitch = g->pitch, CO = g->CO, Kt = g->k * g->kc;
    const float *xb = buf + (size_t)r0 * pitch, *wq = wt + co;
    /* One loop over all taps (offsets from the table), so the accumulators stay in registers. */
    for (int q = 0; q < Kt; q++, wq += CO) {
        const float *xq = xb + g->off[q];
        const __m512 w0 = _mm512_loadu_ps(wq);
        const __m512 w1 = nv > 1 ? _mm512_loadu_ps(wq + 16) : w0;
#pragma GCC unroll 12
        for (int r = 0; r < FWD_R; r++) {
            const __m512 xv = _mm512_set1_ps(xq[r * pitch]);
            a0[r] = _mm512_fmadd_ps(xv, w0, a0[r]);
            if (nv > 1) a1[r] = _mm512_fmadd_ps(xv, w1, a1[r]);
        }
    }
    /* Unrolled with a test per pixel, so the accumulators need no array in memory. */
    if (g->stream) {
#pragma GCC unroll 12
        for (int r = 0; r < FWD_R; r++)
            if (r < valid) {
                _mm512_stream_ps(y + (size_t)r * CO + co, a0[r]);
                if (nv > 1) _mm512_stream_ps(y + (size_t)r * CO + co + 16, a1[r]);
            }
    } else {
#pragma GCC unroll 12
        for (int r = 0; r < FWD_R; r++)
            if (r < valid) {
                _mm512_storeu_ps(y + (size_t)r * CO + co, a0[r]);
                if (nv > 1) _mm512_storeu_ps(y + (size_t)r * CO + co + 16, a1[r]);
            }
    }
}

static void fwd_block32(const df_conv_small_geom *g, const float *buf, int r0, int valid, const float *wt,
                        const float *bias, int co, float *y) {
    fwd_block(g, buf, r0, valid, wt, bias, co, 2, y);
}

static void fwd_block16(const df_conv_small_geom *g, const float *buf, int r0, int valid, const float *wt,
                        const float *bias, int co, float *y) {
    fwd_block(g, buf, r0, valid, wt, bias, co, 1, y);
}

static void fwd_segment(const df_conv_small_geom *g, const float *buf, int n, const float *wt, const float *bias,
                        float *y) {
    for (int r0 = 0; r0 < n; r0 += FWD_R) {
        const int valid = n - r0 < FWD_R ? n - r0 : FWD_R;
        float *yr = y + (size_t)r0 * g->CO;
        int co = 0;
        for (; co + 32 <= g->CO; co += 32) fwd_block32(g, buf, r0, valid, wt, bias, co, yr);
        if (co < g->CO) fwd_block16(g, buf, r0, valid, wt, bias, co, yr);
    }
}

/* ---- weight gradient ---- */

/* part[t][co .. co + 16*nv) += sum over the n pixels of x[r*pitch + t] * dy[r*CO + co ..], t < NT:
 * accumulators loaded from part, pixels in order, stored back. pf, unless NULL, is where the same columns
 * of the next pixels' dY lie, prefetched while this pass computes. */
static inline __attribute__((always_inline)) void wg_taps(const float *x, int pitch, const float *dy,
                                                          const float *pf, int CO, int n, int NT, int nv,
                                                          float *part) {
    __m512 a0[WG_TAPS], a1[WG_TAPS];
    /* Every loop over t fully unrolled (NT is a constant), so the accumulators are registers. */
#pragma GCC unroll 9
    for (int t = 0; t < NT; t++) {
        a0[t] = _mm512_loadu_ps(part + (size_t)t * CO);
        a1[t] = nv > 1 ? _mm512_loadu_ps(part + (size_t)t * CO + 16) : a0[t];
    }
    for (int r = 0; r < n; r++) {
        const __m512 d0 = _mm512_loadu_ps(dy + (size_t)r * CO);
        const __m512 d1 = nv > 1 ? _mm512_loadu_ps(dy + (size_t)r * CO + 16) : d0;
        const float *xr = x + (size_t)r * pitch;
        if (pf) {
            _mm_prefetch((const char *)(pf + (size_t)r * CO), _MM_HINT_T1);
            if (nv > 1) _mm_prefetch((const char *)(pf + (size_t)r * CO + 16), _MM_HINT_T1);
        }
#pragma GCC unroll 9
        for (int t = 0; t < NT; t++) {
            const __m512 xv = _mm512_set1_ps(xr[t]);
            a0[t] = _mm512_fmadd_ps(xv, d0, a0[t]);
            if (nv > 1) a1[t] = _mm512_fmadd_ps(xv, d1, a1[t]);
        }
    }
#pragma GCC unroll 9
    for (int t = 0; t < NT; t++) {
        _mm512_storeu_ps(part + (size_t)t * CO, a0[t]);
        if (nv > 1) _mm512_storeu_ps(part + (size_t)t * CO + 16, a1[t]);
    }
}

/* One instance per tap count, so the accumulators stay in registers. */
#define WG_CASE(NT)                                                                                        \
    case NT:                                                                                               \
        if (nv > 1)                                                                                        \
            wg_taps(x, pitch, dy, pf, CO, n, NT, 2, part);                                                 \
        else                                                                                               \
            wg_taps(x, pitch, dy, pf, CO, n, NT, 1, part);                                                 \
        return;

static void wg_group(const float *x, int pitch, const float *dy, const float *pf, int CO, int n, int nt, int nv,
                     float *part) {
    switch (nt) { WG_CASE(1) WG_CASE(2) WG_CASE(3) WG_CASE(4) WG_CASE(5) WG_CASE(6) WG_CASE(7) WG_CASE(8) WG_CASE(9) }
    DF_ASSERT(!"tap group larger than WG_TAPS");
}

/* A kernel row's taps in groups of WG_TAPS (the last one the rest), each over every 32-channel block. */
static void wg_row(const df_conv_small_geom *g, const float *buf, const float *dy, const float *pf, int n,
                   float *part) {
    const int CO = g->CO, kc = g->kc;
    for (int t0 = 0; t0 < kc; t0 += WG_TAPS, pf = NULL) {
        const int nt = kc - t0 < WG_TAPS ? kc - t0 : WG_TAPS;
        for (int co = 0; co < CO; co += 32)
            wg_group(buf + t0, g->pitch, dy + co, pf ? pf + co : NULL, CO, n, nt, CO - co >= 32 ? 2 : 1,
                     part + (size_t)t0 * CO + co);
    }
}

const df_conv_small_isa df_conv_small_avx512 = {16, FWD_R, fwd_segment, wg_row};
