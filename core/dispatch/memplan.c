/* The memory plan (memplan.h). */
#include <config.h>

#include "dispatch/memplan.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#ifdef __APPLE__
#include <sys/sysctl.h>
#endif

#include <anetrain/backend.h>

#include "base/util.h"

uint64_t memplan_machine_bytes(void)
{
    const char *v = getenv("ANETRAIN_MEMORY");
    if (v && *v) {
        char *end;
        double x = strtod(v, &end);
        double unit = *end == 'K' ? 1024.0 : *end == 'M' ? 1048576.0 : *end == 'G' ? 1073741824.0 : 1;
        return x > 0 ? (uint64_t)(x * unit) : 0;
    }
#ifdef __APPLE__
    uint64_t mem = 0;
    size_t len = sizeof mem;
    return sysctlbyname("hw.memsize", &mem, &len, NULL, 0) == 0 ? mem : 0;
#else
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    return pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size : 0;
#endif
}

int memplan_check(const char *name, uint64_t state, uint64_t backend, char *why, size_t n)
{
    uint64_t have = memplan_machine_bytes(), need = state + backend;
    double MB = 1048576.0;
    ant_log(ANT_LOG_INFO, "memory", "plan for %s: about %.0f MB (training state %.0f MB + "
            "backend %.0f MB) of the machine's %.0f MB", name, need / MB, state / MB, backend / MB,
            have / MB);
    if (have == 0 || need <= have / 10 * 9) return 0;
    snprintf(why, n, "the run needs about %.0f MB (training state %.0f MB + %s %.0f MB) and the "
             "machine has %.0f MB: lower train.batch_size (activations grow with it), seq_len or "
             "the model size", need / MB, state / MB, name, backend / MB, have / MB);
    return -1;
}
