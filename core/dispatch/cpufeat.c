/* CPU feature detection (cpuid / hwcaps) and the OpenBLAS core-type re-exec. */
#define _GNU_SOURCE
#include "dispatch/cpufeat.h"

#include "base/blas.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#elif defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#elif defined(__aarch64__) && defined(__APPLE__)
#include <sys/sysctl.h>
#endif

/* Set by blas_env_prepare in the re-executed process, so it never loops. */
#define REEXEC_GUARD "ANETRAIN_BLAS_REEXEC"

static char features[512];

static void add(const char *name)
{
    size_t n = strlen(features);
    if (n + strlen(name) + 2 > sizeof features) return;
    if (n) features[n++] = ' ';
    strcpy(features + n, name);
}

#if defined(__x86_64__) || defined(__i386__)
static uint64_t xcr0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

static void detect(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return;
    /* AVX state needs the OS to save YMM (XCR0 bits 1-2); AVX-512 also opmask and
     * ZMM (bits 5-7) */
    uint64_t x = (c >> 27 & 1) ? xcr0() : 0;
    int os_avx = (x & 0x6) == 0x6, os_avx512 = os_avx && (x & 0xe0) == 0xe0;
    if (c >> 20 & 1) add("sse4_2");
    if (!os_avx) return;
    if (c >> 28 & 1) add("avx");
    if (c >> 29 & 1) add("f16c");
    if (c >> 12 & 1) add("fma");
    unsigned max = __get_cpuid_max(0, NULL);
    if (max < 7) return;
    __cpuid_count(7, 0, a, b, c, d);
    unsigned b7 = b, c7 = c, d7 = d;
    if (b7 >> 5 & 1) add("avx2");
    if (b7 >> 8 & 1) add("bmi2");
    if (!os_avx512) return;
    static const struct { int bit; const char *name; } ebx[] = {
        {16, "avx512f"}, {17, "avx512dq"}, {21, "avx512ifma"}, {28, "avx512cd"},
        {30, "avx512bw"}, {31, "avx512vl"},
    };
    for (size_t i = 0; i < sizeof ebx / sizeof *ebx; i++)
        if (b7 >> ebx[i].bit & 1) add(ebx[i].name);
    if (c7 >> 1 & 1) add("avx512vbmi");
    if (c7 >> 11 & 1) add("avx512_vnni");
    __cpuid_count(7, 1, a, b, c, d);
    if (a >> 5 & 1) add("avx512_bf16");
    if (d7 >> 23 & 1) add("avx512_fp16");
}
#elif defined(__aarch64__) && defined(__linux__)
static void detect(void)
{
    unsigned long hw = getauxval(AT_HWCAP);
    (void)hw;
    add("neon");   /* Advanced SIMD is mandatory on AArch64 */
#ifdef HWCAP_ASIMDHP
    if (hw & HWCAP_ASIMDHP) add("fp16");
#endif
#ifdef HWCAP_ASIMDDP
    if (hw & HWCAP_ASIMDDP) add("dotprod");
#endif
#ifdef HWCAP_SVE
    if (hw & HWCAP_SVE) add("sve");
#endif
#if defined(AT_HWCAP2) && defined(HWCAP2_I8MM)
    if (getauxval(AT_HWCAP2) & HWCAP2_I8MM) add("i8mm");
#endif
#if defined(AT_HWCAP2) && defined(HWCAP2_BF16)
    if (getauxval(AT_HWCAP2) & HWCAP2_BF16) add("bf16");
#endif
}
#elif defined(__aarch64__) && defined(__APPLE__)
static void detect(void)
{
    static const struct { const char *key, *name; } opt[] = {
        {"hw.optional.arm.FEAT_FP16", "fp16"}, {"hw.optional.arm.FEAT_DotProd", "dotprod"},
        {"hw.optional.arm.FEAT_I8MM", "i8mm"}, {"hw.optional.arm.FEAT_BF16", "bf16"},
        {"hw.optional.arm.FEAT_SME", "sme"},
    };
    add("neon");
    for (size_t i = 0; i < sizeof opt / sizeof *opt; i++) {
        int v = 0;
        size_t n = sizeof v;
        if (sysctlbyname(opt[i].key, &v, &n, NULL, 0) == 0 && v) add(opt[i].name);
    }
}
#else
static void detect(void) {}
#endif

const char *cpufeat_string(void)
{
    static int done;
    if (!done) {
        detect();
        done = 1;
    }
    return features;
}

int cpufeat_has(const char *feature)
{
    const char *s = cpufeat_string();
    size_t n = strlen(feature);
    if (!n) return 0;
    for (const char *p = s; (p = strstr(p, feature)); p += n)
        if ((p == s || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0')) return 1;
    return 0;
}

/* OpenBLAS cores that already use AVX-512 kernels. */
static int blas_core_is_avx512(void)
{
    const char *core = ant_blas_core();
    static const char *good[] = {"skylakex", "cooperlake", "sapphirerapids"};
    for (size_t i = 0; core && i < sizeof good / sizeof *good; i++)
        if (strcasecmp(core, good[i]) == 0) return 1;
    return 0;
}

void blas_env_prepare(char **argv)
{
#ifdef __linux__
    if (!argv || !argv[0]) return;
    if (getenv("OPENBLAS_CORETYPE") || getenv("ANETRAIN_NO_REEXEC") || getenv(REEXEC_GUARD))
        return;
    if (!(cpufeat_has("avx512f") && cpufeat_has("avx512bw") && cpufeat_has("avx512dq") &&
          cpufeat_has("avx512vl")))
        return;
    if (blas_core_is_avx512()) return;
    if (setenv("OPENBLAS_CORETYPE", "SkylakeX", 1) == 0 && setenv(REEXEC_GUARD, "1", 1) == 0)
        execv("/proc/self/exe", argv);
    /* still here: carry on with the kernels the library chose */
    unsetenv("OPENBLAS_CORETYPE");
    unsetenv(REEXEC_GUARD);
#else
    (void)argv;
#endif
}
