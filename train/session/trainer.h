/* trainer.h: training one model: the epoch loop with validation, metrics logging, checkpoints and exact
 * resume, over a training session (session.h).
 *
 * The run directory <out_dir>/<name> holds:
 *   config.yaml          the resolved config (the run's whole definition)
 *   metrics.jsonl        one JSON object per epoch: train loss, validation metrics, lr, img/s, seconds
 *                        (without a validation split "valid" and "valid_loss" are null)
 *   metrics.csv          the same as a table (without a validation split its validation cells are empty)
 *   last.safetensors     the state after the last finished step (every epoch, every checkpoint_every steps,
 *                        and when stopped by SIGINT/SIGTERM)
 *   best.safetensors     the weights of the best validation epoch (none without a validation split)
 *   test_predictions.csv per test sample: id, label, class probabilities
 *   test_metrics.json    the test split evaluated with train.test_checkpoint's weights (best or last), with
 *                        "checkpoint" and "epoch" saying which; written last, it marks the run finished
 *
 * Exactness: the batch order and augmentation are functions of (seed, epoch, batch), dropout of the graph's
 * step counter, and the learning rate of the global step, all saved in the checkpoint, with the running sum of
 * the epoch's training loss; so a run stopped at any step and resumed ends with the same bytes as one that
 * never stopped (checkpoints, test results, and the logs but for their timing columns).
 *
 * Crashes: every file is replaced atomically (core/io/files.h), in an order that a kill at any point leaves
 * resumable: within an epoch's end the log lines, then best, then last (the log lines of an epoch that
 * last.safetensors does not include are dropped on resume); at the run's end the checkpoint that says
 * training is finished, then test_predictions.csv, then test_metrics.json. A run is finished when that
 * checkpoint and both result files are there (results of an earlier end are removed before a run trains on);
 * a resume that finds training finished but the results missing writes them, and says so. The temporary
 * files of a killed write are removed when the run next starts (run_files.h). */
#ifndef DF_TRAINER_H
#define DF_TRAINER_H

#include "train/session/session.h"

typedef struct {
    int resume;        /* continue from <run dir>/last.safetensors */
    int quiet;         /* no model summary */
    int stop_after_steps; /* testing aid: act as if SIGINT arrived after this many steps of this process (0: off) */
    /* Called with the run directory after every epoch's log and checkpoints are written, and once more after
     * the test results, also when a resume finds the run finished (NULL: none); floors above the session hook
     * in here (the command line rewrites the run's report.html, a live view of the run). It cannot fail the
     * run. */
    void (*after_epoch)(const char *run_dir, void *ctx);
    void *after_epoch_ctx;
    /* The program's version, which every rank of a data-parallel run must share (rank_check.h); NULL: "". */
    const char *version;
} df_train_opts;

/* 0 when <dir> holds last.safetensors to resume from; otherwise -1 and the error "nothing to resume in <dir>:
 * no last.safetensors; start it without --resume". (The trainer itself starts a run afresh when asked to
 * resume one that never saved, as a study does for every run; `dermfuse train --resume` checks first.) On
 * resume the trainer prints "resuming <dir> at epoch E, step S of T" (E 1-based, S steps done of T), refuses
 * a config that differs from the saved one except in train.epochs, train.max_steps, train.checkpoint_every,
 * paths and thread counts, and goes on with a finished run whose epochs (or max_steps) grew (its earlier test
 * results are removed first). */
int df_train_check_resumable(const char *dir, df_error *err);

/* Trains the session's model to the end of the run (or until a signal or stop_after_steps stops it, after
 * writing last.safetensors; *stopped, which may be NULL, is then set to 1), then evaluates the checkpoint
 * train.test_checkpoint names on the test split. Returns 0 when the run finished or was stopped cleanly, -1 on error.
 * Collective over the training ranks (df_dist_training), which first check that they share version and config
 * (rank_check.h; df_train_run checks before it opens the session); rank 0 alone writes the run folder. */
int df_train_session(df_session *s, const df_train_opts *opts, int *stopped, df_error *err);

/* Sets the OpenMP threads from run.threads and installs the SIGINT/SIGTERM handlers (which ask the trainer
 * to stop after the step in progress): what a process does before it opens a session to train in. */
void df_train_environment(const df_run_config *cfg);

/* Opens a training session for cfg's run as `fusion` (one graph, not late fusion), trains it and closes it,
 * after df_train_environment. */
int df_train_run(const df_run_config *cfg, df_fusion fusion, const df_train_opts *opts, int *stopped,
                 df_error *err);

#endif
