/* cmd_version.c: `dermfuse --version` / `dermfuse version`: what this binary is and what it will run on: the
 * version, the compiler, the CPU's vector path (what --gemm auto resolves to), the GEMM backend selected,
 * the OpenMP threads and how they wait (core/wait_policy.h), OpenBLAS's build and the MPI library with this process's rank. */
#include <omp.h>
#include <stdio.h>

#include "core/gemm/gemm.h"
#include "core/dist/dist.h"
#include "core/wait_policy.h"
#include "train/cli/commands.h"

#ifndef DF_VERSION
#define DF_VERSION "unknown"
#endif
#ifndef DF_COMPILER
#ifdef __clang__
#define DF_COMPILER "clang " __clang_version__
#else
#define DF_COMPILER "gcc " __VERSION__
#endif
#endif

/* OpenBLAS's own build string; cblas.h does not declare it everywhere. */
char *openblas_get_config(void);

/* The vector path of this CPU: the kernel that --gemm auto resolves to. */
static const char *vector_path(void) {
    if (df_gemm_backend_supported(DF_GEMM_AVX512)) return "AVX-512 (avx512 kernels)";
    /* Which of the AVX2 convolution kernels run depends on the FMA units (layers/conv/conv_kernel.h). */
    if (df_gemm_backend_supported(DF_GEMM_AVX2))
        return df_gemm_fma_halved() ? "AVX2 + FMA, 256-bit FMAs run as two halves (avx2 kernels)"
                                    : "AVX2 + FMA, full-width FMA units (avx2 kernels)";
    return "baseline (portable kernels)";
}

int df_cmd_version(int argc, char **argv) {
    const char *gemm = NULL;
    int threads = 0;
    df_arg_opt opts[] = {
        DF_OPT_STRING("--gemm", &gemm, "BACKEND", "show this backend as the selected one: " DF_CLI_GEMM_HELP,
                      "auto"),
        DF_OPT_INT("--threads", &threads, "N", "show this many OpenMP threads", "all cores", 1, 1024),
    };
    df_args_spec spec = {"version", DF_SUMMARY_VERSION, opts, 2, NULL, 0, DF_EXAMPLES_VERSION};
    int st = df_args_parse(&spec, argc, argv, stdout, stderr);
    if (st) return df_args_exit_status(st);
    if (gemm) {
        df_gemm_backend b;
        if (df_gemm_backend_parse(gemm, &b) || df_gemm_set_backend(b)) {
            fprintf(stderr, "dermfuse version: --gemm: '%s' is not a backend this CPU runs "
                            "(auto, avx512, avx2, portable, openblas)\n", gemm);
            return 2;
        }
    }
    if (threads) omp_set_num_threads(threads);
    const char *blas = openblas_get_config();
    printf("dermfuse %s\n", DF_VERSION);
    printf("compiler:       %s\n", DF_COMPILER);
    printf("vector path:    %s\n", vector_path());
    printf("gemm backend:   %s\n", df_gemm_backend_name(df_gemm_get_backend()));
    printf("openmp threads: %d\n", omp_get_max_threads());
    printf("openmp waiting: %s\n", df_wait_policy_describe());
    printf("openblas:       %s\n", blas ? blas : "(no configuration string)");
    printf("mpi:            %s, rank %d of %d\n", df_dist_library(), df_dist_rank(df_dist_world()),
           df_dist_size(df_dist_world()));
    return 0;
}
