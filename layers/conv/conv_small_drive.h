/* conv_small_drive.h: what the short-patch kernels of every ISA (conv_small_avx512.c, conv_small_avx2.c)
 * share with their driver (conv_small.c): the geometry of the padded-row buffers and the two register-tile
 * functions an ISA supplies. The driver copies rows, hands rows and chunks to threads and adds the weight
 * gradient's partials; an ISA's functions only multiply and add, on data the driver laid out. Internal to
 * layers/conv.
 *
 * Buffers. An output row is cut into segments of output pixels [ow0, ow0 + n); for each kernel row i the
 * driver copies the input row it reads into buffer i (g->row floats after buffer i - 1), in which output
 * pixel ow0 + r's tap t of that kernel row (t = j * C + c, t < kc) is buf[r * pitch + t], and the tap
 * q = i * kc + t of the whole patch is buf[r * pitch + off[q]]. */
#ifndef DF_LAYERS_CONV_SMALL_DRIVE_H
#define DF_LAYERS_CONV_SMALL_DRIVE_H

#include "layers/conv/conv_small.h"

struct df_conv_small_geom {
    const float *x;
    int H, W, C, k, s, p, OH, OW, CO;
    int kc;     /* taps per kernel row, k * C */
    int pitch;  /* floats between consecutive output pixels' windows, min(s, k) * C */
    int seg;    /* output pixels per segment */
    int row;    /* floats per padded-row buffer */
    int stream; /* forward: write y with non-temporal stores (y is 64-byte aligned) */
    int off[DF_CONV_SMALL_MAX_K]; /* tap q = i * kc + t: buffer offset i * row + t */
};

struct df_conv_small_isa {
    /* CO must be a multiple of it: the narrowest channel block the tiles take. */
    int co_block;
    /* Pixels of the forward's register tile: the driver fills the buffers for n rounded up to a multiple of
     * it (the extra pixels read zeros or real input; they are computed and not stored). */
    int fwd_pixels;
    /* Output pixels [0, n) of a segment, every output channel: y (n, CO) = bias + sum over the Kt taps of
     * buf tap * wt (Kt, CO), written whole (bias NULL: zero). */
    void (*fwd_segment)(const df_conv_small_geom *g, const float *buf, int n, const float *wt, const float *bias,
                        float *y);
    /* One kernel row of the weight gradient: part[t][co] += sum over pixels r < n, in order, of
     * buf[r * pitch + t] * dy[r * CO + co], for t < kc and every co. pf, unless NULL, is the next segment's
     * dY (n rows of CO), to prefetch into L2 while this pass computes. */
    void (*wg_row)(const df_conv_small_geom *g, const float *buf, const float *dy, const float *pf, int n,
                   float *part);
};

#endif
