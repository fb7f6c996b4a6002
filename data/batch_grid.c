/* batch_grid.c: see batch_grid.h. */
#include "data/batch_grid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/image/font.h"

void df_batch_grid_layout(int n, int side, int n_meta_cols, df_grid_layout *g) {
    memset(g, 0, sizeof *g);
    g->n = n;
    g->cols = 1;
    while (g->cols * g->cols < n) g->cols++;
    g->rows = n > 0 ? (n + g->cols - 1) / g->cols : 0;
    g->side = side;
    g->zoom = side < DF_GRID_MIN_ZOOMED ? DF_GRID_MIN_ZOOMED / side : 1;
    g->caption_lines = 2 + n_meta_cols < DF_GRID_MAX_LINES ? 2 + n_meta_cols : DF_GRID_MAX_LINES;
    int img = side * g->zoom;
    g->cell_w = img > DF_GRID_MIN_CELL_W ? img : DF_GRID_MIN_CELL_W;
    g->cell_h = img + 2 + g->caption_lines * DF_FONT_LINE;
    g->width = g->cols * g->cell_w + (g->cols + 1) * DF_GRID_PAD;
    g->height = g->rows * g->cell_h + (g->rows + 1) * DF_GRID_PAD;
}

void df_batch_grid_cell(const df_grid_layout *g, int i, int *x0, int *y0) {
    *x0 = DF_GRID_PAD + (i % g->cols) * (g->cell_w + DF_GRID_PAD);
    *y0 = DF_GRID_PAD + (i / g->cols) * (g->cell_h + DF_GRID_PAD);
}

int df_batch_grid(const df_batch *b, int view, int side, const df_augment_opts *aug, const df_dataset *ds,
                  const int *cols, int n_cols, df_image *out, df_grid_layout *layout, df_error *err) {
    if (view < 0 || view >= DF_MAX_VIEWS || !b->images[view])
        return df_fail(err, "batch grid: the batch holds no images of view %d", view);
    df_grid_layout g;
    if (!cols) n_cols = ds->n_meta_cols;
    df_batch_grid_layout(b->n, side, n_cols, &g);
    if (layout) *layout = g;
    df_image_alloc(out, g.width, g.height, 3);
    memset(out->data, 24, (size_t)g.width * g.height * 3); /* dark grey background */
    static const unsigned char label_rgb[3] = {255, 220, 90}, id_rgb[3] = {170, 170, 170}, text_rgb[3] = {235, 235, 235};
    unsigned char *rgb = df_malloc((size_t)side * side * 3);
    int max_chars = (g.cell_w + 1) / DF_FONT_ADVANCE;
    char line[256];
    for (int i = 0; i < b->n; i++) {
        int x0, y0;
        df_batch_grid_cell(&g, i, &x0, &y0);
        df_augment_denormalise(b->images[view] + (size_t)side * side * aug->channels * i, side, side, aug, rgb);
        for (int y = 0; y < side * g.zoom; y++)
            for (int x = 0; x < side * g.zoom; x++)
                memcpy(out->data + ((size_t)(y0 + y) * g.width + x0 + x) * 3,
                       rgb + ((size_t)(y / g.zoom) * side + x / g.zoom) * 3, 3);
        int s = b->indices[i], ty = y0 + side * g.zoom + 2;
        snprintf(line, sizeof line, "%d %s", i, ds->class_names[ds->labels[s]]);
        df_font_draw(out, x0, ty, line, max_chars, label_rgb);
        df_font_draw(out, x0, ty + DF_FONT_LINE, ds->ids ? ds->ids[s] : "", max_chars, id_rgb);
        for (int k = 0; k < n_cols && 2 + k < g.caption_lines; k++) {
            int c = cols ? cols[k] : k;
            const char *v = ds->meta_values[(size_t)s * ds->n_meta_cols + c];
            int len = snprintf(line, sizeof line, "%s: %s", ds->meta_cols[c], *v ? v : "?");
            if (len > max_chars) snprintf(line, sizeof line, "%s", *v ? v : "?"); /* the value alone */
            df_font_draw(out, x0, ty + (2 + k) * DF_FONT_LINE, line, max_chars, text_rgb);
        }
    }
    free(rgb);
    return 0;
}
