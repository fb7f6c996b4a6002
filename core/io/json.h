/* json.h: a small, strict JSON reader and a writer for the JSON dermfuse produces.
 *
 * Reader: RFC 8259 exactly. One value, optionally surrounded by whitespace, nothing after it; strings must be
 * valid UTF-8 without raw control characters; \uXXXX escapes (surrogate pairs included) become UTF-8, a lone
 * surrogate is an error; numbers follow the JSON grammar (no leading zeros, no NaN/Infinity, nothing that
 * overflows a double); duplicate keys in one object are an error; nesting deeper than DF_JSON_MAX_DEPTH is an
 * error. Every error message starts with "byte N:" (the 0-based offset into the text) and says what was
 * expected; callers prefix the file name. A parsed document owns all its values; free it with df_json_free.
 *
 * Writer: builds compact JSON text in a growing buffer, inserting commas itself. Misuse (a value where a key
 * is due, unbalanced ends) is a programmer error and aborts. Numbers use %.9g, which round-trips every
 * float32 exactly; df_json_double uses %.17g for doubles. JSON has no NaN or infinity: they are written as
 * null. Strings are escaped (quote, backslash, control characters); bytes that are not valid UTF-8 are
 * written as U+FFFD, so the output is always valid JSON (callers needing exact text check df_json_utf8_valid
 * first). */
#ifndef DF_JSON_H
#define DF_JSON_H

#include "core/limits.h"

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define DF_JSON_MAX_DEPTH DF_LIMIT_JSON_DEPTH

typedef enum {
    DF_JSON_NULL,
    DF_JSON_BOOL,
    DF_JSON_NUMBER,
    DF_JSON_STRING,
    DF_JSON_ARRAY,
    DF_JSON_OBJECT,
} df_json_type;

typedef struct df_json df_json;
struct df_json {
    df_json_type type;
    size_t offset;     /* byte offset of the value's first character in the text */
    int boolean;       /* BOOL */
    double number;     /* NUMBER */
    int is_integer;    /* NUMBER written without fraction or exponent and within int64 range */
    int64_t integer;   /* NUMBER when is_integer: the exact value */
    char *str;         /* STRING: UTF-8, NUL-terminated (may also contain NUL from \u0000: see len) */
    size_t len;        /* STRING: bytes in str */
    int count;         /* ARRAY, OBJECT: number of elements / members */
    df_json *items;    /* ARRAY: elements; OBJECT: member values, in document order */
    char **keys;       /* OBJECT: keys[i] names items[i] */
};

typedef struct df_json_doc df_json_doc;

/* Parses text[0..len) (need not be NUL-terminated). On success *out owns the tree; on failure *out is NULL
 * and err says "byte N: ...". */
int df_json_parse(const char *text, size_t len, df_json_doc **out, df_error *err);
const df_json *df_json_root(const df_json_doc *doc);
void df_json_free(df_json_doc *doc);

/* The member named key of an object, or NULL (also NULL when obj is not an object). */
const df_json *df_json_get(const df_json *obj, const char *key);
/* "null", "boolean", "number", "string", "array", "object". */
const char *df_json_type_name(df_json_type type);

/* 1 if s[0..n) is valid UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF); else 0 and, when
 * bad is non-NULL, *bad is the offset of the first invalid byte. */
int df_json_utf8_valid(const char *s, size_t n, size_t *bad);

typedef struct {
    char *text;   /* NUL-terminated output so far; owned, freed by df_json_writer_free */
    size_t len;
    size_t cap;
    int depth;
    unsigned char container[DF_JSON_MAX_DEPTH]; /* '{' or '[' per open level */
    unsigned char has_items[DF_JSON_MAX_DEPTH];
    int key_pending; /* a key was written and its value is due */
    int done;        /* the top-level value is complete */
    int u_escapes;   /* set after init to write every control character as \u00XX (none as \n, \t, ...): the
                      * form the metadata encoder's stored JSON has always had */
} df_json_writer;

void df_json_writer_init(df_json_writer *w);
void df_json_writer_free(df_json_writer *w);
/* Empties the text so the writer can build another document (e.g. the next metrics line); u_escapes stays. */
void df_json_writer_reset(df_json_writer *w);

void df_json_object_begin(df_json_writer *w);
void df_json_object_end(df_json_writer *w);
void df_json_array_begin(df_json_writer *w);
void df_json_array_end(df_json_writer *w);
void df_json_key(df_json_writer *w, const char *key);
void df_json_string(df_json_writer *w, const char *s);
void df_json_string_n(df_json_writer *w, const char *s, size_t n);
void df_json_number(df_json_writer *w, double x); /* %.9g */
void df_json_double(df_json_writer *w, double x); /* %.17g */
void df_json_int(df_json_writer *w, int64_t x);
void df_json_bool(df_json_writer *w, int b);
void df_json_null(df_json_writer *w);

/* Appends bytes as they are, outside the comma logic (e.g. padding after the document). */
void df_json_append_raw(df_json_writer *w, const char *s, size_t n);

#endif
