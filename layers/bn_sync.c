/* bn_sync.c: see bn_sync.h. */
#include "layers/bn_sync.h"

#include <string.h>

int df_bn_synced(const df_dist *d) { return d && df_dist_size(d) > 1; }

size_t df_bn_sync_stats(const df_dist *d, size_t rows, int C, double *mean, double *var, double *tmp) {
    double n = (double)rows;
    for (int c = 0; c < C; c++) tmp[c] = rows ? n * mean[c] : 0.0;
    tmp[C] = n;
    df_dist_sum_f64(d, tmp, (size_t)C + 1);
    double total = tmp[C];
    for (int c = 0; c < C; c++) {
        double m = tmp[c] / total, dm = rows ? mean[c] - m : 0.0;
        tmp[c] = rows ? n * (var[c] + dm * dm) : 0.0;
        mean[c] = m;
    }
    df_dist_sum_f64(d, tmp, (size_t)C);
    for (int c = 0; c < C; c++) var[c] = tmp[c] / total;
    return (size_t)total;
}

size_t df_bn_sync_grad_sums(const df_dist *d, size_t rows, int C, double *sg, double *sgc, double *tmp) {
    memcpy(tmp, sg, (size_t)C * sizeof(double));
    memcpy(tmp + C, sgc, (size_t)C * sizeof(double));
    tmp[2 * C] = (double)rows;
    df_dist_sum_f64(d, tmp, 2 * (size_t)C + 1);
    memcpy(sg, tmp, (size_t)C * sizeof(double));
    memcpy(sgc, tmp + C, (size_t)C * sizeof(double));
    return (size_t)tmp[2 * C];
}
