/* `anetrain plot LOG -o FILE.png|svg`: the metrics log as a picture (train/plot.h). */
#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "train/plot.h"

static const char usage[] =
    "usage: anetrain plot [LOG] -o FILE.png|FILE.svg [--width W] [--height H]\n"
    "Draw a run's metrics log (default anetrain.ckpt.log.jsonl): training and validation\n"
    "loss against steps, and tokens/s. PNG or SVG by the name's ending; written\n"
    "atomically, so a viewer that reloads it never sees half a picture.\n"
    "\n"
    "  -o, --out FILE     the picture to write\n"
    "  --width W          pixels (default 1000)\n"
    "  --height H         pixels (default 700)\n";

int cmd_plot(int argc, char **argv)
{
    enum { OPT_W = 1000, OPT_H, OPT_HELP_PLOT };
    static const struct option opts[] = {
        {"out", required_argument, 0, 'o'},
        {"width", required_argument, 0, OPT_W},
        {"height", required_argument, 0, OPT_H},
        {"help", no_argument, 0, OPT_HELP_PLOT},
        {0, 0, 0, 0},
    };
    const char *out = NULL;
    long w = 0, h = 0;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case OPT_W:
        case OPT_H:
            if (cli_parse_long(optarg, 50, 20000, c == OPT_W ? &w : &h) < 0)
                return fail("plot", c == OPT_W ? "--width: expected 50..20000 pixels"
                                               : "--height: expected 50..20000 pixels");
            break;
        case OPT_HELP_PLOT: fputs(usage, stdout); return 0;
        case ':':
            fprintf(stderr, "anetrain plot: option '%s' needs a value\nTry 'anetrain plot --help'.\n",
                    argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "anetrain plot: unknown option '%s'\nTry 'anetrain plot --help'.\n",
                    argv[optind - 1]);
            return 2;
        }
    }
    if (optind + 1 < argc) return fail("plot", "give one metrics log");
    const char *log = optind < argc ? argv[optind] : "anetrain.ckpt.log.jsonl";
    if (!out) return fail("plot", "give -o FILE.png or -o FILE.svg");
    struct ant_err e;
    if (plot_log(log, out, (int)w, (int)h, &e) < 0) return fail("plot", e.msg);
    printf("%s\n", out);
    return 0;
}
