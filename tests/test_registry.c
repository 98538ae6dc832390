/* The registry against real modules: the broken ones in tests/plugins are refused with
 * a reason naming the file, the good ones load, an earlier folder wins a name clash,
 * and backend settings are checked with file:line. */
#include <config.h>

#include <libconfig.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dispatch/chip.h"
#include "dispatch/registry.h"
#include "tap.h"
#include "test_util.h"

static char builddir[900];

static const struct ant_module *by_file(const struct ant_registry *r, const char *stem)
{
    for (int i = 0; i < r->n; i++) {
        const char *base = strrchr(r->mods[i].path, '/');
        base = base ? base + 1 : r->mods[i].path;
        if (!strncmp(base, stem, strlen(stem)) &&
            (base[strlen(stem)] == 0 || base[strlen(stem)] == '.'))
            return &r->mods[i];
    }
    return NULL;
}

static void refused(const struct ant_registry *r, const char *stem, const char *why)
{
    const struct ant_module *m = by_file(r, stem);
    int good = m && m->state == ANT_MOD_REFUSED && strstr(m->why, why);
    ok(good, "%s refused: %s", stem, m ? m->why : "(not considered)");
}

/* Validate `text` (a config holding a backends group) against r. The config stays
 * alive until the next call: string values point into it, as into rc->cfg_handle. */
static int settings(struct ant_registry *r, const char *text, struct ant_err *e)
{
    static config_t cfg;
    static int live;
    if (live) config_destroy(&cfg);
    config_init(&cfg);
    live = 1;
    if (!config_read_string(&cfg, text))
        return ant_errf(e, "bad test config: %s", config_error_text(&cfg));
    return registry_settings(r, config_lookup(&cfg, "backends"), "test.cfg", e);
}

static int dummy_probe(const struct ant_host *h, const struct ant_chip *c, int *p, const char **w)
{
    *p = 1;
    return 0;
}

int main(void)
{
    const char *b = getenv("ANETRAIN_BUILDDIR");
    if (!b) tap_skip_all("ANETRAIN_BUILDDIR not set (run through make check)");
    snprintf(builddir, sizeof builddir, "%s", b);
    struct ant_backend_opts o = {0};
    snprintf(o.plugin_path[0], sizeof o.plugin_path[0], "%s/tests/plugins", builddir);
    o.n_plugin_path = 1;
    char backends[1100];
    snprintf(backends, sizeof backends, "%s/backends", builddir);
    setenv("ANETRAIN_PLUGIN_PATH", backends, 1);

    struct ant_registry *r;
    struct ant_err e = {""};
    if (!ok(registry_open(&r, &o, &e) == 0, "registry opens (%s)", e.msg)) return tap_done();
    ok(r->n_search >= 3 && !strcmp(r->search[0], o.plugin_path[0]) &&
       !strcmp(r->search[1], backends) && !strcmp(r->search_origin[1], "ANETRAIN_PLUGIN_PATH") &&
       !strcmp(r->search_origin[r->n_search - 1], "installed"),
       "search path: config, then ANETRAIN_PLUGIN_PATH, then the installed folder");

    refused(r, "ant_test_bad_abi", "ABI major 2, this anetrain speaks 1");
    refused(r, "ant_test_no_entry", "no entry symbol");
    refused(r, "ant_test_misnamed", "holds backend 'test-other' but its file name says 'test-misnamed'");
    refused(r, "ant_test_entry_fails", "entry failed (returned -3");
    for (const char *const *s = (const char *const[]){"ant_test_open_fails", "ant_test_midrun",
                                                      "ant_test_nan", "ant_test_needs_ane", NULL};
         *s; s++) {
        const struct ant_module *m = by_file(r, *s);
        ok(m && m->state == ANT_MOD_OK && m->b && strstr(m->path, "/tests/plugins/"),
           "%s loads", *s);
    }
    int cpu = registry_find(r, "cpu");
    ok(cpu >= 0 && strstr(r->mods[cpu].path, "/backends/ant_cpu"), "cpu found in %s",
       cpu >= 0 ? r->mods[cpu].path : "?");
    int objects = 0;
    for (int i = 0; i < r->n; i++) objects += strstr(r->mods[i].path, "faulty") != NULL;
    ok(objects == 0, "object files next to modules are not taken for modules");

    /* Probes: test-needs-ane refuses a chip without a Neural Engine with its reason. */
    struct ant_chip none, m4;
    chip_profiles_load("", &e);
    chip_from_name("none", &none, &e);
    chip_from_name("M4", &m4, &e);
    registry_probe(r, &none);
    int ane = registry_find(r, "test-needs-ane");
    ok(ane >= 0 && !r->mods[ane].usable && strstr(r->mods[ane].probe_why, "needs a Neural Engine"),
       "probe refuses on none: %s", ane >= 0 ? r->mods[ane].probe_why : "?");
    registry_probe(r, &m4);
    ok(ane >= 0 && r->mods[ane].usable && r->mods[ane].priority == 100, "probe accepts on M4");

    /* Settings: defaults, values, and errors with file:line. */
    ok(settings(r, "x = 1;", &e) == 0, "no backends group: defaults only");
    int mid = registry_find(r, "test-midrun");
    const struct ant_setting_value *v = mid >= 0 ? ant_setting_find(r->mods[mid].settings, "fail_at") : NULL;
    ok(v && v->type == ANT_SET_INT && v->i == 3, "declared default fail_at = 3");
    ok(settings(r, "backends: {\n test-midrun: { fail_at = 7; fail_call = \"eval_loss\"; };\n"
                   " cpu: { threads = 2; };\n};", &e) == 0, "valid settings (%s)", e.msg);
    v = ant_setting_find(r->mods[mid].settings, "fail_at");
    const struct ant_setting_value *s = ant_setting_find(r->mods[mid].settings, "fail_call");
    ok(v && v->i == 7 && s && s->s && !strcmp(s->s, "eval_loss"), "values reach the backend");
    static const struct { const char *text, *msg; } bad[] = {
        {"backends: {\n test-midrun: {\n  fail_att = 7; };\n};",
         "test.cfg:3: backends.test-midrun.fail_att: unknown setting (test-midrun accepts: fail_at, fail_call, nan_at, nan_what)"},
        {"backends: {\n test-midrun: { fail_at = \"7\"; };\n};",
         "test.cfg:2: backends.test-midrun.fail_at: expected a whole number"},
        {"backends: {\n test-midrun: { fail_call = 7; };\n};",
         "test.cfg:2: backends.test-midrun.fail_call: expected a string"},
        {"backends: {\n\n ane_static: { device = \"emulator\"; };\n};",
         "test.cfg:3: backends.ane_static: no backend module of that name was found"},
        {"backends: {\n cpu = 3;\n};", "test.cfg:2: backends.cpu: expected a group"},
        {"backends = 4;", "test.cfg:1: backends: expected a group"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        e.msg[0] = 0;
        ok(settings(r, bad[i].text, &e) < 0 && strstr(e.msg, bad[i].msg), "settings error %zu: %s",
           i, e.msg);
    }
    registry_close(r);

    /* A folder earlier in the path wins a name clash, the later copy is shadowed. */
    char target[1100];
    tmp_dir_make("anetrain-reg");
    snprintf(target, sizeof target, "%s/backends/.libs/ant_cpu.so", builddir);
    ok(symlink(target, tmp_path("ant_cpu.so")) == 0, "drop ant_cpu.so into %s", tmp_dir);
    struct ant_backend_opts o2 = {0};
    snprintf(o2.plugin_path[0], sizeof o2.plugin_path[0], "%s", tmp_dir);
    o2.n_plugin_path = 1;
    ok(registry_open(&r, &o2, &e) == 0, "registry with a user folder first");
    cpu = registry_find(r, "cpu");
    ok(cpu >= 0 && strstr(r->mods[cpu].path, tmp_dir), "cpu comes from the user folder: %s",
       cpu >= 0 ? r->mods[cpu].path : "?");
    const struct ant_module *later = by_file(r, "ant_cpu");
    int shadowed = 0;
    for (int i = 0; i < r->n; i++)
        shadowed |= r->mods[i].state == ANT_MOD_SHADOWED && !strcmp(r->mods[i].name, "cpu") &&
                    strstr(r->mods[i].why, tmp_dir) != NULL;
    ok(later && shadowed, "the build tree's cpu is shadowed, naming the winner");
    registry_close(r);
    tmp_dir_remove();

    /* In-process tables get the same vetting. */
    ok(registry_open(&r, NULL, &e) == 0, "registry without config folders");
    struct ant_backend t = {ANT_ABI_MAJOR, 0, sizeof t, "tiny", "", NULL, dummy_probe, NULL,
                            NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    int rc = registry_add(r, &t, "here", "tiny");
    ok(rc < 0 && strstr(r->mods[r->n - 1].why, "does not provide open()"),
       "a table without open() is refused: %s", r->mods[r->n - 1].why);
    struct ant_backend small = t;
    small.size = 40;
    rc = registry_add(r, &small, "here", NULL);
    ok(rc < 0 && strstr(r->mods[r->n - 1].why, "table of 40 bytes"),
       "a table shorter than ABI 1.0 is refused: %s", r->mods[r->n - 1].why);
    registry_close(r);

    char buf[64];
    ok(!strcmp(registry_name_for_file("/x/ant_ane_static.la", buf, sizeof buf), "ane-static") &&
       registry_name_for_file("/x/libfoo.so", buf, sizeof buf) == NULL,
       "file name -> backend name");
    return tap_done();
}
