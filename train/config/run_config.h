/* run_config.h: everything a training run is configured by, as bound from YAML (train/config/run_schema.c).
 *
 * Every field has a schema entry with its type, range and default; nothing here is read from anywhere else.
 * Paths are resolved against the directory of the config file that set them. */
#ifndef DF_RUN_CONFIG_H
#define DF_RUN_CONFIG_H

#include "core/error.h"
#include "data/layouts/datasets.h"
#include "optim/optim.h"
#include "optim/schedule.h"
#include "train/metrics/metrics.h"
#include "train/model/model.h"
#include "train/model/pretrained.h"

#define DF_CFG_LIST_MAX 16

/* Choices that belong to the run itself. Enum-typed fields hold the index of the config's name in the
 * names table of the subsystem that owns the enum (df_fusion_names, df_optim_kind_names, ...); the names
 * tables of these three are here, in the same order. */
typedef enum { DF_SPLIT_PUBLISHED, DF_SPLIT_HOLDOUT } df_split_mode;
extern const char *const df_split_mode_names[];      /* "published", "holdout" */
typedef enum { DF_WEIGHTING_NONE, DF_WEIGHTING_BALANCED } df_class_weighting;
extern const char *const df_class_weighting_names[]; /* "none", "balanced" */
/* The network's image input (train/session/run_input.h says how auto and dataset are resolved). */
typedef enum { DF_CHANNELS_AUTO, DF_CHANNELS_1, DF_CHANNELS_3 } df_channels_mode;
extern const char *const df_channels_mode_names[];   /* "auto", "1", "3" */
typedef enum { DF_NORMALIZE_IMAGENET, DF_NORMALIZE_DATASET, DF_NORMALIZE_GIVEN, DF_NORMALIZE_NONE } df_normalize_mode;
extern const char *const df_normalize_mode_names[];  /* "imagenet", "dataset", "given", "none" */
/* Late fusion's combination rule (train/late/late_fusion.h says what each does). */
typedef enum { DF_LATE_MEAN, DF_LATE_WEIGHTED, DF_LATE_STACKING } df_late_rule;
extern const char *const df_late_rule_names[];       /* "mean", "weighted", "stacking" */
/* The checkpoint a finished run is tested with: that of the best validation epoch, or the last state. */
typedef enum { DF_TEST_BEST, DF_TEST_LAST } df_test_checkpoint;
extern const char *const df_test_checkpoint_names[]; /* "best", "last" */

typedef struct {
    char *name;    /* run name: the run directory is <out_dir>/<name> */
    char *out_dir;
    long seed;
    int threads;   /* 0: all cores */
} df_run_section;

typedef struct {
    df_layout layout;
    char *train_csv;   /* isic, csv: training split file */
    char *valid_csv;   /* isic, csv, split published: validation split file ("" : no validation split) */
    char *test_csv;    /* isic, csv: test split file ("" : test_fraction of train_csv) */
    char *root;        /* milk10k: folder holding the MILK10k files */
    char *image_dir;   /* isic, csv: images folder ("" : metadata only) */
    char *label_column;  /* csv layout */
    char *image_column;  /* csv layout */
    char *group_by;      /* column grouping samples for splits ("" : none) */
    df_split_mode split;
    double valid_fraction; /* holdout: share of train_csv for validation (0: none); 0 where unused */
    double test_fraction;  /* share of train_csv held out as test when test_csv is empty; 0 where unused */
    int folds;             /* k-fold cross-validation over train_csv: k (0: off; then test_csv is empty) */
    int fold;              /* with folds: the fold that is the test split, 0..folds-1 */
    int n_numeric;
    char *numeric[DF_CFG_LIST_MAX];
    int n_categorical;
    char *categorical[DF_CFG_LIST_MAX];
    int allow_leaky;
    int image_size;
    int cache;
    int workers;
    int skip_bad_rows;
    int allow_outside_paths; /* files named in a CSV may lie outside the image folder (and the CSV's folder) */
    /* augmentation */
    int hflip, vflip, rot90;
    double crop_scale_min;
    double jitter;
    /* input */
    df_channels_mode channels;
    df_normalize_mode normalize;
    int n_mean;
    double mean[DF_CFG_LIST_MAX]; /* normalize: given, one per input channel, fractions of 255 */
    int n_std;
    double std[DF_CFG_LIST_MAX];
} df_data_section;

typedef struct {
    df_fusion fusion;
    df_backbone backbone;
    int n_widths;
    long widths[DF_CFG_LIST_MAX];
    int n_depth;
    long depth[DF_CFG_LIST_MAX];
    int n_pool;
    char *pool[DF_CFG_LIST_MAX]; /* vgg: per stage, a df_stage_pool_names entry; none given: max everywhere */
    int stem_width, stem_stride;
    df_init_scheme init;
    double bn_momentum, bn_eps;
    int n_meta_hidden;
    long meta_hidden[DF_CFG_LIST_MAX];
    int head_hidden;
    double dropout;
    int attention_heads, attention_dim, attention_tokens; /* cross_attention */
    df_head head;
    df_late_rule late_combine;
    char *pretrained;   /* safetensors file whose tensors initialise the model ("" : none) */
    df_weights_format pretrained_format;
    int n_pretrained_include;
    char *pretrained_include[DF_CFG_LIST_MAX]; /* name prefixes to load ("image", "meta"); none: all */
    int freeze_epochs;
} df_model_section;

typedef struct {
    int epochs;
    int batch_size;
    df_optim_kind optimizer;
    double lr, momentum, weight_decay;
    int nesterov;
    double beta1, beta2, eps; /* adam, adamw */
    int decay_all;     /* weight decay on biases and norm parameters too */
    int sync_bn;       /* several ranks: batch-norm statistics over the whole batch */
    df_schedule_kind schedule;
    double warmup_epochs;
    double min_lr, gamma;
    int step_epochs;
    int n_milestones;
    long milestones[DF_CFG_LIST_MAX]; /* step schedule: epochs at which the rate is multiplied by gamma */
    double clip_norm;  /* 0: no clipping */
    df_class_weighting class_weights;
    double label_smoothing;
    df_metric_id monitor;
    int patience;      /* epochs without improvement before stopping; 0: never stop early */
    df_test_checkpoint test_checkpoint; /* which checkpoint the test split is evaluated with */
    int checkpoint_every; /* steps between extra last-checkpoints; 0: once per epoch */
    int max_steps;     /* stop after this many steps in total (0: no limit; for smoke tests) */
} df_train_section;

typedef struct {
    df_run_section run;
    df_data_section data;
    df_model_section model;
    df_train_section train;
    char *source;    /* the config file */
    char *text;      /* the resolved config as YAML, saved with the run and in checkpoints */
} df_run_config;

/* Whether the run has a validation split: split published with a valid_csv, or holdout with a valid_fraction
 * above 0 (the resolved config says 0 where the fraction is unused, run_splits.c). */
int df_run_has_validation(const df_data_section *d);

/* The schema every run config is bound through (run_schema.c); `dermfuse config-keys` prints it. */
struct df_cfg_section;
extern const struct df_cfg_section df_run_schema;

/* Loads, merges bases, applies --set overrides (n_sets strings "a.b=c"), validates and binds. */
int df_run_config_load(const char *path, const char *const *sets, int n_sets, df_run_config *cfg, df_error *err);
void df_run_config_free(df_run_config *cfg);

#endif
