/* Chip detection and chip profiles (DESIGN.md "Chip detection and profiles").
 *
 * The chip comes from, in order: the --chip flag, $ANETRAIN_CHIP, the config key
 * `chip` (cli_build_config merges the three into rc->be.chip), else the hardware. The
 * profile for it comes from configs/chips.cfg (the installed copy, else the copy
 * embedded in the program) overlaid by the user's file. Every string an ant_chip points
 * to lives until the program exits. */
#ifndef ANT_CHIP_H
#define ANT_CHIP_H

#include <anetrain/backend.h>
#include <stdint.h>
#include <stdio.h>

#include "base/util.h"

#define ANT_CHIP_PREF_MAX 16

/* forced: "" or NULL = detect from the hardware, else a name for chip_from_name. */
int chip_detect(struct ant_chip *out, const char *forced, struct ant_err *e);
/* "M1" .. "M5" with optional " Pro"/" Max"/" Ultra" (case and separator free:
 * "m4-pro" works), "unknown" / "unknown Apple", "none". */
int chip_from_name(const char *name, struct ant_chip *out, struct ant_err *e);
/* macOS detection, split out so every brand string can be tested anywhere:
 * brand = sysctl machdep.cpu.brand_string, cpufamily = hw.cpufamily (0 if unread). */
int chip_from_sysctl(const char *brand, uint32_t cpufamily, struct ant_chip *out,
                     struct ant_err *e);

/* The profile's backend preference order for `auto` (ANT_CHIP_PREF_MAX at most, "*"
 * marks where unlisted backends go). Returns the count and sets *names. */
int chip_preference(const struct ant_chip *c, const char *const **names);

/* Load the profiles now: user_file NULL = the default user file (see chips.cfg), "" =
 * none. chip_detect loads them on first use; call this to choose the user file or to
 * see errors early. Strings handed out before a reload stay valid. */
int chip_profiles_load(const char *user_file, struct ant_err *e);
/* Where the profiles came from, for `anetrain doctor`. */
const char *chip_profiles_source(void);

/* Print the chip and its profile, one "key: value" per line. */
void chip_print(const struct ant_chip *c, FILE *out);

#endif
