/* cmd_export_init.c: `dermfuse export-init CONFIG [--out FILE]`: the weights `dermfuse train CONFIG` starts
 * from, before its first step (drawn from run.seed by model.init, then model.pretrained loaded over them), as
 * a checkpoint-layout safetensors file without optimizer moments. A PyTorch twin of the model loads it to
 * start from the same point; `model.pretrained` loads it back. Tensor names are the checkpoint's
 * (`image.stage1.conv.weight`); convolution weights are (out, kh, kw, in), where PyTorch's are (out, in, kh,
 * kw): permute(0, 3, 1, 2). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "train/cli/commands.h"
#include "train/session/checkpoint.h"
#include "train/session/session.h"

static int export_init(const df_run_config *cfg, const char *out, df_error *err) {
    if (cfg->model.fusion == DF_FUSION_LATE)
        return df_fail(err, "model.fusion is late: two models trained apart; export each with model.fusion "
                       "image and meta");
    df_session s;
    if (df_session_open(&s, cfg, cfg->model.fusion, DF_SESSION_TRAIN, 1, err)) return -1;
    df_train_state start = {.seed = (uint64_t)cfg->run.seed, .best_metric = NAN, .best_epoch = -1};
    df_checkpoint_info info = {cfg->text, s.encoder_json, s.fingerprint, s.classes_json, s.input_json};
    int rc = df_checkpoint_save(out, s.model->g, NULL, &start, &info, err);
    if (rc == 0)
        printf("wrote the initial weights of %s (%d tensors, %zu parameters, seed %ld) to %s\n",
               df_fusion_name(cfg->model.fusion), s.model->g->n_tensors, s.model->g->n_param_floats, cfg->run.seed,
               out);
    df_session_close(&s);
    return rc;
}

int df_cmd_export_init(int argc, char **argv) {
    df_cli cli;
    memset(&cli, 0, sizeof cli);
    const char *out = "init.safetensors";
    df_arg_opt opts[] = {
        DF_OPT_STRING("--out", &out, "FILE", "where to write the weights (safetensors)", "init.safetensors"),
        DF_OPT_STRINGS("--set", &cli.sets, "KEY=VALUE", "override a config key"),
    };
    df_arg_pos pos = {"CONFIG", &cli.config, "the run's YAML config"};
    df_args_spec spec = {"export-init", DF_SUMMARY_EXPORT_INIT, opts, sizeof opts / sizeof *opts,
                         &pos, 1, DF_EXAMPLES_EXPORT_INIT};
    int st = df_args_parse(&spec, argc, argv, stdout, stderr);
    if (st) return df_args_exit_status(st);
    df_run_config cfg;
    if (df_cli_load_config(&cli, &cfg)) return 1;
    df_error err;
    int rc = export_init(&cfg, out, &err);
    if (rc) fprintf(stderr, "dermfuse export-init: %s: %s\n", cli.config, err.msg);
    df_run_config_free(&cfg);
    return rc ? 1 : 0;
}
