/* pretrained.h: initialising a model from a safetensors file, by name.
 *
 * Formats (model.pretrained_format):
 *   dermfuse     a checkpoint or weights file of an earlier dermfuse run: tensors are matched by their own
 *                dotted names (e.g. a `meta` run's "meta.fc1.weight" initialises the metadata branch of a
 *                fusion model, an `image` run's "image.*" its backbone).
 *   torchvision  a torchvision ResNet state dict saved with safetensors (drop the integer
 *                `num_batches_tracked` entries first). Names map onto the `resnet` backbone of every image
 *                view ("image." or "image0."/"image1."):
 *                  conv1 -> stem.conv, bn1 -> stem.bn,
 *                  layer{s}.{b}.conv1/bn1 -> stage{s}.block{b+1}.a.conv/.a.bn,
 *                  layer{s}.{b}.conv2/bn2 -> stage{s}.block{b+1}.b.conv/.b.bn,
 *                  layer{s}.{b}.downsample.0/.1 -> stage{s}.block{b+1}.down.conv/.down.bn,
 *                and convolution weights are permuted from (Cout, Cin, KH, KW) to dermfuse's (Cout, KH, KW, Cin).
 *                The classifier (fc.*) is not used: the task's head is new.
 * Every model tensor found in the file must have the same shape, or loading fails naming both shapes; a
 * tensor not in the file keeps its initialisation (a new head, say); a file that matches no tensor at all is
 * an error. `include` (n_include prefixes such as "image" or "meta"; none: everything) restricts loading to
 * one branch, e.g. an image run's backbone into a fusion model whose head has another shape. Loaded tensors are marked in `loaded` (one flag per g->tensors entry), which the trainer uses to
 * freeze them for model.freeze_epochs epochs. */
#ifndef DF_PRETRAINED_H
#define DF_PRETRAINED_H

#include "core/graph.h"

/* model.pretrained_format; df_weights_format_names holds the names in this order, NULL-terminated. */
typedef enum { DF_WEIGHTS_DERMFUSE, DF_WEIGHTS_TORCHVISION } df_weights_format;
extern const char *const df_weights_format_names[]; /* "dermfuse", "torchvision" */

int df_pretrained_load(df_graph *g, const char *path, df_weights_format format, const char *const *include,
                       int n_include, unsigned char *loaded, int *n_loaded, df_error *err);

/* Maps a torchvision ResNet name ("layer2.0.downsample.1.running_var") to dermfuse's name under `prefix`
 * ("image.stage2.block1.down.bn.running_var"). Returns 0, or -1 for a name with no counterpart (fc.*). */
int df_torchvision_name(const char *tv, const char *prefix, char *out, size_t size);

#endif
