/* safetensors.h: checkpoints and weight files in the safetensors format.
 *
 * Layout (the format as the Python `safetensors` package reads it): an 8-byte little-endian header length N;
 * N bytes of JSON mapping each tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets into
 * the data buffer that follows the header) plus an optional "__metadata__" object of string values; then the
 * data buffer, tensors back to back.
 *
 * Writing promises:
 * - Deterministic bytes: tensors and metadata are sorted by name, the JSON is compact, so the same content
 *   always gives a byte-identical file (exact-resume tests compare files).
 * - Aligned data: the header is padded with spaces so the data starts at a multiple of 8.
 * - Atomic replacement (core/io/files.h): the file is written to "<path>.tmp.<pid>", flushed and fsync'ed,
 *   renamed over path, and the directory is fsync'ed; a crash leaves the old file or the new one, never half
 *   of one.
 * - Integrity: metadata key "df.checksum" (reserved) holds "crc32:XXXXXXXX", the CRC-32 (the zlib one) of
 *   the header with those 8 hex digits set to '0', followed by the data buffer. A tool that rewrites the
 *   file must drop the key.
 *
 * Reading validates everything before returning: sizes, the JSON, dtypes, shapes against offsets, offsets
 * that tile the buffer exactly, and the checksum when present (files from other tools have none). F32 is
 * read as is; F16 and BF16 are converted to float32 (for weights exported from PyTorch); other dtypes are
 * refused. Every error message starts with the file's path. Shapes have rank 0..DF_ST_MAX_RANK; a rank-0
 * tensor holds one value. Data is little-endian float32, as on every host dermfuse builds for. */
#ifndef DF_SAFETENSORS_H
#define DF_SAFETENSORS_H

#include "core/limits.h"

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define DF_ST_MAX_RANK DF_LIMIT_SAFETENSORS_RANK
#define DF_ST_MAX_HEADER DF_LIMIT_SAFETENSORS_HEADER
#define DF_ST_MAX_FILE_BYTES DF_LIMIT_SAFETENSORS_BYTES
#define DF_ST_CHECKSUM_KEY "df.checksum"

/* ---- writing ---- */

typedef struct df_st_writer df_st_writer;

df_st_writer *df_st_writer_new(void);
void df_st_writer_free(df_st_writer *w);

/* Adds a float32 tensor. data (count = product of shape) is borrowed: it must stay valid until df_st_write.
 * Fails on an empty name or "__metadata__", a name that is not UTF-8, rank > DF_ST_MAX_RANK, a negative
 * dimension. Duplicate names are reported by df_st_write. */
int df_st_add(df_st_writer *w, const char *name, int rank, const int64_t *shape, const float *data,
              df_error *err);
/* Adds a metadata entry (both copied). Fails on the reserved key or on text that is not UTF-8. */
int df_st_add_meta(df_st_writer *w, const char *key, const char *value, df_error *err);
/* Writes the file atomically (see above). Fails, naming path, on duplicate tensor or metadata names or any
 * I/O error; an existing file at path is then left untouched and no temporary file remains. */
int df_st_write(const df_st_writer *w, const char *path, df_error *err);

/* ---- reading ---- */

typedef struct {
    const char *name;
    const char *dtype; /* as stored: "F32", "F16" or "BF16" (data is float32 in every case) */
    int rank;
    int64_t shape[DF_ST_MAX_RANK];
    size_t count;      /* elements: product of shape (1 for rank 0) */
    const float *data; /* count floats, 4-byte aligned, valid until df_st_close */
} df_st_tensor;

typedef struct df_st_file df_st_file;

int df_st_open(const char *path, df_st_file **out, df_error *err);
void df_st_close(df_st_file *f);

const char *df_st_path(const df_st_file *f);
/* Tensors in data-buffer order, i in [0, df_st_count). */
int df_st_count(const df_st_file *f);
const df_st_tensor *df_st_at(const df_st_file *f, int i);
/* The tensor with this name, or NULL. */
const df_st_tensor *df_st_find(const df_st_file *f, const char *name);

/* Metadata value for key, or NULL. Values may contain NUL only if written by another tool; dermfuse's own
 * values are C strings. */
const char *df_st_meta(const df_st_file *f, const char *key);
int df_st_meta_count(const df_st_file *f);
/* The i-th metadata entry in key order. */
void df_st_meta_at(const df_st_file *f, int i, const char **key, const char **value);
/* 1 if the file carried df.checksum (and it matched: a mismatch fails df_st_open), else 0. */
int df_st_has_checksum(const df_st_file *f);

/* Copies tensor name into dst (product of shape floats) after checking it exists ("checkpoint has no tensor
 * 'x'") and has exactly this shape (the message names both). */
int df_st_copy_into(const df_st_file *f, const char *name, int rank, const int64_t *shape, float *dst,
                    df_error *err);

/* Writes "[2, 3]" (rank 0: "[]") into buf and returns buf. */
const char *df_st_shape_str(int rank, const int64_t *shape, char *buf, size_t size);

/* CRC-32 (zlib's polynomial, reflected, initial and final xor 0xffffffff); chain by passing the last result
 * as crc, starting from 0. */
uint32_t df_st_crc32(uint32_t crc, const void *data, size_t n);

#endif
