/* Minimal TAP emitter for make check (automake's tap-driver.sh reads it).
 * Header-only: each test program includes it once. */
#ifndef ANT_TAP_H
#define ANT_TAP_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int tap_n, tap_failed;

static void tap_plan(int n) __attribute__((unused));
static void tap_plan(int n) { printf("1..%d\n", n); fflush(stdout); }

static void tap_skip_all(const char *why) __attribute__((unused));
static void tap_skip_all(const char *why)
{
    printf("1..0 # SKIP %s\n", why);
    exit(0);
}

static void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2), unused));
static void diag(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("# ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
}

static int ok(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3), unused));
static int ok(int cond, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s %d - ", cond ? "ok" : "not ok", ++tap_n);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    if (!cond) tap_failed++;
    return cond;
}

/* |got - want| <= atol + rtol * |want|, and both finite. */
static int is_close(double got, double want, double atol, double rtol, const char *what)
    __attribute__((unused));
static int is_close(double got, double want, double atol, double rtol, const char *what)
{
    int good = isfinite(got) && isfinite(want) && fabs(got - want) <= atol + rtol * fabs(want);
    if (!ok(good, "%s", what)) diag("got %.9g, want %.9g (atol %g, rtol %g)", got, want, atol, rtol);
    return good;
}

/* Ends the test: prints the plan if none was given up front, returns the exit code. */
static int tap_done(void) __attribute__((unused));
static int tap_done(void)
{
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}

#endif
