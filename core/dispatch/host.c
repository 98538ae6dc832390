/* struct ant_host: what a module may call back into. Modules are linked -no-undefined
 * and call no core symbol directly, so this table is their only way in. */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>

#include "dispatch/host.h"
#include "base/util.h"

static void host_log(int level, const char *who, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ant_log(level, who, "%s", msg);
}

static const struct ant_host host = {
    .abi_major = ANT_ABI_MAJOR,
    .abi_minor = ANT_ABI_MINOR,
    .size = sizeof(struct ant_host),
    .log = host_log,
};

const struct ant_host *host_get(void) { return &host; }
