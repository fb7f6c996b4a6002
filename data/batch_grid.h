/* batch_grid.h: one batch drawn as an RGB grid (`dermfuse show-batch`): per sample, one cell holding the
 * image the model sees (the batch's normalised floats of one view turned back into RGB with
 * df_augment_denormalise, enlarged by an integer factor `zoom` by pixel repetition so small images stay
 * readable) above a caption strip in the built-in 5x7 font (data/image/font.h): the cell index and class
 * name, the sample id, then one line per chosen raw metadata field ("sex: female"; "?" when missing; the
 * value alone when the line would be wider than the cell), each line cut to the cell's width. Cells run left to right, top to bottom, separated by DF_GRID_PAD pixels. */
#ifndef DF_BATCH_GRID_H
#define DF_BATCH_GRID_H

#include "data/loader.h"

#define DF_GRID_PAD 4          /* pixels between cells and around the grid */
#define DF_GRID_MIN_ZOOMED 128 /* images smaller than this are enlarged by floor(128 / side) */
#define DF_GRID_MIN_CELL_W 120 /* a cell is at least this wide, for its captions */
#define DF_GRID_MAX_LINES 8    /* caption lines at most (label, id, then metadata fields) */

typedef struct {
    int n, cols, rows;
    int side, zoom;       /* the batch's image side and the enlargement */
    int cell_w, cell_h;   /* a cell: image (side * zoom square) then caption_lines text lines */
    int caption_lines;
    int width, height;    /* of the whole grid */
} df_grid_layout;

/* The layout for n images of side x side with n_meta_cols metadata fields: cols = ceil(sqrt(n)). */
void df_batch_grid_layout(int n, int side, int n_meta_cols, df_grid_layout *g);

/* Top-left corner of cell i's image; its pixel (x, y) of the batch image covers the zoom x zoom block from
 * (x0 + x * zoom, y0 + y * zoom). */
void df_batch_grid_cell(const df_grid_layout *g, int i, int *x0, int *y0);

/* Draws view `view` of batch b (images side x side, normalised with aug's mean/std; ds the dataset its
 * indices point into) into out (allocated here, RGB; free with df_image_free), with the metadata columns
 * cols[0..n_cols) (indices into ds->meta_cols; cols NULL: all of them) in the captions, and its layout in
 * *layout when non-NULL. Returns -1 with err set when the batch has no images of that view. */
int df_batch_grid(const df_batch *b, int view, int side, const df_augment_opts *aug, const df_dataset *ds,
                  const int *cols, int n_cols, df_image *out, df_grid_layout *layout, df_error *err);

#endif
