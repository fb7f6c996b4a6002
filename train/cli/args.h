/* args.h: the one command-line parser of dermfuse. A command declares its options in a table (one df_arg_opt
 * per option), its positional arguments and a one-line summary, in a df_args_spec; df_args_parse fills the
 * destinations, writes --help text made from the table, and reports bad usage naming the option and what
 * was expected. It never exits: the caller turns its status into the command's exit status.
 *
 * Example (destinations are the caller's variables; the table is usually built on the caller's stack; the
 * DF_OPT_* macros below check each destination's type):
 *     int threads = 0, quiet = 0;
 *     const char *config = NULL;
 *     df_arg_opt opts[] = {
 *         DF_OPT_INT("--threads", &threads, "N", "OpenMP threads", "all cores", 1, 1024),
 *         DF_OPT_FLAG("--quiet", &quiet, "print only the epoch lines"),
 *     };
 *     df_arg_pos pos[] = {{"CONFIG", &config, "the run's YAML config"}};
 *     df_args_spec spec = {"train", "train a model", opts, 2, pos, 1, "dermfuse train configs/x.yaml\n"};
 *     int st = df_args_parse(&spec, argc, argv, stdout, stderr);   (DF_ARGS_OK, _HELP or _BAD)
 *
 * Accepted forms: `--opt value` and `--opt=value` (a value may begin with '-'); flags take no value;
 * `--help` or `-h` anywhere prints the help to `out` and returns DF_ARGS_HELP. */
#ifndef DF_ARGS_H
#define DF_ARGS_H

#include <stdio.h>

#define DF_ARG_LIST_MAX 64

typedef enum {
    DF_ARG_FLAG,    /* int *: set to 1 */
    DF_ARG_STRING,  /* const char **: a non-empty string */
    DF_ARG_CHOICE,  /* const char **: one of `choices` */
    DF_ARG_INT,     /* int *: an integer in lo..hi */
    DF_ARG_U64,     /* unsigned long long *: a non-negative integer */
    DF_ARG_NUMBER,  /* double *: a number in lo..hi */
    DF_ARG_STRINGS, /* df_arg_list *: repeatable, each occurrence appends (at most DF_ARG_LIST_MAX) */
} df_arg_kind;

typedef struct {
    const char *v[DF_ARG_LIST_MAX];
    int n;
} df_arg_list;

typedef struct {
    const char *name;    /* "--threads" */
    df_arg_kind kind;
    void *dest;
    const char *metavar; /* "N" in `--threads N`; NULL for flags */
    const char *help;    /* one line */
    const char *def;     /* the default as shown in --help, or NULL */
    double lo, hi;       /* DF_ARG_INT, DF_ARG_NUMBER: the accepted range */
    const char *const *choices; /* DF_ARG_CHOICE: NULL-terminated */
    int required;        /* bad usage when absent */
    int *given;          /* when non-NULL, set to 1 when the option appears */
} df_arg_opt;

/* Table rows, one per kind: name, destination, metavar, help, default shown in --help (or NULL), then the
 * range (INT, NUMBER) or the NULL-terminated choices (CHOICE). */
#define DF_ARG_DEST_(d, type) (1 ? (d) : (type *)0)
#define DF_OPT_FLAG(nm, d, hlp) {.name = nm, .kind = DF_ARG_FLAG, .dest = DF_ARG_DEST_(d, int), .help = hlp}
#define DF_OPT_STRING(nm, d, mv, hlp, df)                                                                        \
    {.name = nm, .kind = DF_ARG_STRING, .dest = DF_ARG_DEST_(d, const char *), .metavar = mv, .help = hlp, .def = df}
#define DF_OPT_STRINGS(nm, d, mv, hlp)                                                                           \
    {.name = nm, .kind = DF_ARG_STRINGS, .dest = DF_ARG_DEST_(d, df_arg_list), .metavar = mv, .help = hlp}
#define DF_OPT_CHOICE(nm, d, mv, hlp, df, ch)                                                                    \
    {.name = nm, .kind = DF_ARG_CHOICE, .dest = DF_ARG_DEST_(d, const char *), .metavar = mv, .help = hlp,         \
     .def = df, .choices = ch}
#define DF_OPT_INT(nm, d, mv, hlp, df, l, h)                                                                     \
    {.name = nm, .kind = DF_ARG_INT, .dest = DF_ARG_DEST_(d, int), .metavar = mv, .help = hlp, .def = df,         \
     .lo = l, .hi = h}
#define DF_OPT_U64(nm, d, mv, hlp, df)                                                                           \
    {.name = nm, .kind = DF_ARG_U64, .dest = DF_ARG_DEST_(d, unsigned long long), .metavar = mv, .help = hlp,     \
     .def = df}
#define DF_OPT_NUMBER(nm, d, mv, hlp, df, l, h)                                                                  \
    {.name = nm, .kind = DF_ARG_NUMBER, .dest = DF_ARG_DEST_(d, double), .metavar = mv, .help = hlp, .def = df,   \
     .lo = l, .hi = h}
/* A string option that must be given. */
#define DF_OPT_REQUIRED(nm, d, mv, hlp)                                                                          \
    {.name = nm, .kind = DF_ARG_STRING, .dest = DF_ARG_DEST_(d, const char *), .metavar = mv, .help = hlp,         \
     .required = 1}

typedef struct {
    const char *name;  /* "CONFIG" */
    const char **dest;
    const char *help;
} df_arg_pos;

typedef struct {
    const char *command; /* "train": usage lines read `dermfuse train ...` */
    const char *summary;
    const df_arg_opt *opts;
    int n_opts;
    const df_arg_pos *pos; /* every positional argument is required */
    int n_pos;
    /* NULL, or lines printed under "examples:" at the end of --help, each ending in '\n': command lines that
     * run as written (after the quick start's setup), each optionally followed by "  # what it does". */
    const char *examples;
} df_args_spec;

enum { DF_ARGS_OK = 0, DF_ARGS_HELP = 1, DF_ARGS_BAD = 2 };

/* Parses argv[1..argc-1] (argv[0] is the command's name). Destinations of absent options keep their values.
 * Returns DF_ARGS_OK; DF_ARGS_HELP after writing the help to out; DF_ARGS_BAD after writing a message and
 * the usage line to err. */
int df_args_parse(const df_args_spec *s, int argc, char **argv, FILE *out, FILE *err);

/* The usage line (`usage: dermfuse train CONFIG [options]`) and the full help: usage, summary, positional
 * arguments and options (help text wrapped at 100 columns), then the examples. */
void df_args_usage(const df_args_spec *s, FILE *f);
void df_args_help(const df_args_spec *s, FILE *f);

/* The exit status of a parse status: 0 after --help, 2 after bad usage. */
static inline int df_args_exit_status(int st) { return st == DF_ARGS_BAD ? 2 : 0; }

#endif
