/* anetrain: train Llama2-family transformers on the Apple Neural Engine or the CPU. */
#include <config.h>

#include <anetrain/backend.h>
#include <ltdl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/reexec.h"
#include "dispatch/cpufeat.h"
#include "base/util.h"

static const char usage[] =
    "usage: anetrain COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  train      train a model (default: the tiny model on the embedded corpus)\n"
    "  sample     generate text from a checkpoint or any model anetrain reads\n"
    "  eval       mean loss of a model on a data file\n"
    "  export     write a model as llama2.c's model.bin or a Hugging Face folder\n"
    "  tokenize   pretokenize a text file with a tokenizer.bin\n"
    "  vocab      train a BPE vocabulary on a text file (tokenizer.bin)\n"
    "  soak       train for a set time and judge the run (uptime, faults, memory)\n"
    "  backends   list the backend modules, their probes and the one auto picks\n"
    "  doctor     chip, profile, plugin path and a self-test of each usable backend\n"
    "  mil        check or run a MIL program on the ANE emulator\n"
    "\n"
    "'anetrain COMMAND --help' describes a command's options.\n"
    "Environment: ANETRAIN_BACKEND, ANETRAIN_CHIP, ANETRAIN_OS, ANETRAIN_PLUGIN_PATH,\n"
    "ANETRAIN_VERBOSE.\n";

int fail(const char *cmd, const char *msg)
{
    fprintf(stderr, "anetrain %s: %s\n", cmd, msg);
    return 1;
}

int main(int argc, char **argv)
{
    /* Before OpenBLAS is first used: may re-exec with a better kernel choice. */
    reexec_init(argc, argv);
    blas_env_prepare(argv);
    LTDL_SET_PRELOADED_SYMBOLS();
    if (getenv("ANETRAIN_VERBOSE")) ant_log_level = ANT_LOG_DEBUG;

    static const struct {
        const char *name;
        int (*run)(int, char **);
    } cmds[] = {
        {"train", cmd_train},       {"sample", cmd_sample}, {"eval", cmd_eval},
        {"export", cmd_export},     {"backends", cmd_backends}, {"doctor", cmd_doctor},
        {"mil", ane_mil_main},      {"tokenize", cmd_tokenize}, {"vocab", cmd_vocab}, {"soak", cmd_soak},
    };
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        fputs(usage, stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("%s\n", PACKAGE_STRING);
        return 0;
    }
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (!strcmp(argv[1], cmds[i].name)) return cmds[i].run(argc - 1, argv + 1);
    fprintf(stderr, "anetrain: unknown command '%s'\n\n%s", argv[1], usage);
    return 2;
}
