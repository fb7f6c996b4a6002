/* test_json.c: the strict JSON reader accepts valid documents with exact values, refuses invalid ones with
 * the right byte offset, and the writer's output reads back to what was written. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/io/json.h"

static df_json_doc *parse_ok(const char *text) {
    df_json_doc *doc = NULL;
    df_error err = {{0}};
    int rc = df_json_parse(text, strlen(text), &doc, &err);
    CHECK_MSG(rc == 0, "parsing %s: %s", text, err.msg);
    return doc;
}

/* Expects a parse failure whose message starts with "byte <offset>:" and contains fragment. */
static void parse_bad(const char *text, size_t len, size_t offset, const char *fragment) {
    df_json_doc *doc = (df_json_doc *)1;
    df_error err = {{0}};
    int rc = df_json_parse(text, len, &doc, &err);
    CHECK_MSG(rc == -1 && doc == NULL, "'%.*s' was accepted", (int)len, text);
    char prefix[32];
    snprintf(prefix, sizeof prefix, "byte %zu:", offset);
    CHECK_MSG(!strncmp(err.msg, prefix, strlen(prefix)), "'%.*s': expected '%s', got '%s'", (int)len, text,
              prefix, err.msg);
    CHECK_MSG(strstr(err.msg, fragment) != NULL, "'%.*s': '%s' lacks '%s'", (int)len, text, err.msg, fragment);
}

static void test_valid(void) {
    df_json_doc *doc = parse_ok(" {\"a\": [1, -2.5e3, 0, -0, 9007199254740993, true, false, null],"
                                " \"s\": \"q\\\"b\\\\n\\n\\u00e9\\ud83d\\ude00\\/\", \"e\": {}, \"z\": []}\r\n");
    if (doc) {
        const df_json *r = df_json_root(doc);
        CHECK(r->type == DF_JSON_OBJECT && r->count == 4);
        CHECK(r->offset == 1);
        const df_json *a = df_json_get(r, "a");
        CHECK(a && a->type == DF_JSON_ARRAY && a->count == 8);
        if (a && a->count == 8) {
            CHECK(a->items[0].is_integer && a->items[0].integer == 1);
            CHECK(!a->items[1].is_integer && a->items[1].number == -2500.0);
            CHECK(a->items[3].is_integer && a->items[3].integer == 0);
            /* 2^53 + 1 is not a double; the integer keeps it exactly. */
            CHECK(a->items[4].is_integer && a->items[4].integer == 9007199254740993LL);
            CHECK(a->items[5].type == DF_JSON_BOOL && a->items[5].boolean == 1);
            CHECK(a->items[6].type == DF_JSON_BOOL && a->items[6].boolean == 0);
            CHECK(a->items[7].type == DF_JSON_NULL);
            CHECK(a->items[1].offset == 11);
        }
        const df_json *s = df_json_get(r, "s");
        CHECK(s && s->type == DF_JSON_STRING);
        if (s) CHECK(!strcmp(s->str, "q\"b\\n\n\xc3\xa9\xf0\x9f\x98\x80/") && s->len == strlen(s->str));
        CHECK(df_json_get(r, "e")->type == DF_JSON_OBJECT && df_json_get(r, "e")->count == 0);
        CHECK(df_json_get(r, "z")->type == DF_JSON_ARRAY && df_json_get(r, "z")->count == 0);
        CHECK(df_json_get(r, "missing") == NULL);
        df_json_free(doc);
    }
    /* \u0000 inside a string value is kept, with len counting past it. */
    doc = parse_ok("\"a\\u0000b\"");
    if (doc) {
        CHECK(df_json_root(doc)->len == 3 && !memcmp(df_json_root(doc)->str, "a\0b", 3));
        df_json_free(doc);
    }
    doc = parse_ok("123456789012345678901234567890");
    if (doc) {
        CHECK(!df_json_root(doc)->is_integer && df_json_root(doc)->number > 1.2e29);
        df_json_free(doc);
    }
    /* Exactly the depth limit is fine. */
    char deep[2 * DF_JSON_MAX_DEPTH + 1];
    memset(deep, '[', DF_JSON_MAX_DEPTH);
    memset(deep + DF_JSON_MAX_DEPTH, ']', DF_JSON_MAX_DEPTH);
    deep[2 * DF_JSON_MAX_DEPTH] = '\0';
    doc = parse_ok(deep);
    df_json_free(doc);
}

static void test_invalid(void) {
    parse_bad("", 0, 0, "expected a value, found end of text");
    parse_bad("   ", 3, 3, "expected a value");
    parse_bad("{\"a\":1,}", 8, 7, "expected a string key");
    parse_bad("[1,2", 4, 4, "expected ',' or ']', found end of text");
    parse_bad("[1 2]", 5, 3, "expected ',' or ']'");
    parse_bad("{\"a\" 1}", 7, 5, "expected ':'");
    parse_bad("{\"a\":1} x", 9, 8, "after the end");
    parse_bad("[01]", 4, 1, "leading zero");
    parse_bad("[1.]", 4, 3, "digit after the decimal point");
    parse_bad("[1e]", 4, 3, "exponent");
    parse_bad("[-]", 3, 2, "a digit");
    parse_bad("+1", 2, 0, "expected a value");
    parse_bad("NaN", 3, 0, "expected a value");
    parse_bad("1e999", 5, 0, "out of range");
    parse_bad("tru", 3, 0, "expected a value");
    parse_bad("\"abc", 4, 4, "unterminated string");
    parse_bad("\"a\tb\"", 5, 2, "control character");
    parse_bad("\"\\x\"", 4, 1, "invalid escape");
    parse_bad("\"\\u12G4\"", 8, 5, "hex digits");
    parse_bad("\"\\udc00\"", 8, 1, "lone low surrogate");
    parse_bad("\"\\ud800x\"", 9, 1, "not followed by a low surrogate");
    parse_bad("\"\xc3\x28\"", 4, 1, "invalid UTF-8");
    parse_bad("\"\xc0\xaf\"", 4, 1, "invalid UTF-8"); /* overlong '/' */
    parse_bad("{\"k\":1,\"j\":2,\"k\":3}", 19, 17, "duplicate key \"k\"");
    parse_bad("{\"a\\u0000\":1}", 13, 1, "NUL");
    /* A NUL byte in the text is not whitespace and not a value. */
    parse_bad("[1]\0", 4, 3, "byte 0x00");
    char deep[DF_JSON_MAX_DEPTH + 2];
    memset(deep, '[', sizeof deep);
    parse_bad(deep, DF_JSON_MAX_DEPTH + 1, DF_JSON_MAX_DEPTH, "nesting deeper");
}

static void test_utf8(void) {
    size_t bad = 99;
    CHECK(df_json_utf8_valid("a\xc3\xa9\xf0\x9f\x98\x80", 7, &bad));
    CHECK(!df_json_utf8_valid("ab\xed\xa0\x80", 5, &bad) && bad == 2); /* encoded surrogate */
    CHECK(!df_json_utf8_valid("abc\xf4\x90\x80\x80", 7, &bad) && bad == 3); /* above U+10FFFF */
    CHECK(!df_json_utf8_valid("\xe2\x82", 2, &bad) && bad == 0);            /* truncated */
}

static void test_writer(void) {
    df_json_writer w;
    df_json_writer_init(&w);
    df_json_object_begin(&w);
    df_json_key(&w, "s\"k");
    df_json_string(&w, "a\"b\\c\nd\x01\xc3\xa9");
    df_json_key(&w, "n");
    df_json_array_begin(&w);
    df_json_number(&w, 0.1f);
    df_json_double(&w, 0.1);
    df_json_int(&w, -9007199254740993LL);
    df_json_number(&w, NAN);
    df_json_bool(&w, 1);
    df_json_null(&w);
    df_json_array_end(&w);
    df_json_key(&w, "bad");
    df_json_string_n(&w, "x\xffy", 3);
    df_json_object_end(&w);
    CHECK_MSG(!strcmp(w.text, "{\"s\\\"k\":\"a\\\"b\\\\c\\nd\\u0001\xc3\xa9\",\"n\":[0.100000001,"
                              "0.10000000000000001,-9007199254740993,null,true,null],\"bad\":\"x\xef\xbf\xbdy\"}"),
              "%s", w.text);
    df_json_doc *doc = parse_ok(w.text);
    if (doc) {
        const df_json *r = df_json_root(doc);
        CHECK(!strcmp(df_json_get(r, "s\"k")->str, "a\"b\\c\nd\x01\xc3\xa9"));
        const df_json *n = df_json_get(r, "n");
        CHECK((float)n->items[0].number == 0.1f); /* %.9g round-trips float32 */
        CHECK(n->items[1].number == 0.1);
        CHECK(n->items[2].integer == -9007199254740993LL);
        df_json_free(doc);
    }
    df_json_writer_reset(&w);
    df_json_array_begin(&w);
    df_json_array_end(&w);
    CHECK(!strcmp(w.text, "[]") && w.len == 2);
    df_json_writer_free(&w);
}

int main(void) {
    test_valid();
    test_invalid();
    test_utf8();
    test_writer();
    return check_report();
}
