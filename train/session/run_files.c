/* run_files.c: see run_files.h. */
#include "train/session/run_files.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/io/files.h"
#include "data/table/csv.h"

/* Logs are rewritten whole each epoch; one this large means something else is at that path. */
#define LOG_MAX_BYTES ((size_t)256 << 20)

/* Reads a log; a missing one is not an error (*text is NULL). */
static int read_log(const char *path, char **text, size_t *len, df_error *err) {
    struct stat st;
    *text = NULL;
    *len = 0;
    if (stat(path, &st) != 0 && errno == ENOENT) return 0;
    return df_read_file(path, LOG_MAX_BYTES, (unsigned char **)text, len, err);
}

/* Keeps the lines of a log whose epoch (first field of the CSV, "epoch" member of the JSON) is below epoch;
 * the CSV header line is kept. */
static int truncate_log(const char *path, int epoch, int csv, df_error *err) {
    size_t len;
    char *text;
    if (read_log(path, &text, &len, err)) return -1;
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
    char *jsonl = df_path_join(dir, "metrics.jsonl"), *csv = df_path_join(dir, "metrics.csv");
    int rc = truncate_log(jsonl, epoch, 0, err);
    if (!rc) rc = truncate_log(csv, epoch, 1, err);
    free(jsonl);
    free(csv);
    return rc;
}

/* Every file a run writes into its folder (report.html is the command line's live view of the run): the
 * names whose temporary files ("<name>.tmp.<pid>", core/io/files.h) a killed run may leave. */
static const char *const run_file_names[] = {"config.yaml", "metrics.jsonl", "metrics.csv", "last.safetensors",
                                             "best.safetensors", "test_predictions.csv", "test_metrics.json",
                                             "report.html", "input.json", NULL};

int df_run_files_lock(const char *dir, int *fd, df_error *err) {
    *fd = -1;
    if (df_make_dirs(dir, err)) return -1;
    char *path = df_path_join(dir, "train.lock");
    int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    int rc = 0;
    if (f < 0)
        rc = df_fail(err, "%s: cannot open the run's lock: %s", path, strerror(errno));
    else if (flock(f, LOCK_EX | LOCK_NB) != 0)
        rc = errno == EWOULDBLOCK ? df_fail(err, "%s is held: another process is training this run; wait for it "
                                            "to end, or choose another run.name / run.out_dir", path)
                                  : df_fail(err, "%s: cannot lock: %s", path, strerror(errno));
    if (rc && f >= 0) close(f);
    if (!rc) *fd = f;
    free(path);
    return rc;
}

void df_run_files_unlock(int fd) {
    if (fd >= 0) close(fd); /* closing releases the flock */
}

int df_run_files_sweep(const char *dir, int resume, df_error *err) {
    char *path = df_path_join(dir, "last.safetensors");
    struct stat st;
    int taken = !resume && stat(path, &st) == 0;
    free(path);
    if (taken)
        return df_fail(err, "%s already holds a run; resume it with --resume, or choose another run.name / "
                       "run.out_dir", dir);
    int removed;
    char *kept;
    if (df_atomic_sweep(dir, run_file_names, &removed, &kept, err)) return -1;
    if (removed)
        printf("removed %d temporary file%s that an interrupted write left in %s\n", removed, removed > 1 ? "s" : "",
               dir);
    if (kept)
        printf("kept in %s: %s; the process whose pid ends the name is running, and may be writing it (delete it "
               "if that process is no dermfuse writing there)\n", dir, kept);
    free(kept);
    return 0;
}

/* Removes a file; one that is not there is no error. */
static int remove_file(const char *dir, const char *name, df_error *err) {
    char *path = df_path_join(dir, name);
    int rc = unlink(path) != 0 && errno != ENOENT ? df_fail(err, "%s: cannot remove: %s", path, strerror(errno)) : 0;
    free(path);
    return rc;
}

int df_run_files_start(const char *dir, const df_run_config *cfg, int epoch, df_error *err) {
    /* Test results of an earlier end (a finished run now extended) describe other weights: gone before
     * anything else changes, test_metrics.json (the mark of complete results) first. */
    if (remove_file(dir, "test_metrics.json", err) || remove_file(dir, "test_predictions.csv", err)) return -1;
    char *path = df_path_join(dir, "config.yaml");
    int rc = df_write_file_atomic(path, cfg->text, strlen(cfg->text), err);
    free(path);
    return rc ? -1 : truncate_logs(dir, epoch, err);
}

int df_run_files_results_written(const char *dir) {
    char *metrics = df_path_join(dir, "test_metrics.json"), *predictions = df_path_join(dir, "test_predictions.csv");
    struct stat st;
    int written = stat(metrics, &st) == 0 && stat(predictions, &st) == 0;
    free(metrics);
    free(predictions);
    return written;
}

/* Appends one line to a file by rewriting it whole through a temporary file. */
static int append_line(const char *path, const char *header, const char *line, df_error *err) {
    size_t len = 0;
    char *old;
    if (read_log(path, &old, &len, err)) return -1;
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

/* A number for JSON: non-finite values (no steps ran in this process, an undefined metric) become null. Nine
 * digits hold a float32 exactly, so a loss can be compared with another framework's to float rounding. */
static const char *json_num(char *buf, size_t size, double x) {
    if (!isfinite(x)) return "null";
    snprintf(buf, size, "%.9g", x);
    return buf;
}

int df_run_files_log_epoch(const char *dir, const df_epoch_log *log, const df_metrics *m, df_error *err) {
    char line[2048], a[32], b[32], c[32];
    snprintf(line, sizeof line,
             "{\"epoch\": %d, \"step\": %ld, \"train_loss\": %s, \"valid_loss\": %s, \"lr\": %s, "
             "\"images_per_second\": %.4g, \"seconds\": %.4g, \"improved\": %s, \"valid\": ",
             log->epoch + 1, log->step, json_num(a, sizeof a, log->train_loss),
             json_num(b, sizeof b, log->valid_loss), json_num(c, sizeof c, log->lr), log->images_per_second,
             log->seconds, log->improved ? "true" : "false");
    char *mj = NULL;
    size_t mlen = 0;
    FILE *mf = open_memstream(&mj, &mlen);
    int rc = m ? df_metrics_write_json(m, NULL, mf, err) : (fputs("null", mf), 0);
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
    char *path = df_path_join(dir, "metrics.jsonl");
    rc = append_line(path, NULL, full, err);
    free(path);
    free(full);
    if (rc) return -1;
    if (m)
        snprintf(line, sizeof line, "%d,%ld,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.4g,%.4g\n",
                 log->epoch + 1, log->step, log->train_loss, log->valid_loss, m->accuracy, m->balanced_accuracy,
                 m->precision, m->recall, m->specificity, m->f1, m->auc, log->lr, log->images_per_second,
                 log->seconds);
    else /* no validation split: its columns stay empty, the table keeps its columns */
        snprintf(line, sizeof line, "%d,%ld,%.6g,,,,,,,,,%.6g,%.4g,%.4g\n", log->epoch + 1, log->step,
                 log->train_loss, log->lr, log->images_per_second, log->seconds);
    path = df_path_join(dir, "metrics.csv");
    rc = append_line(path,
                     "epoch,step,train_loss,valid_loss,accuracy,balanced_accuracy,precision,recall,specificity,"
                     "f1,auc,lr,images_per_second,seconds\n",
                     line, err);
    free(path);
    return rc;
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
                          const df_metrics *m, const char *extra, df_error *err) {
    const df_dataset *ds = rd->ds[split];
    char *text = NULL, *object = NULL;
    size_t len = 0, object_len = 0;
    /* The predictions first: test_metrics.json, written last, marks the results complete. */
    FILE *f = open_memstream(&text, &len);
    df_predictions_csv(f, ds, p, 0);
    fclose(f);
    char *path = df_path_join(dir, "test_predictions.csv");
    int rc = df_write_file_atomic(path, text, len, err);
    free(path);
    free(text);
    if (rc) return -1;
    f = open_memstream(&object, &object_len);
    rc = df_metrics_write_json(m, (const char *const *)ds->class_names, f, err);
    fclose(f);
    DF_ASSERT(rc != 0 || (object_len > 0 && object[object_len - 1] == '}'));
    text = NULL;
    f = open_memstream(&text, &len);
    /* the object's closing brace makes way for the extra members */
    if (rc == 0) fprintf(f, "%.*s%s%s}\n", (int)object_len - 1, object, extra ? "," : "", extra ? extra : "");
    fclose(f);
    free(object);
    path = df_path_join(dir, "test_metrics.json");
    if (rc == 0) rc = df_write_file_atomic(path, text, len, err);
    free(path);
    free(text);
    return rc;
}

const char *df_test_checkpoint_file(const df_run_config *cfg) {
    return cfg->train.test_checkpoint == DF_TEST_LAST ? "last.safetensors" : "best.safetensors";
}

char *df_run_dir(const df_run_config *cfg) { return df_path_join(cfg->run.out_dir, cfg->run.name); }
