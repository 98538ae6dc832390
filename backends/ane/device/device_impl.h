/* What a device implementation provides to device.c (internal to backends/ane). */
#ifndef ANE_DEVICE_IMPL_H
#define ANE_DEVICE_IMPL_H

#include "ane/device/device.h"
#include "ane/device/kcache.h"

struct ane_prog;

struct ane_impl {
    const char *name;
    int (*open)(struct ane_device *d, struct ant_err *e);
    void (*close)(struct ane_device *d);
    /* Compile checked program p (ownership passes to the impl). *compiled is 1 when a
     * real compile happened, 0 when it was restored from a persistent cache. */
    int (*compile)(struct ane_device *d, struct ane_prog *pg, const char *mil, size_t len,
                   const struct ane_weights *w, struct mil_prog *p, int *compiled, struct ant_err *e);
    void (*prog_free)(struct ane_device *d, struct ane_prog *pg);
    /* The on-disk cache (kcache.h); both NULL where the impl cannot use it.
     * cache_payload: after a compile, what cache_restore needs to rebuild pg without
     * compiling (malloc'd). cache_restore: rebuild pg from a payload and the weights;
     * -1 when the device fails (the compile fails), -2 when the payload is unusable
     * (the entry is discarded and the program compiled). */
    int (*cache_payload)(struct ane_device *d, const struct ane_prog *pg, void **out, size_t *n,
                         struct ant_err *e);
    int (*cache_restore)(struct ane_device *d, struct ane_prog *pg, const void *payload, size_t n,
                         const struct ane_weights *w, const char *name, struct ant_err *e);
    int (*surface_new)(struct ane_surface *s, struct ant_err *e);
    void (*surface_free)(struct ane_surface *s);
    void *(*lock)(struct ane_surface *s, int read_only);
    void (*unlock)(struct ane_surface *s, int read_only);
    int (*request_new)(struct ane_request *r, struct ant_err *e);
    void (*request_free)(struct ane_request *r);
    int (*eval)(struct ane_request *r, struct ant_err *e);
};

/* A compiled program, shared by every kernel compiled from the same key. */
struct ane_prog {
    uint64_t key;
    int refs;
    struct ane_io io[2][MIL_MAX_IO];   /* [0] inputs, [1] outputs */
    int n_io[2];
    double flops;
    void *impl;                         /* emulator: struct emu_kernel; apple: model */
    struct ane_prog *next;
};

struct ane_device {
    const struct ane_impl *impl;
    const struct ant_chip *chip;
    void *impl_state;
    struct ane_prog *progs;
    struct ane_device_stats stats;
    struct ane_kcache kc;
    char os[128];                       /* ane_os_build, part of every disk key */
};

struct ane_kernel {
    struct ane_device *d;
    struct ane_prog *pg;
    struct ane_kernel_stats stats;
};

struct ane_surface {
    struct ane_device *d;
    size_t bytes;
    void *impl;                         /* emulator: the memory; apple: IOSurfaceRef */
};

struct ane_request {
    struct ane_kernel *k;
    struct ane_surface *in[MIL_MAX_IO], *out[MIL_MAX_IO];
    int n_in, n_out;
    int zeros;          /* a surface under the minimum on a silent-zero chip (§7.3): the
                           emulator's outputs are zeros, as M1's are */
    void *impl;
};

extern const struct ane_impl ane_impl_emulator;
#ifdef HAVE_APPLE_ANE
extern const struct ane_impl ane_impl_apple;
#endif

#endif
