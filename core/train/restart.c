/* The restart state in the environment (restart.h): "key=value" pairs separated by
 * spaces, doubles printed with %.17g so they round-trip exactly. */
#include "base/util.h"
#include "train/restart.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIELDS(X) X(restarts, L) X(step, L) X(end, L) X(steps, L) X(skipped, L) \
    X(compiles, L) X(wall_ms, D) X(startup_ms, D) X(compile_ms, D) X(tokens, D) X(flops, D) X(first_loss, D) \
    X(last_loss, D)

int restart_state_put(const struct restart_state *s)
{
    char buf[1024];
    size_t n = 0;
#define L(f) n += snprintf(buf + n, sizeof buf - n, "%s=%ld ", #f, s->f);
#define D(f) n += snprintf(buf + n, sizeof buf - n, "%s=%.17g ", #f, s->f);
#define X(f, k) k(f)
    FIELDS(X)
#undef X
#undef L
#undef D
    return setenv(RESTART_ENV, buf, 1);
}

int restart_state_take(struct restart_state *s, struct ant_err *e)
{
    const char *v = getenv(RESTART_ENV);
    char buf[1024];
    if (!v) return 0;
    snprintf(buf, sizeof buf, "%s", v);
    unsetenv(RESTART_ENV);
    memset(s, 0, sizeof *s);
    int seen = 0, want = 0;
    for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " ")) {
        char *eq = strchr(tok, '='), *end;
        if (!eq) return ant_errf(e, RESTART_ENV ": '%s' is not key=value", tok);
        *eq = 0;
        const char *val = eq + 1;
#define L(f) if (!strcmp(tok, #f)) { s->f = strtol(val, &end, 10); seen++; } else
#define D(f) if (!strcmp(tok, #f)) { s->f = strtod(val, &end); seen++; } else
#define X(f, k) k(f)
        FIELDS(X) return ant_errf(e, RESTART_ENV ": unknown field '%s'", tok);
#undef X
#undef L
#undef D
        if (*end || end == val) return ant_errf(e, RESTART_ENV ": %s=%s is not a number", tok, val);
    }
#define X(f, k) want++;
    FIELDS(X)
#undef X
    return seen == want ? 1 : ant_errf(e, RESTART_ENV ": %d of %d fields", seen, want);
}
