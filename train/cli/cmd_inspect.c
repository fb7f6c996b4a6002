/* cmd_inspect.c: `dermfuse inspect FILE.safetensors`: the tensors of a checkpoint or safetensors file, with
 * their shapes and statistics, and its metadata. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/io/safetensors.h"
#include "train/cli/commands.h"

static void print_tensors(const df_st_file *f) {
    size_t total = 0;
    for (int i = 0; i < df_st_count(f); i++) {
        const df_st_tensor *t = df_st_at(f, i);
        char shape[96];
        double sum = 0, sumsq = 0;
        for (size_t k = 0; k < t->count; k++) {
            sum += t->data[k];
            sumsq += (double)t->data[k] * t->data[k];
        }
        double mean = t->count ? sum / t->count : 0;
        printf("  %-48s %-5s %-20s mean %+.4g  rms %.4g\n", t->name, t->dtype,
               df_st_shape_str(t->rank, t->shape, shape, sizeof shape), mean,
               t->count ? sqrt(sumsq / t->count) : 0.0);
        total += t->count;
    }
    printf("%zu values; metadata:\n", total);
}

int df_cmd_inspect(int argc, char **argv) {
    const char *path = NULL;
    df_arg_pos pos = {"FILE.safetensors", &path, "a checkpoint or any safetensors file"};
    df_args_spec spec = {"inspect", DF_SUMMARY_INSPECT, NULL, 0, &pos, 1, DF_EXAMPLES_INSPECT};
    int st = df_args_parse(&spec, argc, argv, stdout, stderr);
    if (st) return df_args_exit_status(st);
    df_error err;
    df_st_file *f;
    if (df_st_open(path, &f, &err)) {
        fprintf(stderr, "dermfuse: %s\n", err.msg);
        return 1;
    }
    printf("%s: %d tensors\n", path, df_st_count(f));
    print_tensors(f);
    for (int i = 0; i < df_st_meta_count(f); i++) {
        const char *k, *v;
        df_st_meta_at(f, i, &k, &v);
        if (!strcmp(k, "df.config")) {
            printf("  %s: (%zu bytes of YAML; the run's resolved config)\n", k, strlen(v));
        } else {
            printf("  %s: %.300s%s\n", k, v, strlen(v) > 300 ? " ..." : "");
        }
    }
    df_st_close(f);
    return 0;
}
