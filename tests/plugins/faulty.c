/* Deliberately broken backend modules for the registry and dispatcher tests. One
 * source, built once per fault with -DFAULT=<n> and -DANT_MODULE_NAME=ant_test_<x>:
 *
 *   FAULT_BAD_ABI      abi_major one above the core's           -> refused
 *   FAULT_NO_ENTRY     exports no entry symbol                   -> refused
 *   FAULT_MISNAMED     file ant_test_misnamed holds "test-other" -> refused
 *   FAULT_ENTRY_FAILS  the entry returns an error                -> refused
 *   FAULT_OPEN_FAILS   open() fails like a kernel compile        -> fallen back from
 *   FAULT_WRAP         the real CPU backend, failing on request  -> fallen back from
 *   FAULT_NEEDS_ANE    the real CPU backend, probe refuses without a Neural Engine
 *   FAULT_UNDEFINED    calls a function nothing defines: lazily bound, it would load
 *                      and end the process at the first probe -> refused at load
 *
 * FAULT_WRAP modules delegate to the CPU backend compiled into them (libcpuinner), so
 * until the injected fault their numbers are the CPU's, bit for bit: a run that falls
 * back must then equal a CPU-only run exactly. Settings (backends.test-midrun = {...}):
 *   fail_at   0-based index of the call that fails (-1: never)
 *   fail_call which call counts and fails: "train_step", "eval_loss", "logits",
 *             "weights_changed"
 *   nan_at    0-based train_step call whose output turns NaN (-1: never)
 *   nan_what  "loss" or "grads" */
#include <anetrain/backend.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAULT_BAD_ABI 1
#define FAULT_NO_ENTRY 2
#define FAULT_MISNAMED 3
#define FAULT_ENTRY_FAILS 4
#define FAULT_OPEN_FAILS 5
#define FAULT_WRAP 6
#define FAULT_NEEDS_ANE 7
#define FAULT_UNDEFINED 8

#ifndef FAULT
#error "build with -DFAULT=<n>"
#endif
#ifndef BACKEND_NAME
#error "build with -DBACKEND_NAME='\"test-x\"'"
#endif
#ifndef FAIL_AT_DEFAULT
#define FAIL_AT_DEFAULT "-1"
#endif
#ifndef NAN_AT_DEFAULT
#define NAN_AT_DEFAULT "-1"
#endif

/* The CPU backend's table, compiled in under this name (tests/plugins/libcpuinner). */
int ant_test_cpu_entry(const struct ant_host *host, const struct ant_backend **out);

static const struct ant_backend *inner;

struct wrap {
    void *ctx;                  /* the CPU backend's context */
    long fail_at, nan_at, calls, steps;
    char fail_call[32], nan_what[16];
    char err[160];
};

static const struct ant_setting settings[] = {
    {"fail_at", ANT_SET_INT, FAIL_AT_DEFAULT, "0-based call that fails (-1: never)"},
    {"fail_call", ANT_SET_STRING, "train_step", "which call: train_step, eval_loss, logits, "
                                                "weights_changed"},
    {"nan_at", ANT_SET_INT, NAN_AT_DEFAULT, "0-based train_step whose output is NaN"},
    {"nan_what", ANT_SET_STRING, "loss", "loss or grads"},
    {NULL, 0, NULL, NULL},
};

#if FAULT == FAULT_UNDEFINED
void ant_test_no_such_function(void);
#endif

static int probe(const struct ant_host *h, const struct ant_chip *c, int *prio, const char **why)
{
#if FAULT == FAULT_UNDEFINED
    ant_test_no_such_function();
#endif
    *prio = 100;   /* outranks cpu, so "*" in a profile would choose it */
    if (FAULT == FAULT_NEEDS_ANE && !c->has_ane) {
        *why = "needs a Neural Engine (test module)";
        return -1;
    }
    return 0;
}

static int w_open(const struct ant_host *h, const struct ant_open_args *a, void **out,
                  char *why, size_t n)
{
    if (FAULT == FAULT_OPEN_FAILS) {
        snprintf(why, n, "kernel compile failed (injected by test-open-fails)");
        return -1;
    }
    struct wrap *w = calloc(1, sizeof *w);
    if (!w) return -1;
    const struct ant_setting_value *v;
    w->fail_at = (v = ant_setting_find(a->settings, "fail_at")) ? v->i : -1;
    w->nan_at = (v = ant_setting_find(a->settings, "nan_at")) ? v->i : -1;
    snprintf(w->fail_call, sizeof w->fail_call, "%s",
             (v = ant_setting_find(a->settings, "fail_call")) ? v->s : "train_step");
    snprintf(w->nan_what, sizeof w->nan_what, "%s",
             (v = ant_setting_find(a->settings, "nan_what")) ? v->s : "loss");
    if (inner->open(h, a, &w->ctx, why, n) != 0) {
        free(w);
        return -1;
    }
    *out = w;
    return 0;
}

/* Counts the calls of kind `call`; 1 when this one is the one to fail. */
static int fails(struct wrap *w, const char *call)
{
    if (strcmp(call, w->fail_call)) return 0;
    if (w->calls++ != w->fail_at) return 0;
    snprintf(w->err, sizeof w->err, "%s call %ld failed (injected)", call, w->fail_at);
    return 1;
}

static int w_train(void *ctx, const float *weights, const struct ant_batch *b, float *grads,
                   float scale, float *loss)
{
    struct wrap *w = ctx;
    if (fails(w, "train_step")) return -1;
    int rc = inner->train_step(w->ctx, weights, b, grads, scale, loss);
    if (rc == 0 && w->steps++ == w->nan_at) {
        if (!strcmp(w->nan_what, "grads")) grads[0] = NAN;
        else *loss = NAN;
    }
    return rc;
}

static int w_eval(void *ctx, const float *weights, const struct ant_batch *b, float *loss)
{
    struct wrap *w = ctx;
    return fails(w, "eval_loss") ? -1 : inner->eval_loss(w->ctx, weights, b, loss);
}

static int w_logits(void *ctx, const float *weights, const int32_t *t, int n, float *out)
{
    struct wrap *w = ctx;
    return fails(w, "logits") ? -1 : inner->logits(w->ctx, weights, t, n, out);
}

static int w_changed(void *ctx, const float *weights)
{
    struct wrap *w = ctx;
    if (fails(w, "weights_changed")) return -1;
    return inner->weights_changed ? inner->weights_changed(w->ctx, weights) : 0;
}

static int w_stats(void *ctx, struct ant_backend_stats *out)
{
    struct wrap *w = ctx;
    return inner->stats ? inner->stats(w->ctx, out) : -1;
}

static const char *w_error(void *ctx)
{
    struct wrap *w = ctx;
    return w->err[0] ? w->err : inner->last_error(w->ctx);
}

static void w_close(void *ctx)
{
    struct wrap *w = ctx;
    inner->close(w->ctx);
    free(w);
}

static const struct ant_backend table = {
    .abi_major = FAULT == FAULT_BAD_ABI ? ANT_ABI_MAJOR + 1 : ANT_ABI_MAJOR,
    .abi_minor = ANT_ABI_MINOR,
    .size = sizeof(struct ant_backend),
    .name = FAULT == FAULT_MISNAMED ? "test-other" : BACKEND_NAME,
    .description = "deliberately broken test module",
    .settings = settings,
    .probe = probe,
    .open = w_open,
    .train_step = w_train,
    .eval_loss = w_eval,
    .logits = w_logits,
    .weights_changed = w_changed,
    .stats = w_stats,
    .last_error = w_error,
    .close = w_close,
};

#if FAULT == FAULT_NO_ENTRY
/* A near miss: the loader must not accept anything but the real entry name. */
int ant_backend_entri(const struct ant_host *host, const struct ant_backend **out);
int ant_backend_entri(const struct ant_host *host, const struct ant_backend **out)
{
    *out = &table;
    return 0;
}
#else
int ant_backend_entry(const struct ant_host *host, const struct ant_backend **out)
{
    if (FAULT == FAULT_ENTRY_FAILS) return -3;
    if (ant_test_cpu_entry(host, &inner) != 0) return -1;
    *out = &table;
    return 0;
}
#endif
