/* Chip profiles: configs/chips.cfg (installed copy, else the embedded one) overlaid by
 * the user's file, kept in a table for the life of the program. */
#include <config.h>

#include <errno.h>
#include <libconfig.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "dispatch/chipprof.h"
#include "config/config.h"

extern const char ant_chips_cfg_text[];   /* configs/chips.cfg, generated chips_cfg.c */

/* Bits of prof.set: which keys an entry gave. */
enum {
    K_BACKENDS = 1 << 0, K_PROGRAM = 1 << 1, K_TARGET = 1 << 2, K_VERBOSE = 1 << 3,
    K_FP16IO = 1 << 4, K_CAST = 1 << 5, K_ALIGN = 1 << 6, K_MIN = 1 << 7, K_BUDGET = 1 << 8,
    K_TFLOPS = 1 << 9, K_SDPA = 1 << 10, K_OPS = 1 << 11, K_SILENT = 1 << 12,
    K_ALL = (1 << 13) - 1,
    K_OPTIONAL = K_SDPA | K_OPS | K_SILENT   /* may be missing from a family entry */
};
static const char *const key_names[] = {
    "backends", "mil_program", "mil_target", "mil_verbose_scalars", "fp16_io",
    "allows_cast", "surface_align", "surface_min_bytes", "compile_budget", "peak_tflops",
    "allows_sdpa", "ops_refused", "silent_zero_rules",
};

#define PROF_MAX 64
static struct chip_profile table[PROF_MAX];
static int n_table, loaded;
static char source[2 * 1024 + 64];

/* Strings are copied into a pool that only grows, so an ant_chip filled before a reload
 * keeps valid pointers (reloads happen in tests, a few times per process). */
static char pool[64 * 1024];
static size_t pool_used;

const char *chipprof_intern(const char *s)
{
    size_t n = strlen(s) + 1;
    for (size_t i = 0; i < pool_used; i += strlen(pool + i) + 1)
        if (!strcmp(pool + i, s)) return pool + i;
    if (pool_used + n > sizeof pool) return NULL;
    memcpy(pool + pool_used, s, n);
    pool_used += n;
    return pool + pool_used - n;
}

/* The entry named name with os range os (NULL: the entry for every OS). */
static struct chip_profile *find_os(const char *name, const char *os)
{
    for (int i = 0; i < n_table; i++)
        if (!strcasecmp(table[i].name, name) &&
            (os ? table[i].os && !strcmp(table[i].os, os) : !table[i].os))
            return &table[i];
    return NULL;
}

static struct chip_profile *find(const char *name) { return find_os(name, NULL); }

static int key_index(const char *key)
{
    for (size_t k = 0; k < sizeof key_names / sizeof key_names[0]; k++)
        if (!strcmp(key_names[k], key)) return (int)k;
    return -1;
}

/* ops_refused = [ "reshape", "reduce_*", ... ]: MIL op names (a trailing '*' matches
 * by prefix), kept as one space-separated string as struct ant_chip carries it. */
static int take_ops(struct chip_profile *p, config_setting_t *s, const char *where,
                    struct ant_err *e)
{
    char joined[1024] = "";
    size_t used = 0;
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
        return ant_errf(e, "%s: ops_refused: expected a list of MIL op names", where);
    for (int i = 0; i < config_setting_length(s); i++) {
        const char *v = config_setting_get_string_elem(s, i);
        size_t n = v ? strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789_") : 0;
        if (!v || n == 0 || (v[n] && strcmp(v + n, "*")))
            return ant_errf(e, "%s: ops_refused: '%s' is not a MIL op name (lower case, "
                            "digits, '_', an optional trailing '*')", where, v ? v : "?");
        if (used + strlen(v) + 2 > sizeof joined)
            return ant_errf(e, "%s: ops_refused: list too long", where);
        used += (size_t)snprintf(joined + used, sizeof joined - used, "%s%s", used ? " " : "", v);
    }
    if (!(p->chip.ops_refused = chipprof_intern(joined)))
        return ant_errf(e, "%s: chip profiles too large", where);
    return 0;
}

/* One key of one entry; where is "file:line" of the setting. */
static int take_key(struct chip_profile *p, config_setting_t *s, const char *where,
                    struct ant_err *e)
{
    const char *key = config_setting_name(s);
    int k = key_index(key), t = config_setting_type(s);
    if (k < 0) return ant_errf(e, "%s: unknown chip profile key '%s'", where, key);
    int is_num = t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64;
    const char *want = NULL;
    switch (1 << k) {
    case K_BACKENDS:
        if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST) { want = "a list of names"; break; }
        p->n_pref = 0;
        for (int i = 0; i < config_setting_length(s); i++) {
            const char *v = config_setting_get_string_elem(s, i);
            if (!v || !*v) { want = "a list of names"; break; }
            if (p->n_pref == ANT_CHIP_PREF_MAX)
                return ant_errf(e, "%s: backends: more than %d names", where, ANT_CHIP_PREF_MAX);
            if (!(p->pref[p->n_pref++] = chipprof_intern(v)))
                return ant_errf(e, "%s: chip profiles too large", where);
        }
        break;
    case K_PROGRAM:
    case K_TARGET: {
        const char *v = config_setting_get_string(s);
        int num, minor;
        char extra;
        /* the MIL text is written with them: program(1.3), func main<ios18> */
        if (!v || (k == 1 ? sscanf(v, "%d.%d%c", &num, &minor, &extra) != 2
                          : sscanf(v, "ios%d%c", &num, &extra) != 1)) {
            want = k == 1 ? "a MIL version like \"1.3\"" : "a target like \"ios18\"";
            break;
        }
        const char **dst = k == 1 ? &p->chip.mil_program : &p->chip.mil_target;
        if (!(*dst = chipprof_intern(v))) return ant_errf(e, "%s: chip profiles too large", where);
        break;
    }
    case K_VERBOSE: case K_FP16IO: case K_CAST: case K_SDPA: case K_SILENT:
        if (t != CONFIG_TYPE_BOOL) { want = "true or false"; break; }
        *(k == 3 ? &p->chip.mil_verbose_scalars : k == 4 ? &p->chip.fp16_io
          : k == 5 ? &p->chip.allows_cast : k == 10 ? &p->chip.allows_sdpa
          : &p->chip.silent_zero_rules) = config_setting_get_bool(s);
        break;
    case K_OPS:
        if (take_ops(p, s, where, e) < 0) return -1;
        break;
    case K_ALIGN: case K_MIN: case K_BUDGET: {
        long long v = config_setting_get_int64(s);
        if (!is_num || v < (k == 8 ? 0 : 1) || v > (1 << 30)) { want = "a whole number >= 1"; break; }
        *(k == 6 ? &p->chip.surface_align : k == 7 ? &p->chip.surface_min_bytes
                                                   : &p->chip.compile_budget) = (int)v;
        break;
    }
    case K_TFLOPS: {
        double v = is_num ? (double)config_setting_get_int64(s) : config_setting_get_float(s);
        /* 1e999 parses as infinity: a figure divided by it would read 0 */
        if ((!is_num && t != CONFIG_TYPE_FLOAT) || !(v >= 0) || !isfinite(v)) {
            want = "a finite number >= 0";
            break;
        }
        p->chip.peak_tflops = v;
        break;
    }
    }
    if (want) return ant_errf(e, "%s: %s: expected %s", where, key, want);
    p->set |= 1 << k;
    return 0;
}

/* The entry's `os` range with its spaces removed (its identity: a user file's
 * { name = "M1"; os = ">= 26"; } overrides the shipped one), "" when it has none. */
static int entry_os(config_setting_t *g, const char *file, char *os, size_t cap,
                    struct ant_err *e)
{
    config_setting_t *s = config_setting_get_member(g, "os");
    const char *v = s ? config_setting_get_string(s) : "";
    size_t n = 0;
    os[0] = 0;
    if (!s) return 0;
    int line = config_setting_source_line(s);
    if (!v || !*v)
        return ant_errf(e, "%s:%d: os: expected a range like \">= 26\" (see chips.cfg)", file, line);
    for (; *v && n + 1 < cap; v++)
        if (*v != ' ' && *v != '\t') os[n++] = *v;
    os[n] = 0;
    struct ant_err re;
    if (*v || chip_os_in_range(os, "", &re) < 0)
        return ant_errf(e, "%s:%d: %s", file, line, *v ? "os: range too long" : re.msg);
    return 0;
}

static int read_entries(config_t *cfg, const char *file, struct ant_err *e)
{
    config_setting_t *list = config_lookup(cfg, "chips");
    if (!list) return 0;   /* a user file may hold nothing yet */
    if (config_setting_type(list) != CONFIG_TYPE_LIST)
        return ant_errf(e, "%s:%d: chips: expected a list ( {...}, ... )", file,
                        config_setting_source_line(list));
    for (int i = 0; i < config_setting_length(list); i++) {
        config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
        int line = config_setting_source_line(g);
        const char *name = NULL;
        if (config_setting_type(g) != CONFIG_TYPE_GROUP ||
            !config_setting_lookup_string(g, "name", &name) || !*name)
            return ant_errf(e, "%s:%d: chip profile without a name", file, line);
        char os[64];
        if (entry_os(g, file, os, sizeof os, e) < 0) return -1;
        struct chip_profile *p = find_os(name, *os ? os : NULL);
        if (!p) {
            if (n_table == PROF_MAX) return ant_errf(e, "%s:%d: too many chip profiles", file, line);
            p = &table[n_table++];
            memset(p, 0, sizeof *p);
            if (!(p->name = chipprof_intern(name)) || (*os && !(p->os = chipprof_intern(os))))
                return ant_errf(e, "%s: too large", file);
        }
        for (int j = 0; j < config_setting_length(g); j++) {
            config_setting_t *s = config_setting_get_elem(g, (unsigned)j);
            if (!strcmp(config_setting_name(s), "name") || !strcmp(config_setting_name(s), "os"))
                continue;
            char where[ANT_PATH_MAX + 32];
            snprintf(where, sizeof where, "%s:%d", file, config_setting_source_line(s));
            if (take_key(p, s, where, e) < 0) return -1;
        }
    }
    return 0;
}

/* A file to read: a regular file without @include. libconfig 1.5 ends the whole process
 * when an @include names a folder (config/config.c checks each one; a profile file has no
 * need of them), and reports a folder or a missing file as "FILE:0: file I/O error". */
static int check_file(const char *file, struct ant_err *e)
{
    struct stat sb;
    FILE *f = NULL;
    if (stat(file, &sb) != 0 || !(f = fopen(file, "r")))
        return ant_errf(e, "%s: cannot read: %s", file, strerror(errno));
    if (!S_ISREG(sb.st_mode)) {
        fclose(f);
        return ant_errf(e, "%s: %s, not a chip profile file", file,
                        S_ISDIR(sb.st_mode) ? "a folder" : "not a regular file");
    }
    char chunk[1024];
    int line = 1, at_start = 1, rc = 0;
    while (rc == 0 && fgets(chunk, sizeof chunk, f)) {
        if (at_start && !strncmp(chunk + strspn(chunk, " \t"), "@include", 8))
            rc = ant_errf(e, "%s:%d: chip profile files take no @include", file, line);
        at_start = strchr(chunk, '\n') != NULL;
        line += at_start;
    }
    fclose(f);
    return rc;
}

/* text != NULL: parse it, naming it `file`; else read the file. */
static int read_profiles(const char *file, const char *text, struct ant_err *e)
{
    if (!text && check_file(file, e) < 0) return -1;
    config_t cfg;
    config_init(&cfg);
    int good = text ? config_read_string(&cfg, text) : config_read_file(&cfg, file);
    int rc = 0;
    if (!good)
        rc = ant_errf(e, "%s:%d: %s", file, config_error_line(&cfg),
                      config_error_text(&cfg) ? config_error_text(&cfg) : "cannot read");
    else
        rc = read_entries(&cfg, file, e);
    config_destroy(&cfg);
    return rc;
}

static const char *default_user_file(char *buf, size_t cap)
{
    const char *env = getenv("ANETRAIN_CHIPS_FILE");
    if (env) return env;
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    if (xdg && *xdg) snprintf(buf, cap, "%s/anetrain/chips.cfg", xdg);
    else if (home && *home) snprintf(buf, cap, "%s/.config/anetrain/chips.cfg", home);
    else return "";
    return buf;
}

static int readable(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f) fclose(f);
    return f != NULL;
}

int chip_profiles_load(const char *user_file, struct ant_err *e)
{
    char ubuf[ANT_PATH_MAX];
    n_table = 0;
    loaded = 0;
    const char *base = ANT_DATADIR "/chips.cfg";
    if (readable(base)) {
        if (read_profiles(base, NULL, e) < 0) return -1;
    } else {
        base = "<embedded chips.cfg>";
        if (read_profiles(base, ant_chips_cfg_text, e) < 0) return -1;
    }
    snprintf(source, sizeof source, "%s", base);
    if (!user_file) user_file = default_user_file(ubuf, sizeof ubuf);
    /* The default user file is optional; a file named on purpose must exist. */
    if (*user_file && (readable(user_file) || user_file != ubuf)) {
        if (read_profiles(user_file, NULL, e) < 0) return -1;
        size_t n = strlen(source);
        snprintf(source + n, sizeof source - n, " + %s", user_file);
    }
    loaded = 1;
    return 0;
}

const char *chip_profiles_source(void) { return loaded ? source : "(not loaded)"; }

/* c's family entry name: "M4", "unknown Apple", "none". */
static void family_name(const struct ant_chip *c, char *fam, size_t n)
{
    if (c->family > 0) snprintf(fam, n, "M%d", c->family);
    else snprintf(fam, n, "%s", c->family == 0 ? "unknown Apple" : "none");
}

int chipprof_applied(const struct ant_chip *c, const struct chip_profile **out, int max)
{
    char fam[32];
    family_name(c, fam, sizeof fam);
    const char *names[2] = {fam, c->name && strcasecmp(c->name, fam) ? c->name : NULL};
    const struct chip_profile *base = find(fam);
    int n = 0;
    if (!base) return 0;
    out[n++] = base;
    if (names[1] && find(names[1]) && n < max) out[n++] = find(names[1]);
    for (int g = 0; g < 2; g++)
        for (int i = 0; names[g] && i < n_table && n < max; i++) {
            struct ant_err e;
            if (table[i].os && !strcasecmp(table[i].name, names[g]) &&
                chip_os_in_range(table[i].os, c->os_version, &e) == 1)
                out[n++] = &table[i];
        }
    return n;
}

/* The keys v gives, over c. */
static void overlay(struct ant_chip *c, const struct chip_profile *v)
{
    if (v->set & K_PROGRAM) c->mil_program = v->chip.mil_program;
    if (v->set & K_TARGET) c->mil_target = v->chip.mil_target;
    if (v->set & K_VERBOSE) c->mil_verbose_scalars = v->chip.mil_verbose_scalars;
    if (v->set & K_FP16IO) c->fp16_io = v->chip.fp16_io;
    if (v->set & K_CAST) c->allows_cast = v->chip.allows_cast;
    if (v->set & K_ALIGN) c->surface_align = v->chip.surface_align;
    if (v->set & K_MIN) c->surface_min_bytes = v->chip.surface_min_bytes;
    if (v->set & K_BUDGET) c->compile_budget = v->chip.compile_budget;
    if (v->set & K_TFLOPS) c->peak_tflops = v->chip.peak_tflops;
    if (v->set & K_SDPA) c->allows_sdpa = v->chip.allows_sdpa;
    if (v->set & K_OPS) c->ops_refused = v->chip.ops_refused;
    if (v->set & K_SILENT) c->silent_zero_rules = v->chip.silent_zero_rules;
}

int chipprof_resolve(struct ant_chip *c, struct ant_err *e)
{
    if (!loaded && chip_profiles_load(NULL, e) < 0) return -1;
    char fam[32];
    family_name(c, fam, sizeof fam);
    const struct chip_profile *list[PROF_MAX];
    int n = chipprof_applied(c, list, PROF_MAX);
    if (n == 0) return ant_errf(e, "%s: no chip profile named '%s'", source, fam);
    for (int k = 0; k < (int)(sizeof key_names / sizeof key_names[0]); k++)
        if (!(list[0]->set & (1 << k)) && !(K_OPTIONAL & (1 << k)))
            return ant_errf(e, "%s: chip profile '%s' lacks key '%s'", source, fam, key_names[k]);
    /* optional keys a family entry leaves out take the permissive-free default */
    c->allows_sdpa = 0;
    c->ops_refused = "";
    c->silent_zero_rules = 0;
    for (int i = 0; i < n; i++) overlay(c, list[i]);
    return 0;
}

int chipprof_exists(const char *name)
{
    struct ant_err e;
    if (!loaded && chip_profiles_load(NULL, &e) < 0) return 0;
    return find(name) != NULL;
}

/* The most specific entry that gives a list wins (chipprof_applied's order). */
int chip_preference(const struct ant_chip *c, const char *const **names)
{
    static const char *const cpu_only[] = {"cpu"};
    *names = cpu_only;
    if (!loaded || !c || !c->name) return 1;
    const struct chip_profile *list[PROF_MAX];
    int n = chipprof_applied(c, list, PROF_MAX);
    const struct chip_profile *p = NULL;
    for (int i = 0; i < n; i++)
        if (list[i]->set & K_BACKENDS) p = list[i];
    if (!p) return 1;
    *names = p->pref;
    return p->n_pref;
}

void chip_profile_entries(const struct ant_chip *c, char *buf, size_t cap)
{
    const struct chip_profile *list[PROF_MAX];
    int n = loaded && c && c->name ? chipprof_applied(c, list, PROF_MAX) : 0;
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; i < n && used < cap; i++) {
        const char *os = list[i]->os;
        /* the range as written in the file's style: ">= 26", "15.0 - 15.99" */
        size_t op = os ? strspn(os, "<>=") : 0;
        const char *dash = os ? strchr(os, '-') : NULL;
        int w = !os ? snprintf(buf + used, cap - used, "%s%s", i ? ", " : "", list[i]->name)
              : dash ? snprintf(buf + used, cap - used, "%s%s [os %.*s - %s]", i ? ", " : "",
                                list[i]->name, (int)(dash - os), os, dash + 1)
                     : snprintf(buf + used, cap - used, "%s%s [os %.*s %s]", i ? ", " : "",
                                list[i]->name, (int)op, os, os + op);
        used += w > 0 ? (size_t)w : 0;
    }
}
