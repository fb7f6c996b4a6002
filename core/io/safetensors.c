/* safetensors.c: what reading and writing safetensors files share: the CRC-32 of the df.checksum metadata
 * (zlib's polynomial, sliced by 8 for speed) and shape arithmetic. The file format and its promises are in
 * safetensors.h; writing is in safetensors_write.c, reading and validation in safetensors_read.c. */
#include "core/io/safetensors_internal.h"

#include <pthread.h>
#include <stdio.h>

/* ---- CRC-32, slicing by 8 (eight table lookups per 8 input bytes instead of one per byte) ---- */

static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[0][i] = c;
    }
    for (int t = 1; t < 8; t++)
        for (int i = 0; i < 256; i++)
            crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
}

static uint32_t load_le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint32_t df_st_crc32(uint32_t crc, const void *data, size_t n) {
    pthread_once(&crc_once, crc_init);
    const unsigned char *p = data;
    crc = ~crc;
    for (; n >= 8; n -= 8, p += 8) {
        uint32_t a = crc ^ load_le32(p), b = load_le32(p + 4);
        crc = crc_table[7][a & 0xff] ^ crc_table[6][(a >> 8) & 0xff] ^ crc_table[5][(a >> 16) & 0xff] ^
              crc_table[4][a >> 24] ^ crc_table[3][b & 0xff] ^ crc_table[2][(b >> 8) & 0xff] ^
              crc_table[1][(b >> 16) & 0xff] ^ crc_table[0][b >> 24];
    }
    for (; n; n--, p++) crc = crc_table[0][(crc ^ *p) & 0xff] ^ (crc >> 8);
    return ~crc;
}

const char *df_st_shape_str(int rank, const int64_t *shape, char *buf, size_t size) {
    size_t used = 0;
    used += (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < rank && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (used < size) snprintf(buf + used, size - used, "]");
    return buf;
}


int64_t df_st_shape_count_(int rank, const int64_t *shape, int64_t elem_bytes) {
    int64_t count = 1;
    for (int i = 0; i < rank; i++) {
        if (shape[i] == 0) return 0;
        if (count > INT64_MAX / elem_bytes / shape[i]) return -1;
        count *= shape[i];
    }
    return count;
}
