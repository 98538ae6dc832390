/* Backend settings: the config group backends.<name> = { key = value; ... } checked
 * against the keys the backend declares (Open MPI's registered parameters). Unknown
 * or mistyped keys are errors naming file:line. */
#include <config.h>

#include <errno.h>
#include <libconfig.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dispatch/registry.h"

static const char *type_word(enum ant_setting_type t)
{
    return t == ANT_SET_INT ? "a whole number" : t == ANT_SET_FLOAT ? "a number"
         : t == ANT_SET_BOOL ? "true or false" : "a string";
}

/* A declared default, given as text by the module. */
static int parse_default(struct ant_setting_value *v, const char *text)
{
    char *end = NULL;
    errno = 0;
    switch (v->type) {
    case ANT_SET_INT: v->i = strtol(text, &end, 0); break;
    case ANT_SET_FLOAT: v->f = strtod(text, &end); break;
    case ANT_SET_BOOL:
        if (!strcasecmp(text, "true") || !strcmp(text, "1")) v->i = 1;
        else if (!strcasecmp(text, "false") || !strcmp(text, "0")) v->i = 0;
        else return -1;
        return 0;
    case ANT_SET_STRING: v->s = text; return 0;
    }
    return errno || !end || end == text || *end ? -1 : 0;
}

static int take(struct ant_setting_value *v, config_setting_t *s)
{
    int t = config_setting_type(s);
    int is_int = t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64;
    switch (v->type) {
    case ANT_SET_INT:
        if (!is_int) return -1;
        v->i = (long)config_setting_get_int64(s);
        return 0;
    case ANT_SET_FLOAT:
        if (!is_int && t != CONFIG_TYPE_FLOAT) return -1;
        v->f = is_int ? (double)config_setting_get_int64(s) : config_setting_get_float(s);
        return 0;
    case ANT_SET_BOOL:
        if (t != CONFIG_TYPE_BOOL) return -1;
        v->i = config_setting_get_bool(s);
        return 0;
    case ANT_SET_STRING:
        if (t != CONFIG_TYPE_STRING) return -1;
        v->s = config_setting_get_string(s);
        return 0;
    }
    return -1;
}

static const char *file_of(config_setting_t *s, const char *source)
{
    const char *f = config_setting_source_file(s);
    return f ? f : source ? source : "config";
}

/* Defaults for every declared key, then the values of group g (may be NULL). */
static int fill(struct ant_module *m, config_setting_t *g, const char *source,
                struct ant_err *e)
{
    const struct ant_setting *decl = m->b->settings;
    int n = 0;
    while (decl && decl[n].key) n++;
    struct ant_setting_value *v = calloc((size_t)n + 1, sizeof *v);
    if (!v) return ant_errf(e, "settings: out of memory");
    free(m->settings);
    m->settings = v;
    for (int i = 0; i < n; i++) {
        v[i].key = decl[i].key;
        v[i].type = decl[i].type;
        if (parse_default(&v[i], decl[i].default_value ? decl[i].default_value : "") < 0)
            return ant_errf(e, "%s: backend %s declares setting '%s' with default \"%s\", "
                            "not %s", m->path, m->name, decl[i].key,
                            decl[i].default_value ? decl[i].default_value : "",
                            type_word(decl[i].type));
    }
    for (int j = 0; g && j < config_setting_length(g); j++) {
        config_setting_t *s = config_setting_get_elem(g, (unsigned)j);
        const char *key = config_setting_name(s);
        int i = 0;
        while (i < n && strcmp(v[i].key, key)) i++;
        if (i == n) {
            char known[256] = "";
            for (int k = 0; k < n; k++) {
                size_t len = strlen(known);
                snprintf(known + len, sizeof known - len, "%s%s", k ? ", " : "", v[k].key);
            }
            return ant_errf(e, "%s:%d: backends.%s.%s: unknown setting (%s accepts: %s)",
                            file_of(s, source), config_setting_source_line(s), m->name, key,
                            m->name, n ? known : "none");
        }
        if (take(&v[i], s) < 0)
            return ant_errf(e, "%s:%d: backends.%s.%s: expected %s", file_of(s, source),
                            config_setting_source_line(s), m->name, key, type_word(v[i].type));
    }
    return 0;
}

int registry_settings(struct ant_registry *r, void *backends_group, const char *source,
                      struct ant_err *e)
{
    config_setting_t *all = backends_group;
    if (all && config_setting_type(all) != CONFIG_TYPE_GROUP)
        return ant_errf(e, "%s:%d: backends: expected a group { name = { ... }; }",
                        file_of(all, source), config_setting_source_line(all));
    /* A group naming no module found at all is most likely a typo. */
    for (int j = 0; all && j < config_setting_length(all); j++) {
        config_setting_t *g = config_setting_get_elem(all, (unsigned)j);
        const char *name = config_setting_name(g);
        int found = 0;
        for (int i = 0; i < r->n; i++) found |= !strcmp(r->mods[i].name, name);
        if (!found)
            return ant_errf(e, "%s:%d: backends.%s: no backend module of that name was found",
                            file_of(g, source), config_setting_source_line(g), name);
        if (config_setting_type(g) != CONFIG_TYPE_GROUP)
            return ant_errf(e, "%s:%d: backends.%s: expected a group { key = value; }",
                            file_of(g, source), config_setting_source_line(g), name);
    }
    for (int i = 0; i < r->n; i++) {
        struct ant_module *m = &r->mods[i];
        if (m->state != ANT_MOD_OK) continue;
        config_setting_t *g = all ? config_setting_get_member(all, m->name) : NULL;
        if (fill(m, g, source, e) < 0) return -1;
    }
    return 0;
}
