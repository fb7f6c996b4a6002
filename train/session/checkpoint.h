/* checkpoint.h: a training run's whole state in one safetensors file.
 *
 * Tensors: every parameter and buffer of the graph under its dotted name, and the optimizer's moments as
 * "optim.m.<name>" / "optim.v.<name>". Metadata (all strings):
 *   df.format        "dermfuse.checkpoint.v1"
 *   df.arch          a hash of every tensor's name and shape: loading into another architecture is refused,
 *                    naming the first tensor that differs
 *   df.config        the resolved config text of the run
 *   df.state         JSON: epoch, next batch, global step, dropout step, seed, best metric and epoch, epochs
 *                    without improvement, finished flag, optimizer kind and step counts. Its epoch and
 *                    best_epoch are 0-based indices (epoch: the epoch in progress, i.e. the number of epochs
 *                    done at an epoch's end); the console, metrics.csv and metrics.jsonl count epochs from 1,
 *                    so best_epoch 1 is "best epoch 2" there. A checkpoint within an epoch (batch > 0) also
 *                    holds epoch_loss_sum (exact: 17 digits) and epoch_loss_steps; one written before these
 *                    fields existed resumes with the sum empty (that epoch's train_loss then averages the steps
 *                    after the resume only)
 *   df.encoder       the metadata encoder's state (JSON), so prediction encodes as training did
 *   df.data          a fingerprint of the training data (sample ids and labels)
 *   df.classes       JSON array of class names
 *   df.input         the image input's channel count and normalisation (train/session/run_input.h), present
 *                    unless 3 channels with ImageNet's normalisation
 * The write is atomic and the file carries a checksum (train/safetensors.h): a checkpoint is either the old
 * one or the new one, and a damaged one is refused. */
#ifndef DF_CHECKPOINT_H
#define DF_CHECKPOINT_H

#include <stdint.h>

#include "core/graph.h"
#include "optim/optim.h"

typedef struct {
    int epoch;              /* epoch in progress */
    int batch;              /* next batch of that epoch */
    long step;              /* optimizer steps taken in the whole run */
    uint64_t dropout_step;  /* the graph's dropout counter */
    uint64_t seed;
    double best_metric;     /* of the monitored validation metric; NaN before the first validation */
    int best_epoch;         /* -1 before the first validation, and always without a validation split */
    int bad_epochs;         /* epochs since the best one (early stopping) */
    int finished;           /* training is over (the test results may still be missing: trainer.h) */
    double epoch_loss_sum;  /* training losses of the steps done in the epoch in progress, summed in step order */
    long epoch_loss_steps;  /* how many: the epoch's train_loss is their mean, whether or not a resume fell in it */
} df_train_state;

typedef struct {
    const char *config_text;
    const char *encoder_json; /* may be NULL */
    const char *data_fingerprint;
    const char *classes_json;
    const char *input_json;   /* may be NULL: 3 channels, ImageNet normalisation */
} df_checkpoint_info;

int df_checkpoint_save(const char *path, const df_graph *g, df_optim *o, const df_train_state *s,
                       const df_checkpoint_info *info, df_error *err);

/* Loads weights and buffers into g (the architecture must match), and, when o is non-NULL, the optimizer
 * moments and step counts (its kind must match). s (may be NULL) receives the training state. The strings
 * of info (may be NULL) point into *file, which the caller closes with df_checkpoint_close. */
typedef struct df_st_file df_st_file;
int df_checkpoint_load(const char *path, df_graph *g, df_optim *o, df_train_state *s, df_checkpoint_info *info,
                       df_st_file **file, df_error *err);
void df_checkpoint_close(df_st_file *file);

/* Loading checks what the file alone can tell: the state's counters agree with one another (epoch within
 * DF_LIMIT_CHECKPOINT_EPOCHS, best_epoch before epoch, bad_epochs counting from it, optimizer steps equal to
 * training steps), every tensor is finite, and every weight and buffer within DF_LIMIT_WEIGHT_MAGNITUDE.
 * This checks what needs the run's plan: the batch within an epoch of batches_per_epoch batches, no more
 * steps than the epochs and batches done, and a best epoch after every finished epoch when the run validates
 * (validated 1), none ever without a validation split. Errors name path and the field. */
int df_train_state_check(const df_train_state *s, long batches_per_epoch, int validated, const char *path,
                         df_error *err);

/* Hex digest of every tensor's name and shape, in table order. */
void df_checkpoint_arch_hash(const df_graph *g, char out[17]);

#endif
