/* Internal to chip.c / chipprof.c: the profile table read from chips.cfg. */
#ifndef ANT_CHIPPROF_H
#define ANT_CHIPPROF_H

#include "dispatch/chip.h"

struct chip_profile {
    const char *name;                    /* "M4", "M1 Ultra", "unknown Apple", "none" */
    const char *os;                      /* the `os` range, spaces removed; NULL: any OS */
    unsigned set;                        /* which keys the file gave */
    struct ant_chip chip;                /* profile fields only */
    const char *pref[ANT_CHIP_PREF_MAX]; /* backend preference order */
    int n_pref;
};

/* Fill the profile fields of c from the entries that apply to c->name, c->family and
 * c->os_version (chipprof_applied), each overlaying the keys it gives. */
int chipprof_resolve(struct ant_chip *c, struct ant_err *e);
/* The entries that apply to c, least specific first: the family's ("M1"), the
 * variant's ("M1 Pro"), the family's with a matching os range, the variant's with one
 * (each group in file order). At most max; returns the count (0: no family entry). */
int chipprof_applied(const struct ant_chip *c, const struct chip_profile **out, int max);
int chipprof_exists(const char *name);
/* chipos.c: set c's OS (forced: a version, refused otherwise; "" or NULL: this
 * machine's) and resolve its profile for it. */
int chipos_pick(struct ant_chip *c, const char *forced, struct ant_err *e);
/* A copy of s that lives until exit (NULL when the pool is full). */
const char *chipprof_intern(const char *s);

#endif
