/* The MIL parser on the corpus in tests/mil: each malformed program refused with its
 * line:column and reason (tests/mil/corpus.txt), the valid ones accepted; then every
 * truncation and many random mutations of a valid program refused cleanly. */
#include <stdio.h>

#include "tap.h"
#include "test_util.h"
#include "test_ane_util.h"

/* An error must read "FILE:LINE:COL: reason" with a non-empty reason. */
static int well_formed(const char *msg, const char *file)
{
    size_t n = strlen(file);
    int line, col, k = 0;
    return !strncmp(msg, file, n) && sscanf(msg + n, ":%d:%d: %n", &line, &col, &k) == 2 && k && msg[n + k];
}

int main(int argc, char **argv)
{
    const char *src = getenv("ANETRAIN_SRCDIR");
    char dir[1024], path[1200];
    snprintf(dir, sizeof dir, "%s/tests/mil", argc > 1 ? argv[1] : src ? src : ".");
    snprintf(path, sizeof path, "%s/corpus.txt", dir);
    FILE *f = fopen(path, "r");
    if (!f) tap_skip_all("tests/mil/corpus.txt not found (set ANETRAIN_SRCDIR)");

    struct ant_chip m4 = test_chip_m4(), m1 = test_chip_m1();
    struct ant_err e;
    struct ane_weights w;
    weights_init(&w);
    float W[64];
    for (int i = 0; i < 64; i++) W[i] = (float)i / 64;
    uint64_t off;
    blob_add_f32(weights_blob(&w, "w.bin", &e), W, 64, &off, &e);   /* [8,8]: one chunk at 64 */
    int8_t Q[64];
    for (int i = 0; i < 64; i++) Q[i] = (int8_t)(i - 32);
    struct ane_blob *b8 = weights_blob(&w, "w8.bin", &e);   /* two int8 chunks: at 64 and 192 */
    ok(!blob_add_i8(b8, Q, 64, &off, &e) && off == 64 && !blob_add_i8(b8, Q, 64, &off, &e) && off == 192,
       "int8 chunks of 64 values at offsets 64 and 64 + 64 + 64 (§4 multi-chunk layout)");

    char line[512];
    while (fgets(line, sizeof line, f)) {
        char name[128], chipname[8], where[32], reason[256];
        if (line[0] == '#' || sscanf(line, "%127s %7s %31s %255[^\n]", name, chipname, where, reason) != 4) continue;
        size_t n;
        snprintf(path, sizeof path, "%s/%s", dir, name);
        char *text = (char *)slurp(path, &n);
        if (!ok(text != NULL, "%s readable", name)) continue;
        const struct ant_chip *c = !strcmp(chipname, "M1") ? &m1 : &m4;
        struct mil_prog *p = mil_load(text, n, name, c, &w, &e);
        if (!strcmp(where, "-")) {
            ok(p != NULL, "%s accepted on %s%s%s", name, chipname, p ? "" : ": ", p ? "" : e.msg);
        } else {
            char loc[200];
            snprintf(loc, sizeof loc, "%s:%s: ", name, where);
            int good = !p && !strncmp(e.msg, loc, strlen(loc)) && strstr(e.msg, reason);
            if (!ok(good, "%s refused at %s: %s", name, where, reason)) diag("got: %s", p ? "(accepted)" : e.msg);
        }
        mil_prog_free(p);
        free(text);
    }
    fclose(f);

    /* every prefix of a valid program is refused with a located reason */
    size_t n;
    snprintf(path, sizeof path, "%s/valid.mil", dir);
    char *text = (char *)slurp(path, &n);
    int bad = 0;
    for (size_t k = 0; text && k < n - 1; k++) {
        struct mil_prog *p = mil_parse(text, k, "cut.mil", &e);
        if (p || !well_formed(e.msg, "cut.mil")) {
            if (!bad++) diag("prefix %zu: %s", k, p ? "accepted" : e.msg);
        }
        mil_prog_free(p);
    }
    ok(text && bad == 0, "all %zu truncations refused with FILE:LINE:COL", n - 1);

    /* random byte mutations: never a crash, every refusal located */
    struct ant_rng r;
    rng_seed(&r, 99);
    static const char alphabet[] = "(){}[]<>,;=\"-0123456789.xpe_aAzZ \n\t\\\0\xff";
    int accepted = 0;
    bad = 0;
    for (int it = 0; text && it < 3000; it++) {
        char *m = malloc(n + 1);
        memcpy(m, text, n + 1);
        for (int j = 0; j < 1 + (int)rng_below(&r, 3); j++)
            m[rng_below(&r, n)] = alphabet[rng_below(&r, sizeof alphabet - 1)];
        struct mil_prog *p = mil_load(m, n, "mut.mil", &m4, &w, &e);
        if (p) accepted++;
        else if (!well_formed(e.msg, "mut.mil") && !strstr(e.msg, "mut.mil: ")) {
            if (!bad++) diag("unlocated: %s", e.msg);
        }
        mil_prog_free(p);
        free(m);
    }
    ok(bad == 0, "3000 mutated programs: %d still valid, the rest refused with a location", accepted);
    free(text);
    weights_free(&w);
    return tap_done();
}
