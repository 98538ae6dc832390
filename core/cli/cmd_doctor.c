/* `anetrain doctor`: everything a bug report needs, ending with a self-test of each
 * usable backend (one layer forward and backward against the CPU reference). */
#include <config.h>

#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "base/blas.h"
#include "dispatch/chip.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/inspect.h"
#include "dispatch/dispatch.h"
#include "dispatch/selftest.h"

static const char usage[] =
    "usage: anetrain doctor [options]\n"
    "Print the chip, its profile, the plugin search path and the modules, then self-test\n"
    "each usable backend against the CPU reference. Paste the output into bug reports.\n"
    "\n" CLI_CONFIG_USAGE;

int cmd_doctor(int argc, char **argv)
{
    struct inspect in;
    int rc = inspect_open(&in, argc, argv, usage);
    if (rc) return rc > 0 ? 0 : 1;
    struct utsname u;
    printf("%s doctor\n", PACKAGE_STRING);
    if (uname(&u) == 0) printf("system: %s %s %s\n", u.sysname, u.release, u.machine);
    printf("config: %s\n", in.rc.source);
    /* bit-exact resume needs the same thread count: the checkpoint records it */
    printf("BLAS: %s, kernel %s, %d thread%s\n", ANT_BLAS_NAME, ant_blas_core(),
           ant_blas_threads(), ant_blas_threads() == 1 ? "" : "s");
    chip_print(&in.chip, stdout);
    inspect_print_path(&in, stdout);
    inspect_print_modules(&in, stdout);
    inspect_print_choice(&in, stdout);

    printf("self-test (1 layer, dim 64, 2x32 tokens, forward + backward):\n");
    int cpu = registry_find(in.reg, "cpu"), failed = 0;
    for (int i = 0; i < in.reg->n; i++) {
        const struct ant_module *m = &in.reg->mods[i];
        if (m->state != ANT_MOD_OK || !m->usable) continue;
        struct selftest_result r;
        if (!m->settings) {
            printf("  %-16s not run: its settings are invalid\n", m->name);
            continue;
        }
        if (selftest_run(in.reg, i, cpu, &in.chip, &r) < 0) {
            printf("  %-16s FAILED: %s\n", m->name, r.err);
            failed++;
            continue;
        }
        printf("  %-16s %s: loss %.6f (ref %.6f, rel err %.2e), grad rel err %.2e vs %s\n",
               m->name, r.pass ? "ok" : "MISMATCH", r.loss, r.loss_ref, r.loss_err, r.grad_err,
               r.against);
        dispatch_print_device(&r.stats, stdout);
        failed += !r.pass;
    }
    inspect_close(&in);
    return failed ? 1 : 0;
}
