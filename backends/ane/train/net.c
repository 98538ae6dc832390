/* The ANE training layer's resources (net.h): device, kernels, surfaces, requests, CPU
 * buffers, and the staging of the weights into the surfaces. pass.c runs the steps. */
#include "ane/train/net_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ane/train/kernels.h"

int at_fail(struct at_net *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(n->err, sizeof n->err, fmt, ap);
    va_end(ap);
    return -1;
}

int at_eval(struct at_net *n, enum at_kernel k, struct ane_request *r)
{
    struct ant_err e;
    if (ane_eval(r, &e)) return at_fail(n, "%s: evaluation failed: %s", at_kernel_name(k), e.msg);
    n->st.evals++;
    /* §1.8: about 0.2 ms per dispatch at stories110M shapes, plus the work at peak */
    const struct ant_chip *chip = ane_chip(n->dev);
    n->st.modelled_ms += 0.2 + (chip->peak_tflops > 0 ? n->kernel_flops[k] / (chip->peak_tflops * 1e9) : 0);
    return 0;
}

static int kernel_used(const struct at_net *n, enum at_kernel k)
{
    if (k == AT_DW_ATTN || k == AT_DW_FFN) return n->o.dw_on_device;
    if (k == AT_CLS_FWD || k == AT_CLS_BWD) return n->o.cls_on_device;
    if (k == AT_NORM_FWD || k == AT_NORM_BWD || k == AT_SOFTMAX) return n->p.extras;
    return 1;
}

/* How many input surfaces kernel k has: one per layer, chunk or norm. */
static size_t kernel_units(const struct at_net *n, enum at_kernel k)
{
    if (k < AT_LAYER_KERNELS) return (size_t)n->p.L;
    if (k == AT_CLS_FWD || k == AT_CLS_BWD) return (size_t)n->p.n_chunks;
    return k == AT_NORM_BWD ? 2 * (size_t)n->p.L + 1 : 1;
}

/* Kernels whose program holds weights: with baked weights, one per unit. */
static int kernel_weighted(enum at_kernel k)
{
    return k != AT_DW_ATTN && k != AT_DW_FFN && k != AT_SOFTMAX;
}

/* Unit i of kernel k (i < kernel_units). */
static struct at_unit *unit_at(struct at_net *n, enum at_kernel k, int i)
{
    if (k < AT_LAYER_KERNELS) return at_layer_unit(n, i, k);
    if (k == AT_CLS_FWD || k == AT_CLS_BWD) return &n->cls[k == AT_CLS_BWD][i];
    if (k == AT_NORM_BWD) return &n->norm_bwd[i];
    return k == AT_NORM_FWD ? &n->norm_fwd : &n->smax;
}

struct ane_kernel *at_compile(struct at_net *n, enum at_kernel k, const struct at_bake *bake)
{
    struct ant_err e;
    struct ane_weights w;
    weights_init(&w);
    double t0 = ant_now_ms();
    char *text = at_kernel_text(&n->p, k, &n->c, ane_chip(n->dev), bake, &w, &e);
    struct ane_kernel *kern = text ? ane_compile(n->dev, text, strlen(text), &w, at_kernel_name(k), &e) : NULL;
    free(text);
    weights_free(&w);
    if (!kern) return at_fail(n, "kernel %s: %s", at_kernel_name(k), e.msg), NULL;
    n->st.compile_ms += ant_now_ms() - t0;
    struct ane_kernel_stats ks;
    ane_kernel_stats(kern, &ks);
    n->kernel_flops[k] = ks.flops_per_eval;
    struct ane_device_stats ds;
    ane_device_stats(n->dev, &ds);
    n->st.compiles = ds.compiles;
    return kern;
}

int at_each_weighted_unit(struct at_net *n, at_unit_fn *fn, const float *w)
{
    for (int k = 0; k < AT_N_KERNELS; k++)
        for (int i = 0; kernel_used(n, k) && kernel_weighted(k) && i < (int)kernel_units(n, k); i++)
            if (fn(n, unit_at(n, k, i), k, i, w)) return -1;
    return 0;
}

int at_compiles_per_update(const struct at_net *n)
{
    int c = 0;
    for (int k = 0; n->o.baked && k < AT_N_KERNELS; k++)
        if (kernel_used(n, k) && kernel_weighted(k)) c += (int)kernel_units(n, k);
    return c;
}

int at_kernels_held(const struct at_net *n)
{
    int c = 0;
    for (int k = 0; k < AT_N_KERNELS; k++)
        if (kernel_used(n, k)) c += n->o.baked && kernel_weighted(k) ? (int)kernel_units(n, k) : 1;
    return c;
}

/* The shared output surfaces, and the kernels compiled once: all of them with dynamic
 * weights, the weight-free ones with baked weights. */
static int compile_all(struct at_net *n)
{
    struct ant_err e;
    for (int k = 0; k < AT_N_KERNELS; k++) {
        if (!kernel_used(n, k)) continue;
        if (!(n->out[k] = ane_surface_new(n->dev, at_layout_bytes(&n->p.out[k]), &e)))
            return at_fail(n, "kernel %s output: %s", at_kernel_name(k), e.msg);
        if (n->o.baked && kernel_weighted(k)) continue;
        if (!(n->k[k] = at_compile(n, k, NULL))) return -1;
        n->st.kernels++;
    }
    return 0;
}

/* An input surface of kernel k, and its request when the kernel exists already. */
static int unit_open(struct at_net *n, struct at_unit *u, enum at_kernel k)
{
    struct ant_err e;
    if (!(u->in = ane_surface_new(n->dev, at_layout_bytes(&n->p.in[k]), &e)) ||
        (n->k[k] && !(u->req = ane_request_new(n->k[k], &u->in, 1, &n->out[k], 1, &e))))
        return at_fail(n, "kernel %s surfaces: %s", at_kernel_name(k), e.msg);
    return 0;
}

static int units_open(struct at_net *n)
{
    size_t L = (size_t)n->p.L, nc = (size_t)n->p.n_chunks;
    n->layer = calloc(L * AT_LAYER_KERNELS, sizeof *n->layer);
    n->cls[0] = calloc(nc, sizeof *n->cls[0]);
    n->cls[1] = calloc(nc, sizeof *n->cls[1]);
    n->norm_bwd = calloc(kernel_units(n, AT_NORM_BWD), sizeof *n->norm_bwd);
    if (!n->layer || !n->cls[0] || !n->cls[1] || !n->norm_bwd) return at_fail(n, "out of memory");
    for (int k = 0; k < AT_N_KERNELS; k++)
        for (int i = 0; kernel_used(n, k) && i < (int)kernel_units(n, k); i++)
            if (unit_open(n, unit_at(n, k, i), k)) return -1;
    return 0;
}

/* With baked weights, one weights_changed must fit in the compile budget (§1.9). */
static int budget_fits(struct at_net *n, const struct ant_chip *chip)
{
    int need = at_compiles_per_update(n), done = ane_compiles_in_process();
    if (!n->o.baked || chip->compile_budget <= 0 || done + need <= chip->compile_budget) return 0;
    return at_fail(n, "the model needs %d kernel compiles per weight update after %d at open, "
                   "more than %s allows per process (%d, docs/ane.md §1.9); use ane-dynamic",
                   need, done, chip->name, chip->compile_budget);
}

static void unit_close(struct at_unit *u)
{
    ane_request_free(u->req);
    ane_kernel_free(u->k);
    ane_surface_free(u->in);
}

static void units_close(struct at_unit *u, size_t count)
{
    for (size_t i = 0; u && i < count; i++) unit_close(&u[i]);
    free(u);
}

/* The CPU buffers' sizes in floats, in the order of their pointers in at_net below;
 * per layer only where a later reader needs them (the worker: dW on the CPU). */
enum { N_BUF = 15, N_WORKER_BUF = 7 };
static void buffer_sizes(const struct at_net *n, size_t sz[N_BUF + N_WORKER_BUF])
{
    size_t S = n->p.S, D = n->p.D, H = n->p.H, KV = n->p.KV, L = n->p.L, V = n->p.V;
    size_t Lw = n->o.dw_on_device ? 1 : L, Lx = n->o.dw_on_device ? 0 : L;
    size_t all[N_BUF + N_WORKER_BUF] = {
        (L + 1) * S * D, L * S * D, L * S, L * S, Lw * S * D, Lw * S * D, S * D, S,
        S * V, n->p.extras * S * V, S * D, S * D, Lw * S * D, Lw * S * D, n->lay.total,
        Lx * S * D, Lx * S * H, Lx * S * D, Lx * S * KV, Lx * S * KV, Lx * S * H, Lx * S * H};
    memcpy(sz, all, sizeof all);
}

static int buffers_alloc(struct at_net *n)
{
    float **f[N_BUF + N_WORKER_BUF] = {
        &n->x, &n->x2, &n->rstd1, &n->rstd2, &n->xn, &n->x2n, &n->xf, &n->rstdf, &n->logits,
        &n->probs, &n->tmp, &n->dxn, &n->dy, &n->dx2, &n->G,
        &n->ao, &n->g, &n->dq, &n->dk, &n->dv, &n->dh1, &n->dh3};
    size_t sz[N_BUF + N_WORKER_BUF];
    buffer_sizes(n, sz);
    for (int i = 0; i < N_BUF + N_WORKER_BUF; i++)
        if (sz[i] && !(*f[i] = ant_falloc(sz[i]))) return at_fail(n, "out of memory for activations");
    if (!n->o.dw_on_device && !(n->dwork = at_dwork_new()))
        return at_fail(n, "cannot start the dW worker thread");
    n->tok = calloc(n->p.S, sizeof *n->tok);
    n->tgt = calloc(n->p.S, sizeof *n->tgt);
    return n->tok && n->tgt ? 0 : at_fail(n, "out of memory");
}

size_t at_net_memory_bytes(const struct ant_model_config *c, const struct at_opts *o)
{
    struct at_net n = {.c = *c, .o = *o};
    ant_layout_init(&n.lay, c);
    at_plan_init(&n.p, c, o->cls_chunk, o->baked, o->extras);
    size_t sz[N_BUF + N_WORKER_BUF], bytes = 0;
    buffer_sizes(&n, sz);
    for (int i = 0; i < N_BUF + N_WORKER_BUF; i++) bytes += sz[i] * sizeof(float);
    for (int k = 0; k < AT_N_KERNELS; k++)   /* surfaces: each unit's input, one output */
        if (kernel_used(&n, k))
            bytes += kernel_units(&n, k) * at_layout_bytes(&n.p.in[k]) + at_layout_bytes(&n.p.out[k]);
    return bytes;
}

struct at_net *at_net_open(const struct ant_model_config *c, const struct ant_chip *chip,
                           const struct at_opts *o, char *why, size_t why_len)
{
    struct at_net *n = calloc(1, sizeof *n);
    if (!n) return snprintf(why, why_len, "out of memory"), NULL;
    n->c = *c;
    n->o = *o;
    ant_layout_init(&n->lay, c);
    at_plan_init(&n->p, c, o->cls_chunk, o->baked, o->extras);
    at_lscale_init(&n->ls, o->loss_scale, o->scale_growth);
    struct ant_err e;
    if (!(n->dev = ane_open(o->device, chip, &e))) at_fail(n, "device %s: %s", o->device, e.msg);
    else if (ane_cache_configure(n->dev, NULL, o->cache_bytes, o->cache, &e))
        at_fail(n, "compile cache: %s", e.msg);
    else if (compile_all(n) == 0 && budget_fits(n, chip) == 0 && units_open(n) == 0 &&
             buffers_alloc(n) == 0)
        return n;
    snprintf(why, why_len, "%s", n->err);
    at_net_close(n);
    return NULL;
}

void at_net_close(struct at_net *n)
{
    if (!n) return;
    at_dwork_free(n->dwork);
    units_close(n->layer, (size_t)n->p.L * AT_LAYER_KERNELS);
    units_close(n->cls[0], (size_t)n->p.n_chunks);
    units_close(n->cls[1], (size_t)n->p.n_chunks);
    units_close(n->norm_bwd, kernel_units(n, AT_NORM_BWD));
    unit_close(&n->norm_fwd);
    unit_close(&n->smax);
    for (int k = 0; k < AT_N_KERNELS; k++) {
        ane_surface_free(n->out[k]);
        ane_kernel_free(n->k[k]);
    }
    ane_close(n->dev);
    float *f[] = {n->x, n->x2, n->rstd1, n->rstd2, n->xn, n->x2n, n->xf, n->rstdf, n->logits,
                  n->probs, n->tmp, n->dxn, n->dy, n->dx2, n->G, n->ao, n->g, n->dq, n->dk, n->dv,
                  n->dh1, n->dh3};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) ant_ffree(f[i]);
    free(n->tok);
    free(n->tgt);
    at_scratch_free(&n->sc);
    free(n);
}

const char *at_net_error(const struct at_net *n) { return n->err; }

void at_net_stats(const struct at_net *n, struct at_stats *s)
{
    *s = n->st;
    s->loss_scale = n->ls.scale;
    s->backoffs = n->ls.backoffs;
    s->growths = n->ls.growths;
}

int at_net_save_state(const struct at_net *n, char *buf, size_t cap)
{
    return at_lscale_save(&n->ls, buf, cap);
}

int at_net_load_state(struct at_net *n, const char *state)
{
    if (at_lscale_load(&n->ls, state) == 0) return 0;
    return at_fail(n, "backend state \"%.200s\" is not this backend's (expected loss_scale=S "
                   "clean=N backoffs=N growths=N)", state);
}
