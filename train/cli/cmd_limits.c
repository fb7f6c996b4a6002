/* cmd_limits.c: `dermfuse limits`: the bounds dermfuse puts on every input (core/limits.h), one per line:
 * the name that errors quote, the value, its unit and what it bounds. */
#include <stdio.h>

#include "core/limits.h"
#include "train/cli/commands.h"

int df_cmd_limits(int argc, char **argv) {
    df_args_spec spec = {"limits", DF_SUMMARY_LIMITS, NULL, 0, NULL, 0, DF_EXAMPLES_LIMITS};
    int st = df_args_parse(&spec, argc, argv, stdout, stderr);
    if (st) return df_args_exit_status(st);
    printf("%-20s %19s  %-10s %s\n", "limit", "value", "unit", "bounds");
    for (const df_limit *l = df_limits; l->name; l++)
        printf("%-20s %19.0f  %-10s %s\n", l->name, l->value, l->unit, l->what);
    printf("\nEach is an error naming the file, the limit and its value when an input reaches it.\n");
    return 0;
}
