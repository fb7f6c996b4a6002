/* run_files.h: what a run writes into its directory besides checkpoints: the resolved config, the
 * per-epoch metrics log (metrics.jsonl and metrics.csv), and the test results. Every file is written to a
 * temporary name and renamed (core/io/files.h), so none is ever half-written; the logs are rewritten whole each epoch (they
 * are small), which also drops epochs that a resumed run redoes. */
#ifndef DF_RUN_FILES_H
#define DF_RUN_FILES_H

/* df_write_file_atomic and df_make_dirs, which callers of this header use, come from core/io/files.h. */
#include "core/io/files.h"
#include "train/session/evaluate.h"
#include "train/metrics/metrics.h"
#include "train/config/run_config.h"
#include "train/session/run_data.h"

/* One epoch's line. epoch is the 0-based index; the files write epoch + 1, since the console and the files
 * count epochs from 1 (only the checkpoint's df.state keeps 0-based indices, checkpoint.h). */
typedef struct {
    int epoch;
    long step;
    double train_loss, valid_loss, lr;
    double images_per_second; /* training images of this epoch per second of its training steps (this process) */
    double seconds;           /* this epoch's wall time in this process, validation included */
    int improved;
} df_epoch_log;

/* Creates the run directory (and parents) and takes an exclusive lock on <dir>/train.lock (flock, released
 * by df_run_files_unlock or when the process ends, however it ends), so two processes never train one run:
 * the second fails at once, naming the lock. *fd receives the lock's descriptor. */
int df_run_files_lock(const char *dir, int *fd, df_error *err);
void df_run_files_unlock(int fd);

/* With the lock held: a fresh (not resumed) run refuses a directory that already holds a checkpoint, so
 * finished work is never overwritten. Then removes the temporary files that a killed run left there
 * (df_atomic_sweep, for the names of the files a run writes), printing how many. */
int df_run_files_sweep(const char *dir, int resume, df_error *err);
/* For a run about to train from `epoch`: removes test results of an earlier end of the run (test_metrics.json
 * first), writes config.yaml and drops log lines of epochs it will redo. A finished run never gets here, so
 * its files stay untouched. */
int df_run_files_start(const char *dir, const df_run_config *cfg, int epoch, df_error *err);
/* Appends the epoch to metrics.jsonl and metrics.csv; m, the validation metrics, is NULL for a run without a
 * validation split: then "valid" and "valid_loss" are null in the JSON and the validation columns of the CSV
 * are empty. */
int df_run_files_log_epoch(const char *dir, const df_epoch_log *log, const df_metrics *m, df_error *err);
/* test_predictions.csv, then test_metrics.json, for predictions p on split `split` of rd; so a run that was
 * stopped in between has no test_metrics.json, the mark of complete results. extra (may be NULL) holds more
 * members for test_metrics.json's object, as JSON text without braces ("\"a\":1,\"b\":\"x\""). */
int df_write_test_results(const char *dir, const df_run_data *rd, int split, const df_predictions *p,
                          const df_metrics *m, const char *extra, df_error *err);
/* 1 when dir holds both test result files: those of the run's last end, since df_run_files_start removes
 * earlier ones before training. */
int df_run_files_results_written(const char *dir);
/* Predictions as CSV: id, true label and one probability column per class; with submission, MILK10k's
 * challenge format (lesion_id and the probability columns only). */
void df_predictions_csv(FILE *f, const df_dataset *ds, const df_predictions *p, int submission);
/* The checkpoint file the test split is evaluated with (train.test_checkpoint): "best.safetensors" or
 * "last.safetensors". */
const char *df_test_checkpoint_file(const df_run_config *cfg);
/* The run directory <out_dir>/<name> of a config, as a new string (the caller frees it). */
char *df_run_dir(const df_run_config *cfg);

#endif
