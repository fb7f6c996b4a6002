/* conv_small.c: the driver of the short-patch kernels (see conv_small.h, conv_small_drive.h): padded-row
 * buffers, rows and chunks handed to threads, the weight gradient's reduction. Ordinary code: the register
 * tiles are an instruction set's (conv_small_avx512.c, conv_small_avx2.c), compiled with its flags.
 *
 * Padded rows. An output row (b, oh) is cut into segments of output pixels [ow0, ow0 + n). For each kernel
 * row i the input row h = oh*s + i - p is copied into a buffer of slots of C floats, zero where the tap
 * falls outside the image. Consecutive output pixels' windows start `pitch` floats apart, pitch =
 * min(s, k) * C: for s <= k the windows overlap and the buffer is the padded input row itself (columns
 * ow0*s - p onwards); for s > k each window is copied on its own, so the buffer stays short however large
 * the stride. The forward rounds n up to its register tile's pixels; the extra pixels read zeros or real
 * input and are not stored. Segments are sized so the k buffers fit BUF_FLOATS on the stack (and, for the
 * weight gradient, so a segment's dY fits L1); a 128-pixel row is one segment.
 *
 * Memory. A large forward output is written with non-temporal stores: it leaves the caches anyway, and
 * ordinary stores first read every line they write (2 threads measured 14 GB/s of ordinary stores, 38 of
 * streamed ones, on an AVX-512 machine; the first layer writes 64 MiB). The weight gradient reads dY once,
 * its first pass over a segment prefetching the next segment into L2, so the passes do not wait on memory. */
#include "layers/conv/conv_small.h"

#include <stdint.h>
#include <string.h>
#include <xmmintrin.h>

#include "core/error.h"
#include "layers/conv/conv_small_drive.h"

/* Weight gradient: chunks of output rows (at most), and the bytes of dY per segment kept in L1. */
#define WG_CHUNKS 32
#define WG_DY_BYTES (24 << 10)
/* Per-thread padded-row buffer (floats, on the stack); the longest forward tile it must hold. */
#define BUF_FLOATS 8192
#define MAX_TILE 12
/* Forward outputs at least this large (well beyond L2) are written with non-temporal stores. */
#define STREAM_BYTES (8 << 20)

int df_conv_small_fits(const df_conv_small_isa *isa, int Kt, int CO) {
    const int a = df_conv_small_avx2.co_block, b = df_conv_small_avx512.co_block;
    const int block = isa ? isa->co_block : a < b ? a : b; /* NULL: the narrowest block of either set */
    return CO >= 1 && CO % block == 0 && Kt >= 1 && Kt <= DF_CONV_SMALL_MAX_K;
}

/* WG_CHUNKS partial weight gradients (Kt, CO); the forward's repacked weights (Kt, CO) fit in the first. */
size_t df_conv_small_scratch_bytes(int Kt, int CO) { return (size_t)WG_CHUNKS * Kt * CO * sizeof(float); }

typedef df_conv_small_geom geom;

static int min_int(int a, int b) { return a < b ? a : b; }

/* Floats of one padded row for n output pixels. */
static int row_floats(int k, int s, int C, int n) { return ((n - 1) * min_int(s, k) + k) * C; }

/* Segment length: at most `want` pixels, a multiple of `mult` (when more than mult), such that k buffers
 * for it fit BUF_FLOATS; Kt <= DF_CONV_SMALL_MAX_K keeps that at least MAX_TILE pixels. */
static geom geom_make(const df_conv_patches *pt, int CO, int want, int mult) {
    geom g = {pt->x, pt->H, pt->W, pt->C, pt->k, pt->stride, pt->pad, pt->OH, pt->OW, CO,
              pt->k * pt->C, min_int(pt->stride, pt->k) * pt->C, 0, 0, 0, {0}};
    DF_ASSERT(mult <= MAX_TILE);
    int n = (BUF_FLOATS / (g.k * g.C) - g.k) / min_int(g.s, g.k) + 1;
    n = n / mult * mult;
    DF_ASSERT(n >= MAX_TILE);
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

/* ---- forward ---- */

/* Output row gr = b * OH + oh. */
static void fwd_row(const df_conv_small_isa *isa, const geom *g, int gr, const float *wt, const float *bias,
                    float *y, float *buf) {
    const int b = gr / g->OH, oh = gr % g->OH, R = isa->fwd_pixels;
    for (int ow0 = 0; ow0 < g->OW; ow0 += g->seg) {
        const int n = min_int(g->seg, g->OW - ow0), nr = (n + R - 1) / R * R;
        for (int i = 0; i < g->k; i++) fill_row(g, b, oh * g->s + i - g->p, ow0, nr, buf + (size_t)i * g->row);
        isa->fwd_segment(g, buf, n, wt, bias, y + ((size_t)gr * g->OW + ow0) * g->CO);
    }
}

void df_conv_small_forward(const df_conv_small_isa *isa, const df_conv_patches *pt, const float *w,
                           const float *bias, int CO, float *y, void *scratch) {
    DF_ASSERT(df_conv_small_fits(isa, pt->k * pt->k * pt->C, CO));
    geom g = geom_make(pt, CO, pt->OW, isa->fwd_pixels);
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
        for (int gr = 0; gr < rows; gr++) fwd_row(isa, &g, gr, wt, bias, y, buf);
        if (g.stream) _mm_sfence(); /* the streamed stores are weakly ordered */
    }
}

/* ---- weight gradient ---- */

/* Output rows [r0, r1) (gr = b * OH + oh) into part (Kt, CO), which starts at zero. */
static void wg_rows(const df_conv_small_isa *isa, const geom *g, int r0, int r1, const float *dy, float *part,
                    float *buf) {
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
                isa->wg_row(g, bi, dyr, next, n, part + (size_t)i * kc * CO);
                next = NULL;
            }
        }
    }
}

void df_conv_small_weight_grad(const df_conv_small_isa *isa, const df_conv_patches *pt, const float *dy, int CO,
                               float *dw, void *scratch) {
    DF_ASSERT(df_conv_small_fits(isa, pt->k * pt->k * pt->C, CO));
    const geom g = geom_make(pt, CO, WG_DY_BYTES / (CO * (int)sizeof(float)), 1);
    const int Kt = g.k * g.kc, rows = pt->n * g.OH;
    const int nc = rows < WG_CHUNKS ? rows : WG_CHUNKS;
    float *part = scratch;
#pragma omp parallel
    {
        float buf[BUF_FLOATS] __attribute__((aligned(64)));
#pragma omp for schedule(dynamic, 1)
        for (int ch = 0; ch < nc; ch++)
            wg_rows(isa, &g, (int)((long)rows * ch / nc), (int)((long)rows * (ch + 1) / nc), dy,
                    part + (size_t)ch * Kt * CO, buf);
    }
    /* Partials added in chunk order into the first (contiguous, so it vectorises), then transposed. */
    const size_t np = (size_t)Kt * CO;
    for (int ch = 1; ch < nc; ch++)
        for (size_t i = 0; i < np; i++) part[i] += part[(size_t)ch * np + i];
    for (int co = 0; co < CO; co++)
        for (int t = 0; t < Kt; t++) dw[(size_t)co * Kt + t] += part[(size_t)t * CO + co];
}
