/* fuzz_st.h: safetensors files for the safetensors and checkpoint targets' mutators.
 *
 * Random bytes almost never keep a header length, a JSON header whose shapes match its data_offsets, and a
 * df.checksum all consistent, so the reader's deeper checks (tiling, dtype conversion, the checksum itself,
 * and a checkpoint's metadata and tensors) would stay out of reach. Here a file is held as editable parts,
 * changed one structural choice at a time (a dtype, a dimension, an offset, a name, an entry more or less,
 * a metadata value), laid out again with sizes that fit when asked, and written with a checksum that
 * matches (or, sometimes, does not). fuzz_st_fix repairs the header length and checksum after a byte-level
 * mutation, so that mutations inside the header or the data are judged by the checks after them. */
#ifndef DF_FUZZ_ST_H
#define DF_FUZZ_ST_H

#include <stddef.h>
#include <stdint.h>

#include "fuzz_util.h"

#define FST_MAX_TENSORS 48
#define FST_MAX_META 12
#define FST_MAX_RANK 10

typedef struct {
    char *name;
    char dtype[16];
    int rank;
    int64_t shape[FST_MAX_RANK];
    uint64_t begin, end;
} fst_tensor;

typedef struct {
    char *key, *value; /* value: a JSON string's content, or raw JSON when raw is set */
    int raw;
} fst_meta;

typedef struct {
    fst_tensor t[FST_MAX_TENSORS];
    int nt;
    fst_meta m[FST_MAX_META];
    int nm;
    int has_meta;      /* write a __metadata__ object (possibly empty) */
    int checksum;      /* write df.checksum: 0 no, 1 matching, 2 not matching */
    int pad;           /* spaces after the JSON (the writer pads to a multiple of 8 besides) */
    unsigned char *data;
    size_t data_len;
} fst_file;

/* Reads the parts of a file whose header is JSON of the usual shape; 0, or -1 (f left empty). An existing
 * df.checksum sets f->checksum = 1 and is not kept as a metadata entry. */
int fst_parse(const uint8_t *buf, size_t len, fst_file *f);
/* A random file: 0..6 tensors of random dtype and shape, laid out, sometimes metadata and a checksum. */
void fst_random(fst_file *f, fuzz_rng *r);
/* One random structural change. */
void fst_perturb(fst_file *f, fuzz_rng *r);
/* Lays the tensors out back to back in their order, sizes from dtype and shape (F32 4 bytes, F16 and BF16 2,
 * other dtypes 4), keeping old data bytes where they were and filling new ones from r. Shapes too large
 * for a small file are left as they are. */
void fst_relayout(fst_file *f, fuzz_rng *r);
/* The whole file into out: length, header, padding, data; the checksum as f->checksum says. */
void fst_write(const fst_file *f, fuzz_buf *out);
void fst_free(fst_file *f);
void fst_set_meta(fst_file *f, const char *key, const char *value, int raw);
const char *fst_get_meta(const fst_file *f, const char *key);

/* Byte-level repair, in place: the header length becomes the end of the JSON object that starts the header
 * (plus the spaces after it) when that end can be found, and a df.checksum is recomputed. */
void fuzz_st_fix(uint8_t *data, size_t size);

/* The mutator of both targets: regenerate (when gen is non-NULL, 1 in 10), perturb the parsed file, or
 * mutate bytes and repair them. */
size_t fuzz_st_mutate(uint8_t *data, size_t size, size_t max, unsigned seed, void (*gen)(fst_file *, fuzz_rng *),
                      void (*perturb)(fst_file *, fuzz_rng *));

#endif
