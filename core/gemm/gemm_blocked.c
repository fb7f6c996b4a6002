/* gemm_blocked.c: the packed-panel GEMM loop nest shared by the portable, AVX2 and AVX-512 backends
 * (layouts and the micro-kernel contract are in gemm_internal.h).
 *
 * Loop nest, outermost first: jc over N in nc columns; pc over K in kc steps, packing the kc x nc slice of
 * op(B) once (in parallel over its nr panels) into a buffer all threads read; then the C block
 * (M x nc) is cut into work items (an mc block of rows x a run of nr panels), handed out in parallel;
 * each item packs its A block into the thread's own buffer and runs the micro-kernel over its tiles.
 * When M fits one row block, B panels are instead packed by the item that uses them, just before use.
 * Either operand may be a convolution's patch matrix (df_gemm_operand): only its packing differs.
 *
 * Determinism: threads split C, never K. Block sizes depend on the shape only, so each element of C is
 * the same sequence of operations (kernel sums over each kc block in order, then alpha/beta update) for
 * any thread count, and results are bit-identical for 1 and N threads.
 *
 * Packing buffers come from the caller's workspace (gemm.h, df_gemm_ws): the shared B block first, then one
 * slice per thread (A block, and the fused B panel). The thread count is capped to the slices the workspace
 * holds, which changes nothing in the results. Without a workspace (ws.p NULL: tests, benchmarks, callers
 * outside a graph) a per-thread buffer that grows on demand stands in. A region that would run on one
 * thread runs as a plain loop, not as `omp parallel if (0)`: libgomp allocates a team for each of those. */
#include <omp.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/gemm/gemm_internal.h"

/* Below this many multiply-adds, forking threads costs more than it saves. */
#define PAR_MIN_MACS (128.0 * 128 * 128)
/* Largest mr * nr of any kernel: edge tiles are computed into a temporary of this size. */
#define MAX_TILE (16 * 64)

/* The stand-in workspace of calls without one. */
static _Thread_local df_gemm_buf fallback;

float *df_gemm_buf_reserve(df_gemm_buf *b, size_t floats) {
    if (floats > b->cap) {
        free(b->p);
        b->p = df_aligned_alloc(floats * sizeof(float));
        b->cap = floats;
    }
    return b->p;
}

static int ceil_div(int a, int b) { return (a + b - 1) / b; }
static int round_up(int a, int b) { return ceil_div(a, b) * b; }
static int min_int(int a, int b) { return a < b ? a : b; }
/* Slices start on 64-byte boundaries. */
static size_t round16(size_t n) { return (n + 15) / 16 * 16; }

/* Splits n into the fewest blocks of at most max, of equal size rounded up to a multiple of unit (so
 * e.g. M = 400 with mc = 336 runs as 2 x 200, not 336 + 64, which balances two threads). */
static int even_block(int n, int max, int unit) {
    int blocks = ceil_div(n, max);
    return round_up(ceil_div(n, blocks), unit);
}

/* One mr x nr tile, or h x w at the edges. Without an edge kernel, an edge tile goes through a full-size
 * temporary so the kernel does the same arithmetic as on full tiles and never touches memory outside C. */
static void run_tile(const df_gemm_kernel *kern, int kc, const float *ap, const float *bp, float *c,
                     int ldc, int h, int w, float alpha, float beta) {
    if (h == kern->mr && w == kern->nr) {
        kern->kernel(kc, ap, bp, c, ldc, alpha, beta);
        return;
    }
    if (kern->edge) {
        kern->edge(kc, ap, bp, c, ldc, alpha, beta, h, w);
        return;
    }
    alignas(64) float tmp[MAX_TILE];
    int nr = kern->nr;
    if (beta != 0.0f)
        for (int i = 0; i < h; i++) memcpy(tmp + i * nr, c + (ptrdiff_t)i * ldc, sizeof(float) * (size_t)w);
    kern->kernel(kc, ap, bp, tmp, nr, alpha, beta);
    for (int i = 0; i < h; i++) memcpy(c + (ptrdiff_t)i * ldc, tmp + i * nr, sizeof(float) * (size_t)w);
}

/* Packing of either kind of operand. */
static void pack_a_op(const df_gemm_kernel *kern, const df_gemm_operand *a, int i0, int rows, int k0, int kc,
                      float *dst) {
    if (a->patches)
        (kern->pack_a_patches ? kern->pack_a_patches : df_gemm_pack_a_patches)(kern, a->patches, i0, rows, k0, kc,
                                                                              dst);
    else
        (kern->pack_a ? kern->pack_a : df_gemm_pack_a)(kern->mr, a->trans, a->p, a->ld, i0, rows, k0, kc, dst);
}

static void pack_b_op(const df_gemm_kernel *kern, const df_gemm_operand *b, int k0, int kc, int j0, int cols,
                      float *dst) {
    if (b->patches)
        (kern->pack_b_patches ? kern->pack_b_patches : df_gemm_pack_b_patches)(kern->nr, b->patches, k0, kc, j0,
                                                                              cols, dst);
    else
        (kern->pack_b ? kern->pack_b : df_gemm_pack_b)(kern->nr, b->trans, b->p, b->ld, k0, kc, j0, cols, dst);
}

/* Largest kc block. With a convolution's patch matrix as an operand, a longer kc (as long as the A block
 * stays within about 1 MiB of L2) measured faster: as A (forward, input gradient), K = 9 * channels fits
 * one or two blocks, so C is read back once or not at all (+6% for 64 channels); as B (weight gradient),
 * K is every pixel of the batch for a few output channels, and fewer blocks mean fewer passes over C and
 * fewer parallel regions, each ending in a barrier. */
static int kc_max(const df_gemm_kernel *kern, int M, const df_gemm_operand *a, const df_gemm_operand *b) {
    if (!a->patches && !b->patches) return kern->kc;
    const int rows = min_int(round_up(M, kern->mr), kern->mc);
    const int fit = (int)(((size_t)1 << 20) / sizeof(float) / (size_t)rows);
    return fit < kern->kc ? kern->kc : fit > 4 * kern->kc ? 4 * kern->kc : fit;
}

/* An upper bound of what df_gemm_blocked_op takes from the workspace, for every M' <= M, N' <= N, K' <= K
 * (kc grows as M shrinks, so the exact figure at M is not enough): kc <= min(K, its largest block),
 * mc <= min(M rounded up to mr, the kernel's mc), nc likewise. */
size_t df_gemm_blocked_ws_floats(const df_gemm_kernel *kern, int M, int N, int K, int patches, int threads) {
    const size_t kcb = (size_t)min_int(K, patches ? 4 * kern->kc : kern->kc);
    const size_t mcb = (size_t)min_int(round_up(M, kern->mr), kern->mc);
    const size_t ncb = (size_t)min_int(round_up(N, kern->nr), kern->nc);
    return round16(kcb * ncb) + (size_t)(threads < 1 ? 1 : threads) * (round16(mcb * kcb) + round16(kcb * kern->nr));
}

void df_gemm_blocked(const df_gemm_kernel *kern, int trans_a, int trans_b, int M, int N, int K,
                     float alpha, const float *A, int lda, const float *B, int ldb, float beta, float *C,
                     int ldc, df_gemm_ws ws) {
    const df_gemm_operand a = {trans_a, A, lda, NULL}, b = {trans_b, B, ldb, NULL};
    df_gemm_blocked_op(kern, M, N, K, alpha, &a, &b, beta, C, ldc, ws);
}

/* What one (jc, pc) step's work items share. */
typedef struct {
    const df_gemm_kernel *kern;
    const df_gemm_operand *a, *b;
    int M, N, mc, jc, ncur, npanels, nchunks, pc, kcur, fused_b;
    const float *bpack;
    float alpha, beta_k, *C;
    int ldc;
} item_ctx;

/* Work item it: an mc block of rows (packed into apack unless *packed_block says it is there) times a run of
 * B panels. */
static void run_item(const item_ctx *x, int it, int *packed_block, float *apack, float *bpanel) {
    const df_gemm_kernel *kern = x->kern;
    const int mr = kern->mr, nr = kern->nr;
    const int ib = it / x->nchunks, ch = it % x->nchunks;
    const int i0 = ib * x->mc, mcur = min_int(x->mc, x->M - i0);
    if (ib != *packed_block) {
        pack_a_op(kern, x->a, i0, mcur, x->pc, x->kcur, apack);
        *packed_block = ib;
    }
    const int p0 = x->npanels * ch / x->nchunks, p1 = x->npanels * (ch + 1) / x->nchunks;
    for (int p = p0; p < p1; p++) {
        const int j = x->jc + p * nr, w = min_int(nr, x->N - j);
        const float *bp = bpanel;
        if (x->fused_b)
            pack_b_op(kern, x->b, x->pc, x->kcur, j, w, bpanel);
        else
            bp = x->bpack + (ptrdiff_t)p * nr * x->kcur;
        for (int ir = 0; ir < mcur; ir += mr) {
            float *c = x->C + (ptrdiff_t)(i0 + ir) * x->ldc + j;
            run_tile(kern, x->kcur, apack + (ptrdiff_t)ir * x->kcur, bp, c, x->ldc, min_int(mr, mcur - ir), w,
                     x->alpha, x->beta_k);
        }
    }
}

void df_gemm_blocked_op(const df_gemm_kernel *kern, int M, int N, int K, float alpha, const df_gemm_operand *a,
                        const df_gemm_operand *b, float beta, float *C, int ldc, df_gemm_ws ws) {
    const int mr = kern->mr, nr = kern->nr;
    DF_ASSERT(mr * nr <= MAX_TILE);
    const int kc = even_block(K, kc_max(kern, M, a, b), 1);
    const int mc = even_block(M, kern->mc, mr);
    const int nc = even_block(N, kern->nc, nr);
    const int mblocks = ceil_div(M, mc);

    const int par = !omp_in_parallel() && omp_get_max_threads() > 1 && (double)M * N * K >= PAR_MIN_MACS;
    /* With a single row block each B panel is used once, right after packing: pack it then, into a
     * small per-thread buffer, and it is still in L1 when the kernel reads it. Otherwise B is packed
     * once per (jc, pc) into a buffer the row blocks share. */
    const int fused_b = mblocks == 1;
    const size_t shared = fused_b ? 0 : round16((size_t)kc * nc);
    const size_t slice = round16((size_t)mc * kc) + (fused_b ? round16((size_t)kc * nr) : 0);
    float *wsp = ws.p;
    size_t ws_floats = ws.bytes / sizeof(float);
    if (!wsp) {
        ws_floats = shared + (size_t)(par ? omp_get_max_threads() : 1) * slice;
        wsp = df_gemm_buf_reserve(&fallback, ws_floats);
    }
    DF_ASSERT(((uintptr_t)wsp & 63) == 0 && ws_floats >= shared + slice);
    const size_t fit = (ws_floats - shared) / slice;
    const int nthreads = !par ? 1 : (size_t)omp_get_max_threads() < fit ? omp_get_max_threads() : (int)fit;
    float *bpack = fused_b ? NULL : wsp;

    for (int jc = 0; jc < N; jc += nc) {
        const int ncur = min_int(nc, N - jc);
        const int npanels = ceil_div(ncur, nr);
        /* Work items are (row block, column chunk) pairs handed out on demand: on a shared machine a
         * thread slowed by other work takes fewer items instead of holding up the call. Each C tile is
         * still computed by one thread in the same k order, so results do not depend on who runs what.
         * Items are row-block-major, so a thread mostly keeps its packed A block; with many row blocks
         * (tall C, e.g. a convolution's pixels x channels) they alone balance the threads, and a block is
         * not cut at all, since two threads taking halves of it would each pack the same A block. There are
         * 4 chunks a thread, their panels shared out as evenly as they come (49 panels make 8 chunks of 6 or
         * 7: 25 and 24 panels on 2 threads, where 7 chunks of 7 made it 28 and 21). */
        const int nchunks = nthreads == 1 || mblocks >= 8 * nthreads ? 1 : min_int(npanels, 4 * nthreads);
        const int items = mblocks * nchunks;
        for (int pc = 0; pc < K; pc += kc) {
            const int kcur = min_int(kc, K - pc);
            /* Later kc blocks add onto what the first one wrote. */
            const item_ctx x = {kern, a, b, M, N, mc, jc, ncur, npanels, nchunks, pc, kcur, fused_b, bpack,
                                alpha, pc == 0 ? beta : 1.0f, C, ldc};

            if (!fused_b) {
                if (nthreads > 1) {
#pragma omp parallel for num_threads(nthreads) schedule(static)
                    for (int p = 0; p < npanels; p++)
                        pack_b_op(kern, b, pc, kcur, jc + p * nr, min_int(nr, ncur - p * nr),
                                  bpack + (ptrdiff_t)p * nr * kcur);
                } else {
                    for (int p = 0; p < npanels; p++)
                        pack_b_op(kern, b, pc, kcur, jc + p * nr, min_int(nr, ncur - p * nr),
                                  bpack + (ptrdiff_t)p * nr * kcur);
                }
            }

            if (nthreads > 1) {
#pragma omp parallel num_threads(nthreads)
                {
                    float *apack = wsp + shared + (size_t)omp_get_thread_num() * slice;
                    float *bpanel = fused_b ? apack + round16((size_t)mc * kc) : NULL;
                    int packed_block = -1;
#pragma omp for schedule(dynamic, 1)
                    for (int it = 0; it < items; it++) run_item(&x, it, &packed_block, apack, bpanel);
                }
            } else {
                float *apack = wsp + shared, *bpanel = fused_b ? apack + round16((size_t)mc * kc) : NULL;
                int packed_block = -1;
                for (int it = 0; it < items; it++) run_item(&x, it, &packed_block, apack, bpanel);
            }
        }
    }
}
