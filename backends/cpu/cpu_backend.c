/* The "cpu" backend: the fp32 model of model.c behind the plugin ABI. It runs anywhere
 * OpenBLAS does, so its probe always accepts, at the lowest priority: ANE backends
 * outrank it where they can run, and it stays the fallback of last resort. */
#define _POSIX_C_SOURCE 200112L   /* clock_gettime */
#include <anetrain/backend.h>
#include "base/blas.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpu/model.h"

struct cpu_ctx {
    struct cpu_model *model;
    struct ant_model_config c;
    struct ant_backend_stats stats;
    char err[512];
};

static const struct ant_setting cpu_settings[] = {
    {"threads", ANT_SET_INT, "0", "OpenBLAS threads; 0 = the trainer's thread count"},
    {NULL, 0, NULL, NULL},
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cpu_probe(const struct ant_host *host, const struct ant_chip *chip, int *priority,
                     const char **why)
{
    *priority = 10;
    return 0;
}

static int cpu_open(const struct ant_host *host, const struct ant_open_args *args, void **out,
                    char *why, size_t why_len)
{
    const struct ant_setting_value *s = ant_setting_find(args->settings, "threads");
    long threads = s && s->i > 0 ? s->i : args->threads;
    if (s && s->i < 0) {
        snprintf(why, why_len, "backends.cpu.threads = %ld: must be >= 0", s->i);
        return -1;
    }
    struct cpu_ctx *x = calloc(1, sizeof *x);
    if (!x) {
        snprintf(why, why_len, "cpu: out of memory");
        return -1;
    }
    x->model = cpu_model_create(args->model, args->max_batch, why, why_len);
    if (!x->model) {
        free(x);
        return -1;
    }
    x->c = *args->model;
    x->stats.size = sizeof x->stats;
    if (threads > 0) ant_blas_set_threads((int)threads);
    if (host && host->log)
        host->log(ANT_LOG_DEBUG, "cpu", ANT_BLAS_NAME " %s, %d threads", ant_blas_core(),
                  ant_blas_threads());
    *out = x;
    return 0;
}

/* Copy the model's reason into the context, where last_error finds it. */
static int failed(struct cpu_ctx *x)
{
    snprintf(x->err, sizeof x->err, "cpu: %s", cpu_model_error(x->model));
    return -1;
}

static int cpu_train_step(void *ctx, const float *weights, const struct ant_batch *batch,
                          float *grads, float grad_scale, float *loss)
{
    struct cpu_ctx *x = ctx;
    int b = batch->batch_size, t = batch->seq_len;
    double t0 = now_ms();
    if (cpu_model_forward(x->model, weights, batch->tokens, batch->targets, b, t, loss))
        return failed(x);
    double t1 = now_ms();
    if (cpu_model_backward(x->model, weights, grads, grad_scale)) return failed(x);
    x->stats.forward_ms += t1 - t0;
    x->stats.backward_ms += now_ms() - t1;
    x->stats.flops += ant_model_flops(&x->c, b, t, 1);
    x->stats.evals++;
    return 0;
}

static int cpu_eval_loss(void *ctx, const float *weights, const struct ant_batch *batch,
                         float *loss)
{
    struct cpu_ctx *x = ctx;
    int b = batch->batch_size, t = batch->seq_len;
    double t0 = now_ms();
    if (cpu_model_forward(x->model, weights, batch->tokens, batch->targets, b, t, loss))
        return failed(x);
    x->stats.forward_ms += now_ms() - t0;
    x->stats.flops += ant_model_flops(&x->c, b, t, 0);
    x->stats.evals++;
    return 0;
}

static int cpu_logits(void *ctx, const float *weights, const int32_t *tokens, int n_tokens,
                      float *logits)
{
    struct cpu_ctx *x = ctx;
    double t0 = now_ms();
    if (cpu_model_logits(x->model, weights, tokens, n_tokens, logits)) return failed(x);
    x->stats.forward_ms += now_ms() - t0;
    /* the layers run over all n tokens, the classifier over the last one only */
    double cls = 2.0 * x->c.dim * x->c.vocab_size;
    x->stats.flops += ant_model_flops(&x->c, 1, n_tokens, 0) - (n_tokens - 1) * cls;
    x->stats.evals++;
    return 0;
}

static int cpu_stats(void *ctx, struct ant_backend_stats *out)
{
    struct cpu_ctx *x = ctx;
    size_t n = out->size && out->size < sizeof *out ? out->size : sizeof *out;
    struct ant_backend_stats s = x->stats;
    s.size = (uint32_t)n;
    memcpy(out, &s, n);
    return 0;
}

static const char *cpu_last_error(void *ctx) { return ((struct cpu_ctx *)ctx)->err; }

static void cpu_close(void *ctx)
{
    struct cpu_ctx *x = ctx;
    if (!x) return;
    cpu_model_free(x->model);
    free(x);
}

static size_t cpu_memory_bytes(const struct ant_open_args *args)
{
    return cpu_model_bytes(args->model, args->max_batch);
}

static const struct ant_backend cpu_backend = {
    .abi_major = ANT_ABI_MAJOR,
    .abi_minor = ANT_ABI_MINOR,
    .size = sizeof(struct ant_backend),
    .name = "cpu",
    .description = "fp32 reference on OpenBLAS",
    .settings = cpu_settings,
    .probe = cpu_probe,
    .open = cpu_open,
    .train_step = cpu_train_step,
    .eval_loss = cpu_eval_loss,
    .logits = cpu_logits,
    .weights_changed = NULL,   /* reads the core's weights directly: nothing to restage */
    .stats = cpu_stats,
    .last_error = cpu_last_error,
    .close = cpu_close,
    .memory_bytes = cpu_memory_bytes,
};

int ant_backend_entry(const struct ant_host *host, const struct ant_backend **out)
{
    if (!out) return -1;
    *out = &cpu_backend;
    return 0;
}
