/* The "ane-fp16io" backend, for M1/M2 (docs/ane.md §7): the CPU backend's fp32 model with
 * its matrix products — every projection, the classifier, their input and weight
 * gradients — run on the Neural Engine in the one form reported to work there under
 * macOS 26 (runtime-input 3-D matmuls, fp16 surfaces, no cast: gemm.h). Attention's core,
 * RMSNorm, SwiGLU, softmax and the embedding stay on the CPU, where §7.3 says M1 cannot
 * run them. Every kernel is self-tested at open and replaced by OpenBLAS if it gives
 * zeros; the dialect is retried and remembered; gradients use the same dynamic loss
 * scale as the other ANE backends. */
#include <anetrain/backend.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ane/train/gemm.h"
#include "ane/train/lscale.h"
#include "base/rng.h"
#include "base/util.h"
#include "cpu/model.h"

#define WHO "ane-fp16io"

static const struct ant_setting settings[] = {
    {"device", ANT_SET_STRING, "apple",
     "\"apple\": the Neural Engine (macOS); \"emulator\": the CPU emulator of the ANE"},
    {"dialect", ANT_SET_STRING, "auto",
     "MIL dialect to try first: \"auto\" (the one that worked last time on this chip and OS, "
     "else the profile's), \"modern\" (program 1.3) or \"verbose\" (program 1.0)"},
    {"loss_scale", ANT_SET_FLOAT, "256", "starting fp16 loss scale (docs/ane.md §16)"},
    {"loss_scale_growth", ANT_SET_INT, "1000", "clean steps before the loss scale doubles (0: never)"},
    {"compile_cache", ANT_SET_BOOL, "true", "keep compiled kernels on disk (docs/ane.md §18)"},
    {"unsafe_no_pad", ANT_SET_BOOL, "false", "testing only: do not pad K to a multiple of 32 (§7.3)"},
    {"unsafe_swap_inputs", ANT_SET_BOOL, "false", "testing only: bind the larger input first (§7.3)"},
    {"unsafe_no_chunks", ANT_SET_BOOL, "false", "testing only: do not keep input sizes ascending (§7.3)"},
    {NULL, 0, NULL, NULL},
};

struct ctx {
    struct ant_model_config c;
    struct ant_layout lay;
    struct cpu_model *m;
    struct at_gemm *g;
    struct at_lscale ls;
    float *G;                /* private, loss-scaled gradients */
    int failed;              /* a device product failed: the pass is void */
    long steps;
    double flops;
    char err[600];
};

static int probe(const struct ant_host *host, const struct ant_chip *chip, int *priority,
                 const char **why)
{
    if (!chip->has_ane) {
        *why = "no Neural Engine; to run the emulator, force a chip profile (--chip M1) and "
               "set backends." WHO ".device = \"emulator\"";
        return -1;
    }
#ifdef HAVE_APPLE_ANE
    *priority = chip->forced ? 5 : chip->fp16_io ? 30 : 15;   /* made for M1/M2 */
#else
    *priority = 5;                                            /* emulator only: below cpu */
#endif
    return 0;
}

static void dev_forward(void *c, float *y, const float *x, const float *w, int n, int in, int out)
{
    struct ctx *k = c;   /* y [n, out] = x [n, in] · W^T */
    if (!k->failed && at_gemm(k->g, y, x, in, 0, w, in, 1, n, in, out, 1.0f, 0.0f)) k->failed = 1;
}

static void dev_dx(void *c, float *dx, const float *dy, const float *w, int n, int in, int out,
                   float beta)
{
    struct ctx *k = c;   /* dx [n, in] = dy [n, out] · W [out, in] + beta dx */
    if (!k->failed && at_gemm(k->g, dx, dy, out, 0, w, in, 0, n, out, in, 1.0f, beta)) k->failed = 1;
}

static void dev_dw(void *c, float *dw, const float *dy, const float *x, int n, int in, int out,
                   float alpha)
{
    struct ctx *k = c;   /* dW [out, in] += alpha dy^T [out, n] · x [n, in] */
    if (!k->failed && at_gemm(k->g, dw, dy, out, 1, x, in, 0, out, n, in, alpha, 1.0f)) k->failed = 1;
}

static int fail(struct ctx *x, const char *what)
{
    snprintf(x->err, sizeof x->err, WHO ": %s", what);
    return -1;
}

static int pass_failed(struct ctx *x)
{
    if (x->failed) {
        x->failed = 0;
        return fail(x, at_gemm_error(x->g));
    }
    return fail(x, cpu_model_error(x->m));
}

/* Forward + backward at the current loss scale into G; mean loss in *loss. */
static int scaled_pass(struct ctx *x, const float *w, const struct ant_batch *b, float *loss)
{
    memset(x->G, 0, x->lay.total * sizeof *x->G);
    if (cpu_model_forward(x->m, w, b->tokens, b->targets, b->batch_size, b->seq_len, loss) ||
        x->failed || cpu_model_backward(x->m, w, x->G, x->ls.scale) || x->failed)
        return pass_failed(x);
    return 0;
}

static int train_step(void *c, const float *w, const struct ant_batch *b, float *grads,
                      float grad_scale, float *loss)
{
    struct ctx *x = c;
    float scale;
    for (;;) {
        scale = x->ls.scale;
        if (scaled_pass(x, w, b, loss)) return -1;
        int r = at_lscale_check(&x->ls, x->G, x->lay.total);
        if (r == 0) break;
        if (r < 0) return fail(x, "gradients are not finite even at the smallest loss scale");
    }
    for (size_t i = 0; i < x->lay.total; i++) grads[i] += grad_scale / scale * x->G[i];
    x->steps++;
    x->flops += ant_model_flops(&x->c, b->batch_size, b->seq_len, 1);
    return 0;
}

static int eval_loss(void *c, const float *w, const struct ant_batch *b, float *loss)
{
    struct ctx *x = c;
    if (cpu_model_forward(x->m, w, b->tokens, b->targets, b->batch_size, b->seq_len, loss) || x->failed)
        return pass_failed(x);
    x->flops += ant_model_flops(&x->c, b->batch_size, b->seq_len, 0);
    return 0;
}

/* Sampling runs on the CPU: its products change shape with every prompt length, and a
 * kernel per shape would spend the compile budget (§1.9). */
static int logits(void *c, const float *w, const int32_t *tokens, int n, float *out)
{
    struct ctx *x = c;
    cpu_model_set_matmul(x->m, NULL);
    int rc = cpu_model_logits(x->m, w, tokens, n, out);
    struct cpu_matmul_ops ops = {x, dev_forward, dev_dx, dev_dw};
    cpu_model_set_matmul(x->m, &ops);
    return rc ? fail(x, cpu_model_error(x->m)) : 0;
}

/* Compile and self-test every kernel now: one pass over a full batch of random data. */
static int warm_up(struct ctx *x, int B, char *why, size_t n)
{
    int T = x->c.seq_len, rc;
    float *w = ant_falloc(x->lay.total), loss;
    int32_t *tok = malloc(sizeof *tok * B * T);
    struct ant_rng r;
    rng_seed(&r, 1);
    if (!w || !tok) return ant_ffree(w), free(tok), snprintf(why, n, "out of memory"), -1;
    for (size_t i = 0; i < x->lay.total; i++) w[i] = 0.02f * (float)rng_normal(&r);
    for (int i = 0; i < B * T; i++) tok[i] = (int32_t)rng_below(&r, (uint64_t)x->c.vocab_size);
    struct ant_batch b = {B, T, tok, tok};
    rc = scaled_pass(x, w, &b, &loss);
    if (rc) snprintf(why, n, "%s", x->err);
    ant_ffree(w);
    free(tok);
    return rc;
}

static void close_ctx(void *c)
{
    struct ctx *x = c;
    if (!x) return;
    cpu_model_free(x->m);
    at_gemm_close(x->g);
    ant_ffree(x->G);
    free(x);
}

static int open_ctx(const struct ant_host *host, const struct ant_open_args *args, void **out,
                    char *why, size_t n)
{
    const struct ant_setting_value *v = args->settings, *s;
    struct at_gemm_opts o = {.device = "apple", .dialect = "auto", .host = host, .who = WHO};
    float scale = 256;
    int growth = 1000;
    if ((s = ant_setting_find(v, "device")) && s->s) o.device = s->s;
    if ((s = ant_setting_find(v, "dialect")) && s->s) o.dialect = s->s;
    if ((s = ant_setting_find(v, "loss_scale"))) scale = (float)s->f;
    if ((s = ant_setting_find(v, "loss_scale_growth"))) growth = (int)s->i;
    o.cache = !(s = ant_setting_find(v, "compile_cache")) || s->i;
    o.no_pad = (s = ant_setting_find(v, "unsafe_no_pad")) && s->i;
    o.swap_inputs = (s = ant_setting_find(v, "unsafe_swap_inputs")) && s->i;
    o.no_chunks = (s = ant_setting_find(v, "unsafe_no_chunks")) && s->i;
    if (strcmp(o.device, "apple") && strcmp(o.device, "emulator"))
        return snprintf(why, n, "backends." WHO ".device = \"%s\": must be \"apple\" or \"emulator\"", o.device), -1;
    if (strcmp(o.dialect, "auto") && strcmp(o.dialect, "modern") && strcmp(o.dialect, "verbose"))
        return snprintf(why, n, "backends." WHO ".dialect = \"%s\": must be \"auto\", \"modern\" or \"verbose\"", o.dialect), -1;
    if (!(scale >= 1.0f / 1024 && scale <= 16777216) || growth < 0)
        return snprintf(why, n, "backends." WHO ": loss_scale must be in [1/1024, 2^24], loss_scale_growth >= 0"), -1;
    struct ctx *x = calloc(1, sizeof *x);
    if (!x) return snprintf(why, n, "out of memory"), -1;
    x->c = *args->model;
    ant_layout_init(&x->lay, &x->c);
    at_lscale_init(&x->ls, scale, growth);
    struct cpu_matmul_ops ops = {x, dev_forward, dev_dx, dev_dw};
    if (!(x->m = cpu_model_create(args->model, args->max_batch, why, n)) ||
        !(x->g = at_gemm_open(args->chip, &o, why, n)) || !(x->G = ant_falloc(x->lay.total))) {
        if (x->m && x->g && !x->G) snprintf(why, n, "out of memory for gradients");
        close_ctx(x);
        return -1;
    }
    cpu_model_set_matmul(x->m, &ops);
    if (warm_up(x, args->max_batch, why, n)) return close_ctx(x), -1;
    at_lscale_init(&x->ls, scale, growth);   /* the warm-up's backoffs are not the run's */
    struct at_gemm_stats st;
    at_gemm_stats(x->g, &st);
    if (host && host->log)
        host->log(ANT_LOG_INFO, WHO, "%ld kernels in program %s (%ld compiles, %ld dialect "
                  "retries), %ld replaced by OpenBLAS after their self-test; on the device: every "
                  "projection, the classifier and their gradients; on the CPU: attention's core, "
                  "RMSNorm, SwiGLU, softmax, embedding", st.kernels, st.verbose_dialect ? "1.0" : "1.3",
                  st.compiles, st.retries, st.replaced);
    *out = x;
    return 0;
}

static int save_state(void *c, char *buf, size_t cap)
{
    return at_lscale_save(&((struct ctx *)c)->ls, buf, cap);
}

static int load_state(void *c, const char *state)
{
    struct ctx *x = c;
    return at_lscale_load(&x->ls, state) ? fail(x, "the checkpoint's backend state is not a loss scale") : 0;
}

static int stats(void *c, struct ant_backend_stats *out)
{
    struct ctx *x = c;
    struct at_gemm_stats g;
    at_gemm_stats(x->g, &g);
    struct ant_backend_stats s = {
        .compile_ms = g.compile_ms, .backward_ms = g.eval_ms, .compiles = g.compiles,
        .evals = g.evals, .flops = x->flops, .device_flops = g.device_flops,
        .staged_bytes = g.staged_bytes, .kernels = g.kernels, .steps = x->steps,
        .modelled_device_ms = 0, .loss_scale = x->ls.scale, .scale_backoffs = x->ls.backoffs,
    };
    /* device FLOPs count the warm-up too; keep the share within the run's work */
    if (s.device_flops > s.flops) s.device_flops = s.flops;
    size_t n = out->size && out->size < sizeof s ? out->size : sizeof s;
    s.size = (uint32_t)n;
    memcpy(out, &s, n);
    return 0;
}

/* The CPU model, the private gradients, and the gemm surfaces (at most a few MB). */
static size_t memory_bytes(const struct ant_open_args *args)
{
    struct ant_layout lay;
    ant_layout_init(&lay, args->model);
    return cpu_model_bytes(args->model, args->max_batch) + lay.total * sizeof(float);
}

static const char *last_error(void *c) { return ((struct ctx *)c)->err; }

static const struct ant_backend backend = {
    .abi_major = ANT_ABI_MAJOR,
    .abi_minor = ANT_ABI_MINOR,
    .size = sizeof(struct ant_backend),
    .name = WHO,
    .description = "M1/M2 ANE: the fp32 model with its products as fp16 runtime-input matmuls",
    .settings = settings,
    .probe = probe,
    .open = open_ctx,
    .train_step = train_step,
    .eval_loss = eval_loss,
    .logits = logits,
    .weights_changed = NULL,   /* the weights go to the device with each product */
    .stats = stats,
    .last_error = last_error,
    .close = close_ctx,
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
