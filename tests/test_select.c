/* Selection matrix: forced chips x configs -> the expected backend chain. The backends
 * are in-process tables whose probes follow the rules of the real ones (DESIGN.md):
 * ane-static and ane-dynamic need a Neural Engine with fp32-capable surfaces (cast),
 * ane-fp16io needs any Neural Engine, cpu runs anywhere, and "gpu" stands for a
 * third-party drop-in that runs anywhere with a high priority. */
#include <config.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chip.h"
#include "registry.h"
#include "tap.h"

static int probe_ane_cast(const struct ant_host *h, const struct ant_chip *c, int *p,
                          const char **why)
{
    *p = 50;
    if (!c->has_ane) return *why = "no Neural Engine", -1;
    if (!c->allows_cast) return *why = "needs the cast op (M3 or later)", -1;
    return 0;
}
static int probe_ane(const struct ant_host *h, const struct ant_chip *c, int *p, const char **why)
{
    *p = 40;
    return c->has_ane ? 0 : (*why = "no Neural Engine", -1);
}
static int probe_cpu(const struct ant_host *h, const struct ant_chip *c, int *p, const char **why)
{
    *p = 10;
    return 0;
}
static int probe_gpu(const struct ant_host *h, const struct ant_chip *c, int *p, const char **why)
{
    *p = 70;
    return 0;
}
static int probe_never(const struct ant_host *h, const struct ant_chip *c, int *p,
                       const char **why)
{
    *p = 90;
    return *why = "never runs", -1;
}

/* Never called: selection only probes. Non-NULL so the tables pass vetting. */
static int x_open(const struct ant_host *h, const struct ant_open_args *a, void **c, char *w, size_t n) { return -1; }
static int x_step(void *c, const float *w, const struct ant_batch *b, float *g, float s, float *l) { return -1; }
static int x_eval(void *c, const float *w, const struct ant_batch *b, float *l) { return -1; }
static int x_logits(void *c, const float *w, const int32_t *t, int n, float *o) { return -1; }
static const char *x_err(void *c) { return ""; }
static void x_close(void *c) {}

#define TABLE(nm, pr) {ANT_ABI_MAJOR, ANT_ABI_MINOR, sizeof(struct ant_backend), nm, "", NULL, \
                       pr, x_open, x_step, x_eval, x_logits, NULL, NULL, x_err, x_close}
static const struct ant_backend tables[] = {
    TABLE("cpu", probe_cpu),           TABLE("ane-static", probe_ane_cast),
    TABLE("ane-dynamic", probe_ane_cast), TABLE("ane-fp16io", probe_ane),
    TABLE("gpu", probe_gpu),           TABLE("never", probe_never),
};

struct cfg {
    const char *label, *backend, *fallback[3], *exclude[3];
    int strict;
};

static const struct cfg cfgs[] = {
    /* 0 */ {"auto", "auto", {0}, {0}, 0},
    /* 1 */ {"auto, exclude ane-dynamic", "auto", {0}, {"ane-dynamic"}, 0},
    /* 2 */ {"auto --strict", "auto", {0}, {0}, 1},
    /* 3 */ {"ane-static, fallback cpu", "ane-static", {"cpu"}, {0}, 0},
    /* 4 */ {"ane-static, no fallback", "ane-static", {0}, {0}, 0},
    /* 5 */ {"gpu, fallback ane-fp16io cpu", "gpu", {"ane-fp16io", "cpu"}, {0}, 0},
    /* 6 */ {"auto, exclude cpu, fallback gpu", "auto", {"gpu"}, {"cpu"}, 0},
    /* 7 */ {"cpu --strict, fallback gpu", "cpu", {"gpu"}, {0}, 1},
};

/* Expected chain per chip (rows) and config (columns); "!" + text = an error containing
 * text. */
static const char *const chips[] = {"M1", "M2", "M3", "M4", "M5", "unknown", "none"};
static const char *const expect[7][8] = {
    /* M1 */ {"ane-fp16io cpu", "ane-fp16io cpu", "ane-fp16io", "cpu",
              "!backend ane-static cannot run on chip M1: needs the cast op", "gpu ane-fp16io cpu",
              "ane-fp16io gpu", "cpu"},
    /* M2 */ {"ane-fp16io cpu", "ane-fp16io cpu", "ane-fp16io", "cpu",
              "!cannot run on chip M2: needs the cast op", "gpu ane-fp16io cpu", "ane-fp16io gpu",
              "cpu"},
    /* M3 */ {"ane-dynamic ane-static ane-fp16io cpu", "ane-static ane-fp16io cpu", "ane-dynamic",
              "ane-static cpu", "ane-static", "gpu ane-fp16io cpu",
              "ane-dynamic ane-static ane-fp16io gpu", "cpu"},
    /* M4 */ {"ane-dynamic ane-static ane-fp16io cpu", "ane-static ane-fp16io cpu", "ane-dynamic",
              "ane-static cpu", "ane-static", "gpu ane-fp16io cpu",
              "ane-dynamic ane-static ane-fp16io gpu", "cpu"},
    /* M5 */ {"ane-dynamic ane-static ane-fp16io cpu", "ane-static ane-fp16io cpu", "ane-dynamic",
              "ane-static cpu", "ane-static", "gpu ane-fp16io cpu",
              "ane-dynamic ane-static ane-fp16io gpu", "cpu"},
    /* unknown Apple */ {"ane-fp16io cpu", "ane-fp16io cpu", "ane-fp16io", "cpu",
              "!cannot run on chip unknown Apple: needs the cast op", "gpu ane-fp16io cpu",
              "ane-fp16io gpu", "cpu"},
    /* none */ {"cpu", "cpu", "cpu", "cpu", "!cannot run on chip none: no Neural Engine",
              "gpu cpu", "gpu", "cpu"},
};

static void to_opts(const struct cfg *c, struct ant_backend_opts *o)
{
    memset(o, 0, sizeof *o);
    snprintf(o->backend, sizeof o->backend, "%s", c->backend);
    for (int i = 0; i < 3 && c->fallback[i]; i++)
        snprintf(o->fallback[o->n_fallback++], ANT_NAME_MAX, "%s", c->fallback[i]);
    for (int i = 0; i < 3 && c->exclude[i]; i++)
        snprintf(o->exclude[o->n_exclude++], ANT_NAME_MAX, "%s", c->exclude[i]);
    o->strict = c->strict;
}

static void chain_text(const struct ant_registry *r, const int *chain, int n, char *buf, size_t cap)
{
    buf[0] = 0;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(buf);
        snprintf(buf + len, cap - len, "%s%s", i ? " " : "", r->mods[chain[i]].name);
    }
}

/* One selection; returns the chain text or "!" + the error. */
static void select_one(struct ant_registry *r, const char *chip_name, const struct ant_backend_opts *o,
                       char *got, size_t cap)
{
    struct ant_chip chip;
    struct ant_err e = {""};
    int chain[ANT_CHAIN_MAX], n;
    if (chip_detect(&chip, chip_name, &e) < 0) {
        snprintf(got, cap, "!chip: %s", e.msg);
        return;
    }
    registry_probe(r, &chip);
    if (registry_chain(r, &chip, o, chain, &n, &e) < 0) snprintf(got, cap, "!%s", e.msg);
    else chain_text(r, chain, n, got, cap);
}

static int matches(const char *got, const char *want)
{
    if (want[0] == '!') return got[0] == '!' && strstr(got, want + 1) != NULL;
    return !strcmp(got, want);
}

int main(void)
{
    struct ant_registry *r;
    struct ant_err e = {""};
    char got[800];
    setenv("ANETRAIN_PLUGIN_PATH", "", 1);   /* only the tables below */
    if (chip_profiles_load("", &e) < 0 || registry_open(&r, NULL, &e) < 0)
        tap_skip_all(e.msg);
    /* A module installed system-wide would add to the in-process tables: drop them. */
    r->n = 0;
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
        ok(registry_add(r, &tables[i], "test", NULL) == (int)i, "table %s added", tables[i].name);

    struct ant_backend_opts o;
    for (size_t c = 0; c < sizeof chips / sizeof chips[0]; c++)
        for (size_t k = 0; k < sizeof cfgs / sizeof cfgs[0]; k++) {
            to_opts(&cfgs[k], &o);
            select_one(r, chips[c], &o, got, sizeof got);
            ok(matches(got, expect[c][k]), "%s, %s -> %s", chips[c], cfgs[k].label, got);
            if (!matches(got, expect[c][k])) diag("want %s", expect[c][k]);
        }

    /* Named backends that do not exist, refuse everywhere, or are excluded. */
    static const struct { const char *chip; struct cfg c; const char *want; } more[] = {
        {"M4", {"nosuch", "nosuch", {0}, {0}, 0}, "!backend nosuch: no module of that name"},
        {"M4", {"excluded", "cpu", {0}, {"cpu"}, 0}, "!backend cpu is both requested and excluded"},
        {"M4", {"never + fallback", "never", {"cpu"}, {0}, 0}, "cpu"},
        {"M4", {"never strict", "never", {"cpu"}, {0}, 1}, "!backend never cannot run on chip M4: never runs"},
        {"none", {"all excluded", "auto", {0}, {"cpu", "gpu"}, 0},
         "!no backend can run on chip none (cpu: excluded; ane-static: no Neural Engine"},
        {"M4 Max", {"variant takes family order", "auto", {0}, {0}, 0},
         "ane-dynamic ane-static ane-fp16io cpu"},
        {"M4", {"fallback repeats are dropped", "auto", {"cpu", "ane-static", "nosuch"}, {0}, 0},
         "ane-dynamic ane-static ane-fp16io cpu"},
    };
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++) {
        to_opts(&more[i].c, &o);
        select_one(r, more[i].chip, &o, got, sizeof got);
        ok(matches(got, more[i].want), "%s, %s -> %s", more[i].chip, more[i].c.label, got);
    }

    /* A user profile can put drop-ins ("*") ahead of cpu. */
    char dir[] = "/tmp/anetrain-sel-XXXXXX", user[300];
    if (mkdtemp(dir)) {
        snprintf(user, sizeof user, "%s/chips.cfg", dir);
        FILE *f = fopen(user, "w");
        if (f) {
            fputs("chips = ( { name = \"none\"; backends = [\"*\", \"cpu\"]; } );\n", f);
            fclose(f);
        }
        ok(chip_profiles_load(user, &e) == 0, "user profile loads (%s)", e.msg);
        to_opts(&cfgs[0], &o);
        select_one(r, "none", &o, got, sizeof got);
        ok(!strcmp(got, "gpu cpu"), "none with \"*\" first -> %s", got);
        select_one(r, "M3", &o, got, sizeof got);
        ok(!strcmp(got, "ane-dynamic ane-static ane-fp16io cpu"), "M3 untouched -> %s", got);
        unlink(user);
        rmdir(dir);
    }
    r->n = 0;
    registry_close(r);
    return tap_done();
}
