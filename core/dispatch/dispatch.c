/* The dispatcher: runs every call on the current backend of the chain and moves down
 * the chain when that backend fails. See dispatch.h. */
#include <config.h>

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch/chip.h"
#include "dispatch/dispatch.h"
#include "dispatch/host.h"
#include "dispatch/memplan.h"
#include "dispatch/registry.h"

#define SWITCH_MAX 32

struct switch_rec {
    long step;
    char from[ANT_NAME_MAX], to[ANT_NAME_MAX];   /* to = "" when nothing was left */
    char cause[400];
};

/* Per chain position: what that backend did while it was current. */
struct usage {
    long calls, steps;
    double ms;
    struct ant_backend_stats st;   /* its counters when it was closed (or now) */
};

struct ant_dispatch {
    struct ant_registry *reg;
    struct ant_chip chip;
    struct ant_model_config model;
    size_t n_params;
    int max_batch, threads;
    int chain[ANT_CHAIN_MAX], n_chain;
    int cur;                 /* position in chain of the open backend */
    void *ctx;               /* its context; NULL when none is left */
    const float *weights;    /* last weights announced, for a backend opened mid-run */
    long step;
    struct switch_rec sw[SWITCH_MAX];   /* the first SWITCH_MAX, for the report */
    int n_sw, switches;
    struct usage use[ANT_CHAIN_MAX];
};

/* An operation run on one backend: 0 done, -1 failed (why says), 1 non-finite output. */
typedef int (*op_fn)(struct ant_dispatch *d, const struct ant_backend *b, void *ctx, void *arg,
                     char *why, size_t why_len);

static const struct ant_module *mod_at(const struct ant_dispatch *d, int pos)
{
    return &d->reg->mods[d->chain[pos]];
}

/* Fills why; returns -1 (a fault) or 1 when the backend refused to return a non-finite
 * result (the CPU backend reports "loss is not finite" as an error): that is bad
 * numbers, judged like a NaN result, not a broken backend. */
static int backend_error(const struct ant_backend *b, void *ctx, const char *call, char *why,
                         size_t n)
{
    const char *msg = b->last_error ? b->last_error(ctx) : NULL;
    snprintf(why, n, "%s failed: %s", call, msg && *msg ? msg : "(no reason given)");
    return msg && strstr(msg, "not finite") ? 1 : -1;
}

static void note_switch(struct ant_dispatch *d, int from, int to, const char *cause)
{
    const char *fn = mod_at(d, from)->name, *tn = to >= 0 ? mod_at(d, to)->name : "";
    if (to >= 0)
        ant_log(ANT_LOG_WARN, "dispatch", "step %ld: backend %s: %s; continuing on %s", d->step,
                fn, cause, tn);
    else
        ant_log(ANT_LOG_ERROR, "dispatch", "step %ld: backend %s: %s; no fallback left",
                d->step, fn, cause);
    d->switches++;
    if (d->n_sw == SWITCH_MAX) return;
    struct switch_rec *s = &d->sw[d->n_sw++];
    s->step = d->step;
    snprintf(s->from, sizeof s->from, "%s", fn);
    snprintf(s->to, sizeof s->to, "%s", tn);
    snprintf(s->cause, sizeof s->cause, "%s", cause);
}

static void close_ctx(struct ant_dispatch *d, int pos, void *ctx)
{
    const struct ant_backend *b = mod_at(d, pos)->b;
    if (!ctx) return;
    if (b->stats) {
        struct ant_backend_stats st = {.size = sizeof st};
        if (b->stats(ctx, &st) == 0) d->use[pos].st = st;
    }
    b->close(ctx);
}

/* Open the backend at chain position pos and hand it the current weights. */
static void *open_one(struct ant_dispatch *d, int pos, char *why, size_t n)
{
    const struct ant_module *m = mod_at(d, pos);
    struct ant_open_args a = {
        .size = sizeof a, .model = &d->model, .chip = &d->chip, .settings = m->settings,
        .max_batch = d->max_batch, .threads = d->threads,
    };
    void *ctx = NULL;
    why[0] = 0;
    if (ANT_HAS(m->b, memory_bytes)) {   /* weights, grads, m, v: 4 fp32 copies */
        uint64_t state = 4 * (uint64_t)d->n_params * sizeof(float);
        if (memplan_check(m->name, state, m->b->memory_bytes(&a), why, n)) return NULL;
    }
    if (m->b->open(host_get(), &a, &ctx, why, n) != 0 || !ctx) {
        char tmp[300];
        snprintf(tmp, sizeof tmp, "%s", *why ? why : "(no reason given)");
        snprintf(why, n, "open failed: %s", tmp);
        return NULL;
    }
    if (d->weights && m->b->weights_changed && m->b->weights_changed(ctx, d->weights) != 0) {
        backend_error(m->b, ctx, "weights_changed", why, n);
        m->b->close(ctx);
        return NULL;
    }
    ant_log(ANT_LOG_INFO, "dispatch", "using backend %s (%s)", m->name, m->path);
    return ctx;
}

/* Make the first backend at or after pos that opens current. from = the position that
 * failed (-1 at start), cause = why. Returns 0, or -1 when none is left. */
static int advance(struct ant_dispatch *d, int from, int pos, const char *cause)
{
    char why[400];
    for (; pos < d->n_chain; pos++) {
        if (from >= 0) note_switch(d, from, pos, cause);
        void *ctx = open_one(d, pos, why, sizeof why);
        if (ctx) {
            d->cur = pos;
            d->ctx = ctx;
            return 0;
        }
        from = pos;
        cause = why;
    }
    if (from >= 0) note_switch(d, from, -1, cause);
    d->cur = d->n_chain;
    d->ctx = NULL;
    return -1;
}

static int call_op(struct ant_dispatch *d, int pos, void *ctx, op_fn fn, void *arg, char *why,
                   size_t n)
{
    double t0 = ant_now_ms();
    why[0] = 0;
    int r = fn(d, mod_at(d, pos)->b, ctx, arg, why, n);
    d->use[pos].ms += ant_now_ms() - t0;
    d->use[pos].calls++;
    return r;
}

/* Non-finite output from the current backend: find the next backend whose output is
 * finite. If the CPU reference is non-finite too the run has diverged: stay where we
 * were and report it. */
static int nonfinite(struct ant_dispatch *d, const char *what, op_fn fn, void *arg,
                     const char *first, struct ant_err *e)
{
    int hold = d->cur, cpu_bad = !strcmp(mod_at(d, hold)->name, "cpu");
    void *hold_ctx = d->ctx;
    char why[400], cause[900];
    snprintf(cause, sizeof cause, "non-finite %s", what);
    if (cpu_bad && *first) snprintf(cause + strlen(cause), sizeof cause - strlen(cause), " (%s)", first);
    for (int pos = hold + 1; pos < d->n_chain && !cpu_bad; pos++) {
        void *ctx = open_one(d, pos, why, sizeof why);
        if (!ctx) {
            ant_log(ANT_LOG_WARN, "dispatch", "backend %s: %s", mod_at(d, pos)->name, why);
            continue;
        }
        int r = call_op(d, pos, ctx, fn, arg, why, sizeof why);
        if (r == 0) {
            char c2[1000];
            snprintf(c2, sizeof c2, "%s where %s is finite", cause, mod_at(d, pos)->name);
            note_switch(d, hold, pos, c2);
            close_ctx(d, hold, hold_ctx);
            d->cur = pos;
            d->ctx = ctx;
            return 0;
        }
        /* The CPU reference may report bad numbers as a failure rather than return
         * them; either way it is no healthier than the backend it would replace. */
        cpu_bad = !strcmp(mod_at(d, pos)->name, "cpu");
        if (r < 0) {
            ant_log(ANT_LOG_WARN, "dispatch", "backend %s: %s", mod_at(d, pos)->name, why);
            if (cpu_bad) snprintf(cause + strlen(cause), sizeof cause - strlen(cause), " (%s)", why);
        }
        close_ctx(d, pos, ctx);
    }
    if (cpu_bad) {
        ant_errf(e, "step %ld: %s on the CPU reference too: training diverged", d->step,
                 cause);
        return DISPATCH_NONFINITE;
    }
    return ant_errf(e, "step %ld: backend %s gave %s and no fallback backend is left to "
                    "check it against", d->step, mod_at(d, hold)->name, cause);
}

/* Run fn on the current backend, moving down the chain on failure. */
static int run(struct ant_dispatch *d, const char *what, op_fn fn, void *arg, struct ant_err *e)
{
    char why[400];
    for (;;) {
        if (!d->ctx) {
            const char *last = d->n_sw ? d->sw[d->n_sw - 1].cause : "no backend opened";
            return ant_errf(e, "no backend left to run on (last failure: %s)", last);
        }
        int r = call_op(d, d->cur, d->ctx, fn, arg, why, sizeof why);
        if (r == 0) return 0;
        if (r > 0) return nonfinite(d, what, fn, arg, why, e);
        int from = d->cur;
        close_ctx(d, from, d->ctx);
        d->ctx = NULL;
        advance(d, from, from + 1, why);
    }
}

/* --- the operations ------------------------------------------------------------- */

struct step_arg {
    const float *weights;
    const struct ant_batch *micro;
    int n_micro;
    float *grads;
    size_t n;
    float loss;
    double norm;
};

static int op_step(struct ant_dispatch *d, const struct ant_backend *b, void *ctx, void *arg,
                   char *why, size_t n)
{
    struct step_arg *a = arg;
    double sum = 0;
    memset(a->grads, 0, a->n * sizeof *a->grads);
    for (int i = 0; i < a->n_micro; i++) {
        float l = 0;
        if (b->train_step(ctx, a->weights, &a->micro[i], a->grads, 1.0f / (float)a->n_micro,
                          &l) != 0) {
            return backend_error(b, ctx, "train_step", why, n);
        }
        sum += l;
    }
    double sq = 0;
    for (size_t i = 0; i < a->n; i++) sq += (double)a->grads[i] * a->grads[i];
    a->loss = (float)(sum / a->n_micro);
    a->norm = sqrt(sq);
    return isfinite(a->loss) && isfinite(a->norm) ? 0 : 1;
}

struct eval_arg { const float *weights; const struct ant_batch *b; float loss; };

static int op_eval(struct ant_dispatch *d, const struct ant_backend *b, void *ctx, void *arg,
                   char *why, size_t n)
{
    struct eval_arg *a = arg;
    if (b->eval_loss(ctx, a->weights, a->b, &a->loss) != 0) {
        return backend_error(b, ctx, "eval_loss", why, n);
    }
    return isfinite(a->loss) ? 0 : 1;
}

struct logits_arg { const float *weights; const int32_t *tokens; int n; float *out; };

static int op_logits(struct ant_dispatch *d, const struct ant_backend *b, void *ctx, void *arg,
                     char *why, size_t n)
{
    struct logits_arg *a = arg;
    if (b->logits(ctx, a->weights, a->tokens, a->n, a->out) != 0) {
        return backend_error(b, ctx, "logits", why, n);
    }
    for (int i = 0; i < d->model.vocab_size; i++)
        if (!isfinite(a->out[i])) return 1;
    return 0;
}

static int op_weights(struct ant_dispatch *d, const struct ant_backend *b, void *ctx, void *arg,
                      char *why, size_t n)
{
    if (b->weights_changed && b->weights_changed(ctx, arg) != 0) {
        backend_error(b, ctx, "weights_changed", why, n);
        return -1;   /* never "bad numbers": there are no numbers yet */
    }
    return 0;
}

/* --- the API ---------------------------------------------------------------------- */

int dispatch_train_step(struct ant_dispatch *d, const float *weights,
                        const struct ant_batch *micro, int n_micro, float *grads,
                        size_t n_params, float *loss, double *grad_norm, struct ant_err *e)
{
    if (n_params != d->n_params)
        return ant_errf(e, "dispatch: %zu parameters given, the model has %zu", n_params,
                        d->n_params);
    if (n_micro < 1) return ant_errf(e, "dispatch: %d micro-batches", n_micro);
    for (int i = 0; i < n_micro; i++)
        if (micro[i].batch_size < 1 || micro[i].batch_size > d->max_batch ||
            micro[i].seq_len < 1 || micro[i].seq_len > d->model.seq_len)
            return ant_errf(e, "dispatch: micro-batch %d is %dx%d, limits %dx%d", i,
                            micro[i].batch_size, micro[i].seq_len, d->max_batch,
                            d->model.seq_len);
    struct step_arg a = {weights, micro, n_micro, grads, n_params, 0, 0};
    d->weights = weights;
    int rc = run(d, "loss or gradients", op_step, &a, e);
    if (rc == 0) {
        *loss = a.loss;
        *grad_norm = a.norm;
        d->use[d->cur].steps++;
    }
    d->step++;
    return rc;
}

int dispatch_eval_loss(struct ant_dispatch *d, const float *weights, const struct ant_batch *b,
                       float *loss, struct ant_err *e)
{
    if (b->batch_size < 1 || b->batch_size > d->max_batch || b->seq_len < 1 ||
        b->seq_len > d->model.seq_len)
        return ant_errf(e, "dispatch: eval batch is %dx%d, limits %dx%d", b->batch_size,
                        b->seq_len, d->max_batch, d->model.seq_len);
    struct eval_arg a = {weights, b, 0};
    d->weights = weights;
    int rc = run(d, "eval loss", op_eval, &a, e);   /* -1, or DISPATCH_NONFINITE */
    if (rc < 0) return rc;
    *loss = a.loss;
    return 0;
}

int dispatch_logits(struct ant_dispatch *d, const float *weights, const int32_t *tokens, int n,
                    float *logits, struct ant_err *e)
{
    if (n < 1 || n > d->model.seq_len)
        return ant_errf(e, "dispatch: %d context tokens, the model takes 1..%d", n,
                        d->model.seq_len);
    struct logits_arg a = {weights, tokens, n, logits};
    d->weights = weights;
    return run(d, "logits", op_logits, &a, e);
}

int dispatch_weights_changed(struct ant_dispatch *d, const float *weights, struct ant_err *e)
{
    d->weights = weights;
    return run(d, "weights", op_weights, (void *)weights, e);
}

static void chain_text(const struct ant_dispatch *d, char *buf, size_t cap)
{
    buf[0] = 0;
    for (int i = 0; i < d->n_chain; i++) {
        size_t len = strlen(buf);
        snprintf(buf + len, cap - len, "%s%s", i ? " -> " : "", mod_at(d, i)->name);
    }
}

int dispatch_open(struct ant_dispatch **out, const struct ant_run_config *rc, int max_batch,
                  struct ant_err *e)
{
    struct ant_dispatch *d = calloc(1, sizeof *d);
    if (!d) return ant_errf(e, "dispatch: out of memory");
    *out = NULL;
    struct ant_layout lay;
    ant_layout_init(&lay, &rc->model);
    d->model = rc->model;
    d->n_params = lay.total;
    d->max_batch = max_batch;
    d->threads = rc->be.threads;
    if (chip_detect(&d->chip, rc->be.chip, rc->be.os, e) < 0 || registry_open(&d->reg, &rc->be, e) < 0)
        goto fail;
    registry_probe(d->reg, &d->chip);
    if (registry_settings(d->reg, rc->backend_settings, rc->source, e) < 0 ||
        registry_chain(d->reg, &d->chip, &rc->be, d->chain, &d->n_chain, e) < 0)
        goto fail;
    char text[400];
    chain_text(d, text, sizeof text);
    ant_log(ANT_LOG_INFO, "dispatch", "chip %s, backend chain: %s", d->chip.name, text);
    if (advance(d, -1, 0, NULL) < 0) {
        /* Every open failed: each reason is in the log, the last one in the error. */
        ant_errf(e, "no backend of the chain (%s) could be opened (%s: %s)", text,
                 mod_at(d, d->n_chain - 1)->name, d->n_sw ? d->sw[d->n_sw - 1].cause : "?");
        goto fail;
    }
    *out = d;
    return 0;
fail:
    registry_close(d->reg);
    free(d);
    return -1;
}

const char *dispatch_backend_name(const struct ant_dispatch *d)
{
    return d->ctx ? mod_at(d, d->cur)->name : "(none)";
}

int dispatch_switches(const struct ant_dispatch *d) { return d->switches; }

const char *dispatch_switch_at(const struct ant_dispatch *d, int i, const char **from,
                               const char **to)
{
    if (i < 0 || i >= d->n_sw) return NULL;
    *from = d->sw[i].from;
    *to = d->sw[i].to;
    return d->sw[i].cause;
}

const struct ant_chip *dispatch_chip(const struct ant_dispatch *d) { return &d->chip; }

void dispatch_set_step(struct ant_dispatch *d, long step) { d->step = step; }

/* The open backend's live counters replace the ones saved for its position. */
static struct ant_backend_stats stats_at(const struct ant_dispatch *d, int pos)
{
    struct ant_backend_stats st = d->use[pos].st;
    const struct ant_backend *b = mod_at(d, pos)->b;
    if (pos == d->cur && d->ctx && b->stats) {
        struct ant_backend_stats now = {.size = sizeof now};
        if (b->stats(d->ctx, &now) == 0) st = now;
    }
    return st;
}

void dispatch_stats(const struct ant_dispatch *d, struct ant_backend_stats *out)
{
    memset(out, 0, sizeof *out);
    out->size = sizeof *out;
    for (int i = 0; i < d->n_chain; i++) {
        struct ant_backend_stats st = stats_at(d, i);
        out->forward_ms += st.forward_ms;
        out->backward_ms += st.backward_ms;
        out->compile_ms += st.compile_ms;
        out->other_ms += st.other_ms;
        out->compiles += st.compiles;
        out->evals += st.evals;
        out->flops += st.flops;
    }
}

int dispatch_needs_restart(struct ant_dispatch *d, char *why, size_t n)
{
    if (!d->ctx) return 0;
    const struct ant_backend *b = mod_at(d, d->cur)->b;
    why[0] = 0;
    return ANT_HAS(b, needs_restart) && b->needs_restart(d->ctx, why, n) == 1;
}

void dispatch_save_state(struct ant_dispatch *d, char *name, size_t name_cap, char *state,
                         size_t state_cap)
{
    name[0] = state[0] = 0;
    if (!d->ctx) return;
    const struct ant_backend *b = mod_at(d, d->cur)->b;
    if (!ANT_HAS(b, save_state) || b->save_state(d->ctx, state, state_cap) != 0) {
        state[0] = 0;
        return;
    }
    state[state_cap - 1] = 0;
    snprintf(name, name_cap, "%s", b->name);
}

int dispatch_load_state(struct ant_dispatch *d, const char *name, const char *state,
                        struct ant_err *e)
{
    if (!d->ctx || !name[0] || !state[0]) return 0;
    const struct ant_backend *b = mod_at(d, d->cur)->b;
    if (strcmp(name, b->name) != 0 || !ANT_HAS(b, load_state)) {
        ant_log(ANT_LOG_INFO, "dispatch", "the checkpoint's %s state (%s) is not for %s, which "
                "starts from its settings", name, state, b->name);
        return 0;
    }
    if (b->load_state(d->ctx, state) != 0)
        return ant_errf(e, "backend %s: %s", b->name, b->last_error(d->ctx));
    ant_log(ANT_LOG_INFO, "dispatch", "%s goes on from the checkpoint's state: %s", b->name, state);
    return 0;
}

void dispatch_print_device(const struct ant_backend_stats *st, FILE *out)
{
    if (st->size < offsetof(struct ant_backend_stats, cpu_wait_ms) + sizeof st->cpu_wait_ms ||
        st->kernels == 0)
        return;
    if (st->steps == 0) {   /* a process that only validated (ane-static's last restart) */
        fprintf(out, "    device: %ld kernels (%ld compiles, %.0f ms); no training step in this "
                "process: %ld evals, %.2f MB staged, %.1f ms of device time (modelled) in all\n",
                st->kernels, st->compiles, st->compile_ms, st->evals, st->staged_bytes / 1e6,
                st->modelled_device_ms);
        return;
    }
    double steps = (double)st->steps;
    fprintf(out, "    device: %ld kernels (%ld compiles, %.0f ms), %.1f evals/step, "
            "%.2f MB staged/step, %.1f%% of the FLOPs on the device\n", st->kernels,
            st->compiles, st->compile_ms, st->evals / steps, st->staged_bytes / steps / 1e6,
            st->flops > 0 ? 100 * st->device_flops / st->flops : 0);
    fprintf(out, "    device time %.1f ms/step (modelled from the chip profile, not measured); "
            "loss scale %g, %ld steps redone after overflow; CPU work waited on %.1f ms\n",
            st->modelled_device_ms / steps, st->loss_scale, st->scale_backoffs, st->cpu_wait_ms);
}

void dispatch_report(const struct ant_dispatch *d, FILE *out)
{
    char text[400];
    chain_text(d, text, sizeof text);
    fprintf(out, "backend: %s (chip %s; chain %s)\n", dispatch_backend_name(d), d->chip.name,
            text);
    fprintf(out, "backend switches: %d\n", d->switches);
    for (int i = 0; i < d->n_sw; i++)
        fprintf(out, "  step %ld: %s -> %s: %s\n", d->sw[i].step, d->sw[i].from,
                *d->sw[i].to ? d->sw[i].to : "(none left)", d->sw[i].cause);
    for (int i = 0; i < d->n_chain; i++) {
        const struct usage *u = &d->use[i];
        if (!u->calls && i != d->cur) continue;
        struct ant_backend_stats st = stats_at(d, i);
        fprintf(out, "  %s: %ld steps, %ld calls, %.1f ms", mod_at(d, i)->name, u->steps,
                u->calls, u->ms);
        if (st.size)
            fprintf(out, "; fwd %.1f ms, bwd %.1f ms, compile %.1f ms (%ld), %ld evals, "
                    "%.3g GFLOP", st.forward_ms, st.backward_ms, st.compile_ms, st.compiles,
                    st.evals, st.flops / 1e9);
        fputc('\n', out);
        dispatch_print_device(&st, out);
    }
}

void dispatch_close(struct ant_dispatch *d)
{
    if (!d) return;
    if (d->ctx) close_ctx(d, d->cur, d->ctx);
    registry_close(d->reg);
    free(d);
}
