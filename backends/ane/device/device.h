/* The ANE device interface every ANE backend uses (DESIGN.md "The ANE device layer"):
 * compile MIL text plus named weight blobs into a kernel, make surfaces, bind them in
 * a request, write, evaluate, read, free. Two implementations: "emulator" (the CPU
 * interpreter with the ANE's numerics, everywhere) and "apple" (the private framework,
 * §1; only where configure found macOS).
 *
 * Every compile is first parsed and checked against the chip profile here, so a bad
 * program fails with FILE:LINE:COL on either implementation. Compiles count against
 * the profile's per-process budget (§1.9): past it, compile fails as the device does.
 * Identical (program, weights) pairs share one compiled program while any kernel
 * holds it (the in-memory cache), and compiled kernels are kept on disk across
 * processes and runs (the compile cache, kcache.h, docs/ane.md §18). A hit of either
 * is not a compile and does not count against the budget. */
#ifndef ANE_DEVICE_H
#define ANE_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#include <anetrain/backend.h>

#include "ane/base/blob.h"
#include "ane/mil/mil.h"
#include "base/util.h"

struct ane_device;
struct ane_kernel;
struct ane_surface;
struct ane_request;

/* One input or output of a kernel, as its MIL function declares it. */
struct ane_io {
    char name[MIL_NAME_MAX];
    struct mil_type type;
    size_t bytes;             /* logical size: elements x 2 (fp16) or 4 (fp32) */
};

/* impl: "emulator" or "apple". chip must outlive the device; free kernels,
 * requests and surfaces before closing it. */
struct ane_device *ane_open(const char *impl, const struct ant_chip *chip, struct ant_err *e);
void ane_close(struct ane_device *d);
/* The on-disk compile cache of d: dir (NULL: $ANETRAIN_CACHE_DIR, else
 * $XDG_CACHE_HOME/anetrain/kernels, else ~/.cache/anetrain/kernels), at most max_bytes
 * of entries (0: 1 GiB), on or off. ane_open starts with (NULL, 0, 1); with no folder
 * to be found there, the cache is off. -1 with e (the cache then off) for a dir that
 * cannot be one. */
int ane_cache_configure(struct ane_device *d, const char *dir, size_t max_bytes, int enabled,
                        struct ant_err *e);
const struct ant_chip *ane_chip(const struct ane_device *d);

/* name labels the program in messages ("fwd_attn.mil"). */
struct ane_kernel *ane_compile(struct ane_device *d, const char *mil, size_t len,
                               const struct ane_weights *w, const char *name, struct ant_err *e);
void ane_kernel_free(struct ane_kernel *k);
int ane_kernel_n_io(const struct ane_kernel *k, int output);
const struct ane_io *ane_kernel_io(const struct ane_kernel *k, int output, int i);

/* Surface size for a tensor of `logical` bytes: rounded up to the profile's alignment,
 * at least its minimum (§2.2). */
size_t ane_surface_bytes(const struct ant_chip *chip, size_t logical);
struct ane_surface *ane_surface_new(struct ane_device *d, size_t logical, struct ant_err *e);
/* Rounded up to the alignment only, not to the minimum size: to probe the minimum-size
 * rule (§2.2, §7.3). A request refuses such a surface under the minimum, except on a
 * chip with silent_zero_rules, where it binds with a warning and evaluates to zeros as
 * M1 does. */
struct ane_surface *ane_surface_new_unpadded(struct ane_device *d, size_t logical, struct ant_err *e);
/* A surface sized for input (output=0) or output i of k. */
struct ane_surface *ane_surface_for(struct ane_kernel *k, int output, int i, struct ant_err *e);
void ane_surface_free(struct ane_surface *s);
size_t ane_surface_size(const struct ane_surface *s);
int ane_surface_write(struct ane_surface *s, size_t off, const void *src, size_t n, struct ant_err *e);
int ane_surface_read(struct ane_surface *s, size_t off, void *dst, size_t n, struct ant_err *e);
/* The surface's memory for CPU access between lock and unlock (§2.3: lock only around
 * CPU access, never across an evaluation). */
void *ane_surface_lock(struct ane_surface *s, int read_only);
void ane_surface_unlock(struct ane_surface *s, int read_only);
/* n floats at element offset off, stored as dt (fp16: RNE, §2.5) / read back. */
int ane_surface_put(struct ane_surface *s, enum mil_dtype dt, size_t off, const float *src,
                    size_t n, struct ant_err *e);
int ane_surface_get(struct ane_surface *s, enum mil_dtype dt, size_t off, float *dst,
                    size_t n, struct ant_err *e);

/* Bind surfaces to a kernel's inputs and outputs, in declaration order (§1.2 #9). To
 * use other surfaces, make another request (§1.2: a request is tied to its surfaces).
 * A surface under the profile's minimum is refused, or on a chip with silent_zero_rules
 * logged as a warning: the request's outputs are then zeros (§2.2, §7.3). */
struct ane_request *ane_request_new(struct ane_kernel *k, struct ane_surface *const *in, int n_in,
                                    struct ane_surface *const *out, int n_out, struct ant_err *e);
void ane_request_free(struct ane_request *r);
int ane_eval(struct ane_request *r, struct ant_err *e);

struct ane_kernel_stats {
    long evals;
    double flops_per_eval, flops, eval_ms;
    int from_cache;           /* the compile was a cache hit */
};
void ane_kernel_stats(const struct ane_kernel *k, struct ane_kernel_stats *out);

struct ane_device_stats {
    long compiles, cache_hits, evals;   /* cache_hits: in memory and on disk */
    double flops, compile_ms, eval_ms;
    /* the on-disk cache: kernels restored, lookups that found nothing usable, entries
     * written, bad entries deleted, entries evicted by the size limit */
    long disk_hits, disk_misses, disk_stores, disk_corrupt, disk_evictions;
};
void ane_device_stats(const struct ane_device *d, struct ane_device_stats *out);

/* Compiles done by this process on any device (the budget is per process, §1.9). */
int ane_compiles_in_process(void);
/* The compile-cache key: XXH64 over the MIL text and every blob's key and bytes. */
uint64_t ane_program_key(const char *mil, size_t len, const struct ane_weights *w);

#endif
