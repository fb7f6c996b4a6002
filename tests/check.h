/* check.h: the tests' assertions. A failed check prints file:line and what differed, and marks the test
 * failed; the test keeps going so one run shows every failure. main() ends with `return check_report();`. */
#ifndef DF_CHECK_H
#define DF_CHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int check_failures_;
static int check_count_;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        check_count_++;                                                                            \
        if (!(cond)) {                                                                             \
            check_failures_++;                                                                     \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                       \
    do {                                                                                           \
        check_count_++;                                                                            \
        if (!(cond)) {                                                                             \
            check_failures_++;                                                                     \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);               \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

/* |a - b| <= atol + rtol * |b| */
#define CHECK_CLOSE(a, b, atol, rtol)                                                              \
    do {                                                                                           \
        double a_ = (a), b_ = (b);                                                                 \
        check_count_++;                                                                            \
        if (!(fabs(a_ - b_) <= (atol) + (rtol) * fabs(b_))) {                                      \
            check_failures_++;                                                                     \
            fprintf(stderr, "%s:%d: %s = %.9g, expected %s = %.9g (atol %g, rtol %g)\n", __FILE__, \
                    __LINE__, #a, a_, #b, b_, (double)(atol), (double)(rtol));                     \
        }                                                                                          \
    } while (0)

/* meson runs the kernel tests a second time under valgrind (the *_avx2_only tests), whose virtual CPU has
 * AVX2 and no AVX-512, so every run-time dispatch takes its AVX2 path. With DF_TEST_EXPECT_NO_AVX512=1 a
 * test checks that this is so, and fails rather than pass on AVX-512 a second time. */
static inline void check_expected_cpu(void) {
#if defined(__x86_64__) && defined(__GNUC__)
    const char *e = getenv("DF_TEST_EXPECT_NO_AVX512");
    if (e && e[0] == '1') {
        __builtin_cpu_init();
        CHECK_MSG(!__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2"),
                  "DF_TEST_EXPECT_NO_AVX512: this CPU should have AVX2 and no AVX-512");
    }
#endif
}

static inline int check_report(void) {
    if (check_failures_)
        fprintf(stderr, "%d of %d checks failed\n", check_failures_, check_count_);
    else
        printf("all %d checks passed\n", check_count_);
    return check_failures_ ? 1 : 0;
}

#endif
