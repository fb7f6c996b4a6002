/* model_config.h: the model section of a run config turned into a df_model_spec. */
#ifndef DF_MODEL_CONFIG_H
#define DF_MODEL_CONFIG_H

#include "train/model/model.h"
#include "train/config/run_config.h"

/* fusion overrides cfg->model.fusion (late fusion trains an image and a meta model). class_weights (may be
 * NULL) must outlive the spec. */
int df_model_spec_from_config(const df_run_config *cfg, df_fusion fusion, int n_classes, int n_views,
                              int meta_dim, const float *class_weights, df_model_spec *spec, df_error *err);

#endif
