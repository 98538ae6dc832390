/* Re-executing anetrain with its own arguments plus --resume, for a run that must go on
 * in a fresh process (train/restart.h). */
#ifndef ANT_REEXEC_H
#define ANT_REEXEC_H

#include "base/util.h"

/* Remember the program's arguments (call first thing in main). */
void reexec_init(int argc, char **argv);
/* Replace this process with anetrain run with the same arguments and --resume. Returns
 * only on failure, with the reason in e. */
int reexec_resume(struct ant_err *e);

#endif
