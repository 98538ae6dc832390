/* `anetrain backends`: every module considered, with path, ABI, probe result and
 * reason, priority, declared settings, and what auto would choose now. */
#include <config.h>

#include <stdio.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/inspect.h"
#include "dispatch/chip.h"

static const char usage[] =
    "usage: anetrain backends [options]\n"
    "List the backend modules on the plugin search path and in the program: where each\n"
    "came from, its ABI, what its probe says about this chip, its settings, and which\n"
    "backend `auto` would choose.\n"
    "\n" CLI_CONFIG_USAGE;

int cmd_backends(int argc, char **argv)
{
    struct inspect in;
    int rc = inspect_open(&in, argc, argv, usage);
    if (rc) return rc > 0 ? 0 : 1;
    printf("chip: %s%s (cpu: %s)\n", in.chip.name, in.chip.forced ? " (forced)" : "",
           in.chip.cpu_features);
    char entries[512];
    chip_profile_entries(&in.chip, entries, sizeof entries);
    printf("os: %s%s; profile entries: %s\n", *in.chip.os_version ? in.chip.os_version : "unknown",
           *in.rc.be.os ? " (forced)" : "", entries);
    inspect_print_path(&in, stdout);
    inspect_print_modules(&in, stdout);
    inspect_print_choice(&in, stdout);
    int bad = in.chain_err[0] || in.settings_err[0];
    inspect_close(&in);
    return bad ? 1 : 0;
}
