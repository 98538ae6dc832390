/* Command-line handling shared by the subcommands: the run-config flags every command
 * accepts (--config, --preset, --backend, ...) and the usage text for them. */
#ifndef ANT_CLI_H
#define ANT_CLI_H

#include <getopt.h>

#include "config/config.h"
#include "base/util.h"

/* Options every run-config command understands; codes start at 1000. Append these to a
 * command's own getopt_long table with cli_config_options(). */
enum {
    OPT_CONFIG = 1000, OPT_PRESET, OPT_BACKEND, OPT_CHIP, OPT_OS, OPT_STRICT, OPT_THREADS,
    OPT_SEED, OPT_DATA, OPT_CKPT, OPT_PLUGIN_PATH, OPT_HELP, OPT_CLI_LAST
};

#define CLI_CONFIG_OPTIONS \
    {"config", required_argument, 0, OPT_CONFIG},          \
    {"preset", required_argument, 0, OPT_PRESET},          \
    {"backend", required_argument, 0, OPT_BACKEND},        \
    {"chip", required_argument, 0, OPT_CHIP},              \
    {"os", required_argument, 0, OPT_OS},                  \
    {"strict", no_argument, 0, OPT_STRICT},                \
    {"threads", required_argument, 0, OPT_THREADS},        \
    {"seed", required_argument, 0, OPT_SEED},              \
    {"data", required_argument, 0, OPT_DATA},              \
    {"ckpt", required_argument, 0, OPT_CKPT},              \
    {"plugin-path", required_argument, 0, OPT_PLUGIN_PATH},\
    {"help", no_argument, 0, OPT_HELP}

#define CLI_CONFIG_USAGE \
    "  --config FILE      libconfig file read over the defaults (see anetrain.cfg.sample)\n" \
    "  --preset NAME      start from a preset: tiny (default), stories15M, stories42M, stories110M\n" \
    "  --backend NAME     backend to use (auto, cpu, ...); overrides the config\n" \
    "  --chip NAME        force a chip profile (M1 .. M5, \"M4 Pro\", unknown, none)\n" \
    "  --os VERSION       force the macOS version the profile is for (\"15.6\", \"26.3\")\n" \
    "  --strict           never fall back to another backend\n" \
    "  --threads N        CPU threads (0 = all cores)\n" \
    "  --seed S           random seed for init and data order\n" \
    "  --data PATH        training data: .bin of uint16 tokens, or a text file\n" \
    "  --ckpt PATH        checkpoint file\n" \
    "  --plugin-path DIR  look for backend modules in DIR first\n" \
    "  --help             this text\n"

/* Flags are collected first and applied after the files, so flags > config > defaults
 * whatever their order on the line. */
struct cli_config_flags {
    const char *config, *preset, *backend, *chip, *os, *data, *ckpt, *plugin_path;
    const char *threads, *seed;
    int strict;
};

/* The option loop of a run-config command: returns the next code that is the
 * command's own (its argument in optarg), taking config flags into f on the way; -1 at
 * the end of the options or when the command should stop, with *status set to 0 after
 * --help (usage printed) or 2 after a bad option or argument (said on stderr). Start with
 * *status = -1 and optind = 1; *status stays -1 when the options ended normally. */
int cli_next_option(int argc, char **argv, const struct option *opts,
                    struct cli_config_flags *f, const char *usage, int *status);
/* defaults <- preset <- config file <- flags <- environment (ANETRAIN_BACKEND,
 * ANETRAIN_CHIP, ANETRAIN_OS only where no flag was given), then validate. */
int cli_build_config(struct ant_run_config *rc, const struct cli_config_flags *f,
                     struct ant_err *e);

/* Strict number parsing: the whole string must be the number. */
int cli_parse_long(const char *s, long lo, long hi, long *out);
int cli_parse_double(const char *s, double *out);

#endif
