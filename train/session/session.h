/* session.h: one model of one run, opened once: the run's data (splits, encoded metadata, the encoder
 * fitted on the training split), the model built for it, and the loaders; in training mode also the
 * optimizer and the shuffling, augmenting training loader. Training (trainer.h), evaluation, prediction,
 * Grad-CAM and the study all work on a session, so a run's data are loaded and its encoder fitted once.
 *
 * A session belongs to one fusion mode that is one graph (not late fusion, which is two sessions: see
 * train/late/late_fusion.h). Its directory is <out_dir>/<name>. Opening a session changes no file. */
#ifndef DF_SESSION_H
#define DF_SESSION_H

#include "data/loader.h"
#include "optim/optim.h"
#include "train/config/run_config.h"
#include "train/model/model.h"
#include "train/session/evaluate.h"
#include "train/session/run_data.h"
#include "train/session/run_input.h"

typedef enum {
    DF_SESSION_INFER, /* weights come from a checkpoint; no optimizer, no training loader */
    DF_SESSION_TRAIN,
} df_session_mode;

typedef struct {
    const df_run_config *cfg;
    df_fusion fusion;
    df_session_mode mode;
    char *dir;                        /* the run directory */
    df_run_data data;
    float class_weights[DF_MAX_CLASSES]; /* train.class_weights: balanced */
    df_model *model;
    df_optim *optim;                  /* training sessions only */
    df_loader *train;                 /* training sessions only: shuffles and augments */
    df_loader *eval[DF_N_SPLITS];     /* each split in order, no augmentation; opened on first use */
    char fingerprint[17];             /* of the training split, recorded in checkpoints */
    char *encoder_json, *classes_json; /* what checkpoints record of the data */
    df_run_input input;               /* channels and normalisation of the image input (run_input.h) */
    char *input_json;                 /* what checkpoints record of it; NULL for the default input */
    unsigned char *pretrained;        /* per tensor: initialised from model.pretrained (training sessions) */
} df_session;

/* Loads the data, builds the model for batches of cfg's train.batch_size (and prints its per-layer summary
 * unless quiet), and in training mode initialises from model.pretrained and creates the optimizer and the
 * training loader. On failure the session holds nothing to close. */
int df_session_open(df_session *s, const df_run_config *cfg, df_fusion fusion, df_session_mode mode, int quiet,
                    df_error *err);
void df_session_close(df_session *s);

/* The loader options the config gives for a split: training (shuffled, augmented) or evaluation. */
void df_session_loader_opts(const df_session *s, int training, df_loader_opts *o);

/* The evaluation loader of a split (opened on first use, owned by the session). NULL with err set, also for
 * the validation split of a run without one. */
df_loader *df_session_eval_loader(df_session *s, int split, df_error *err);

/* An inference session of cfg's run (as `fusion`) with the weights of <run dir>/<checkpoint>: open and load
 * in one, the session closed again when either fails. */
int df_session_open_trained(df_session *s, const df_run_config *cfg, df_fusion fusion, const char *checkpoint,
                            df_error *err);

/* Hands the session's data over to *rd (the caller frees them with df_run_data_free); the session keeps
 * none and can still be closed. */
void df_session_take_data(df_session *s, df_run_data *rd);

/* Loads the weights (and batch-norm statistics) of <run dir>/<checkpoint>; a missing file is an error saying
 * "no checkpoint at <path>: train it first with `dermfuse train <config>`". */
int df_session_load_weights(df_session *s, const char *checkpoint, df_error *err);

/* The model over one split, in order, in inference mode; with keep_features the penultimate features too.
 * Collective over the training ranks, which share the work out (predict_ranks.h); every rank gets it all. */
int df_session_predict(df_session *s, int split, int keep_features, df_predictions *out, df_error *err);

#endif
