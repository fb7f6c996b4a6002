/* test_csv.c: the CSV reader on what real exports contain (quoted separators, doubled quotes, embedded line
 * breaks, CRLF, a byte-order mark, empty fields), its error messages (file:line and counts), and the writer
 * round-tripping through the reader. argv[1] is the fixture folder tests/data/fixtures/tab. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "data/table/csv.h"

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
    unlink(path);
    rmdir(dir);
}

int main(int argc, char **argv) {
    test_fixture(argc > 1 ? argv[1] : "tests/data/fixtures/tab");
    test_layouts();
    test_errors();
    test_writer();
    return check_report();
}
