/* The training loop. The core owns every piece of state (weights, moments, step, data
 * cursor); the backend only turns weights + batch into loss + gradients, so a backend
 * change or a restart loses nothing (DESIGN.md "Who owns what"). */
#include "train/train.h"

#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/blas.h"

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
#include "train/metrics.h"
#include "train/plot.h"
#include "infer/generate.h"
#include "data/tokenizer.h"

/* Consecutive non-finite steps after which the run counts as diverging (ckpt_policy.h):
 * it rolls back, or stops with the last good checkpoint on disk. */
#define MAX_BAD_STEPS 5
/* Batches of held-out data (data.eval_path) behind each validation loss. */
#define VAL_BATCHES 8
/* A run whose remaining steps would take longer than this gets a warning. */
#define SLOW_RUN_SECONDS (24 * 3600.0)
/* The sample each checkpoint writes into the metrics log. */
#define SAMPLE_TOKENS 64
#define SAMPLE_CHARS 2048

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t stop_signal;   /* the first stop signal's number */
static atomic_int signals_seen;   /* stop signals received by this run */

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
    /* what the user sees: the metrics log, the progress line, messages */
    struct ant_metrics log;
    char log_path[ANT_PATH_MAX + 16];
    double grad_norm;          /* of the last step */
    double step_ms;            /* wall time of the last step */
    double last_line_ms;       /* when the last progress line went to a pipe */
    int line_open;             /* a tty progress line without its newline yet */
    int switches_logged;       /* backend switches written to the log */
    int slow_warned;
    double last_plot_ms;       /* when PATH.png was last drawn */
    long ckpt_threads;         /* BLAS threads of the checkpoint resumed, 0 = unknown */
    struct {                   /* the resumed checkpoint's backend and its state line */
        char name[ANT_NAME_MAX], state[256];
    } backend_state;
    const struct train_flags *flags;
    int stopping;              /* a stop was asked, of any data-parallel rank */
};

static void restart_carry_in(struct trainer *t);
static void validate(struct trainer *t);

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
    t->ckpt_threads = info.origin.blas_threads;
    snprintf(t->backend_state.name, sizeof t->backend_state.name, "%s", info.origin.backend);
    snprintf(t->backend_state.state, sizeof t->backend_state.state, "%s", info.origin.backend_state);
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
    char png[ANT_PATH_MAX + 8];
    snprintf(png, sizeof png, "%s.png", path);
    policy_remove_stale(png);   /* the plot's temp files (refresh_plot) */
    return f->resume ? 0 : policy_check_fresh(path, f->force, e);
}

/* Held-out data: data.eval_path, else the tail of a text file (data.eval_tail), which
 * training then never sees. */
static int open_val(struct trainer *t, struct ant_err *e)
{
    const struct ant_run_config *rc = t->rc;
    if (rc->data.eval_path[0])
        return data_open(&t->val, rc->data.eval_path, rc->data.format, rc->model.vocab_size,
                         rc->model.seq_len, e);
    if (!(rc->data.eval_tail > 0) || !data_is_text(t->data)) return 0;
    struct ant_err te;
    if (data_split_tail(t->data, rc->data.eval_tail, rc->model.seq_len, &t->val, &te) < 0)
        ant_log(ANT_LOG_WARN, NULL, "no validation loss: %s", te.msg);
    return 0;
}

/* A vocabulary the data cannot use: byte-level text reaches ids 0..255 only. */
static void warn_vocab(const struct trainer *t)
{
    int V = t->rc->model.vocab_size;
    if (data_is_text(t->data) && V > 256)
        ant_log(ANT_LOG_WARN, NULL, "model.vocab_size is %d but %s is byte-level text (token "
                "ids 0..255): %d embedding rows are never trained and the model is %.0fx "
                "larger than it needs; use a tokens file made with the model's tokenizer, or "
                "--preset tiny", V, data_name(t->data), V - 256, (double)V / 256);
}

/* A bit-exact resume needs the BLAS thread count of the run resumed (the order of
 * sgemm's partial sums depends on it). */
static void warn_threads(const struct trainer *t)
{
    int now = ant_blas_threads();
    if (t->ckpt_threads > 0 && now > 0 && t->ckpt_threads != now)
        ant_log(ANT_LOG_WARN, NULL, "%s was trained with %ld %s threads, this run has %d: it "
                "continues, but not bit-exactly as the run would have (use --threads %ld)",
                t->good_path, t->ckpt_threads, ANT_BLAS_NAME, now, t->ckpt_threads);
}

/* The metrics log: log.path, else PATH.log.jsonl beside the checkpoint; "none" = off.
 * A fresh run starts it afresh (the checkpoint it belonged to is gone by now); a resumed
 * one appends. */
static int open_metrics(struct trainer *t, struct ant_err *e)
{
    const struct ant_run_config *rc = t->rc;
    if (!strcmp(rc->metrics.path, "none")) t->log_path[0] = 0;
    else if (rc->metrics.path[0]) snprintf(t->log_path, sizeof t->log_path, "%s", rc->metrics.path);
    else snprintf(t->log_path, sizeof t->log_path, "%s.log.jsonl", rc->ckpt.path);
    return metrics_open(&t->log, t->log_path, !t->flags->resume, e);
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
    if (open_val(t, e) < 0) return -1;
    if (root) warn_vocab(t);
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
    if (root && open_metrics(t, e) < 0) return -1;   /* rank 0 alone writes the log */

    t->micro = calloc((size_t)A, sizeof *t->micro);
    t->tok_buf = malloc(sizeof(int32_t) * 2 * (size_t)A * B * T);
    if (!t->micro || !t->tok_buf) return ant_errf(e, "out of memory for batches");
    for (int a = 0; a < A; a++) {
        int32_t *tok = t->tok_buf + (size_t)2 * a * B * T;
        t->micro[a] = (struct ant_batch){B, T, tok, tok + (size_t)B * T};
    }
    if (dispatch_open(&t->disp, rc, B, e) < 0) return -1;
    warn_threads(t);
    return 0;
}

/* Collective: rank 0's state and run record on every rank (dp.h), once rank 0 has
 * loaded or made them; the other ranks' buffers are allocated. */
static int share_state(struct trainer *t, long stop_after, struct ant_err *e)
{
    if (dp_share_state(&t->s, t->rc, stop_after, data_fingerprint(t->data), e) < 0) return -1;
    dp_share(&t->run, sizeof t->run);
    dp_share(&t->last_saved, sizeof t->last_saved);
    dp_share(&t->backend_state, sizeof t->backend_state);
    return 0;
}

/* A checkpoint saved while a restart was due holds weights its process's backend never
 * had (save()): validate them now that this one has them, and keep PATH.best by the
 * result as save() would have. Rank 0, after the weights are staged. */
static void pending_validation(struct trainer *t)
{
    long step = t->run.val_pending;
    t->run.val_pending = 0;
    if (step == 0 || step != t->s.step || !t->val || dp_rank() > 0) return;
    validate(t);
    double val = t->rep.val_loss;
    if (!policy_is_better(val, t->run.best_loss)) return;
    struct ant_err be;
    if (strcmp(t->good_path, t->rc->ckpt.path) != 0 || policy_keep_best(t->good_path, &be) < 0) {
        ant_log(ANT_LOG_WARN, NULL, "step %ld: no best checkpoint: %s", step,
                strcmp(t->good_path, t->rc->ckpt.path) ? "resumed from a fallback file" : be.msg);
        return;
    }
    t->run.best_loss = val, t->run.best_step = step;
    ant_log(ANT_LOG_INFO, NULL, "step %ld: %s is the best so far", step, t->good_path);
    ev_ckpt(&t->log, step, t->good_path, 1);
}

/* The resumed checkpoint's backend state, for the backend that wrote it: a restarted
 * ane-static process keeps its loss scale instead of finding it again by overflowing
 * and redoing steps. One it refuses is a warning: it starts from its settings. */
static void restore_backend_state(struct trainer *t)
{
    struct ant_err e;
    if (dispatch_load_state(t->disp, t->backend_state.name, t->backend_state.state, &e) < 0)
        ant_log(ANT_LOG_WARN, NULL, "%s; it starts from its settings instead", e.msg);
}

static void teardown(struct trainer *t)
{
    if (t->disp) dispatch_close(t->disp);
    if (t->data) data_close(t->data);
    if (t->val) data_close(t->val);
    state_free(&t->s);
    free(t->micro);
    free(t->tok_buf);
    metrics_close(&t->log);
    policy_unlock(t->lock_fd);
}

/* End a tty progress line before another message is printed under it. */
static void break_line(struct trainer *t)
{
    if (t->line_open) fputc('\n', stderr);
    t->line_open = 0;
}

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
        break_line(t);
        ant_log(ANT_LOG_INFO, NULL, "step %ld: validation loss %.4f on %s", t->s.step, mean,
                data_name(t->val));
        ev_val(&t->log, t->s.step, mean, data_name(t->val));
    }
    report_phase_add(&t->rep, PH_VALIDATE, ant_now_ms() - t0);
}

/* What the checkpoint records about where the run came from, so --resume, sample and
 * eval need no config (paths made absolute where they resolve). */
static void run_origin(const struct trainer *t, struct ant_ckpt_origin *o)
{
    const struct ant_run_config *rc = t->rc;
    memset(o, 0, sizeof *o);
    const struct { char *dst; size_t cap; const char *src; } paths[] = {
        {o->data_path, sizeof o->data_path, rc->data.path},
        {o->eval_path, sizeof o->eval_path, rc->data.eval_path},
        {o->tokenizer, sizeof o->tokenizer, rc->data.tokenizer},
        {o->log_path, sizeof o->log_path, rc->metrics.path},
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        char *abs = paths[i].src[0] && strcmp(paths[i].src, "none") ? realpath(paths[i].src, NULL) : NULL;
        snprintf(paths[i].dst, paths[i].cap, "%s", abs && strlen(abs) < paths[i].cap ? abs : paths[i].src);
        free(abs);
    }
    snprintf(o->data_format, sizeof o->data_format, "%s", rc->data.format);
    o->eval_tail = rc->data.eval_tail;
    o->blas_threads = ant_blas_threads();
    o->ckpt_every = rc->ckpt.every;
    o->log_every = rc->log_every;
    if (t->disp)
        dispatch_save_state(t->disp, o->backend, sizeof o->backend, o->backend_state,
                            sizeof o->backend_state);
}

/* Redraw PATH.png from the metrics log, where plotting was built in (a failure is a
 * warning: the checkpoint matters, the picture does not). At most every
 * PLOT_EVERY_MS, and always at the end, so frequent checkpoints cost no drawing time.
 * The picture's own age counts too, so a run restarting every few steps (ane-static's
 * compile budget) does not draw once per process. */
#define PLOT_EVERY_MS 10000.0
static void refresh_plot(struct trainer *t)
{
    double now = ant_now_ms();
    int last = t->s.step >= t->rc->train.steps || stop_requested;
    if (!plot_available() || !t->log_path[0] || t->log.failed) return;
    if (!last && t->last_plot_ms > 0 && now - t->last_plot_ms < PLOT_EVERY_MS) return;
    char png[ANT_PATH_MAX + 8];
    struct stat st;
    snprintf(png, sizeof png, "%s.png", t->rc->ckpt.path);
    if (!last && t->want_restart && stat(png, &st) == 0 &&
        difftime(time(NULL), st.st_mtime) * 1e3 < PLOT_EVERY_MS)
        return;
    t->last_plot_ms = now;
    struct ant_err pe;
    if (plot_log(t->log_path, png, 0, 0, &pe) < 0)
        ant_log(ANT_LOG_WARN, NULL, "no plot: %s", pe.msg);
}

static void add_piece(const char *piece, void *ctx)
{
    char *buf = ctx;
    size_t n = strlen(buf);
    snprintf(buf + n, SAMPLE_CHARS - n, "%s", piece);
}

/* A short sample of the current weights into the metrics log (for `anetrain top`),
 * where the tokens can be read: byte-level text, or data.tokenizer. Seeded by the step,
 * so it is the same on a rerun. */
static void log_sample(struct trainer *t)
{
    const struct ant_run_config *rc = t->rc;
    const char *tok_path = rc->data.tokenizer;
    if (t->log.fd < 0 || (!tok_path[0] && !data_is_text(t->data))) return;
    struct ant_tokenizer *tok = NULL;
    struct ant_kvmodel *kv = NULL;
    struct ant_sampler smp = {0};
    struct ant_err se;
    int32_t ids[SAMPLE_TOKENS];
    int n = 0;
    char *text = calloc(1, SAMPLE_CHARS);
    if (text && tokenizer_open(&tok, tok_path, rc->model.vocab_size, &se) == 0 &&
        gen_prompt(tok, "", tok_path[0] != 0, ids, SAMPLE_TOKENS, &n, &se) == 0 &&
        kv_open(&kv, &rc->model, t->s.weights, &se) == 0 &&
        sampler_init(&smp, rc->model.vocab_size, 0.8f, 0.9f, (unsigned long long)t->s.step + 1,
                     &se) == 0) {
        gen_run(kv, rc->model.seq_len, &smp, tok, ids, n, SAMPLE_TOKENS, tok_path[0] != 0,
                add_piece, text);
        ev_sample(&t->log, t->s.step, text);
    }
    sampler_free(&smp);
    kv_close(kv);
    if (tok) tokenizer_close(tok);
    free(text);
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
    struct ant_ckpt_run rec = t->run;
    /* With a restart due, the backend still holds the previous update's weights (the
     * next process stages these): their validation waits for it (pending_validation). */
    rec.val_pending = t->want_restart && t->val ? t->s.step : 0;
    if (rec.val_pending) {
        t->rep.val_loss = NAN;
        break_line(t);
        ant_log(ANT_LOG_INFO, NULL, "step %ld: validation waits for a process whose backend "
                "holds this step's weights (it still has step %ld's)", t->s.step, t->s.step - 1);
    } else {
        validate(t);
    }
    double t0 = ant_now_ms();
    double metric = rec.val_pending ? NAN : t->val ? t->rep.val_loss : t->run.smooth_loss;
    int best = policy_is_better(metric, rec.best_loss);
    if (best) rec.best_loss = metric, rec.best_step = t->s.step;
    struct ant_ckpt_origin origin;
    run_origin(t, &origin);
    int rc = ckpt_save_full(path, &t->s, &t->rc->train, data_name(t->data),
                            data_fingerprint(t->data), &rec, &origin, e);
    if (rc == 0) {
        t->run = rec;
        t->last_saved = t->s.step;
        snprintf(t->good_path, sizeof t->good_path, "%s", path);
        break_line(t);
        ant_log(ANT_LOG_INFO, NULL, "step %ld: saved %s%s", t->s.step, path, best ? " (best so far)" : "");
        ev_ckpt(&t->log, t->s.step, path, best);
        struct ant_err be;
        if (best && policy_keep_best(path, &be) < 0)
            ant_log(ANT_LOG_WARN, NULL, "step %ld: no best checkpoint: %s", t->s.step, be.msg);
    }
    report_phase_add(&t->rep, PH_CKPT, ant_now_ms() - t0);
    t0 = ant_now_ms();
    if (rc == 0) log_sample(t);
    if (rc == 0) refresh_plot(t);
    report_phase_add(&t->rep, PH_LOG, ant_now_ms() - t0);
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
    t->grad_norm = norm;
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
 * is always printed, like the first one. On a terminal every step redraws one line; on a
 * pipe or a file a timestamped line every log_every steps and at least every
 * log.seconds, so a slow run shows life. */
static void progress(struct trainer *t, float loss, double started, long first_step, long end,
                     int quiet)
{
    const struct ant_run_config *rc = t->rc;
    long done = t->s.step - first_step, total = rc->train.steps;
    double now = ant_now_ms(), secs = (now - started) / 1e3;
    double tps = secs > 0 ? (t->rep.tokens - t->prev.tokens) / secs : 0;   /* this process's */
    char eta[32], stamp[16] = "\n";
    format_duration(done > 0 ? secs / done * (total - t->s.step) : 0, eta, sizeof eta);
    int tty = isatty(fileno(stderr));
    int due = t->s.step == end || done == 1 || t->s.step % rc->log_every == 0;
    if (quiet || (!tty && !due && now - t->last_line_ms < rc->metrics.seconds * 1e3)) return;
    if (!tty) {
        time_t wall = time(NULL);
        strftime(stamp, sizeof stamp, " | %H:%M:%S\n", localtime(&wall));
        t->last_line_ms = now;
    }
    fprintf(stderr, "%sstep %ld/%ld | loss %.4f | lr %.2e | %.0f tok/s | ETA %s%s",
            tty ? "\r" : "", t->s.step, total, loss,
            sched_lr(&rc->train, t->s.step - 1) * t->run.lr_scale, tps, eta, tty ? "   " : stamp);
    t->line_open = tty;
    if (tty && (t->s.step == end || t->s.step % rc->log_every == 0)) break_line(t);
    fflush(stderr);
}

/* The step's line in the metrics log, the backend switches it caused, and a warning
 * when the remaining steps would take days at this pace (after a few steps, so a
 * backend's compile time at open does not count). */
static void log_step(struct trainer *t, float loss, long first_step)
{
    const struct ant_run_config *rc = t->rc;
    struct ev_step s = {t->s.step, rc->train.steps, loss,
                        sched_lr(&rc->train, t->s.step - 1) * t->run.lr_scale, t->grad_norm,
                        0, t->step_ms, t->s.tokens_seen, dispatch_backend_name(t->disp), {0}};
    double tokens = (double)rc->train.grad_accum * rc->train.batch_size * rc->model.seq_len;
    s.tokens_per_s = t->step_ms > 0 ? tokens / (t->step_ms / 1e3) : 0;
    s.st.size = sizeof s.st;
    dispatch_stats(t->disp, &s.st);
    ev_step(&t->log, &s);
    const char *from, *to, *cause;
    while (t->switches_logged < dispatch_switches(t->disp) &&
           (cause = dispatch_switch_at(t->disp, t->switches_logged, &from, &to)) != NULL) {
        ev_switch(&t->log, t->s.step, from, to, cause);
        t->switches_logged++;
    }
    double left = t->step_ms / 1e3 * (double)(rc->train.steps - t->s.step);
    if (!t->slow_warned && t->s.step - first_step >= 3 && left > SLOW_RUN_SECONDS) {
        t->slow_warned = 1;
        break_line(t);
        ant_log(ANT_LOG_WARN, NULL, "step %ld: %.1f s per step: the %ld steps left would take "
                "%.1f days; a smaller preset, fewer --steps or another backend (see `anetrain "
                "doctor`) would finish sooner", t->s.step, t->step_ms / 1e3,
                rc->train.steps - t->s.step, left / 86400);
    }
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
    ev_rollback(&t->log, from, t->s.step, t->run.lr_scale, why);
    if (dp_rank() == 0) {   /* said once for the run */
        break_line(t);
        ant_log(ANT_LOG_WARN, NULL, "step %ld: diverging (%s): rolling back to step %ld (%s) "
                "with the learning rate x%g, rollback %ld of %ld", from, why, t->s.step,
                t->last_saved >= 0 ? t->good_path : "the initial weights", t->run.lr_scale,
                t->run.rollbacks, c->max_rollbacks);
    }
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
    t->rep.last_loss = p->last_loss;   /* a process that only validates runs no step */
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
        .last_loss = t->rep.last_loss,
    };
    compile_totals(t, &r.compile_ms, &r.compiles);
    if (restart_state_put(&r) != 0) return ant_errf(e, "cannot set " RESTART_ENV);
    ev_stop(&t->log, t->s.step, "restart");   /* the next process's "resume" follows */
    if (t->s.step < end)
        ant_log(ANT_LOG_INFO, NULL, "step %ld: %s; saved %s, restarting the process (restart %ld)",
                t->s.step, t->restart_why, t->rc->ckpt.path, r.restarts);
    else
        ant_log(ANT_LOG_INFO, NULL, "step %ld, the last: saved %s; restarting the process (restart "
                "%ld) to validate the final weights, which this process's backend cannot take "
                "(%s)", t->s.step, t->rc->ckpt.path, r.restarts, t->restart_why);
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
    pending_validation(t);   /* in the wall time, as every validation */

    for (;;) {
        t->stopping = dp_any(stop_requested);   /* every rank stops at the same step */
        if (t->s.step >= end || t->stopping) {
            break_line(t);
            if (t->stopping) {
                ant_log(ANT_LOG_INFO, NULL, "stopping at step %ld as asked", t->s.step);
                ev_stop(&t->log, t->s.step, "signal");
            }
            /* The final validation and checkpoint count in the wall time, as scheduled
             * ones do, so the report's phases are shares of it. */
            int r = finish(t, e);
            t->rep.wall_ms = before + ant_now_ms() - started;
            if (r != 1) return r;
            continue;
        }
        float loss = NAN;
        double t_step = ant_now_ms();
        int rc_step = step(t, &loss, e);
        t->step_ms = ant_now_ms() - t_step;
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
        if (dp_rank() == 0) log_step(t, loss, first);
        report_phase_add(&t->rep, PH_LOG, ant_now_ms() - t0);
        /* any rank's backend may ask; then every rank takes part (a stop comes first).
         * After the last step too when there is held-out data, so the final validation
         * sees the final weights (pending_validation); an MPI job keeps it pending. */
        int last = t->s.step >= end;
        if ((!last || (t->val && dp_size() == 1)) && dp_any(t->want_restart) &&
            !dp_any(stop_requested)) {
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

/* The first signal asks the loop to finish its step and save; a second one (an
 * impatient Ctrl-C) ends the process at once. Checkpoints are written to a temp file
 * and renamed, so the last one saved is intact either way; a temp file left behind is
 * removed by the next run on that path. */
/* Where the work is: the checkpoint, and how to go on when the run stopped early. */
static void say_where(const struct trainer *t, const struct train_flags *f)
{
    if (t->last_saved < 0) return;
    if (t->s.step < t->rc->train.steps && t->last_saved == t->s.step)
        ant_log(ANT_LOG_INFO, NULL, "checkpoint: %s (step %ld of %ld); continue with: %s",
                t->good_path, t->last_saved, t->rc->train.steps,
                f->resume_cmd ? f->resume_cmd : "anetrain train --resume");
    else
        ant_log(ANT_LOG_INFO, NULL, "checkpoint: %s (step %ld)", t->good_path, t->last_saved);
}

static void on_signal(int sig)
{
    static const char first[] = "\nanetrain: finishing this step and saving; press Ctrl-C "
                                "again to stop at once\n";
    static const char again[] = "\nanetrain: stopped at once; the last checkpoint saved is "
                                "intact\n";
    /* counted atomically: two signals can run this at once on two threads (OpenBLAS's) */
    if (atomic_fetch_add(&signals_seen, 1) > 0) {
        ssize_t w = write(STDERR_FILENO, again, sizeof again - 1);
        (void)w;
        _exit(128 + sig);
    }
    stop_signal = sig;
    stop_requested = 1;
    if (sig == SIGINT) {
        ssize_t w = write(STDERR_FILENO, first, sizeof first - 1);
        (void)w;
    }
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

/* Block or unblock (how) every stop signal in this thread. */
static void stop_mask(int how)
{
    sigset_t stop;
    sigemptyset(&stop);
    for (size_t i = 0; i < N_STOP; i++) sigaddset(&stop, stop_signals[i]);
    sigprocmask(how, &stop, NULL);
}

static void catch_signals(struct saved_signals *old)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_signal;
    for (size_t i = 0; i < N_STOP; i++) sigaction(stop_signals[i], &sa, &old->stop[i]);
    sa.sa_handler = SIG_IGN;
    for (size_t i = 0; i < N_IGNORED; i++) sigaction(ignored_signals[i], &sa, &old->ignored[i]);
    /* A restarted process comes up with the stop signals blocked (block_stop_signals):
     * one that arrived during the exec is delivered now, to the handler. */
    stop_mask(SIG_UNBLOCK);
}

/* Going to a fresh process (TRAIN_RESTART): the stop signals are blocked in this thread
 * from here through the exec (cli/reexec.c), so one arriving now is handled by the next
 * process, and our handlers stay in place until the exec resets them, so one that a
 * BLAS thread takes meanwhile is still a stop, never the default action that kills. */
static void block_stop_signals(void) { stop_mask(SIG_BLOCK); }

/* A stop received by this process (during the restart's save, which samples and plots,
 * say) is raised again, pending, so the next process honours it: a stop is never lost to
 * a restart. */
void train_carry_stop(void)
{
    if (stop_requested) raise(stop_signal ? stop_signal : SIGTERM);
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
    t.flags = f;
    t.log.fd = -1;
    t.last_saved = -1;
    t.lock_fd = -1;
    t.rep.val_loss = NAN;
    ckpt_run_defaults(&t.run);
    if (dp_init(e) < 0) return -1;
    stop_requested = 0;
    stop_signal = 0;
    atomic_store(&signals_seen, 0);
    catch_signals(&old_signals);

    double t_setup = ant_now_ms();   /* up to the first staged weights, as one phase */
    int rc_run = dp_agree(setup(&t, f, e), e);
    if (rc_run == 0) rc_run = share_state(&t, f->stop_after, e);
    if (rc_run == 0) restore_backend_state(&t);
    if (rc_run == 0) rc_run = dp_agree(dispatch_weights_changed(t.disp, t.s.weights, e), e);
    t.rep.startup_ms = t.prev.startup_ms + ant_now_ms() - t_setup;
    if (rc_run == 0) {
        ant_log(ANT_LOG_INFO, NULL,
                "training %zu parameters on %s (%zu tokens) with backend %s, steps %ld..%ld",
                t.s.layout.total, data_name(t.data), data_n_tokens(t.data),
                dispatch_backend_name(t.disp), t.s.step, rc->train.steps);
        if (t.log_path[0]) ant_log(ANT_LOG_INFO, NULL, "metrics log: %s", t.log_path);
        ev_start(&t.log, rc, t.s.step, f->resume, data_name(t.data), t.s.layout.total,
                 dispatch_backend_name(t.disp), ant_blas_threads(), f->overrides);
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
    if (t.disp && ends && dp_rank() == 0) {
        dispatch_report(t.disp, stdout);
        ev_summary(&t.log, &t.rep, t.s.step, dispatch_backend_name(t.disp),
                   dispatch_switches(t.disp), t.last_saved >= 0 ? t.good_path : "", rc_run == 0);
        say_where(&t, f);
    }
    if (!ends) block_stop_signals();   /* this process re-executes (cmd_train) */
    else restore_signals(&old_signals);
    teardown(&t);
    dp_finalize();
    return rc_run;
}
