/* Reading the metrics log (metrics.h) with jansson, for `plot` and `top`: the series to
 * draw and the latest figures. Reads incrementally, whole lines only, so a live log can
 * be polled while the run appends to it. Built where configure found jansson. */
#ifndef ANT_METRICS_READ_H
#define ANT_METRICS_READ_H

#include <stddef.h>
#include <sys/types.h>

#include "base/util.h"

struct ant_series {
    double *x, *y;   /* [n]: x = step */
    size_t n, cap;
};

struct ant_runlog {
    struct ant_series loss, val, tps;
    /* the latest step line */
    long step, steps;
    double loss_now, lr, grad_norm, tokens_per_s, ms_per_step, loss_scale, device_share;
    long compiles, evals;
    char backend[64];
    /* the run around it */
    double val_loss;                 /* latest; NaN if none */
    int switches, restarts, rollbacks, finished;
    char last_switch[256];           /* "ane-dynamic -> cpu: cause" */
    char ckpt[ANT_PATH_MAX];         /* the latest checkpoint saved */
    char sample[2048];               /* the latest sample text */
    long lines, bad_lines;           /* lines read; lines that were not JSON objects */
    off_t offset;                    /* where the next read starts */
};

void runlog_init(struct ant_runlog *l);
/* Read the whole lines added to path since the last call; 0, or -1 when the file cannot
 * be read (the error names it). A line that is not a JSON object is counted, skipped. */
int runlog_update(struct ant_runlog *l, const char *path, struct ant_err *e);
void runlog_free(struct ant_runlog *l);

#endif
