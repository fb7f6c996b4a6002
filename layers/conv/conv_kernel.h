/* conv_kernel.h: the one place that decides which kernel computes each direction of a convolution, for a
 * given shape and GEMM backend, and how much workspace those kernels take from the graph's scratch. Internal
 * to layers/conv (conv2d.c runs the choice). The choice depends on the shape, the backend and (on AVX2) whether
 * the CPU halves its FMAs (df_gemm_fma_halved), never on the batch or the thread count, so results do not either.
 *
 *   kernel            forward                 input gradient             weight gradient
 *   SMALL_AVX512      AVX512 (1), Kt <= 160   -                          AVX512 (1), Kt <= 160
 *   SMALL_AVX2        AVX2 (1)(2), AVX512     -                          AVX2 (1)(2), AVX512 (3),
 *                     (3), Kt <= 160                                     Kt <= 160
 *   DIRECT_AVX512     AVX512, stride 1, C in  AVX512, stride 1, CO in    AVX512, C % 16 == 0
 *                     {16..512}, OW >= 7      {16..512}, W >= 7
 *   DIRECT_AVX2       AVX2 (4), stride 1 or   AVX2 (4), stride 1, CO in  AVX2 (4), C % 8 == 0
 *                     2, C in {16..512},      {16..512}, W >= 7
 *                     OW >= 7
 *   POINTWISE_GEMM    1x1 stride 1 pad 0: df_sgemm on x itself, every backend
 *   IMPLICIT_GEMM     otherwise               stride 1, pad <= k - 1     otherwise
 *   EXPLICIT_COL2IM   -                       otherwise (strided)        -
 *
 * Rows are tried top to bottom. (1) short patches: not pointwise, CO a multiple of 16 (AVX-512) or 8 (AVX2), Kt = k*k*C
 * <= 160 (conv_small.h); (2) on AVX2 also k > 1 and only where the DIRECT_AVX2 row does not take the direction (C not
 * in {16..512} for the forward, C % 8 != 0 for the weight gradient): against the implicit GEMM (bench_layers
 * conv_small, batch 32, 2 threads of a shared Zen 1 VM, medians of 3 runs) SMALL_AVX2 ran RGB 3x3 3->64 at 128 px 1.7x
 * faster forward and 4.7x in the weight gradient, the 7x7 stride-2 stem 3->64 at 224 px 1.7x and 2.5x; on 1x1 stride 2
 * with 64 channels its forward was 0.6x, and on 3x3 with 16 channels it was level with DIRECT_AVX2. (3) On the AVX-512
 * backend where CO % 16 == 8 (a narrow first layer), which the AVX-512 short-patch tiles do not take: the AVX2 ones
 * give their bits. Otherwise the AVX512 rows need the AVX-512 backend, the AVX2 rows the AVX2 backend; the direct
 * forwards also need pad <= k - 1 (the input gradient's patches always have it). {16..512} is {16, 32, 64, 128, 256,
 * 512}. IMPLICIT_GEMM is df_sgemm_patches_a / _b, which on OpenBLAS stores the patch matrix in slices for cblas_sgemm.
 * Only the AVX-512 and AVX2 backends take the direct kernels, so selecting the portable or OpenBLAS backend (a
 * reference run) changes every product at once. (4) On the AVX2 backend k > 1, and where the CPU runs 256-bit FMAs
 * at full width (Zen 2 onwards, Intel) only the weight gradient of stride-1 layers with C <= 64. On a core that halves
 * them (Zen 1), against the implicit GEMM (bench_layers conv_direct, batch 8, 2 threads of a shared VM, 2 runs) the
 * direct kernels ran 3x3 layers of 32-256 channels 0.93-1.08x forward, 0.94-1.09x input gradient and 0.95-1.34x
 * weight gradient (64->128 at stride 2: 1.00-1.03x and 1.10-1.12x), and need no patch packing; ResNet's 1x1
 * stride-2 downsamples (64->128 at 56 px, 128->256 at 28, 256->512 at 14) only 0.83-1.08x forward and 0.46-0.94x
 * weight gradient, so those take the GEMM. With twice the FMA rate (AMD Zen 3, same benchmark, 2 runs) the GEMM,
 * whose packed operands stream through L1 in order, pulls ahead: the direct kernels ran the 3x3 layers 0.61-1.05x
 * forward and 0.60-0.99x input gradient (32-128 channels 0.60-0.97x), the weight gradient 1.22-1.38x at 32 and 64
 * channels but 0.64-0.83x at 128 and 256 and 0.92x at stride 2; choosing by that, the VGG-style training step ran
 * 1.12-1.13x faster, its fusion twin 1.30-1.48x and ResNet-18's 1.10-1.49x (bench_step, 2 interleaved runs). Intel's
 * AVX2 cores share Zen 3's two full-width FMA pipes and take its rule without having been measured. On
 * Zen 1, when the GEMM's AVX2 packers and edge tiles were slower, the direct kernels led everywhere (1.2-1.8x). */
#ifndef DF_LAYERS_CONV_KERNEL_H
#define DF_LAYERS_CONV_KERNEL_H

#include <stddef.h>

#include "core/gemm/gemm.h"
#include "layers/conv/conv_small.h"

typedef struct {
    int H, W, C, OH, OW, CO, k, s, p;
} df_conv_shape;

/* The directions of a convolution, and the kernels of the table above. */
typedef enum { DF_CONV_FORWARD, DF_CONV_INPUT_GRAD, DF_CONV_WEIGHT_GRAD } df_conv_dir;
typedef enum {
    DF_CONV_SMALL_AVX512,
    DF_CONV_SMALL_AVX2,
    DF_CONV_DIRECT_AVX512,
    DF_CONV_DIRECT_AVX2,
    DF_CONV_POINTWISE_GEMM,
    DF_CONV_IMPLICIT_GEMM,
    DF_CONV_EXPLICIT_COL2IM,
} df_conv_kernel;

/* The kernel of direction dir; b: the backend a call runs (df_gemm_backend_here()). */
df_conv_kernel df_conv_choose(df_conv_shape d, df_conv_dir dir, df_gemm_backend b);
/* "direct_avx2" and so on, for benchmarks' and tests' messages. */
const char *df_conv_kernel_name(df_conv_kernel k);

static inline int df_conv_is_pointwise(df_conv_shape d) { return d.k == 1 && d.s == 1 && d.p == 0; }
/* The input gradient as a convolution of dY: stride 1, padding within the kernel's reach. */
static inline int df_conv_dgrad_implicit(df_conv_shape d) { return d.s == 1 && d.p <= d.k - 1; }
/* Whether SMALL_AVX512 or SMALL_AVX2 may run on some backend (their scratch is planned whatever the
 * backend); and kind k's short-patch instruction set (conv_small.h), NULL for the other kinds. */
int df_conv_small_possible(df_conv_shape d);
const df_conv_small_isa *df_conv_small_isa_of(df_conv_kernel k);

/* Images per group of the explicit input gradient (its patch gradient near 6 MiB): shape and planned batch. */
int df_conv_group(df_conv_shape d, int max_batch);

/* The patches of x (n images), and those of dY whose product with the flipped weights is dx. */
df_conv_patches df_conv_input_patches(df_conv_shape d, int n, const float *x);
df_conv_patches df_conv_dgrad_patches(df_conv_shape d, int n, const float *dy);

/* Bytes of GEMM / direct-kernel workspace any direction needs, for any batch up to max_batch, on any
 * backend this CPU runs (the backend may be changed after the graph is compiled: tests do), with slices for
 * `threads` threads. */
size_t df_conv_ws_bytes(df_conv_shape d, int max_batch, int threads);

/* C = patches op(B) + beta C on kind DIRECT_AVX512, DIRECT_AVX2 or IMPLICIT_GEMM: the forward
 * (y = patches W^T) and the stride-1 input gradient (dx = dY's patches W'). The direct kinds need a
 * workspace (ws.p not NULL) of the size df_conv_ws_bytes plans. */
void df_conv_patches_times(df_conv_kernel kind, const df_conv_patches *pt, int trans_b, int N, const float *B,
                           int ldb, float beta, float *C, int ldc, df_gemm_ws ws);
/* dW (CO x Kt) += dY^T patches, on kind DIRECT_AVX512, DIRECT_AVX2 or IMPLICIT_GEMM. */
void df_conv_wgrad_times(df_conv_kernel kind, int CO, const float *dy, const df_conv_patches *pt, float *dw,
                         int ldw, df_gemm_ws ws);

#endif
