#include "base/util.h"

#include <anetrain/backend.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int ant_log_level = ANT_LOG_INFO;
const char *ant_log_name = "anetrain";

int ant_errf(struct ant_err *e, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* The whole line goes out in one write: processes sharing a stderr (the ranks of an MPI
 * job, a restarted process and its log reader) never cut into each other's lines. */
void ant_log(int level, const char *who, const char *fmt, ...)
{
    static const char *names[] = {"error", "warning", "info", "debug"};
    if (level > ant_log_level) return;
    char line[8192];
    size_t cap = sizeof line - 1, len;   /* room kept for the newline; longer lines are cut */
    int n = snprintf(line, cap, "%s: %s%s%s: ", ant_log_name, who ? who : "", who ? ": " : "",
                     names[level < 0 ? 0 : level > 3 ? 3 : level]);
    len = n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + len, cap - len, fmt, ap);
    va_end(ap);
    if (m > 0) len += (size_t)m < cap - len ? (size_t)m : cap - len - 1;
    line[len++] = '\n';
    fwrite(line, 1, len, stderr);
}

float *ant_falloc(size_t n)
{
    size_t bytes = (n * sizeof(float) + 63) & ~(size_t)63;
    void *p = NULL;
    if (bytes == 0) bytes = 64;
    if (posix_memalign(&p, 64, bytes) != 0) return NULL;
    memset(p, 0, bytes);
    return p;
}

void ant_ffree(float *p) { free(p); }

double ant_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

uint64_t ant_fnv1a(const void *data, size_t n, uint64_t h)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}
