/* The training loop. The core owns every piece of state (weights, moments, step, data
 * cursor); the backend only turns weights + batch into loss + gradients, so a backend
 * change or a restart loses nothing (DESIGN.md "Who owns what"). */
#include "train.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckpt.h"
#include "data.h"
#include "dispatch.h"
#include "dp.h"
#include "evaluate.h"
#include "fileio.h"
#include "llama2c.h"
#include "optim.h"
#include "report.h"
#include "state.h"

/* Consecutive non-finite steps after which the run stops (the last good checkpoint
 * stays on disk). */
#define MAX_BAD_STEPS 5
/* Batches of held-out data (data.eval_path) behind each validation loss. */
#define VAL_BATCHES 8

static volatile sig_atomic_t stop_requested;

void train_request_stop(void) { stop_requested = 1; }

struct trainer {
    const struct ant_run_config *rc;
    struct ant_data *data;
    struct ant_data *val;      /* held-out data, or NULL */
    struct ant_dispatch *disp;
    struct ant_train_state s;
    struct ant_batch *micro;   /* [grad_accum] */
    int32_t *tok_buf;          /* [grad_accum, B, T] tokens then targets */
    struct ant_report rep;
    long last_saved;           /* step of the newest checkpoint on disk, -1 if none */
};

/* Fresh state: random init, or a llama2.c model to fine-tune. */
static int init_state(struct trainer *t, struct ant_err *e)
{
    const struct ant_run_config *rc = t->rc;
    if (rc->ckpt.init_model[0]) {
        struct ant_model_config mc;
        float *w = NULL;
        if (llama2c_read(rc->ckpt.init_model, &mc, &w, e) < 0) return -1;
        if (ckpt_check_model(rc->ckpt.init_model, &mc, &rc->model, e) < 0) {
            ant_ffree(w);
            return -1;
        }
        if (state_alloc(&t->s, &rc->model) < 0) {
            ant_ffree(w);
            return ant_errf(e, "out of memory for the model state");
        }
        memcpy(t->s.weights, w, t->s.layout.total * sizeof(float));
        ant_ffree(w);
        ant_log(ANT_LOG_INFO, NULL, "starting from %s", rc->ckpt.init_model);
    } else {
        if (state_alloc(&t->s, &rc->model) < 0)
            return ant_errf(e, "out of memory for the model state");
        state_init_weights(&t->s, rc->train.seed, rc->train.init_std);
    }
    /* The data stream gets its own seed so init and data order vary independently. */
    rng_seed(&t->s.cursor.rng, rc->train.seed ^ 0x5DEECE66DULL);
    return 0;
}

/* Resuming with other training options is allowed (to extend a run, say) but the
 * result then differs from an uninterrupted run: say which options changed. */
static void note_changed_opts(const char *path, const struct ant_train_opts *was,
                              const struct ant_train_opts *now)
{
    char list[512] = "";
#define CHANGED(field) (was->field != now->field)
#define NOTE(name) strncat(list, list[0] ? ", " name : name, sizeof list - strlen(list) - 1)
    if (CHANGED(steps)) NOTE("steps");
    if (CHANGED(lr) || CHANGED(min_lr)) NOTE("lr");
    if (CHANGED(warmup_steps) || strcmp(was->schedule, now->schedule) != 0) NOTE("schedule");
    if (CHANGED(batch_size) || CHANGED(grad_accum)) NOTE("batch");
    if (CHANGED(beta1) || CHANGED(beta2) || CHANGED(eps) || CHANGED(weight_decay)) NOTE("AdamW");
    if (CHANGED(grad_clip)) NOTE("grad_clip");
    if (strcmp(was->data_order, now->data_order) != 0) NOTE("data_order");
#undef CHANGED
#undef NOTE
    if (list[0])
        ant_log(ANT_LOG_WARN, NULL, "resuming %s with changed training options (%s)", path, list);
}

static int resume_state(struct trainer *t, struct ant_err *e)
{
    const char *path = t->rc->ckpt.path;
    struct ant_ckpt_info info;
    if (ckpt_peek(path, &info, e) < 0) return -1;
    if (ckpt_check_model(path, &info.model, &t->rc->model, e) < 0) return -1;
    /* The windows each rank reads depend on N (dp.h): another N is another run. */
    if (info.dp_ranks != dp_size())
        return ant_errf(e, "%s was written by %d data-parallel rank(s), this run has %d: "
                        "resume it with mpirun -np %d", path, info.dp_ranks, dp_size(),
                        info.dp_ranks);
    if (ckpt_load(path, &t->s, &info, e) < 0) return -1;
    note_changed_opts(path, &info.train, &t->rc->train);
    if (info.data_fingerprint != data_fingerprint(t->data))
        ant_log(ANT_LOG_WARN, NULL, "%s was trained on %s; this run reads %s", path,
                info.data_name, data_name(t->data));
    t->last_saved = t->s.step;
    ant_log(ANT_LOG_INFO, NULL, "resumed %s at step %ld", path, t->s.step);
    return 0;
}

/* Find out now, not after hours of training, that the checkpoint cannot be written. */
static int check_ckpt_writable(const char *path, struct ant_err *e)
{
    struct ant_atomic_file a;
    if (atomic_open(&a, path, e) < 0) return -1;
    atomic_abort(&a);
    return 0;
}

static int setup(struct trainer *t, const struct train_flags *f, struct ant_err *e)
{
    const struct ant_run_config *rc = t->rc;
    const struct ant_train_opts *o = &rc->train;
    int B = o->batch_size, T = rc->model.seq_len, A = o->grad_accum;

    int root = dp_rank() == 0;   /* reads the checkpoint or model, writes checkpoints */
    if (root && check_ckpt_writable(rc->ckpt.path, e) < 0) return -1;
    if (data_open(&t->data, rc->data.path, rc->data.format, rc->model.vocab_size, T, e) < 0)
        return -1;
    if (rc->data.eval_path[0] &&
        data_open(&t->val, rc->data.eval_path, rc->data.format, rc->model.vocab_size, T, e) < 0)
        return -1;
    if (!root && state_alloc(&t->s, &rc->model) < 0)   /* filled by dp_share_state */
        return ant_errf(e, "out of memory for the model state");
    if (root && (f->resume ? resume_state(t, e) : init_state(t, e))) return -1;

    t->micro = calloc((size_t)A, sizeof *t->micro);
    t->tok_buf = malloc(sizeof(int32_t) * 2 * (size_t)A * B * T);
    if (!t->micro || !t->tok_buf) return ant_errf(e, "out of memory for batches");
    for (int a = 0; a < A; a++) {
        int32_t *tok = t->tok_buf + (size_t)2 * a * B * T;
        t->micro[a] = (struct ant_batch){B, T, tok, tok + (size_t)B * T};
    }
    return dispatch_open(&t->disp, rc, B, e);
}

static void teardown(struct trainer *t)
{
    if (t->disp) dispatch_close(t->disp);
    if (t->data) data_close(t->data);
    if (t->val) data_close(t->val);
    state_free(&t->s);
    free(t->micro);
    free(t->tok_buf);
}

/* Validation loss on the held-out data, logged with the step. */
/* Validation loss on the held-out data, logged with the step. A failure is only a
 * warning: it must never keep good weights from being saved. */
static void validate(struct trainer *t)
{
    if (!t->val) return;
    double t0 = ant_now_ms(), mean;
    struct ant_err ve;
    /* the batch buffers are free between steps */
    if (eval_mean_loss(t->disp, t->s.weights, t->val, t->rc->train.batch_size,
                       t->rc->model.seq_len, VAL_BATCHES, t->tok_buf, &mean, NULL, &ve) < 0) {
        ant_log(ANT_LOG_WARN, NULL, "step %ld: no validation loss: %s", t->s.step, ve.msg);
        t->rep.val_loss = NAN;
    } else {
        t->rep.val_loss = mean;
        ant_log(ANT_LOG_INFO, NULL, "step %ld: validation loss %.4f on %s", t->s.step, mean,
                data_name(t->val));
    }
    report_phase_add(&t->rep, PH_VALIDATE, ant_now_ms() - t0);
}

/* Validate, then write the checkpoint: on the schedule and at the end. */
static int save(struct trainer *t, struct ant_err *e)
{
    if (dp_check_replicas(t->s.weights, t->s.layout.total, e) < 0) return -1;
    if (dp_rank() > 0) {   /* rank 0 alone validates and writes */
        t->last_saved = t->s.step;
        return 0;
    }
    validate(t);
    double t0 = ant_now_ms();
    int rc = ckpt_save(t->rc->ckpt.path, &t->s, &t->rc->train, data_name(t->data),
                       data_fingerprint(t->data), e);
    report_phase_add(&t->rep, PH_CKPT, ant_now_ms() - t0);
    if (rc == 0) {
        t->last_saved = t->s.step;
        ant_log(ANT_LOG_DEBUG, NULL, "saved %s at step %ld", t->rc->ckpt.path, t->s.step);
    }
    return rc;
}

/* One optimizer step. Returns 1 if the update was applied, 0 if refused as non-finite,
 * -1 on error. */
static int step(struct trainer *t, float *loss, struct ant_err *e)
{
    const struct ant_train_opts *o = &t->rc->train;
    int sequential = strcmp(o->data_order, "sequential") == 0;
    double t0 = ant_now_ms();
    for (int a = 0; a < o->grad_accum; a++) {
        struct ant_batch *b = &t->micro[a];
        dp_next_batch(t->data, &t->s.cursor, sequential, b->batch_size, b->seq_len,
                      (int32_t *)b->tokens, (int32_t *)b->targets);
    }
    double t1 = ant_now_ms();
    report_phase_add(&t->rep, PH_DATA, t1 - t0);

    double norm = NAN;
    dispatch_set_step(t->disp, t->s.step + 1);   /* its log lines count like ours, from 1 */
    int rc = dispatch_train_step(t->disp, t->s.weights, t->micro, o->grad_accum, t->s.grads,
                                 t->s.layout.total, loss, &norm, e);
    double t2 = ant_now_ms();
    report_phase_add(&t->rep, PH_BACKEND, t2 - t1);
    /* Every rank learns every rank's outcome; grads and loss become the mean over ranks. */
    rc = dp_reduce_step(rc, t->s.grads, t->s.layout.total, loss, &norm, e);
    if (dp_size() > 1) {
        report_phase_add(&t->rep, PH_COMM, ant_now_ms() - t2);
        t2 = ant_now_ms();
    }
    if (rc == DISPATCH_NONFINITE) {
        ant_log(ANT_LOG_WARN, NULL, "%s; update skipped", e->msg);
        return 0;
    }
    if (rc < 0) return -1;
    grad_clip(t->s.grads, t->s.layout.total, norm, o->grad_clip);
    adamw_step(&t->s, o, sched_lr(o, t->s.step));
    t->s.step++;
    t->s.tokens_seen += (uint64_t)o->grad_accum * o->batch_size * t->rc->model.seq_len * dp_size();
    double t3 = ant_now_ms();
    report_phase_add(&t->rep, PH_OPTIM, t3 - t2);
    rc = dispatch_weights_changed(t->disp, t->s.weights, e);
    report_phase_add(&t->rep, PH_WEIGHTS, ant_now_ms() - t3);
    return rc < 0 ? -1 : 1;
}

/* end: the step this run stops at (train.steps, or sooner with --stop-after), whose line
 * is always printed. */
static void progress(struct trainer *t, float loss, double started, long first_step, long end,
                     int quiet)
{
    const struct ant_run_config *rc = t->rc;
    long done = t->s.step - first_step, total = rc->train.steps;
    double secs = (ant_now_ms() - started) / 1e3;
    double tps = secs > 0 ? t->rep.tokens / secs : 0;
    char eta[32];
    format_duration(done > 0 ? secs / done * (total - t->s.step) : 0, eta, sizeof eta);
    int tty = isatty(fileno(stderr));
    int last = t->s.step == end;
    if (quiet || (!tty && !last && t->s.step % rc->log_every != 0)) return;
    fprintf(stderr, "%sstep %ld/%ld | loss %.4f | lr %.2e | %.0f tok/s | ETA %s%s",
            tty ? "\r" : "", t->s.step, total, loss, sched_lr(&rc->train, t->s.step - 1),
            tps, eta, tty ? "   " : "\n");
    if (tty && (last || t->s.step % rc->log_every == 0)) fputc('\n', stderr);
    fflush(stderr);
}

/* Too many non-finite steps in a row: stop without saving, so the newest checkpoint on
 * disk stays the last good state. */
static int give_up(const struct trainer *t, int bad, struct ant_err *e)
{
    if (t->last_saved < 0)
        return ant_errf(e, "%d steps in a row gave non-finite gradients; stopping "
                           "(no checkpoint was written)", bad);
    return ant_errf(e, "%d steps in a row gave non-finite gradients; stopping without "
                       "saving (%s holds step %ld)", bad, t->rc->ckpt.path, t->last_saved);
}

static int loop(struct trainer *t, const struct train_flags *f, struct ant_err *e)
{
    const struct ant_run_config *rc = t->rc;
    long first = t->s.step, end = rc->train.steps;
    if (f->stop_after > 0 && first + f->stop_after < end) end = first + f->stop_after;
    double tokens_per_step = (double)rc->train.grad_accum * rc->train.batch_size *
                             rc->model.seq_len * dp_size();
    double flops_per_step = rc->train.grad_accum * dp_size() *
        ant_model_flops(&rc->model, rc->train.batch_size, rc->model.seq_len, 1);
    double started = ant_now_ms();
    int bad = 0;

    /* A stop asked of any rank stops every rank at the same step. */
    while (t->s.step < end && !(stop_requested = dp_any(stop_requested))) {
        float loss = NAN;
        int rc_step = step(t, &loss, e);
        t->rep.wall_ms = ant_now_ms() - started;
        if (rc_step < 0) return -1;
        if (rc_step == 0) {
            t->rep.skipped++;
            if (++bad >= MAX_BAD_STEPS) return give_up(t, bad, e);
            continue;
        }
        bad = 0;
        if (t->rep.steps == 0) t->rep.first_loss = loss;
        t->rep.last_loss = loss;
        t->rep.steps++;
        t->rep.tokens += tokens_per_step;
        t->rep.flops += flops_per_step;
        double t0 = ant_now_ms();
        progress(t, loss, started, first, end, f->quiet || dp_rank() > 0);
        report_phase_add(&t->rep, PH_LOG, ant_now_ms() - t0);
        if (rc->ckpt.every > 0 && t->s.step % rc->ckpt.every == 0 && t->s.step < end &&
            save(t, e) < 0)
            return -1;
    }
    if (stop_requested) {
        if (!f->quiet && isatty(fileno(stderr))) fputc('\n', stderr);   /* end the \r line */
        ant_log(ANT_LOG_INFO, NULL, "stopping at step %ld as asked", t->s.step);
    }
    /* The final validation and checkpoint count in the wall time, as scheduled ones do,
     * so the report's phases are shares of it. */
    int rc_save = save(t, e);
    t->rep.wall_ms = ant_now_ms() - started;
    return rc_save;
}

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

int train_run(const struct ant_run_config *rc, const struct train_flags *f, struct ant_err *e)
{
    struct trainer t;
    memset(&t, 0, sizeof t);
    t.rc = rc;
    t.last_saved = -1;
    t.rep.val_loss = NAN;
    if (dp_init(e) < 0) return -1;
    stop_requested = 0;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGUSR1, on_signal);   /* mpirun passes it on to every rank, ending none */

    int rc_run = dp_agree(setup(&t, f, e), e);
    if (rc_run == 0)
        rc_run = dp_share_state(&t.s, rc, f->stop_after, data_fingerprint(t.data), e);
    if (rc_run == 0) rc_run = dp_agree(dispatch_weights_changed(t.disp, t.s.weights, e), e);
    if (rc_run == 0) {
        ant_log(ANT_LOG_INFO, NULL,
                "training %zu parameters on %s (%zu tokens) with backend %s, steps %ld..%ld",
                t.s.layout.total, data_name(t.data), data_n_tokens(t.data),
                dispatch_backend_name(t.disp), t.s.step, rc->train.steps);
        rc_run = loop(&t, f, e);
    }
    dp_abort_if_alone(rc_run, e);   /* a failure the other ranks cannot know of */
    if (t.disp && dp_rank() == 0) report_print(&t.rep, stdout);
    dp_report(&t.rep, &rc->train, rc->model.seq_len, t.disp ? dispatch_backend_name(t.disp) : NULL,
              t.disp ? dispatch_switches(t.disp) : 0, stdout);
    if (t.disp && dp_rank() == 0) dispatch_report(t.disp, stdout);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGUSR1, SIG_DFL);
    teardown(&t);
    dp_finalize();
    return rc_run;
}
