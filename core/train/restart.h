/* A run that spans processes. When the backend needs a fresh process (the ANE compile
 * budget, docs/ane.md §1.9), the trainer saves a checkpoint and returns TRAIN_RESTART;
 * the CLI re-executes the program with --resume. The checkpoint carries the model state;
 * what else must outlive the process — how many restarts, the step it stopped at, and
 * the cumulative figures of the final report — rides in the environment variable
 * ANETRAIN_RESTART, read once by the resumed process. */
#ifndef ANT_RESTART_H
#define ANT_RESTART_H

#define TRAIN_RESTART 2          /* train_run's return: save done, re-execute me */
/* The exit status of a data-parallel job that stopped for a restart instead (a rank
 * cannot re-execute itself under mpirun): run it again with --resume. EX_TEMPFAIL. */
#define TRAIN_EXIT_RELAUNCH 75
#define RESTART_ENV "ANETRAIN_RESTART"

struct restart_state {
    long restarts;               /* processes restarted so far */
    long step;                   /* the step the checkpoint holds */
    long end;                    /* the step the run stops at (--stop-after counted once) */
    long steps, skipped, compiles;
    double wall_ms, startup_ms, compile_ms, tokens, flops, first_loss, last_loss;
};

/* 1 and *s filled when the variable is present and well formed, 0 when absent, -1 when
 * malformed (e says which field). The variable is removed either way, so it is only
 * ever read by the process it was written for. */
int restart_state_take(struct restart_state *s, struct ant_err *e);
int restart_state_put(const struct restart_state *s);

#endif
