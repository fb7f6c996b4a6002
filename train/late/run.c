/* run.c: see run.h. */
#include "train/late/run.h"

#include <math.h>

#include "train/late/late_fusion.h"
#include "train/session/session.h"

int df_run_train(const df_run_config *cfg, const df_train_opts *opts, int *stopped, df_error *err) {
    if (cfg->model.fusion == DF_FUSION_LATE) return df_late_train(cfg, opts, stopped, err);
    return df_train_run(cfg, cfg->model.fusion, opts, stopped, err);
}

int df_run_predict(const df_run_config *cfg, const char *checkpoint, int split, int keep_features,
                   df_predictions *out, df_run_data *rd, double *late_weight, df_error *err) {
    double w = NAN;
    if (!late_weight) late_weight = &w;
    *late_weight = NAN;
    if (cfg->model.fusion == DF_FUSION_LATE)
        return df_late_predict(cfg, checkpoint, split, keep_features, out, rd, late_weight, err);
    df_session s;
    if (df_session_open_trained(&s, cfg, cfg->model.fusion, checkpoint, err)) return -1;
    int rc = df_session_predict(&s, split, keep_features, out, err);
    if (rc == 0 && rd) df_session_take_data(&s, rd);
    df_session_close(&s);
    return rc;
}
