/* The on-disk compile cache (docs/ane.md §18): one file per compiled kernel, so a new
 * process (the static backend restarts every ~100 compiles, §1.9) or a new run gets
 * unchanged kernels back without compiling them.
 *
 * An entry is named by a hash of its key (the program key of ane_program_key, the chip
 * name, the OS build, the implementation) and holds
 *   "ANTKC" version(1)  name hash(u64)  program key(u64)  chip, os, impl (u16 length +
 *   bytes each)  payload length(u64)  XXH64 of the payload(u64)  payload
 * little-endian. Entries are written whole (temp file, fsync, rename), so concurrent
 * runs sharing a folder see an old entry, a new one or none; a bad entry (magic, key,
 * length, checksum) is logged, deleted and missed. What the payload is belongs to the
 * implementation (the emulator: the checked MIL text). */
#ifndef ANE_KCACHE_H
#define ANE_KCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "base/util.h"

#define ANE_KCACHE_VERSION 1
#define ANE_KCACHE_DEFAULT_MAX ((size_t)1 << 30)   /* 1 GiB */
#define ANE_KCACHE_STR_MAX 255                      /* chip, os and impl strings */

struct ane_kcache_key {
    uint64_t program;          /* ane_program_key: MIL text and weights */
    const char *chip, *os, *impl;
};

struct ane_kcache_stats {
    long hits, misses, stores, corrupt, evictions;
};

struct ane_kcache {
    int enabled;
    size_t max_bytes;
    char dir[ANT_PATH_MAX];
    struct ane_kcache_stats stats;
    /* The folder's size as of the last scan plus what this process stored since: the
     * folder is scanned when that passes max_bytes, or every ANE_KCACHE_RESCAN stores
     * (for what other processes stored), not after every store. */
    uint64_t known_bytes;
    int scanned, stores_since_scan;
};
#define ANE_KCACHE_RESCAN 64

/* $ANETRAIN_CACHE_DIR, else $XDG_CACHE_HOME/anetrain/kernels, else
 * $HOME/.cache/anetrain/kernels; -1 when none is set (or the path is too long). */
int ane_kcache_default_dir(char *out, size_t n, struct ant_err *e);
/* dir NULL: the default; max_bytes 0: ANE_KCACHE_DEFAULT_MAX. The folder is made on the
 * first store. Disabled, nothing is read or written. */
int ane_kcache_init(struct ane_kcache *c, const char *dir, size_t max_bytes, int enabled,
                    struct ant_err *e);

/* The entry's file name: 16 hex digits of the key's hash, then ".kc". */
uint64_t ane_kcache_hash(const struct ane_kcache_key *k);
int ane_kcache_path(const struct ane_kcache *c, const struct ane_kcache_key *k, char *out, size_t n);

/* 1 and a malloc'd payload on a hit (the entry's mtime is set to now: the LRU order);
 * 0 on a miss, a bad entry among them (warned about and deleted). Never an error: a
 * cache that cannot be read is a miss. */
int ane_kcache_load(struct ane_kcache *c, const struct ane_kcache_key *k, void **payload, size_t *n);
/* Write the entry atomically, then, when the folder holds more than max_bytes of
 * entries, evict the least recently used until it fits (see known_bytes). -1 with e
 * when the entry could not be written (the caller warns; a compile never fails for
 * its cache). */
int ane_kcache_store(struct ane_kcache *c, const struct ane_kcache_key *k, const void *payload,
                     size_t n, struct ant_err *e);
/* The caller found a loaded payload unusable: warn with why, delete the entry, and
 * count the load as a corrupt miss instead of a hit. */
void ane_kcache_discard(struct ane_kcache *c, const struct ane_kcache_key *k, const char *why);

/* Delete least recently used entries until the folder holds at most max_bytes of
 * them; keep (a file name or NULL) goes last. Returns the number deleted. */
int ane_kcache_evict(struct ane_kcache *c, const char *keep);

/* The OS build the compiled code depends on: macOS's kern.osversion ("25C56"),
 * elsewhere uname's sysname and release ("Linux 6.1.0-18-amd64"). */
void ane_os_build(char *out, size_t n);

#endif
