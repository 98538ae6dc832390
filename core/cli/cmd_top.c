/* `anetrain top [LOG]`: a live view of a run in the terminal, from its metrics log
 * (train/metrics_read.h), with curses: figures, the loss curve, backend, fallbacks,
 * device share and compiles on ANE backends, the latest sample. It only reads the log,
 * so it works over ssh, on a run started elsewhere, and after the run has ended. */
#include <config.h>

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"

static const char usage[] =
    "usage: anetrain top [LOG] [--interval S]\n"
    "Watch a run's metrics log (default anetrain.ckpt.log.jsonl) live: loss curve,\n"
    "throughput, backend and fallbacks, device share and compiles, the latest sample.\n"
    "q quits.\n"
    "\n"
    "  --interval S       seconds between refreshes (default 1)\n";

#if defined(HAVE_CURSES) && defined(HAVE_JANSSON)
#include <curses.h>
#include <math.h>

#include "train/metrics_read.h"

/* The loss curve in a box of w x h cells: each column the mean training loss of its
 * steps ('*'), validation points ('o'), y labels on the left. */
static void curve(const struct ant_runlog *l, int top, int w, int h)
{
    const struct ant_series *s = &l->loss;
    if (s->n < 2 || w < 20 || h < 4) return;
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < s->n; i++) lo = fmin(lo, s->y[i]), hi = fmax(hi, s->y[i]);
    for (size_t i = 0; i < l->val.n; i++) lo = fmin(lo, l->val.y[i]), hi = fmax(hi, l->val.y[i]);
    if (!(hi > lo)) hi = lo + 1e-3;
    double x0 = s->x[0], x1 = s->x[s->n - 1] > x0 ? s->x[s->n - 1] : x0 + 1;
    int cols = w - 9;
    for (int r = 0; r < h; r += h - 1 > 0 ? h - 1 : 1)
        mvprintw(top + r, 0, "%7.3f |", hi - (hi - lo) * r / (h - 1));
    for (int r = 1; r < h - 1; r++) mvprintw(top + r, 0, "        |");
    for (int c = 0; c < cols; c++) {
        double sum = 0;
        int n = 0;
        for (size_t i = 0; i < s->n; i++) {
            int col = (int)((s->x[i] - x0) / (x1 - x0) * (cols - 1) + 0.5);
            if (col == c) sum += s->y[i], n++;
        }
        if (!n) continue;
        int r = (int)((hi - sum / n) / (hi - lo) * (h - 1) + 0.5);
        mvaddch(top + r, 9 + c, '*');
    }
    for (size_t i = 0; i < l->val.n; i++) {
        int c = (int)((l->val.x[i] - x0) / (x1 - x0) * (cols - 1) + 0.5);
        int r = (int)((hi - l->val.y[i]) / (hi - lo) * (h - 1) + 0.5);
        if (c >= 0 && c < cols && r >= 0 && r < h) mvaddch(top + r, 9 + c, 'o');
    }
    mvprintw(top + h, 9, "step %.0f%*s%.0f", x0, cols - 12 > 0 ? cols - 12 : 1, "", x1);
}

static void frame(const struct ant_runlog *l, const char *log, const char *err)
{
    int H, W;
    getmaxyx(stdscr, H, W);
    erase();
    mvprintw(0, 0, "anetrain top  %.*s  (q quits)", W > 30 ? W - 30 : 10, log);
    if (err) mvprintw(1, 0, "%.*s", W, err);
    if (l->lines == 0) {
        mvprintw(2, 0, "waiting for the run's first line...");
        refresh();
        return;
    }
    mvprintw(2, 0, "step %ld/%ld%s | loss %.4f | val %.4f | lr %.2e | grad norm %.3f",
             l->step, l->steps, l->finished ? " (finished)" : "", l->loss_now, l->val_loss,
             l->lr, l->grad_norm);
    mvprintw(3, 0, "%.0f tok/s | %.1f ms/step | backend %s | switches %d | restarts %d | "
             "rollbacks %d", l->tokens_per_s, l->ms_per_step, l->backend, l->switches,
             l->restarts, l->rollbacks);
    int row = 4;
    if (isfinite(l->device_share) || isfinite(l->loss_scale)) {
        mvprintw(row++, 0, "device share %.0f%% | compiles %ld | evals %ld | loss scale %g",
                 isfinite(l->device_share) ? 100 * l->device_share : 0, l->compiles, l->evals,
                 isfinite(l->loss_scale) ? l->loss_scale : 0);
    }
    if (l->last_switch[0]) mvprintw(row++, 0, "last switch: %.*s", W - 14, l->last_switch);
    if (l->ckpt[0]) mvprintw(row++, 0, "checkpoint: %.*s", W - 12, l->ckpt);
    int sample_rows = l->sample[0] ? 4 : 0;
    curve(l, row + 1, W, H - row - 3 - sample_rows);
    if (sample_rows) {
        mvprintw(H - sample_rows, 0, "latest sample:");
        char flat[sizeof l->sample];
        size_t k = 0;
        for (const char *p = l->sample; *p && k + 1 < sizeof flat; p++)
            flat[k++] = *p == '\n' || *p == '\t' ? ' ' : *p;
        flat[k] = 0;
        for (int r = 0; r < sample_rows - 1 && (size_t)(r * W) < k; r++)
            mvprintw(H - sample_rows + 1 + r, 0, "%.*s", W, flat + (size_t)r * W);
    }
    refresh();
}

int cmd_top(int argc, char **argv)
{
    enum { OPT_INTERVAL = 1000, OPT_HELP_TOP };
    static const struct option opts[] = {
        {"interval", required_argument, 0, OPT_INTERVAL},
        {"help", no_argument, 0, OPT_HELP_TOP},
        {0, 0, 0, 0},
    };
    double interval = 1;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (c == OPT_HELP_TOP) {
            fputs(usage, stdout);
            return 0;
        }
        if (c == OPT_INTERVAL && cli_parse_double(optarg, &interval) == 0 && interval >= 0.05)
            continue;
        if (c == OPT_INTERVAL) return fail("top", "--interval: expected seconds >= 0.05");
        fprintf(stderr, "anetrain top: %s '%s'\nTry 'anetrain top --help'.\n",
                c == ':' ? "option needs a value:" : "unknown option", argv[optind - 1]);
        return 2;
    }
    if (optind + 1 < argc) return fail("top", "give one metrics log");
    const char *log = optind < argc ? argv[optind] : "anetrain.ckpt.log.jsonl";
    struct ant_runlog l;
    struct ant_err e;
    runlog_init(&l);
    if (runlog_update(&l, log, &e) < 0) return fail("top", e.msg);
    initscr();
    cbreak();
    noecho();
    curs_set(0);
    timeout((int)(interval * 1000));
    for (;;) {
        int err = runlog_update(&l, log, &e) < 0;
        frame(&l, log, err ? e.msg : NULL);
        int key = getch();
        if (key == 'q' || key == 'Q') break;
    }
    endwin();
    runlog_free(&l);
    return 0;
}

#else

int cmd_top(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--help")) {
        fputs(usage, stdout);
        return 0;
    }
    return fail("top", "not built in: it needs ncurses and jansson (install libncurses-dev "
                       "and libjansson-dev, then run configure again)");
}

#endif
