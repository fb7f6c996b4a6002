/* gemm_blocked.c: the packed-panel GEMM loop nest shared by the portable, AVX2 and AVX-512 backends
 * (layouts and the micro-kernel contract are in gemm_internal.h).
 *
 * Threads: C is cut into a grid of tasks, each a block of rows x a block of columns computed whole (every
 * k block) by one thread, which packs the operands it needs into its own slice of the workspace. One
 * parallel region per call hands the tasks out on demand and ends in its only barrier. An earlier version
 * packed op(B) once per k block into a buffer all threads read, which took two parallel regions (and two
 * barriers) per k block; on a machine shared with other work, every barrier waits for the thread that lost
 * its core, and 2-thread calls ran at a fraction of 1-thread speed (AMD EPYC Zen 1, 2 vCPUs, busy). Tasks
 * pack a little more in all (see task_grid), and lose nothing to a stalled thread but its last task.
 * Either operand may be a convolution's patch matrix (df_gemm_operand): only its packing differs.
 *
 * Determinism: threads split C, never K. The k blocking depends on the shape only, so each element of C is
 * the same sequence of operations (kernel sums over each kc block in order, then alpha/beta update) for
 * any thread count and task grid, and results are bit-identical for 1 and N threads.
 *
 * Packing buffers come from the caller's workspace (gemm.h, df_gemm_ws), one slice per thread (an A block,
 * then a B block). The thread count is capped to the slices the workspace holds, which changes nothing in
 * the results. Without a workspace (ws.p NULL: tests, benchmarks, callers outside a graph) a buffer that
 * grows on demand stands in. A region that would run on one thread runs as a plain call, not as
 * `omp parallel if (0)`: libgomp allocates a team for each of those. */
#include <omp.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/gemm/gemm_internal.h"

/* Below this many multiply-adds, forking threads costs more than it saves. */
#define PAR_MIN_MACS (128.0 * 128 * 128)
/* A task worth handing out alone: about a millisecond on one core (16 M multiply-adds). */
#define TASK_MACS (16.0 * 1024 * 1024)
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
 * K is every pixel of the batch for a few output channels, and fewer blocks mean fewer passes over C. */
static int kc_max(const df_gemm_kernel *kern, int M, const df_gemm_operand *a, const df_gemm_operand *b) {
    if (!a->patches && !b->patches) return kern->kc;
    const int rows = min_int(round_up(M, kern->mr), kern->mc);
    const int fit = (int)(((size_t)1 << 20) / sizeof(float) / (size_t)rows);
    return fit < kern->kc ? kern->kc : fit > 4 * kern->kc ? 4 * kern->kc : fit;
}

/* Widest B block a task packs when `threads` threads run: the kernel's nc shared out, so that the threads'
 * B blocks together take about the L3 share one nc block was sized for (and the workspace stays near the
 * size of one). Narrower blocks only mean an A block is packed once more per nc columns. */
static int nc_of(const df_gemm_kernel *kern, int threads) {
    const int nc = round_up(ceil_div(kern->nc, threads), kern->nr);
    return nc < 4 * kern->nr ? 4 * kern->nr : nc;
}

/* Floats of one thread's packing slice: an A block (mc x kc) and a B block (kc x nc). */
static size_t slice_floats(const df_gemm_kernel *kern, int M, int N, int K, int patches, int threads) {
    const size_t kcb = (size_t)min_int(K, patches ? 4 * kern->kc : kern->kc);
    const size_t mcb = (size_t)min_int(round_up(M, kern->mr), kern->mc);
    const size_t ncb = (size_t)min_int(round_up(N, kern->nr), nc_of(kern, threads));
    return round16(mcb * kcb) + round16(kcb * ncb);
}

/* An upper bound of what df_gemm_blocked_op takes from the workspace, for every M' <= M, N' <= N, K' <= K
 * (kc grows as M shrinks, so the exact figure at M is not enough) and every thread count up to `threads`
 * (fewer threads pack wider B blocks). */
size_t df_gemm_blocked_ws_floats(const df_gemm_kernel *kern, int M, int N, int K, int patches, int threads) {
    size_t most = 0;
    for (int t = 1; t <= (threads < 1 ? 1 : threads); t++) {
        const size_t f = (size_t)t * slice_floats(kern, M, N, K, patches, t);
        most = f > most ? f : most;
    }
    return most;
}

void df_gemm_blocked(const df_gemm_kernel *kern, int trans_a, int trans_b, int M, int N, int K,
                     float alpha, const float *A, int lda, const float *B, int ldb, float beta, float *C,
                     int ldc, df_gemm_ws ws) {
    const df_gemm_operand a = {trans_a, A, lda, NULL}, b = {trans_b, B, ldb, NULL};
    df_gemm_blocked_op(kern, M, N, K, alpha, &a, &b, beta, C, ldc, ws);
}

/* What the tasks of one call share: the operands, the k blocking (the only blocking results depend on) and
 * the task grid. */
typedef struct {
    const df_gemm_kernel *kern;
    const df_gemm_operand *a, *b;
    int M, N, K, kc, nc;
    int tm, tn, grid_cols; /* task height (multiple of mr), width (multiple of nr), tasks per grid row */
    float alpha, beta, *C;
    int ldc;
} plan;

/* Task t: the whole product for its tm x tn block of C, packed into this thread's slice (an A block, then a
 * B block). The GotoBLAS/BLIS loop nest on that block: jc over its columns in nc steps; pc over K in kc
 * steps, packing the kc x nc slice of op(B); ic over its rows in mc steps, packing the A block; then each B
 * panel times each A panel. When the rows fit one A block, each B panel is used once, right after it is
 * packed: it is packed then, into the first panel of the B block, and is still in L1 when the kernel reads
 * it. */
static void run_task(const plan *x, int t, float *apack, float *bpack) {
    const df_gemm_kernel *kern = x->kern;
    const int mr = kern->mr, nr = kern->nr;
    const int i0 = t / x->grid_cols * x->tm, j0 = t % x->grid_cols * x->tn;
    const int m = min_int(x->tm, x->M - i0), n = min_int(x->tn, x->N - j0);
    const int mc = even_block(m, kern->mc, mr), nc = even_block(n, x->nc, nr);
    const int fused_b = m <= mc;
    for (int jc = j0; jc < j0 + n; jc += nc) {
        const int ncur = min_int(nc, j0 + n - jc), npanels = ceil_div(ncur, nr);
        for (int pc = 0; pc < x->K; pc += x->kc) {
            const int kcur = min_int(x->kc, x->K - pc);
            const float beta = pc == 0 ? x->beta : 1.0f; /* later k blocks add onto what the first wrote */
            if (!fused_b)
                for (int p = 0; p < npanels; p++)
                    pack_b_op(kern, x->b, pc, kcur, jc + p * nr, min_int(nr, ncur - p * nr),
                              bpack + (ptrdiff_t)p * nr * kcur);
            for (int ic = i0; ic < i0 + m; ic += mc) {
                const int mcur = min_int(mc, i0 + m - ic);
                pack_a_op(kern, x->a, ic, mcur, pc, kcur, apack);
                for (int p = 0; p < npanels; p++) {
                    const int j = jc + p * nr, w = min_int(nr, ncur - p * nr);
                    const float *bp = bpack + (ptrdiff_t)p * nr * kcur;
                    if (fused_b) {
                        pack_b_op(kern, x->b, pc, kcur, j, w, bpack);
                        bp = bpack;
                    }
                    for (int ir = 0; ir < mcur; ir += mr)
                        run_tile(kern, kcur, apack + (ptrdiff_t)ir * kcur, bp, x->C + (ptrdiff_t)(ic + ir) * x->ldc + j,
                                 x->ldc, min_int(mr, mcur - ir), w, x->alpha, beta);
                }
            }
        }
    }
}

/* The task grid for `threads` threads: rows x cols tasks, a multiple of the thread count so that on an
 * idle machine every thread gets the same work, and up to 4 a thread when the product is large enough
 * that a task still takes about a millisecond: on a busy machine a thread that loses its core for a while
 * then holds up the call by one task at most, while the other takes the rest. Tasks share nothing, so
 * each packs its own operands: splitting rows packs op(B) once more, splitting columns op(A) once more.
 * Of the factorizations of the task count, the grid that packs the fewest floats in all is taken (for a
 * convolution's tall C, pixels x channels, that is rows only; for a wide one, columns only).
 * The trade, measured on 2 threads of a Zen 1 VM (tasks per thread forced, 9 interleaved rounds): idle, 1
 * task a thread ran the conv shapes (256, 2304, 1568) and (512, 4608, 392) 4-9% faster than 4 (the packing
 * of 4x more, smaller tasks); beside a 1-thread CPU-bound job, which takes half of one core, 4 a thread ran
 * them 4-33% faster (47 against 35 GFLOP/s on the first), where 1 a thread waits for the slowed thread's half. */
static void task_grid(const df_gemm_kernel *kern, int M, int N, int K, int threads, plan *x) {
    const double macs = (double)M * N * K;
    int per = (int)(macs / ((double)threads * TASK_MACS));
    per = per < 1 ? 1 : per > 4 ? 4 : per;
    const int tasks = threads * per, max_rows = ceil_div(M, kern->mr), max_cols = ceil_div(N, kern->nr);
    double best = -1;
    int rows = 1;
    for (int r = 1; r <= tasks; r++) {
        if (tasks % r || r > max_rows || tasks / r > max_cols) continue;
        const double packed = (double)K * ((double)(tasks / r) * M + (double)r * N);
        if (best < 0 || packed < best) best = packed, rows = r;
    }
    if (best < 0) rows = min_int(tasks, max_rows); /* too small to cut that finely: rows only */
    const int cols = best < 0 ? 1 : tasks / rows;
    x->tm = round_up(ceil_div(M, rows), kern->mr);
    x->tn = round_up(ceil_div(N, cols), kern->nr);
    x->grid_cols = ceil_div(N, x->tn);
}

void df_gemm_blocked_op(const df_gemm_kernel *kern, int M, int N, int K, float alpha, const df_gemm_operand *a,
                        const df_gemm_operand *b, float beta, float *C, int ldc, df_gemm_ws ws) {
    DF_ASSERT(kern->mr * kern->nr <= MAX_TILE);
    const int patches = a->patches || b->patches;
    const int par = !omp_in_parallel() && omp_get_max_threads() > 1 && (double)M * N * K >= PAR_MIN_MACS;
    int threads = par ? omp_get_max_threads() : 1;
    float *wsp = ws.p;
    if (!wsp) {
        wsp = df_gemm_buf_reserve(&fallback, (size_t)threads * slice_floats(kern, M, N, K, patches, threads));
    } else {
        /* As many threads as have a slice of the workspace, which changes nothing in the results. */
        while (threads > 1 && (size_t)threads * slice_floats(kern, M, N, K, patches, threads) >
                                  ws.bytes / sizeof(float))
            threads--;
        DF_ASSERT(slice_floats(kern, M, N, K, patches, 1) <= ws.bytes / sizeof(float));
    }
    DF_ASSERT(((uintptr_t)wsp & 63) == 0);
    const size_t slice = slice_floats(kern, M, N, K, patches, threads);
    const size_t a_floats = round16((size_t)min_int(round_up(M, kern->mr), kern->mc) *
                                    (size_t)min_int(K, patches ? 4 * kern->kc : kern->kc));

    plan x = {kern, a, b, M, N, K, even_block(K, kc_max(kern, M, a, b), 1), nc_of(kern, threads), 0, 0, 0,
              alpha, beta, C, ldc};
    if (threads == 1) {
        x.tm = M, x.tn = N, x.grid_cols = 1;
        run_task(&x, 0, wsp, wsp + a_floats);
        return;
    }
    task_grid(kern, M, N, K, threads, &x);
    const int tasks = ceil_div(M, x.tm) * x.grid_cols;
    /* The one parallel region of the call: tasks handed out on demand, no barrier but the closing one. */
#pragma omp parallel num_threads(threads)
    {
        float *apack = wsp + (size_t)omp_get_thread_num() * slice;
#pragma omp for schedule(dynamic, 1)
        for (int t = 0; t < tasks; t++) run_task(&x, t, apack, apack + a_floats);
    }
}
