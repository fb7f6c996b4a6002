/* font.h: a tiny built-in 5x7 bitmap font for printable ASCII, to write captions into images without a font
 * library (`dermfuse show-batch`). Each glyph is 5 columns of 7 pixels; text advances 6 pixels per character
 * and a line of text takes DF_FONT_LINE pixels. */
#ifndef DF_IMAGE_FONT_H
#define DF_IMAGE_FONT_H

#include "data/image/image.h"

#define DF_FONT_W 5
#define DF_FONT_H 7
#define DF_FONT_ADVANCE 6 /* pixels per character */
#define DF_FONT_LINE 9    /* pixels per line of text */

/* Whether pixel (x, y) (0 <= x < 5, 0 <= y < 7, y downwards) of character ch is set; characters outside
 * 32..126 are drawn as '?'. */
int df_font_pixel(char ch, int x, int y);

/* Draws at most max_chars characters of text (max_chars < 0: all) with its top-left corner at (x, y) into an
 * RGB image (c = 3) in colour rgb, clipped to the image. Returns the number of characters drawn. */
int df_font_draw(df_image *img, int x, int y, const char *text, int max_chars, const unsigned char rgb[3]);

#endif
