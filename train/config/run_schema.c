/* run_schema.c: the schema of run configs (train/config/run_config.h): every key, its type, range and default.
 * This table is the reference for what a config may say; `dermfuse config-keys` prints it. */
#include <stdlib.h>
#include <string.h>

#include "train/config/config_schema.h"
#include "train/config/run_config.h"
#include "train/config/run_splits.h"

#include "core/io/files.h"

const char *const df_split_mode_names[] = {"published", "holdout", NULL};
const char *const df_class_weighting_names[] = {"none", "balanced", NULL};
const char *const df_late_rule_names[] = {"mean", "weighted", "stacking", NULL};
const char *const df_test_checkpoint_names[] = {"best", "last", NULL};
const char *const df_channels_mode_names[] = {"auto", "1", "3", NULL};
const char *const df_normalize_mode_names[] = {"imagenet", "dataset", "given", "none", NULL};

static const df_cfg_field run_fields[] = {
    {"name", DF_CFG_STRING, DF_CFG_AT(df_run_section, name), .required = 1, .flags = DF_CFG_NONEMPTY,
     .help = "run name; the run directory is <out_dir>/<name>"},
    {"out_dir", DF_CFG_STRING, DF_CFG_AT(df_run_section, out_dir), .flags = DF_CFG_NONEMPTY, .def = "runs",
     .help = "folder of run directories (relative to the working directory)"},
    {"seed", DF_CFG_LONG, DF_CFG_AT(df_run_section, seed), .range = "[0, inf)", .def = "1",
     .help = "seed of every random stream (init, shuffle, augmentation, dropout, splits)"},
    {"threads", DF_CFG_INT, DF_CFG_AT(df_run_section, threads), .range = "[0, 1024]", .def = "0",
     .help = "OpenMP threads; 0 = all cores"},
};

static const df_cfg_field data_fields[] = {
    {"layout", DF_CFG_ENUM, DF_CFG_AT(df_data_section, layout), .choices = df_layout_names, .required = 1,
     .help = "isic (ISIC-DICM-17K split files), milk10k, or csv (any CSV + image folder)"},
    {"train_csv", DF_CFG_PATH, DF_CFG_AT(df_data_section, train_csv), .flags = DF_CFG_MUST_EXIST, .def = "''",
     .help = "training split file (isic, csv)"},
    {"valid_csv", DF_CFG_PATH, DF_CFG_AT(df_data_section, valid_csv), .flags = DF_CFG_MUST_EXIST, .def = "''",
     .help = "split published: the validation split file; empty: no validation split (then train.test_checkpoint "
             "must be last)"},
    {"test_csv", DF_CFG_PATH, DF_CFG_AT(df_data_section, test_csv), .flags = DF_CFG_MUST_EXIST, .def = "''",
     .help = "test split file (either split); empty: test_fraction of the training file is held out"},
    {"root", DF_CFG_PATH, DF_CFG_AT(df_data_section, root), .flags = DF_CFG_MUST_EXIST, .def = "''",
     .help = "milk10k: the folder holding the MILK10k files"},
    {"image_dir", DF_CFG_PATH, DF_CFG_AT(df_data_section, image_dir), .flags = DF_CFG_MUST_EXIST, .def = "''",
     .help = "images folder (isic, csv); empty: metadata-only models only"},
    {"label_column", DF_CFG_STRING, DF_CFG_AT(df_data_section, label_column), .def = "label",
     .help = "csv layout: the label column"},
    {"image_column", DF_CFG_STRING, DF_CFG_AT(df_data_section, image_column), .def = "image",
     .help = "csv layout: the image path column"},
    {"group_by", DF_CFG_STRING, DF_CFG_AT(df_data_section, group_by), .def = "patient_id",
     .help = "column grouping samples so that a group never straddles splits; '' for none"},
    {"split", DF_CFG_ENUM, DF_CFG_AT(df_data_section, split), .choices = df_split_mode_names, .def = "published",
     .help = "published: validation is valid_csv (or none); holdout: validation carved from train_csv "
             "(valid_fraction); either way the test split is test_csv, else carved (test_fraction)"},
    {"valid_fraction", DF_CFG_DOUBLE, DF_CFG_AT(df_data_section, valid_fraction), .range = "[0, 1)", .def = "0.15",
     .help = "holdout: share of train_csv for validation, 0: no validation split; unused (0) with published"},
    {"test_fraction", DF_CFG_DOUBLE, DF_CFG_AT(df_data_section, test_fraction), .range = "[0, 1)", .def = "0.15",
     .help = "share of train_csv held out as the test split when test_csv is empty; unused (0) with a test_csv"},
    {"folds", DF_CFG_INT, DF_CFG_AT(df_data_section, folds), .range = "[0, 100]", .def = "0",
     .help = "k-fold cross-validation: the test split is fold data.fold of k grouped, stratified folds of "
             "train_csv drawn with run.seed (replaces test_csv and test_fraction); 0: off"},
    {"fold", DF_CFG_INT, DF_CFG_AT(df_data_section, fold), .range = "[0, 99]", .def = "0",
     .help = "with data.folds: which fold is the test split (0 .. folds-1)"},
    {"numeric", DF_CFG_STRINGS, DF_CFG_LIST_AT(df_data_section, numeric, n_numeric), .flags = DF_CFG_NONEMPTY,
     .def = "[]", .help = "numeric metadata columns (standardised, plus a missing indicator)"},
    {"categorical", DF_CFG_STRINGS, DF_CFG_LIST_AT(df_data_section, categorical, n_categorical),
     .flags = DF_CFG_NONEMPTY, .def = "[]", .help = "categorical metadata columns (one-hot plus unknown)"},
    {"allow_leaky", DF_CFG_BOOL, DF_CFG_AT(df_data_section, allow_leaky), .def = "false",
     .help = "allow label-determining columns (diagnosis, benign_malignant, ...) as features"},
    {"image_size", DF_CFG_INT, DF_CFG_AT(df_data_section, image_size), .range = "[8, 1024]", .def = "128",
     .help = "side of the square network input, pixels"},
    {"cache", DF_CFG_BOOL, DF_CFG_AT(df_data_section, cache), .def = "true",
     .help = "keep decoded, resized images in a memory-mapped cache under <out_dir>/cache"},
    {"workers", DF_CFG_INT, DF_CFG_AT(df_data_section, workers), .range = "[1, 64]", .def = "2",
     .help = "loader threads preparing batches ahead of training"},
    {"skip_bad_rows", DF_CFG_BOOL, DF_CFG_AT(df_data_section, skip_bad_rows), .def = "false",
     .help = "skip (and count) rows with a missing image or bad metadata instead of failing"},
    {"allow_outside_paths", DF_CFG_BOOL, DF_CFG_AT(df_data_section, allow_outside_paths), .def = "false",
     .help = "let image and mask paths in the CSV lead outside the image folder (by '..', an absolute path or "
             "a link); false: such a path is an error"},
    {"hflip", DF_CFG_BOOL, DF_CFG_AT(df_data_section, hflip), .def = "false", .help = "random horizontal flips"},
    {"vflip", DF_CFG_BOOL, DF_CFG_AT(df_data_section, vflip), .def = "false", .help = "random vertical flips"},
    {"rot90", DF_CFG_BOOL, DF_CFG_AT(df_data_section, rot90), .def = "false", .help = "random 90-degree rotations"},
    {"crop_scale_min", DF_CFG_DOUBLE, DF_CFG_AT(df_data_section, crop_scale_min), .range = "(0, 1]", .def = "1",
     .help = "random resized crop: smallest area fraction (1 = no crop)"},
    {"jitter", DF_CFG_DOUBLE, DF_CFG_AT(df_data_section, jitter), .range = "[0, 1)", .def = "0",
     .help = "colour jitter amplitude (brightness, contrast, saturation; a gray input has no saturation)"},
    {"channels", DF_CFG_ENUM, DF_CFG_AT(df_data_section, channels), .choices = df_channels_mode_names,
     .flags = DF_CFG_OMIT_DEFAULT, .def = "auto",
     .help = "image input channels: 1 = gray (colour images reduced to luma 0.299 R + 0.587 G + 0.114 B), 3 = RGB "
             "(gray images copied to R, G, B); auto = 1 if the run's first training image in file order is "
             "stored gray (a gray or gray+alpha PNG, a one-component JPEG), else 3; fixed for good when training "
             "starts (input.json)"},
    {"normalize", DF_CFG_ENUM, DF_CFG_AT(df_data_section, normalize), .choices = df_normalize_mode_names,
     .flags = DF_CFG_OMIT_DEFAULT, .def = "imagenet",
     .help = "input x/255 as (x/255 - mean) / std per channel: imagenet = ImageNet's mean and std, what pretrained "
             "ImageNet weights expect (1 channel: the means of the three, 0.449 and 0.226); dataset = the "
             "training split's own, after the evaluation transform, computed when training starts and stored "
             "(input.json); given = data.mean and data.std; none = x/255"},
    {"mean", DF_CFG_DOUBLES, DF_CFG_LIST_AT(df_data_section, mean, n_mean), .range = "[0, 1]",
     .flags = DF_CFG_OMIT_DEFAULT, .def = "[]",
     .help = "normalize: given: mean per input channel as a fraction of 255 (e.g. [0.5] or [0.6, 0.5, 0.4])"},
    {"std", DF_CFG_DOUBLES, DF_CFG_LIST_AT(df_data_section, std, n_std), .range = "(0, inf)",
     .flags = DF_CFG_OMIT_DEFAULT, .def = "[]",
     .help = "normalize: given: standard deviation per input channel as a fraction of 255, above 0"},
};

static const df_cfg_field model_fields[] = {
    {"fusion", DF_CFG_ENUM, DF_CFG_AT(df_model_section, fusion), .choices = df_fusion_names, .required = 1,
     .help = "image, meta, early, intermediate, gated, film, cross_attention or late"},
    {"backbone", DF_CFG_ENUM, DF_CFG_AT(df_model_section, backbone), .choices = df_backbone_names, .def = "vgg",
     .help = "vgg: conv-BN-ReLU stages with max-pooling; resnet: basic residual blocks"},
    {"widths", DF_CFG_INTS, DF_CFG_LIST_AT(df_model_section, widths, n_widths), .range = "[1, 4096]",
     .def = "[32, 64, 128, 256]", .help = "channels of each backbone stage"},
    {"depth", DF_CFG_INTS, DF_CFG_LIST_AT(df_model_section, depth, n_depth), .range = "[1, 64]",
     .def = "[1, 1, 1, 1]", .help = "convs (vgg) or residual blocks (resnet) per stage"},
    {"pool", DF_CFG_STRINGS, DF_CFG_LIST_AT(df_model_section, pool, n_pool),
     .flags = DF_CFG_NONEMPTY | DF_CFG_OMIT_DEFAULT, .def = "[]",
     .help = "vgg: what ends each stage, one entry per stage: max (2x2 max-pool), avg (2x2 average pool) or none; "
             "[] = max after every stage"},
    {"stem_width", DF_CFG_INT, DF_CFG_AT(df_model_section, stem_width), .range = "[1, 4096]", .def = "64",
     .help = "resnet: stem channels"},
    {"stem_stride", DF_CFG_INT, DF_CFG_AT(df_model_section, stem_stride), .range = "[1, 2]", .def = "2",
     .help = "resnet: 2 = 7x7/2 conv and max-pool (ImageNet style), 1 = one 3x3 conv"},
    {"init", DF_CFG_ENUM, DF_CFG_AT(df_model_section, init), .choices = df_init_scheme_names,
     .flags = DF_CFG_OMIT_DEFAULT, .def = "he",
     .help = "initial weights: he (conv N(0, 2/fan_in), linear U(+-sqrt(6/fan_in)), biases 0) or pytorch "
             "(torch.nn's defaults: conv and linear weights and linear biases U(+-1/sqrt(fan_in)))"},
    {"bn_momentum", DF_CFG_DOUBLE, DF_CFG_AT(df_model_section, bn_momentum), .range = "[0, 1]",
     .flags = DF_CFG_OMIT_DEFAULT, .def = "0.1",
     .help = "batch norm: running = (1 - momentum) * running + momentum * batch statistic (PyTorch's convention)"},
    {"bn_eps", DF_CFG_DOUBLE, DF_CFG_AT(df_model_section, bn_eps), .range = "(0, 1]",
     .flags = DF_CFG_OMIT_DEFAULT, .def = "1e-05",
     .help = "batch norm: added to the variance before its square root"},
    {"meta_hidden", DF_CFG_INTS, DF_CFG_LIST_AT(df_model_section, meta_hidden, n_meta_hidden), .range = "[1, 65536]",
     .def = "[64, 32]", .help = "widths of the metadata MLP"},
    {"head_hidden", DF_CFG_INT, DF_CFG_AT(df_model_section, head_hidden), .range = "[0, 65536]", .def = "0",
     .help = "hidden layer of the classifier head; 0: one linear layer"},
    {"dropout", DF_CFG_DOUBLE, DF_CFG_AT(df_model_section, dropout), .range = "[0, 1)", .def = "0",
     .help = "dropout before the final layer"},
    {"attention_heads", DF_CFG_INT, DF_CFG_AT(df_model_section, attention_heads), .range = "[1, 2]",
     .flags = DF_CFG_OMIT_DEFAULT, .def = "1",
     .help = "cross_attention: attention heads, 1 or 2, each attention_dim / heads wide"},
    {"attention_dim", DF_CFG_INT, DF_CFG_AT(df_model_section, attention_dim), .range = "[1, 4096]",
     .flags = DF_CFG_OMIT_DEFAULT, .def = "64",
     .help = "cross_attention: width of the metadata tokens and the attention output, a multiple of attention_heads"},
    {"attention_tokens", DF_CFG_INT, DF_CFG_AT(df_model_section, attention_tokens), .range = "[1, 64]",
     .flags = DF_CFG_OMIT_DEFAULT, .def = "4",
     .help = "cross_attention: metadata tokens, the queries that attend to the image positions"},
    {"head", DF_CFG_ENUM, DF_CFG_AT(df_model_section, head), .choices = df_head_names, .def = "softmax",
     .help = "softmax (K logits, cross-entropy) or sigmoid (binary: one logit, BCE)"},
    {"late_combine", DF_CFG_ENUM, DF_CFG_AT(df_model_section, late_combine), .choices = df_late_rule_names, .def = "weighted",
     .help = "late fusion: mean, weighted (weight tuned on validation) or stacking"},
    {"pretrained", DF_CFG_PATH, DF_CFG_AT(df_model_section, pretrained), .flags = DF_CFG_MUST_EXIST, .def = "''",
     .help = "safetensors file whose tensors initialise the model by name; '' for none"},
    {"pretrained_format", DF_CFG_ENUM, DF_CFG_AT(df_model_section, pretrained_format), .choices = df_weights_format_names,
     .def = "dermfuse", .help = "names in the pretrained file: dermfuse's own, or a torchvision ResNet's"},
    {"pretrained_include", DF_CFG_STRINGS, DF_CFG_LIST_AT(df_model_section, pretrained_include, n_pretrained_include),
     .flags = DF_CFG_NONEMPTY, .def = "[]",
     .help = "load only tensors whose names start with one of these prefixes (e.g. [image]); [] = all"},
    {"freeze_epochs", DF_CFG_INT, DF_CFG_AT(df_model_section, freeze_epochs), .range = "[0, 100000]", .def = "0",
     .help = "epochs during which pretrained tensors stay frozen"},
};

static const df_cfg_field train_fields[] = {
    {"epochs", DF_CFG_INT, DF_CFG_AT(df_train_section, epochs), .range = "[1, 100000]", .def = "10",
     .help = "training epochs"},
    {"batch_size", DF_CFG_INT, DF_CFG_AT(df_train_section, batch_size), .range = "[1, 4096]", .def = "32",
     .help = "samples per step"},
    {"optimizer", DF_CFG_ENUM, DF_CFG_AT(df_train_section, optimizer), .choices = df_optim_kind_names, .def = "adamw",
     .help = "sgd, adam or adamw"},
    {"lr", DF_CFG_DOUBLE, DF_CFG_AT(df_train_section, lr), .range = "(0, 10]", .def = "0.001",
     .help = "base learning rate"},
    {"momentum", DF_CFG_DOUBLE, DF_CFG_AT(df_train_section, momentum), .range = "[0, 1)", .def = "0.9",
     .help = "sgd momentum"},
    {"nesterov", DF_CFG_BOOL, DF_CFG_AT(df_train_section, nesterov), .def = "false", .help = "sgd: Nesterov momentum"},
    {"weight_decay", DF_CFG_DOUBLE, DF_CFG_AT(df_train_section, weight_decay), .range = "[0, 1)", .def = "0",
     .help = "weight decay: an L2 term in the gradient for sgd and adam, decoupled for adamw"},
    {"decay_all", DF_CFG_BOOL, DF_CFG_AT(df_train_section, decay_all), .flags = DF_CFG_OMIT_DEFAULT, .def = "false",
     .help = "weight decay on every parameter, biases and norm parameters too (torch.optim without parameter "
             "groups); false: on conv and linear weights only"},
    {"sync_bn", DF_CFG_BOOL, DF_CFG_AT(df_train_section, sync_bn), .flags = DF_CFG_OMIT_DEFAULT, .def = "true",
     .help = "trained on several ranks (mpirun): batch norm takes its statistics over the whole batch of all "
             "ranks, as on one process; false: over each rank's own slice (less traffic, results depend on the "
             "rank count). One process: no effect"},
    {"beta1", DF_CFG_DOUBLE, DF_CFG_AT(df_train_section, beta1), .range = "[0, 1)",
     .flags = DF_CFG_OMIT_DEFAULT, .def = "0.9",
     .help = "adam, adamw: decay of the first moment"},
    {"beta2", DF_CFG_DOUBLE, DF_CFG_AT(df_train_section, beta2), .range = "[0, 1)",
     .flags = DF_CFG_OMIT_DEFAULT, .def = "0.999",
     .help = "adam, adamw: decay of the second moment"},
    {"eps", DF_CFG_DOUBLE, DF_CFG_AT(df_train_section, eps), .range = "(0, 1]",
     .flags = DF_CFG_OMIT_DEFAULT, .def = "1e-08",
     .help = "adam, adamw: added to the second moment's square root"},
    {"schedule", DF_CFG_ENUM, DF_CFG_AT(df_train_section, schedule), .choices = df_schedule_kind_names,
     .def = "constant", .help = "learning-rate schedule"},
    {"warmup_epochs", DF_CFG_DOUBLE, DF_CFG_AT(df_train_section, warmup_epochs), .range = "[0, 1000]", .def = "0",
     .help = "linear warm-up length"},
    {"min_lr", DF_CFG_DOUBLE, DF_CFG_AT(df_train_section, min_lr), .range = "[0, 10]", .def = "0",
     .help = "cosine: final learning rate"},
    {"gamma", DF_CFG_DOUBLE, DF_CFG_AT(df_train_section, gamma), .range = "(0, 1]", .def = "0.1",
     .help = "step schedule: decay factor"},
    {"step_epochs", DF_CFG_INT, DF_CFG_AT(df_train_section, step_epochs), .range = "[1, 100000]", .def = "30",
     .help = "step schedule: epochs between decays (when no milestones are given)"},
    {"milestones", DF_CFG_INTS, DF_CFG_LIST_AT(df_train_section, milestones, n_milestones), .range = "[1, 100000]",

     .flags = DF_CFG_OMIT_DEFAULT, .def = "[]", .help = "step schedule: the epochs after which the rate is multiplied by gamma (PyTorch's "
                          "MultiStepLR), strictly increasing; [] = every step_epochs"},
    {"clip_norm", DF_CFG_DOUBLE, DF_CFG_AT(df_train_section, clip_norm), .range = "[0, inf)", .def = "0",
     .help = "clip the gradient norm to this; 0: no clipping"},
    {"class_weights", DF_CFG_ENUM, DF_CFG_AT(df_train_section, class_weights), .choices = df_class_weighting_names, .def = "none",
     .help = "none, or balanced (inverse training-class frequency)"},
    {"label_smoothing", DF_CFG_DOUBLE, DF_CFG_AT(df_train_section, label_smoothing), .range = "[0, 1)", .def = "0",
     .help = "label smoothing of the loss"},
    {"monitor", DF_CFG_ENUM, DF_CFG_AT(df_train_section, monitor), .choices = df_metric_names, .def = "auc",
     .help = "validation metric choosing the best epoch"},
    {"patience", DF_CFG_INT, DF_CFG_AT(df_train_section, patience), .range = "[0, 100000]", .def = "0",
     .help = "stop after this many epochs without improvement; 0: never"},
    {"test_checkpoint", DF_CFG_ENUM, DF_CFG_AT(df_train_section, test_checkpoint),
     .choices = df_test_checkpoint_names, .flags = DF_CFG_OMIT_DEFAULT, .def = "best",
     .help = "checkpoint evaluated on the test split: best (best validation epoch) or last (the final state)"},
    {"checkpoint_every", DF_CFG_INT, DF_CFG_AT(df_train_section, checkpoint_every), .range = "[0, inf)",
     .def = "0", .help = "also write last.safetensors every N steps; 0: once per epoch"},
    {"max_steps", DF_CFG_INT, DF_CFG_AT(df_train_section, max_steps), .range = "[0, inf)", .def = "0",
     .help = "end the run after this many steps in total; 0: no limit"},
};

static const df_cfg_section run_section = DF_CFG_SECTION_OF("run", run_fields, df_run_section);
static const df_cfg_section data_section = DF_CFG_SECTION_OF("data", data_fields, df_data_section);
static const df_cfg_section model_section = DF_CFG_SECTION_OF("model", model_fields, df_model_section);
static const df_cfg_section train_section = DF_CFG_SECTION_OF("train", train_fields, df_train_section);

/* The bound part of df_run_config: its first four members. */
typedef struct {
    df_run_section run;
    df_data_section data;
    df_model_section model;
    df_train_section train;
} bound_config;

static const df_cfg_field root_fields[] = {
    {"run", DF_CFG_SECTION, DF_CFG_AT(bound_config, run), .sub = &run_section, .required = 1},
    {"data", DF_CFG_SECTION, DF_CFG_AT(bound_config, data), .sub = &data_section, .required = 1},
    {"model", DF_CFG_SECTION, DF_CFG_AT(bound_config, model), .sub = &model_section, .required = 1},
    {"train", DF_CFG_SECTION, DF_CFG_AT(bound_config, train), .sub = &train_section, .def = "{}"},
};

const df_cfg_section df_run_schema = DF_CFG_SECTION_OF("", root_fields, bound_config);

/* Rules that tie keys together, checked after binding. */
/* Whether an override `key=value` sets one of the space-separated keys (or a section above one of them). */
static int sets_key(const char *set, const char *keys) {
    const char *eq = strchr(set, '=');
    size_t n = eq ? (size_t)(eq - set) : strlen(set);
    for (const char *k = keys; *k;) {
        size_t len = strcspn(k, " ");
        if (n <= len && !strncmp(k, set, n) && (n == len || k[n] == '.')) return 1;
        k += len;
        k += *k == ' ';
    }
    return 0;
}

/* Puts in front of err's message the config file, and the --set overrides that touch the rule's keys, since
 * a rule between keys may be broken by an override rather than by the file. */
static int blame(const df_run_config *c, const char *const *sets, int n_sets, const char *keys, df_error *err) {
    char where[512];
    int len = snprintf(where, sizeof where, "%s", c->source);
    int first = 1;
    for (int i = 0; i < n_sets && len < (int)sizeof where; i++)
        if (sets_key(sets[i], keys)) {
            len += snprintf(where + len, sizeof where - (size_t)len, "%s--set %s", first ? " with " : ", ", sets[i]);
            first = 0;
        }
    return df_fail_prefix(err, "%s", where);
}

/* data.mean and data.std belong to normalize: given alone; their length is checked against the channel count
 * here when data.channels names it, and once auto is resolved otherwise. */
static int check_normalize(const df_data_section *d, df_error *err) {
    const char *mode = df_normalize_mode_names[d->normalize];
    if (d->normalize != DF_NORMALIZE_GIVEN) {
        if (d->n_mean || d->n_std)
            return df_fail(err, "data.%s is given but data.normalize is '%s'; it is used by normalize: given only",
                           d->n_mean ? "mean" : "std", mode);
        return 0;
    }
    if (!d->n_mean || !d->n_std)
        return df_fail(err, "data.normalize is 'given' but data.%s is missing: list one value per input channel",
                       d->n_mean ? "std" : "mean");
    int want = d->channels == DF_CHANNELS_1 ? 1 : d->channels == DF_CHANNELS_3 ? 3 : 0;
    const char *keys[2] = {"mean", "std"};
    int n[2] = {d->n_mean, d->n_std};
    for (int k = 0; k < 2; k++) {
        if (want && n[k] != want)
            return df_fail(err, "data.%s has %d values but data.channels is %d: give one per input channel", keys[k],
                           n[k], want);
        if (n[k] != 1 && n[k] != 3)
            return df_fail(err, "data.%s has %d values: give one per input channel (1 for gray, 3 for RGB)", keys[k],
                           n[k]);
    }
    if (d->n_mean != d->n_std)
        return df_fail(err, "data.mean has %d values but data.std has %d: give one of each per input channel",
                       d->n_mean, d->n_std);
    return 0;
}

static int check_combinations(const df_run_config *c, const char *const *sets, int n_sets, df_error *err) {
    const df_data_section *d = &c->data;
    int milk = d->layout == DF_LAYOUT_MILK10K;
    const char *fusion = df_fusion_name(c->model.fusion);
    /* Two parts: a study names its runs <study>/<model>-seed<s>. */
    if (df_check_plain_name("run.name", c->run.name, 2, err)) return blame(c, sets, n_sets, "run.name", err);
    if (milk && !*d->root)
        return df_fail(err, "data.root must name the MILK10k folder for layout milk10k"),
               blame(c, sets, n_sets, "data.root data.layout", err);
    if (!milk && !*d->train_csv)
        return df_fail(err, "data.train_csv is required for layout %s", df_layout_names[d->layout]),
               blame(c, sets, n_sets, "data.train_csv data.layout", err);
    if (c->model.fusion != DF_FUSION_META && !*d->image_dir && !milk)
        return df_fail(err, "model.fusion '%s' needs images, but data.image_dir is empty", fusion),
               blame(c, sets, n_sets, "model.fusion data.image_dir data.layout", err);
    if (c->model.fusion != DF_FUSION_IMAGE && d->n_numeric + d->n_categorical == 0)
        return df_fail(err, "model.fusion '%s' needs metadata: list columns under data.numeric or "
                       "data.categorical", fusion),
               blame(c, sets, n_sets, "model.fusion data.numeric data.categorical", err);
    if (c->model.freeze_epochs && !*c->model.pretrained)
        return df_fail(err, "model.freeze_epochs is %d but model.pretrained names no file to freeze",
                       c->model.freeze_epochs),
               blame(c, sets, n_sets, "model.freeze_epochs model.pretrained", err);
    if (c->train.n_milestones && c->train.schedule != DF_SCHED_STEP)
        return df_fail(err, "train.milestones are for the step schedule, but train.schedule is %s",
                       df_schedule_kind_names[c->train.schedule]),
               blame(c, sets, n_sets, "train.milestones train.schedule", err);
    if (c->model.n_pool && c->model.backbone != DF_BACKBONE_VGG)
        return df_fail(err, "model.pool is for the vgg backbone; a %s backbone downsamples by strided convolutions",
                       df_backbone_names[c->model.backbone]),
               blame(c, sets, n_sets, "model.pool model.backbone", err);
    if (c->model.n_pool && c->model.n_pool != c->model.n_widths)
        return df_fail(err, "model.pool has %d entries but model.widths has %d stages; give one per stage",
                       c->model.n_pool, c->model.n_widths),
               blame(c, sets, n_sets, "model.pool model.widths", err);
    for (int i = 0; i < c->model.n_pool; i++)
        if (df_stage_pool_parse(c->model.pool[i]) < 0)
            return df_fail(err, "model.pool[%d] is '%s'; expected max, avg or none", i, c->model.pool[i]),
                   blame(c, sets, n_sets, "model.pool", err);
    if (c->model.attention_dim % c->model.attention_heads)
        return df_fail(err, "model.attention_dim is %d, not a multiple of model.attention_heads (%d): each head takes "
                       "an equal share", c->model.attention_dim, c->model.attention_heads),
               blame(c, sets, n_sets, "model.attention_dim model.attention_heads", err);
    if (check_normalize(d, err)) return blame(c, sets, n_sets, "data.normalize data.mean data.std data.channels", err);
    if (c->model.n_widths != c->model.n_depth)
        return df_fail(err, "model.widths has %d stages but model.depth has %d", c->model.n_widths,
                       c->model.n_depth),
               blame(c, sets, n_sets, "model.widths model.depth", err);
    return 0;
}

int df_run_config_load(const char *path, const char *const *sets, int n_sets, df_run_config *cfg, df_error *err) {
    memset(cfg, 0, sizeof *cfg);
    bound_config b;
    df_cfg_node *root;
    if (df_cfg_load(path, &root, err)) return -1;
    int rc = df_cfg_set_all(root, sets, n_sets, err);
    if (rc == 0) rc = df_cfg_bind(root, &df_run_schema, &b, err);
    if (rc) {
        df_cfg_free(root);
        return -1;
    }
    cfg->run = b.run;
    cfg->data = b.data;
    cfg->model = b.model;
    cfg->train = b.train;
    cfg->source = df_strdup(path);
    /* The split keys are resolved before the dump, so the saved config says what the run does. */
    rc = df_run_resolve_splits(cfg, root, err);
    if (rc == 0) rc = df_run_check_validation_keys(cfg, root, err);
    df_cfg_free(root);
    if (rc == 0) {
        b = (bound_config){cfg->run, cfg->data, cfg->model, cfg->train};
        cfg->text = df_cfg_to_yaml(&df_run_schema, &b);
        rc = check_combinations(cfg, sets, n_sets, err);
    }
    if (rc) {
        df_run_config_free(cfg);
        return -1;
    }
    return 0;
}

void df_run_config_free(df_run_config *cfg) {
    bound_config b = {cfg->run, cfg->data, cfg->model, cfg->train};
    df_cfg_release(&df_run_schema, &b);
    free(cfg->source);
    free(cfg->text);
    memset(cfg, 0, sizeof *cfg);
}
