#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "formats/llama2c.h"
#include "formats/model_io.h"

static const char usage[] =
    "usage: anetrain export --format llama2c (--ckpt FILE | --model FILE) --out FILE\n"
    "Write a model as llama2.c's model.bin (legacy version 0), e.g. to sample it with\n"
    "llama2.c's run.c. The file is written atomically.\n";

enum { OPT_FORMAT = 1, OPT_MODEL, OPT_CKPT_IN, OPT_OUT, OPT_HELP_EXPORT };

int cmd_export(int argc, char **argv)
{
    static const struct option opts[] = {
        {"format", required_argument, 0, OPT_FORMAT},
        {"model", required_argument, 0, OPT_MODEL},
        {"ckpt", required_argument, 0, OPT_CKPT_IN},
        {"out", required_argument, 0, OPT_OUT},
        {"help", no_argument, 0, OPT_HELP_EXPORT},
        {0, 0, 0, 0},
    };
    const char *format = "llama2c", *in = NULL, *out = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case OPT_FORMAT: format = optarg; break;
        case OPT_MODEL:
        case OPT_CKPT_IN: in = optarg; break;
        case OPT_OUT: out = optarg; break;
        case OPT_HELP_EXPORT: fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return 2;
        }
    }
    if (strcmp(format, "llama2c") != 0)
        return fail("export", "--format: only llama2c is supported");
    if (!in || !out) return fail("export", "give --ckpt FILE (or --model FILE) and --out FILE");
    struct ant_train_state s;
    struct ant_err e;
    if (model_load(in, &s, &e) < 0) return fail("export", e.msg);
    int status = llama2c_write(out, &s.model, s.weights, &e) < 0 ? fail("export", e.msg) : 0;
    state_free(&s);
    return status;
}
