/* simd.h: how layers/ gets vector code from a generic x86-64 build.
 *
 * The library is compiled without -march, so hot elementwise loops are written as plain C loops over
 * contiguous floats (channels innermost in NHWC) inside small functions marked DF_SIMD_CLONES: GCC compiles
 * each such function for AVX-512, AVX2 and the baseline and picks one at load time by the CPU. OpenMP
 * regions stay outside those functions (a parallel loop calls the clone on its block of rows), because the
 * region's outlined body would not inherit the clone's target.
 *
 * Determinism: per-channel sums are accumulated row by row in the same order by every clone (the vector
 * lanes run across channels, never along a sum), and the build uses -std=c11, under which GCC does not
 * contract a*b+c into an FMA; so the clones give bit-identical results, and the thread count never changes
 * which rows a partial sum covers. */
#ifndef DF_LAYERS_SIMD_H
#define DF_LAYERS_SIMD_H

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define DF_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define DF_SIMD_CLONES
#endif

/* Rows per parallel block of an elementwise pass: large enough that a block is a few hundred KiB of work,
 * small enough that two threads share a 32 x 128 x 128 activation evenly. */
#define DF_ELEMENTS_PER_BLOCK (1 << 16)

#endif
