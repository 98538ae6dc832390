/* Internal to chip.c / chipprof.c: the profile table read from chips.cfg. */
#ifndef ANT_CHIPPROF_H
#define ANT_CHIPPROF_H

#include "dispatch/chip.h"

struct chip_profile {
    const char *name;                    /* "M4", "M1 Ultra", "unknown Apple", "none" */
    unsigned set;                        /* which keys the file gave */
    struct ant_chip chip;                /* profile fields only */
    const char *pref[ANT_CHIP_PREF_MAX]; /* backend preference order */
    int n_pref;
};

/* Fill the profile fields of out from entry family_name, overlaid by full_name's
 * entry when there is one ("M4" then "M4 Pro"). */
int chipprof_resolve(const char *family_name, const char *full_name, struct ant_chip *out,
                     struct ant_err *e);
int chipprof_exists(const char *name);
/* A copy of s that lives until exit (NULL when the pool is full). */
const char *chipprof_intern(const char *s);

#endif
