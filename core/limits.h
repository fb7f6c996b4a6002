/* limits.h: every bound dermfuse puts on what it reads, in one place.
 *
 * Inputs may be hostile: a config nested thousands of levels deep, a CSV of a billion columns, a PNG that
 * claims to be a million pixels wide, a checkpoint that says it is at epoch 2^62. Each size, depth and count
 * read from a file has a limit here; the reader that meets it fails with a message naming the file (and the
 * line or row), the limit's value and what it bounds. Nothing is truncated or clamped silently.
 *
 * The values are generous for real work (ISIC-DICM-17K's CSVs are ~17k rows and ~20 columns; configs nest
 * three levels) and small enough that reaching one costs seconds and bounded memory, never a crash or a hang.
 * Module headers give some of them local names (DF_CSV_MAX_FILE_BYTES is DF_LIMIT_CSV_BYTES); the values
 * live only here. `dermfuse limits` prints the table below, and the README's table is checked against it. */
#ifndef DF_LIMITS_H
#define DF_LIMITS_H

#include <stddef.h>

/* configs (YAML files, --set values, study files) */
#define DF_LIMIT_CONFIG_BYTES (16u << 20)  /* one config file */
#define DF_LIMIT_CONFIG_NODES 100000       /* values in one document, aliases expanded */
#define DF_LIMIT_CONFIG_DEPTH 64           /* mappings and lists nested in one another */
#define DF_LIMIT_CONFIG_BASE_DEPTH 32      /* base: files including base: files */
#define DF_LIMIT_CONFIG_BASE_FILES 256     /* base files read for one config, each inclusion counted */


/* JSON (checkpoint headers, encoders, safetensors headers) */
#define DF_LIMIT_JSON_DEPTH 64

/* tables: far above what the supported datasets need (the whole ISIC Archive is about 0.5 M rows of 30
 * columns with fields under 1 KiB); they bound the reader's memory (about 16 bytes per field besides the text) */
#define DF_LIMIT_CSV_BYTES ((size_t)1 << 30)
#define DF_LIMIT_CSV_ROWS (1 << 22)                /* data records, the header not counted */
#define DF_LIMIT_CSV_COLUMNS 4096                  /* fields in one record */
#define DF_LIMIT_CSV_CELLS ((size_t)1 << 25)       /* fields in the whole file, header included */
#define DF_LIMIT_CSV_FIELD_BYTES ((size_t)1 << 20) /* one field's text, quotes removed */
#define DF_LIMIT_CSV_LINE_BYTES ((size_t)1 << 22)  /* one physical line */
#define DF_LIMIT_META_MAGNITUDE 1e15               /* |value| of a numeric metadata field without a known range */

/* images */
#define DF_LIMIT_IMAGE_BYTES ((size_t)1 << 30)
#define DF_LIMIT_IMAGE_SIDE 16384
#define DF_LIMIT_IMAGE_PIXELS 100000000LL

/* tensors and checkpoints */
#define DF_LIMIT_SAFETENSORS_BYTES ((size_t)1 << 36) /* read whole: 64 GiB */
#define DF_LIMIT_SAFETENSORS_HEADER 100000000 /* bytes; the Python reader's limit too */
#define DF_LIMIT_SAFETENSORS_RANK 8
#define DF_LIMIT_SAFETENSORS_TENSORS 100000
#define DF_LIMIT_CHECKPOINT_EPOCHS 100000    /* train.epochs, and the epoch a checkpoint may say it is at */
#define DF_LIMIT_WEIGHT_MAGNITUDE 1e6        /* |value| of a loaded weight or buffer */

/* models and studies */
#define DF_LIMIT_CLASSES 64
#define DF_LIMIT_STUDY_MODELS 16
#define DF_LIMIT_STUDY_SEEDS 16
#define DF_LIMIT_STUDY_REPLICATES 64 /* seeds x folds */

/* One row of the table `dermfuse limits` prints. */
typedef struct {
    const char *name;  /* as the README's table names it */
    double value;
    const char *unit;  /* "bytes", "levels", "files", ... */
    const char *what;  /* what it bounds */
} df_limit;

/* The table, ended by a row whose name is NULL. */
extern const df_limit df_limits[];

#endif
