/* utf8.h: checking that bytes are well-formed UTF-8 (RFC 3629), as every text field dermfuse reads must be.
 *
 * Well-formed means: each character is the shortest encoding of a code point in U+0000..U+10FFFF that is not
 * a UTF-16 surrogate (U+D800..U+DFFF). Overlong forms (C0 80 for NUL, E0 80 80, ...), stray continuation
 * bytes, truncated sequences and the bytes F5..FF are all refused. */
#ifndef DF_UTF8_H
#define DF_UTF8_H

#include <stddef.h>

/* Offset of the first byte of s[0..n) that does not start a well-formed character, or n when all are. */
size_t df_utf8_invalid_at(const char *s, size_t n);

#endif
