/* Data-parallel training: `mpirun -np N anetrain train ...` runs N ranks that train one
 * model. Each rank computes the gradients of its own slice of every batch on its own
 * backend chain; the gradients are averaged across ranks (MPI_Allreduce, fp32, in
 * chunks) and every rank applies the same update to its copy of the state. Rank 0 alone
 * writes checkpoints, logs and the report.
 *
 * Built on Open MPI when configure finds it (HAVE_MPI). Without it, or in a process that
 * mpirun did not start, there is one rank and every function below is the single-rank
 * case (no MPI call at all), so the trainer calls the same functions either way.
 *
 * The data stream, exactly: every rank holds the same cursor (data.h). For each
 * micro-batch the N ranks together draw N*B windows from it, in order; rank r takes
 * windows [r*B, (r+1)*B) and skips the others. So rank r's stream is reproducible from
 * the seed, r and N; rank 0 of a one-rank run reads exactly the single-process stream;
 * N ranks x batch B see the very windows of 1 rank x batch N*B; and the cursor is the
 * same on every rank after every step, so the checkpoint's one cursor resumes them all.
 *
 * Collective functions must be called by every rank in the same order. */
#ifndef ANT_DP_H
#define ANT_DP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/state.h"
#include "base/util.h"
#include "config/config.h"
#include "data/data.h"
#include "train/report.h"

/* Starts MPI when mpirun started this process as one of several; else one rank.
 * Non-root ranks log only warnings and errors, tagged with their rank. -1 if MPI cannot
 * start, or if a build without MPI was started by mpirun with more than one rank. */
int dp_init(struct ant_err *e);
void dp_finalize(void);
int dp_rank(void);
int dp_size(void);

/* Collective. rc: this rank's outcome (0, or -1 with e filled). 0 if every rank's rc is
 * 0; else -1 on every rank, e = "rank R: <its message>" for the lowest failing rank R. */
int dp_agree(int rc, struct ant_err *e);

/* Collective, once every rank is set up: checks that what every rank must share to
 * train one model (model shape, training options, checkpoint.every, --stop-after, the
 * data's fingerprint) is equal on every rank, else -1 naming the first rank that differs (backends and their
 * settings may differ); then sends rank 0's weights, moments, step, tokens seen and
 * cursor to every rank, so the others need no checkpoint or model file of their own.
 * Sets s->dp_ranks to N. */
int dp_share_state(struct ant_train_state *s, const struct ant_run_config *rc, long stop_after,
                   uint64_t data_fp, struct ant_err *e);

/* Collective: rank 0's bytes at p on every rank (what else of the run they must share). */
void dp_share(void *p, size_t bytes);

/* This rank's B windows of the next micro-batch (see above). tokens, targets: [B*T]. */
void dp_next_batch(struct ant_data *d, struct ant_cursor *cur, int sequential, int B, int T,
                   int32_t *tokens, int32_t *targets);

/* Collective, between each rank's backend step and the optimizer. rc: this rank's
 * dispatch_train_step result. If every rank's rc is 0, grads and loss become their mean
 * over ranks (sum, then times 1/N as the backends scale for grad_accum) and *norm the
 * norm of the mean; returns 0. Else returns, on every rank, the worst outcome (-1 before
 * DISPATCH_NONFINITE) with e from the lowest rank that had it. */
int dp_reduce_step(int rc, float *grads, size_t n, float *loss, double *norm,
                   struct ant_err *e);

/* Collective: 1 on every rank if flag is set on any. */
int dp_any(int flag);

/* Collective, at each checkpoint: -1 if the ranks' weights are not bit-identical (the
 * MPI library's sum would then differ between ranks: nothing to save or continue). */
int dp_check_replicas(const float *w, size_t n, struct ant_err *e);

/* Call once a run has failed (rc < 0), before any further collective. A failure the
 * other ranks do not know of (one met outside the collectives above, which would leave
 * them waiting) is printed, tagged with the rank, and ends the job with MPI_Abort; rank
 * 0 writes checkpoints atomically, so the last one stays intact. Returns otherwise. */
void dp_abort_if_alone(int rc, const struct ant_err *e);

/* Collective: rank 0 prints the ranks, the effective batch (per-rank batch x grad_accum
 * x N), the time spent communicating and every rank's backend. Nothing for one rank. */
void dp_report(const struct ant_report *r, const struct ant_train_opts *o, int seq_len,
               const char *backend, int switches, FILE *out);

#endif
