/* Selection matrix: forced chips x configs -> the expected backend chain. The backends
 * are in-process tables whose probes follow the rules of the real ones (DESIGN.md):
 * ane-static and ane-dynamic need a Neural Engine with fp32-capable surfaces (cast),
 * ane-fp16io needs any Neural Engine, cpu runs anywhere, and "gpu" stands for a
 * third-party drop-in that runs anywhere with a high priority, so auto puts it first
 * (the profiles do not list it). More drop-ins are added after the matrix. */
#include <config.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dispatch/chip.h"
#include "dispatch/registry.h"
#include "tap.h"
#include "test_util.h"

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
/* Drop-ins for the merge cases: between ane-static/-dynamic (50) and ane-fp16io (40),
 * tied with ane-fp16io, and below cpu like plugins/example (1). */
static int probe_mid(const struct ant_host *h, const struct ant_chip *c, int *p, const char **why)
{
    *p = 45;
    return 0;
}
static int probe_tie(const struct ant_host *h, const struct ant_chip *c, int *p, const char **why)
{
    *p = 40;
    return 0;
}
static int probe_low(const struct ant_host *h, const struct ant_chip *c, int *p, const char **why)
{
    *p = 1;
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
static const struct ant_backend dropins[] = {
    TABLE("mid", probe_mid), TABLE("tie", probe_tie), TABLE("low", probe_low),
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
    /* M1 */ {"gpu ane-fp16io cpu", "gpu ane-fp16io cpu", "gpu", "cpu",
              "!backend ane-static cannot run on chip M1: needs the cast op", "gpu ane-fp16io cpu",
              "gpu ane-fp16io", "cpu"},
    /* M2 */ {"gpu ane-fp16io cpu", "gpu ane-fp16io cpu", "gpu", "cpu",
              "!cannot run on chip M2: needs the cast op", "gpu ane-fp16io cpu", "gpu ane-fp16io",
              "cpu"},
    /* M3 */ {"gpu ane-dynamic ane-static ane-fp16io cpu", "gpu ane-static ane-fp16io cpu", "gpu",
              "ane-static cpu", "ane-static", "gpu ane-fp16io cpu",
              "gpu ane-dynamic ane-static ane-fp16io", "cpu"},
    /* M4 */ {"gpu ane-dynamic ane-static ane-fp16io cpu", "gpu ane-static ane-fp16io cpu", "gpu",
              "ane-static cpu", "ane-static", "gpu ane-fp16io cpu",
              "gpu ane-dynamic ane-static ane-fp16io", "cpu"},
    /* M5 */ {"gpu ane-dynamic ane-static ane-fp16io cpu", "gpu ane-static ane-fp16io cpu", "gpu",
              "ane-static cpu", "ane-static", "gpu ane-fp16io cpu",
              "gpu ane-dynamic ane-static ane-fp16io", "cpu"},
    /* unknown Apple */ {"gpu ane-fp16io cpu", "gpu ane-fp16io cpu", "gpu", "cpu",
              "!cannot run on chip unknown Apple: needs the cast op", "gpu ane-fp16io cpu",
              "gpu ane-fp16io", "cpu"},
    /* none */ {"gpu cpu", "gpu cpu", "gpu", "cpu", "!cannot run on chip none: no Neural Engine",
              "gpu cpu", "gpu", "cpu"},
};

/* A user chips file holding one profile entry. */
static int write_profile(const char *path, const char *entry)
{
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fprintf(f, "chips = ( %s );\n", entry);
    return fclose(f);
}

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
    if (chip_detect(&chip, chip_name, NULL, &e) < 0) {
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
         "gpu ane-dynamic ane-static ane-fp16io cpu"},
        {"M4", {"fallback repeats are dropped", "auto", {"cpu", "ane-static", "nosuch"}, {0}, 0},
         "gpu ane-dynamic ane-static ane-fp16io cpu"},
    };
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++) {
        to_opts(&more[i].c, &o);
        select_one(r, more[i].chip, &o, got, sizeof got);
        ok(matches(got, more[i].want), "%s, %s -> %s", more[i].chip, more[i].c.label, got);
    }

    /* A user profile can put drop-ins ("*") ahead of cpu. */
    tmp_dir_make("anetrain-sel");
    const char *user = tmp_path("chips.cfg");
    ok(write_profile(user, "{ name = \"none\"; backends = [\"*\", \"cpu\"]; }") == 0 &&
       chip_profiles_load(user, &e) == 0, "user profile loads (%s)", e.msg);
    to_opts(&cfgs[0], &o);
    select_one(r, "none", &o, got, sizeof got);
    ok(!strcmp(got, "gpu cpu"), "none with \"*\" first -> %s", got);
    select_one(r, "M3", &o, got, sizeof got);
    ok(!strcmp(got, "gpu ane-dynamic ane-static ane-fp16io cpu"), "M3 untouched -> %s", got);

    /* More drop-ins: where each lands, and that naming, fallback, exclude and strict
     * work on them as on any backend. profile NULL = the shipped profiles only. */
    for (size_t i = 0; i < sizeof dropins / sizeof dropins[0]; i++)
        ok(registry_add(r, &dropins[i], "test", NULL) >= 0, "drop-in %s added", dropins[i].name);
    static const struct { const char *profile, *chip; struct cfg c; const char *want; } merge[] = {
        {NULL, "M4", {"auto: gpu over all, mid between ane-static and ane-fp16io, tie after "
                      "ane-fp16io, low (below cpu) left out", "auto", {0}, {0}, 0},
         "gpu ane-dynamic ane-static mid ane-fp16io tie cpu"},
        {NULL, "M1", {"auto", "auto", {0}, {0}, 0}, "gpu mid ane-fp16io tie cpu"},
        {NULL, "none", {"auto", "auto", {0}, {0}, 0}, "gpu mid tie cpu"},
        {NULL, "M4", {"auto, exclude gpu ane-static: the rest keep their places", "auto", {0},
                      {"gpu", "ane-static"}, 0}, "ane-dynamic mid ane-fp16io tie cpu"},
        {NULL, "M4", {"auto --strict", "auto", {0}, {0}, 1}, "gpu"},
        {NULL, "M4", {"auto --strict, exclude gpu", "auto", {0}, {"gpu"}, 1}, "ane-dynamic"},
        {NULL, "none", {"auto, fallback low", "auto", {"low"}, {0}, 0}, "gpu mid tie cpu low"},
        {NULL, "none", {"auto, exclude cpu: low is reached", "auto", {0}, {"cpu"}, 0},
         "gpu mid tie low"},
        {NULL, "none", {"low named", "low", {0}, {0}, 0}, "low"},
        {NULL, "none", {"low named, fallback cpu", "low", {"cpu"}, {0}, 0}, "low cpu"},
        {NULL, "none", {"low --strict, fallback cpu", "low", {"cpu"}, {0}, 1}, "low"},
        {NULL, "M1", {"ane-static named (refuses), fallback low", "ane-static", {"low"}, {0}, 0},
         "low"},
        {NULL, "M4", {"low excluded and named", "low", {0}, {"low"}, 0},
         "!backend low is both requested and excluded"},
        /* The list orders what it names even against priority: ane-dynamic (50, unlisted
         * here) and mid go before ane-fp16io (40), the first listed one below them. */
        {"{ name = \"M3\"; backends = [\"ane-fp16io\", \"ane-static\", \"cpu\"]; }", "M3",
         {"profile order against priority", "auto", {0}, {0}, 0},
         "gpu ane-dynamic mid ane-fp16io ane-static tie cpu"},
        /* ane-fp16io refuses without an ANE, so it is no anchor: mid follows gpu. */
        {"{ name = \"none\"; backends = [\"ane-fp16io\", \"gpu\", \"cpu\"]; }", "none",
         {"a refusing listed backend is no anchor", "auto", {0}, {0}, 0}, "gpu mid tie cpu"},
        {"{ name = \"M4\"; backends = [\"ane-fp16io\"]; }", "M4",
         {"cpu unlisted: merged by its priority, still the end", "auto", {0}, {0}, 0},
         "gpu ane-dynamic ane-static mid ane-fp16io tie cpu"},
        {"{ name = \"M4\"; backends = [\"ane-dynamic\", \"cpu\", \"*\"]; }", "M4",
         {"\"*\" after cpu pins drop-ins out", "auto", {0}, {0}, 0}, "ane-dynamic cpu"},
        {"{ name = \"M4\"; backends = [\"ane-fp16io\", \"*\", \"cpu\"]; }", "M4",
         {"\"*\" before cpu pins every unlisted one there", "auto", {0}, {0}, 0},
         "ane-fp16io gpu ane-dynamic ane-static mid tie low cpu"},
        {"{ name = \"none\"; backends = [\"*\", \"cpu\"]; }", "none",
         {"\"*\" first", "auto", {0}, {0}, 0}, "gpu mid tie low cpu"},
    };
    for (size_t i = 0; i < sizeof merge / sizeof merge[0]; i++) {
        e.msg[0] = 0;
        int loaded = merge[i].profile
                         ? write_profile(user, merge[i].profile) == 0 && chip_profiles_load(user, &e) == 0
                         : chip_profiles_load("", &e) == 0;
        to_opts(&merge[i].c, &o);
        select_one(r, merge[i].chip, &o, got, sizeof got);
        ok(loaded && matches(got, merge[i].want), "%s, %s -> %s %s", merge[i].chip,
           merge[i].c.label, got, e.msg);
        if (!matches(got, merge[i].want)) diag("want %s", merge[i].want);
    }
    tmp_dir_remove();
    r->n = 0;
    registry_close(r);
    return tap_done();
}
