/* json_internal.h: what the JSON reader and writer share; not part of the API. */
#ifndef DF_JSON_INTERNAL_H
#define DF_JSON_INTERNAL_H

#include "core/io/json.h"

/* Length of the valid UTF-8 sequence at s[0..n) (n >= 1), or 0 if it is invalid. */
size_t df_json_utf8_seq_(const unsigned char *s, size_t n);

#endif
