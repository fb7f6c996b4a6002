/* analysis.h: what a study measures of a trained run besides its metrics.
 *
 * - Separability of the penultimate features on the test split: silhouette and Davies-Bouldin index
 *   (train/metrics/embed.h) and the 2-D PCA coordinates for the report. Above DF_ANALYSIS_MAX_EMBED samples an
 *   evenly spaced subset is used, so the O(n^2) silhouette stays fast.
 * - Grad-CAM (train/analysis/gradcam.h) of view 0 on a fixed sample of the test split: up to max_samples images,
 *   evenly spaced in the split's order, each explained for its predicted class. The heat-map index (share of
 *   the map inside the lesion mask) is averaged over the samples with a known mask and a non-empty map; a
 *   few overlays are written as PNG files. Deterministic: the sample, the model and the loader's evaluation
 *   transform are all fixed by the config. */
#ifndef DF_ANALYSIS_H
#define DF_ANALYSIS_H

#include "train/session/evaluate.h"
#include "train/session/session.h"

#define DF_ANALYSIS_MAX_EMBED 5000
#define DF_ANALYSIS_MAX_OVERLAYS 16

typedef struct {
    int n;              /* samples used */
    double silhouette;  /* NaN when undefined (fewer than two classes present) */
    double davies_bouldin;
    float *pca;         /* (n, 2) */
    int *labels;        /* (n) */
    double explained[2]; /* share of the total variance along each axis */
} df_separability;

/* From predictions made with keep_features. Fails when they carry no features or fewer than two samples. */
int df_separability_compute(const df_predictions *p, df_separability *out, df_error *err);
void df_separability_free(df_separability *s);

typedef struct {
    int n_samples;     /* images explained */
    int n_masked;      /* of which with a known mask and a non-empty map */
    double mean_index; /* mean heat-map index over those; NaN when n_masked is 0 */
    int n_overlays;
    char *overlay_paths[DF_ANALYSIS_MAX_OVERLAYS];
    char *captions[DF_ANALYSIS_MAX_OVERLAYS];
} df_gradcam_summary;

/* Grad-CAM of a session's model as it stands (the caller loads the weights to explain), which must have
 * images. Overlays go to <overlay_dir>/<prefix>-<i>.png (n_overlays of them, at most
 * DF_ANALYSIS_MAX_OVERLAYS). */
int df_gradcam_run(df_session *s, int max_samples, int n_overlays, const char *overlay_dir, const char *prefix,
                   df_gradcam_summary *out, df_error *err);
void df_gradcam_summary_free(df_gradcam_summary *s);

#endif
