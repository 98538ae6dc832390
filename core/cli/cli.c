#include "cli/cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch/chip.h"

int cli_parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

int cli_parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

static int take_config_flag(struct cli_config_flags *f, int code, const char *arg)
{
    switch (code) {
    case OPT_CONFIG: f->config = arg; return 1;
    case OPT_PRESET: f->preset = arg; return 1;
    case OPT_BACKEND: f->backend = arg; return 1;
    case OPT_CHIP: f->chip = arg; return 1;
    case OPT_OS: f->os = arg; return 1;
    case OPT_STRICT: f->strict = 1; return 1;
    case OPT_THREADS: f->threads = arg; return 1;
    case OPT_SEED: f->seed = arg; return 1;
    case OPT_DATA: f->data = arg; return 1;
    case OPT_CKPT: f->ckpt = arg; return 1;
    case OPT_PLUGIN_PATH: f->plugin_path = arg; return 1;
    default: return 0;
    }
}

int cli_next_option(int argc, char **argv, const struct option *opts,
                    struct cli_config_flags *f, const char *usage, int *status)
{
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == OPT_HELP) {
            fputs(usage, stdout);
            *status = 0;
            return -1;
        }
        if (c == '?') break;
        if (!take_config_flag(f, c, optarg)) return c;
    }
    if (c == '?' || (c == -1 && optind < argc)) {
        /* getopt has said what was wrong with an option; one line of help, not the page */
        if (c == -1) fprintf(stderr, "anetrain %s: unexpected argument '%s'\n", argv[0], argv[optind]);
        fprintf(stderr, "Try 'anetrain %s --help'.\n", argv[0]);
        *status = 2;
    }
    return -1;
}

static int copy_flag(char *dst, size_t cap, const char *src, const char *flag, struct ant_err *e)
{
    if (strlen(src) >= cap) return ant_errf(e, "%s: value too long", flag);
    strcpy(dst, src);
    return 0;
}

int cli_build_config(struct ant_run_config *rc, const struct cli_config_flags *f,
                     struct ant_err *e)
{
    config_defaults(rc);
    if (f->preset) {
        const char *text = config_preset(f->preset);
        if (!text)
            return ant_errf(e, "--preset %s: unknown preset (tiny, stories15M, stories42M, "
                               "stories110M)", f->preset);
        if (config_load_string(rc, text, f->preset, e) < 0) return -1;
    }
    if (f->config && config_load(rc, f->config, e) < 0) return -1;

    const char *backend = f->backend ? f->backend : getenv("ANETRAIN_BACKEND");
    const char *chip = f->chip ? f->chip : getenv("ANETRAIN_CHIP");
    if (backend && *backend &&
        copy_flag(rc->be.backend, sizeof rc->be.backend, backend, "--backend", e) < 0)
        return -1;
    if (chip && *chip && copy_flag(rc->be.chip, sizeof rc->be.chip, chip, "--chip", e) < 0)
        return -1;
    /* the OS like the chip: flag > environment > config (chip.h) */
    const char *os = f->os ? f->os : getenv("ANETRAIN_OS");
    const char *os_from = f->os ? "--os " : "ANETRAIN_OS=";
    if (os && *os && copy_flag(rc->be.os, sizeof rc->be.os, os, f->os ? "--os" : "ANETRAIN_OS", e) < 0)
        return -1;
    int parts[3];
    if (*rc->be.os && chip_os_parse(rc->be.os, parts) < 0) {
        if (os && *os)
            return ant_errf(e, "%s%s: expected a macOS version like \"15.6\" or \"26.3\"",
                            os_from, rc->be.os);
        return ant_errf(e, "%s: os = \"%s\": expected a macOS version like \"15.6\" or \"26.3\"",
                        rc->source, rc->be.os);
    }
    if (f->strict) rc->be.strict = 1;
    if (f->data && copy_flag(rc->data.path, sizeof rc->data.path, f->data, "--data", e) < 0)
        return -1;
    if (f->ckpt && copy_flag(rc->ckpt.path, sizeof rc->ckpt.path, f->ckpt, "--ckpt", e) < 0)
        return -1;
    if (f->plugin_path) {
        /* The flag's folder is searched before those of the config. */
        if (rc->be.n_plugin_path >= ANT_LIST_MAX)
            return ant_errf(e, "--plugin-path: too many plugin folders");
        memmove(rc->be.plugin_path[1], rc->be.plugin_path[0],
                sizeof rc->be.plugin_path[0] * (size_t)rc->be.n_plugin_path);
        if (copy_flag(rc->be.plugin_path[0], sizeof rc->be.plugin_path[0], f->plugin_path,
                      "--plugin-path", e) < 0)
            return -1;
        rc->be.n_plugin_path++;
    }
    long v;
    if (f->threads) {
        if (cli_parse_long(f->threads, 0, 1024, &v) < 0)
            return ant_errf(e, "--threads %s: expected a whole number 0..1024", f->threads);
        rc->be.threads = (int)v;
    }
    if (f->seed) {
        char *end;
        errno = 0;
        unsigned long long s = strtoull(f->seed, &end, 10);
        if (errno || end == f->seed || *end || f->seed[0] == '-')
            return ant_errf(e, "--seed %s: expected a non-negative whole number", f->seed);
        rc->train.seed = s;
    }
    return config_validate(rc, e);
}
