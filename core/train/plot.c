/* Plots of the metrics log with PLplot (plot.h). Two panels sharing the step axis:
 * training loss (and validation loss as points joined by a line) above, tokens/s below. */
#include <config.h>

#include "train/plot.h"

#include <string.h>

#include "base/fileio.h"

#if defined(HAVE_PLPLOT) && defined(HAVE_JANSSON)
#include <errno.h>
#include <math.h>
#include <plplot.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "train/metrics_read.h"

int plot_available(void) { return 1; }

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

static void range(const struct ant_series *s, double *lo, double *hi)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->y[i] < *lo) *lo = s->y[i];
        if (s->y[i] > *hi) *hi = s->y[i];
    }
}

/* One panel: the viewport [ylo, yhi] of the page, axes, labels, the series. */
static void panel(double ylo, double yhi, double x0, double x1, double lo, double hi,
                  const char *xlabel, const char *ylabel, const char *title)
{
    if (!(hi > lo)) hi = lo + 1;
    double pad = 0.05 * (hi - lo);
    plvpor(0.1, 0.95, ylo, yhi);
    plwind(x0, x1, lo - pad, hi + pad);
    plcol0(15);
    plbox("bcnstg", 0, 0, "bcnstvg", 0, 0);
    pllab(xlabel, ylabel, title);
}

static void draw(const struct ant_runlog *l, const char *name)
{
    double x0 = 0, x1 = 1;
    if (l->loss.n) x0 = l->loss.x[0], x1 = l->loss.x[l->loss.n - 1];
    if (l->steps > x1) x1 = (double)l->steps;
    if (!(x1 > x0)) x1 = x0 + 1;
    double lo = INFINITY, hi = -INFINITY;
    range(&l->loss, &lo, &hi);
    range(&l->val, &lo, &hi);
    if (!isfinite(lo)) lo = 0, hi = 1;
    char title[ANT_PATH_MAX + 64];
    snprintf(title, sizeof title, "%s: loss (training blue, validation red)", name);
    panel(0.47, 0.92, x0, x1, lo, hi, "", "loss", title);
    plcol0(9);    /* blue */
    if (l->loss.n) plline((PLINT)l->loss.n, l->loss.x, l->loss.y);
    plcol0(1);    /* red */
    if (l->val.n) {
        plline((PLINT)l->val.n, l->val.x, l->val.y);
        plpoin((PLINT)l->val.n, l->val.x, l->val.y, 17);
    }
    lo = INFINITY, hi = -INFINITY;
    range(&l->tps, &lo, &hi);
    if (!isfinite(lo)) lo = 0, hi = 1;
    panel(0.09, 0.34, x0, x1, lo < 0 ? lo : 0, hi, "step", "tokens/s", "throughput");
    plcol0(3);    /* green */
    if (l->tps.n) plline((PLINT)l->tps.n, l->tps.x, l->tps.y);
}

/* Whether PLplot has the driver. Asked first because plinit on a missing one prompts on
 * the terminal for another, and then exits the process. */
static int has_driver(const char *name)
{
    const char *menu_buf[64], *devs_buf[64], **menu = menu_buf, **devs = devs_buf;
    int n = 64;
    plgDevs(&menu, &devs, &n);   /* fills the arrays it is pointed at, n = how many */
    for (int i = 0; i < n; i++)
        if (devs[i] && !strcmp(devs[i], name)) return 1;
    return 0;
}

/* Draw into path in a child process: PLplot keeps global state, exits the process on
 * some errors, and its cairo driver starts pango's threads and caches fonts for the
 * life of the process; none of that may touch a trainer. */
static int render(const struct ant_runlog *l, const char *name, int svg, const char *path,
                  int width, int height, struct ant_err *e)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return ant_errf(e, "%s: cannot start the plotter: %s", path, strerror(errno));
    if (pid == 0) {
        /* the trainer's "stop" handlers are not the plotter's: a Ctrl-C just ends it */
        static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM};
        for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) signal(sigs[i], SIG_DFL);
        char geometry[32];
        snprintf(geometry, sizeof geometry, "%dx%d", width > 0 ? width : 1000,
                 height > 0 ? height : 700);
        plsdev(svg ? "svg" : "pngcairo");
        plsfnam(path);
        plsetopt("geometry", geometry);
        plscolbg(255, 255, 255);
        plscol0(15, 0, 0, 0);
        plinit();
        pladv(0);
        draw(l, name);
        plend();
        _exit(0);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return 0;
    return ant_errf(e, "%s: PLplot failed (%s %d)", path, WIFEXITED(st) ? "exit status" : "signal",
                    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}

int plot_log(const char *log_path, const char *out, int width, int height, struct ant_err *e)
{
    int svg = ends_with(out, ".svg");
    if (!svg && !ends_with(out, ".png"))
        return ant_errf(e, "%s: the plot's name must end in .png or .svg", out);
    if (file_check_output(out, "plot", e) < 0) return -1;
    if (!has_driver(svg ? "svg" : "pngcairo"))
        return ant_errf(e, "%s: PLplot has no %s driver here (install %s)", out,
                        svg ? "svg" : "pngcairo", svg ? "libplplot17" : "plplot-driver-cairo");
    struct ant_runlog l;
    runlog_init(&l);
    if (runlog_update(&l, log_path, e) < 0) return -1;
    if (l.lines == 0 || l.bad_lines == l.lines) {
        runlog_free(&l);
        return ant_errf(e, "%s: no metrics in this file (expected JSON lines from `anetrain "
                           "train`)", log_path);
    }
    /* PLplot writes straight to the file; a temp name renamed at the end keeps a reader
     * (an image viewer reloading it) from ever seeing half a picture. */
    struct ant_atomic_file a;
    if (atomic_open(&a, out, e) < 0) {
        runlog_free(&l);
        return -1;
    }
    const char *base = strrchr(log_path, '/');
    int rc = render(&l, base ? base + 1 : log_path, svg, a.tmp, width, height, e);
    runlog_free(&l);
    if (rc < 0) {
        atomic_abort(&a);
        return -1;
    }
    return atomic_commit(&a, 0, e);
}

#else

int plot_available(void) { return 0; }

int plot_log(const char *log_path, const char *out, int width, int height, struct ant_err *e)
{
    (void)log_path, (void)out, (void)width, (void)height;
    return ant_errf(e, "plotting is not built in: install libplplot-dev, plplot-driver-cairo "
                       "and libjansson-dev, then run configure again");
}

#endif
