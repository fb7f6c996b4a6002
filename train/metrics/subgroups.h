/* subgroups.h: a model's discrimination within each group of samples (e.g. sex, anatomical site, age band),
 * to see for whom it works and how far apart the groups are.
 *
 * Per group, on its own samples: the AUC (binary: class 1 against 0; more classes: the macro one-vs-rest AUC
 * over the classes where it is defined, as metrics.h), the sensitivity and the specificity at the run's
 * decision threshold (binary: of class 1; more classes: the mean recall over the classes present, and the mean
 * specificity over the classes that have negatives present), each with a percentile bootstrap interval over
 * the group's samples (stats.h; group g draws from seed + g, the same resamples for the three metrics). A
 * group with fewer than min_samples samples, or fewer than min_class samples of some class, is too small: its
 * counts are kept, its metrics are NaN. An interval whose metric was undefined on most resamples is NaN, the
 * estimate stays. */
#ifndef DF_SUBGROUPS_H
#define DF_SUBGROUPS_H

#include <stdint.h>

#include "core/error.h"

/* Below these a group's AUC, sensitivity and specificity are too noisy to read: with 5 positives, one sample
 * moves the sensitivity by 0.2. */
#define DF_SUBGROUP_MIN_SAMPLES 30
#define DF_SUBGROUP_MIN_CLASS 5

typedef struct {
    double estimate, lo, hi;
} df_subgroup_value;

enum { DF_SUBGROUP_AUC, DF_SUBGROUP_SENSITIVITY, DF_SUBGROUP_SPECIFICITY, DF_SUBGROUP_METRICS };
extern const char *const df_subgroup_metric_names[DF_SUBGROUP_METRICS]; /* "auc", "sensitivity", "specificity" */

typedef struct {
    int n;          /* samples in the group */
    int positives;  /* binary: samples of class 1; more classes: -1 */
    int min_class;  /* samples of the group's rarest class (of all K) */
    int too_small;
    df_subgroup_value v[DF_SUBGROUP_METRICS];
} df_subgroup;

typedef struct {
    double threshold;          /* binary decision threshold on p(class 1) */
    int min_samples, min_class;
    int B;                     /* bootstrap resamples */
    double level;              /* e.g. 0.95 */
    uint64_t seed;
} df_subgroup_opts;

/* group[i] in [0, n_groups) for each of the n samples of prob (n, K), y (n); fills out[0..n_groups). Fails
 * on invalid predictions (metrics.h) or a group index out of range. */
int df_subgroups(const float *prob, const int *y, int n, int K, const int *group, int n_groups,
                 const df_subgroup_opts *o, df_subgroup *out, df_error *err);

/* Best minus worst estimate of metric `which` over the groups that are not too small and where it is defined;
 * *best and *worst (may be NULL) get their indices. NaN (and -1) with fewer than two such groups. */
double df_subgroup_gap(const df_subgroup *g, int n_groups, int which, int *best, int *worst);

#endif
