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
 * Packing buffers are per thread (df_gemm_buf). */
#include <omp.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/gemm_internal.h"

/* Below this many multiply-adds, forking threads costs more than it saves. */
#define PAR_MIN_MACS (128.0 * 128 * 128)
/* Largest mr * nr of any kernel: edge tiles are computed into a temporary of this size. */
#define MAX_TILE (16 * 64)

static _Thread_local df_gemm_buf a_buf, b_buf, bpanel_buf;

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

void df_gemm_blocked(const df_gemm_kernel *kern, int trans_a, int trans_b, int M, int N, int K,
                     float alpha, const float *A, int lda, const float *B, int ldb, float beta, float *C,
                     int ldc) {
    const df_gemm_operand a = {trans_a, A, lda, NULL}, b = {trans_b, B, ldb, NULL};
    df_gemm_blocked_op(kern, M, N, K, alpha, &a, &b, beta, C, ldc);
}

void df_gemm_blocked_op(const df_gemm_kernel *kern, int M, int N, int K, float alpha, const df_gemm_operand *a,
                        const df_gemm_operand *b, float beta, float *C, int ldc) {
    const int mr = kern->mr, nr = kern->nr;
    DF_ASSERT(mr * nr <= MAX_TILE);
    const int kc = even_block(K, kc_max(kern, M, a, b), 1);
    const int mc = even_block(M, kern->mc, mr);
    const int nc = even_block(N, kern->nc, nr);
    const int mblocks = ceil_div(M, mc);

    const int par = !omp_in_parallel() && omp_get_max_threads() > 1 && (double)M * N * K >= PAR_MIN_MACS;
    const int nthreads = par ? omp_get_max_threads() : 1;
    /* With a single row block each B panel is used once, right after packing: pack it then, into a
     * small per-thread buffer, and it is still in L1 when the kernel reads it. Otherwise B is packed
     * once per (jc, pc) into a buffer the row blocks share. */
    const int fused_b = mblocks == 1;
    float *bpack = fused_b ? NULL : df_gemm_buf_reserve(&b_buf, (size_t)kc * nc);

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
        const int nchunks = !par || mblocks >= 8 * nthreads ? 1 : min_int(npanels, 4 * nthreads);
        const int items = mblocks * nchunks;
        for (int pc = 0; pc < K; pc += kc) {
            const int kcur = min_int(kc, K - pc);
            /* Later kc blocks add onto what the first one wrote. */
            const float beta_k = pc == 0 ? beta : 1.0f;

            if (!fused_b) {
#pragma omp parallel for if (par) schedule(static)
                for (int p = 0; p < npanels; p++)
                    pack_b_op(kern, b, pc, kcur, jc + p * nr, min_int(nr, ncur - p * nr),
                              bpack + (ptrdiff_t)p * nr * kcur);
            }

#pragma omp parallel if (par)
            {
                float *apack = df_gemm_buf_reserve(&a_buf, (size_t)mc * kc);
                float *bpanel = fused_b ? df_gemm_buf_reserve(&bpanel_buf, (size_t)kc * nr) : NULL;
                int packed_block = -1;
#pragma omp for schedule(dynamic, 1)
                for (int it = 0; it < items; it++) {
                    const int ib = it / nchunks, ch = it % nchunks;
                    const int i0 = ib * mc, mcur = min_int(mc, M - i0);
                    if (ib != packed_block) {
                        pack_a_op(kern, a, i0, mcur, pc, kcur, apack);
                        packed_block = ib;
                    }
                    const int p0 = npanels * ch / nchunks, p1 = npanels * (ch + 1) / nchunks;
                    for (int p = p0; p < p1; p++) {
                        const int j = jc + p * nr, w = min_int(nr, N - j);
                        const float *bp = bpanel;
                        if (fused_b)
                            pack_b_op(kern, b, pc, kcur, j, w, bpanel);
                        else
                            bp = bpack + (ptrdiff_t)p * nr * kcur;
                        for (int ir = 0; ir < mcur; ir += mr) {
                            float *c = C + (ptrdiff_t)(i0 + ir) * ldc + j;
                            run_tile(kern, kcur, apack + (ptrdiff_t)ir * kcur, bp, c, ldc,
                                     min_int(mr, mcur - ir), w, alpha, beta_k);
                        }
                    }
                }
            }
        }
    }
}
