/* files.h: the file-system floor every other floor uses: whole-file reading, atomic replacement of a file,
 * path joining and mkdir -p.
 *
 * Reading (df_read_file) opens without blocking, refuses anything that is not a regular file (a directory, a
 * FIFO, a device) before reading a byte, refuses a file over the caller's size limit (the message names the
 * limit), and checks for read errors. The buffer is NUL-terminated (one byte past *len) so text can be used
 * as a C string; an empty file is not an error here (callers that need content say so).
 *
 * Writing (df_write_file_atomic, df_atomic_open/commit/abort) goes to "<path>.tmp.<pid>" in the same folder,
 * which is flushed, fsync'ed and renamed over path; then the folder is fsync'ed. A crash leaves the old file
 * or the new one, never half of one; on any error the temporary file is removed and an existing file at path
 * is left as it was. Only a kill leaves the temporary file behind: df_atomic_sweep removes it later.
 *
 * Every error message starts with the path concerned and gives the reason (strerror where the system gave
 * one). Nothing here exits or prints. */
#ifndef DF_FILES_H
#define DF_FILES_H

#include <stddef.h>
#include <stdio.h>

#include "core/error.h"

/* Reads the whole regular file at path into *buf (df_malloc'd, *len bytes plus a NUL; free with free()).
 * Fails, naming path, when it cannot be opened, is not a regular file, holds more than max_bytes, or a read
 * fails. On failure *buf is NULL and *len 0. */
int df_read_file(const char *path, size_t max_bytes, unsigned char **buf, size_t *len, df_error *err);

/* Replaces path by the len bytes of text, atomically (see above). */
int df_write_file_atomic(const char *path, const char *text, size_t len, df_error *err);

/* A file being written for atomic replacement: write through f (or fileno(f) for positioned writes), then
 * df_atomic_commit or df_atomic_abort, exactly one of them. */
typedef struct {
    FILE *f;
    char *path; /* the destination */
    char *tmp;  /* the temporary file, "<path>.tmp.<pid>" */
} df_atomic_file;

/* Creates the temporary file for path. On failure h is left empty (nothing to abort). */
int df_atomic_open(const char *path, df_atomic_file *h, df_error *err);
/* Flushes, fsyncs and closes the temporary file, renames it over path and syncs the folder. A write error
 * seen by the stream (ferror) fails the commit too. On failure the temporary file is removed. Either way h
 * is released. */
int df_atomic_commit(df_atomic_file *h, df_error *err);
/* Closes and removes the temporary file and releases h; path is untouched. Safe on an empty h. */
void df_atomic_abort(df_atomic_file *h);

/* Removes the temporary files that writers killed before their commit left in dir: "<dir>/<name>.tmp.<pid>"
 * for each name of the NULL-terminated list (and nothing else; a folder or link of that name is kept). A file
 * is removed only when its writer cannot be running: its pid is this process's (the caller guarantees that
 * none of its own writes to dir is in progress; a pid repeats across restarts, in a container for instance) or
 * no process has that pid. A live process with that pid may be the writer, or may have been given a dead
 * writer's pid: either way the file is kept (pids are this machine's, this pid namespace's: a folder is
 * written by one process at a time). *removed counts the files removed; *kept is NULL or the names of those
 * kept, comma-separated (free with free()). Fails, naming dir, when it cannot be listed or a file cannot be
 * removed. */
int df_atomic_sweep(const char *dir, const char *const *names, int *removed, char **kept, df_error *err);

/* dir + "/" + name as a new df_malloc'd string (free with free()); a copy of name alone when name is absolute
 * or dir is NULL or "", and no doubled slash when dir ends in one. */
char *df_path_join(const char *dir, const char *name);

/* path made absolute against the working directory and tidied lexically ("/a/./b/../c" is "/a/c"; links are
 * not followed); a new df_malloc'd string, or NULL when the working directory is gone. */
char *df_path_absolute(const char *path);

/* path as a person reads it: tidied ("a/./b/../c" is "a/c", lexically), then relative to the working
 * directory when it lies below it ("runs/x/best...", "../shared/..." is not attempted); a new df_malloc'd
 * string. Configs keep absolute paths
 * (a saved config reloads from anywhere); this is for what is shown: tables, reports, messages. */
char *df_path_shown(const char *path);

/* Checks that name is a relative path of at most max_parts plain names joined by '/': letters, digits, '.',
 * '_', '-' and '+', none empty, "." or "..", none starting with '.'. Such a name stays inside the folder it is
 * joined to, whatever that is. Fails with "<what> '<name>' ..." saying which rule it breaks. */
int df_check_plain_name(const char *what, const char *name, int max_parts, df_error *err);

/* mkdir -p: creates path and any missing parents. Fails, naming the folder, when one cannot be created or a
 * component exists but is not a folder. */
int df_make_dirs(const char *path, df_error *err);

#endif
