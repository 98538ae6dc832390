/* What the CPU can do, and the OpenBLAS kernel choice that follows from it. */
#ifndef ANT_CPUFEAT_H
#define ANT_CPUFEAT_H

/* Space-separated features in /proc/cpuinfo spelling, only those the OS also enables:
 * x86 "sse4_2 avx f16c fma avx2 avx512f avx512dq ...", aarch64 "neon fp16 dotprod ...",
 * "" elsewhere. Computed on the first call; the string is static. */
const char *cpufeat_string(void);
/* 1 if feature (one word, e.g. "avx512bw") is in cpufeat_string(). */
int cpufeat_has(const char *feature);

/* Call first thing in main(), before any BLAS call. OpenBLAS picks its kernels once, when
 * the library loads, and Debian's 0.3.21 runs its Haswell kernels on AVX-512 CPUs (about
 * half the sgemm speed of its SkylakeX ones). So on a CPU with AVX-512 F/BW/DQ/VL whose
 * OpenBLAS chose a non-AVX-512 core, this sets OPENBLAS_CORETYPE=SkylakeX and re-executes
 * the program once (Linux, /proc/self/exe). A user's OPENBLAS_CORETYPE is respected;
 * ANETRAIN_NO_REEXEC=1 turns it off; any failure just continues. */
void blas_env_prepare(char **argv);

#endif
