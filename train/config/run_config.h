/* run_config.h: everything a training run is configured by, as bound from YAML (train/config/run_schema.c).
 *
 * Every field has a schema entry with its type, range and default; nothing here is read from anywhere else.
 * Paths are resolved against the directory of the config file that set them. */
#ifndef DF_RUN_CONFIG_H
#define DF_RUN_CONFIG_H

#include "core/error.h"

#define DF_CFG_LIST_MAX 16

typedef struct {
    char *name;    /* run name: the run directory is <out_dir>/<name> */
    char *out_dir;
    long seed;
    int threads;   /* 0: all cores */
} df_run_section;

typedef struct {
    char *layout;      /* isic | milk10k | csv */
    char *train_csv;   /* isic, csv: training split file */
    char *valid_csv;   /* isic, csv: validation split file ("" : carve from train) */
    char *test_csv;    /* optional test split file ("" : see split) */
    char *root;        /* milk10k: folder holding the MILK10k files */
    char *image_dir;   /* isic, csv: images folder ("" : metadata only) */
    char *label_column;  /* csv layout */
    char *image_column;  /* csv layout */
    char *group_by;      /* column grouping samples for splits ("" : none) */
    char *split;         /* published | holdout */
    double valid_fraction; /* holdout: share of train used for validation when valid_csv is empty */
    double test_fraction;  /* share of train (published) held out as test when test_csv is empty */
    int n_numeric;
    char *numeric[DF_CFG_LIST_MAX];
    int n_categorical;
    char *categorical[DF_CFG_LIST_MAX];
    int allow_leaky;
    int image_size;
    int cache;
    int workers;
    int skip_bad_rows;
    /* augmentation */
    int hflip, vflip, rot90;
    double crop_scale_min;
    double jitter;
} df_data_section;

typedef struct {
    char *fusion;    /* image | meta | early | intermediate | gated | late */
    char *backbone;  /* vgg | resnet */
    int n_widths;
    long widths[DF_CFG_LIST_MAX];
    int n_depth;
    long depth[DF_CFG_LIST_MAX];
    int stem_width, stem_stride;
    int n_meta_hidden;
    long meta_hidden[DF_CFG_LIST_MAX];
    int head_hidden;
    double dropout;
    char *head;      /* softmax | sigmoid */
    char *late_combine; /* mean | weighted | stacking */
    char *pretrained;   /* safetensors file whose tensors initialise the model ("" : none) */
    char *pretrained_format; /* dermfuse | torchvision (train/pretrained.h) */
    int n_pretrained_include;
    char *pretrained_include[DF_CFG_LIST_MAX]; /* name prefixes to load ("image", "meta"); none: all */
    int freeze_epochs;
} df_model_section;

typedef struct {
    int epochs;
    int batch_size;
    char *optimizer;   /* sgd | adam | adamw */
    double lr, momentum, weight_decay;
    int nesterov;
    char *schedule;    /* constant | step | cosine */
    double warmup_epochs;
    double min_lr, gamma;
    int step_epochs;
    double clip_norm;  /* 0: no clipping */
    char *class_weights; /* none | balanced */
    double label_smoothing;
    char *monitor;     /* auc | accuracy | balanced_accuracy | macro_f1 | loss */
    int patience;      /* epochs without improvement before stopping; 0: never stop early */
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

/* Loads, merges bases, applies --set overrides (n_sets strings "a.b=c"), validates and binds. */
int df_run_config_load(const char *path, const char *const *sets, int n_sets, df_run_config *cfg, df_error *err);
void df_run_config_free(df_run_config *cfg);

#endif
