/* run_files.c: see run_files.h. */
#include "train/session/run_files.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/csv.h"

int df_make_dirs(const char *path, df_error *err) {
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) return df_fail(err, "path too long: %s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0777) && errno != EEXIST) return df_fail(err, "cannot create folder %s: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0777) && errno != EEXIST) return df_fail(err, "cannot create folder %s: %s", buf, strerror(errno));
    return 0;
}

int df_write_file_atomic(const char *path, const char *text, size_t len, df_error *err) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) return df_fail(err, "cannot write %s: %s", tmp, strerror(errno));
    int ok = fwrite(text, 1, len, f) == len;
    ok &= fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok &= fclose(f) == 0;
    if (!ok || rename(tmp, path)) {
        int e = errno;
        unlink(tmp);
        return df_fail(err, "cannot write %s: %s", path, strerror(e));
    }
    return 0;
}

static char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = df_malloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n - 1 == 0) buf = df_realloc(buf, cap *= 2);
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Keeps the lines of a log whose epoch (first field of the CSV, "epoch" member of the JSON) is below epoch;
 * the CSV header line is kept. */
static int truncate_log(const char *path, int epoch, int csv, df_error *err) {
    size_t len;
    char *text = read_all(path, &len);
    if (!text) return 0;
    char *out = df_malloc(len + 1);
    size_t n = 0;
    for (char *line = text; *line;) {
        char *end = strchr(line, '\n');
        size_t l = end ? (size_t)(end - line + 1) : strlen(line);
        int e = -1;
        if (csv) {
            if (line != text) e = atoi(line) - 1;
        } else {
            const char *k = strstr(line, "\"epoch\":");
            e = k ? atoi(k + 8) - 1 : -1;
        }
        if (e < epoch) {
            memcpy(out + n, line, l);
            n += l;
        }
        line += l;
    }
    int rc = df_write_file_atomic(path, out, n, err);
    free(text);
    free(out);
    return rc;
}

/* Drops log lines of epochs >= epoch (a resumed run redoes them). */
static int truncate_logs(const char *dir, int epoch, df_error *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
    if (truncate_log(path, epoch, 0, err)) return -1;
    snprintf(path, sizeof path, "%s/metrics.csv", dir);
    return truncate_log(path, epoch, 1, err);
}

int df_run_files_begin(const char *dir, int resume, df_error *err) {
    if (df_make_dirs(dir, err)) return -1;
    char path[4200];
    struct stat st;
    snprintf(path, sizeof path, "%s/last.safetensors", dir);
    if (!resume && stat(path, &st) == 0)
        return df_fail(err, "%s already holds a run; resume it with --resume, or choose another run.name / "
                       "run.out_dir", dir);
    return 0;
}

int df_run_files_start(const char *dir, const df_run_config *cfg, int epoch, df_error *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/config.yaml", dir);
    if (df_write_file_atomic(path, cfg->text, strlen(cfg->text), err)) return -1;
    return truncate_logs(dir, epoch, err);
}

/* Appends one line to a file by rewriting it whole through a temporary file. */
static int append_line(const char *path, const char *header, const char *line, df_error *err) {
    size_t len = 0;
    char *old = read_all(path, &len);
    size_t hl = old || !header ? 0 : strlen(header), ll = strlen(line);
    char *text = df_malloc(len + hl + ll + 1);
    if (old) memcpy(text, old, len);
    if (hl) memcpy(text + len, header, hl);
    memcpy(text + len + hl, line, ll);
    int rc = df_write_file_atomic(path, text, len + hl + ll, err);
    free(old);
    free(text);
    return rc;
}

/* A number for JSON: non-finite values (no steps ran in this process, an undefined metric) become null. */
static const char *json_num(char *buf, size_t size, double x) {
    if (!isfinite(x)) return "null";
    snprintf(buf, size, "%.6g", x);
    return buf;
}

int df_run_files_log_epoch(const char *dir, const df_epoch_log *log, const df_metrics *m, df_error *err) {
    char path[4200], line[2048], a[32], b[32], c[32];
    snprintf(line, sizeof line,
             "{\"epoch\": %d, \"step\": %ld, \"train_loss\": %s, \"valid_loss\": %s, \"lr\": %s, "
             "\"images_per_second\": %.4g, \"seconds\": %.4g, \"improved\": %s, \"valid\": ",
             log->epoch + 1, log->step, json_num(a, sizeof a, log->train_loss),
             json_num(b, sizeof b, log->valid_loss), json_num(c, sizeof c, log->lr), log->images_per_second,
             log->seconds, log->improved ? "true" : "false");
    char *mj = NULL;
    size_t mlen = 0;
    FILE *mf = open_memstream(&mj, &mlen);
    int rc = df_metrics_write_json(m, NULL, mf, err);
    fclose(mf);
    if (rc) {
        free(mj);
        return -1;
    }
    size_t used = strlen(line);
    char *full = df_malloc(used + mlen + 3);
    memcpy(full, line, used);
    memcpy(full + used, mj, mlen);
    memcpy(full + used + mlen, "}\n", 3);
    free(mj);
    snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
    rc = append_line(path, NULL, full, err);
    free(full);
    if (rc) return -1;
    snprintf(line, sizeof line, "%d,%ld,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.4g,%.4g\n",
             log->epoch + 1, log->step, log->train_loss, log->valid_loss, m->accuracy, m->balanced_accuracy,
             m->precision, m->recall, m->specificity, m->f1, m->auc, log->lr, log->images_per_second, log->seconds);
    snprintf(path, sizeof path, "%s/metrics.csv", dir);
    return append_line(path,
                       "epoch,step,train_loss,valid_loss,accuracy,balanced_accuracy,precision,recall,specificity,"
                       "f1,auc,lr,images_per_second,seconds\n",
                       line, err);
}

void df_predictions_csv(FILE *f, const df_dataset *ds, const df_predictions *p, int submission) {
    int lead = submission ? 1 : 2;
    const char *head[2 + DF_MAX_CLASSES] = {submission ? "lesion_id" : "id", "label"};
    for (int k = 0; k < p->K; k++) head[lead + k] = ds->class_names[k];
    df_csv_write_row(f, head, lead + p->K);
    for (int i = 0; i < p->n; i++) {
        char cells[DF_MAX_CLASSES][32];
        const char *row[2 + DF_MAX_CLASSES] = {ds->ids[p->indices[i]], ds->class_names[p->labels[i]]};
        for (int k = 0; k < p->K; k++) {
            snprintf(cells[k], sizeof cells[k], "%.6g", p->prob[(size_t)i * p->K + k]);
            row[lead + k] = cells[k];
        }
        df_csv_write_row(f, row, lead + p->K);
    }
}

int df_write_test_results(const char *dir, const df_run_data *rd, int split, const df_predictions *p,
                          const df_metrics *m, df_error *err) {
    const df_dataset *ds = rd->ds[split];
    char path[4200];
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    int rc = df_metrics_write_json(m, (const char *const *)ds->class_names, f, err);
    fputc('\n', f);
    fclose(f);
    snprintf(path, sizeof path, "%s/test_metrics.json", dir);
    if (rc == 0) rc = df_write_file_atomic(path, text, len, err);
    free(text);
    if (rc) return -1;
    f = open_memstream(&text, &len);
    df_predictions_csv(f, ds, p, 0);
    fclose(f);
    snprintf(path, sizeof path, "%s/test_predictions.csv", dir);
    rc = df_write_file_atomic(path, text, len, err);
    free(text);
    return rc;
}

char *df_run_dir(const df_run_config *cfg) { return df_path_join(cfg->run.out_dir, cfg->run.name); }
