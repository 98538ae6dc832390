/* The OS dimension of the chip profiles: macOS versions, the `os` ranges of
 * configs/chips.cfg entries, and reading the version on macOS. docs/ane.md §7.1, §7.3,
 * §12.6: M1 trained with the modern dialect on macOS 15 and needs the verbose one,
 * without reshape/concat/..., on macOS 26. */
#include <config.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#ifdef __APPLE__
#include <sys/sysctl.h>
#else
#include <sys/utsname.h>
#endif

#include "dispatch/chipprof.h"

/* "N[.N[.N]]" at s, each part 1..4 digits: characters read, or -1. */
static int parse_version(const char *s, int v[3])
{
    int parts = 0, k = 0;
    v[0] = v[1] = v[2] = 0;
    for (;;) {
        int digits = 0, x = 0;
        while (isdigit((unsigned char)s[k])) {
            if (++digits > 4) return -1;
            x = x * 10 + (s[k++] - '0');
        }
        if (!digits) return -1;
        v[parts++] = x;
        if (s[k] != '.' || parts == 3) return k;
        k++;
    }
}

int chip_os_parse(const char *s, int v[3])
{
    int n = s ? parse_version(s, v) : -1;
    return n > 0 && !s[n] ? 0 : -1;
}

static int cmp3(const int a[3], const int b[3])
{
    for (int i = 0; i < 3; i++)
        if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
    return 0;
}

int chip_os_in_range(const char *range, const char *os, struct ant_err *e)
{
    char t[64];
    size_t n = 0;
    for (const char *r = range ? range : ""; *r; r++)
        if (*r != ' ' && *r != '\t') {
            if (n + 1 >= sizeof t) return ant_errf(e, "os \"%s\": too long", range);
            t[n++] = *r;
        }
    t[n] = 0;
    int lo[3], hi[3], has_lo = 0, has_hi = 0, lo_incl = 1, hi_incl = 1, bad = 0;
    char *dash = strchr(t, '-');
    if (t[0] == '>' || t[0] == '<') {
        int incl = t[1] == '=', above = t[0] == '>';
        bad = chip_os_parse(t + 1 + incl, above ? lo : hi) < 0;
        *(above ? &has_lo : &has_hi) = 1;
        *(above ? &lo_incl : &hi_incl) = incl;
    } else if (dash) {
        *dash = 0;
        bad = chip_os_parse(t, lo) < 0 || chip_os_parse(dash + 1, hi) < 0 || cmp3(lo, hi) > 0;
        has_lo = has_hi = 1;
    } else {
        bad = 1;
    }
    if (bad)
        return ant_errf(e, "os \"%s\": expected \">= V\", \"> V\", \"<= V\", \"< V\" or \"V1 - V2\" "
                        "(V1 <= V2) with versions like 26 or 15.6", range ? range : "");
    int v[3];
    if (!os || chip_os_parse(os, v) < 0) return !has_hi;   /* unknown: the newest */
    if (has_lo && cmp3(v, lo) < (lo_incl ? 0 : 1)) return 0;
    if (has_hi && cmp3(v, hi) > (hi_incl ? 0 : -1)) return 0;
    return 1;
}

const char *chip_os_from_sysctl(const char *pv, char *buf, size_t n)
{
    int v[3];
    buf[0] = 0;
    if (chip_os_parse(pv, v) < 0) return buf;
    /* macOS 26 tells programs built against an older SDK that it is 16.x (the scheme
     * Big Sur used with 10.16): there is no macOS 16. */
    const char *rest = strchr(pv, '.');
    if (v[0] == 16) snprintf(buf, n, "26%s", rest ? rest : "");
    else snprintf(buf, n, "%s", pv);
    return buf;
}

/* This machine's OS for the profiles: the macOS version, "" when unreadable, else the
 * system's name ("linux"). */
static const char *os_of_machine(char *buf, size_t n)
{
#ifdef __APPLE__
    char pv[64] = "";
    size_t len = sizeof pv - 1;
    if (sysctlbyname("kern.osproductversion", pv, &len, NULL, 0) != 0) pv[0] = 0;
    chip_os_from_sysctl(pv, buf, n);
    if (!*buf)
        ant_log(ANT_LOG_WARN, "chip", "cannot read the macOS version (kern.osproductversion "
                "\"%s\"): the chip profile's conservative entries apply; give it with --os", pv);
#else
    struct utsname u;
    snprintf(buf, n, "%.40s", uname(&u) == 0 ? u.sysname : "unknown");
    for (char *p = buf; *p; p++) *p = (char)tolower((unsigned char)*p);
#endif
    return buf;
}

int chip_set_os(struct ant_chip *c, const char *os, struct ant_err *e)
{
    if (!(c->os_version = chipprof_intern(os ? os : ""))) return ant_errf(e, "chip: out of memory");
    return chipprof_resolve(c, e);
}

/* Resolve the OS for chip_detect: a forced version, else this machine's. */
int chipos_pick(struct ant_chip *c, const char *forced, struct ant_err *e)
{
    char buf[64];
    int v[3];
    if (!forced || !*forced) return chip_set_os(c, os_of_machine(buf, sizeof buf), e);
    if (chip_os_parse(forced, v) < 0)
        return ant_errf(e, "os '%s': expected a macOS version like \"15.6\" or \"26.3\"", forced);
    /* a 16.x given by hand was read off macOS 26 in compatibility mode, like sysctl's */
    return chip_set_os(c, chip_os_from_sysctl(forced, buf, sizeof buf), e);
}
