/* conv_direct_drive.c: the direct convolution kernels' drivers, shared by every ISA (contract:
 * conv_direct_drive.h). Ordinary code: the vector work is in the ISA's callbacks. */
#include "layers/conv/conv_direct_drive.h"

#include <omp.h>
#include <string.h>

#include "core/error.h"

/* Below this many multiply-adds, forking threads costs more than it saves (as in gemm_blocked.c). */
#define PAR_MIN_MACS (128.0 * 128 * 128)

/* ---- direct forward ---- */

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

/* Output channels in panel p (of `panel` each, the last one the rest of N). */
static inline int panel_width(int N, int panel, int p) { return N - p * panel < panel ? N - p * panel : panel; }

/* Columns [j0, j0 + w) of op(B) as K rows of ld = w rounded up to vec floats, zero beyond w. */
static void pack_panel(int trans_b, const float *B, int ldb, int K, int j0, int w, int vec, float *dst) {
    const int ld = (w + vec - 1) / vec * vec;
    for (int k = 0; k < K; k++, dst += ld)
        for (int j = 0; j < ld; j++)
            dst[j] = j >= w ? 0.0f : trans_b ? B[(ptrdiff_t)(j0 + j) * ldb + k] : B[(ptrdiff_t)k * ldb + j0 + j];
}

typedef struct {
    const df_conv_patches *pt;
    const df_conv_direct_isa *isa;
    int N, npanels, bands;
    const float *panels;
    float alpha, beta;
    float *C;
    int ldc;
} forward_job;

/* Band item it (image, band of isa->band_rows output rows), its padded copy built in band. */
static void run_band(const forward_job *f, int it, float *band) {
    const df_conv_patches *pt = f->pt;
    const int k = pt->k, s = pt->stride, K = k * k * pt->C, OH = pt->OH, OW = pt->OW, Wp = (OW - 1) * s + k;
    const int rows = f->isa->band_rows, img = it / f->bands, oh0 = (it % f->bands) * rows;
    const int n_rows = OH - oh0 < rows ? OH - oh0 : rows;
    pad_rows(pt, img, oh0 * s - pt->pad, (n_rows - 1) * s + k, Wp, band);
    const df_conv_band b = {band, Wp, OW, n_rows, k, s, f->C + ((ptrdiff_t)img * OH + oh0) * OW * f->ldc, f->ldc,
                            f->alpha, f->beta};
    const int P = f->isa->panel;
    for (int p = 0; p < f->npanels; p++)
        f->isa->band_panel(&b, pt->C, panel_width(f->N, P, p), f->panels + (size_t)p * K * P, p * P);
}

void df_conv_direct_drive(const df_conv_patches *pt, int trans_b, int N, float alpha, const float *B, int ldb,
                          float beta, float *C, int ldc, float *ws, size_t ws_floats, const df_conv_direct_isa *isa) {
    const int K = pt->k * pt->k * pt->C, P = isa->panel, npanels = (N + P - 1) / P;
    const int bands = (pt->OH + isa->band_rows - 1) / isa->band_rows, items = pt->n * bands;
    const size_t band_floats = isa->band_floats, panel_floats = (size_t)npanels * K * P;
    DF_ASSERT(ws_floats >= panel_floats + band_floats);
    const forward_job f = {pt, isa, N, npanels, bands, ws, alpha, beta, C, ldc};
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
                pack_panel(trans_b, B, ldb, K, p * P, panel_width(N, P, p), isa->vec, ws + (size_t)p * K * P);
            float *band = ws + panel_floats + (size_t)omp_get_thread_num() * band_floats;
#pragma omp for schedule(dynamic, 1)
            for (int it = 0; it < items; it++) run_band(&f, it, band);
        }
    } else {
        for (int p = 0; p < npanels; p++)
            pack_panel(trans_b, B, ldb, K, p * P, panel_width(N, P, p), isa->vec, ws + (size_t)p * K * P);
        for (int it = 0; it < items; it++) run_band(&f, it, ws + panel_floats);
    }
}

/* ---- weight gradient ---- */

void df_conv_tap_range(int out, int n, int t, int stride, int pad, int *lo, int *hi) {
    const int first = pad - t, last = n - 1 + pad - t; /* first <= o * stride <= last */
    const int l = first <= 0 ? 0 : (first + stride - 1) / stride, h = last < 0 ? 0 : last / stride + 1;
    *lo = l;
    *hi = h < out ? h : out;
    if (*hi < *lo) *hi = *lo;
}

/* This thread's share of the tiles (all of them outside a parallel region) over every block of pixels. The
 * output channels are cut into row tiles as equal as they come (64 = 9 x 6 + 2 x 5 for mr 6, not 10 x 6 +
 * 4, whose few FMA chains would crawl), the longer ones first. */
static void run_tiles(const df_conv_wgrad_job *j, const df_conv_wgrad_isa *isa, int M, long block_rows,
                      float beta) {
    const df_conv_patches *pt = j->pt;
    const int taps = pt->k * pt->k, row_tiles = (M + isa->mr - 1) / isa->mr, col_tiles = (pt->C + isa->nr - 1) / isa->nr;
    const int tiles = row_tiles * taps * col_tiles, base = M / row_tiles, longer = M % row_tiles;
    const long out_rows = (long)pt->n * pt->OH;
    const int me = omp_get_thread_num(), threads = omp_get_num_threads();
    for (long r0 = 0; r0 < out_rows; r0 += block_rows) {
        const long r1 = r0 + block_rows < out_rows ? r0 + block_rows : out_rows;
        const float beta_k = r0 == 0 ? beta : 1.0f;
        /* Tiles column-major within a tap, so a thread's consecutive tiles share input channels. */
        for (int it = me; it < tiles; it += threads) {
            const int rt = it % row_tiles, rest = it / row_tiles, t = rest % taps, ct = rest / taps;
            const int co0 = rt * base + (rt < longer ? rt : longer), c0 = ct * isa->nr;
            const int cols = pt->C - c0 < isa->nr ? pt->C - c0 : isa->nr;
            isa->tile(j, base + (rt < longer), cols, co0, t, c0, r0, r1, beta_k);
        }
    }
}

void df_conv_wgrad_drive(int M, float alpha, const float *A, int lda, const df_conv_patches *pt, float beta,
                         float *C, int ldc, const df_conv_wgrad_isa *isa) {
    const df_conv_wgrad_job j = {pt, A, lda, C, ldc, alpha};
    const long block_rows = pt->OW >= isa->block_pixels ? 1 : isa->block_pixels / pt->OW;
    const int par = !omp_in_parallel() && omp_get_max_threads() > 1 &&
                    (double)df_conv_patches_rows(pt) * M * df_conv_patches_cols(pt) >= PAR_MIN_MACS;
    /* A region on one thread runs as a plain call: libgomp allocates a team for each `omp parallel if (0)`. */
    if (par) {
#pragma omp parallel
        run_tiles(&j, isa, M, block_rows, beta);
    } else {
        run_tiles(&j, isa, M, block_rows, beta);
    }
}
