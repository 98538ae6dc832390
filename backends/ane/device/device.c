/* The device front end (device.h): checks programs, keeps the compile budget and the
 * compile caches (in memory here, on disk through kcache.c), validates surfaces and
 * requests, then calls the implementation. */
#include <config.h>

#include "ane/device/device.h"

#include <stdlib.h>
#include <string.h>

#include "ane/device/device_impl.h"
#include "ane/base/fp16.h"
#include "base/xxh64.h"

static int g_compiles;   /* per process, like the device's leak (§1.9) */

int ane_compiles_in_process(void) { return g_compiles; }

uint64_t ane_program_key(const char *mil, size_t len, const struct ane_weights *w)
{
    /* The weights can be hundreds of MB and the static pipeline recompiles every step:
     * a bulk hash, not a byte-at-a-time one. */
    struct ant_xxh64 h;
    ant_xxh64_init(&h, 0);
    ant_xxh64_update(&h, mil, len);
    for (int i = 0; w && i < w->n; i++) {
        ant_xxh64_update(&h, w->blob[i]->key, strlen(w->blob[i]->key) + 1);
        ant_xxh64_update(&h, w->blob[i]->data, w->blob[i]->size);
    }
    return ant_xxh64_digest(&h);
}

struct ane_device *ane_open(const char *impl, const struct ant_chip *chip, struct ant_err *e)
{
    const struct ane_impl *im = NULL;
    if (strcmp(impl, "emulator") == 0) im = &ane_impl_emulator;
#ifdef HAVE_APPLE_ANE
    else if (strcmp(impl, "apple") == 0) im = &ane_impl_apple;
#endif
    if (!im) return ant_errf(e, "ANE device '%s' is not available in this build (emulator%s)", impl,
#ifdef HAVE_APPLE_ANE
                             ", apple"
#else
                             ""
#endif
                             ), NULL;
    if (!chip) return ant_errf(e, "ANE device '%s' needs a chip profile", impl), NULL;
    struct ane_device *d = calloc(1, sizeof *d);
    if (!d) return ant_errf(e, "out of memory"), NULL;
    d->impl = im;
    d->chip = chip;
    ane_os_build(d->os, sizeof d->os);
    struct ant_err ce;
    if (ane_kcache_init(&d->kc, NULL, 0, 1, &ce))   /* no folder to be found: off */
        ant_log(ANT_LOG_DEBUG, "ane", "compile cache off: %s", ce.msg);
    if (im->open && im->open(d, e)) return free(d), NULL;
    return d;
}

int ane_cache_configure(struct ane_device *d, const char *dir, size_t max_bytes, int enabled,
                        struct ant_err *e)
{
    struct ane_kcache_stats keep = d->kc.stats;
    int rc = ane_kcache_init(&d->kc, dir, max_bytes, enabled, e);
    d->kc.stats = keep;
    return rc;
}

void ane_close(struct ane_device *d)
{
    if (!d) return;
    /* Kernels still alive keep their programs; free what remains. */
    while (d->progs) {
        struct ane_prog *pg = d->progs;
        d->progs = pg->next;
        d->impl->prog_free(d, pg);
        free(pg);
    }
    if (d->impl->close) d->impl->close(d);
    free(d);
}

const struct ant_chip *ane_chip(const struct ane_device *d) { return d->chip; }

static void describe_io(struct ane_prog *pg, const struct mil_prog *p)
{
    for (int o = 0; o < 2; o++) {
        pg->n_io[o] = o ? p->n_out : p->n_in;
        for (int i = 0; i < pg->n_io[o]; i++) {
            const struct mil_var *v = &p->var[o ? p->out[i] : p->in[i]];
            struct ane_io *io = &pg->io[o][i];
            strcpy(io->name, v->name);
            io->type = v->type;
            io->bytes = (size_t)mil_elems(&v->type) * mil_dtype_bytes(v->type.dt);
        }
    }
    pg->flops = p->flops;
}

static struct ane_kernel *new_kernel(struct ane_device *d, struct ane_prog *pg, int cached, struct ant_err *e)
{
    struct ane_kernel *k = calloc(1, sizeof *k);
    if (!k) return ant_errf(e, "out of memory"), NULL;
    k->d = d;
    k->pg = pg;
    k->stats.flops_per_eval = pg->flops;
    k->stats.from_cache = cached;
    pg->refs++;
    return k;
}

static struct ane_kcache_key disk_key(const struct ane_device *d, uint64_t program)
{
    return (struct ane_kcache_key){program, d->chip->name ? d->chip->name : "", d->os, d->impl->name};
}

/* pg rebuilt from the on-disk cache: 1 restored, 0 not there (or unusable, then
 * discarded), -1 the device failed. */
static int disk_restore(struct ane_device *d, struct ane_prog *pg, const struct ane_weights *w,
                        const char *name, struct ant_err *e)
{
    if (!d->kc.enabled || !d->impl->cache_restore) return 0;
    struct ane_kcache_key k = disk_key(d, pg->key);
    void *buf;
    size_t n;
    if (ane_kcache_load(&d->kc, &k, &buf, &n) != 1) return 0;
    int rc = d->impl->cache_restore(d, pg, buf, n, w, name, e);
    free(buf);
    if (rc == -2) ane_kcache_discard(&d->kc, &k, e->msg);
    return rc == 0 ? 1 : rc == -2 ? 0 : -1;
}

static void disk_store(struct ane_device *d, const struct ane_prog *pg)
{
    if (!d->kc.enabled || !d->impl->cache_payload) return;
    struct ane_kcache_key k = disk_key(d, pg->key);
    struct ant_err e;
    void *buf = NULL;
    size_t n = 0;
    if (d->impl->cache_payload(d, pg, &buf, &n, &e) || ane_kcache_store(&d->kc, &k, buf, n, &e))
        ant_log(ANT_LOG_WARN, "ane", "compile cache: not stored: %s", e.msg);
    free(buf);
}

struct ane_kernel *ane_compile(struct ane_device *d, const char *mil, size_t len,
                               const struct ane_weights *w, const char *name, struct ant_err *e)
{
    uint64_t key = ane_program_key(mil, len, w);
    for (struct ane_prog *pg = d->progs; pg; pg = pg->next)
        if (pg->key == key) {
            d->stats.cache_hits++;
            return new_kernel(d, pg, 1, e);
        }
    if (!name) name = "<mil>";
    struct mil_prog *p = mil_load(mil, len, name, d->chip, w, e);
    if (!p) return NULL;
    mil_log_warnings(p);
    struct ane_prog *pg = calloc(1, sizeof *pg);
    if (!pg) return mil_prog_free(p), ant_errf(e, "out of memory"), NULL;
    pg->key = key;
    describe_io(pg, p);
    double t0 = ant_now_ms();
    /* a kernel from the disk cache is not a compile: it neither needs nor spends budget */
    int restored = disk_restore(d, pg, w, name, e), compiled = 0;
    if (restored < 0) return mil_prog_free(p), free(pg), NULL;
    if (restored) {
        mil_prog_free(p);
    } else {
        int budget = d->chip->compile_budget;
        if (budget > 0 && g_compiles >= budget) {
            mil_prog_free(p), free(pg);
            return ant_errf(e, "%s: compile %d of this process fails: %s allows %d compiles per "
                            "process (§1.9); checkpoint and restart the process", name, g_compiles + 1,
                            d->chip->name ? d->chip->name : "the chip", budget), NULL;
        }
        compiled = 1;
        if (d->impl->compile(d, pg, mil, len, w, p, &compiled, e)) return free(pg), NULL;
        if (compiled) disk_store(d, pg);
    }
    d->stats.compile_ms += ant_now_ms() - t0;
    if (compiled) g_compiles++, d->stats.compiles++;
    else d->stats.cache_hits++;
    pg->next = d->progs;
    d->progs = pg;
    struct ane_kernel *k = new_kernel(d, pg, !compiled, e);
    if (!k) pg->refs = 1;   /* freed with the device */
    return k;
}

void ane_kernel_free(struct ane_kernel *k)
{
    if (!k) return;
    struct ane_device *d = k->d;
    if (--k->pg->refs == 0)
        for (struct ane_prog **pp = &d->progs; *pp; pp = &(*pp)->next)
            if (*pp == k->pg) {
                *pp = k->pg->next;
                d->impl->prog_free(d, k->pg);
                free(k->pg);
                break;
            }
    free(k);
}

int ane_kernel_n_io(const struct ane_kernel *k, int output) { return k->pg->n_io[output != 0]; }

const struct ane_io *ane_kernel_io(const struct ane_kernel *k, int output, int i)
{
    return i >= 0 && i < k->pg->n_io[output != 0] ? &k->pg->io[output != 0][i] : NULL;
}

size_t ane_surface_bytes(const struct ant_chip *chip, size_t logical)
{
    size_t a = chip->surface_align > 0 ? (size_t)chip->surface_align : 1;
    size_t n = (logical + a - 1) / a * a;
    size_t min = chip->surface_min_bytes > 0 ? (size_t)chip->surface_min_bytes : 1;
    if (n < min) n = (min + a - 1) / a * a;
    return n;
}

static struct ane_surface *surface_new(struct ane_device *d, size_t logical, int pad,
                                       struct ant_err *e)
{
    if (logical == 0 || logical > ((size_t)1 << 32))
        return ant_errf(e, "surface of %zu bytes: must be 1 byte to 4 GiB", logical), NULL;
    struct ane_surface *s = calloc(1, sizeof *s);
    if (!s) return ant_errf(e, "out of memory"), NULL;
    size_t a = d->chip->surface_align > 0 ? (size_t)d->chip->surface_align : 1;
    s->d = d;
    s->bytes = pad ? ane_surface_bytes(d->chip, logical) : (logical + a - 1) / a * a;
    if (d->impl->surface_new(s, e)) return free(s), NULL;
    return s;
}

struct ane_surface *ane_surface_new(struct ane_device *d, size_t logical, struct ant_err *e)
{
    return surface_new(d, logical, 1, e);
}

struct ane_surface *ane_surface_new_unpadded(struct ane_device *d, size_t logical, struct ant_err *e)
{
    return surface_new(d, logical, 0, e);
}

struct ane_surface *ane_surface_for(struct ane_kernel *k, int output, int i, struct ant_err *e)
{
    const struct ane_io *io = ane_kernel_io(k, output, i);
    if (!io) return ant_errf(e, "kernel has no %s %d", output ? "output" : "input", i), NULL;
    return ane_surface_new(k->d, io->bytes, e);
}

void ane_surface_free(struct ane_surface *s)
{
    if (!s) return;
    s->d->impl->surface_free(s);
    free(s);
}

size_t ane_surface_size(const struct ane_surface *s) { return s->bytes; }

static int span_ok(const struct ane_surface *s, size_t off, size_t n, struct ant_err *e)
{
    if (off > s->bytes || n > s->bytes - off)
        return ant_errf(e, "surface access of %zu bytes at %zu is past its %zu bytes", n, off, s->bytes);
    return 0;
}

void *ane_surface_lock(struct ane_surface *s, int read_only) { return s->d->impl->lock(s, read_only); }
void ane_surface_unlock(struct ane_surface *s, int read_only) { s->d->impl->unlock(s, read_only); }

int ane_surface_write(struct ane_surface *s, size_t off, const void *src, size_t n, struct ant_err *e)
{
    if (span_ok(s, off, n, e)) return -1;
    unsigned char *p = s->d->impl->lock(s, 0);   /* §2.3: lock only around CPU access */
    memcpy(p + off, src, n);
    s->d->impl->unlock(s, 0);
    return 0;
}

int ane_surface_read(struct ane_surface *s, size_t off, void *dst, size_t n, struct ant_err *e)
{
    if (span_ok(s, off, n, e)) return -1;
    const unsigned char *p = s->d->impl->lock(s, 1);
    memcpy(dst, p + off, n);
    s->d->impl->unlock(s, 1);
    return 0;
}

int ane_surface_put(struct ane_surface *s, enum mil_dtype dt, size_t off, const float *src,
                    size_t n, struct ant_err *e)
{
    size_t es = dt == MIL_FP16 ? 2 : 4;
    if (dt != MIL_FP16 && dt != MIL_FP32) return ant_errf(e, "surfaces carry fp16 or fp32");
    if (off > s->bytes / es || n > s->bytes / es - off)
        return ant_errf(e, "surface write of %zu elements at %zu is past its %zu bytes", n, off, s->bytes);
    unsigned char *p = s->d->impl->lock(s, 0);
    if (dt == MIL_FP16) fp16_encode((uint16_t *)(void *)p + off, src, n);
    else memcpy((float *)(void *)p + off, src, n * 4);
    s->d->impl->unlock(s, 0);
    return 0;
}

int ane_surface_get(struct ane_surface *s, enum mil_dtype dt, size_t off, float *dst,
                    size_t n, struct ant_err *e)
{
    size_t es = dt == MIL_FP16 ? 2 : 4;
    if (dt != MIL_FP16 && dt != MIL_FP32) return ant_errf(e, "surfaces carry fp16 or fp32");
    if (off > s->bytes / es || n > s->bytes / es - off)
        return ant_errf(e, "surface read of %zu elements at %zu is past its %zu bytes", n, off, s->bytes);
    const unsigned char *p = s->d->impl->lock(s, 1);
    if (dt == MIL_FP16) fp16_decode(dst, (const uint16_t *)(const void *)p + off, n);
    else memcpy(dst, (const float *)(const void *)p + off, n * 4);
    s->d->impl->unlock(s, 1);
    return 0;
}

struct ane_request *ane_request_new(struct ane_kernel *k, struct ane_surface *const *in, int n_in,
                                    struct ane_surface *const *out, int n_out, struct ant_err *e)
{
    const struct ant_chip *c = k->d->chip;
    int zeros = 0;
    if (n_in != k->pg->n_io[0] || n_out != k->pg->n_io[1])
        return ant_errf(e, "request binds %d inputs and %d outputs; the kernel has %d and %d", n_in,
                        n_out, k->pg->n_io[0], k->pg->n_io[1]), NULL;
    for (int o = 0; o < 2; o++)
        for (int i = 0; i < (o ? n_out : n_in); i++) {
            const struct ane_surface *s = o ? out[i] : in[i];
            const struct ane_io *io = &k->pg->io[o][i];
            if (!s || s->d != k->d)
                return ant_errf(e, "%s %d ('%s'): no surface of this device", o ? "output" : "input", i, io->name), NULL;
            if (s->bytes >= io->bytes && mil_surface_gives_zeros(c, s->bytes)) {
                ant_log(ANT_LOG_WARN, "ane", "%s %d ('%s') is bound to a %zu-byte surface, under "
                        "%s's %d-byte minimum: every output of this request is zeros there (%s)",
                        o ? "output" : "input", i, io->name, s->bytes, c->name ? c->name : "the chip",
                        c->surface_min_bytes, mil_zero_rule(MIL_ZERO_SMALL_SURFACE)->cite);
                zeros = 1;
                continue;
            }
            if (s->bytes < io->bytes || s->bytes < ane_surface_bytes(c, 1) ||
                (c->surface_align > 0 && s->bytes % (size_t)c->surface_align))
                return ant_errf(e, "%s %d ('%s'): surface of %zu bytes; it needs %zu, a multiple of "
                                "%d and at least %d (§2.2)", o ? "output" : "input", i, io->name,
                                s->bytes, io->bytes, c->surface_align, c->surface_min_bytes), NULL;
        }
    struct ane_request *r = calloc(1, sizeof *r);
    if (!r) return ant_errf(e, "out of memory"), NULL;
    r->k = k;
    r->n_in = n_in;
    r->n_out = n_out;
    r->zeros = zeros;
    memcpy(r->in, in, (size_t)n_in * sizeof *in);
    memcpy(r->out, out, (size_t)n_out * sizeof *out);
    if (k->d->impl->request_new && k->d->impl->request_new(r, e)) return free(r), NULL;
    return r;
}

void ane_request_free(struct ane_request *r)
{
    if (!r) return;
    if (r->k->d->impl->request_free) r->k->d->impl->request_free(r);
    free(r);
}

int ane_eval(struct ane_request *r, struct ant_err *e)
{
    struct ane_kernel *k = r->k;
    double t0 = ant_now_ms();
    if (k->d->impl->eval(r, e)) return -1;
    double ms = ant_now_ms() - t0;
    k->stats.evals++;
    k->stats.flops += k->pg->flops;
    k->stats.eval_ms += ms;
    k->d->stats.evals++;
    k->d->stats.flops += k->pg->flops;
    k->d->stats.eval_ms += ms;
    return 0;
}

void ane_kernel_stats(const struct ane_kernel *k, struct ane_kernel_stats *out) { *out = k->stats; }
void ane_device_stats(const struct ane_device *d, struct ane_device_stats *out)
{
    *out = d->stats;
    out->disk_hits = d->kc.stats.hits;
    out->disk_misses = d->kc.stats.misses;
    out->disk_stores = d->kc.stats.stores;
    out->disk_corrupt = d->kc.stats.corrupt;
    out->disk_evictions = d->kc.stats.evictions;
}
