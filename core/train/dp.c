/* Data-parallel training (see dp.h). The MPI calls are the few transport functions at
 * the top; without MPI they are the one-rank case and the rest of the file is the same. */
#include <config.h>

#include "train/dp.h"

#include <stdlib.h>
#include <string.h>

#include "base/xxh64.h"
#include "dispatch/dispatch.h"
#include "train/optim.h"

#ifdef HAVE_MPI
#include <mpi.h>
#endif

/* Floats per MPI_Allreduce: 64 MiB, far below MPI's int counts, and large enough that
 * per-call latency is nothing next to the transfer. */
#define CHUNK_FLOATS ((size_t)16 << 20)
#define CHUNK_BYTES (CHUNK_FLOATS * sizeof(float))

static struct {
    int rank, size;
    int agreed;           /* the last collective told every rank to stop or skip */
    double sync_ms;       /* agreeing on each step's outcome: mostly waiting for the slowest */
    double reduce_ms;     /* averaging gradients and loss */
    long reduces;         /* steps whose gradients were averaged */
    size_t grad_floats;   /* floats averaged per step */
    char library[64];
} dp = {0, 1, 0, 0, 0, 0, 0, ""};

int dp_rank(void) { return dp.rank; }
int dp_size(void) { return dp.size; }

/* ---- transport ---------------------------------------------------------------- */

/* Started by mpirun (Open MPI), mpiexec (MPICH's Hydra) or a PMIx launcher: the number
 * of ranks the launcher says, else 0. */
static long launched_size(void)
{
    const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v) return strtol(v, NULL, 10);
    }
    return getenv("PMIX_RANK") ? 2 : 0;
}

#ifdef HAVE_MPI
static int comm_init(struct ant_err *e)
{
    /* Plain `anetrain train`, or `mpirun -np 1`: one rank, MPI untouched, so the process
     * may re-execute itself for a backend's restart (train/restart.h) as usual. */
    if (launched_size() <= 1) return 0;
    if (MPI_Init(NULL, NULL) != MPI_SUCCESS) return ant_errf(e, "MPI_Init failed");
    MPI_Comm_rank(MPI_COMM_WORLD, &dp.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &dp.size);
    char v[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    MPI_Get_library_version(v, &len);
    v[strcspn(v, ",\n")] = 0;   /* "Open MPI v4.1.4, package: ..." */
    snprintf(dp.library, sizeof dp.library, "%.63s", v);
    return 0;
}
static int mpi_up(void)
{
    int up = 0, down = 0;
    MPI_Initialized(&up);
    MPI_Finalized(&down);
    return up && !down;
}
static void comm_finalize(void) { if (mpi_up()) MPI_Finalize(); }
static void comm_abort(void) { MPI_Abort(MPI_COMM_WORLD, 1); }
/* The largest code and the lowest rank that has it. */
static void comm_maxloc(int code, int *max, int *who)
{
    int in[2] = {code, dp.rank}, out[2];
    MPI_Allreduce(in, out, 1, MPI_2INT, MPI_MAXLOC, MPI_COMM_WORLD);
    *max = out[0], *who = out[1];
}
static void comm_sum_floats(float *x, size_t n)
{
    for (size_t i = 0; i < n; i += CHUNK_FLOATS) {
        size_t k = n - i < CHUNK_FLOATS ? n - i : CHUNK_FLOATS;
        MPI_Allreduce(MPI_IN_PLACE, x + i, (int)k, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    }
}
static void comm_sum_doubles(double *x, int n)
{
    MPI_Allreduce(MPI_IN_PLACE, x, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}
static void comm_bcast(void *p, size_t bytes, int root)
{
    for (size_t i = 0; i < bytes; i += CHUNK_BYTES) {
        size_t k = bytes - i < CHUNK_BYTES ? bytes - i : CHUNK_BYTES;
        MPI_Bcast((char *)p + i, (int)k, MPI_BYTE, root, MPI_COMM_WORLD);
    }
}
#else
static int comm_init(struct ant_err *e)
{
    long n = launched_size();
    if (n > 1)
        return ant_errf(e, "started by mpirun as one of %ld ranks, but this anetrain was built "
                           "without MPI (install libopenmpi-dev and configure --with-mpi)", n);
    return 0;
}
/* With one rank nothing below is ever called (every caller returns first). */
static void comm_finalize(void) {}
static void comm_abort(void) { abort(); }
static void comm_maxloc(int code, int *max, int *who) { *max = code, *who = 0; }
static void comm_sum_floats(float *x, size_t n) { (void)x, (void)n; }
static void comm_sum_doubles(double *x, int n) { (void)x, (void)n; }
static void comm_bcast(void *p, size_t bytes, int root) { (void)p, (void)bytes, (void)root; }
#endif

/* ---- the layer ------------------------------------------------------------------ */

int dp_init(struct ant_err *e)
{
    dp.rank = 0, dp.size = 1, dp.agreed = 0;
    dp.sync_ms = dp.reduce_ms = 0, dp.reduces = 0, dp.grad_floats = 0;
    if (comm_init(e) < 0) return -1;
    if (dp.rank > 0) {
        static char tag[32];
        snprintf(tag, sizeof tag, "anetrain[rank %d]", dp.rank);
        ant_log_name = tag;
        if (ant_log_level > ANT_LOG_WARN) ant_log_level = ANT_LOG_WARN;
    }
    return 0;
}

void dp_finalize(void) { comm_finalize(); }

/* Every rank gets rank `who`'s message, prefixed with its rank. */
static void share_error(int who, struct ant_err *e)
{
    char msg[sizeof e->msg];
    memcpy(msg, e->msg, sizeof msg);
    comm_bcast(msg, sizeof msg, who);
    msg[sizeof msg - 1] = 0;
    ant_errf(e, "rank %d: %s", who, msg);
}

int dp_agree(int rc, struct ant_err *e)
{
    if (dp.size == 1) return rc;
    int bad, who;
    comm_maxloc(rc < 0 ? 1 : 0, &bad, &who);
    dp.agreed = bad != 0;
    if (!bad) return 0;
    share_error(who, e);
    return -1;
}

int dp_any(int flag)
{
    if (dp.size == 1) return flag;
    int any, who;
    comm_maxloc(flag != 0, &any, &who);
    dp.agreed = 0;
    return any;
}

/* The fields that must agree, serialized field by field (no struct padding). The
 * checkpoint schedule too: every rank takes part in each checkpoint's replica check. */
static uint64_t run_hash(const struct ant_run_config *rc, long stop_after, uint64_t data_fp)
{
    const struct ant_model_config *m = &rc->model;
    const struct ant_train_opts *o = &rc->train;
    double x[] = {m->dim, m->hidden_dim, m->n_layers, m->n_heads, m->n_kv_heads,
                  m->vocab_size, m->seq_len, m->shared_classifier, m->rope_theta, m->norm_eps,
                  o->batch_size, o->grad_accum, (double)o->steps, o->lr, o->min_lr,
                  (double)o->warmup_steps, o->beta1, o->beta2, o->eps, o->weight_decay,
                  o->grad_clip, o->init_std, (double)stop_after, (double)rc->ckpt.every};
    uint64_t h = ant_xxh64(x, sizeof x, 0);
    uint64_t more[] = {o->seed, data_fp};
    h = ant_xxh64(more, sizeof more, h);
    h = ant_xxh64(o->schedule, strnlen(o->schedule, sizeof o->schedule), h);
    return ant_xxh64(o->data_order, strnlen(o->data_order, sizeof o->data_order), h);
}

/* Collective: -1 naming the lowest rank whose value differs from rank 0's. */
static int check_same(uint64_t mine, const char *what, struct ant_err *e)
{
    uint64_t root = mine;
    comm_bcast(&root, sizeof root, 0);
    int differs, who;
    comm_maxloc(mine != root, &differs, &who);
    dp.agreed = differs;
    if (differs) return ant_errf(e, "rank %d's %s differ from rank 0's", who, what);
    return 0;
}

int dp_share_state(struct ant_train_state *s, const struct ant_run_config *rc, long stop_after,
                   uint64_t data_fp, struct ant_err *e)
{
    s->dp_ranks = dp.size;
    if (dp.size == 1) return 0;
    if (check_same(run_hash(rc, stop_after, data_fp), "model, training options, checkpoint "
                   "schedule, --stop-after or data", e) < 0)
        return -1;
    size_t bytes = s->layout.total * sizeof(float);
    comm_bcast(s->weights, bytes, 0);
    comm_bcast(s->m, bytes, 0);
    comm_bcast(s->v, bytes, 0);
    uint64_t meta[7] = {(uint64_t)s->step, s->tokens_seen, s->cursor.position,
                        s->cursor.rng.s[0], s->cursor.rng.s[1], s->cursor.rng.s[2],
                        s->cursor.rng.s[3]};
    comm_bcast(meta, sizeof meta, 0);
    s->step = (long)meta[0], s->tokens_seen = meta[1], s->cursor.position = meta[2];
    memcpy(s->cursor.rng.s, meta + 3, sizeof s->cursor.rng.s);
    return 0;
}

void dp_share(void *p, size_t bytes)
{
    if (dp.size > 1) comm_bcast(p, bytes, 0);
}

void dp_next_batch(struct ant_data *d, struct ant_cursor *cur, int sequential, int B, int T,
                   int32_t *tokens, int32_t *targets)
{
    data_skip_windows(d, cur, sequential, (long)dp.rank * B, T);
    data_next_batch(d, cur, sequential, B, T, tokens, targets);
    data_skip_windows(d, cur, sequential, (long)(dp.size - 1 - dp.rank) * B, T);
}

int dp_reduce_step(int rc, float *grads, size_t n, float *loss, double *norm,
                   struct ant_err *e)
{
    if (dp.size == 1) return rc;
    double t0 = ant_now_ms();
    int worst, who;
    comm_maxloc(rc == 0 ? 0 : rc == DISPATCH_NONFINITE ? 1 : 2, &worst, &who);
    double t1 = ant_now_ms();
    dp.sync_ms += t1 - t0;
    dp.agreed = worst != 0;
    if (worst) {
        share_error(who, e);
        return worst == 1 ? DISPATCH_NONFINITE : -1;
    }
    double l = *loss;
    comm_sum_doubles(&l, 1);
    comm_sum_floats(grads, n);
    const float scale = 1.0f / (float)dp.size;   /* as dispatch.c scales for grad_accum */
    for (size_t i = 0; i < n; i++) grads[i] *= scale;
    *loss = (float)(l / dp.size);
    *norm = grad_global_norm(grads, n);
    dp.reduce_ms += ant_now_ms() - t1;
    dp.reduces++;
    dp.grad_floats = n;
    return 0;
}

int dp_check_replicas(const float *w, size_t n, struct ant_err *e)
{
    if (dp.size == 1) return 0;
    return check_same(ant_xxh64(w, n * sizeof *w, 0), "weights (not bit-identical: the MPI "
                      "library summed differently on different ranks)", e);
}

void dp_abort_if_alone(int rc, const struct ant_err *e)
{
    if (rc == 0 || dp.size == 1 || dp.agreed) return;
    fprintf(stderr, "anetrain train: rank %d: %s (ending the job)\n", dp.rank, e->msg);
    fflush(stderr);
    comm_abort();
}

void dp_report(const struct ant_report *r, const struct ant_train_opts *o, int seq_len,
               const char *backend, int switches, FILE *out)
{
    if (dp.size == 1) return;
    if (dp.rank == 0) {
        long eff = (long)o->batch_size * o->grad_accum * dp.size;
        double comm = dp.sync_ms + dp.reduce_ms, steps = dp.reduces > 0 ? dp.reduces : 1;
        fprintf(out, "data parallel    %d ranks (%s); tokens/s above is all ranks together\n",
                dp.size, dp.library);
        fprintf(out, "effective batch  %d x grad_accum %d x %d ranks = %ld sequences, %ld "
                "tokens per step\n", o->batch_size, o->grad_accum, dp.size, eff, eff * seq_len);
        fprintf(out, "communication    %.1f ms, %.1f%% of wall time: gradient allreduce %.2f "
                "ms/step (%.1f MB fp32), waiting for the slowest rank %.2f ms/step\n", comm,
                r->wall_ms > 0 ? 100 * comm / r->wall_ms : 0, dp.reduce_ms / steps,
                dp.grad_floats * 4.0 / 1e6, dp.sync_ms / steps);
        fprintf(out, "rank backends   ");
    }
    /* One small broadcast per rank: no buffer to allocate (and fail) on any of them. */
    for (int k = 0; k < dp.size; k++) {
        struct { char name[48]; int switches; } b = {"", switches};
        snprintf(b.name, sizeof b.name, "%s", backend ? backend : "(none)");
        comm_bcast(&b, sizeof b, k);
        if (dp.rank == 0)
            fprintf(out, " %d: %s (%d switch%s)%s", k, b.name, b.switches,
                    b.switches == 1 ? "" : "es", k + 1 < dp.size ? "," : "\n");
    }
}
