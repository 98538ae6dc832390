/* The doctor's self-test: one layer forward and backward on a backend against the CPU
 * reference (or, for the CPU itself, against finite differences of its own loss). */
#ifndef ANT_SELFTEST_H
#define ANT_SELFTEST_H

#include "dispatch/registry.h"

struct selftest_result {
    double loss, loss_ref;   /* the backend's loss and the reference's */
    double loss_err;         /* |loss - loss_ref| / |loss_ref| */
    double grad_err;         /* ||g - g_ref|| / ||g_ref||, or the worst finite-difference
                                relative error for the CPU */
    const char *against;     /* "cpu" or "finite differences" */
    int pass;                /* errors within fp16 tolerances */
    struct ant_backend_stats stats;   /* the backend's counters after the test step */
    char err[300];           /* why it could not run */
};

/* idx: module to test; ref: the cpu module (-1 if none). Returns 0 when it ran. */
int selftest_run(const struct ant_registry *r, int idx, int ref, const struct ant_chip *chip,
                 struct selftest_result *out);

#endif
