/* Shared by `anetrain backends` and `anetrain doctor`. */
#include <config.h>

#include <string.h>

#include "dispatch/chip.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/inspect.h"

int inspect_open(struct inspect *in, int argc, char **argv, const char *usage)
{
    static const struct option opts[] = {CLI_CONFIG_OPTIONS, {0, 0, 0, 0}};
    struct cli_config_flags cf = {0};
    struct ant_err e = {""};
    const char *cmd = argv[0];
    int status = -1;
    memset(in, 0, sizeof *in);
    optind = 1;
    if (cli_next_option(argc, argv, opts, &cf, usage, &status) != -1)
        return fail(cmd, "unexpected option (see --help)"), -1;   /* all are config flags */
    if (status == 0) return 1;
    if (status > 0) return -1;
    if (cli_build_config(&in->rc, &cf, &e) < 0 || chip_detect(&in->chip, in->rc.be.chip, in->rc.be.os, &e) < 0 ||
        registry_open(&in->reg, &in->rc.be, &e) < 0) {
        config_free(&in->rc);
        return fail(cmd, e.msg), -1;
    }
    registry_probe(in->reg, &in->chip);
    /* Problems with the selection are part of the report, not a reason to stop it. */
    if (registry_settings(in->reg, in->rc.backend_settings, in->rc.source, &e) < 0)
        snprintf(in->settings_err, sizeof in->settings_err, "%s", e.msg);
    if (registry_chain(in->reg, &in->chip, &in->rc.be, in->chain, &in->n_chain, &e) < 0)
        snprintf(in->chain_err, sizeof in->chain_err, "%s", e.msg);
    struct ant_backend_opts automatic = in->rc.be;
    snprintf(automatic.backend, sizeof automatic.backend, "auto");
    automatic.n_fallback = 0;
    automatic.strict = 0;
    if (registry_chain(in->reg, &in->chip, &automatic, in->auto_chain, &in->n_auto, &e) < 0)
        in->n_auto = 0;
    return 0;
}

void inspect_print_path(const struct inspect *in, FILE *out)
{
    fprintf(out, "plugin search path (first wins):\n");
    for (int i = 0; i < in->reg->n_search; i++)
        fprintf(out, "  %d. %s (%s)\n", i + 1, in->reg->search[i], in->reg->search_origin[i]);
    fprintf(out, "  then the modules linked into anetrain (preloaded)\n");
}

static const char *type_name(enum ant_setting_type t)
{
    return t == ANT_SET_INT ? "int" : t == ANT_SET_FLOAT ? "float" : t == ANT_SET_BOOL ? "bool"
                                                                                       : "string";
}

void inspect_print_modules(const struct inspect *in, FILE *out)
{
    static const char *const state[] = {"ok", "REFUSED", "shadowed"};
    fprintf(out, "modules considered (%d):\n", in->reg->n);
    for (int i = 0; i < in->reg->n; i++) {
        const struct ant_module *m = &in->reg->mods[i];
        fprintf(out, "  %-16s %s\n", m->name, m->path);
        if (m->state != ANT_MOD_OK) {
            fprintf(out, "      %s: %s\n", state[m->state], m->why);
            continue;
        }
        fprintf(out, "      ABI %u.%u, %s", m->b->abi_major, m->b->abi_minor,
                m->b->description ? m->b->description : "");
        fprintf(out, "\n      probe on %s: %s%s, priority %d\n", in->chip.name,
                m->usable ? "accepts" : "refuses: ", m->usable ? "" : m->probe_why, m->priority);
        for (const struct ant_setting *s = m->b->settings; s && s->key; s++)
            fprintf(out, "      setting %s (%s, default %s): %s\n", s->key, type_name(s->type),
                    s->default_value ? s->default_value : "", s->help ? s->help : "");
    }
}

static void print_chain(const struct inspect *in, const int *chain, int n, FILE *out)
{
    for (int i = 0; i < n; i++)
        fprintf(out, "%s%s", i ? " -> " : "", in->reg->mods[chain[i]].name);
    fputc('\n', out);
}

void inspect_print_choice(const struct inspect *in, FILE *out)
{
    fprintf(out, "auto would choose now: ");
    if (in->n_auto) print_chain(in, in->auto_chain, 1, out);
    else fprintf(out, "nothing\n");
    fprintf(out, "configured selection (backend = \"%s\"%s): ",
            *in->rc.be.backend ? in->rc.be.backend : "auto", in->rc.be.strict ? ", strict" : "");
    if (in->chain_err[0]) fprintf(out, "ERROR: %s\n", in->chain_err);
    else print_chain(in, in->chain, in->n_chain, out);
    if (in->settings_err[0]) fprintf(out, "settings: ERROR: %s\n", in->settings_err);
}

void inspect_close(struct inspect *in)
{
    registry_close(in->reg);
    config_free(&in->rc);
}
