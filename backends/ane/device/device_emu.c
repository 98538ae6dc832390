/* The emulator implementation of the device interface: surfaces are plain memory,
 * a compiled program is an emu_kernel, evaluation copies the surfaces in and out.
 *
 * Fault injection, for testing what the layers above do when the device fails:
 * ANETRAIN_EMU_FAULT="compile:N" fails the process's Nth compile, "eval:N" its Nth
 * evaluation, "nan:N" makes the Nth evaluation's output NaN. A restore from the on-disk
 * compile cache counts as a compile here. */
#include "ane/device/device_impl.h"

#include <stdlib.h>
#include <string.h>

#include "ane/emu/emu.h"
#include "ane/base/fp16.h"

/* 1 when this call is the one ANETRAIN_EMU_FAULT names for `what`. */
static int fault_now(const char *what)
{
    static long counts[3];
    static const char *kinds[3] = {"compile", "eval", "nan"};
    const char *f = getenv("ANETRAIN_EMU_FAULT");
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(kinds[i]);
        if (strcmp(what, kinds[i])) continue;
        long nth = f && !strncmp(f, kinds[i], n) && f[n] == ':' ? atol(f + n + 1) : 0;
        return ++counts[i] == nth;
    }
    return 0;
}

static int emu_dev_compile(struct ane_device *d, struct ane_prog *pg, const char *mil, size_t len,
                           const struct ane_weights *w, struct mil_prog *p, int *compiled,
                           struct ant_err *e)
{
    *compiled = 1;
    if (fault_now("compile")) {
        mil_prog_free(p);
        return ant_errf(e, "injected compile failure (ANETRAIN_EMU_FAULT)");
    }
    return (pg->impl = emu_compile(p, e)) ? 0 : -1;
}

static void emu_dev_prog_free(struct ane_device *d, struct ane_prog *pg) { emu_free(pg->impl); }

/* What the emulator can keep of a compile: the checked program as text (weights are
 * BLOBFILE references, bound again from the caller's weights on a restore). */
static int emu_cache_payload(struct ane_device *d, const struct ane_prog *pg, void **out, size_t *n,
                             struct ant_err *e)
{
    char *t = mil_print(emu_prog(pg->impl), d->chip->mil_verbose_scalars, e);
    if (!t) return -1;
    *out = t;
    *n = strlen(t);
    return 0;
}

static int emu_cache_restore(struct ane_device *d, struct ane_prog *pg, const void *payload, size_t n,
                             const struct ane_weights *w, const char *name, struct ant_err *e)
{
    /* a restore takes a compile's place, so "compile:N" faults land on the same kernel
     * whether the cache is warm or cold */
    if (fault_now("compile")) return ant_errf(e, "injected compile failure (ANETRAIN_EMU_FAULT)");
    struct ant_err pe;
    struct mil_prog *p = mil_load(payload, n, name, d->chip, w, &pe);
    if (!p) return ant_errf(e, "cached program does not load: %s", pe.msg), -2;
    int same = p->n_in == pg->n_io[0] && p->n_out == pg->n_io[1];
    for (int o = 0; o < 2 && same; o++)
        for (int i = 0; i < pg->n_io[o] && same; i++)
            same = mil_type_eq(&p->var[o ? p->out[i] : p->in[i]].type, &pg->io[o][i].type);
    if (!same) return mil_prog_free(p), ant_errf(e, "cached program has other inputs or outputs"), -2;
    return (pg->impl = emu_compile(p, e)) ? 0 : -1;
}

static int emu_surface_new(struct ane_surface *s, struct ant_err *e)
{
    /* 16 KiB pages like an IOSurface; zeroed so unread tails are deterministic */
    void *p = NULL;
    if (posix_memalign(&p, 16384, s->bytes)) return ant_errf(e, "out of memory for a %zu-byte surface", s->bytes);
    memset(p, 0, s->bytes);
    s->impl = p;
    return 0;
}

static void emu_surface_free(struct ane_surface *s) { free(s->impl); }
static void *emu_lock(struct ane_surface *s, int read_only) { return s->impl; }
static void emu_unlock(struct ane_surface *s, int read_only) {}

static int emu_eval(struct ane_request *r, struct ant_err *e)
{
    struct ane_prog *pg = r->k->pg;
    struct emu_kernel *k = pg->impl;
    for (int i = 0; i < r->n_in; i++) {
        const struct ane_io *io = &pg->io[0][i];
        size_t n = (size_t)mil_elems(&io->type);
        if (io->type.dt == MIL_FP16) fp16_decode(emu_input(k, i), r->in[i]->impl, n);
        else memcpy(emu_input(k, i), r->in[i]->impl, n * sizeof(float));
    }
    if (fault_now("eval")) return ant_errf(e, "injected evaluation failure (ANETRAIN_EMU_FAULT)");
    if (emu_run(k, e)) return -1;
    int poison = fault_now("nan");
    for (int i = 0; i < r->n_out; i++) {
        const struct ane_io *io = &pg->io[1][i];
        size_t n = (size_t)mil_elems(&io->type);
        if (r->zeros) memset(r->out[i]->impl, 0, io->bytes);   /* §2.2, §7.3 small surface */
        else if (io->type.dt == MIL_FP16) fp16_encode(r->out[i]->impl, emu_output(k, i), n);
        else memcpy(r->out[i]->impl, emu_output(k, i), n * sizeof(float));
        if (poison && io->type.dt == MIL_FP16) ((uint16_t *)r->out[i]->impl)[0] = 0x7e00;
    }
    return 0;
}

const struct ane_impl ane_impl_emulator = {
    .name = "emulator",
    .compile = emu_dev_compile,
    .prog_free = emu_dev_prog_free,
    .cache_payload = emu_cache_payload,
    .cache_restore = emu_cache_restore,
    .surface_new = emu_surface_new,
    .surface_free = emu_surface_free,
    .lock = emu_lock,
    .unlock = emu_unlock,
    .eval = emu_eval,
};
