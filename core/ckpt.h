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
 *             strings as u32 length + bytes
 *     "WGHT"  fp32 master weights [layout.total], llama2.c tensor order (model.h)
 *     "MOM1"  AdamW first moment  [layout.total]
 *     "MOM2"  AdamW second moment [layout.total]
 *             Version 2 appends one field, dp.ranks (the data-parallel ranks the run's
 *             cursor is shared by, dp.h). It is written only by runs of more than one
 *             rank: a one-rank checkpoint is version 1, byte for byte as before, and a
 *             version 1 file reads as one rank.
 * Hashes are XXH64 with seed 0. Every byte of a file is covered by a hash, and nothing
 * may follow the last section, so any flipped byte or truncation is caught. */
#ifndef ANT_CKPT_H
#define ANT_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "state.h"
#include "util.h"

#define CKPT_VERSION 2   /* the newest this code reads */
#define CKPT_N_SECTIONS 4
#define CKPT_HEADER_BYTES (16 + 32 * CKPT_N_SECTIONS + 8)

struct ant_ckpt_info {   /* what a checkpoint says about itself */
    struct ant_model_config model;
    struct ant_train_opts train;
    long step;
    uint64_t tokens_seen;
    struct ant_cursor cursor;
    char data_name[ANT_PATH_MAX];
    uint64_t data_fingerprint;
    int dp_ranks;              /* 1 in a version 1 file */
};

/* Writes s (weights, moments, step, cursor, tokens_seen, dp_ranks) with the train options and the
 * data's name and fingerprint; an existing file at path is kept as PATH.prev. On
 * failure the file at path is untouched. */
int ckpt_save(const char *path, const struct ant_train_state *s, const struct ant_train_opts *train,
              const char *data_name, uint64_t data_fingerprint, struct ant_err *e);
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
