/* The optimizer: learning-rate schedule, global-norm gradient clipping and AdamW with
 * PyTorch's semantics, over the fp32 master weights the core owns. */
#ifndef ANT_OPTIM_H
#define ANT_OPTIM_H

#include <stddef.h>

#include "config/config.h"
#include "base/state.h"

/* LR for the optimizer step `step` (0-based, about to run) of o->steps:
 * linear warmup lr*(step+1)/warmup_steps while step < warmup_steps; then schedule
 * "cosine": min_lr + 0.5*(lr-min_lr)*(1+cos(pi*progress)), progress = (step-warmup)/(steps-warmup)
 * clamped to [0,1]; "constant": lr. (warmup_steps 0 = no warmup.) */
double sched_lr(const struct ant_train_opts *o, long step);

/* sqrt(sum g^2) accumulated in double; NaN/Inf propagate so the caller can refuse the step. */
double grad_global_norm(const float *g, size_t n);

/* If max_norm > 0 and norm > max_norm, scale g by max_norm/(norm + 1e-6) (PyTorch clip_grad_norm_). */
void grad_clip(float *g, size_t n, double norm, double max_norm);

/* One AdamW step with PyTorch torch.optim.AdamW semantics (decoupled decay applied as
 * p *= 1 - lr*wd before the Adam update; bias corrections with t = s->step + 1; denom =
 * sqrt(v)/sqrt(bc2) + eps) on every tensor; weight decay on the matrices and the
 * embedding, not on norm weights (ant_tensor_is_norm). Uses s->grads; does not change s->step. */
void adamw_step(struct ant_train_state *s, const struct ant_train_opts *o, double lr);

#endif
