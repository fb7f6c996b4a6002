/* svg.h: the few chart pieces the study report draws as inline SVG: a plot area with axes and grid,
 * polylines, scatter points, a legend and matrix cells. Everything is written as text to a FILE (e.g. an
 * open_memstream), numbers with fixed precision, so the same data always give the same bytes. Text is
 * escaped for XML; nothing refers to anything outside the document (no links, fonts or scripts). */
#ifndef DF_SVG_H
#define DF_SVG_H

#include <stdio.h>

/* A plot: data range [x0, x1] x [y0, y1] drawn into the pixel box (left, top, width, height) of an SVG. */
typedef struct {
    FILE *f;
    double x0, x1, y0, y1;
    double left, top, width, height;
} df_svg_plot;

/* Writes s with &, <, >, " and ' escaped (for HTML/XML text and attribute values). */
void df_svg_escape(FILE *f, const char *s);

/* <svg id=... class=... viewBox="0 0 width height" width="100%" role="img"> with an escaped <title>: the chart
 * scales to its container's width and keeps its aspect ratio. Close with df_svg_close. */
void df_svg_open(FILE *f, const char *id, const char *cls, int width, int height, const char *title);
void df_svg_close(FILE *f);

/* A colour of the categorical palette (cycles after 10). The report indexes it by a model's position in the
 * study (or by class in class-coloured charts), never by a chart's series, so a model keeps its colour. */
const char *df_svg_colour(int i);

/* Pixel coordinates of a data point. */
double df_svg_px(const df_svg_plot *p, double x);
double df_svg_py(const df_svg_plot *p, double y);

/* The plot's frame: grid lines and tick labels (n_xticks, n_yticks intervals), axis titles. */
void df_svg_axes(const df_svg_plot *p, const char *xlabel, const char *ylabel, int n_xticks, int n_yticks);

/* One polyline through the finite points (x[i], y[i]); a non-finite y breaks the line. dash may be NULL. */
void df_svg_polyline(const df_svg_plot *p, const double *x, const double *y, int n, const char *colour,
                     const char *cls, const char *dash);

/* Scatter points xy (n, 2), coloured by df_svg_colour(labels[i]). */
void df_svg_points(const df_svg_plot *p, const float *xy, const int *labels, int n, double radius);

/* An upper estimate of the width in pixels of text s at the given font size in a sans-serif face (per
 * character class: narrow, digits, lower case, upper case, wide), so that boxes sized from it hold the text. */
double df_svg_text_width(const char *s, double font_size);

/* Legends flow left to right below a plot, an entry being a swatch and its name, wrapping to a new row when
 * the next entry would pass x + width; nothing is ever cut. df_svg_legend_rows says how many rows the
 * entries take (so the SVG's height can be chosen before drawing); each row is DF_SVG_LEGEND_ROW high. */
#define DF_SVG_LEGEND_ROW 18
int df_svg_legend_rows(const char *const *names, int n, double width);
/* Draws the legend with its first row's centre line at y: colour swatches (dashed when dashes[i] is non-NULL)
 * and escaped names, each <text> with class "legend-text". */
void df_svg_legend(FILE *f, double x, double y, double width, const char *const *names,
                   const char *const *colours, const char *const *dashes, int n);

/* A horizontal colour bar of the Grad-CAM colour map (blue, cyan, yellow, red, as df_gradcam_colour) in the
 * box (x, y, width, height), labelled "low" and "high" heat under its ends. */
void df_svg_colour_bar(FILE *f, double x, double y, double width, double height);

#endif
