/* Chip naming, brand-string parsing, profiles (shipped values, user overlay, errors). */
#include <config.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dispatch/chip.h"
#include "tap.h"
#include "test_util.h"

extern const char ant_chips_cfg_text[];

/* What chips.cfg promises, written out by hand from docs/ane.md §2, §7, §8. */
static const struct {
    const char *name;
    int family, has_ane;
    const char *program, *target;
    int verbose, fp16_io, cast, align, min_bytes, budget;
    double tflops;
    const char *first;   /* first backend of the preference order */
    int sdpa;            /* §7.1: scaled_dot_product_attention fails on M1/M2 */
} want[] = {
    {"M1", 1, 1, "1.0", "ios16", 1, 1, 0, 256, 2048, 100, 11.0, "ane-fp16io", 0},
    {"M1 Ultra", 1, 1, "1.0", "ios16", 1, 1, 0, 256, 2048, 100, 22.0, "ane-fp16io", 0},
    {"M2 Max", 2, 1, "1.0", "ios16", 1, 1, 0, 256, 2048, 100, 15.8, "ane-fp16io", 0},
    {"M3 Pro", 3, 1, "1.3", "ios18", 0, 0, 1, 128, 49152, 100, 15.8, "ane-dynamic", 1},
    {"M4", 4, 1, "1.3", "ios18", 0, 0, 1, 128, 49152, 100, 18.6, "ane-dynamic", 1},
    {"M5", 5, 1, "1.3", "ios18", 0, 0, 1, 128, 49152, 100, 19.0, "ane-dynamic", 1},
    {"unknown Apple", 0, 1, "1.0", "ios16", 1, 1, 0, 256, 49152, 100, 19.0, "ane-fp16io", 0},
    {"none", -1, 0, "1.0", "ios16", 1, 1, 0, 256, 49152, 100, 0.0, "cpu", 0},
};

static void check_profile(const struct ant_chip *c, int i)
{
    const char *const *pref;
    int n = chip_preference(c, &pref);
    int good = !strcmp(c->name, want[i].name) && c->family == want[i].family &&
               c->has_ane == want[i].has_ane && !strcmp(c->mil_program, want[i].program) &&
               !strcmp(c->mil_target, want[i].target) &&
               c->mil_verbose_scalars == want[i].verbose && c->fp16_io == want[i].fp16_io &&
               c->allows_cast == want[i].cast && c->allows_sdpa == want[i].sdpa &&
               c->surface_align == want[i].align &&
               c->surface_min_bytes == want[i].min_bytes && c->compile_budget == want[i].budget &&
               c->peak_tflops == want[i].tflops && n > 0 && !strcmp(pref[0], want[i].first) &&
               c->size == sizeof *c && c->cpu_features != NULL;
    if (!ok(good, "profile of %s", want[i].name)) chip_print(c, stdout);
}

int main(void)
{
    struct ant_chip c;
    struct ant_err e = {""};
    char text[2048];
    tmp_dir_make("anetrain-chip");
    const char *user = tmp_path("chips.cfg");

    ok(chip_profiles_load("", &e) == 0, "shipped profiles load (%s)", e.msg);

    /* The embedded copy is the installed file, byte for byte. */
    const char *path = srcdir_path("configs/chips.cfg");
    size_t len = 0;
    char *file = (char *)slurp(path, &len);
    ok(file && len > 0 && !strcmp(file, ant_chips_cfg_text), "embedded chips.cfg equals %s", path);
    free(file);

    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        e.msg[0] = 0;
        if (!ok(chip_from_name(want[i].name, &c, &e) == 0, "chip_from_name(%s) %s",
                want[i].name, e.msg))
            continue;
        check_profile(&c, (int)i);
        ok(c.forced == 1, "%s is marked forced", want[i].name);
    }

    /* Spellings a user may type. */
    static const char *const same[][2] = {
        {"m4 pro", "M4 Pro"}, {"M4-Pro", "M4 Pro"}, {"m2_ultra", "M2 Ultra"},
        {"unknown", "unknown Apple"}, {"NONE", "none"}, {"M3", "M3"},
    };
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++)
        ok(chip_from_name(same[i][0], &c, &e) == 0 && !strcmp(c.name, same[i][1]),
           "\"%s\" names %s", same[i][0], same[i][1]);
    static const char *const bad[] = {"M", "M4 Turbo", "X4", "M0", "", "M4 Pro Max"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        e.msg[0] = 0;
        ok(chip_from_name(bad[i], &c, &e) < 0 && strstr(e.msg, "expected M1..M5"),
           "\"%s\" is refused: %s", bad[i], e.msg);
    }

    /* Brand strings as sysctl gives them (§8.1), with hw.cpufamily values. */
    static const struct { const char *brand; uint32_t fam; const char *name; } brands[] = {
        {"Apple M1", 0x1b588bb3, "M1"},           {"Apple M1 Pro", 0x1b588bb3, "M1 Pro"},
        {"Apple M3 Ultra", 0, "M3 Ultra"},        {"Apple M4 Max", 0x17d5b93a, "M4 Max"},
        {"Apple M5", 0x1d5a87e8, "M5"},           {"Apple M2 Max", 0x6f5129ac, "M2 Max"},
        {"Apple M9", 0, "unknown Apple"},         {"Apple A18 Pro", 0, "unknown Apple"},
        {"", 0xfa33415e, "unknown Apple"},        {"Intel(R) Core(TM) i9", 0x0, "none"},
        {NULL, 0, "none"},
    };
    for (size_t i = 0; i < sizeof brands / sizeof brands[0]; i++) {
        int rc = chip_from_sysctl(brands[i].brand, brands[i].fam, &c, &e);
        ok(rc == 0 && !strcmp(c.name, brands[i].name) && !c.forced,
           "brand \"%s\" cpufamily 0x%08x -> %s (got %s)", brands[i].brand ? brands[i].brand : "(none)",
           brands[i].fam, brands[i].name, rc == 0 ? c.name : e.msg);
    }
#ifndef __APPLE__
    ok(chip_detect(&c, "", &e) == 0 && !strcmp(c.name, "none") && !c.has_ane && !c.forced,
       "this machine (not macOS) detects as none; cpu features \"%s\"", c.cpu_features);
#endif
    ok(chip_detect(&c, "M2", &e) == 0 && !strcmp(c.name, "M2") && c.forced, "forced M2");

    /* A user file overrides a key, adds a chip, and changes a preference order. */
    write_text(user,
               "chips = (\n"
               "  { name = \"M4\"; compile_budget = 80; backends = [\"*\", \"cpu\"]; },\n"
               "  { name = \"M6\"; backends = [\"ane-dynamic\", \"cpu\"]; mil_program = \"1.5\";\n"
               "    mil_target = \"ios18\"; mil_verbose_scalars = false; fp16_io = false;\n"
               "    allows_cast = true; surface_align = 64; surface_min_bytes = 4096;\n"
               "    compile_budget = 200; peak_tflops = 30; }\n"
               ");\n");
    struct ant_chip before;
    ok(chip_from_name("M4 Pro", &before, &e) == 0, "M4 Pro before the user file");
    ok(chip_profiles_load(user, &e) == 0, "user file loads (%s)", e.msg);
    const char *const *pref;
    ok(chip_from_name("M4 Pro", &c, &e) == 0 && c.compile_budget == 80 &&
       c.surface_min_bytes == 49152 && c.allows_sdpa == 1 && chip_preference(&c, &pref) == 2 &&
       !strcmp(pref[0], "*"),
       "user file overrides M4's budget and order, keeps the rest");
    ok(!strcmp(before.mil_target, "ios18") && before.compile_budget == 100,
       "an ant_chip filled before the reload is intact");
    ok(chip_from_name("M6", &c, &e) == 0 && c.family == 6 && !strcmp(c.mil_program, "1.5") &&
       c.peak_tflops == 30.0 && c.allows_sdpa == 0,
       "user file adds M6; allows_sdpa, optional and not given, is false");
    ok(strstr(chip_profiles_source(), user) != NULL, "source names the user file: %s",
       chip_profiles_source());

    /* Errors name file:line and the key. */
    static const struct { const char *text, *msg; } errs[] = {
        {"chips = (\n { name = \"M4\";\n  budget = 3; }\n);\n", ":3: unknown chip profile key 'budget'"},
        {"chips = (\n { name = \"M4\";\n\n  fp16_io = 1; }\n);\n", ":4: fp16_io: expected true or false"},
        {"chips = (\n { name = \"M4\"; surface_align = \"x\"; }\n);\n", ":2: surface_align: expected"},
        {"chips = (\n { mil_target = \"ios16\"; }\n);\n", ":2: chip profile without a name"},
        {"chips = (\n { name = \"M4\" \n);\n", ":3: "},
        {"chips = (\n { name = \"M7\"; compile_budget = 9; }\n);\n", "lacks key 'backends'"},
    };
    for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++) {
        write_text(user, errs[i].text);
        e.msg[0] = 0;
        int rc = chip_profiles_load(user, &e);
        if (rc == 0) rc = chip_from_name("M7", &c, &e);
        snprintf(text, sizeof text, "%s%s", user, errs[i].msg);
        ok(rc < 0 && (strstr(e.msg, text) || strstr(e.msg, errs[i].msg)),
           "bad user file %zu: %s", i, e.msg);
    }
    ok(chip_profiles_load("/nonexistent/chips.cfg", &e) < 0 && strstr(e.msg, "/nonexistent/chips.cfg"),
       "a user file named on purpose must exist: %s", e.msg);
    ok(chip_profiles_load("", &e) == 0 && chip_from_name("M6", &c, &e) == 0 &&
       !strcmp(c.name, "unknown Apple"), "without the user file M6 is unknown Apple");

    tmp_dir_remove();
    return tap_done();
}
