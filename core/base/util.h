/* Small shared helpers: error messages, logging, allocation, time. */
#ifndef ANT_UTIL_H
#define ANT_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* The longest path the trainer stores (config keys, checkpoints, atomic writes). */
#define ANT_PATH_MAX 1024

/* Errors are returned, not exited. A failing function fills an ant_err with one line
 * that names the file, line or field at fault and returns -1; the caller adds context
 * or prints it. */
struct ant_err {
    char msg[1024];
};

int ant_errf(struct ant_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Global log threshold (ANT_LOG_* from anetrain/backend.h); INFO by default,
 * DEBUG when ANETRAIN_VERBOSE is set. */
extern int ant_log_level;
/* What log lines start with: "anetrain", or "anetrain[rank 1]" on a data-parallel rank. */
extern const char *ant_log_name;
void ant_log(int level, const char *who, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Aligned, zeroed allocation for tensors (64-byte aligned); NULL on failure. */
float *ant_falloc(size_t n_floats);
void ant_ffree(float *p);

double ant_now_ms(void);   /* monotonic clock */

/* FNV-1a 64-bit, for checksums and cache keys. */
uint64_t ant_fnv1a(const void *data, size_t n, uint64_t h);
#define ANT_FNV_INIT 0xcbf29ce484222325ULL

#endif
