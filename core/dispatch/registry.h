/* The backend registry: finds modules on the plugin search path (and the ones preloaded
 * into the program), vets their ABI, probes them for a chip, validates their settings
 * and orders them into the chain the dispatcher runs. style-anchors.md §1.2, §6.2. */
#ifndef ANT_REGISTRY_H
#define ANT_REGISTRY_H

#include <anetrain/backend.h>
#include <stdio.h>

#include "config/config.h"
#include "base/util.h"

#define ANT_REG_MAX 64          /* modules considered */
#define ANT_CHAIN_MAX 16
#define ANT_SEARCH_MAX (ANT_LIST_MAX + 16)

enum ant_mod_state {
    ANT_MOD_OK,        /* loaded and vetted */
    ANT_MOD_REFUSED,   /* bad ABI, no entry, name mismatch, entry failed... (why says) */
    ANT_MOD_SHADOWED,  /* a module of the same name came earlier in the search path */
};

struct ant_module {
    char name[ANT_NAME_MAX];         /* the backend's name (from the file if refused) */
    char path[ANT_PATH_MAX];         /* the file, or "preloaded:ant_cpu" */
    enum ant_mod_state state;
    char why[512];                   /* refusal or shadowing reason */
    const struct ant_backend *b;     /* ANT_MOD_OK only */
    void *handle;                    /* lt_dlhandle; NULL for tables added in-process */
    int probed, usable, priority;    /* registry_probe: usable = probe returned 0 */
    char probe_why[256];
    struct ant_setting_value *settings;   /* registry_settings; ends with key == NULL */
};

struct ant_registry {
    struct ant_module mods[ANT_REG_MAX];
    int n;
    char search[ANT_SEARCH_MAX][ANT_PATH_MAX];   /* plugin folders, first wins */
    const char *search_origin[ANT_SEARCH_MAX];   /* "config", "ANETRAIN_PLUGIN_PATH", ... */
    int n_search;
    int ltdl;                                    /* lt_dlinit done */
};

/* Scan o->plugin_path, then $ANETRAIN_PLUGIN_PATH (':'-separated), then the installed
 * plugin folder, then the modules preloaded into the program. o may be NULL (no config
 * folders). Fails only on out of memory or when libltdl cannot start; bad modules are
 * recorded as refused and logged. */
int registry_open(struct ant_registry **r, const struct ant_backend_opts *o,
                  struct ant_err *e);
/* Vet and add a backend table linked into this process (tests, built-ins). expect_name
 * as the file name would give it, or NULL. Returns its index, or -1 if refused. */
int registry_add(struct ant_registry *r, const struct ant_backend *b, const char *path,
                 const char *expect_name);
/* Call every loaded module's probe for chip. */
void registry_probe(struct ant_registry *r, const struct ant_chip *chip);
/* Check the config's `backends` group (a libconfig config_setting_t *, may be NULL)
 * against each backend's declared settings and fill mods[].settings with values and
 * defaults. source names the config file for messages. */
int registry_settings(struct ant_registry *r, void *backends_group, const char *source,
                      struct ant_err *e);
/* The chain to run, best first (indices into mods): DESIGN.md "Selection". Needs
 * registry_probe first. */
int registry_chain(const struct ant_registry *r, const struct ant_chip *chip,
                   const struct ant_backend_opts *o, int *chain, int *n, struct ant_err *e);
/* Index of the usable-or-not loaded module called name, or -1. */
int registry_find(const struct ant_registry *r, const char *name);
/* Backend name a module file must hold: "ant_ane_static" -> "ane-static"; NULL when the
 * file name does not start with ant_. */
const char *registry_name_for_file(const char *path, char *buf, size_t cap);
void registry_close(struct ant_registry *r);

#endif
