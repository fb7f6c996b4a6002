/* test_show_batch.c: `dermfuse show-batch` on a tiny synthetic set (40 images of 32x32): the PNG has the
 * grid's size (data/batch_grid.h), and its cells hold exactly the batch's images turned back into RGB, as a
 * training session's loader gives them (batch 1 of epoch 0, after augmentation); a metadata-only model and
 * a batch past the end are refused with status 1. Usage: test_show_batch TMPDIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "data/batch_grid.h"
#include "train/cli/commands.h"
#include "train/session/session.h"

static int run(int (*cmd)(int, char **), const char *args) {
    char buf[2048], *argv[32];
    snprintf(buf, sizeof buf, "%s", args);
    int argc = 0;
    for (char *t = strtok(buf, " "); t && argc < 31; t = strtok(NULL, " ")) argv[argc++] = t;
    argv[argc] = NULL;
    return cmd(argc, argv);
}

int main(int argc, char **argv) {
    char dir[512], cmd[2048], cfg_path[600], png[600];
    snprintf(dir, sizeof dir, "%s/df_show_batch_XXXXXX", argc > 1 ? argv[1] : "/tmp");
    CHECK(mkdtemp(dir) != NULL);
    snprintf(cmd, sizeof cmd, "synth --out %s/data --n 40 --size 32 --seed 3 --format png", dir);
    CHECK(run(df_cmd_synth, cmd) == 0);
    snprintf(cfg_path, sizeof cfg_path, "%s/c.yaml", dir);
    FILE *f = fopen(cfg_path, "w");
    fprintf(f, "run:\n  name: sb\n  out_dir: %s/runs\n  seed: 5\n"
               "data:\n  layout: isic\n  split: holdout\n  train_csv: data/metadata.csv\n  image_dir: data/images\n"
               "  image_size: 32\n  workers: 1\n  numeric: [age_approx]\n  categorical: [sex, anatom_site_general]\n"
               "model:\n  fusion: intermediate\ntrain:\n  batch_size: 8\n", dir);
    fclose(f);
    snprintf(png, sizeof png, "%s/batch.png", dir);
    snprintf(cmd, sizeof cmd, "show-batch %s --out %s --batch 1 --threads 1", cfg_path, png);
    CHECK(run(df_cmd_show_batch, cmd) == 0);

    df_image img = {0};
    df_error err;
    CHECK_MSG(df_image_load(png, 0, 0, &img, &err) == 0, "%s", err.msg);
    df_grid_layout g;
    df_batch_grid_layout(8, 32, 3, &g); /* 8 samples of 32x32, age, sex and site in the captions */
    CHECK_MSG(img.w == g.width && img.h == g.height && g.cols == 3 && g.rows == 3 && g.zoom == 4,
              "png %dx%d, grid %dx%d", img.w, img.h, g.width, g.height);

    /* The same batch from a training session: every cell equals the batch's denormalised image. */
    df_run_config cfg;
    CHECK_MSG(df_run_config_load(cfg_path, NULL, 0, &cfg, &err) == 0, "%s", err.msg);
    df_session s;
    CHECK_MSG(df_session_open(&s, &cfg, cfg.model.fusion, DF_SESSION_TRAIN, 1, &err) == 0, "%s", err.msg);
    df_loader_start_epoch(s.train, 0, 1);
    const df_batch *b;
    CHECK(df_loader_next(s.train, &b, &err) == 1 && b->n == 8);
    df_loader_opts o;
    df_session_loader_opts(&s, 1, &o);
    unsigned char rgb[32 * 32 * 3];
    int diff = 0, distinct = 0;
    for (int i = 0; i < b->n && img.data && img.w == g.width; i++) {
        df_augment_denormalise(b->images[0] + (size_t)32 * 32 * 3 * i, 32, 32, &o.aug, rgb);
        int x0, y0;
        df_batch_grid_cell(&g, i, &x0, &y0);
        for (int y = 0; y < 32 * g.zoom; y++)
            for (int x = 0; x < 32 * g.zoom; x++)
                diff += memcmp(img.data + ((size_t)(y0 + y) * img.w + x0 + x) * 3,
                               rgb + ((size_t)(y / g.zoom) * 32 + x / g.zoom) * 3, 3) != 0;
        distinct += rgb[0] != rgb[3 * 32 * 16 + 48];
    }
    CHECK_MSG(diff == 0 && distinct > 0, "%d pixels differ", diff);
    /* The caption strip holds text: bright pixels under the first cell's image. */
    int lit = 0;
    for (int y = 32 * g.zoom + 2; y < g.cell_h && img.data; y++)
        for (int x = 0; x < g.cell_w; x++) lit += img.data[((size_t)(DF_GRID_PAD + y) * img.w + DF_GRID_PAD + x) * 3] > 128;
    CHECK_MSG(lit > 50, "%d caption pixels", lit);
    df_session_close(&s);
    df_run_config_free(&cfg);
    df_image_free(&img);

    /* Refused: a batch past the end (4 batches of 8 in 40 samples less the held-out ones), a model without
     * images; bad usage gives 2. */
    snprintf(cmd, sizeof cmd, "show-batch %s --out %s --batch 99", cfg_path, png);
    CHECK(run(df_cmd_show_batch, cmd) == 1);
    snprintf(cmd, sizeof cmd, "show-batch %s --out %s --set model.fusion=meta", cfg_path, png);
    CHECK(run(df_cmd_show_batch, cmd) == 1);
    snprintf(cmd, sizeof cmd, "show-batch %s --split nowhere", cfg_path);
    CHECK(run(df_cmd_show_batch, cmd) == 2);
    snprintf(cmd, sizeof cmd, "show-batch %s --out %s --split test", cfg_path, png);
    CHECK(run(df_cmd_show_batch, cmd) == 0);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return check_report();
}
