/* png_error.h: libpng's error and warning callbacks, shared by the PNG reader (image_png.c) and writer
 * (image_write.c). libpng reports an error by calling the error callback, which must not return: it copies
 * the message into the error pointer, a char[DF_PNG_MSG], and longjmps to the caller's setjmp(png_jmpbuf).
 * Warnings (a bad CRC in an ancillary chunk, say) are dropped. */
#ifndef DF_PNG_ERROR_H
#define DF_PNG_ERROR_H

#include <png.h>

#define DF_PNG_MSG 256

void df_png_on_error(png_structp png, png_const_charp msg);
void df_png_on_warning(png_structp png, png_const_charp msg);

#endif
