/* Re-executing the program (reexec.h). The program's own file: /proc/self/exe on Linux,
 * _NSGetExecutablePath on macOS, else argv[0] looked up in PATH. */
#include <config.h>

#include "cli/reexec.h"

#include <errno.h>
#include <signal.h>
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
    /* A stop signal arriving between exec and the new image's handlers would kill it
     * (exec resets handlers to the default): block them; the mask survives exec, and
     * the trainer unblocks them once its handlers are in place, so a pending one is
     * then handled as a stop. */
    sigset_t stop;
    sigemptyset(&stop);
    int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGXCPU};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaddset(&stop, sigs[i]);
    sigprocmask(SIG_BLOCK, &stop, NULL);
#if defined(__linux__)
    execv("/proc/self/exe", saved);
#elif defined(__APPLE__)
    char path[4096];
    uint32_t size = sizeof path;
    if (_NSGetExecutablePath(path, &size) == 0) execv(path, saved);
#endif
    execvp(saved[0], saved);
    int err = errno;
    sigprocmask(SIG_UNBLOCK, &stop, NULL);
    return ant_errf(e, "cannot execute %s: %s", saved[0], strerror(err));
}
