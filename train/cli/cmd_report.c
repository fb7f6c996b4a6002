/* cmd_report.c: `dermfuse report RUN_DIR [--out FILE.html]`: the HTML report of one run (see report.h,
 * df_report_run). */
#include <stdio.h>

#include "train/cli/commands.h"
#include "train/report/report.h"

int df_cmd_report(int argc, char **argv) {
    const char *dir = NULL, *out = NULL;
    df_arg_opt opts[] = {
        DF_OPT_STRING("--out", &out, "FILE.html", "where to write the report", "RUN_DIR/report.html"),
    };
    df_arg_pos pos = {"RUN_DIR", &dir,
                      "a run's folder (run.out_dir/run.name): its metrics.jsonl, test_predictions.csv and "
                      "config.yaml. Learning curves, ROC curve, confusion matrix, calibration diagram and the "
                      "config. Live view: while the run is in progress (no test_predictions.csv yet), only the "
                      "learning curves, noted 'run in progress (epoch N)', in a page that reloads itself every "
                      "30 s; rerun the command to refresh the file (e.g. watch -n 30 dermfuse report RUN_DIR) and keep the page open while training runs"};
    df_args_spec spec = {"report", DF_SUMMARY_REPORT, opts, 1, &pos, 1, DF_EXAMPLES_REPORT};
    int st = df_args_parse(&spec, argc, argv, stdout, stderr);
    if (st) return df_args_exit_status(st);
    df_error err;
    int live = 0;
    if (df_report_run(dir, out, &live, &err)) {
        fprintf(stderr, "dermfuse: %s\n", err.msg);
        return 1;
    }
    printf("wrote %s%s%s\n", out ? out : dir, out ? "" : "/report.html",
           live ? " (run in progress: learning curves only, the page reloads every 30 s)" : "");
    return 0;
}
