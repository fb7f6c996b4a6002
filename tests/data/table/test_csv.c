/* test_csv.c: the CSV reader on what real exports contain (quoted separators, doubled quotes, embedded line
 * breaks, CRLF, a byte-order mark, empty fields), its error messages (file:line and counts), its refusals
 * (text that is not UTF-8, UTF-16 files, each size limit, a folder or a FIFO given as the file), unique
 * columns, and the writer round-tripping through the reader. argv[1] is the fixture folder
 * tests/data/fixtures/tab. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "data/table/csv.h"
#include "data/table/utf8.h"

static int parse(const char *text, df_csv *t, df_error *err) {
    return df_csv_parse(text, strlen(text), "x.csv", t, err);
}

static void test_fixture(const char *dir) {
    char path[1024];
    df_csv t;
    df_error err = {""};
    snprintf(path, sizeof path, "%s/bom_crlf.csv", dir);
    CHECK_MSG(df_csv_read(path, &t, &err) == 0, "%s", err.msg);
    CHECK(t.n_cols == 3 && t.n_rows == 3);
    if (t.n_cols == 3 && t.n_rows == 3) {
        CHECK(!strcmp(t.header[0], "id")); /* the BOM is not part of the first name */
        CHECK(df_csv_col(&t, "id") == 0 && df_csv_col(&t, "note") == 2 && df_csv_col(&t, "nope") == -1);
        CHECK(!strcmp(df_csv_get(&t, 0, 1), "Smith, J."));
        CHECK(!strcmp(df_csv_get(&t, 0, 2), "said \"hi\""));
        CHECK(!strcmp(df_csv_get(&t, 1, 1), ""));
        CHECK(!strcmp(df_csv_get(&t, 1, 2), "two\r\nlines"));
        CHECK(!strcmp(df_csv_get(&t, 2, 2), ""));
        CHECK(t.lines[0] == 2 && t.lines[1] == 3 && t.lines[2] == 5);
    }
    df_csv_free(&t);

    snprintf(path, sizeof path, "%s/short_row.csv", dir);
    CHECK(df_csv_read(path, &t, &err) == -1);
    CHECK_MSG(strstr(err.msg, "short_row.csv:3:") && strstr(err.msg, "2 fields") && strstr(err.msg, "expected 3"),
              "%s", err.msg);
    df_csv_free(&t);
}

static void test_layouts(void) {
    df_csv t;
    df_error err = {""};
    /* LF, no final newline, empty fields at both ends, blank lines skipped, a literal quote mid-field */
    CHECK(parse("a,b,c\n,2,\n\n4,5'11\",6", &t, &err) == 0);
    CHECK(t.n_rows == 2 && t.lines[1] == 4);
    CHECK(!strcmp(df_csv_get(&t, 0, 0), "") && !strcmp(df_csv_get(&t, 0, 2), ""));
    CHECK(!strcmp(df_csv_get(&t, 1, 1), "5'11\"") && !strcmp(df_csv_get(&t, 1, 2), "6"));
    df_csv_free(&t);

    /* An unnamed first column (an index some exporters write): the file starts with an empty field */
    CHECK(parse(",id\n0,a\n", &t, &err) == 0);
    CHECK(t.n_cols == 2 && t.n_rows == 1 && !strcmp(t.header[0], "") && !strcmp(df_csv_get(&t, 0, 1), "a"));
    df_csv_free(&t);

    /* A quoted field holding LF; line numbers count it; lone CR ends a record */
    CHECK(parse("a,b\r1,\"x\ny\"\r2,\"\"\r", &t, &err) == 0);
    CHECK(t.n_rows == 2);
    if (t.n_rows == 2) {
        CHECK(!strcmp(df_csv_get(&t, 0, 1), "x\ny") && !strcmp(df_csv_get(&t, 1, 1), ""));
        CHECK(t.lines[0] == 2 && t.lines[1] == 4);
    }
    df_csv_free(&t);

    /* Header only */
    CHECK(parse("a,b\n", &t, &err) == 0 && t.n_rows == 0 && t.n_cols == 2);
    df_csv_free(&t);
}

static void test_errors(void) {
    df_csv t;
    df_error err = {""};
    CHECK(parse("a,b\n1,2\n3,\"open\n4,5\n", &t, &err) == -1);
    CHECK_MSG(strstr(err.msg, "x.csv:3:") && strstr(err.msg, "never closed"), "%s", err.msg);
    CHECK(parse("a,b\n1,2,3\n", &t, &err) == -1);
    CHECK_MSG(strstr(err.msg, "x.csv:2:") && strstr(err.msg, "3 fields, expected 2"), "%s", err.msg);
    CHECK(parse("a,b\n\"1\"x,2\n", &t, &err) == -1);
    CHECK_MSG(strstr(err.msg, "x.csv:2:") && strstr(err.msg, "after a closing quote"), "%s", err.msg);
    CHECK(parse("a,b,a\n", &t, &err) == -1);
    CHECK_MSG(strstr(err.msg, "'a' appears twice"), "%s", err.msg);
    CHECK(parse("", &t, &err) == -1);
    CHECK_MSG(strstr(err.msg, "empty file"), "%s", err.msg);
    CHECK(df_csv_parse("a\n\0\n", 4, "bin.csv", &t, &err) == -1);
    CHECK_MSG(strstr(err.msg, "bin.csv:2:") && strstr(err.msg, "NUL"), "%s", err.msg);
    CHECK(df_csv_read("/nonexistent/dir/f.csv", &t, &err) == -1);
    CHECK_MSG(strstr(err.msg, "/nonexistent/dir/f.csv"), "%s", err.msg);

    CHECK(parse("image,class\n", &t, &err) == 0);
    const char *need[] = {"image", "isic_id", "class", "lesion_id"};
    CHECK(df_csv_require_cols(&t, need, 2, &err) == -1);
    CHECK(df_csv_require_cols(&t, need, 4, &err) == -1);
    CHECK_MSG(strstr(err.msg, "x.csv") && strstr(err.msg, "'isic_id'") && strstr(err.msg, "'lesion_id'") &&
                  !strstr(err.msg, "'image'"), "%s", err.msg);
    const char *have[] = {"class", "image"};
    CHECK(df_csv_require_cols(&t, have, 2, &err) == 0);
    df_csv_free(&t);
}


/* The validator on its own: well-formed sequences of each length, and each kind of malformed one, with the
 * offset of the first bad byte. */
static void test_utf8(void) {
    static const struct {
        const char *s;
        size_t bad; /* (size_t)-1: valid */
    } cases[] = {
        {"plain ascii", (size_t)-1},
        {"caf\xc3\xa9", (size_t)-1},             /* U+00E9 */
        {"\xe2\x82\xac", (size_t)-1},            /* U+20AC */
        {"\xf0\x9f\x98\x80", (size_t)-1},        /* U+1F600 */
        {"\xef\xbb\xbf", (size_t)-1},            /* U+FEFF inside text is a character like any other */
        {"\xf4\x8f\xbf\xbf", (size_t)-1},        /* U+10FFFF, the last code point */
        {"caf\xe9", 3},                          /* Latin-1 e-acute */
        {"a\x80", 1},                            /* stray continuation byte */
        {"\xc0\xaf", 0},                         /* overlong '/' */
        {"\xc1\xbf", 0},                         /* overlong */
        {"\xe0\x80\xaf", 0},                     /* overlong, three bytes */
        {"\xf0\x80\x80\xaf", 0},                 /* overlong, four bytes */
        {"x\xed\xa0\x80", 1},                    /* U+D800, a surrogate */
        {"\xed\xbf\xbf", 0},                     /* U+DFFF */
        {"\xf4\x90\x80\x80", 0},                 /* past U+10FFFF */
        {"\xf5\x80\x80\x80", 0},
        {"\xff", 0},
        {"ab\xe2\x82", 2},                       /* truncated at the end */
        {"\xe2\x28\xa1", 0},                     /* second byte not a continuation */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = strlen(cases[i].s), want = cases[i].bad == (size_t)-1 ? n : cases[i].bad;
        size_t got = df_utf8_invalid_at(cases[i].s, n);
        CHECK_MSG(got == want, "case %zu: got %zu, expected %zu", i, got, want);
    }
}

/* Text that is not UTF-8 is refused naming the file, line and column, wherever it is. */
static void test_encoding(void) {
    df_csv t;
    df_error err = {""};
    CHECK_MSG(parse("name,city\nJos\xc3\xa9,K\xc3\xb8" "benhavn\n", &t, &err) == 0, "%s", err.msg);
    CHECK(t.n_rows == 1 && !strcmp(df_csv_get(&t, 0, 0), "Jos\xc3\xa9"));
    df_csv_free(&t);
    struct {
        const char *text, *want1, *want2;
    } bad[] = {
        {"name,city\nok,fine\nJos\xe9,Paris\n", "x.csv:3:", "column 1 ('name')"},       /* Latin-1 */
        {"name,city\nok,\"two\nl\xc0\xafnes\"\n", "x.csv:2:", "column 2 ('city')"},      /* overlong, quoted */
        {"name,city\nok,\xed\xa0\x80\n", "x.csv:2:", "column 2 ('city')"},              /* surrogate */
        {"na\xffme,city\nok,fine\n", "x.csv:1:", "header, column 1"},                   /* in the header */
        {"name,city\nok,fin\xe2\x82", "x.csv:2:", "column 2"},                          /* truncated at EOF */
        {"name,city\nok,fine,\xe9\n", "x.csv:2:", "column 3:"},                          /* past the header */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_MSG(parse(bad[i].text, &t, &err) == -1, "case %zu accepted", i);
        CHECK_MSG(strstr(err.msg, bad[i].want1) && strstr(err.msg, bad[i].want2) && strstr(err.msg, "UTF-8"),
                  "case %zu: %s", i, err.msg);
    }
    /* UTF-16 (either byte order) is named as such, not as a NUL byte. */
    CHECK(df_csv_parse("\xff\xfe" "a\0,\0b\0", 8, "u16.csv", &t, &err) == -1);
    CHECK_MSG(strstr(err.msg, "u16.csv") && strstr(err.msg, "UTF-16"), "%s", err.msg);
    CHECK(df_csv_parse("\xfe\xff\0a", 4, "u16be.csv", &t, &err) == -1);
    CHECK_MSG(strstr(err.msg, "UTF-16"), "%s", err.msg);
    /* A UTF-8 byte-order mark is dropped; line numbers are unchanged. */
    CHECK(parse("\xef\xbb\xbfid,v\n1,\xef\xbb\xbfx\n", &t, &err) == 0);
    CHECK(t.n_cols == 2 && !strcmp(t.header[0], "id") && t.lines[0] == 2);
    CHECK(t.n_rows == 1 && !strcmp(df_csv_get(&t, 0, 1), "\xef\xbb\xbfx")); /* not at the start: kept */
    df_csv_free(&t);
}

static char *repeat(char c, size_t n) {
    char *s = malloc(n + 1);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* Each limit: just at it passes, one over fails naming the file, the line and the limit's name. */
static void test_limits(void) {
    df_csv t;
    df_error err = {""};
    df_csv_limits lim = {.max_rows = 3, .max_cols = 3, .max_cells = 11, .max_field_bytes = 4, .max_line_bytes = 64};
    df_csv_limits line = {.max_rows = 9, .max_cols = 9, .max_cells = 99, .max_field_bytes = 99, .max_line_bytes = 8};
    struct {
        const df_csv_limits *lim;
        const char *text;
        int ok;
        const char *want1, *want2;
    } cases[] = {
        {&lim, "a,b\n1,2\n3,4\n5,6\n", 1, "", ""},
        {&lim, "a,b\n1,2\n3,4\n5,6\n7,8\n", 0, "lim.csv:5:", "DF_CSV_MAX_ROWS"},
        {&lim, "a,b,c\n1,2,3\n", 1, "", ""},
        {&lim, "a,b,c,d\n1,2,3,4\n", 0, "lim.csv:1:", "DF_CSV_MAX_COLS"},
        {&lim, "a,b\n1,2\n3,4,5,6,7\n", 0, "lim.csv:3:", "DF_CSV_MAX_COLS"},
        {&lim, "a,b,c\n1,2,3\n4,5,6\n7,8,9\n", 0, "lim.csv:4:", "DF_CSV_MAX_CELLS"},
        {&lim, "a,b\n1234,2\n", 1, "", ""},
        {&lim, "a,b\n12345,2\n", 0, "lim.csv:2:", "DF_CSV_MAX_FIELD_BYTES"},
        {&lim, "a,b\n1,\"12\n345\"\n", 0, "lim.csv:", "DF_CSV_MAX_FIELD_BYTES"},
        {&lim, "a,b\n1,\"\"\"\"\"\"\"\"\"\"\"\"\n", 0, "lim.csv:2:", "DF_CSV_MAX_FIELD_BYTES"}, /* 5 quotes */
        {&line, "a,b\n1234,123\n", 1, "", ""},  /* 8 bytes */
        {&line, "a,b\n1234,1234\n", 0, "lim.csv:2:", "DF_CSV_MAX_LINE_BYTES"},
        {&line, "a,b\n1,\"12345\n123456\"\n", 1, "", ""}, /* a quoted line break starts a new line */
        {&line, "a,b\n1,\"123456\n1\"\n", 0, "lim.csv:2:", "DF_CSV_MAX_LINE_BYTES"},
        {&line, "a,b\n1,\"1\n12345678\"\n", 0, "lim.csv:3:", "DF_CSV_MAX_LINE_BYTES"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err.msg[0] = '\0';
        int rc = df_csv_parse_limited(cases[i].text, strlen(cases[i].text), "lim.csv", cases[i].lim, &t, &err);
        CHECK_MSG(rc == (cases[i].ok ? 0 : -1), "case %zu: rc %d: %s", i, rc, err.msg);
        if (!cases[i].ok)
            CHECK_MSG(strstr(err.msg, cases[i].want1) && strstr(err.msg, cases[i].want2), "case %zu: %s", i,
                      err.msg);
        if (rc == 0) df_csv_free(&t);
    }
    /* The default limits, on a field and a line just over them. */
    char *field = repeat('x', DF_CSV_MAX_FIELD_BYTES + 1);
    size_t n = strlen(field) + 16;
    char *text = malloc(n);
    snprintf(text, n, "a,b\n1,%s\n", field);
    CHECK(parse(text, &t, &err) == -1);
    CHECK_MSG(strstr(err.msg, "x.csv:2:") && strstr(err.msg, "column 2") && strstr(err.msg, "1048576") &&
                  strstr(err.msg, "DF_CSV_MAX_FIELD_BYTES"), "%s", err.msg);
    free(text);
    free(field);
    /* A line of 5 fields of 1 MiB - 1 bytes: no field is too long, the line is. */
    size_t f = DF_CSV_MAX_FIELD_BYTES - 1, at = strlen("a,b,c,d,e\n");
    text = malloc(at + 5 * (f + 1) + 1);
    memcpy(text, "a,b,c,d,e\n", at);
    for (int k = 0; k < 5; k++) {
        memset(text + at, 'y', f);
        at += f;
        text[at++] = k < 4 ? ',' : '\n';
    }
    text[at] = '\0';
    CHECK(parse(text, &t, &err) == -1);
    CHECK_MSG(strstr(err.msg, "x.csv:2:") && strstr(err.msg, "DF_CSV_MAX_LINE_BYTES"), "%s", err.msg);
    free(text);
}

/* A folder or a FIFO given as the CSV fails at once, saying what it is. */
static void test_not_a_file(void) {
    char dir[] = "/tmp/df_test_csv_nf_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    df_csv t;
    df_error err = {""};
    CHECK(df_csv_read(dir, &t, &err) == -1);
    CHECK_MSG(strstr(err.msg, dir) && strstr(err.msg, "not a regular file"), "%s", err.msg);
    char fifo[128];
    snprintf(fifo, sizeof fifo, "%s/pipe.csv", dir);
    CHECK(mkfifo(fifo, 0600) == 0);
    time_t t0 = time(NULL);
    CHECK(df_csv_read(fifo, &t, &err) == -1); /* no writer: this must not wait for one */
    CHECK(time(NULL) - t0 < 5);
    CHECK_MSG(strstr(err.msg, "pipe.csv") && strstr(err.msg, "not a regular file"), "%s", err.msg);
    unlink(fifo);
    rmdir(dir);
}

static void test_unique(void) {
    df_csv t;
    df_error err = {""};
    CHECK(parse("id,v\nA,1\n,2\nB,3\n,4\nC,5\n", &t, &err) == 0);
    CHECK_MSG(df_csv_check_unique(&t, 0, &err) == 0, "%s", err.msg); /* empty fields are not compared */
    CHECK(df_csv_check_unique(&t, 1, &err) == 0);
    df_csv_free(&t);
    CHECK(parse("id,v\nA,1\nB,2\nC,3\nB,4\n", &t, &err) == 0);
    CHECK(df_csv_check_unique(&t, 0, &err) == -1);
    CHECK_MSG(strstr(err.msg, "x.csv:5:") && strstr(err.msg, "'B'") && strstr(err.msg, "line 3") &&
                  strstr(err.msg, "'id'"), "%s", err.msg);
    df_csv_free(&t);
}

static void test_writer(void) {
    char dir[] = "/tmp/df_test_csv_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/out.csv", dir);
    const char *rows[3][4] = {
        {"id", "text", "empty", "space"},
        {"1", "a, b", "", " lead"},
        {"2", "say \"x\"\nnext", "", "trail "},
    };
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    for (int r = 0; r < 3; r++) CHECK(df_csv_write_row(f, rows[r], 4) == 0);
    const char *single[] = {""};
    fclose(f);
    df_csv t;
    df_error err = {""};
    CHECK_MSG(df_csv_read(path, &t, &err) == 0, "%s", err.msg);
    CHECK(t.n_rows == 2 && t.n_cols == 4);
    int same = t.n_rows == 2;
    for (int r = 0; same && r < 2; r++)
        for (int c = 0; c < 4; c++) same &= !strcmp(df_csv_get(&t, r, c), rows[r + 1][c]);
    CHECK(same);
    df_csv_free(&t);

    /* A one-column table with an empty value must not turn into a skipped blank line. */
    f = fopen(path, "wb");
    const char *head[] = {"v"};
    df_csv_write_row(f, head, 1);
    df_csv_write_row(f, single, 1);
    fclose(f);
    CHECK(df_csv_read(path, &t, &err) == 0 && t.n_rows == 1 && !strcmp(df_csv_get(&t, 0, 0), ""));
    df_csv_free(&t);

    /* A first field that starts with U+FEFF (a file that had two byte-order marks) keeps it: written first in
     * the file, it must not be taken for the byte-order mark. */
    f = fopen(path, "wb");
    const char *bom_head[] = {"\xef\xbb\xbfid", "v"}, *bom_row[] = {"1", "\xef\xbb\xbf"};
    df_csv_write_row(f, bom_head, 2);
    df_csv_write_row(f, bom_row, 2);
    fclose(f);
    CHECK_MSG(df_csv_read(path, &t, &err) == 0, "%s", err.msg);
    CHECK(t.n_cols == 2 && t.n_rows == 1 && !strcmp(t.header[0], bom_head[0]) &&
          !strcmp(df_csv_get(&t, 0, 1), bom_row[1]));
    df_csv_free(&t);
    unlink(path);
    rmdir(dir);
}

int main(int argc, char **argv) {
    test_fixture(argc > 1 ? argv[1] : "tests/data/fixtures/tab");
    test_layouts();
    test_errors();
    test_utf8();
    test_encoding();
    test_limits();
    test_not_a_file();
    test_unique();
    test_writer();
    return check_report();
}
