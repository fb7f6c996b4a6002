/* synth.h: synthetic dermoscopy-like lesion images with a controllable class signal, and their masks.
 *
 * An image is skin (a tone from a six-step light-to-dark palette, Fitzpatrick-like 1..6, with low-frequency
 * mottling and fine grain), one pigmented lesion (a star-shaped region whose radius varies with angle:
 * an ellipse plus a lopsided first harmonic plus harmonics 3..8), colour variegation inside it (tan, brown,
 * dark brown/black, blue-grey zones drawn from smooth noise), optional structures (a pigment network, dots
 * and globules, a blue-white veil, a red tint with vessels, white-yellow scale), dark curved hairs, and for
 * the dermoscopic view the dark circular surround of the dermoscope. The clinical close-up view of the same
 * lesion has the same shape and colours but no surround, half the magnification, warmer uneven lighting and
 * faded fine structures. The mask is the lesion region (255 inside, 0 outside), drawn for the view.
 *
 * What the class carries. Each lesion has ten appearance features in [0, 1]:
 *   size, irregularity (border harmonics), asymmetry (elongation + lopsidedness), colours (number and extent
 *   of variegation zones), darkness (of the pigment), veil (blue-white veil / blue-grey areas), dots (dots,
 *   globules, lacunae), network (pigment network contrast), red (pink tint and vessels), scale (keratin).
 * Class k has a profile row P[k] (table in synth.c, documented in data/synth/SYNTH.md). With n classes, M is the
 * mean of their rows, and an image of class k draws feature f as
 *   clamp01(M[f] + signal * (P[k][f] - M[f]) + 0.12 * z),   z ~ N(0, 1) per image and feature,
 * so at signal 0 every class is drawn from one distribution, and at signal 1 the class profiles are fully
 * apart. With 2 classes the rows are "benign naevus-like" and "malignant melanoma-like" (class 1: larger,
 * more irregular, asymmetric, more colours, darker, blue-white veil, more dots, atypical faded network).
 * With 3..11 classes the rows are the MILK10k diagnoses in the order AKIEC, BCC, BEN_OTH, BKL, DF, INF,
 * MAL_OTH, MEL, NV, SCCKA, VASC (first n used). Nothing else depends on the class: skin tone, hairs,
 * position, lighting and all noise come from class-independent draws.
 *
 * Determinism: the image depends only on (seed, index, label, options); lesion geometry and colours depend
 * only on (seed, index, label, n_classes, signal), so both views of one index show the same lesion. */
#ifndef DF_SYNTH_H
#define DF_SYNTH_H

#include <stdint.h>

#include "data/image/image.h"

#define DF_SYNTH_MAX_CLASSES 11
#define DF_SYNTH_NFEAT 10

typedef enum { DF_SYNTH_DERMOSCOPIC = 0, DF_SYNTH_CLINICAL = 1 } df_synth_view;

typedef struct {
    int w, h;
    int n_classes;  /* 2..11 */
    float signal;   /* 0..1 */
    df_synth_view view;
    int skin_tone;  /* 1..6, or 0: drawn per image (light tones more common) */
    int hair;       /* 0: no hairs */
} df_synth_opts;

typedef struct {
    int skin_tone;
    float feature[DF_SYNTH_NFEAT]; /* the drawn features, in the order of df_synth_feature_name */
    int lesion_pixels;             /* pixels in the mask */
} df_synth_info;

void df_synth_defaults(df_synth_opts *o, int w, int h, int n_classes);
int df_synth_check(const df_synth_opts *o, df_error *err);
const char *df_synth_feature_name(int f);
/* Name of class k for n classes ("benign"/"malignant" for 2, MILK10k codes otherwise). */
const char *df_synth_class_name(int n_classes, int k);

/* Draws image `index` of class `label`: rgb is allocated here (w x h x 3); mask (w*h bytes) and info may be
 * NULL. */
void df_synth_draw(const df_synth_opts *o, uint64_t seed, int64_t index, int label, df_image *rgb,
                   unsigned char *mask, df_synth_info *info);

#endif
