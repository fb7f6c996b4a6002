/* limits.c: the table of input limits that `dermfuse limits` prints (see limits.h). */
#include "core/limits.h"

const df_limit df_limits[] = {
    {"config.bytes", DF_LIMIT_CONFIG_BYTES, "bytes", "size of one config or study file"},
    {"config.nodes", DF_LIMIT_CONFIG_NODES, "values", "values in one config document, aliases expanded"},
    {"config.depth", DF_LIMIT_CONFIG_DEPTH, "levels", "mappings and lists nested in one another"},
    {"config.base_depth", DF_LIMIT_CONFIG_BASE_DEPTH, "files", "chain of base: files including base: files"},
    {"config.base_files", DF_LIMIT_CONFIG_BASE_FILES, "files", "base files read for one config, repeats counted"},
    {"json.depth", DF_LIMIT_JSON_DEPTH, "levels", "nesting in a JSON document (checkpoint, encoder)"},
    {"csv.bytes", (double)DF_LIMIT_CSV_BYTES, "bytes", "size of one CSV file"},
    {"image.bytes", (double)DF_LIMIT_IMAGE_BYTES, "bytes", "size of one JPEG or PNG file"},
    {"image.side", DF_LIMIT_IMAGE_SIDE, "pixels", "width or height of one image"},
    {"image.pixels", (double)DF_LIMIT_IMAGE_PIXELS, "pixels", "width x height of one image"},
    {"safetensors.bytes", (double)DF_LIMIT_SAFETENSORS_BYTES, "bytes", "size of a checkpoint or weights file"},
    {"safetensors.header", DF_LIMIT_SAFETENSORS_HEADER, "bytes", "JSON header of a safetensors file"},
    {"safetensors.rank", DF_LIMIT_SAFETENSORS_RANK, "dimensions", "dimensions of one stored tensor"},
    {"safetensors.tensors", DF_LIMIT_SAFETENSORS_TENSORS, "tensors", "tensors in one safetensors file"},
    {"checkpoint.epochs", DF_LIMIT_CHECKPOINT_EPOCHS, "epochs", "train.epochs, and a checkpoint's epoch"},
    {"checkpoint.weight", DF_LIMIT_WEIGHT_MAGNITUDE, "", "magnitude of a loaded weight or buffer"},
    {"classes", DF_LIMIT_CLASSES, "classes", "classes of one data set"},
    {"study.models", DF_LIMIT_STUDY_MODELS, "models", "models compared in one study"},
    {"study.seeds", DF_LIMIT_STUDY_SEEDS, "seeds", "seeds per model in one study"},
    {0, 0, 0, 0},
};
