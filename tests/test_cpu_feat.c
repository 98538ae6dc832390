/* CPU feature detection against the kernel's own view (/proc/cpuinfo flags on x86 Linux),
 * and the cases where blas_env_prepare must leave the process alone. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch/cpufeat.h"
#include "tap.h"

static const char *known[] = {
    "sse4_2", "avx", "f16c", "fma", "avx2", "bmi2", "avx512f", "avx512dq", "avx512ifma",
    "avx512cd", "avx512bw", "avx512vl", "avx512vbmi", "avx512_vnni", "avx512_bf16",
    "avx512_fp16",
};

/* " flag " in the flags line, which starts "flags\t\t: " */
static int in_flags(const char *flags, const char *name)
{
    char pat[64];
    snprintf(pat, sizeof pat, " %s ", name);
    return strstr(flags, pat) != NULL;
}

int main(void)
{
    const char *s = cpufeat_string();
    diag("cpufeat: %s", s);
    ok(cpufeat_has("") == 0 && cpufeat_has("no_such_feature") == 0, "unknown names are absent");

#if defined(__x86_64__) && defined(__linux__)
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[8192], flags[8200] = "";
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "flags", 5)) {
            line[strcspn(line, "\n")] = 0;
            snprintf(flags, sizeof flags, " %s ", strchr(line, ':') + 1);
            break;
        }
    if (f) fclose(f);
    if (ok(flags[0] != 0, "read the flags of /proc/cpuinfo")) {
        for (size_t i = 0; i < sizeof known / sizeof *known; i++)
            ok(cpufeat_has(known[i]) == in_flags(flags, known[i]), "%s: %s, kernel says %s",
               known[i], cpufeat_has(known[i]) ? "detected" : "absent",
               in_flags(flags, known[i]) ? "present" : "absent");
    }
    /* whole words only: a fragment or a name with a trailing space does not match */
    if (cpufeat_has("avx2")) ok(cpufeat_has("avx2 ") == 0 && cpufeat_has("vx2") == 0,
                                "cpufeat_has matches whole words only");
#else
    diag("not x86 Linux: /proc/cpuinfo cross-check skipped");
#endif

    /* A user's OPENBLAS_CORETYPE and ANETRAIN_NO_REEXEC are respected: these calls return
     * (an exec would restart this test and print its plan twice). */
    char *argv[] = {"test_cpu_feat", NULL};
    setenv("OPENBLAS_CORETYPE", "Haswell", 1);
    blas_env_prepare(argv);
    ok(!strcmp(getenv("OPENBLAS_CORETYPE"), "Haswell") && !getenv("ANETRAIN_BLAS_REEXEC"),
       "a user's OPENBLAS_CORETYPE is kept and no re-exec happens");
    unsetenv("OPENBLAS_CORETYPE");
    setenv("ANETRAIN_NO_REEXEC", "1", 1);
    blas_env_prepare(argv);
    ok(!getenv("OPENBLAS_CORETYPE"), "ANETRAIN_NO_REEXEC=1 turns the re-exec off");
    return tap_done();
}
