/* Mean loss of the current weights on a data set, over consecutive windows from its
 * start: the same windows every call, so figures compare across a run and between runs. */
#ifndef ANT_EVALUATE_H
#define ANT_EVALUATE_H

#include "data/data.h"
#include "dispatch/dispatch.h"

/* Windows of B x T that fit in the data (at least 1: data_open guarantees T+1 tokens). */
long eval_batches_available(const struct ant_data *data, int B, int T);
/* *mean = mean loss over `batches` batches (capped at what is available; *used says how
 * many). buf holds 2*B*T ids. */
int eval_mean_loss(struct ant_dispatch *d, const float *weights, struct ant_data *data,
                   int B, int T, long batches, int32_t *buf, double *mean, long *used,
                   struct ant_err *e);

#endif
