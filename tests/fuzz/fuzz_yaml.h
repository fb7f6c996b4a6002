/* fuzz_yaml.h: structure-aware YAML for the config and study targets.
 *
 * Random bytes rarely make a config that gets past the YAML parser, let alone through the schema binder. This
 * writes whole multi-file inputs (fuzz_util.h's "#@file" / "#@set" format) from a schema: mappings with the
 * schema's keys, values mostly of the declared type and sometimes of another shape, unknown keys holding
 * random trees (mappings and sequences nested to a random depth, block and flow style), anchors and aliases
 * (also of whole sections), a top-level `base:` naming other files of the input (one or a list, the same file
 * several times, itself or an earlier file so cycles occur too), and --set overrides of the schema's keys.
 * Nesting stays shallow (at most a dozen levels): deep nesting is a class of its own. */
#ifndef DF_FUZZ_YAML_H
#define DF_FUZZ_YAML_H

#include <stddef.h>
#include <stdint.h>

#include "fuzz_util.h"
#include "train/config/config_schema.h"

typedef struct {
    const df_cfg_section *first;  /* schema of file 0 */
    const df_cfg_section *others; /* schema of the other files (their bases) */
    const df_cfg_section *sets;   /* schema the --set overrides and "key=value" list items address */
} fuzz_yaml_schemas;

/* A whole input of 1..FUZZ_MAX_FILES files plus overrides into out (at most max bytes); returns its length,
 * 0 if it did not fit. */
size_t fuzz_yaml_input(fuzz_rng *r, const fuzz_yaml_schemas *s, uint8_t *out, size_t max);

/* One file for schema (file index self of n_files) appended to b. */
void fuzz_yaml_file(fuzz_rng *r, const fuzz_yaml_schemas *s, const df_cfg_section *schema, int self, int n_files,
                    fuzz_buf *b);

/* The mutator both YAML targets use: a fresh generated input, one file of the input replaced by a generated
 * one, an override appended, or libFuzzer's byte-level mutation. */
size_t fuzz_yaml_mutate(const fuzz_yaml_schemas *s, uint8_t *data, size_t size, size_t max, unsigned seed);

#endif
