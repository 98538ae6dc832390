#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "formats/ckpt.h"
#include "formats/llama2c.h"
#include "formats/model_io.h"

static const char usage[] =
    "usage: anetrain export --format llama2c [--ckpt FILE | --model FILE] --out FILE\n"
    "Write a model as llama2.c's model.bin (legacy version 0), e.g. to sample it with\n"
    "llama2.c's run.c. The file is written atomically. --ckpt defaults to anetrain.ckpt;\n"
    "--out never replaces a checkpoint.\n";

enum { OPT_FORMAT = 1, OPT_MODEL, OPT_CKPT_IN, OPT_OUT, OPT_HELP_EXPORT };

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/* --out must not replace a checkpoint (its moments and run record would be lost for a
 * model.bin): not the input, not a file holding a checkpoint, not a checkpoint's name. */
static int check_out(const char *in, const char *out, struct ant_err *e)
{
    char *ri = realpath(in, NULL), *ro = realpath(out, NULL);
    int same = ri && ro && !strcmp(ri, ro);
    free(ri);
    free(ro);
    if (same || !strcmp(in, out))
        return ant_errf(e, "--out %s: is the model being exported; choose another name", out);
    struct ant_ckpt_info info;
    struct ant_err pe;
    if (ckpt_peek(out, &info, &pe) == 0)
        return ant_errf(e, "--out %s: holds an anetrain checkpoint (step %ld) that export "
                           "would replace with a model.bin; choose another name", out, info.step);
    if (ends_with(out, ".ckpt") || ends_with(out, ".ckpt.prev") || ends_with(out, ".ckpt.best"))
        return ant_errf(e, "--out %s: a checkpoint's name, but export writes a llama2.c "
                           "model.bin; choose another name (model.bin)", out);
    return 0;
}

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
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (c) {
        case OPT_FORMAT: format = optarg; break;
        case OPT_MODEL:
        case OPT_CKPT_IN: in = optarg; break;
        case OPT_OUT: out = optarg; break;
        case OPT_HELP_EXPORT: fputs(usage, stdout); return 0;
        default:
            fprintf(stderr, "anetrain export: %s '%s'\nTry 'anetrain export --help'.\n",
                    c == ':' ? "option needs a value:" : "unknown option", argv[optind - 1]);
            return 2;
        }
    }
    if (strcmp(format, "llama2c") != 0)
        return fail("export", "--format: only llama2c is supported");
    if (!in) in = "anetrain.ckpt";
    if (!out) return fail("export", "give --out FILE (and --ckpt FILE, default anetrain.ckpt)");
    struct ant_train_state s;
    struct ant_err e;
    if (check_out(in, out, &e) < 0) return fail("export", e.msg);
    if (model_load(in, &s, &e) < 0) return fail("export", e.msg);
    int status = llama2c_write(out, &s.model, s.weights, &e) < 0 ? fail("export", e.msg) : 0;
    state_free(&s);
    return status;
}
