/* Choosing the backend chain (DESIGN.md "Selection"):
 *   auto  -> the backends whose probe accepts the chip, highest priority first, with the
 *            chip profile's `backends` list ordering the ones it names (those ranking
 *            below cpu only run when named); an unlisted
 *            module goes just before the first listed, accepting backend of lower
 *            priority (ties: the listed one first). A "*" in the list pins every
 *            unlisted module there instead. The chain ends at cpu;
 *   name  -> that backend, an error with its probe's reason if it cannot run here;
 *   then the config's fallback list. exclude removes names anywhere; strict keeps only
 *   the first. */
#include <config.h>

#include <string.h>

#include "dispatch/chip.h"
#include "dispatch/registry.h"

static int listed(const char (*list)[ANT_NAME_MAX], int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(list[i], name)) return 1;
    return 0;
}

static int in_chain(const int *chain, int n, int idx)
{
    for (int i = 0; i < n; i++)
        if (chain[i] == idx) return 1;
    return 0;
}

/* Append module idx if it may run and is new. */
static void push(const struct ant_registry *r, const struct ant_backend_opts *o, int idx,
                 int *chain, int *n)
{
    if (idx < 0 || *n == ANT_CHAIN_MAX || !r->mods[idx].usable) return;
    if (listed(o->exclude, o->n_exclude, r->mods[idx].name) || in_chain(chain, *n, idx)) return;
    chain[(*n)++] = idx;
}

/* cpu is the reference of last resort: nothing after it would ever run. */
static int ends_at_cpu(const struct ant_registry *r, const int *chain, int n)
{
    return n && !strcmp(r->mods[chain[n - 1]].name, "cpu");
}

static int named(const char *const *pref, int n_pref, const char *name)
{
    for (int k = 0; k < n_pref; k++)
        if (!strcmp(pref[k], name)) return 1;
    return 0;
}

/* Unlisted usable modules that outrank module `above` (all of them when above < 0),
 * highest priority first (ties by name: deterministic), up to cpu. Exclusion is push's
 * business, so an excluded module never moves the others. */
static void push_rest(const struct ant_registry *r, const struct ant_backend_opts *o,
                      const char *const *pref, int n_pref, int above, int *chain, int *n)
{
    int used[ANT_REG_MAX] = {0};
    while (!ends_at_cpu(r, chain, *n)) {
        int best = -1;
        for (int i = 0; i < r->n; i++) {
            const struct ant_module *m = &r->mods[i];
            if (used[i] || m->state != ANT_MOD_OK || !m->usable || named(pref, n_pref, m->name) ||
                (above >= 0 && m->priority <= r->mods[above].priority))
                continue;
            if (best < 0 || m->priority > r->mods[best].priority ||
                (m->priority == r->mods[best].priority && strcmp(m->name, r->mods[best].name) < 0))
                best = i;
        }
        if (best < 0) return;
        used[best] = 1;
        push(r, o, best, chain, n);
    }
}

static void auto_chain(const struct ant_registry *r, const struct ant_chip *chip,
                       const struct ant_backend_opts *o, int *chain, int *n)
{
    const char *const *pref;
    int n_pref = chip_preference(chip, &pref);
    int pinned = named(pref, n_pref, "*");
    for (int k = 0; k < n_pref && !ends_at_cpu(r, chain, *n); k++) {
        if (!strcmp(pref[k], "*")) {
            push_rest(r, o, pref, n_pref, -1, chain, n);
            continue;
        }
        int idx = registry_find(r, pref[k]);
        /* A backend ranking itself below cpu runs only when named (an emulated device
         * on a forced chip): the profile's order does not promote it. */
        int cpu = registry_find(r, "cpu");
        if (idx >= 0 && cpu >= 0 && idx != cpu && r->mods[idx].usable &&
            r->mods[idx].priority < r->mods[cpu].priority)
            continue;
        /* Unlisted modules that outrank this accepting backend go before it. */
        if (!pinned && idx >= 0 && r->mods[idx].usable)
            push_rest(r, o, pref, n_pref, idx, chain, n);
        if (!ends_at_cpu(r, chain, *n)) push(r, o, idx, chain, n);
    }
    if (!pinned) push_rest(r, o, pref, n_pref, -1, chain, n);
}

/* Why nothing can run: every module with its reason, for the error message. */
static int none_left(const struct ant_registry *r, const struct ant_chip *chip,
                     struct ant_err *e)
{
    char list[700] = "";
    for (int i = 0; i < r->n; i++) {
        const struct ant_module *m = &r->mods[i];
        size_t len = strlen(list);
        snprintf(list + len, sizeof list - len, "%s%s: %s", len ? "; " : "", m->name,
                 m->state != ANT_MOD_OK ? m->why : m->usable ? "excluded" : m->probe_why);
    }
    return ant_errf(e, "no backend can run on chip %s (%s)", chip->name,
                    *list ? list : "no modules found");
}

int registry_chain(const struct ant_registry *r, const struct ant_chip *chip,
                   const struct ant_backend_opts *o, int *chain, int *n, struct ant_err *e)
{
    *n = 0;
    const char *want = *o->backend ? o->backend : "auto";
    if (strcmp(want, "auto")) {
        int idx = registry_find(r, want);
        if (listed(o->exclude, o->n_exclude, want))
            return ant_errf(e, "backend %s is both requested and excluded", want);
        if (idx < 0) {
            for (int i = 0; i < r->n; i++)
                if (!strcmp(r->mods[i].name, want))
                    return ant_errf(e, "backend %s: module %s refused: %s", want,
                                    r->mods[i].path, r->mods[i].why);
            return ant_errf(e, "backend %s: no module of that name (see `anetrain backends`)",
                            want);
        }
        if (!r->mods[idx].usable) {
            if (o->strict || o->n_fallback == 0)
                return ant_errf(e, "backend %s cannot run on chip %s: %s", want, chip->name,
                                r->mods[idx].probe_why);
            ant_log(ANT_LOG_WARN, "select", "backend %s cannot run on chip %s (%s): using "
                    "the fallback list", want, chip->name, r->mods[idx].probe_why);
        }
        push(r, o, idx, chain, n);
    } else {
        auto_chain(r, chip, o, chain, n);
    }
    if (o->strict) {
        if (*n > 1) *n = 1;
    } else {
        for (int i = 0; i < o->n_fallback; i++) {
            int idx = registry_find(r, o->fallback[i]);
            if (idx < 0)
                ant_log(ANT_LOG_WARN, "select", "fallback %s: no such backend, skipped",
                        o->fallback[i]);
            push(r, o, idx, chain, n);
        }
    }
    return *n ? 0 : none_left(r, chip, e);
}
