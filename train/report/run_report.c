/* run_report.c: the report of one run directory (df_report_run, see report.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/io/files.h"
#include "data/table/csv.h"
#include "train/config/config_tree.h"
#include "train/report/report.h"

enum { MAX_CONFIG_BYTES = 1 << 24 };

/* The run's train.monitor from its saved config, or NULL where the config does not parse or say. */
static char *monitor_of(const char *config, const char *path) {
    df_cfg_node *root;
    df_error err;
    if (df_cfg_parse_string(config, path, 0, NULL, &root, &err)) return NULL;
    const df_cfg_node *m = df_cfg_find(root, "train.monitor");
    char *monitor = m && m->kind == DF_CFG_NODE_SCALAR ? df_strdup(m->text) : NULL;
    df_cfg_free(root);
    return monitor;
}

typedef struct {
    df_csv csv;
    int K, n;
    const char **class_names;
    float *prob;
    int *labels;
} predictions;

/* test_predictions.csv: id, label (a class name), then one probability column per class. */
static int read_predictions(const char *path, predictions *p, df_error *err) {
    memset(p, 0, sizeof *p);
    if (df_csv_read(path, &p->csv, err)) return -1;
    const df_csv *t = &p->csv;
    static const char *const need[2] = {"id", "label"};
    if (df_csv_require_cols(t, need, 2, err)) return -1;
    int lab = df_csv_col(t, "label"), id = df_csv_col(t, "id");
    p->class_names = df_calloc((size_t)t->n_cols, sizeof *p->class_names);
    int *col = df_calloc((size_t)t->n_cols, sizeof *col);
    for (int c = 0; c < t->n_cols; c++)
        if (c != lab && c != id) col[p->K] = c, p->class_names[p->K++] = t->header[c];
    int rc = 0;
    if (p->K < 2) rc = df_fail(err, "%s: %d probability columns, expected one per class (at least 2)", path, p->K);
    p->n = t->n_rows;
    p->prob = df_malloc(sizeof(float) * ((size_t)p->n * (size_t)(p->K > 0 ? p->K : 1) + 1));
    p->labels = df_malloc(sizeof(int) * ((size_t)p->n + 1));
    for (int i = 0; i < p->n && !rc; i++) {
        const char *label = df_csv_get(t, i, lab);
        p->labels[i] = -1;
        for (int k = 0; k < p->K; k++)
            if (!strcmp(label, p->class_names[k])) p->labels[i] = k;
        if (p->labels[i] < 0) rc = df_fail(err, "%s: row %d: label \"%s\" is not one of the class columns", path,
                                           t->lines[i], label);
        for (int k = 0; k < p->K && !rc; k++) {
            const char *v = df_csv_get(t, i, col[k]);
            char *end;
            double x = strtod(v, &end);
            if (end == v || *end || !isfinite(x) || x < 0 || x > 1)
                rc = df_fail(err, "%s: row %d: %s = \"%s\" is not a probability", path, t->lines[i],
                             p->class_names[k], v);
            p->prob[(size_t)i * p->K + k] = (float)x;
        }
    }
    free(col);
    return rc;
}

static void predictions_free(predictions *p) {
    free(p->class_names);
    free(p->prob);
    free(p->labels);
    df_csv_free(&p->csv);
}

static const char *base_name(const char *dir) {
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;
    const char *s = dir + n;
    while (s > dir && s[-1] != '/') s--;
    return s;
}

int df_report_run(const char *run_dir, const char *out_path, int *in_progress, df_error *err) {
    char *cfg_path = df_path_join(run_dir, "config.yaml"), *log_path = df_path_join(run_dir, "metrics.jsonl");
    char *pred_path = df_path_join(run_dir, "test_predictions.csv");
    char *out = out_path ? df_strdup(out_path) : df_path_join(run_dir, "report.html");
    char *config = NULL, *monitor = NULL, *name = df_strdup(base_name(run_dir));
    size_t nl = strlen(name);
    while (nl > 1 && name[nl - 1] == '/') name[--nl] = 0;
    unsigned char *text;
    size_t len;
    int rc = 0, live = access(pred_path, F_OK) != 0;
    if (access(cfg_path, F_OK) == 0) {
        if (df_read_file(cfg_path, MAX_CONFIG_BYTES, &text, &len, err)) rc = -1;
        else config = (char *)text, monitor = monitor_of(config, cfg_path); /* df_read_file ends it with a NUL */
    } else if (access(log_path, F_OK) != 0) {
        rc = df_fail(err, "%s: not a run directory (no config.yaml or metrics.jsonl)", run_dir);
    }
    df_report_curve curve = {0};
    int has_curve = !rc && access(log_path, F_OK) == 0;
    if (has_curve && df_report_read_curve_monitor(log_path, monitor ? monitor : "auc", &curve, err)) rc = -1;
    predictions p = {0};
    if (!rc && !live && read_predictions(pred_path, &p, err)) rc = -1;
    if (!rc) {
        static const char *const no_classes[2] = {"class 0", "class 1"};
        const char *curve_names[1] = {name};
        df_report_model md = {.name = name, .n = p.n, .prob = p.prob, .labels = p.labels,
                              .n_curves = has_curve, .curves = &curve, .curve_names = curve_names};
        char title[600], note[100];
        snprintf(title, sizeof title, "dermfuse run %s", name);
        snprintf(note, sizeof note, "run in progress (epoch %d): this page reloads every 30 s",
                 curve.n ? curve.epoch[curve.n - 1] : 0);
        df_report r = {.title = title, .K = live ? 2 : p.K, .class_names = live ? no_classes : p.class_names,
                       .n_models = 1, .models = &md};
        df_report_extra x = {.single_run = 1, .monitor = monitor ? monitor : "auc", .note = live ? note : NULL,
                             .refresh_s = live ? 30 : 0, .config_text = config};
        rc = df_report_write(&r, &x, out, err);
    }
    if (in_progress) *in_progress = live;
    if (has_curve) df_report_curve_free(&curve);
    predictions_free(&p);
    void *owned[] = {cfg_path, log_path, pred_path, out, config, monitor, name};
    for (size_t i = 0; i < sizeof owned / sizeof *owned; i++) free(owned[i]);
    return rc;
}
