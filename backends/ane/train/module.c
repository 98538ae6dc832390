/* The plugin face of the two ANE training backends built on the shared layer (net.h);
 * compiled once per backend with AT_BAKED set:
 *  - "ane-dynamic" (AT_BAKED 0, §6, docs/ane.md §15): kernels compiled once at open; the
 *    weights live in each layer's persistent input surfaces and are restaged after every
 *    optimizer update, so it never recompiles and never needs a restart;
 *  - "ane-static" (AT_BAKED 1, §5): the weights are baked into per-layer kernels as
 *    constants and recompiled after every update; when the next round would exceed the
 *    chip's compile budget it asks the core for a fresh process (needs_restart).
 * Settings, probe and the ABI calls; all of the work is in backends/ane/train. */
#include <anetrain/backend.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ane/train/net.h"

#if AT_BAKED
#define WHO "ane-static"
#define DESCRIPTION "static-weight ANE pipeline: weights baked into kernels, recompiled per update"
#define REAL_PRIORITY 20   /* below ane-dynamic: compile time dominates its steps (§5.8) */
#else
#define WHO "ane-dynamic"
#define DESCRIPTION "dynamic-weight ANE pipeline: kernels compiled once, weights staged in surfaces"
#define REAL_PRIORITY 30
#endif

static const struct ant_setting settings[] = {
    {"device", ANT_SET_STRING, "apple",
     "\"apple\": the Neural Engine (macOS); \"emulator\": the CPU emulator of the ANE"},
    {"loss_scale", ANT_SET_FLOAT, "256",
     "starting fp16 loss scale; upstream's value, which keeps small gradients from "
     "flushing to zero (docs/ane.md \"Numerics\")"},
    {"loss_scale_growth", ANT_SET_INT, "1000",
     "clean steps before the loss scale doubles (0: never); a non-finite gradient halves it"},
    {"dw", ANT_SET_STRING, "device", "where weight gradients run: \"device\" or \"cpu\" (a worker thread)"},
    {"classifier", ANT_SET_STRING, "device", "where the classifier runs: \"device\" or \"cpu\""},
    {"cls_chunk", ANT_SET_INT, "8192", "most vocabulary rows per classifier kernel"},
    {"extras", ANT_SET_BOOL, "false",
     "RMSNorms (forward and backward) and the softmax on the device too, as upstream's "
     "train_large_ane (docs/ane.md §5.6): less CPU work per step, fp16 probabilities, and "
     "with baked weights 2 x n_layers + 2 more compiles per update"},
    {"compile_cache", ANT_SET_BOOL, "true",
     "keep compiled kernels on disk ($ANETRAIN_CACHE_DIR or ~/.cache/anetrain/kernels) so "
     "restarts and new runs skip unchanged ones (docs/ane.md §18)"},
    {"compile_cache_mb", ANT_SET_INT, "1024", "size limit of the compile cache, MB"},
    {NULL, 0, NULL, NULL},
};

struct ctx {
    struct at_net *net;
    const struct ant_host *host;
    char err[600];
};

static int probe(const struct ant_host *host, const struct ant_chip *chip, int *priority,
                 const char **why)
{
    if (!chip->has_ane) {
        *why = "no Neural Engine; to run the emulator, force a chip profile (--chip M4) and "
               "set backends." WHO ".device = \"emulator\"";
        return -1;
    }
    if (strcmp(chip->mil_program, "1.3") || chip->fp16_io) {
        *why = "the chip's profile has the M1/M2 rules (program 1.0, no cast); use ane-fp16io";
        return -1;
    }
#ifdef HAVE_APPLE_ANE
    *priority = chip->forced ? 5 : REAL_PRIORITY;   /* a forced chip may have no ANE */
#else
    *priority = 5;                                  /* only the emulator: below cpu (10) */
#endif
    return 0;
}

static const char *string_setting(const struct ant_setting_value *v, const char *key,
                                  const char *a, const char *b, char *why, size_t n)
{
    const struct ant_setting_value *s = ant_setting_find(v, key);
    const char *x = s && s->s ? s->s : a;
    if (strcmp(x, a) && strcmp(x, b)) {
        snprintf(why, n, "backends." WHO ".%s = \"%s\": must be \"%s\" or \"%s\"", key, x, a, b);
        return NULL;
    }
    return x;
}

/* The settings as the layer's options; -1 with why on a bad value. */
static int parse_opts(const struct ant_host *host, const struct ant_open_args *args,
                      struct at_opts *o, char *why, size_t n)
{
    const struct ant_setting_value *v = args->settings, *s;
    const char *device = string_setting(v, "device", "apple", "emulator", why, n);
    const char *dw = string_setting(v, "dw", "device", "cpu", why, n);
    const char *cls = string_setting(v, "classifier", "device", "cpu", why, n);
    if (!device || !dw || !cls) return -1;
    *o = (struct at_opts){.device = device, .baked = AT_BAKED, .loss_scale = 256, .scale_growth = 1000,
                          .dw_on_device = !strcmp(dw, "device"), .cls_on_device = !strcmp(cls, "device"),
                          .cls_chunk = 8192, .max_batch = args->max_batch, .host = host, .who = WHO};
    if ((s = ant_setting_find(v, "loss_scale"))) o->loss_scale = (float)s->f;
    if ((s = ant_setting_find(v, "loss_scale_growth"))) o->scale_growth = (int)s->i;
    if ((s = ant_setting_find(v, "cls_chunk"))) o->cls_chunk = (int)s->i;
    o->extras = (s = ant_setting_find(v, "extras")) && s->i;
    o->cache = !(s = ant_setting_find(v, "compile_cache")) || s->i;
    if ((s = ant_setting_find(v, "compile_cache_mb"))) o->cache_bytes = (size_t)(s->i > 0 ? s->i : 1) << 20;
    if (!(o->loss_scale >= 1.0f / 1024 && o->loss_scale <= 16777216) || o->scale_growth < 0 || o->cls_chunk < 1) {
        snprintf(why, n, "backends." WHO ": loss_scale must be in [1/1024, 2^24], "
                 "loss_scale_growth >= 0, cls_chunk >= 1");
        return -1;
    }
    return 0;
}

static size_t memory_bytes(const struct ant_open_args *args)
{
    struct at_opts o;
    char why[256];
    return parse_opts(NULL, args, &o, why, sizeof why) ? 0 : at_net_memory_bytes(args->model, &o);
}

static int open_ctx(const struct ant_host *host, const struct ant_open_args *args, void **out,
                    char *why, size_t n)
{
    struct at_opts o;
    if (parse_opts(host, args, &o, why, n)) return -1;
    struct ctx *x = calloc(1, sizeof *x);
    if (!x) return snprintf(why, n, "out of memory"), -1;
    if (!(x->net = at_net_open(args->model, args->chip, &o, why, n))) return free(x), -1;
    struct at_stats st;
    at_net_stats(x->net, &st);
    if (host && host->log)
        host->log(ANT_LOG_INFO, WHO, "%ld kernels compiled in %.0f ms on the %s device "
                  "(dW on the %s, classifier on the %s, norms and softmax on the %s)",
                  st.kernels, st.compile_ms, o.device, o.dw_on_device ? "device" : "CPU",
                  o.cls_on_device ? "device" : "CPU", o.extras ? "device" : "CPU");
    x->host = host;
    *out = x;
    return 0;
}

static int failed(struct ctx *x)
{
    snprintf(x->err, sizeof x->err, WHO ": %s", at_net_error(x->net));
    return -1;
}

static int train_step(void *c, const float *w, const struct ant_batch *b, float *grads,
                      float grad_scale, float *loss)
{
    struct ctx *x = c;
    return at_net_train_step(x->net, w, b, grads, grad_scale, loss) ? failed(x) : 0;
}

static int eval_loss(void *c, const float *w, const struct ant_batch *b, float *loss)
{
    struct ctx *x = c;
    return at_net_eval_loss(x->net, w, b, loss) ? failed(x) : 0;
}

static int logits(void *c, const float *w, const int32_t *tokens, int n, float *out)
{
    struct ctx *x = c;
    return at_net_logits(x->net, w, tokens, n, out) ? failed(x) : 0;
}

static int needs_restart(void *c, char *why, size_t n)
{
    return at_net_needs_restart(((struct ctx *)c)->net, why, n);
}

static int save_state(void *c, char *buf, size_t cap)
{
    return at_net_save_state(((struct ctx *)c)->net, buf, cap);
}

static int load_state(void *c, const char *state)
{
    struct ctx *x = c;
    return at_net_load_state(x->net, state) ? failed(x) : 0;
}

static int weights_changed(void *c, const float *w)
{
    struct ctx *x = c;
    return at_net_weights_changed(x->net, w) ? failed(x) : 0;
}

static int stats(void *c, struct ant_backend_stats *out)
{
    struct ctx *x = c;
    struct at_stats st;
    at_net_stats(x->net, &st);
    struct ant_backend_stats s = {
        .compile_ms = st.compile_ms, .forward_ms = 0, .backward_ms = st.eval_ms,
        .compiles = st.compiles, .evals = st.evals, .flops = st.flops,
        .device_flops = st.device_flops, .staged_bytes = st.staged_bytes, .kernels = st.kernels,
        .steps = st.steps, .modelled_device_ms = st.modelled_ms, .loss_scale = st.loss_scale,
        .scale_backoffs = st.backoffs, .cpu_wait_ms = st.cpu_wait_ms,
    };
    size_t n = out->size && out->size < sizeof s ? out->size : sizeof s;
    s.size = (uint32_t)n;
    memcpy(out, &s, n);
    return 0;
}

static const char *last_error(void *c) { return ((struct ctx *)c)->err; }

static void close_ctx(void *c)
{
    struct ctx *x = c;
    if (!x) return;
    struct at_stats st;
    at_net_stats(x->net, &st);
    if (st.softmax_cpu_rows && x->host && x->host->log)
        x->host->log(ANT_LOG_INFO, WHO, "%ld tokens' loss redone on the CPU: the device's "
                     "probability of the target was under fp16's normal range", st.softmax_cpu_rows);
    at_net_close(x->net);
    free(x);
}

static const struct ant_backend backend = {
    .abi_major = ANT_ABI_MAJOR,
    .abi_minor = ANT_ABI_MINOR,
    .size = sizeof(struct ant_backend),
    .name = WHO,
    .description = DESCRIPTION,
    .settings = settings,
    .probe = probe,
    .open = open_ctx,
    .train_step = train_step,
    .eval_loss = eval_loss,
    .logits = logits,
    .weights_changed = weights_changed,
    .stats = stats,
    .last_error = last_error,
    .close = close_ctx,
    .needs_restart = needs_restart,
    .memory_bytes = memory_bytes,
    .save_state = save_state,
    .load_state = load_state,
};

int ant_backend_entry(const struct ant_host *host, const struct ant_backend **out)
{
    if (!out) return -1;
    *out = &backend;
    return 0;
}
