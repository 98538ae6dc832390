/* Re-executing the program (reexec.h). The program's own file: /proc/self/exe on Linux,
 * _NSGetExecutablePath on macOS, else argv[0] looked up in PATH. */
#include <config.h>

#include "cli/reexec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __APPLE__
#include <mach-o/dyld.h>
#endif

static char **saved;
static int n_saved;

void reexec_init(int argc, char **argv)
{
    saved = calloc((size_t)argc + 2, sizeof *saved);   /* room for --resume and NULL */
    if (!saved) return;
    memcpy(saved, argv, (size_t)argc * sizeof *saved);
    n_saved = argc;
}

int reexec_resume(struct ant_err *e)
{
    if (!saved) return ant_errf(e, "the program's arguments were not recorded");
    int has = 0;
    for (int i = 1; i < n_saved; i++) has |= !strcmp(saved[i], "--resume");
    if (!has) saved[n_saved] = "--resume";
    /* train_run left the stop signals blocked (train.c, block_stop_signals): the mask
     * survives the exec, so one arriving now waits for the new image's handlers. */
#if defined(__linux__)
    execv("/proc/self/exe", saved);
#elif defined(__APPLE__)
    char path[4096];
    uint32_t size = sizeof path;
    if (_NSGetExecutablePath(path, &size) == 0) execv(path, saved);
#endif
    execvp(saved[0], saved);
    return ant_errf(e, "cannot execute %s: %s", saved[0], strerror(errno));
}
