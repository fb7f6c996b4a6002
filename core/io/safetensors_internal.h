/* safetensors_internal.h: what the safetensors reader and writer share; not part of the API. */
#ifndef DF_SAFETENSORS_INTERNAL_H
#define DF_SAFETENSORS_INTERNAL_H

#include "core/io/safetensors.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors data is little-endian; this code assumes a little-endian host"
#endif

/* Elements in a shape, or -1 if the count times elem_bytes overflows. */
int64_t df_st_shape_count_(int rank, const int64_t *shape, int64_t elem_bytes);

#endif
