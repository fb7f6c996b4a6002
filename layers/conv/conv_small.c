/* conv_small.c: direct AVX-512 kernels for short-patch convolutions (see conv_small.h). The kernels carry
 * their own target attribute, so the rest of the library stays generic x86-64; they run only after the CPU
 * check df_gemm's AVX-512 backend made. OpenMP regions live in untargeted functions that call the kernels
 * (an outlined region body would not inherit the target).
 *
 * Padded rows. An output row (b, oh) is cut into segments of output pixels [ow0, ow0 + n). For each kernel
 * row i the input row h = oh*s + i - p is copied into a buffer of slots of C floats, zero where the tap
 * falls outside the image. Consecutive output pixels' windows start `pitch` floats apart, pitch =
 * min(s, k) * C: for s <= k the windows overlap and the buffer is the padded input row itself (columns
 * ow0*s - p onwards); for s > k each window is copied on its own, so the buffer stays short however large
 * the stride. Output pixel ow0 + r, kernel row i, tap t (t = j*C + c, t < k*C) is then buf_i[r*pitch + t].
 * The forward rounds n up to its 12-pixel block; the extra pixels read zeros or real input and are not
 * stored. Segments are sized so the k buffers fit BUF_FLOATS on the stack (and, for the weight gradient, so
 * a segment's dY fits L1); a 128-pixel row is one segment.
 *
 * Memory. A large forward output is written with non-temporal stores: it leaves the caches anyway, and
 * ordinary stores first read every line they write (2 threads measured 14 GB/s of ordinary stores, 38 of
 * streamed ones, here; the first layer writes 64 MiB). The weight gradient reads dY once, its first pass
 * over a segment prefetching the next segment into L2, so the passes do not wait on memory. */
#include "layers/conv/conv_small.h"

#include <stdint.h>
#include <string.h>

#include "core/error.h"
#include "core/gemm/gemm.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_AVX512_KERNELS 1
#else
#define HAVE_AVX512_KERNELS 0
#endif

/* Weight gradient: chunks of output rows (at most), and the bytes of dY per segment kept in L1. */
#define WG_CHUNKS 32
#define WG_DY_BYTES (24 << 10)
/* Forward pixel block; taps per weight-gradient group. */
#define FWD_R 12
#define WG_TAPS 9
/* Per-thread padded-row buffer (floats, on the stack). */
#define BUF_FLOATS 8192
/* Forward outputs at least this large (well beyond L2) are written with non-temporal stores. */
#define STREAM_BYTES (8 << 20)

int df_conv_small_fits(int Kt, int CO) {
    return HAVE_AVX512_KERNELS && CO % 16 == 0 && Kt >= 1 && Kt <= DF_CONV_SMALL_MAX_K;
}

/* WG_CHUNKS partial weight gradients (Kt, CO); the forward's repacked weights (Kt, CO) fit in the first. */
size_t df_conv_small_scratch_bytes(int Kt, int CO) { return (size_t)WG_CHUNKS * Kt * CO * sizeof(float); }

typedef struct {
    const float *x;
    int H, W, C, k, s, p, OH, OW, CO;
    int kc;    /* taps per kernel row, k * C */
    int pitch; /* floats between consecutive output pixels' windows, min(s, k) * C */
    int seg;   /* output pixels per segment */
    int row;   /* floats per padded-row buffer */
    int stream; /* forward: write y with non-temporal stores */
    int off[DF_CONV_SMALL_MAX_K]; /* tap q = i * kc + t: buffer offset i * row + t */
} geom;

static int min_int(int a, int b) { return a < b ? a : b; }

/* Floats of one padded row for n output pixels. */
static int row_floats(int k, int s, int C, int n) { return ((n - 1) * min_int(s, k) + k) * C; }

/* Segment length: at most `want` pixels, a multiple of `mult` (when more than mult), such that k buffers
 * for it fit BUF_FLOATS; Kt <= DF_CONV_SMALL_MAX_K keeps that at least FWD_R pixels. */
static geom geom_make(const df_conv_patches *pt, int CO, int want, int mult) {
    geom g = {pt->x, pt->H, pt->W, pt->C, pt->k, pt->stride, pt->pad, pt->OH, pt->OW, CO,
              pt->k * pt->C, min_int(pt->stride, pt->k) * pt->C, 0, 0, 0, {0}};
    int n = (BUF_FLOATS / (g.k * g.C) - g.k) / min_int(g.s, g.k) + 1;
    n = n / mult * mult;
    DF_ASSERT(n >= FWD_R);
    g.seg = min_int(n, want < 1 ? 1 : want);
    g.row = row_floats(g.k, g.s, g.C, (g.seg + mult - 1) / mult * mult);
    DF_ASSERT((long)g.k * g.row <= BUF_FLOATS && g.k * g.kc <= DF_CONV_SMALL_MAX_K);
    for (int q = 0; q < g.k * g.kc; q++) g.off[q] = q / g.kc * g.row + q % g.kc;
    return g;
}

/* Buffer of input row h of image b for output pixels [ow0, ow0 + n) (see the top comment). */
static void fill_row(const geom *g, int b, int h, int ow0, int n, float *dst) {
    const int C = g->C, k = g->k, s = g->s;
    const int slots = (n - 1) * min_int(s, k) + k;
    if (h < 0 || h >= g->H) {
        memset(dst, 0, sizeof(float) * slots * C);
        return;
    }
    const float *xr = g->x + ((size_t)b * g->H + h) * g->W * C;
    if (s <= k) {
        const int w0 = ow0 * s - g->p; /* input column of slot 0 */
        int lo = w0 < 0 ? -w0 : 0, hi = g->W - w0 < slots ? g->W - w0 : slots;
        if (hi < lo) hi = lo;
        memset(dst, 0, sizeof(float) * lo * C);
        memcpy(dst + (size_t)lo * C, xr + (size_t)(w0 + lo) * C, sizeof(float) * (hi - lo) * C);
        memset(dst + (size_t)hi * C, 0, sizeof(float) * (slots - hi) * C);
        return;
    }
    for (int r = 0; r < n; r++)
        for (int j = 0; j < k; j++) {
            const int w = (ow0 + r) * s - g->p + j;
            float *d = dst + ((size_t)r * k + j) * C;
            if (w < 0 || w >= g->W)
                memset(d, 0, sizeof(float) * C);
            else
                memcpy(d, xr + (size_t)w * C, sizeof(float) * C);
        }
}

#if HAVE_AVX512_KERNELS

#define T512 __attribute__((target("avx512f")))
#define INLINE512 __attribute__((target("avx512f"), always_inline)) static inline

/* ---- forward ---- */

/* Output pixels [r0, r0 + FWD_R) of a segment (valid of them stored at y), channels [co, co + 16*nv):
 * accumulators start at the bias, then every tap of every kernel row. wt (Kt, CO). */
INLINE512 void fwd_block(const geom *g, const float *buf, int r0, int valid, const float *wt,
                         const float *bias, int co, int nv, float *y) {
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

T512 static void fwd_block32(const geom *g, const float *buf, int r0, int valid, const float *wt,
                             const float *bias, int co, float *y) {
    fwd_block(g, buf, r0, valid, wt, bias, co, 2, y);
}

T512 static void fwd_block16(const geom *g, const float *buf, int r0, int valid, const float *wt,
                             const float *bias, int co, float *y) {
    fwd_block(g, buf, r0, valid, wt, bias, co, 1, y);
}

/* Output row gr = b * OH + oh. */
static void fwd_row(const geom *g, int gr, const float *wt, const float *bias, float *y, float *buf) {
    const int b = gr / g->OH, oh = gr % g->OH;
    for (int ow0 = 0; ow0 < g->OW; ow0 += g->seg) {
        const int n = min_int(g->seg, g->OW - ow0), nr = (n + FWD_R - 1) / FWD_R * FWD_R;
        for (int i = 0; i < g->k; i++) fill_row(g, b, oh * g->s + i - g->p, ow0, nr, buf + (size_t)i * g->row);
        float *yr = y + ((size_t)gr * g->OW + ow0) * g->CO;
        for (int r0 = 0; r0 < n; r0 += FWD_R) {
            const int valid = min_int(FWD_R, n - r0);
            int co = 0;
            for (; co + 32 <= g->CO; co += 32) fwd_block32(g, buf, r0, valid, wt, bias, co, yr + (size_t)r0 * g->CO);
            if (co < g->CO) fwd_block16(g, buf, r0, valid, wt, bias, co, yr + (size_t)r0 * g->CO);
        }
    }
}

void df_conv_small_forward(const df_conv_patches *pt, const float *w, const float *bias, int CO, float *y,
                           void *scratch) {
    geom g = geom_make(pt, CO, pt->OW, FWD_R);
    g.stream = ((uintptr_t)y & 63) == 0 && (double)pt->n * g.OH * g.OW * CO * sizeof(float) >= STREAM_BYTES;
    const int Kt = g.k * g.kc;
    float *wt = scratch; /* (Kt, CO): a tap's channels contiguous */
    for (int co = 0; co < CO; co++)
        for (int t = 0; t < Kt; t++) wt[(size_t)t * CO + co] = w[(size_t)co * Kt + t];
    const int rows = pt->n * g.OH;
#pragma omp parallel
    {
        float buf[BUF_FLOATS] __attribute__((aligned(64)));
        /* Rows handed out in small batches: a thread slowed by the machine's other work takes fewer. */
#pragma omp for schedule(dynamic, 4) nowait
        for (int gr = 0; gr < rows; gr++) fwd_row(&g, gr, wt, bias, y, buf);
        if (g.stream) _mm_sfence(); /* the streamed stores are weakly ordered */
    }
}

/* ---- weight gradient ---- */

/* part[t][co .. co + 16*nv) += sum over the n pixels of x[r*pitch + t] * dy[r*CO + co ..], t < NT:
 * accumulators loaded from part, pixels in order, stored back. pf, unless NULL, is where the same columns
 * of the next pixels' dY lie, prefetched while this pass computes. */
INLINE512 void wg_taps(const float *x, int pitch, const float *dy, const float *pf, int CO, int n, int NT, int nv,
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
        break;

T512 static void wg_group(const float *x, int pitch, const float *dy, const float *pf, int CO, int n, int nt,
                          int nv, float *part) {
    switch (nt) {
        WG_CASE(1) WG_CASE(2) WG_CASE(3) WG_CASE(4) WG_CASE(5) WG_CASE(6) WG_CASE(7) WG_CASE(8) WG_CASE(9)
    default: DF_ASSERT(!"tap group larger than WG_TAPS");
    }
}

/* Output rows [r0, r1) (gr = b * OH + oh) into part (Kt, CO), which starts at zero. */
static void wg_rows(const geom *g, int r0, int r1, const float *dy, float *part, float *buf) {
    const int CO = g->CO, kc = g->kc;
    memset(part, 0, sizeof(float) * (size_t)g->k * kc * CO);
    for (int gr = r0; gr < r1; gr++) {
        const int b = gr / g->OH, oh = gr % g->OH;
        for (int ow0 = 0; ow0 < g->OW; ow0 += g->seg) {
            const int n = min_int(g->seg, g->OW - ow0);
            const float *dyr = dy + ((size_t)gr * g->OW + ow0) * CO;
            /* The first pass over this segment's dY also fetches the next one's (it follows in memory)
             * into L2, so no pass waits on memory; later passes find theirs in L1. */
            const float *next = dyr + (size_t)n * CO;
            for (int i = 0; i < g->k; i++) {
                const int h = oh * g->s + i - g->p;
                if (h < 0 || h >= g->H) continue; /* zero taps add nothing */
                float *bi = buf + (size_t)i * g->row;
                fill_row(g, b, h, ow0, n, bi);
                for (int t0 = 0; t0 < kc; t0 += WG_TAPS) {
                    const int nt = min_int(WG_TAPS, kc - t0);
                    float *pp = part + ((size_t)i * kc + t0) * CO;
                    for (int co = 0; co < CO; co += 32)
                        wg_group(bi + t0, g->pitch, dyr + co, next ? next + co : NULL, CO, n, nt,
                                 CO - co >= 32 ? 2 : 1, pp + co);
                    next = NULL;
                }
            }
        }
    }
}

void df_conv_small_weight_grad(const df_conv_patches *pt, const float *dy, int CO, float *dw, void *scratch) {
    const geom g = geom_make(pt, CO, WG_DY_BYTES / (CO * (int)sizeof(float)), 1);
    const int Kt = g.k * g.kc, rows = pt->n * g.OH;
    const int nc = rows < WG_CHUNKS ? rows : WG_CHUNKS;
    float *part = scratch;
#pragma omp parallel
    {
        float buf[BUF_FLOATS] __attribute__((aligned(64)));
#pragma omp for schedule(dynamic, 1)
        for (int ch = 0; ch < nc; ch++)
            wg_rows(&g, (int)((long)rows * ch / nc), (int)((long)rows * (ch + 1) / nc), dy,
                    part + (size_t)ch * Kt * CO, buf);
    }
    /* Partials added in chunk order into the first (contiguous, so it vectorises), then transposed. */
    const size_t np = (size_t)Kt * CO;
    for (int ch = 1; ch < nc; ch++)
        for (size_t i = 0; i < np; i++) part[i] += part[(size_t)ch * np + i];
    for (int co = 0; co < CO; co++)
        for (int t = 0; t < Kt; t++) dw[(size_t)co * Kt + t] += part[(size_t)t * CO + co];
}

#else

void df_conv_small_forward(const df_conv_patches *pt, const float *w, const float *bias, int CO, float *y,
                           void *scratch) {
    (void)pt, (void)w, (void)bias, (void)CO, (void)y, (void)scratch;
    DF_ASSERT(!"df_conv_small_forward called where df_conv_small_fits is false");
}

void df_conv_small_weight_grad(const df_conv_patches *pt, const float *dy, int CO, float *dw, void *scratch) {
    (void)pt, (void)dy, (void)CO, (void)dw, (void)scratch;
    DF_ASSERT(!"df_conv_small_weight_grad called where df_conv_small_fits is false");
}

#endif
