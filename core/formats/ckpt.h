/* Our checkpoint format (DESIGN.md "Formats"): everything a run needs to continue
 * bit-exactly, with a checksum per section, written atomically.
 *
 * Layout, all integers little-endian:
 *   header   magic "ANETCKPT" (8) | version u32 | section count u32 (4 in version 1)
 *            then per section: tag u32 | reserved u32 (0) | offset u64 | size u64 | hash u64
 *            then hash u64 of every header byte before it              (152 bytes in all)
 *   sections back to back, in this order, the last one ending at the end of the file:
 *     "META"  the run config that matters and where the run stands, field by field
 *             (see the table in ckpt.c); integers as i64/u64, floats as f32/f64 bits,
 *             strings as u32 length + bytes. Version 2 appends the run's own record
 *             (struct ant_ckpt_run), and may be followed by dp.ranks, the data-parallel ranks
 *             sharing the run's cursor (train/dp.h; 1 for a run of one process), as the
 *             data-parallel merge wrote it; a version 1 file reads with the record's
 *             defaults, as one rank. Version 3 writes dp.ranks, then where the run came
 *             from (struct ant_ckpt_origin), so --resume, sample and eval need no config;
 *             older files read it empty. Version 4 adds the backend that wrote the file
 *             and its state line (the ABI's save_state), so a resumed or restarted run
 *             goes on with, say, the loss scale it had, and run.val_pending.
 *     "WGHT"  fp32 master weights [layout.total], llama2.c tensor order (model.h)
 *     "MOM1"  AdamW first moment  [layout.total]
 *     "MOM2"  AdamW second moment [layout.total]
 * Hashes are XXH64 with seed 0. Every byte of a file is covered by a hash, and nothing
 * may follow the last section, so any flipped byte or truncation is caught. */
#ifndef ANT_CKPT_H
#define ANT_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "base/state.h"
#include "base/util.h"

#define CKPT_VERSION 4
#define CKPT_N_SECTIONS 4
#define CKPT_HEADER_BYTES (16 + 32 * CKPT_N_SECTIONS + 8)

/* What a run keeps about itself across restarts, for the checkpoint policy
 * (ckpt_policy.h): how far divergence has cut the learning rate, and the losses that
 * the best checkpoint and the divergence check compare with. */
struct ant_ckpt_run {
    double lr_scale;      /* 1, halved by each rollback; in (0, 1] */
    long rollbacks;       /* rollbacks so far */
    double smooth_loss;   /* exponentially smoothed training loss; NaN = none yet */
    double low_loss;      /* lowest smooth_loss so far; NaN = none */
    double best_loss;     /* the loss PATH.best was kept for; NaN = no PATH.best */
    long best_step;       /* step of PATH.best; -1 = none */
    long val_pending;     /* version 4: the step this file holds, when its validation
                             waits for a process whose backend has its weights (a
                             restart was due); 0 = none */
};
void ckpt_run_defaults(struct ant_ckpt_run *run);

/* Where a run came from: enough to resume, sample and evaluate it without its config
 * file. Strings are "" when unknown (a version 1 or 2 file). */
struct ant_ckpt_origin {
    char data_path[ANT_PATH_MAX];     /* data.path ("" = the embedded corpus) */
    char data_format[ANT_NAME_MAX];   /* data.format */
    char eval_path[ANT_PATH_MAX];     /* data.eval_path */
    double eval_tail;                 /* data.eval_tail */
    char tokenizer[ANT_PATH_MAX];     /* data.tokenizer */
    char log_path[ANT_PATH_MAX];      /* the metrics log the run wrote */
    long blas_threads;                /* BLAS threads the run used (0 = unknown): a
                                         bit-exact resume needs the same count */
    long ckpt_every, log_every;       /* checkpoint.every, train.log_every */
    char backend[ANT_NAME_MAX];       /* version 4: the backend at the save */
    char backend_state[256];          /* its save_state line ("" = none) */
};

struct ant_ckpt_info {   /* what a checkpoint says about itself */
    struct ant_model_config model;
    struct ant_train_opts train;
    long step;
    uint64_t tokens_seen;
    struct ant_cursor cursor;
    char data_name[ANT_PATH_MAX];
    uint64_t data_fingerprint;
    struct ant_ckpt_run run;
    int dp_ranks;              /* 1 in a file without it */
    struct ant_ckpt_origin origin;   /* version 3 */
};

/* Writes s (weights, moments, step, cursor, tokens_seen, dp_ranks) with the train options and the
 * data's name and fingerprint; an existing file at path is kept as PATH.prev. On
 * failure the file at path is untouched. */
int ckpt_save(const char *path, const struct ant_train_state *s, const struct ant_train_opts *train,
              const char *data_name, uint64_t data_fingerprint, struct ant_err *e);
/* The same, with the run's record (NULL: defaults). Neither writes a state holding a
 * NaN or an infinity (or a negative second moment): -1 naming the element. */
int ckpt_save_run(const char *path, const struct ant_train_state *s,
                  const struct ant_train_opts *train, const char *data_name,
                  uint64_t data_fingerprint, const struct ant_ckpt_run *run, struct ant_err *e);
/* The same, with where the run came from (NULL: all unknown). */
int ckpt_save_full(const char *path, const struct ant_train_state *s,
                   const struct ant_train_opts *train, const char *data_name,
                   uint64_t data_fingerprint, const struct ant_ckpt_run *run,
                   const struct ant_ckpt_origin *origin, struct ant_err *e);
/* Index of the first NaN or infinity in weights, m or v (or negative v), its section's
 * name in *section; -1 if the state is all finite. */
long ckpt_first_nonfinite(const struct ant_train_state *s, const char **section);
/* Reads header + meta only (for `sample`, and to check a resume before allocating). */
int ckpt_peek(const char *path, struct ant_ckpt_info *info, struct ant_err *e);
/* Verifies every checksum and size, then fills s (state_alloc'ed here for info->model)
 * with weights, moments, step, cursor, tokens_seen, dp_ranks. Never hands back a partly loaded
 * state: on failure s is zeroed with no buffers. info may be NULL. */
int ckpt_load(const char *path, struct ant_train_state *s, struct ant_ckpt_info *info, struct ant_err *e);
/* The model shape in a checkpoint must equal the run's: -1 naming the first differing field
 * ("x.ckpt has model.dim 64, config has 128"). */
int ckpt_check_model(const char *path, const struct ant_model_config *ckpt,
                     const struct ant_model_config *run, struct ant_err *e);

#endif
