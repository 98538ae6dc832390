/* bench_kcache: what the on-disk compile cache (backends/ane/device/kcache.h) costs and
 * saves on the emulator. N distinct weight-bearing kernels (a 1x1 conv D -> D over
 * T positions, the static pipeline's projection shape, §5.2) are compiled on a fresh
 * device three ways: cache off, cold (a miss and a store each), warm (a restore each:
 * parse the stored text, bind the weights, load). Then the cost of a store into a
 * folder of E entries (the eviction scan reads the folder after every store).
 * Figures are milliseconds per kernel, medians of 3 rounds; never fails on time.
 * Usage: bench_kcache [N D T E]   (default 50 768 256 2000). Uses a temp folder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ane/device/device.h"
#include "ane/device/kcache.h"
#include "ane/mil/mil_build.h"
#include "base/rng.h"

static int N = 50, D = 768, T = 256, E = 2000;

static char *kernel(const struct ant_chip *chip, struct ane_weights *w, const float *wq)
{
    struct ant_err e;
    struct mil_builder *b = milb_new(chip);
    mil_v x = milb_input(b, "act", MIL_FP16, MIL_SHAPE(1, D, 1, T));
    milb_output(b, milb_conv(b, "proj", x, milb_weight(b, "wq", w, "wq.bin", MIL_SHAPE(D, D, 1, 1), wq)));
    char *t = milb_text(b, &e);
    milb_free(b);
    return t;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* ms per kernel for compiling all N on a new device with the cache on or off. */
static double round_ms(const struct ant_chip *chip, char **text, struct ane_weights *w, int on, long *hits)
{
    struct ant_err e;
    struct ane_device *d = ane_open("emulator", chip, &e);
    if (!d || (!on && ane_cache_configure(d, NULL, 0, 0, &e))) return fprintf(stderr, "%s\n", e.msg), -1;
    double t0 = ant_now_ms();
    for (int i = 0; i < N; i++) {
        struct ane_kernel *k = ane_compile(d, text[i], strlen(text[i]), &w[i], "proj.mil", &e);
        if (!k) return fprintf(stderr, "%s\n", e.msg), -1;
        ane_kernel_free(k);
    }
    double ms = (ant_now_ms() - t0) / N;
    struct ane_device_stats ds;
    ane_device_stats(d, &ds);
    *hits = ds.disk_hits;
    ane_close(d);
    return ms;
}

int main(int argc, char **argv)
{
    if (argc == 5) N = atoi(argv[1]), D = atoi(argv[2]), T = atoi(argv[3]), E = atoi(argv[4]);
    char dir[] = "/tmp/bench_kcache-XXXXXX";
    if (!mkdtemp(dir)) return perror("mkdtemp"), 1;
    setenv("ANETRAIN_CACHE_DIR", dir, 1);
    struct ant_chip chip = {sizeof chip, "M4", 4, "base", 1, 1, "", "1.3", "ios18", 0, 0, 1, 128, 49152, 0, 18.6, 1};
    struct ant_rng r;
    rng_seed(&r, 1);
    float *wq = malloc((size_t)D * D * sizeof *wq);
    for (size_t i = 0; i < (size_t)D * D; i++) wq[i] = (float)rng_normal(&r) * 0.02f;
    char **text = calloc((size_t)N, sizeof *text);
    struct ane_weights *w = calloc((size_t)N, sizeof *w);
    for (int i = 0; i < N; i++) {
        wq[0] = (float)i;   /* a different weight set: a different key */
        weights_init(&w[i]);
        text[i] = kernel(&chip, &w[i], wq);
    }
    double off[3], cold[3], warm[3];
    long hits = 0, warm_hits = 0;
    char cmd[128];
    for (int k = 0; k < 3; k++) {
        snprintf(cmd, sizeof cmd, "rm -f %s/*.kc", dir);
        if (system(cmd)) return 1;
        off[k] = round_ms(&chip, text, w, 0, &hits);
        cold[k] = round_ms(&chip, text, w, 1, &hits);
        warm[k] = round_ms(&chip, text, w, 1, &warm_hits);
    }
    qsort(off, 3, sizeof *off, cmp), qsort(cold, 3, sizeof *cold, cmp), qsort(warm, 3, sizeof *warm, cmp);
    printf("%d kernels, conv %d -> %d over %d positions (%.1f MB of fp16 weights each)\n", N, D, D, T,
           2.0 * D * D / 1e6);
    printf("  cache off:            %8.2f ms per kernel\n", off[1]);
    printf("  cold (miss + store):  %8.2f ms per kernel\n", cold[1]);
    printf("  warm (restore):       %8.2f ms per kernel (%ld of %d from disk, 0 compiles)\n", warm[1], warm_hits, N);

    /* a store into a folder of E entries: the eviction scan's cost */
    struct ant_err e;
    struct ane_kcache c;
    ane_kcache_init(&c, dir, 0, 1, &e);
    static char payload[4096];
    double t0 = ant_now_ms();
    for (int i = 0; i < E; i++) {
        struct ane_kcache_key key = {1000 + (uint64_t)i, "M4", "os", "emulator"};
        if (ane_kcache_store(&c, &key, payload, sizeof payload, &e)) return fprintf(stderr, "%s\n", e.msg), 1;
    }
    printf("  %d stores of 4 KiB into a growing folder: %.3f ms per store (fsync and scan included)\n", E,
           (ant_now_ms() - t0) / E);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) return 1;
    for (int i = 0; i < N; i++) free(text[i]), weights_free(&w[i]);
    free(text), free(w), free(wq);
    return 0;
}
