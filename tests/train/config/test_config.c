/* test_config.c: the YAML config layer: parsing with marks, bases, --set overrides, strict schema binding
 * with file:line:column errors, and dump -> reload round trips.
 *
 * Usage: test_config <fixture dir> (tests/data/fixtures/config). Error messages are checked for their exact
 * position prefix and their key phrase; round trips write into a fresh temporary directory. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "train/config/config_schema.h"
#include "train/config/config_tree.h"

/* ---- a small schema shaped like the real one ---- */

/* Enums and their names tables, in the same order: the schema binds a name to its index. */
typedef enum { KIND_MLP, KIND_CNN, KIND_RESNET } kind_t;
static const char *const kinds[] = {"mlp", "cnn", "resnet", NULL};
typedef enum { OPT_SGD, OPT_ADAM, OPT_ADAMW } optimizer_t;
static const char *const optimizers[] = {"sgd", "adam", "adamw", NULL};

typedef struct {
    kind_t kind;
    int width;
    double dropout;
} model_cfg;

typedef struct {
    double lr;
    int epochs;
    optimizer_t optimizer;
    int n_milestones;
    long milestones[8];
    char *data;
    int nesterov;
    char *name;
    int n_tags;
    char *tags[4];
    int n_weights;
    double weights[4];
    long seed;
    char *out;
} train_cfg;

typedef struct {
    model_cfg model;
    train_cfg train;
} test_cfg;



static const df_cfg_field model_fields[] = {
    {"kind", DF_CFG_ENUM, DF_CFG_AT(model_cfg, kind), .required = 1, .choices = kinds, .help = "architecture"},
    {"width", DF_CFG_INT, DF_CFG_AT(model_cfg, width), .range = "[1, 4096]", .def = "64"},
    {"dropout", DF_CFG_DOUBLE, DF_CFG_AT(model_cfg, dropout), .range = "[0, 1)", .def = "0"},
};
static const df_cfg_section model_section = DF_CFG_SECTION_OF("model", model_fields, model_cfg);

static const df_cfg_field train_fields[] = {
    {"lr", DF_CFG_DOUBLE, DF_CFG_AT(train_cfg, lr), .required = 1, .range = "(0, inf)", .help = "learning rate"},
    {"epochs", DF_CFG_INT, DF_CFG_AT(train_cfg, epochs), .range = "[1, 100000]", .def = "10"},
    {"optimizer", DF_CFG_ENUM, DF_CFG_AT(train_cfg, optimizer), .choices = optimizers, .def = "sgd"},
    {"milestones", DF_CFG_INTS, DF_CFG_LIST_AT(train_cfg, milestones, n_milestones), .range = "[1, inf)",
     .def = "[]"},
    {"data", DF_CFG_PATH, DF_CFG_AT(train_cfg, data), .required = 1, .flags = DF_CFG_MUST_EXIST | DF_CFG_NONEMPTY},
    {"nesterov", DF_CFG_BOOL, DF_CFG_AT(train_cfg, nesterov), .def = "false"},
    {"name", DF_CFG_STRING, DF_CFG_AT(train_cfg, name), .def = "run"},
    {"tags", DF_CFG_STRINGS, DF_CFG_LIST_AT(train_cfg, tags, n_tags), .def = "[]"},
    {"weights", DF_CFG_DOUBLES, DF_CFG_LIST_AT(train_cfg, weights, n_weights), .range = "[0, inf)", .def = "[1]"},
    {"seed", DF_CFG_LONG, DF_CFG_AT(train_cfg, seed), .def = "0"},
    {"out", DF_CFG_PATH, DF_CFG_AT(train_cfg, out), .def = "''", .help = "output folder ('' : none)"},
};
static const df_cfg_section train_section = DF_CFG_SECTION_OF("train", train_fields, train_cfg);

static const df_cfg_field root_fields[] = {
    {"model", DF_CFG_SECTION, DF_CFG_AT(test_cfg, model), .required = 1, .sub = &model_section},
    {"train", DF_CFG_SECTION, DF_CFG_AT(test_cfg, train), .sub = &train_section},
};
static const df_cfg_section root_section = DF_CFG_SECTION_OF("", root_fields, test_cfg);

/* ---- helpers ---- */

static char fixtures[PATH_MAX];
static char fixtures_real[PATH_MAX];

static const char *fx(const char *name) {
    static char buf[4][PATH_MAX + 64];
    static int slot;
    slot = (slot + 1) % 4;
    snprintf(buf[slot], sizeof buf[slot], "%s/%s", fixtures, name);
    return buf[slot];
}

static int load(const char *file, const char *const *sets, int n_sets, test_cfg *cfg, df_error *err) {
    err->msg[0] = '\0';
    return df_cfg_load_bind(fx(file), sets, n_sets, &root_section, cfg, err);
}

/* Expects binding to fail with a message beginning with `prefix` (a file:line:column) and containing
 * `phrase`. */
static void expect_error(const char *file, const char *const *sets, int n_sets, const char *prefix,
                         const char *phrase) {
    test_cfg cfg;
    df_error err;
    int rc = load(file, sets, n_sets, &cfg, &err);
    CHECK_MSG(rc == -1, "%s: expected an error", file);
    CHECK_MSG(strncmp(err.msg, prefix, strlen(prefix)) == 0, "%s: message '%s' should begin with '%s'", file,
              err.msg, prefix);
    CHECK_MSG(strstr(err.msg, phrase) != NULL, "%s: message '%s' should contain '%s'", file, err.msg, phrase);
    /* a failed bind leaves nothing behind */
    CHECK(cfg.train.data == NULL && cfg.model.kind == KIND_MLP && cfg.train.n_tags == 0);
    printf("  %s\n", err.msg);
}

static int trees_equal(const df_cfg_node *a, const df_cfg_node *b) {
    if (df_cfg_is_null(a) || df_cfg_is_null(b)) return df_cfg_is_null(a) && df_cfg_is_null(b);
    if (a->kind != b->kind || a->n != b->n || strcmp(a->text, b->text) != 0) return 0;
    if (a->kind == DF_CFG_NODE_SCALAR && a->quoted != b->quoted && a->text[0]) {
        /* a quoted string may come back plain (or plain back quoted) only when it cannot be read as
         * anything but a string; numbers and booleans never change */
        const char *t = a->text;
        if (strchr("0123456789+-.", t[0]) || !strcmp(t, "true") || !strcmp(t, "false")) return 0;
    }
    for (int i = 0; i < a->n; i++) {
        if (a->keys && strcmp(a->keys[i]->text, b->keys[i]->text) != 0) return 0;
        if (!trees_equal(a->items[i], b->items[i])) return 0;
    }
    return 1;
}

static void real_of(const char *path, char *out) {
    if (!realpath(path, out)) snprintf(out, PATH_MAX, "(unresolvable %s)", path);
}

/* ---- tests ---- */

static void test_schema_table(void) {
    df_error err = {{0}};
    CHECK_MSG(df_cfg_check_schema(&root_section, &err) == 0, "%s", err.msg);

    /* a default that breaks its own range is caught by the same rules as a config value */
    static const df_cfg_field bad_fields[] = {
        {"rate", DF_CFG_DOUBLE, 0, .range = "[0, 1]", .def = "-1"},
    };
    static const df_cfg_section bad = {"bad", bad_fields, 1, sizeof(double)};
    CHECK(df_cfg_check_schema(&bad, &err) == -1);
    CHECK_MSG(strstr(err.msg, "<default of rate>:1:1: rate must be in [0, 1], got -1"), "%s", err.msg);
    static const df_cfg_field no_default[] = {{"rate", DF_CFG_DOUBLE, 0, .range = "[0, 1]"}};
    static const df_cfg_section nodef = {"nodef", no_default, 1, sizeof(double)};
    CHECK(df_cfg_check_schema(&nodef, &err) == -1);
    CHECK_MSG(strstr(err.msg, "no default"), "%s", err.msg);
    static const df_cfg_field bad_range[] = {{"rate", DF_CFG_DOUBLE, 0, .range = "[1, 0]", .def = "0"}};
    static const df_cfg_section badr = {"badr", bad_range, 1, sizeof(double)};
    CHECK(df_cfg_check_schema(&badr, &err) == -1);
}

static void test_valid(void) {
    test_cfg cfg;
    df_error err;
    int rc = load("valid.yaml", NULL, 0, &cfg, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    if (rc) return;
    CHECK(cfg.model.kind == KIND_RESNET);
    CHECK(cfg.model.width == 32);
    CHECK(cfg.model.dropout == 0.25);
    CHECK(cfg.train.lr == 0.01);
    CHECK(cfg.train.epochs == 20);
    CHECK(cfg.train.optimizer == OPT_ADAM);
    CHECK(cfg.train.n_milestones == 3 && cfg.train.milestones[0] == 5 && cfg.train.milestones[2] == 15);
    char expect[PATH_MAX + 32];
    snprintf(expect, sizeof expect, "%s/data.csv", fixtures_real);
    CHECK_MSG(!strcmp(cfg.train.data, expect), "data = %s, expected %s", cfg.train.data, expect);
    CHECK(cfg.train.nesterov == 1);
    CHECK(!strcmp(cfg.train.name, "run one"));
    CHECK(cfg.train.n_tags == 2 && !strcmp(cfg.train.tags[0], "a") && !strcmp(cfg.train.tags[1], "b: c"));
    CHECK(cfg.train.n_weights == 2 && cfg.train.weights[0] == 1.0 && cfg.train.weights[1] == 2.5e-3);
    CHECK(cfg.train.seed == -7);
    CHECK(cfg.train.out && cfg.train.out[0] == '\0'); /* the default '' stays empty, unresolved */
    df_cfg_print_table(&root_section, &cfg, stdout);
    df_cfg_release(&root_section, &cfg);
    CHECK(cfg.train.data == NULL && cfg.model.kind == KIND_MLP);

    /* defaults fill what a file leaves out, and aliases copy anchored values */
    rc = load("anchors.yaml", NULL, 0, &cfg, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    if (rc) return;
    CHECK(cfg.model.width == 48 && cfg.train.epochs == 48);
    CHECK(cfg.model.dropout == 0.0 && cfg.train.nesterov == 0 && cfg.train.optimizer == OPT_SGD);
    CHECK(cfg.train.n_milestones == 0 && cfg.train.n_weights == 1 && cfg.train.weights[0] == 1.0);
    CHECK(!strcmp(cfg.train.name, "run"));
    df_cfg_release(&root_section, &cfg);
}

static void test_errors(void) {
    char p[PATH_MAX + 64];
#define AT(file, line, col) (snprintf(p, sizeof p, "%s/%s:%d:%d: ", fixtures, file, line, col), p)
    expect_error("typo.yaml", NULL, 0, AT("typo.yaml", 3, 3),
                 "unknown key 'optimiser' in 'train' (did you mean 'optimizer'?)");
    expect_error("wrong_type.yaml", NULL, 0, AT("wrong_type.yaml", 4, 11), "train.epochs: expected an integer, got 'abc'");
    expect_error("neg_lr.yaml", NULL, 0, AT("neg_lr.yaml", 5, 7), "train.lr must be > 0, got -0.1");
    expect_error("missing_path.yaml", NULL, 0, AT("missing_path.yaml", 5, 9), "'no_such_file.csv' does not exist");
    expect_error("missing_required.yaml", NULL, 0, AT("missing_required.yaml", 4, 3),
                 "missing required key 'lr' in 'train'");
    expect_error("dup_key.yaml", NULL, 0, AT("dup_key.yaml", 4, 3),
                 "duplicate key 'width' (first defined at line 3 column 3)");
    expect_error("bad_syntax.yaml", NULL, 0, AT("bad_syntax.yaml", 4, 6), "invalid YAML: did not find expected ',' or ']'");
    expect_error("nope.yaml", NULL, 0, fx("nope.yaml"), "cannot open config: No such file or directory");

    /* base merging: a bad value supplied by a base is reported in the base file */
    expect_error("child_bad.yaml", NULL, 0, AT("bases/bad_dropout.yaml", 2, 12), "model.dropout must be in [0, 1), got 1.5");
    snprintf(p, sizeof p, "%s/cycle_b.yaml:1:7: ", fixtures);
    char chain[4 * PATH_MAX];
    snprintf(chain, sizeof chain, "base configs form a cycle: %s/cycle_a.yaml -> %s/cycle_b.yaml -> %s/cycle_a.yaml",
             fixtures, fixtures, fixtures);
    expect_error("cycle_a.yaml", NULL, 0, p, chain);

    /* --set errors name the argument and the column within it */
    const char *typo[] = {"train.optimiser=adam"};
    expect_error("valid.yaml", typo, 1, "<command line --set train.optimiser=adam>:1:7: ",
                 "unknown key 'optimiser' in 'train' (did you mean 'optimizer'?)");
    const char *neg[] = {"train.lr=-1"};
    expect_error("valid.yaml", neg, 1, "<command line --set train.lr=-1>:1:10: ", "train.lr must be > 0, got -1");
    const char *big[] = {"train.epochs=99999999999999999999"};
    expect_error("valid.yaml", big, 1, "<command line --set train.epochs=99999999999999999999>:1:14: ",
                 "out of range");
    const char *through[] = {"train.lr.x=1"};
    expect_error("valid.yaml", through, 1, "<command line --set train.lr.x=1>:1:7: ",
                 "'train.lr' is a value, not a section");
    const char *noeq[] = {"train.lr"};
    expect_error("valid.yaml", noeq, 1, "<command line --set train.lr>:1:1: ", "expected key.path=value");
    const char *map[] = {"train={lr: 1}"};
    expect_error("valid.yaml", map, 1, "<command line --set train={lr: 1}>:1:7: ", "set one key at a time");

    /* more type strictness, through --set so each case is one line */
    struct {
        const char *set, *phrase;
    } cases[] = {
        {"train.nesterov=yes", "train.nesterov: expected true or false, got 'yes'"},
        {"train.lr=\"0.1\"", "train.lr: expected a number, got the quoted string '0.1'"},
        {"train.lr=.inf", "train.lr: expected a number, got '.inf'"},
        {"train.lr=1e999", "too large to be a finite number"},
        {"train.epochs=2.0", "train.epochs: expected an integer, got '2.0'"},
        {"train.epochs=12abc", "train.epochs: expected an integer, got '12abc'"},
        {"train.epochs=0", "train.epochs must be in [1, 100000], got 0"},
        {"train.lr=0", "train.lr must be > 0, got 0"},
        {"model.dropout=1", "model.dropout must be in [0, 1), got 1"},
        {"model.width=-0", "model.width must be in [1, 4096], got -0"},
        {"train.data=", "train.data: must not be empty"}, /* nothing after '=' is '', which this key refuses */
        {"train.milestones=3", "train.milestones: expected a list such as [a, b], got '3'"},
        {"train.milestones=[1, 0]", "train.milestones[1] must be >= 1, got 0"},
        {"train.milestones=[1,2,3,4,5,6,7,8,9]", "9 items given, at most 8 allowed"},
        {"train.optimizer=adamm", "'adamm' is not one of sgd, adam, adamw (did you mean 'adam'?)"},
        {"model=3", "model: expected a mapping of keys, got '3'"},
        {"trian.lr=1", "unknown key 'trian' at the top level (did you mean 'train'?)"},
        {"train.data=''", "train.data: must not be empty"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char prefix[300];
        snprintf(prefix, sizeof prefix, "<command line --set %s>:1:", cases[i].set);
        expect_error("valid.yaml", &cases[i].set, 1, prefix, cases[i].phrase);
    }
#undef AT
}

static void test_yaml_refusals(void) {
    struct {
        const char *text, *phrase;
    } cases[] = {
        {"a: !!str 1\n", "1:4: tags are not supported"},
        {"a: &x {b: 1}\n<<: *x\n", "2:1: merge keys '<<' are not supported"},
        {"a: 1\n---\nb: 2\n", "2:1: a second YAML document"},
        {"a: *nope\n", "1:4: alias '*nope' names no anchor"},
        {"? [a, b]\n: 1\n", "1:3: a mapping key must be a plain name"},
        {"a: 'unterminated\n", "invalid YAML"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        df_cfg_node *n = NULL;
        df_error err = {{0}};
        int rc = df_cfg_parse_string(cases[i].text, "inline.yaml", 0, NULL, &n, &err);
        CHECK_MSG(rc == -1 && strstr(err.msg, cases[i].phrase), "case %zu: rc %d, '%s'", i, rc, err.msg);
        if (rc == 0) df_cfg_free(n);
    }
    /* an alias bomb stops at the node limit instead of exhausting memory */
    char bomb[2048];
    size_t len = (size_t)snprintf(bomb, sizeof bomb, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for (int i = 1; i < 10; i++)
        len += (size_t)snprintf(bomb + len, sizeof bomb - len, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n",
                                i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
    df_cfg_node *n = NULL;
    df_error err = {{0}};
    int rc = df_cfg_parse_string(bomb, "bomb.yaml", 0, NULL, &n, &err);
    CHECK_MSG(rc == -1 && strstr(err.msg, "config.nodes"), "bomb: rc %d '%s'", rc, err.msg);
    if (rc == 0) df_cfg_free(n);
}

static void test_bases(void) {
    test_cfg cfg;
    df_error err;
    int rc = load("child.yaml", NULL, 0, &cfg, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    if (rc) return;
    CHECK(cfg.model.kind == KIND_CNN);           /* from the base */
    CHECK(cfg.model.width == 128);                   /* the child wins */
    CHECK(cfg.model.dropout == 0.1 && cfg.train.lr == 0.1 && cfg.train.epochs == 5);
    CHECK(cfg.train.optimizer == OPT_SGD);
    char got[PATH_MAX], want[PATH_MAX];
    real_of(cfg.train.data, got); /* resolved against the base file's folder, bases/ */
    real_of(fx("data.csv"), want);
    CHECK_MSG(!strcmp(got, want), "data %s, expected %s", got, want);
    df_cfg_release(&root_section, &cfg);

    /* the merged tree keeps each value's own file and line, and loses the base key */
    df_cfg_node *root;
    rc = df_cfg_load(fx("child.yaml"), &root, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    if (rc) return;
    CHECK(df_cfg_get(root, "base") == NULL);
    const df_cfg_node *kind = df_cfg_find(root, "model.kind"), *width = df_cfg_find(root, "model.width");
    CHECK(kind && strstr(kind->file, "bases/common.yaml") && kind->line == 3 && kind->column == 9);
    CHECK(width && strstr(width->file, "child.yaml") && width->line == 3 && width->column == 10);
    /* key order: base keys first, in base order */
    const df_cfg_node *model = df_cfg_get(root, "model");
    CHECK(model && model->n == 3 && !strcmp(model->keys[0]->text, "kind") && !strcmp(model->keys[2]->text, "dropout"));
    df_cfg_free(root);
}

static void test_overrides(void) {
    test_cfg cfg;
    df_error err;
    const char *sets[] = {"train.lr=0.02", "model.dropout=0.5", "train.milestones=[2, 4]", "train.name='x y'",
                          "train.out=runs/a"};
    int rc = load("anchors.yaml", sets, 5, &cfg, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    if (rc) return;
    CHECK(cfg.train.lr == 0.02);
    CHECK(cfg.model.dropout == 0.5); /* a key the file did not have */
    CHECK(cfg.train.n_milestones == 2 && cfg.train.milestones[1] == 4);
    CHECK(!strcmp(cfg.train.name, "x y"));
    char cwd[PATH_MAX], want[PATH_MAX + 16];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    snprintf(want, sizeof want, "%s/runs/a", cwd); /* --set paths are relative to the working directory */
    CHECK_MSG(!strcmp(cfg.train.out, want), "out %s, expected %s", cfg.train.out, want);
    df_cfg_release(&root_section, &cfg);

    /* later overrides win; a new section is created on the way */
    df_cfg_node *root = df_cfg_new(DF_CFG_NODE_MAP, "", 0, "t", NULL, 1, 1);
    const char *two[] = {"a.b.c=1", "a.b.c=2", "a.d=[x, 'y']"};
    CHECK(df_cfg_set_all(root, two, 3, &err) == 0);
    const df_cfg_node *c = df_cfg_find(root, "a.b.c"), *d = df_cfg_find(root, "a.d");
    CHECK(c && !strcmp(c->text, "2") && c->line == 1 && c->column == 7 && strstr(c->file, "--set a.b.c=2"));
    CHECK(d && d->kind == DF_CFG_NODE_SEQ && d->n == 2 && d->items[1]->quoted && !d->items[0]->quoted);
    df_cfg_free(root);
}

/* `key=` with nothing after '=' is the empty string: a string or path key takes it (a path then names
 * none); a number, boolean, choice or list refuses it, pointing at the end of the --set argument. */
static void test_empty_override(void) {
    test_cfg cfg;
    df_error err;
    const char *sets[] = {"train.name=", "train.out="};
    int rc = load("anchors.yaml", sets, 2, &cfg, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    if (rc == 0) {
        CHECK(!strcmp(cfg.train.name, "") && !strcmp(cfg.train.out, ""));
        df_cfg_release(&root_section, &cfg);
    }
    df_cfg_node *root = df_cfg_new(DF_CFG_NODE_MAP, "", 0, "t", NULL, 1, 1);
    CHECK(df_cfg_set(root, "a.b=", &err) == 0);
    const df_cfg_node *v = df_cfg_find(root, "a.b");
    CHECK(v && v->kind == DF_CFG_NODE_SCALAR && v->quoted && !strcmp(v->text, "") && v->column == 5);
    df_cfg_free(root);
    static const char *const refused[][2] = {
        {"train.epochs=", "train.epochs: expected an integer"},
        {"train.lr=", "train.lr: expected a number"},
        {"train.nesterov=", "train.nesterov: expected true or false"},
        {"train.optimizer=", "train.optimizer: '' is not one of"},
        {"train.milestones=", "train.milestones: expected a list"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "<command line --set %s>:1:%d: ", refused[i][0],
                 (int)strlen(refused[i][0]) + 1);
        expect_error("anchors.yaml", &refused[i][0], 1, prefix, refused[i][1]);
    }
}

static void test_round_trip(const char *tmp) {
    test_cfg cfg, back;
    df_error err;
    const char *sets[] = {"train.lr=0.30000000000000004", "train.weights=[1e-300, 123456789.123, 0.1]",
                          "train.seed=-9223372036854775808"};
    int rc = load("valid.yaml", sets, 3, &cfg, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    if (rc) return;
    /* strings that a careless writer would turn into other types or break YAML with */
    free(cfg.train.name);
    cfg.train.name = strdup("true");
    const char *tricky[] = {"", "a: b", "#x", "- y"};
    for (int i = 0; i < cfg.train.n_tags; i++) free(cfg.train.tags[i]);
    for (int i = 0; i < 4; i++) cfg.train.tags[i] = strdup(tricky[i]);
    cfg.train.n_tags = 4;

    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/config.yaml", tmp);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) return;
    CHECK(df_cfg_dump_struct(&root_section, &cfg, f) == 0);
    fclose(f);
    rc = df_cfg_load_bind(path, NULL, 0, &root_section, &back, &err);
    CHECK_MSG(rc == 0, "reload: %s", err.msg);
    if (rc == 0) {
        char where[256];
        CHECK_MSG(df_cfg_compare(&root_section, &cfg, &back, where, sizeof where) == 0, "differs at %s", where);
        CHECK(back.train.lr == 0.1 + 0.2 && back.train.weights[0] == 1e-300 && back.train.weights[1] == 123456789.123);
        CHECK(back.train.seed == -9223372036854775807L - 1);
        CHECK(!strcmp(back.train.name, "true") && back.train.n_tags == 4 && !strcmp(back.train.tags[3], "- y"));
        CHECK(!strcmp(back.train.data, cfg.train.data));
        back.train.lr *= 2;
        CHECK(df_cfg_compare(&root_section, &cfg, &back, where, sizeof where) == 1 && !strcmp(where, "train.lr"));
        df_cfg_release(&root_section, &back);
    }
    char *text = df_cfg_to_yaml(&root_section, &cfg);
    CHECK(strstr(text, "  lr: 0.30000000000000004\n") && strstr(text, "  name: \"true\"\n"));
    CHECK(strstr(text, "  weights: [1.0e-300, 123456789.123, 0.1]\n"));
    printf("%s", text);
    free(text);
    df_cfg_release(&root_section, &cfg);
    remove(path);

    /* a tree dumps and parses back to the same tree, block sequences of mappings included */
    df_cfg_node *tree, *again;
    const char *doc = "a:\n  - {x: 1, y: [p, q]}\n  - [1, 2]\n  - - z\n    - {w: 'v'}\n  - ''\nb: {}\nc: []\n"
                      "d: \"multi\\nline\"\ne: ~\nf:\n\"y\": [yes, '1', \"tab\\there\", caf\u00e9]\n"
                      /* NEL, LS and PS, which YAML reads as line breaks even inside quotes, and characters
                       * it refuses raw: a C1 control, U+FFFE */
                      "g: \"a\\Nb\\Lc\\Pd\\x84e\\uFFFEf\"\n\"k\\N\": [\"\\L\"]\n"
                      /* plain in a block, but not in the flow list the dump writes */
                      "h:\n  - a:?b\n  - c::]\n";
    rc = df_cfg_parse_string(doc, "doc", 0, NULL, &tree, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    if (rc) return;
    f = fopen(path, "w");
    CHECK(f && df_cfg_dump(tree, f) == 0);
    if (f) fclose(f);
    rc = df_cfg_parse_file(path, &again, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    if (rc == 0) {
        CHECK(trees_equal(tree, again));
        const df_cfg_node *g = df_cfg_get(again, "g");
        CHECK(g && !strcmp(g->text, "a\xc2\x85" "b\xe2\x80\xa8" "c\xe2\x80\xa9" "d\xc2\x84" "e\xef\xbf\xbe" "f"));
        df_cfg_free(again);
    }
    df_cfg_free(tree);
    remove(path);
}

/* df_cfg_tree_diff compares keys as well as values: mappings that differ only in a key's name differ. */
static void test_tree_diff(void) {
    df_cfg_node *a, *b, *c;
    df_error err;
    int rc = df_cfg_parse_string("s: {x: 1, y: [2]}\n", "a", 0, NULL, &a, &err) ||
             df_cfg_parse_string("s: {x: 1, z: [2]}\n", "b", 0, NULL, &b, &err) ||
             df_cfg_parse_string("s: {x: 1, y: [2]}\n", "c", 0, NULL, &c, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    if (rc) return;
    char where[256];
    CHECK(df_cfg_tree_diff(a, c, NULL, where, sizeof where) == 0);
    CHECK_MSG(df_cfg_tree_diff(a, b, NULL, where, sizeof where) == 1 && !strcmp(where, "s.y"), "where '%s'", where);
    const char *skip[] = {"s.y", NULL};
    CHECK_MSG(df_cfg_tree_diff(a, b, skip, where, sizeof where) == 1, "a renamed key is not a skipped one");
    df_cfg_free(a);
    df_cfg_free(b);
    df_cfg_free(c);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s <fixture dir>\n", argv[0]);
        return 2;
    }
    snprintf(fixtures, sizeof fixtures, "%s", argv[1]);
    real_of(fixtures, fixtures_real);
    char tmp[] = "/tmp/df_config_XXXXXX";
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 2;
    }
    test_schema_table();
    test_valid();
    test_errors();
    test_yaml_refusals();
    test_bases();
    test_overrides();
    test_empty_override();
    test_round_trip(tmp);
    test_tree_diff();
    rmdir(tmp);
    return check_report();
}
