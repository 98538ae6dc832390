/* The checkpoint policy of a training run: the files a run keeps beside its checkpoint
 * PATH, who may write them, what a resume falls back to, and when a run is diverging.
 *
 *   PATH        the newest good state (ckpt.h), replaced atomically at each save
 *   PATH.prev   the one before it (fileio.c keeps it at each replacement)
 *   PATH.best   the state with the lowest validation loss (data.eval_path), else the
 *               lowest smoothed training loss, at a save; a hard link to that PATH, so
 *               later saves and divergence never touch it
 *   PATH.lock   an advisory lock (fcntl) held for the life of the run
 *
 * Divergence: the training loss is smoothed (SMOOTH_ALPHA); when the smoothed loss has
 * stayed above checkpoint.diverge_factor x its lowest value for checkpoint.diverge_steps
 * steps in a row, or steps keep giving non-finite gradients, the run rolls back to its
 * last good state with the learning rate halved, at most checkpoint.max_rollbacks
 * times, then stops naming the good checkpoint. A state above its best is never saved. */
#ifndef ANT_CKPT_POLICY_H
#define ANT_CKPT_POLICY_H

#include "formats/ckpt.h"
#include "config/config.h"
#include "base/util.h"

/* Weight of the newest step's loss in the smoothed loss: about the last 10 steps. */
#define SMOOTH_ALPHA 0.1

/* Before anything else: PATH must be a file name (not empty, no trailing '/', not an
 * existing folder, FIFO or device). */
int policy_check_path(const char *path, struct ant_err *e);

/* Take PATH.lock for this process (kept until policy_unlock or exit). -1 naming the pid
 * of the trainer that holds it. *fd receives the lock's descriptor. */
int policy_lock(const char *path, int *fd, struct ant_err *e);
void policy_unlock(int fd);

/* Remove PATH.tmp.<pid>, PATH.prev.tmp.<pid> and PATH.best.tmp.<pid> left by processes
 * that no longer exist. Returns how many were removed. */
int policy_remove_stale(const char *path);

/* A fresh run over PATH, PATH.prev or PATH.best of another run is refused (-1 naming
 * the file and its step) unless force, which removes them. */
int policy_check_fresh(const char *path, int force, struct ant_err *e);

/* Load PATH for a resume; if PATH is missing or damaged, fall back to PATH.prev, then
 * PATH.best, with a warning giving PATH's fault. A fallen-back-from PATH is renamed to
 * PATH.corrupt so the next save cannot make it PATH.prev. from receives the file
 * loaded. The model must match run (a mismatch is an error, never a fallback). */
int policy_resume_load(const char *path, const struct ant_model_config *run,
                       struct ant_train_state *s, struct ant_ckpt_info *info, char *from,
                       size_t from_cap, struct ant_err *e);

/* Make PATH.best the file now at PATH (hard link, or a copy where links fail). */
int policy_keep_best(const char *path, struct ant_err *e);

/* Fold one step's loss into run->smooth_loss and run->low_loss; 1 if the smoothed loss
 * is now above factor x its lowest. */
int policy_observe_loss(struct ant_ckpt_run *run, double loss, double factor);

/* Is metric (finite) lower than best (NaN = none yet)? */
int policy_is_better(double metric, double best);

#endif
