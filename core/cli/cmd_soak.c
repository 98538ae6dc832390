/* `anetrain soak`: train the configured model for a set time and judge the run, the way
 * a user leaving a Mac training overnight wants to know it will hold (issue: M1/M2
 * reliability). The training runs as a child `anetrain train` (so its own restarts for
 * the compile budget happen as in a real run), is stopped by SIGALRM when the time is
 * up (it saves, like any stop signal), and the verdict comes from its report and its
 * peak memory. */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"
#include "cli/commands.h"

static const char usage[] =
    "usage: anetrain soak --minutes M [criteria] [train options]\n"
    "Train as `anetrain train` would for M minutes (a fraction is fine), stop it cleanly, and\n"
    "print a verdict: uptime, steps, non-finite steps, backend fallbacks, restarts, kernel\n"
    "compiles, peak memory, tokens/s. Exits 0 when every criterion holds, 1 otherwise.\n"
    "\n"
    "  --minutes M            how long to train (required)\n"
    "  --max-skipped N        most steps whose update was refused as non-finite (default 0)\n"
    "  --max-switches N       most backend fallbacks (default 0)\n"
    "  --min-tokens-per-s X   least throughput (default 0: not checked)\n"
    "  --max-memory-mb X      most peak resident memory (default 0: not checked)\n"
    "Every other option goes to `anetrain train` (see `anetrain train --help`).\n";

struct verdict {
    long steps, skipped, switches, restarts, compiles;
    double tokens_per_s, peak_mb, uptime_s;
    int status;                 /* the child's exit status, -1 killed */
    char report[65536];         /* the child's output, its last 64 KB */
};

/* Run argv, tee its output to our stderr, send SIGALRM after `seconds`. */
static int run_child(char **argv, double seconds, struct verdict *v)
{
    int fd[2];
    if (pipe(fd)) return -1;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        dup2(fd[1], 1), dup2(fd[1], 2);
        close(fd[0]), close(fd[1]);
        execv("/proc/self/exe", argv);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fd[1]);
    double t0 = ant_now_ms(), deadline = t0 + seconds * 1e3;
    size_t len = 0;
    int alarmed = 0;
    for (;;) {
        int wait_ms = alarmed ? -1 : (int)(deadline - ant_now_ms());
        struct pollfd p = {fd[0], POLLIN, 0};
        if (!alarmed && wait_ms <= 0) {
            kill(pid, SIGALRM);   /* a stop signal: the trainer finishes the step and saves */
            alarmed = 1;
            continue;
        }
        if (poll(&p, 1, wait_ms) < 0 && errno != EINTR) break;
        if (!(p.revents & (POLLIN | POLLHUP))) continue;
        char buf[4096];
        ssize_t n = read(fd[0], buf, sizeof buf);
        if (n <= 0) break;
        if (fwrite(buf, 1, (size_t)n, stderr)) {}
        if (len + (size_t)n >= sizeof v->report) {   /* keep the tail: the report is last */
            size_t drop = len + (size_t)n - sizeof v->report + 1;
            memmove(v->report, v->report + drop, len - drop);
            len -= drop;
        }
        memcpy(v->report + len, buf, (size_t)n);
        len += (size_t)n;
    }
    v->report[len] = 0;
    close(fd[0]);
    int st;
    struct rusage ru;
    if (wait4(pid, &st, 0, &ru) < 0) return -1;
    v->uptime_s = (ant_now_ms() - t0) / 1e3;
#ifdef __APPLE__
    v->peak_mb = ru.ru_maxrss / 1048576.0;   /* bytes on macOS */
#else
    v->peak_mb = ru.ru_maxrss / 1024.0;      /* kilobytes on Linux */
#endif
    v->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return 0;
}

static double field(const char *report, const char *label)
{
    const char *p = NULL, *q = report;
    while ((q = strstr(q, label))) p = q++;   /* the last one: the final report */
    return p ? atof(p + strlen(label)) : 0;
}

static void parse(struct verdict *v)
{
    v->steps = (long)field(v->report, "\nsteps            ");
    const char *s = strstr(v->report, " applied, ");
    v->skipped = s ? atol(s + 10) : 0;
    v->tokens_per_s = field(v->report, "\ntokens/s         ");
    v->restarts = (long)field(v->report, "\nrestarts         ");
    v->compiles = (long)field(v->report, "\nkernel compiles  ");
    v->switches = (long)field(v->report, "\nbackend switches: ");
}

int cmd_soak(int argc, char **argv)
{
    double minutes = -1, min_tps = 0, max_mb = 0;
    long max_skipped = 0, max_switches = 0;
    char **child = calloc((size_t)argc + 3, sizeof *child);
    int n = 0;
    if (!child) return fail("soak", "out of memory");
    child[n++] = "anetrain", child[n++] = "train";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return fputs(usage, stdout), free(child), 0;
        double *d = !strcmp(a, "--minutes") ? &minutes : !strcmp(a, "--min-tokens-per-s") ? &min_tps
                  : !strcmp(a, "--max-memory-mb") ? &max_mb : NULL;
        long *l = !strcmp(a, "--max-skipped") ? &max_skipped : !strcmp(a, "--max-switches") ? &max_switches : NULL;
        if ((d || l) && !val) return free(child), fail("soak", "an option is missing its value (see anetrain soak --help)");
        if (d) *d = atof(val), i++;
        else if (l) *l = atol(val), i++;
        else child[n++] = argv[i];
    }
    if (!(minutes > 0)) return free(child), fail("soak", "--minutes M (> 0) is required");
    struct verdict *v = calloc(1, sizeof *v);
    if (!v || run_child(child, minutes * 60, v)) return free(child), free(v), fail("soak", "cannot run the trainer");
    parse(v);
    char why[512] = "";
    size_t w = 0;
#define CRIT(cond, ...) if (cond) w += (size_t)snprintf(why + w, sizeof why - w, __VA_ARGS__)
    CRIT(v->status != 0, "; the trainer exited with status %d", v->status);
    CRIT(v->steps == 0, "; no step was applied");
    CRIT(v->skipped > max_skipped, "; %ld non-finite steps > %ld", v->skipped, max_skipped);
    CRIT(v->switches > max_switches, "; %ld fallbacks > %ld", v->switches, max_switches);
    CRIT(min_tps > 0 && v->tokens_per_s < min_tps, "; %.0f tokens/s < %.0f", v->tokens_per_s, min_tps);
    CRIT(max_mb > 0 && v->peak_mb > max_mb, "; peak memory %.0f MB > %.0f", v->peak_mb, max_mb);
#undef CRIT
    printf("soak: %s: uptime %.0f s, %ld steps (%ld skipped as non-finite), %ld backend fallbacks, "
           "%ld restarts, %ld kernel compiles, peak memory %.0f MB, %.0f tokens/s%s%s\n",
           *why ? "FAIL" : "PASS", v->uptime_s, v->steps, v->skipped, v->switches, v->restarts,
           v->compiles, v->peak_mb, v->tokens_per_s, *why ? ": " : "", *why ? why + 2 : "");
    int rc = *why ? 1 : 0;
    free(child);
    free(v);
    return rc;
}
