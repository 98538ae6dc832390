/* What `anetrain backends` and `anetrain doctor` both look at: the run config from the
 * usual flags, the chip, every module considered and the chain auto would build. */
#ifndef ANT_INSPECT_H
#define ANT_INSPECT_H

#include <stdio.h>

#include "config/config.h"
#include "dispatch/registry.h"

struct inspect {
    struct ant_run_config rc;
    struct ant_chip chip;
    struct ant_registry *reg;
    int chain[ANT_CHAIN_MAX], n_chain;       /* the configured selection */
    int auto_chain[ANT_CHAIN_MAX], n_auto;   /* what backend = "auto" would pick */
    char chain_err[1024], settings_err[1024];
};

/* Parse the config flags of argv (usage on --help), load config, chip and modules.
 * Returns 0, 1 after --help, or -1 with the error printed. */
int inspect_open(struct inspect *in, int argc, char **argv, const char *usage);
void inspect_print_path(const struct inspect *in, FILE *out);
void inspect_print_modules(const struct inspect *in, FILE *out);
void inspect_print_choice(const struct inspect *in, FILE *out);
void inspect_close(struct inspect *in);

#endif
