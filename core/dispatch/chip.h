/* Chip detection and chip profiles (DESIGN.md "Chip detection and profiles").
 *
 * The chip comes from, in order: the --chip flag, $ANETRAIN_CHIP, the config key
 * `chip` (cli_build_config merges the three into rc->be.chip), else the hardware. The
 * OS version the same way: --os, $ANETRAIN_OS, the config key `os` (rc->be.os), else
 * kern.osproductversion on macOS. The profile for the pair comes from configs/chips.cfg
 * (the installed copy, else the copy embedded in the program) overlaid by the user's
 * file: the chip's family entry, its variant entry, then the entries of either with an
 * `os` range that holds the OS version (docs/ane.md §7, §12.6: what M1 compiles depends
 * on the macOS version). Every string an ant_chip points to lives until the program
 * exits. */
#ifndef ANT_CHIP_H
#define ANT_CHIP_H

#include <anetrain/backend.h>
#include <stdint.h>
#include <stdio.h>

#include "base/util.h"

#define ANT_CHIP_PREF_MAX 16

/* forced: "" or NULL = detect from the hardware, else a name for chip_from_name.
 * os: "" or NULL = this machine's macOS version (kern.osproductversion; "linux" where
 * there is no macOS), else a version like "26.3" (chip_os_parse; 16.x is taken as
 * 26.x, as chip_os_from_sysctl does). */
int chip_detect(struct ant_chip *out, const char *forced, const char *os, struct ant_err *e);
/* "M1" .. "M5" with optional " Pro"/" Max"/" Ultra" (case and separator free:
 * "m4-pro" works), "unknown" / "unknown Apple", "none". The OS is unknown (""): the
 * profile's conservative entries; chip_set_os chooses another. */
int chip_from_name(const char *name, struct ant_chip *out, struct ant_err *e);
/* macOS detection, split out so every brand string can be tested anywhere:
 * brand = sysctl machdep.cpu.brand_string, cpufamily = hw.cpufamily (0 if unread). */
int chip_from_sysctl(const char *brand, uint32_t cpufamily, struct ant_chip *out,
                     struct ant_err *e);

/* Set c->os_version and resolve c's profile again for it. os: a version ("15.6",
 * "26.3": chip_os_parse), "" = unknown, or a system name without macOS ("linux"); both
 * of the last take the entries an unknown OS takes (open-ended ranges, ">= 26"). */
int chip_set_os(struct ant_chip *c, const char *os, struct ant_err *e);
/* A version "N", "N.N" or "N.N.N" (each part 0..9999): 0 and its parts in v (missing
 * ones 0), else -1. */
int chip_os_parse(const char *s, int v[3]);
/* The OS version to use for kern.osproductversion's value: a version as it is, except
 * 16.x, which is what macOS 26 reports to programs built with an SDK older than 26
 * (SYSTEM_VERSION_COMPAT), taken as 26.x; anything else (NULL, empty, garbage) "".
 * Writes into buf (n bytes) and returns it. */
const char *chip_os_from_sysctl(const char *productversion, char *buf, size_t n);
/* Whether OS version os lies in range, a chips.cfg `os` value (">= 26", "< 26",
 * "15.0 - 15.99"; see the file's header): 1 or 0; -1 with e for a bad range. An
 * unknown os ("", "linux") lies only in ranges without an upper end. */
int chip_os_in_range(const char *range, const char *os, struct ant_err *e);
/* "M1, M1 Pro, M1 [os >= 26]": the profile entries that applied to c, in order. */
void chip_profile_entries(const struct ant_chip *c, char *buf, size_t n);

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
