/* The training loop: data -> backend (through the dispatcher) -> AdamW -> checkpoints. */
#ifndef ANT_TRAIN_H
#define ANT_TRAIN_H

#include "config/config.h"
#include "base/util.h"

struct train_flags {
    int resume;          /* continue from rc->ckpt.path */
    long stop_after;     /* run at most this many steps now (0 = to the end), then save */
    int quiet;           /* no progress line */
    int force;           /* a fresh run may delete another run's checkpoint files */
    const char *overrides;   /* on resume: the flags that replaced the checkpoint's
                                options, for the metrics log; may be NULL */
    const char *resume_cmd;  /* the command that continues this run, said when it stops
                                early; may be NULL */
};

int train_run(const struct ant_run_config *rc, const struct train_flags *f, struct ant_err *e);

/* Ask a running train_run to finish its current step, save and return (SIGINT, SIGTERM
 * and the other signals that mean "stop": see train.c). */
void train_request_stop(void);

/* After train_run returned TRAIN_RESTART (stop signals left blocked), just before the
 * exec: a stop this process received is raised again, pending, for the next one. */
void train_carry_stop(void);

#endif
