/* run_input.h: a run's image input: how many channels the network sees and how pixels are normalised,
 * resolved once per run and stored with it, so resuming, evaluating, predicting, late fusion, Grad-CAM and
 * show-batch all feed a trained model exactly what it was trained on.
 *
 * Resolution (df_run_input_resolve), for a session over images:
 *   - a run that has trained (<run dir>/last.safetensors exists) and recorded <run dir>/input.json: the
 *     recorded values; a config that now says otherwise (data.channels 1 or 3, data.normalize, the given
 *     data.mean / data.std) is an error naming the key and the file;
 *   - otherwise from the config and the data: data.channels auto is 1 when the training split's first image
 *     in file order (its lowest sample index, view 0) is stored gray (df_image_is_gray), else 3; normalize
 *     imagenet takes ImageNet's mean and std (1 channel: the mean of the three, 0.449 and 0.226), dataset the
 *     training split's per-channel pixel statistics after the evaluation transform (data/pixel_stats.h:
 *     deterministic, independent of thread and worker counts; printed unless quiet), given data.mean and
 *     data.std, none mean 0 and std 1 (x / 255).
 *
 * input.json is {"channels": C, "normalize": "<mode>", "mean": [..C], "std": [..C]}, floats written with 9
 * significant digits (they read back to the same float). The trainer writes it when training starts (unless
it was read from there); every
 * checkpoint carries the same JSON as df.input unless the input is 3 channels normalised as ImageNet's, what
 * every checkpoint without df.input was trained on. Loading weights refuses a checkpoint whose input differs
 * from the session's. */
#ifndef DF_RUN_INPUT_H
#define DF_RUN_INPUT_H

#include "data/image/augment.h"
#include "train/config/run_config.h"
#include "train/session/run_data.h"

typedef struct {
    int channels;               /* 1 or 3 */
    df_normalize_mode normalize;
    float mean[3], std[3];      /* the first `channels` apply: (x / 255 - mean) / std */
    int recorded;               /* read back from the run's input.json (there is nothing to write) */
} df_run_input;

/* 3 channels, ImageNet normalisation: what a metadata-only run and every older checkpoint have. */
void df_run_input_default(df_run_input *in);

int df_run_input_resolve(const df_run_config *cfg, const df_run_data *rd, const char *dir, int quiet,
                         df_run_input *in, df_error *err);

/* Sets the augmentation's channel count and normalisation. */
void df_run_input_apply(const df_run_input *in, df_augment_opts *aug);

/* The JSON text (caller frees); parsing refuses anything but that layout, naming `what` (a file). */
char *df_run_input_json(const df_run_input *in);
int df_run_input_parse(const char *text, size_t len, const char *what, df_run_input *in, df_error *err);
int df_run_input_same(const df_run_input *a, const df_run_input *b);
int df_run_input_is_default(const df_run_input *in);

/* Writes <dir>/input.json. */
int df_run_input_write(const char *dir, const df_run_input *in, df_error *err);

#endif
