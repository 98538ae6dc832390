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

/* An M1/M2-style profile as docs/ane.md §7.1/§7.3/§12.6 give it for the OS. */
static int is_modern(const struct ant_chip *c)
{
    return !strcmp(c->mil_program, "1.3") && !strcmp(c->mil_target, "ios18") &&
           !c->mil_verbose_scalars && !*c->ops_refused && !c->silent_zero_rules;
}

static int is_macos26(const struct ant_chip *c)
{
    return !strcmp(c->mil_program, "1.0") && !strcmp(c->mil_target, "ios16") &&
           c->mil_verbose_scalars && c->silent_zero_rules && c->fp16_io && !c->allows_cast &&
           !strcmp(c->ops_refused, "reshape transpose slice_by_size slice_by_index concat "
                                   "split gather pad reduce_* pow rsqrt");
}

/* The OS dimension: version parsing with strings as kern.osproductversion gives them,
 * ranges, the profile each OS gets, user overrides of OS entries, errors. */
static void test_os(const char *user)
{
    struct ant_chip c;
    struct ant_err e = {""};
    int v[3];
    static const struct { const char *s; int v0, v1, v2; } versions[] = {
        {"15.6", 15, 6, 0}, {"26.3", 26, 3, 0}, {"15.6.1", 15, 6, 1}, {"26", 26, 0, 0},
        {"10.15.7", 10, 15, 7}, {"15.99", 15, 99, 0},
    };
    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++)
        ok(chip_os_parse(versions[i].s, v) == 0 && v[0] == versions[i].v0 &&
           v[1] == versions[i].v1 && v[2] == versions[i].v2, "os version \"%s\" parses to %d.%d.%d",
           versions[i].s, versions[i].v0, versions[i].v1, versions[i].v2);
    static const char *const bad[] = {"", "linux", "15.", ".6", "15.6.1.2", "15a", "-1", " 15",
                                      "12345", "15..6", NULL};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ok(chip_os_parse(bad[i], v) < 0, "\"%s\" is not an os version", bad[i] ? bad[i] : "(null)");

    /* kern.osproductversion as macOS reports it; 16.x is macOS 26 in compatibility mode */
    static const char *const sysctl[][2] = {
        {"15.6", "15.6"}, {"26.3", "26.3"}, {"15.6.1", "15.6.1"}, {"16.0", "26.0"},
        {"16.1.2", "26.1.2"}, {"", ""}, {"Darwin", ""}, {"26.3 ", ""},
    };
    char buf[32];
    for (size_t i = 0; i < sizeof sysctl / sizeof sysctl[0]; i++)
        ok(!strcmp(chip_os_from_sysctl(sysctl[i][0], buf, sizeof buf), sysctl[i][1]),
           "kern.osproductversion \"%s\" -> \"%s\" (got \"%s\")", sysctl[i][0], sysctl[i][1], buf);
    ok(!strcmp(chip_os_from_sysctl(NULL, buf, sizeof buf), ""), "no kern.osproductversion -> unknown");

    static const struct { const char *range, *os; int in; } ranges[] = {
        {">= 26", "26.0", 1}, {">= 26", "25.9", 0}, {">=26", "26.3", 1}, {"< 26", "15.6", 1},
        {"< 26", "26", 0}, {"< 26", "25.99.99", 1}, {"> 15", "15.0.1", 1}, {"> 15", "15", 0},
        {"<= 15.6", "15.6", 1}, {"<= 15.6", "15.6.1", 0}, {"15.0 - 15.99", "15.6", 1},
        {"15.0 - 15.99", "16.0", 0}, {"15.0 - 15.99", "14.7", 0}, {"15 - 15", "15.0.0", 1},
        /* unknown OS: only ranges without an upper end */
        {">= 26", "", 1}, {"< 26", "", 0}, {"15.0 - 15.99", "linux", 0}, {"> 15", NULL, 1},
        {"<= 30", "linux", 0},
    };
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++)
        ok(chip_os_in_range(ranges[i].range, ranges[i].os, &e) == ranges[i].in,
           "os \"%s\" %s range \"%s\"", ranges[i].os ? ranges[i].os : "(unknown)",
           ranges[i].in ? "is in" : "is not in", ranges[i].range);
    static const char *const bad_ranges[] = {"26", "=> 26", ">= x", "16 - 15", "", ">=",
                                             "15 -", "~26", ">= 26.1.2.3"};
    for (size_t i = 0; i < sizeof bad_ranges / sizeof bad_ranges[0]; i++) {
        e.msg[0] = 0;
        ok(chip_os_in_range(bad_ranges[i], "26", &e) < 0 && strstr(e.msg, "expected \">= V\""),
           "range \"%s\" refused: %s", bad_ranges[i], e.msg);
    }

    /* Profiles by OS (§7.1, §7.3, §12.6) */
    ok(chip_profiles_load("", &e) == 0, "shipped profiles again");
    static const struct { const char *chip, *os; int modern; double tflops; const char *entries; } by_os[] = {
        {"M1", "15.6", 1, 11.0, "M1, M1 [os < 26]"},
        {"M1", "26.3", 0, 11.0, "M1, M1 [os >= 26]"},
        {"M1", "", 0, 11.0, "M1, M1 [os >= 26]"},
        {"M1", "linux", 0, 11.0, "M1, M1 [os >= 26]"},
        {"M1 Pro", "15.0", 1, 11.0, "M1, M1 [os < 26]"},
        {"M1 Ultra", "14.7.1", 1, 22.0, "M1, M1 Ultra, M1 [os < 26]"},
        {"M1 Ultra", "26.0", 0, 22.0, "M1, M1 Ultra, M1 [os >= 26]"},
        {"M2 Max", "15.6", 1, 15.8, "M2, M2 [os < 26]"},
        {"M2", "26.1", 0, 15.8, "M2, M2 [os >= 26]"},
        {"unknown", "15.6", 1, 19.0, "unknown Apple, unknown Apple [os < 26]"},
        {"unknown", "26.3", 0, 19.0, "unknown Apple, unknown Apple [os >= 26]"},
    };
    char entries[256];
    for (size_t i = 0; i < sizeof by_os / sizeof by_os[0]; i++) {
        e.msg[0] = 0;
        int rc = chip_from_name(by_os[i].chip, &c, &e);
        rc = rc ? rc : chip_set_os(&c, by_os[i].os, &e);
        chip_profile_entries(&c, entries, sizeof entries);
        int good = rc == 0 && !strcmp(c.os_version, by_os[i].os) && c.peak_tflops == by_os[i].tflops &&
                   (by_os[i].modern ? is_modern(&c) : is_macos26(&c)) && c.fp16_io &&
                   !strcmp(entries, by_os[i].entries);
        if (!ok(good, "%s on macOS \"%s\": %s rules, entries %s", by_os[i].chip, by_os[i].os,
                by_os[i].modern ? "modern" : "macOS 26", by_os[i].entries))
            chip_print(&c, stdout);
    }
    static const char *const newer[] = {"M3", "M4 Pro", "M5"};
    for (size_t i = 0; i < 3; i++) {
        chip_from_name(newer[i], &c, &e);
        int same = !chip_set_os(&c, "26.3", &e) && !strcmp(c.mil_program, "1.3") &&
                   !*c.ops_refused && !c.silent_zero_rules;
        ok(same && !chip_set_os(&c, "15.6", &e) && !strcmp(c.mil_program, "1.3") &&
           !*c.ops_refused && !c.silent_zero_rules, "%s: no OS entries, the same rules on 15.6 and 26.3", newer[i]);
    }
    ok(chip_detect(&c, "M1", "15.6", &e) == 0 && c.forced && !strcmp(c.os_version, "15.6") && is_modern(&c),
       "chip_detect(M1, os 15.6): the modern dialect");
    ok(chip_detect(&c, "M1", "26.3", &e) == 0 && is_macos26(&c), "chip_detect(M1, os 26.3): the macOS 26 rules");
    ok(chip_detect(&c, "M1", "16.1", &e) == 0 && !strcmp(c.os_version, "26.1") && is_macos26(&c),
       "chip_detect(M1, os 16.1): macOS 26's compatibility version, taken as 26.1");
#ifndef __APPLE__
    ok(chip_detect(&c, "M1", NULL, &e) == 0 && !strcmp(c.os_version, "linux") && is_macos26(&c),
       "a forced M1 off macOS: os \"linux\", the conservative (>= 26) rules");
#endif
    e.msg[0] = 0;
    ok(chip_detect(&c, "M1", "Tahoe", &e) < 0 && strstr(e.msg, "os 'Tahoe': expected a macOS version"),
       "a forced os that is no version is refused: %s", e.msg);

    /* A user file overrides an OS entry (same name and range, any spacing), and adds one
     * for a variant, which applies after the family's. */
    write_text(user,
               "chips = (\n"
               "  { name = \"M1\"; os = \">=26\"; silent_zero_rules = false; },\n"
               "  { name = \"M4 Pro\"; os = \"15.0 - 15.99\"; compile_budget = 50; },\n"
               "  { name = \"M4\"; os = \"15.0 - 15.99\"; compile_budget = 60; peak_tflops = 1; }\n"
               ");\n");
    ok(chip_profiles_load(user, &e) == 0, "user file with OS entries loads (%s)", e.msg);
    ok(chip_detect(&c, "M1", "26.3", &e) == 0 && !c.silent_zero_rules && *c.ops_refused &&
       !strcmp(c.mil_program, "1.0"), "the user's M1 >=26 entry overrides silent_zero_rules only");
    ok(chip_detect(&c, "M4 Pro", "15.6", &e) == 0 && c.compile_budget == 50 && c.peak_tflops == 1.0,
       "M4 Pro on 15.6: family OS entry, then the variant's (budget 50, peak 1)");
    ok(chip_detect(&c, "M4 Pro", "26.0", &e) == 0 && c.compile_budget == 100 && c.peak_tflops == 18.6,
       "M4 Pro on 26.0: neither OS entry");
    chip_profile_entries(&c, entries, sizeof entries);
    ok(!strcmp(entries, "M4"), "entries of M4 Pro on 26.0: %s", entries);
    ok(chip_detect(&c, "M4 Pro", "15.6", &e) == 0, "again");
    chip_profile_entries(&c, entries, sizeof entries);
    ok(!strcmp(entries, "M4, M4 [os 15.0 - 15.99], M4 Pro [os 15.0 - 15.99]"), "entries: %s", entries);

    static const struct { const char *text, *msg; } errs[] = {
        {"chips = (\n { name = \"M1\";\n  os = 26; }\n);\n", ":3: os: expected a range"},
        {"chips = (\n { name = \"M1\"; os = \"26\"; }\n);\n", ":2: os \"26\": expected \">= V\""},
        {"chips = (\n { name = \"M1\"; os = \">= 26\";\n ops_refused = [\"Reshape\"]; }\n);\n",
         ":3: ops_refused: 'Reshape' is not a MIL op name"},
        {"chips = (\n { name = \"M1\"; os = \">= 26\";\n ops_refused = \"reshape\"; }\n);\n",
         ":3: ops_refused: expected a list"},
        {"chips = (\n { name = \"M1\";\n silent_zero_rules = 1; }\n);\n",
         ":3: silent_zero_rules: expected true or false"},
    };
    for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++) {
        write_text(user, errs[i].text);
        e.msg[0] = 0;
        ok(chip_profiles_load(user, &e) < 0 && strstr(e.msg, user) && strstr(e.msg, errs[i].msg),
           "bad OS entry %zu: %s", i, e.msg);
    }
    ok(chip_profiles_load("", &e) == 0, "shipped profiles restored");
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
    ok(chip_detect(&c, "", NULL, &e) == 0 && !strcmp(c.name, "none") && !c.has_ane && !c.forced,
       "this machine (not macOS) detects as none; cpu features \"%s\"", c.cpu_features);
#endif
    ok(chip_detect(&c, "M2", NULL, &e) == 0 && !strcmp(c.name, "M2") && c.forced, "forced M2");
    test_os(user);

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
