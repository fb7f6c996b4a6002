/* trainer.h: a training run from a config: data, model, optimizer and schedule, the epoch loop with
 * validation, metrics logging, checkpoints and exact resume.
 *
 * The run directory <out_dir>/<name> holds:
 *   config.yaml          the resolved config (the run's whole definition)
 *   metrics.jsonl        one JSON object per epoch: train loss, validation metrics, lr, img/s, seconds
 *   metrics.csv          the same as a table
 *   last.safetensors     the state after the last finished step (every epoch, every checkpoint_every steps,
 *                        and when stopped by SIGINT/SIGTERM)
 *   best.safetensors     the weights of the best validation epoch
 *   test_metrics.json    the best weights evaluated on the test split
 *   test_predictions.csv per test sample: id, label, class probabilities
 *
 * Exactness: the batch order and augmentation are functions of (seed, epoch, batch), dropout of the graph's
 * step counter, and the learning rate of the global step, all saved in the checkpoint; so a run stopped at
 * any step and resumed ends with the same bytes as one that never stopped. */
#ifndef DF_TRAINER_H
#define DF_TRAINER_H

#include "train/config/run_config.h"

typedef struct {
    int resume;        /* continue from <run dir>/last.safetensors */
    int quiet;         /* no model summary or config table */
    int stop_after_steps; /* testing aid: act as if SIGINT arrived after this many steps of this process (0: off) */
} df_train_opts;

/* Returns 0 when the run finished or was stopped cleanly by a signal (the checkpoint is written), -1 on error.
 * *stopped (may be NULL) is set to 1 when a signal or stop_after_steps ended the run early. */
int df_train_run(const df_run_config *cfg, const df_train_opts *opts, int *stopped, df_error *err);

/* The run directory of a config. */
void df_run_dir(const df_run_config *cfg, char *buf, size_t size);

#endif
