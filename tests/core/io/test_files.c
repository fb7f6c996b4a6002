/* test_files.c: core/io/files.c. Whole-file reading refuses directories, FIFOs (without blocking), files over
 * the limit and missing files, each with a message naming the path and the reason; atomic writes leave no
 * temporary file and, when they fail, the old file as it was; df_path_join; df_make_dirs of nested folders
 * and through a file; df_atomic_sweep removing the temporary files of dead writers only (a live process's,
 * other names', malformed names, folders and links are kept). Tests run as root, so failures are provoked with missing folders and directories in
 * the way, never with permissions. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "core/io/files.h"

static char root[256];

static char *at(const char *name) { return df_path_join(root, name); }

static void spit(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    CHECK_MSG(f != NULL, "cannot write %s", path);
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

/* Files in dir whose name holds ".tmp.". */
static int temp_files(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += strstr(e->d_name, ".tmp.") != NULL;
    if (d) closedir(d);
    return n;
}

static void expect_read_error(const char *path, size_t max, const char *reason) {
    unsigned char *buf = (unsigned char *)"x";
    size_t len = 7;
    df_error err = {""};
    CHECK(df_read_file(path, max, &buf, &len, &err) == -1);
    CHECK(buf == NULL && len == 0);
    CHECK_MSG(strstr(err.msg, path) == err.msg && strstr(err.msg, reason), "'%s' should name %s and '%s'",
              err.msg, path, reason);
}

static void test_read(void) {
    char *text = at("text.txt"), *fifo = at("fifo"), *missing = at("missing.txt");
    spit(text, "hello\n");
    unsigned char *buf;
    size_t len;
    df_error err = {""};
    CHECK_MSG(df_read_file(text, 6, &buf, &len, &err) == 0, "%s", err.msg);
    if (buf) CHECK(len == 6 && !memcmp(buf, "hello\n", 7)); /* NUL-terminated */
    free(buf);

    expect_read_error(text, 5, "limit of 5 bytes");
    expect_read_error(root, 100, "not a regular file (it is a directory)");
    CHECK(mkfifo(fifo, 0600) == 0);
    expect_read_error(fifo, 100, "not a regular file (it is a FIFO)"); /* and it did not wait for a writer */
    expect_read_error(missing, 100, "cannot open: No such file or directory");

    char *empty = at("empty.txt");
    spit(empty, "");
    CHECK(df_read_file(empty, 100, &buf, &len, &err) == 0 && len == 0 && buf && buf[0] == '\0');
    free(buf);
    unlink(empty);
    unlink(fifo);
    unlink(text);
    free(empty);
    free(text);
    free(fifo);
    free(missing);
}

static void test_atomic(void) {
    char *path = at("file.txt"), *nodir = at("no/such/dir/file.txt"), *isdir = at("a-dir"), *inner = at("a-dir/f");
    df_error err = {""};
    CHECK_MSG(df_write_file_atomic(path, "first", 5, &err) == 0, "%s", err.msg);
    CHECK_MSG(df_write_file_atomic(path, "second", 6, &err) == 0, "%s", err.msg);
    unsigned char *buf = NULL;
    size_t len = 0;
    CHECK(df_read_file(path, 100, &buf, &len, &err) == 0 && len == 6 && !memcmp(buf, "second", 6));
    free(buf);
    CHECK(temp_files(root) == 0);

    /* The folder is missing: nothing is created, the message names the path and the reason. */
    CHECK(df_write_file_atomic(nodir, "x", 1, &err) == -1);
    CHECK_MSG(strstr(err.msg, nodir) == err.msg && strstr(err.msg, "No such file or directory"), "%s", err.msg);

    /* The target is a non-empty directory: the rename fails, the temporary file is removed. */
    CHECK(mkdir(isdir, 0700) == 0);
    spit(inner, "keep");
    CHECK(df_write_file_atomic(isdir, "x", 1, &err) == -1);
    CHECK_MSG(strstr(err.msg, isdir) == err.msg && strstr(err.msg, "cannot rename"), "%s", err.msg);
    CHECK(temp_files(root) == 0);

    /* The temporary file cannot be created (a directory has its name): the old file stays as it was. */
    char tmp[400];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    CHECK(mkdir(tmp, 0700) == 0);
    CHECK(df_write_file_atomic(path, "third", 5, &err) == -1);
    CHECK_MSG(strstr(err.msg, "cannot create the temporary file"), "%s", err.msg);
    CHECK(df_read_file(path, 100, &buf, &len, &err) == 0 && len == 6 && !memcmp(buf, "second", 6));
    free(buf);
    rmdir(tmp);

    /* A streamed write, aborted: the old file stays, no temporary file; committed: the new text. */
    df_atomic_file h;
    CHECK(df_atomic_open(path, &h, &err) == 0);
    fputs("streamed", h.f);
    df_atomic_abort(&h);
    CHECK(temp_files(root) == 0);
    CHECK(df_read_file(path, 100, &buf, &len, &err) == 0 && len == 6);
    free(buf);
    CHECK(df_atomic_open(path, &h, &err) == 0);
    fputs("streamed", h.f);
    CHECK_MSG(df_atomic_commit(&h, &err) == 0, "%s", err.msg);
    CHECK(df_read_file(path, 100, &buf, &len, &err) == 0 && len == 8 && !memcmp(buf, "streamed", 8));
    free(buf);
    CHECK(temp_files(root) == 0 && h.f == NULL && h.tmp == NULL);

    unlink(inner);
    rmdir(isdir);
    unlink(path);
    free(path);
    free(nodir);
    free(isdir);
    free(inner);
}

static int exists(const char *dir, const char *name) {
    char *path = df_path_join(dir, name);
    struct stat st;
    int yes = lstat(path, &st) == 0;
    free(path);
    return yes;
}

static void test_sweep(void) {
    char *dir = at("sweep");
    CHECK(mkdir(dir, 0700) == 0);
    pid_t dead = fork();
    if (dead == 0) _exit(0);
    pid_t live = fork();
    if (live == 0) {
        pause(); /* until killed below */
        _exit(0);
    }
    CHECK(dead > 0 && live > 0 && waitpid(dead, NULL, 0) == dead); /* reaped: no process has its pid now */
    char name[8][64];
    snprintf(name[0], 64, "a.txt.tmp.%d", (int)dead);     /* removed: its writer is gone */
    snprintf(name[1], 64, "b.txt.tmp.%d", (int)getpid()); /* removed: this process writes nothing meanwhile */
    snprintf(name[2], 64, "a.txt.tmp.%d", (int)live);     /* kept: its writer may be running */
    snprintf(name[3], 64, "other.tmp.%d", (int)dead);     /* kept: not a name asked for */
    snprintf(name[4], 64, "a.txt.tmp.0%d", (int)dead);    /* kept: not a pid as written */
    snprintf(name[5], 64, "a.txt.tmp.%dx", (int)dead);
    snprintf(name[6], 64, "b.txt.tmp.99999999999");       /* kept: beyond any pid */
    snprintf(name[7], 64, "c.txt.tmp.%d", (int)dead);     /* kept: a folder */
    for (int i = 0; i < 7; i++) {
        char *path = df_path_join(dir, name[i]);
        spit(path, "partial");
        free(path);
    }
    char link_name[64];
    snprintf(link_name, sizeof link_name, "b.txt.tmp.%d", (int)dead); /* kept: a link */
    char *folder = df_path_join(dir, name[7]), *link = df_path_join(dir, link_name);
    CHECK(mkdir(folder, 0700) == 0 && symlink(name[0], link) == 0);
    char *dest = df_path_join(dir, "a.txt");
    spit(dest, "whole");
    free(dest);
    static const char *const names[] = {"a.txt", "b.txt", "c.txt", NULL};
    int removed = -1;
    char *kept = NULL;
    df_error err;
    CHECK_MSG(df_atomic_sweep(dir, names, &removed, &kept, &err) == 0, "%s", err.msg);
    CHECK_MSG(removed == 2 && kept && !strcmp(kept, name[2]), "removed %d, kept %s", removed, kept ? kept : "none");
    CHECK(!exists(dir, name[0]) && !exists(dir, name[1]) && exists(dir, "a.txt") && exists(dir, link_name));
    for (int i = 2; i < 8; i++) CHECK_MSG(exists(dir, name[i]), "%s kept", name[i]);
    free(kept);
    kill(live, SIGKILL);
    waitpid(live, NULL, 0);
    CHECK_MSG(df_atomic_sweep(dir, names, &removed, &kept, &err) == 0 && removed == 1 && !kept &&
                  !exists(dir, name[2]), "once its process is gone: removed %d", removed);
    char *missing = at("no-such-folder");
    CHECK(df_atomic_sweep(missing, names, &removed, &kept, &err) == -1);
    CHECK_MSG(strstr(err.msg, missing) == err.msg && strstr(err.msg, "No such file"), "%s", err.msg);
    free(missing);
    free(folder);
    free(link);
    free(dir);
}

static void test_paths(void) {
    const char *cases[][3] = {
        {"a", "b", "a/b"}, {"a/", "b", "a/b"}, {"", "b", "b"}, {"a", "/abs", "/abs"}, {"/", "b", "/b"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *p = df_path_join(cases[i][0], cases[i][1]);
        CHECK_MSG(!strcmp(p, cases[i][2]), "join(%s, %s) = %s", cases[i][0], cases[i][1], p);
        free(p);
    }
    char *p = df_path_join(NULL, "b");
    CHECK(!strcmp(p, "b"));
    free(p);

    char *nested = at("x/y/z"), *file = at("plain"), *through = at("plain/sub");
    df_error err = {""};
    struct stat st;
    CHECK_MSG(df_make_dirs(nested, &err) == 0, "%s", err.msg);
    CHECK(stat(nested, &st) == 0 && S_ISDIR(st.st_mode));
    CHECK_MSG(df_make_dirs(nested, &err) == 0, "existing: %s", err.msg); /* already there: fine */
    spit(file, "not a folder");
    CHECK(df_make_dirs(through, &err) == -1);
    CHECK_MSG(strstr(err.msg, through) == err.msg && strstr(err.msg, "not a folder"), "%s", err.msg);
    CHECK(df_make_dirs(file, &err) == -1);
    CHECK_MSG(strstr(err.msg, file) == err.msg && strstr(err.msg, "not a folder"), "%s", err.msg);
    unlink(file);
    free(nested);
    free(file);
    free(through);
}

/* Paths shown from the working directory where they lie below it, as given elsewhere. */
static void test_shown(void) {
    char *cwd = getcwd(NULL, 0), *inside = df_path_join(cwd, "runs/x/best.safetensors");
    const char *cases[][2] = {{inside, "runs/x/best.safetensors"}, {"/elsewhere/a.csv", "/elsewhere/a.csv"},
                              {"relative/b.csv", "relative/b.csv"}, {cwd, cwd},
                              {"configs/studies/../synthetic/base.yaml", "configs/synthetic/base.yaml"},
                              {"configs/synthetic/../../runs/d/m.csv", "runs/d/m.csv"}, {"./a//b/.", "a/b"},
                              {"../x/../y", "../y"}, {"/a/../../b", "/b"}, {"a/..", "."}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *shown = df_path_shown(cases[i][0]);
        CHECK_MSG(strcmp(cwd, "/") == 0 || !strcmp(shown, cases[i][1]), "shown(%s) = %s", cases[i][0], shown);
        free(shown);
    }
    /* a sibling whose name starts like the working directory is not below it */
    size_t n = strlen(cwd) + 8;
    char *sibling = malloc(n);
    snprintf(sibling, n, "%sx/a", cwd);
    char *shown = df_path_shown(sibling);
    CHECK_MSG(strcmp(cwd, "/") == 0 || !strcmp(shown, sibling), "shown(%s) = %s", sibling, shown);
    free(shown);
    free(sibling);
    free(inside);
    free(cwd);
}

int main(void) {
    snprintf(root, sizeof root, "/tmp/df_test_files_XXXXXX");
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    test_read();
    test_atomic();
    test_sweep();
    test_paths();
    test_shown();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", root);
    return check_report();
}
