/* fuzz_study.c: a study file as `dermfuse compare STUDY.yaml --set study.k=v` reads it (train/study).
 *
 * Input: f0.yaml (the study file), f1.yaml, ... (run configs and their bases) and --set overrides, in
 * fuzz_util.h's "#@file" / "#@set" format. For each input, df_study_load; for a study that loads, the run
 * config of every model entry with the first two replicates (df_study_run_config: the study's sets, transfer
 * sets, model, seed, fold and run name applied to its config file) and, for late fusion, the config a reused run is
 * checked against (df_study_run_config_as), as the study builds them before training.
 * The custom mutator writes YAML from the study schema for f0 and from the run schema for the other files
 * (fuzz_yaml.h); list items of study.sets are "key=value" overrides of run-config keys. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "fuzz_yaml.h"
#include "train/config/config_schema.h"
#include "train/config/run_config.h"
#include "train/study/study.h"

static const fuzz_yaml_schemas schemas = {&df_study_schema, &df_run_schema, &df_run_schema};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_reset();
    fuzz_parts p;
    fuzz_split(data, size, &p);
    const char *path = fuzz_write_parts(&p, ".yaml");
    df_study_cfg st;
    df_error err;
    if (df_study_load(path, p.set, p.n_sets, &st, &err) == 0) {
        for (int m = 0; m < st.n_models; m++)
            for (int s = 0; s < df_study_n_reps(&st) && s < 2; s++) {
                df_run_config cfg;
                if (df_study_run_config(&st, st.models[m], s, &cfg, &err) == 0) df_run_config_free(&cfg);
                else fuzz_note("df_study_run_config", err.msg);
                if (strcmp(st.models[m], "late") == 0 &&
                    df_study_run_config_as(&st, "image", DF_FUSION_LATE, "late", s, &cfg, &err) == 0)
                    df_run_config_free(&cfg);
            }
        df_study_release(&st);
    } else {
        fuzz_note("df_study_load", err.msg);
    }
    fuzz_parts_free(&p);
    return 0;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed) {
    return fuzz_yaml_mutate(&schemas, data, size, max_size, seed);
}
