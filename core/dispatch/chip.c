/* Chip detection: the hardware (sysctl on macOS) or a forced name -> struct ant_chip,
 * with the profile from chipprof.c. docs/ane.md §8.1. */
#include <config.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifdef __APPLE__
#include <sys/sysctl.h>
#endif

#include "dispatch/chipprof.h"
#include "dispatch/cpufeat.h"

static const char *const variants[] = {"base", "Pro", "Max", "Ultra"};

/* hw.cpufamily values (§8.1, third-party listings: a cross-check only, the brand string
 * decides). generation, variant index into variants[] (-1: family shared by several). */
static const struct { uint32_t id; int gen, variant; } cpufamilies[] = {
    {0x1b588bb3, 1, -1}, {0xda33d83d, 2, -1}, {0xfa33415e, 3, 0}, {0x5f4dea93, 3, 1},
    {0x72015832, 3, 2},  {0x6f5129ac, 4, 0},  {0x17d5b93a, 4, -1}, {0x1d5a87e8, 5, 0},
    {0xf76c5b1a, 5, -1},
};

/* Parse "M<gen>[ sep variant]" at s: gen > 0 and variant index, or -1 on a bad form.
 * strict: nothing may follow the variant. */
static int parse_m(const char *s, int *gen, int *variant, int strict)
{
    if (toupper((unsigned char)*s) != 'M' || !isdigit((unsigned char)s[1])) return -1;
    char *end;
    long g = strtol(s + 1, &end, 10);
    if (g < 1 || g > 99) return -1;
    *gen = (int)g;
    *variant = 0;
    while (*end == ' ' || *end == '-' || *end == '_') end++;
    for (int v = 1; v < 4; v++) {
        size_t n = strlen(variants[v]);
        if (!strncasecmp(end, variants[v], n)) {
            *variant = v;
            end += n;
            break;
        }
    }
    if (strict && *end) return -1;
    return 0;
}

/* Name, family and profile for generation gen (0 = unknown Apple, -1 = none). */
static int fill(struct ant_chip *out, int gen, int variant, int forced, struct ant_err *e)
{
    char fam[16], full[32];
    memset(out, 0, sizeof *out);
    out->size = sizeof *out;
    out->forced = forced;
    out->cpu_features = cpufeat_string();
    out->os_version = "";      /* unknown until chip_set_os: the conservative entries */
    out->ops_refused = "";
    if (gen > 0) {
        snprintf(fam, sizeof fam, "M%d", gen);
        if (!chipprof_exists(fam)) {
            ant_log(ANT_LOG_WARN, "chip", "M%d has no profile: using the conservative "
                    "'unknown Apple' profile (add one to a user chips.cfg)", gen);
            gen = 0;
        }
    }
    if (gen > 0) {
        snprintf(full, sizeof full, "%s%s%s", fam, variant ? " " : "",
                 variant ? variants[variant] : "");
        out->name = chipprof_intern(full);
        out->family = gen;
        out->variant = variants[variant];
        out->has_ane = 1;
        return out->name ? chipprof_resolve(out, e) : ant_errf(e, "chip: out of memory");
    }
    out->name = gen == 0 ? "unknown Apple" : "none";
    out->family = gen;
    out->variant = "";
    out->has_ane = gen == 0;
    return chipprof_resolve(out, e);
}

int chip_from_name(const char *name, struct ant_chip *out, struct ant_err *e)
{
    int gen, variant;
    if (!strcasecmp(name, "none")) return fill(out, -1, 0, 1, e);
    if (!strcasecmp(name, "unknown") || !strcasecmp(name, "unknown Apple"))
        return fill(out, 0, 0, 1, e);
    if (parse_m(name, &gen, &variant, 1) < 0)
        return ant_errf(e, "chip '%s': expected M1..M5 with an optional Pro, Max or Ultra "
                           "(\"M4 Pro\"), \"unknown\" or \"none\"", name);
    return fill(out, gen, variant, 1, e);
}

int chip_from_sysctl(const char *brand, uint32_t cpufamily, struct ant_chip *out,
                     struct ant_err *e)
{
    int gen = 0, variant = 0, fam_gen = 0;
    for (size_t i = 0; i < sizeof cpufamilies / sizeof cpufamilies[0]; i++)
        if (cpufamilies[i].id == cpufamily) fam_gen = cpufamilies[i].gen;
    /* §8.1: "Apple M<gen>[ Pro|Max|Ultra]". */
    if (brand && !strncmp(brand, "Apple M", 7) && parse_m(brand + 6, &gen, &variant, 0) == 0) {
        if (fam_gen && fam_gen != gen)
            ant_log(ANT_LOG_WARN, "chip", "brand string says M%d but hw.cpufamily 0x%08x "
                    "says M%d: trusting the brand string", gen, cpufamily, fam_gen);
        return fill(out, gen, variant, 0, e);
    }
    if ((brand && !strncmp(brand, "Apple", 5)) || fam_gen) {
        ant_log(ANT_LOG_WARN, "chip", "unrecognised Apple chip (brand \"%s\", cpufamily "
                "0x%08x): using the conservative 'unknown Apple' profile",
                brand ? brand : "", cpufamily);
        return fill(out, 0, 0, 0, e);
    }
    return fill(out, -1, 0, 0, e);
}

static int detect_hardware(struct ant_chip *out, struct ant_err *e)
{
#ifdef __APPLE__
    char brand[256] = "";
    uint32_t fam = 0;
    size_t len = sizeof brand - 1;
    if (sysctlbyname("machdep.cpu.brand_string", brand, &len, NULL, 0) != 0) brand[0] = 0;
    len = sizeof fam;
    if (sysctlbyname("hw.cpufamily", &fam, &len, NULL, 0) != 0) fam = 0;
    return chip_from_sysctl(brand, fam, out, e);
#else
    /* No macOS, no usable Neural Engine. */
    return chip_from_sysctl(NULL, 0, out, e);
#endif
}

int chip_detect(struct ant_chip *out, const char *forced, const char *os, struct ant_err *e)
{
    if ((forced && *forced ? chip_from_name(forced, out, e) : detect_hardware(out, e)) < 0)
        return -1;
    return chipos_pick(out, os, e);
}

void chip_print(const struct ant_chip *c, FILE *out)
{
    const char *const *pref;
    int n = chip_preference(c, &pref);
    fprintf(out, "chip: %s%s\n", c->name, c->forced ? " (forced)" : "");
    fprintf(out, "  family: %d  variant: %s  neural engine: %s\n", c->family,
            *c->variant ? c->variant : "-", c->has_ane ? "yes" : "no");
    fprintf(out, "  cpu features: %s\n", c->cpu_features ? c->cpu_features : "");
    fprintf(out, "  profile: MIL program(%s) <%s> %s scalars; %s surfaces, cast %s, sdpa %s\n",
            c->mil_program, c->mil_target, c->mil_verbose_scalars ? "verbose" : "shorthand",
            c->fp16_io ? "fp16" : "fp32", c->allows_cast ? "allowed" : "unsupported",
            c->allows_sdpa ? "allowed" : "unsupported");
    fprintf(out, "  surfaces: align %d B, min %d B; compile budget %d; peak %.1f fp16 TFLOPS\n",
            c->surface_align, c->surface_min_bytes, c->compile_budget, c->peak_tflops);
    char entries[512];
    chip_profile_entries(c, entries, sizeof entries);
    fprintf(out, "  os: %s; profile entries: %s\n",
            c->os_version && *c->os_version ? c->os_version : "unknown (conservative entries)",
            entries);
    fprintf(out, "  ops refused: %s; silent-zero rules (§7.3): %s\n",
            c->ops_refused && *c->ops_refused ? c->ops_refused : "none",
            c->silent_zero_rules ? "yes" : "no");
    fprintf(out, "  preference:");
    for (int i = 0; i < n; i++) fprintf(out, " %s", pref[i]);
    fprintf(out, "\n  profiles from: %s\n", chip_profiles_source());
}
