/* conv_small.c: the short-patch convolution weight gradient with AVX-512 (see conv_small.h). The functions
 * carry their own target attribute, so the rest of the library stays generic x86-64; they run only after
 * the CPU check df_gemm's AVX-512 backend made. */
#include "layers/conv_small.h"

#include "core/error.h"
#include "core/gemm.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_AVX512_KERNELS 1
#else
#define HAVE_AVX512_KERNELS 0
#endif

/* Pixel chunks of the weight gradient (at most). */
#define WG_CHUNKS 32

int df_conv_small_applies(int Kt, int CO) {
    return HAVE_AVX512_KERNELS && df_gemm_get_backend() == DF_GEMM_AVX512 && CO % 16 == 0 && Kt >= 1 &&
           Kt <= DF_CONV_SMALL_MAX_K;
}

/* WG_CHUNKS partial gradients (Kt, CO). */
size_t df_conv_small_scratch_bytes(int Kt, int CO) { return (size_t)WG_CHUNKS * Kt * CO * sizeof(float); }

#if HAVE_AVX512_KERNELS

#define T512 __attribute__((target("avx512f")))

/* part (Kt, CO) = sum over pixels [0, n) of col[p, t] * dy[p, co], for t in [t0, t0 + 9), co in
 * [co, co + 32); pixels in order. */
T512 static void wg_9x32(const float *col, const float *dy, long n, int Kt, int CO, int t0, int co, float *part) {
    __m512 a[9][2];
    for (int t = 0; t < 9; t++) a[t][0] = a[t][1] = _mm512_setzero_ps();
    for (long p = 0; p < n; p++) {
        __m512 d0 = _mm512_loadu_ps(dy + p * CO + co), d1 = _mm512_loadu_ps(dy + p * CO + co + 16);
        const float *c = col + p * Kt + t0;
        for (int t = 0; t < 9; t++) {
            __m512 x = _mm512_set1_ps(c[t]);
            a[t][0] = _mm512_fmadd_ps(x, d0, a[t][0]);
            a[t][1] = _mm512_fmadd_ps(x, d1, a[t][1]);
        }
    }
    for (int t = 0; t < 9; t++)
        for (int v = 0; v < 2; v++) _mm512_storeu_ps(part + (size_t)(t0 + t) * CO + co + 16 * v, a[t][v]);
}

/* The same for any t range [t0, t1) and 16 channels: the tails of the blocking above. */
T512 static void wg_nx16(const float *col, const float *dy, long n, int Kt, int CO, int t0, int t1, int co,
                         float *part) {
    for (int t = t0; t < t1; t++) {
        __m512 a = _mm512_setzero_ps();
        for (long p = 0; p < n; p++) a = _mm512_fmadd_ps(_mm512_set1_ps(col[p * Kt + t]), _mm512_loadu_ps(dy + p * CO + co), a);
        _mm512_storeu_ps(part + (size_t)t * CO + co, a);
    }
}

T512 static void wg_chunk(const float *col, const float *dy, long n, int Kt, int CO, float *part) {
    int t0 = 0;
    for (; t0 + 9 <= Kt; t0 += 9) {
        int co = 0;
        for (; co + 32 <= CO; co += 32) wg_9x32(col, dy, n, Kt, CO, t0, co, part);
        if (co < CO) wg_nx16(col, dy, n, Kt, CO, t0, t0 + 9, co, part);
    }
    if (t0 < Kt)
        for (int co = 0; co < CO; co += 16) wg_nx16(col, dy, n, Kt, CO, t0, Kt, co, part);
}

void df_conv_small_weight_grad(long P, int Kt, int CO, const float *col, const float *dy, float *dw,
                               void *scratch) {
    float *part = scratch;
    int nc = P < WG_CHUNKS ? (int)P : WG_CHUNKS;
#pragma omp parallel for schedule(static)
    for (int ch = 0; ch < nc; ch++) {
        long p0 = P * ch / nc, p1 = P * (ch + 1) / nc;
        wg_chunk(col + p0 * Kt, dy + p0 * CO, p1 - p0, Kt, CO, part + (size_t)ch * Kt * CO);
    }
    for (int co = 0; co < CO; co++)
        for (int t = 0; t < Kt; t++) {
            float s = 0.0f;
            for (int ch = 0; ch < nc; ch++) s += part[((size_t)ch * Kt + t) * CO + co];
            dw[(size_t)co * Kt + t] += s;
        }
}

#else

void df_conv_small_weight_grad(long P, int Kt, int CO, const float *col, const float *dy, float *dw,
                               void *scratch) {
    (void)P, (void)Kt, (void)CO, (void)col, (void)dy, (void)dw, (void)scratch;
    DF_ASSERT(!"df_conv_small_weight_grad called where df_conv_small_applies is false");
}

#endif
