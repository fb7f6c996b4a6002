/* gemm_portable.c: the plain-C micro-kernel (4 x 8 tile) for CPUs without AVX2, and its block sizes.
 * Written so a compiler can keep the tile in registers and vectorise the row loop at the baseline ISA
 * (SSE2: 16 registers hold 8 accumulators plus operands). Contract: gemm_internal.h. */
#include "core/gemm/gemm_internal.h"

enum { MR = 4, NR = 8 };

static void kernel_4x8(int kc, const float *a, const float *b, float *c, ptrdiff_t ldc, float alpha,
                       float beta) {
    float acc[MR][NR] = {{0}};
    for (int k = 0; k < kc; k++, a += MR, b += NR)
        for (int i = 0; i < MR; i++)
            for (int j = 0; j < NR; j++) acc[i][j] += a[i] * b[j];
    for (int i = 0; i < MR; i++, c += ldc)
        for (int j = 0; j < NR; j++) c[j] = beta == 0.0f ? alpha * acc[i][j] : alpha * acc[i][j] + beta * c[j];
}

const df_gemm_kernel df_gemm_kernel_portable = {
    .name = "portable 4x8", .mr = MR, .nr = NR, .mc = 128, .kc = 256, .nc = 2048, .kernel = kernel_4x8};
