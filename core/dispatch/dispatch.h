/* The dispatcher: what the trainer calls instead of a backend. It picks the backend
 * chain (chip + config), runs each call on the current backend and, when that backend
 * fails (open/compile failure, a failed call, non-finite output where the next backend
 * is finite), finishes the same call on the next backend of the chain. The core owns
 * weights, grads and optimizer state, so nothing is lost or repeated (DESIGN.md "Who
 * owns what"). Each switch is logged with its cause and counted. */
#ifndef ANT_DISPATCH_H
#define ANT_DISPATCH_H

#include <anetrain/backend.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config/config.h"
#include "base/util.h"

struct ant_dispatch;

/* Detect the chip (rc->be.chip forces one), load modules, validate rc->backend_settings,
 * build the chain and open its first backend that opens. max_batch: the largest
 * batch_size later calls will pass. */
int dispatch_open(struct ant_dispatch **d, const struct ant_run_config *rc, int max_batch,
                  struct ant_err *e);
/* Returned (by every call below) when the output is non-finite on the CPU reference
 * too: the run diverged, no backend is at fault, and the dispatcher stays where it was
 * (the trainer decides: skip the update, stop). */
#define DISPATCH_NONFINITE (-2)

/* One whole optimizer step: zero grads, run all n_micro micro-batches (grad_scale
 * 1/n_micro), *loss = mean of the micro losses, *grad_norm = global L2 norm of grads
 * (double accumulation). On a backend failure or non-finite loss/grads the step is
 * redone from zeroed grads on the next backend. Returns 0; -1 when no backend is left;
 * DISPATCH_NONFINITE when the CPU reference itself is non-finite (e says so). */
int dispatch_train_step(struct ant_dispatch *d, const float *weights,
                        const struct ant_batch *micro, int n_micro, float *grads,
                        size_t n_params, float *loss, double *grad_norm, struct ant_err *e);
int dispatch_eval_loss(struct ant_dispatch *d, const float *weights, const struct ant_batch *b,
                       float *loss, struct ant_err *e);
/* logits [V] of the token after tokens[0..n-1]. */
int dispatch_logits(struct ant_dispatch *d, const float *weights, const int32_t *tokens, int n,
                    float *logits, struct ant_err *e);
/* Call after the weights are first set and after every optimizer update; the pointer
 * must stay valid until the next call (a backend opened mid-run is handed it). */
int dispatch_weights_changed(struct ant_dispatch *d, const float *weights, struct ant_err *e);

const char *dispatch_backend_name(const struct ant_dispatch *d);
int dispatch_switches(const struct ant_dispatch *d);        /* fallbacks taken so far */
/* The i-th switch (from 0): its cause, with the backends it went from and to ("" when
 * none was left); NULL past the last one recorded (the first 32 are). */
const char *dispatch_switch_at(const struct ant_dispatch *d, int i, const char **from,
                               const char **to);
const struct ant_chip *dispatch_chip(const struct ant_dispatch *d);
/* The step number used in log lines (the trainer's optimizer step); counts train steps
 * from 0 by itself otherwise. */
void dispatch_set_step(struct ant_dispatch *d, long step);
/* Counters summed over every backend used so far. */
void dispatch_stats(const struct ant_dispatch *d, struct ant_backend_stats *out);
/* 1 when the current backend needs a fresh process before its next weights_changed
 * (the ANE compile budget), with the reason in why; ask after each optimizer update. */
int dispatch_needs_restart(struct ant_dispatch *d, char *why, size_t n);
/* The current backend's name and its state line for the checkpoint (backend.h
 * save_state; "" when it keeps none). */
void dispatch_save_state(struct ant_dispatch *d, char *name, size_t name_cap, char *state,
                         size_t state_cap);
/* A checkpoint's backend state, handed to the current backend when it is the backend
 * that wrote it (another backend starts from its own settings, said in the log); -1
 * with e when that backend refuses it. */
int dispatch_load_state(struct ant_dispatch *d, const char *name, const char *state,
                        struct ant_err *e);
/* The accelerator figures of a backend's counters (ABI 1.1), two indented lines;
 * nothing for a backend without kernels. */
void dispatch_print_device(const struct ant_backend_stats *st, FILE *out);
/* Backend used, chain, switches with causes, per-backend time and counters. */
void dispatch_report(const struct ant_dispatch *d, FILE *out);
void dispatch_close(struct ant_dispatch *d);

#endif
