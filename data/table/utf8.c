/* utf8.c: the UTF-8 well-formedness check (see utf8.h), after the table of well-formed byte sequences in
 * the Unicode Standard (chapter 3, table 3-7): the second byte's range depends on the first, which is what
 * excludes overlongs (E0, F0), surrogates (ED) and code points past U+10FFFF (F4). */
#include "data/table/utf8.h"

size_t df_utf8_invalid_at(const char *text, size_t n) {
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        int more;                   /* continuation bytes after the first */
        unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
        if (c >= 0xC2 && c <= 0xDF) more = 1;
        else if (c == 0xE0) more = 2, lo = 0xA0;        /* below: overlong */
        else if (c >= 0xE1 && c <= 0xEC) more = 2;
        else if (c == 0xED) more = 2, hi = 0x9F;        /* above: surrogates */
        else if (c >= 0xEE && c <= 0xEF) more = 2;
        else if (c == 0xF0) more = 3, lo = 0x90;        /* below: overlong */
        else if (c >= 0xF1 && c <= 0xF3) more = 3;
        else if (c == 0xF4) more = 3, hi = 0x8F;        /* above: past U+10FFFF */
        else return i;                                  /* 80..C1 (stray or overlong lead), F5..FF */
        if (n - i <= (size_t)more) return i;            /* truncated at the end */
        if (s[i + 1] < lo || s[i + 1] > hi) return i;
        for (int k = 2; k <= more; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF) return i;
        i += (size_t)more + 1;
    }
    return n;
}
