/* Figures for the progress line and the efficiency report at the end of a run. */
#ifndef ANT_REPORT_H
#define ANT_REPORT_H

#include <anetrain/model.h>
#include <stdio.h>

/* Phases the trainer times; the report splits wall time by them. */
/* PH_COMM: averaging gradients across data-parallel ranks (train/dp.h); never in a
 * one-rank run. */
enum ant_phase { PH_DATA, PH_BACKEND, PH_OPTIM, PH_WEIGHTS, PH_VALIDATE, PH_CKPT, PH_LOG, PH_COMM,
                 PH_N };

struct ant_report {
    double phase_ms[PH_N];
    long steps;                 /* optimizer steps in this run */
    double tokens;              /* tokens trained on in this run */
    double flops;               /* matmul FLOPs done in this run (forward + backward) */
    double wall_ms;
    double first_loss, last_loss;
    double val_loss;            /* last validation loss, NAN if none */
    long skipped;               /* steps whose update was refused (non-finite) */
    /* A run that restarted its process (train/restart.h): steps, tokens, FLOPs, wall
     * time and the first loss above cover every process; the phases only this one. */
    long restarts;
    double compile_ms;          /* backend compile time (over every process) */
    double startup_ms;          /* setting up before the first step (every process) */
    long compiles;
};

void report_phase_add(struct ant_report *r, enum ant_phase p, double ms);
void report_print(const struct ant_report *r, FILE *out);

/* "1:02:03" or "4:05" */
void format_duration(double seconds, char *buf, size_t n);

#endif
