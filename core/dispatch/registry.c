/* Finding and vetting backend modules (hwloc-style scan, Open MPI name rule). */
#include <config.h>

#include <ltdl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dispatch/host.h"
#include "dispatch/modcheck.h"
#include "dispatch/registry.h"

/* Size of the v1.0 table: a module must provide at least this much. */
#define V1_0_SIZE (offsetof(struct ant_backend, close) + sizeof(void (*)(void)))

static void add_search(struct ant_registry *r, const char *dir, const char *origin)
{
    if (!*dir || r->n_search == ANT_SEARCH_MAX || strlen(dir) >= ANT_PATH_MAX) return;
    for (int i = 0; i < r->n_search; i++)
        if (!strcmp(r->search[i], dir)) return;
    strcpy(r->search[r->n_search], dir);
    r->search_origin[r->n_search++] = origin;
}

const char *registry_name_for_file(const char *path, char *buf, size_t cap)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (strncmp(base, "ant_", 4) || !base[4]) return NULL;
    size_t n = 0;
    for (const char *p = base + 4; *p && *p != '.' && n + 1 < cap; p++)
        buf[n++] = *p == '_' ? '-' : *p;
    buf[n] = 0;
    return buf;
}

static struct ant_module *new_module(struct ant_registry *r, const char *path)
{
    if (r->n == ANT_REG_MAX) {
        ant_log(ANT_LOG_WARN, "registry", "%s: ignored, more than %d modules", path, ANT_REG_MAX);
        return NULL;
    }
    struct ant_module *m = &r->mods[r->n++];
    memset(m, 0, sizeof *m);
    snprintf(m->path, sizeof m->path, "%s", path);
    return m;
}

static int refuse(struct ant_module *m, const char *fmt, const char *arg)
{
    m->state = ANT_MOD_REFUSED;
    snprintf(m->why, sizeof m->why, fmt, arg);
    ant_log(ANT_LOG_WARN, "registry", "%s: refused: %s", m->path, m->why);
    return -1;
}

/* The checks of backend.h: major, size, name = file, the functions the core calls. */
static int vet(struct ant_module *m, const struct ant_backend *b, const char *expect)
{
    char msg[160];
    if (b->abi_major != ANT_ABI_MAJOR) {
        snprintf(msg, sizeof msg, "ABI major %u, this anetrain speaks %d", b->abi_major,
                 ANT_ABI_MAJOR);
        return refuse(m, "%s", msg);
    }
    if (b->size < V1_0_SIZE) {
        snprintf(msg, sizeof msg, "table of %u bytes, ABI 1.0 needs %zu", b->size,
                 (size_t)V1_0_SIZE);
        return refuse(m, "%s", msg);
    }
    if (!b->name || !*b->name || strlen(b->name) >= ANT_NAME_MAX)
        return refuse(m, "%s", "backend has no usable name");
    if (expect && strcmp(b->name, expect)) {
        snprintf(msg, sizeof msg, "holds backend '%.40s' but its file name says '%.40s'",
                 b->name, expect);
        return refuse(m, "%s", msg);
    }
    static const struct { size_t off; const char *name; } need[] = {
        {offsetof(struct ant_backend, probe), "probe"},
        {offsetof(struct ant_backend, open), "open"},
        {offsetof(struct ant_backend, train_step), "train_step"},
        {offsetof(struct ant_backend, eval_loss), "eval_loss"},
        {offsetof(struct ant_backend, logits), "logits"},
        {offsetof(struct ant_backend, last_error), "last_error"},
        {offsetof(struct ant_backend, close), "close"},
    };
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
        void (*fn)(void);
        memcpy(&fn, (const char *)b + need[i].off, sizeof fn);
        if (!fn) return refuse(m, "does not provide %s()", need[i].name);
    }
    return 0;
}

/* Accept m holding b unless an earlier module already has the name. */
static int accept(struct ant_registry *r, struct ant_module *m, const struct ant_backend *b)
{
    snprintf(m->name, sizeof m->name, "%s", b->name);
    for (struct ant_module *o = r->mods; o < m; o++)
        if (o->state == ANT_MOD_OK && !strcmp(o->name, b->name)) {
            m->state = ANT_MOD_SHADOWED;
            snprintf(m->why, sizeof m->why, "shadowed by %.400s (earlier in the search path)",
                     o->path);
            /* The built-in CPU copy is shadowed by the installed module on every run:
             * only worth a line when asked for. */
            ant_log(!strncmp(m->path, "preloaded:", 10) ? ANT_LOG_DEBUG
                                                                     : ANT_LOG_INFO,
                    "registry", "%s: not used: backend '%s' already loaded "
                    "from %s, earlier in the search path", m->path, b->name, o->path);
            return -1;
        }
    m->state = ANT_MOD_OK;
    m->b = b;
    ant_log(ANT_LOG_DEBUG, "registry", "%s: backend '%s' ABI %u.%u", m->path, b->name,
            b->abi_major, b->abi_minor);
    return 0;
}

int registry_add(struct ant_registry *r, const struct ant_backend *b, const char *path,
                 const char *expect_name)
{
    struct ant_module *m = new_module(r, path);
    if (!m) return -1;
    if (expect_name) snprintf(m->name, sizeof m->name, "%s", expect_name);
    if (vet(m, b, expect_name) < 0 || accept(r, m, b) < 0) return -1;
    return (int)(m - r->mods);
}

/* Open the module file behind stem only once it is known to be a whole shared object
 * for this machine whose every symbol resolves (modcheck.h); NULL when refused. */
static lt_dlhandle open_checked(struct ant_module *m, const char *stem)
{
    char file[ANT_PATH_MAX], why[460];
    if (modcheck_resolve(stem, file, sizeof file, why, sizeof why) < 0 ||
        modcheck_file(file, why, sizeof why) < 0) {
        refuse(m, "%s", why);
        return NULL;
    }
    void *bound = modcheck_bind_now(file, why, sizeof why);
    if (!bound) {
        refuse(m, "cannot be loaded: %s", why);
        return NULL;
    }
    lt_dlhandle h = NULL;
    lt_dladvise adv;
    if (!lt_dladvise_init(&adv) && !lt_dladvise_local(&adv)) h = lt_dlopenadvise(file, adv);
    lt_dladvise_destroy(&adv);
    modcheck_release(bound);   /* libltdl's handle now holds the same, bound copy */
    if (!h) {
        const char *err = lt_dlerror();
        refuse(m, "cannot be opened: %s", err ? err : "unknown error");
    }
    return h;
}

/* Open one module file (extensionless, as lt_dlforeachfile gives it) or take handle h
 * of the preloaded module `stem`. */
static void load(struct ant_registry *r, const char *path, const char *stem, lt_dlhandle h)
{
    char expect[ANT_NAME_MAX] = "";
    struct ant_module *m = new_module(r, path);
    if (!m) return;
    registry_name_for_file(stem, expect, sizeof expect);
    snprintf(m->name, sizeof m->name, "%s", expect);
    if (!h && !(h = open_checked(m, path))) return;
    m->handle = h;
    int (*entry)(const struct ant_host *, const struct ant_backend **);
    void *sym = lt_dlsym(h, "ant_backend_entry");
    const struct ant_backend *b = NULL;
    int rc;
    if (!sym) refuse(m, "%s", "no entry symbol ant_backend_entry (or <module>_LTX_ant_backend_entry)");
    else if (memcpy(&entry, &sym, sizeof entry), (rc = entry(host_get(), &b)) != 0 || !b) {
        char msg[64];
        snprintf(msg, sizeof msg, "entry failed (returned %d%s)", rc, b ? "" : ", no table");
        refuse(m, "%s", msg);
    } else if (vet(m, b, expect) == 0)
        accept(r, m, b);
    if (m->state != ANT_MOD_OK) {
        lt_dlclose(h);
        m->handle = NULL;
    }
}

struct scan { char names[ANT_REG_MAX][ANT_PATH_MAX]; int n; };

static int collect(const char *file, void *data)
{
    struct scan *s = data;
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    if (strncmp(base, "ant_", 4) || s->n == ANT_REG_MAX || strlen(file) >= ANT_PATH_MAX - 8)
        return 0;
    /* Only modules: a build tree keeps objects (ant_x_la-y.lo) next to them. */
    static const char *const ext[] = {".la", ".so", ".dylib", ".dll"};
    char probe[ANT_PATH_MAX];
    size_t i = 0;
    for (; i < sizeof ext / sizeof ext[0]; i++) {
        snprintf(probe, sizeof probe, "%s%s", file, ext[i]);
        if (access(probe, F_OK) == 0) break;
    }
    if (i == sizeof ext / sizeof ext[0]) return 0;
    for (int j = 0; j < s->n; j++)
        if (!strcmp(s->names[j], file)) return 0;
    strcpy(s->names[s->n++], file);
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(a, b); }

/* lt_dlpreload_open's callback takes no user pointer. */
static struct ant_registry *preload_target;

static int take_preloaded(lt_dlhandle h)
{
    const lt_dlinfo *info = lt_dlgetinfo(h);
    const char *name = info && info->name ? info->name : "?";
    char path[ANT_PATH_MAX];
    if (strncmp(name, "ant_", 4)) return 0;
    snprintf(path, sizeof path, "preloaded:%s", name);
    load(preload_target, path, name, h);
    return 0;
}

int registry_open(struct ant_registry **out, const struct ant_backend_opts *o,
                  struct ant_err *e)
{
    struct ant_registry *r = calloc(1, sizeof *r);
    if (!r) return ant_errf(e, "registry: out of memory");
    if (lt_dlinit() != 0) {
        free(r);
        return ant_errf(e, "registry: libltdl failed to start: %s", lt_dlerror());
    }
    r->ltdl = 1;
    for (int i = 0; o && i < o->n_plugin_path; i++) add_search(r, o->plugin_path[i], "config");
    const char *env = getenv("ANETRAIN_PLUGIN_PATH");
    if (env) {
        char buf[ANT_PATH_MAX];
        for (const char *p = env; *p;) {
            size_t n = strcspn(p, ":");
            if (n < sizeof buf) {
                memcpy(buf, p, n);
                buf[n] = 0;
                add_search(r, buf, "ANETRAIN_PLUGIN_PATH");
            }
            p += n + (p[n] == ':');
        }
    }
    add_search(r, ANT_PLUGINDIR, "installed");

    struct scan *s = malloc(sizeof *s);
    if (!s) {
        registry_close(r);
        return ant_errf(e, "registry: out of memory");
    }
    for (int i = 0; i < r->n_search; i++) {
        s->n = 0;
        lt_dlforeachfile(r->search[i], collect, s);
        qsort(s->names, (size_t)s->n, sizeof s->names[0], cmp_str);   /* same order everywhere */
        ant_log(ANT_LOG_DEBUG, "registry", "%s (%s): %d module(s)", r->search[i],
                r->search_origin[i], s->n);
        for (int j = 0; j < s->n; j++) load(r, s->names[j], s->names[j], NULL);
    }
    free(s);
    /* Last: the copies linked into the program, so a broken or empty folder still
     * leaves the CPU backend (DESIGN.md "Who owns what"). */
    preload_target = r;
    lt_dlpreload_open("@PROGRAM@", take_preloaded);
    preload_target = NULL;
    *out = r;
    return 0;
}

void registry_probe(struct ant_registry *r, const struct ant_chip *chip)
{
    for (int i = 0; i < r->n; i++) {
        struct ant_module *m = &r->mods[i];
        if (m->state != ANT_MOD_OK) continue;
        const char *why = NULL;
        int prio = 0;
        m->probed = 1;
        m->usable = m->b->probe(host_get(), chip, &prio, &why) == 0;
        m->priority = prio;
        snprintf(m->probe_why, sizeof m->probe_why, "%s",
                 m->usable ? "" : why ? why : "(no reason given)");
        ant_log(ANT_LOG_DEBUG, "registry", "probe %s on %s: %s%s (priority %d)", m->name,
                chip->name, m->usable ? "accepts" : "refuses: ", m->probe_why, prio);
    }
}

int registry_find(const struct ant_registry *r, const char *name)
{
    for (int i = 0; i < r->n; i++)
        if (r->mods[i].state == ANT_MOD_OK && !strcmp(r->mods[i].name, name)) return i;
    return -1;
}

void registry_close(struct ant_registry *r)
{
    if (!r) return;
    for (int i = 0; i < r->n; i++) {
        free(r->mods[i].settings);
        if (r->mods[i].handle) lt_dlclose(r->mods[i].handle);
    }
    if (r->ltdl) lt_dlexit();
    free(r);
}
