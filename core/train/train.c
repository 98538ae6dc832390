/* The training loop. The core owns every piece of state (weights, moments, step, data
 * cursor); the backend only turns weights + batch into loss + gradients, so a backend
 * change or a restart loses nothing (DESIGN.md "Who owns what"). */
#include "train/train.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "formats/ckpt.h"
#include "data/data.h"
#include "dispatch/dispatch.h"
#include "train/evaluate.h"
#include "base/fileio.h"
#include "formats/model_io.h"
#include "train/optim.h"
#include "train/report.h"
#include "base/state.h"
#include "train/ckpt_policy.h"
#include "train/dp.h"
#include "train/restart.h"

/* Consecutive non-finite steps after which the run counts as diverging (ckpt_policy.h):
 * it rolls back, or stops with the last good checkpoint on disk. */
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
    long last_saved;           /* step of the newest good state on disk, -1 if none */
    char good_path[ANT_PATH_MAX + 8];   /* the file holding it (PATH, or a fallback) */
    struct ant_ckpt_run run;   /* the policy's record, saved with each checkpoint */
    long above;                /* steps in a row with the smoothed loss far above its lowest */
    int bad;                   /* non-finite steps in a row */
    int lock_fd;               /* PATH.lock, held for the life of the run */
    struct restart_state prev; /* what the process before this one left (restarts > 0) */
    int want_restart;          /* the backend asked for a fresh process */
    char restart_why[300];
    int stopping;              /* a stop was asked, of any data-parallel rank */
};

static void restart_carry_in(struct trainer *t);

/* Fresh state: random init, or a llama2.c model to fine-tune. */
static int init_state(struct trainer *t, struct ant_err *e)
{
    const struct ant_run_config *rc = t->rc;
    if (rc->ckpt.init_model[0]) {
        struct ant_model_config mc;
        float *w = NULL;
        if (model_import(rc->ckpt.init_model, &mc, &w, e) < 0) return -1;
        if (mc.seq_len > rc->model.seq_len) mc.seq_len = rc->model.seq_len;   /* init_model.h */
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
    if (policy_resume_load(path, &t->rc->model, &t->s, &info, t->good_path,
                           sizeof t->good_path, e) < 0)
        return -1;
    /* The windows each rank reads depend on N (dp.h): another N is another run. */
    if (info.dp_ranks != dp_size())
        return ant_errf(e, "%s was written by %d data-parallel rank(s), this run has %d: "
                        "resume it with mpirun -np %d", t->good_path, info.dp_ranks, dp_size(),
                        info.dp_ranks);
    note_changed_opts(path, &info.train, &t->rc->train);
    if (info.data_fingerprint != data_fingerprint(t->data))
        ant_log(ANT_LOG_WARN, NULL, "%s was trained on %s; this run reads %s", path,
                info.data_name, data_name(t->data));
    t->run = info.run;
    t->last_saved = t->s.step;
    ant_log(ANT_LOG_INFO, NULL, "resumed %s at step %ld%s", t->good_path, t->s.step,
            t->run.lr_scale < 1 ? " (learning rate cut by earlier rollbacks)" : "");
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

/* The checkpoint files before anything is trained: a usable path, ours alone (the
 * lock), no temp files of killed runs, no other run's checkpoint replaced unasked. */
static int prepare_ckpt(struct trainer *t, const struct train_flags *f, struct ant_err *e)
{
    const char *path = t->rc->ckpt.path;
    if (policy_check_path(path, e) < 0 || check_ckpt_writable(path, e) < 0 ||
        policy_lock(path, &t->lock_fd, e) < 0)
        return -1;
    policy_remove_stale(path);
    return f->resume ? 0 : policy_check_fresh(path, f->force, e);
}

static int setup(struct trainer *t, const struct train_flags *f, struct ant_err *e)
{
    const struct ant_run_config *rc = t->rc;
    const struct ant_train_opts *o = &rc->train;
    int B = o->batch_size, T = rc->model.seq_len, A = o->grad_accum;

    int root = dp_rank() == 0;   /* reads the checkpoint or model, writes checkpoints */
    if (root && prepare_ckpt(t, f, e) < 0) return -1;
    if (data_open(&t->data, rc->data.path, rc->data.format, rc->model.vocab_size, T, e) < 0)
        return -1;
    if (rc->data.eval_path[0] &&
        data_open(&t->val, rc->data.eval_path, rc->data.format, rc->model.vocab_size, T, e) < 0)
        return -1;
    int restarted = restart_state_take(&t->prev, e);
    if (restarted < 0) return -1;
    if (restarted && dp_size() > 1)   /* restart_out never re-executes a rank */
        return ant_errf(e, RESTART_ENV " is set, but the ranks of an MPI job are never "
                           "restarted processes: unset it");
    if (restarted && !f->resume) memset(&t->prev, 0, sizeof t->prev);
    if (!root && state_alloc(&t->s, &rc->model) < 0)   /* filled by share_state */
        return ant_errf(e, "out of memory for the model state");
    if (root && (f->resume ? resume_state(t, e) : init_state(t, e))) {
        if (t->prev.restarts > 0)
            ant_errf(e, "after restart %ld: %s (the checkpoint on disk is the last good state)",
                     t->prev.restarts, e->msg);
        return -1;
    }
    if (t->prev.restarts > 0) {
        if (t->s.step != t->prev.step)
            return ant_errf(e, "after restart %ld: %s holds step %ld, but the run restarted at "
                            "step %ld; stopping with it as the last good state", t->prev.restarts,
                            t->good_path, t->s.step, t->prev.step);
        restart_carry_in(t);
    }

    t->micro = calloc((size_t)A, sizeof *t->micro);
    t->tok_buf = malloc(sizeof(int32_t) * 2 * (size_t)A * B * T);
    if (!t->micro || !t->tok_buf) return ant_errf(e, "out of memory for batches");
    for (int a = 0; a < A; a++) {
        int32_t *tok = t->tok_buf + (size_t)2 * a * B * T;
        t->micro[a] = (struct ant_batch){B, T, tok, tok + (size_t)B * T};
    }
    return dispatch_open(&t->disp, rc, B, e);
}

/* Collective: rank 0's state and run record on every rank (dp.h), once rank 0 has
 * loaded or made them; the other ranks' buffers are allocated. */
static int share_state(struct trainer *t, long stop_after, struct ant_err *e)
{
    if (dp_share_state(&t->s, t->rc, stop_after, data_fingerprint(t->data), e) < 0) return -1;
    dp_share(&t->run, sizeof t->run);
    dp_share(&t->last_saved, sizeof t->last_saved);
    return 0;
}

static void teardown(struct trainer *t)
{
    if (t->disp) dispatch_close(t->disp);
    if (t->data) data_close(t->data);
    if (t->val) data_close(t->val);
    state_free(&t->s);
    free(t->micro);
    free(t->tok_buf);
    policy_unlock(t->lock_fd);
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

/* Validate, then write the checkpoint (and PATH.best when this is the best state yet:
 * by validation loss where there is held-out data, else by smoothed training loss). */
static int save(struct trainer *t, struct ant_err *e)
{
    if (dp_check_replicas(t->s.weights, t->s.layout.total, e) < 0) return -1;
    if (dp_rank() > 0) {   /* rank 0 alone validates, writes and keeps PATH.best */
        t->last_saved = t->s.step;
        return 0;
    }
    const char *path = t->rc->ckpt.path;
    validate(t);
    double t0 = ant_now_ms();
    struct ant_ckpt_run rec = t->run;
    double metric = t->val ? t->rep.val_loss : t->run.smooth_loss;
    int best = policy_is_better(metric, rec.best_loss);
    if (best) rec.best_loss = metric, rec.best_step = t->s.step;
    int rc = ckpt_save_run(path, &t->s, &t->rc->train, data_name(t->data),
                           data_fingerprint(t->data), &rec, e);
    if (rc == 0) {
        t->run = rec;
        t->last_saved = t->s.step;
        snprintf(t->good_path, sizeof t->good_path, "%s", path);
        ant_log(ANT_LOG_DEBUG, NULL, "saved %s at step %ld", path, t->s.step);
        struct ant_err be;
        if (best && policy_keep_best(path, &be) < 0)
            ant_log(ANT_LOG_WARN, NULL, "step %ld: no best checkpoint: %s", t->s.step, be.msg);
    }
    report_phase_add(&t->rep, PH_CKPT, ant_now_ms() - t0);
    return rc;
}

/* Why the current state must not be saved (it is diverging or not finite), or NULL. */
static const char *unfit_to_save(const struct trainer *t, char *why, size_t cap)
{
    const char *sec;
    long k;
    if (t->bad > 0)
        snprintf(why, cap, "%d step(s) in a row gave non-finite gradients", t->bad);
    else if (t->above > 0)
        snprintf(why, cap, "the smoothed loss %.4f is above %g x its lowest %.4f",
                 t->run.smooth_loss, t->rc->ckpt.diverge_factor, t->run.low_loss);
    else if ((k = ckpt_first_nonfinite(&t->s, &sec)) >= 0)
        snprintf(why, cap, "%s element %ld is not a finite number", sec, k);
    else return NULL;
    return why;
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
    adamw_step(&t->s, o, sched_lr(o, t->s.step) * t->run.lr_scale);
    t->s.step++;
    t->s.tokens_seen += (uint64_t)o->grad_accum * o->batch_size * t->rc->model.seq_len * dp_size();
    double t3 = ant_now_ms();
    report_phase_add(&t->rep, PH_OPTIM, t3 - t2);
    if (dispatch_needs_restart(t->disp, t->restart_why, sizeof t->restart_why)) {
        t->want_restart = 1;   /* loop() saves; the next process stages the weights */
        return 1;
    }
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
            tty ? "\r" : "", t->s.step, total, loss,
            sched_lr(&rc->train, t->s.step - 1) * t->run.lr_scale,
            tps, eta, tty ? "   " : "\n");
    if (tty && (last || t->s.step % rc->log_every == 0)) fputc('\n', stderr);
    fflush(stderr);
}

/* The checkpoint to name when the run stops diverging: PATH.best, else the newest. */
static void good_checkpoint(const struct trainer *t, char *buf, size_t cap)
{
    char best[ANT_PATH_MAX + 8];
    snprintf(best, sizeof best, "%s.best", t->rc->ckpt.path);
    if (t->run.best_step >= 0 && access(best, F_OK) == 0)
        snprintf(buf, cap, "the best checkpoint is %s (step %ld, %s loss %.4f)", best,
                 t->run.best_step, t->val ? "validation" : "smoothed training", t->run.best_loss);
    else if (t->last_saved >= 0)
        snprintf(buf, cap, "the last good checkpoint is %s (step %ld)", t->good_path,
                 t->last_saved);
    else snprintf(buf, cap, "no checkpoint was written");
}

/* Back to the last good state (the newest checkpoint of this run, or the start) with
 * the learning rate halved; once checkpoint.max_rollbacks are spent, stop. */
static int diverged(struct trainer *t, const char *why, struct ant_err *e)
{
    const struct ant_ckpt_opts *c = &t->rc->ckpt;
    /* Every rank gets here at the same step (the losses are the ranks' mean), so every
     * rank takes part in the collectives below. */
    if (t->run.rollbacks >= c->max_rollbacks) {
        char good[ANT_PATH_MAX + 128];
        good_checkpoint(t, good, sizeof good);
        return dp_agree(ant_errf(e, "step %ld: the run diverged (%s) and %ld rollback(s) with a "
                                    "halved learning rate did not help; stopping: %s; lower "
                                    "train.lr%s", t->s.step, why, t->run.rollbacks, good,
                                 t->rc->train.grad_clip > 0 ? "" : " or enable train.grad_clip"),
                        e);
    }
    struct ant_ckpt_run keep = t->run;
    long from = t->s.step;
    int rc = 0;
    state_free(&t->s);
    if (dp_rank() > 0) {   /* rank 0 reads the good state and sends it (share_state) */
        if (state_alloc(&t->s, &t->rc->model) < 0)
            rc = ant_errf(e, "out of memory for the model state");
    } else if (t->last_saved >= 0) {
        struct ant_ckpt_info info;
        rc = ckpt_load(t->good_path, &t->s, &info, e);
        if (rc == 0) keep.smooth_loss = info.run.smooth_loss, keep.low_loss = info.run.low_loss;
    } else {
        rc = init_state(t, e);
        keep.smooth_loss = keep.low_loss = NAN;
    }
    keep.lr_scale *= 0.5;
    keep.rollbacks++;
    t->run = keep;
    if (dp_agree(rc, e) < 0 || share_state(t, 0, e) < 0) return -1;
    t->above = t->bad = 0;
    if (dp_rank() == 0)   /* said once for the run */
            ant_log(ANT_LOG_WARN, NULL, "step %ld: diverging (%s): rolling back to step %ld (%s) "
                "with the learning rate x%g, rollback %ld of %ld", from, why, t->s.step,
                t->last_saved >= 0 ? t->good_path : "the initial weights", t->run.lr_scale,
                t->run.rollbacks, c->max_rollbacks);
    return dispatch_weights_changed(t->disp, t->s.weights, e);
}

/* The end of the run (last step, or stopped by a signal): save the state if it is good
 * and not on disk already. Returns 1 when the run rolled back and must go on. */
static int finish(struct trainer *t, struct ant_err *e)
{
    char why[256];
    if (!unfit_to_save(t, why, sizeof why)) {
        if (t->s.step == t->last_saved) {   /* never turn PATH.prev into a copy of PATH */
            ant_log(ANT_LOG_INFO, NULL, "%s already holds step %ld", t->good_path, t->s.step);
            return 0;
        }
        return save(t, e);
    }
    if (!t->stopping) return diverged(t, why, e) < 0 ? -1 : 1;
    char good[ANT_PATH_MAX + 128];
    good_checkpoint(t, good, sizeof good);
    ant_log(ANT_LOG_WARN, NULL, "step %ld not saved: %s; %s", t->s.step, why, good);
    return 0;
}

/* The resumed process's report starts from the totals of the processes before it. */
static void restart_carry_in(struct trainer *t)
{
    const struct restart_state *p = &t->prev;
    t->rep.restarts = p->restarts;
    t->rep.steps = p->steps;
    t->rep.skipped = p->skipped;
    t->rep.tokens = p->tokens;
    t->rep.flops = p->flops;
    t->rep.first_loss = p->first_loss;
    t->rep.compile_ms = p->compile_ms;
    t->rep.compiles = p->compiles;
    ant_log(ANT_LOG_INFO, NULL, "restart %ld: resumed at step %ld in a fresh process",
            p->restarts, t->s.step);
}

/* Compile figures of this process's backends, for the report and the next process. */
static void compile_totals(const struct trainer *t, double *ms, long *n)
{
    struct ant_backend_stats st;
    dispatch_stats(t->disp, &st);
    *ms = t->prev.compile_ms + st.compile_ms;
    *n = t->prev.compiles + st.compiles;
}

/* A rank of an MPI job cannot re-execute itself (mpirun would lose it), so with N > 1
 * every rank stops here, the checkpoint saved, and whoever launched the job relaunches
 * it with --resume (README "Training on several machines"). Collective. */
static int restart_job(struct trainer *t, struct ant_err *e)
{
    struct ant_err asked;
    dp_agree(t->want_restart ? ant_errf(&asked, "%s", t->restart_why) : 0, &asked);
    ant_errf(e, "step %ld: %s; a process of an MPI job cannot restart itself, so every rank "
                "stopped with %s saved: run the same mpirun command again with --resume",
             t->s.step, asked.msg, t->rc->ckpt.path);
    return TRAIN_RESTART;
}

/* The backend needs a fresh process: save, and leave the totals for the next one. */
static int restart_out(struct trainer *t, long end, struct ant_err *e)
{
    char why[256];
    if (unfit_to_save(t, why, sizeof why)) {   /* cannot restart from here: stay, stage */
        int mine = t->want_restart;   /* with N ranks, another rank may be the one asking */
        if (mine)
            ant_log(ANT_LOG_WARN, NULL, "step %ld: %s, but %s: not restarting", t->s.step,
                    t->restart_why, why);
        t->want_restart = 0;
        return mine && dispatch_weights_changed(t->disp, t->s.weights, e) < 0 ? -1 : 0;
    }
    if (save(t, e) < 0) return -1;
    if (dp_size() > 1) return restart_job(t, e);
    struct restart_state r = {
        .restarts = t->prev.restarts + 1, .step = t->s.step, .end = end,
        .steps = t->rep.steps, .skipped = t->rep.skipped, .wall_ms = t->rep.wall_ms,
        .startup_ms = t->rep.startup_ms,
        .tokens = t->rep.tokens, .flops = t->rep.flops, .first_loss = t->rep.first_loss,
    };
    compile_totals(t, &r.compile_ms, &r.compiles);
    if (restart_state_put(&r) != 0) return ant_errf(e, "cannot set " RESTART_ENV);
    ant_log(ANT_LOG_INFO, NULL, "step %ld: %s; saved %s, restarting the process (restart %ld)",
            t->s.step, t->restart_why, t->rc->ckpt.path, r.restarts);
    return TRAIN_RESTART;
}

static int loop(struct trainer *t, const struct train_flags *f, struct ant_err *e)
{
    const struct ant_run_config *rc = t->rc;
    long first = t->s.step, end = rc->train.steps;
    if (t->prev.restarts > 0 && t->prev.end > 0) end = t->prev.end;   /* --stop-after, once */
    else if (f->stop_after > 0 && first + f->stop_after < end) end = first + f->stop_after;
    double tokens_per_step = (double)rc->train.grad_accum * rc->train.batch_size *
                             rc->model.seq_len * dp_size();
    double flops_per_step = rc->train.grad_accum * dp_size() *
        ant_model_flops(&rc->model, rc->train.batch_size, rc->model.seq_len, 1);
    double started = ant_now_ms(), before = t->prev.wall_ms;
    char why[1100];

    for (;;) {
        t->stopping = dp_any(stop_requested);   /* every rank stops at the same step */
        if (t->s.step >= end || t->stopping) {
            if (t->stopping && !f->quiet && isatty(fileno(stderr))) fputc('\n', stderr);
            if (t->stopping)
                ant_log(ANT_LOG_INFO, NULL, "stopping at step %ld as asked", t->s.step);
            /* The final validation and checkpoint count in the wall time, as scheduled
             * ones do, so the report's phases are shares of it. */
            int r = finish(t, e);
            t->rep.wall_ms = before + ant_now_ms() - started;
            if (r != 1) return r;
            continue;
        }
        float loss = NAN;
        int rc_step = step(t, &loss, e);
        t->rep.wall_ms = before + ant_now_ms() - started;
        if (rc_step < 0) return -1;
        if (rc_step == 0) {
            t->rep.skipped++;
            if (++t->bad >= MAX_BAD_STEPS) {
                snprintf(why, sizeof why, "%d steps in a row gave non-finite gradients", t->bad);
                if (diverged(t, why, e) < 0) return -1;
            }
            continue;
        }
        t->bad = 0;
        if (t->rep.steps == 0) t->rep.first_loss = loss;
        t->rep.last_loss = loss;
        t->rep.steps++;
        t->rep.tokens += tokens_per_step;
        t->rep.flops += flops_per_step;
        t->above = policy_observe_loss(&t->run, loss, rc->ckpt.diverge_factor) ? t->above + 1 : 0;
        double t0 = ant_now_ms();
        progress(t, loss, started, first, end, f->quiet || dp_rank() > 0);
        report_phase_add(&t->rep, PH_LOG, ant_now_ms() - t0);
        /* any rank's backend may ask; then every rank takes part (a stop comes first) */
        if (t->s.step < end && dp_any(t->want_restart) && !dp_any(stop_requested)) {
            int r = restart_out(t, end, e);
            if (r != 0) return r;
        }
        if (t->above >= rc->ckpt.diverge_steps) {
            snprintf(why, sizeof why, "the smoothed loss %.4f has been above %g x its lowest "
                     "%.4f for %ld steps", t->run.smooth_loss, rc->ckpt.diverge_factor,
                     t->run.low_loss, t->above);
            if (diverged(t, why, e) < 0) return -1;
            continue;
        }
        if (rc->ckpt.every > 0 && t->s.step % rc->ckpt.every == 0 && t->s.step < end) {
            if (unfit_to_save(t, why, sizeof why))
                ant_log(ANT_LOG_WARN, NULL, "step %ld: checkpoint skipped: %s", t->s.step, why);
            else if (save(t, e) < 0)
                return -1;
        }
    }
}

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* Signals that mean "stop" finish the step and save, like Ctrl-C: a closed ssh session
 * (HUP), QUIT, USR1/USR2, ALRM (timeouts) and XCPU (a CPU-time limit, before its KILL).
 * PIPE is ignored (a closed log pipe must not cost the run), and XFSZ too, so a
 * file-size limit makes the write fail with EFBIG: a clear error, the old checkpoint
 * standing. */
static const int stop_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2,
                                   SIGALRM, SIGXCPU};
static const int ignored_signals[] = {SIGPIPE, SIGXFSZ};
#define N_STOP (sizeof stop_signals / sizeof stop_signals[0])
#define N_IGNORED (sizeof ignored_signals / sizeof ignored_signals[0])

struct saved_signals { struct sigaction stop[N_STOP], ignored[N_IGNORED]; };

static void catch_signals(struct saved_signals *old)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_signal;
    for (size_t i = 0; i < N_STOP; i++) sigaction(stop_signals[i], &sa, &old->stop[i]);
    sa.sa_handler = SIG_IGN;
    for (size_t i = 0; i < N_IGNORED; i++) sigaction(ignored_signals[i], &sa, &old->ignored[i]);
    /* A restarted process comes up with the stop signals blocked (cli/reexec.c): one that
     * arrived during the exec is delivered now, to the handler. */
    sigset_t stop;
    sigemptyset(&stop);
    for (size_t i = 0; i < N_STOP; i++) sigaddset(&stop, stop_signals[i]);
    sigprocmask(SIG_UNBLOCK, &stop, NULL);
}

static void restore_signals(const struct saved_signals *old)
{
    for (size_t i = 0; i < N_STOP; i++) sigaction(stop_signals[i], &old->stop[i], NULL);
    for (size_t i = 0; i < N_IGNORED; i++) sigaction(ignored_signals[i], &old->ignored[i], NULL);
}

int train_run(const struct ant_run_config *rc, const struct train_flags *f, struct ant_err *e)
{
    struct trainer t;
    struct saved_signals old_signals;
    memset(&t, 0, sizeof t);
    t.rc = rc;
    t.last_saved = -1;
    t.lock_fd = -1;
    t.rep.val_loss = NAN;
    ckpt_run_defaults(&t.run);
    if (dp_init(e) < 0) return -1;
    stop_requested = 0;
    catch_signals(&old_signals);

    double t_setup = ant_now_ms();   /* up to the first staged weights, as one phase */
    int rc_run = dp_agree(setup(&t, f, e), e);
    if (rc_run == 0) rc_run = share_state(&t, f->stop_after, e);
    if (rc_run == 0) rc_run = dp_agree(dispatch_weights_changed(t.disp, t.s.weights, e), e);
    t.rep.startup_ms = t.prev.startup_ms + ant_now_ms() - t_setup;
    if (rc_run == 0) {
        ant_log(ANT_LOG_INFO, NULL,
                "training %zu parameters on %s (%zu tokens) with backend %s, steps %ld..%ld",
                t.s.layout.total, data_name(t.data), data_n_tokens(t.data),
                dispatch_backend_name(t.disp), t.s.step, rc->train.steps);
        rc_run = loop(&t, f, e);
    }
    if (rc_run < 0) dp_abort_if_alone(rc_run, e);   /* a failure the other ranks cannot know of */
    int ends = rc_run != TRAIN_RESTART || dp_size() > 1;   /* else the next process reports */
    if (t.disp && ends) compile_totals(&t, &t.rep.compile_ms, &t.rep.compiles);
    if (t.disp && ends && dp_rank() == 0) report_print(&t.rep, stdout);
    if (ends)
        dp_report(&t.rep, &rc->train, rc->model.seq_len,
                  t.disp ? dispatch_backend_name(t.disp) : NULL,
                  t.disp ? dispatch_switches(t.disp) : 0, stdout);
    if (t.disp && ends && dp_rank() == 0) dispatch_report(t.disp, stdout);
    restore_signals(&old_signals);
    teardown(&t);
    dp_finalize();
    return rc_run;
}
