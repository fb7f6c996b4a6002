/* test_st_python.c: a file written by df_st_write is read by st_read.py, an independent standard-library
 * Python parser of the format, with the same names, shapes, bytes, value sums, metadata and a valid
 * checksum; and the Python parser refuses the file once a data byte is flipped.
 * Usage: test_st_python PYTHON ST_READ_PY (without arguments, i.e. no python3: exit 77, skipped). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "core/rng.h"
#include "core/io/json.h"
#include "core/io/safetensors.h"

#define NT 5
static const char *names[NT] = {"image.block1.conv.weight", "image.bn.running_mean", "step", "empty",
                                "名前.\"quoted\""};
static const int ranks[NT] = {4, 1, 0, 2, 1};
static const int64_t shapes[NT][4] = {{3, 3, 3, 8}, {8}, {0}, {0, 5}, {3}};

static int run_reader(const char *python, const char *script, const char *file, char **out) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' '%s' '%s' 2>&1", python, script, file);
    FILE *pp = popen(cmd, "r");
    if (!pp) return -1;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t got;
    while ((got = fread(buf + len, 1, cap - len - 1, pp)) > 0) {
        len += got;
        if (cap - len < 2) buf = realloc(buf, cap *= 2);
    }
    buf[len] = '\0';
    *out = buf;
    int status = pclose(pp);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        printf("python3 not found: skipped\n");
        return 77;
    }
    char dir[] = "/tmp/dermfuse-stpy-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char path[128];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);

    df_rng r = df_rng_make(11, DF_STREAM_INIT);
    float *vals[NT];
    size_t counts[NT];
    df_error err = {{0}};
    df_st_writer *w = df_st_writer_new();
    for (int i = 0; i < NT; i++) {
        size_t c = 1;
        for (int k = 0; k < ranks[i]; k++) c *= (size_t)shapes[i][k];
        counts[i] = c;
        vals[i] = malloc((c ? c : 1) * sizeof(float));
        for (size_t k = 0; k < c; k++) vals[i][k] = df_rng_normal(&r) * 3.0f;
        CHECK_MSG(df_st_add(w, names[i], ranks[i], shapes[i], vals[i], &err) == 0, "%s", err.msg);
    }
    const char *config = "seed: 1\nname: \"a\\b\" é 😀";
    CHECK(df_st_add_meta(w, "config", config, &err) == 0);
    CHECK(df_st_add_meta(w, "epoch", "3", &err) == 0);
    CHECK_MSG(df_st_write(w, path, &err) == 0, "%s", err.msg);
    df_st_writer_free(w);

    char *out = NULL;
    int rc = run_reader(argv[1], argv[2], path, &out);
    CHECK_MSG(rc == 0, "st_read.py exited %d:\n%s", rc, out ? out : "");
    int seen = 0, meta_ok = 0, checksum_ok = 0;
    char *save = NULL;
    for (char *line = out ? strtok_r(out, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
        if (!strncmp(line, "st_read.py: safetensors package agrees", 38)) {
            printf("the safetensors package read the file too\n");
            continue;
        }
        df_json_doc *doc = NULL;
        if (df_json_parse(line, strlen(line), &doc, &err)) {
            CHECK_MSG(0, "unparsable line '%s': %s", line, err.msg);
            continue;
        }
        const df_json *o = df_json_root(doc);
        const df_json *m = df_json_get(o, "metadata"), *ck = df_json_get(o, "checksum"),
                      *name = df_json_get(o, "name");
        if (m) {
            const df_json *c = df_json_get(m, "config"), *e = df_json_get(m, "epoch");
            meta_ok = m->count == 3 && c && !strcmp(c->str, config) && e && !strcmp(e->str, "3") &&
                      df_json_get(m, DF_ST_CHECKSUM_KEY);
        } else if (ck) {
            checksum_ok = ck->type == DF_JSON_STRING && !strcmp(ck->str, "ok");
        } else if (name && name->type == DF_JSON_STRING) {
            int i = 0;
            while (i < NT && strcmp(names[i], name->str)) i++;
            CHECK_MSG(i < NT, "unknown tensor '%s'", name->str);
            if (i < NT) {
                seen++;
                const df_json *shape = df_json_get(o, "shape");
                CHECK(!strcmp(df_json_get(o, "dtype")->str, "F32"));
                CHECK(shape && shape->count == ranks[i]);
                for (int k = 0; shape && k < shape->count && k < ranks[i]; k++)
                    CHECK(shape->items[k].integer == shapes[i][k]);
                double sum = 0;
                for (size_t k = 0; k < counts[i]; k++) sum += vals[i][k];
                /* Same order of float64 additions in both languages, so the sums are equal exactly. */
                CHECK_MSG(df_json_get(o, "sum")->number == sum, "%s: sum %.17g vs %.17g", names[i],
                          df_json_get(o, "sum")->number, sum);
                CHECK(df_json_get(o, "crc32")->integer == (int64_t)df_st_crc32(0, vals[i], counts[i] * 4));
            }
        }
        df_json_free(doc);
    }
    CHECK_MSG(seen == NT, "python saw %d of %d tensors", seen, NT);
    CHECK(meta_ok);
    CHECK(checksum_ok);
    free(out);

    /* Flip one data byte: the Python reader's checksum must catch it too. */
    FILE *fp = fopen(path, "r+b");
    if (fp) {
        fseek(fp, -3, SEEK_END);
        int c = fgetc(fp);
        fseek(fp, -3, SEEK_END);
        fputc(c ^ 0x04, fp);
        fclose(fp);
    }
    out = NULL;
    rc = run_reader(argv[1], argv[2], path, &out);
    CHECK_MSG(rc == 1 && out && strstr(out, "checksum mismatch"), "exit %d: %s", rc, out ? out : "");
    free(out);

    for (int i = 0; i < NT; i++) free(vals[i]);
    unlink(path);
    rmdir(dir);
    return check_report();
}
