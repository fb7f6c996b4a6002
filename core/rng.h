/* rng.h: seeded, counter-based random streams.
 *
 * A stream is (key, counter): the n-th number of a stream is a pure function of the key and n (SplitMix64's
 * output mix of key + n * golden-ratio increment), so any element can be drawn without drawing the ones
 * before it. That makes results independent of thread count (element i uses counter base + i) and makes a
 * stream's whole state two integers that a checkpoint can save. Nothing here reads the clock.
 *
 * Streams are derived per purpose from the run seed, so changing, say, the augmentation does not change the
 * initial weights. */
#ifndef DF_RNG_H
#define DF_RNG_H

#include <stdint.h>

typedef enum {
    DF_STREAM_INIT = 1,    /* parameter initialisation */
    DF_STREAM_SHUFFLE = 2, /* epoch order */
    DF_STREAM_AUGMENT = 3, /* data augmentation */
    DF_STREAM_DROPOUT = 4, /* dropout masks */
    DF_STREAM_SPLIT = 5,   /* train/test splits and folds */
    DF_STREAM_SYNTH = 6,   /* synthetic data generation */
    DF_STREAM_STATS = 7,   /* bootstrap resampling in analyses */
    DF_STREAM_META_DROPOUT = 8, /* training samples whose metadata are withheld (train.meta_dropout) */
} df_stream;

typedef struct {
    uint64_t key;
    uint64_t counter;
} df_rng;

static inline uint64_t df_mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Key of a sub-stream: e.g. df_rng_key(seed, DF_STREAM_AUGMENT) then df_rng_subkey(key, epoch). */
static inline uint64_t df_rng_key(uint64_t seed, uint64_t stream) {
    return df_mix64(df_mix64(seed ^ 0x6a09e667f3bcc909ULL) + stream * 0x9e3779b97f4a7c15ULL);
}
static inline uint64_t df_rng_subkey(uint64_t key, uint64_t id) { return df_rng_key(key, id + 0x51ed27ULL); }

static inline df_rng df_rng_make(uint64_t seed, uint64_t stream) {
    df_rng r = {df_rng_key(seed, stream), 0};
    return r;
}

/* The n-th 64-bit number of the stream with this key. */
static inline uint64_t df_rng_at(uint64_t key, uint64_t n) {
    return df_mix64(key + (n + 1) * 0x9e3779b97f4a7c15ULL);
}
/* Uniform in [0, 1) with 24 bits, exactly representable as float. */
static inline float df_uniform_at(uint64_t key, uint64_t n) {
    return (float)(df_rng_at(key, n) >> 40) * (1.0f / 16777216.0f);
}

static inline uint64_t df_rng_u64(df_rng *r) { return df_rng_at(r->key, r->counter++); }
static inline float df_rng_uniform(df_rng *r) { return df_uniform_at(r->key, r->counter++); }
/* Uniform integer in [0, n), n > 0; Lemire's multiply-shift, bias below 2^-32 for n < 2^32. */
static inline uint32_t df_rng_below(df_rng *r, uint32_t n) {
    return (uint32_t)(((df_rng_u64(r) >> 32) * (uint64_t)n) >> 32);
}
/* Standard normal (Box-Muller on two draws). */
float df_rng_normal(df_rng *r);

/* Fisher-Yates shuffle of idx[0..n). */
void df_rng_shuffle(df_rng *r, int *idx, int n);

#endif
