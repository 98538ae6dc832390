/* The on-disk compile cache (kcache.h, docs/ane.md §18) on the emulator: a new device
 * (a new process's empty in-memory cache) gets the kernel back without a compile and
 * computes bit-identical results; other weights, chips or OS builds miss; damaged
 * entries are found, deleted and rebuilt; the size limit drops the least recently
 * used; two processes sharing an entry never load a bad one; off writes nothing. Also
 * the Apple device's payload (named files) and the OS build string. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "test_util.h"
#include "test_ane_util.h"
#include "ane/device/device_apple_logic.h"
#include "ane/device/kcache.h"
#include "ane/mil/mil.h"

#define NX 512   /* [1, 32, 1, 16] */

/* Compile text on d, run it on x into y; the kernel's from_cache, or -1. */
static int run(struct ane_device *d, const char *text, const struct ane_weights *w, const float *x, float *y)
{
    struct ant_err e;
    struct ane_kernel *k = ane_compile(d, text, strlen(text), w, "norm.mil", &e);
    struct ane_surface *si = k ? ane_surface_for(k, 0, 0, &e) : NULL, *so = k ? ane_surface_for(k, 1, 0, &e) : NULL;
    struct ane_request *r = si && so ? ane_request_new(k, &si, 1, &so, 1, &e) : NULL;
    int rc = r && !ane_surface_put(si, MIL_FP16, 0, x, NX, &e) && !ane_eval(r, &e) &&
             !ane_surface_get(so, MIL_FP16, 0, y, NX, &e) ? 0 : -1;
    struct ane_kernel_stats ks;
    if (k) ane_kernel_stats(k, &ks);
    if (rc) diag("run: %s", e.msg);
    ane_request_free(r), ane_surface_free(si), ane_surface_free(so), ane_kernel_free(k);
    return rc ? -1 : ks.from_cache;
}

static struct ane_device *open_dev(const struct ant_chip *chip)
{
    struct ant_err e;
    struct ane_device *d = ane_open("emulator", chip, &e);
    if (!d) test_bail("cannot open the emulator:", e.msg);
    return d;
}

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static long file_size(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

/* The file of text+w's entry for chip, as a device of this process names it. */
static void entry_path(const struct ane_kcache *c, const char *chip, const char *text, const struct ane_weights *w,
                       char *out, size_t n)
{
    char os[128];
    ane_os_build(os, sizeof os);
    struct ane_kcache_key k = {ane_program_key(text, strlen(text), w), chip, os, "emulator"};
    ane_kcache_path(c, &k, out, n);
}

static void set_mtime(const char *p, time_t t)
{
    struct timeval tv[2] = {{t, 0}, {t, 0}};
    utimes(p, tv);
}

/* A payload that proves itself: 8 bytes of seed, then bytes generated from it. */
static void fill_payload(unsigned char *p, size_t n, uint64_t seed)
{
    memcpy(p, &seed, 8);
    uint64_t s = seed | 1;
    for (size_t i = 8; i < n; i++) s ^= s << 13, s ^= s >> 7, s ^= s << 17, p[i] = (unsigned char)s;
}

static int payload_good(const unsigned char *p, size_t n)
{
    if (n < 8) return 0;
    uint64_t seed;
    memcpy(&seed, p, 8);
    unsigned char *want = malloc(n);
    fill_payload(want, n, seed);
    int good = !memcmp(want, p, n);
    free(want);
    return good;
}

/* One of two processes: store and load the same key 200 times; the number of loads
 * that returned a bad payload or saw a bad entry. */
static int hammer(const char *dir, uint64_t who)
{
    struct ant_err e;
    struct ane_kcache c;
    if (ane_kcache_init(&c, dir, 0, 1, &e)) return 99;
    struct ane_kcache_key k = {42, "M4", "os", "emulator"};
    size_t n = 65536;
    unsigned char *p = malloc(n);
    int bad = 0;
    for (int i = 0; i < 200; i++) {
        fill_payload(p, n - (size_t)(i % 7) * 1000, who << 32 | (uint64_t)i);
        if (ane_kcache_store(&c, &k, p, n - (size_t)(i % 7) * 1000, &e)) bad++;
        void *got;
        size_t gn;
        if (ane_kcache_load(&c, &k, &got, &gn) == 1) bad += !payload_good(got, gn), free(got);
    }
    free(p);
    return bad + (int)c.stats.corrupt;
}

/* payload is text's program as the emulator stores it (mil_print of the checked text). */
static int payload_is_program(const void *payload, size_t n, const char *text, const struct ane_weights *w,
                              const struct ant_chip *chip)
{
    struct ant_err e;
    struct mil_prog *p = mil_load(text, strlen(text), "norm.mil", chip, w, &e);
    char *printed = p ? mil_print(p, chip->mil_verbose_scalars, &e) : NULL;
    int same = printed && strlen(printed) == n && !memcmp(printed, payload, n);
    free(printed), mil_prog_free(p);
    return same;
}

int main(void)
{
    struct ant_err e;
    struct ant_chip m4 = test_chip_m4(), m4pro = m4;
    m4pro.name = "M4 Pro";
    tmp_dir_make("kcache");
    char dir[600];
    snprintf(dir, sizeof dir, "%s", tmp_path("kernels"));
    setenv("ANETRAIN_CACHE_DIR", dir, 1);
    struct ane_kcache view;   /* to name entries as the devices do */
    ane_kcache_init(&view, dir, 0, 1, &e);

    struct ant_rng rng;
    rng_seed(&rng, 7);
    float x[NX], g[32], g2[32], ref[NX], y[NX], y2[NX];
    fill_normal(&rng, x, NX, 2.0);
    fill_normal(&rng, g, 32, 1.0);
    memcpy(g2, g, sizeof g);
    g2[5] += 0.25f;
    struct ane_weights w, w2;
    weights_init(&w), weights_init(&w2);
    char *text = test_norm_kernel(&m4, &w, g), *text2 = test_norm_kernel(&m4, &w2, g2);
    ok(text && text2 && !strcmp(text, text2), "one program, two weight sets");

    /* the reference: a device with the cache off */
    struct ane_device *d = open_dev(&m4);
    ok(ane_cache_configure(d, NULL, 0, 0, &e) == 0 && run(d, text, &w, x, ref) == 0 && !exists(dir),
       "with the cache off the kernel compiles and nothing is written");
    struct ane_device_stats ds;
    ane_device_stats(d, &ds);
    ok(ds.disk_hits + ds.disk_misses + ds.disk_stores == 0 && ds.compiles == 1, "off: no disk lookups, one compile");
    ane_close(d);

    /* miss, store; then a new device (a new process's empty memory) hits */
    char path[1200], path2[1200];
    entry_path(&view, "M4", text, &w, path, sizeof path);
    entry_path(&view, "M4", text2, &w2, path2, sizeof path2);
    d = open_dev(&m4);
    ok(run(d, text, &w, x, y) == 0 && !memcmp(y, ref, sizeof y), "first compile: a miss, same result as the reference");
    ane_device_stats(d, &ds);
    ok(ds.disk_misses == 1 && ds.disk_stores == 1 && ds.compiles == 1 && ds.disk_hits == 0,
       "counted as a disk miss, a store and a compile");
    struct stat st;
    ok(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700, "the cache folder made on the first store, mode 0700");
    size_t en;
    char *entry = (char *)slurp(path, &en);
    struct mil_prog *p = mil_load(text, strlen(text), "norm.mil", &m4, &w, &e);
    char *printed = p ? mil_print(p, m4.mil_verbose_scalars, &e) : NULL;
    ok(entry && en > 6 && !memcmp(entry, "ANTKC\1", 6) && printed && en > strlen(printed) &&
       !strcmp(entry + en - strlen(printed), printed),
       "the entry: magic ANTKC, version 1, ending with the checked program as mil_print writes it");
    free(entry), free(printed), mil_prog_free(p);
    ane_close(d);

    d = open_dev(&m4);
    int before = ane_compiles_in_process();
    memset(y, 0, sizeof y);
    ok(run(d, text, &w, x, y) == 1 && !memcmp(y, ref, sizeof y), "a new device: from the cache, bit-identical output");
    ane_device_stats(d, &ds);
    ok(ds.disk_hits == 1 && ds.cache_hits == 1 && ds.compiles == 0 && ane_compiles_in_process() == before,
       "a disk hit is a cache hit, not a compile (process count stays %d)", before);
    struct ane_kernel *hold = ane_compile(d, text, strlen(text), &w, "norm.mil", &e);
    ok(hold && run(d, text, &w, x, y) == 1 && !memcmp(y, ref, sizeof y), "while a kernel holds it: from memory");
    ane_device_stats(d, &ds);
    ok(ds.cache_hits == 3 && ds.disk_hits == 2 && ds.compiles == 0, "the third hit is in memory, not on disk");
    ane_kernel_free(hold);

    /* other weights, another chip, another OS build: misses */
    ok(run(d, text2, &w2, x, y2) == 0 && memcmp(y2, ref, sizeof y2), "other weights: compiled, another result");
    ane_device_stats(d, &ds);
    ok(ds.compiles == 1 && ds.disk_misses == 1 && exists(path2) && strcmp(path, path2), "other weights: a miss, its own entry");
    ane_close(d);
    d = open_dev(&m4pro);
    ok(run(d, text, &w, x, y) == 0, "chip M4 Pro: compiled");
    ane_device_stats(d, &ds);
    ok(ds.compiles == 1 && ds.disk_hits == 0 && ds.disk_misses == 1, "another chip name is a miss");
    ane_close(d);
    struct ane_kcache c;
    ane_kcache_init(&c, dir, 0, 1, &e);
    struct ane_kcache_key ka = {7, "M4", "25A100", "emulator"}, kb = ka, ki = ka;
    kb.os = "25B200";
    ki.impl = "apple";
    void *got = NULL;
    size_t gn = 0;
    ok(ane_kcache_store(&c, &ka, "payload", 7, &e) == 0 && ane_kcache_load(&c, &kb, &got, &gn) == 0 &&
       ane_kcache_load(&c, &ki, &got, &gn) == 0, "another OS build or implementation is a miss");
    ok(ane_kcache_load(&c, &ka, &got, &gn) == 1 && gn == 7 && !memcmp(got, "payload", 7), "the same key hits");
    free(got);

    /* damaged entries: found, deleted, compiled again, stored anew */
    char os[128];
    ane_os_build(os, sizeof os);
    const char *how[4] = {"truncated", "a flipped payload byte", "a wrong magic", "another key's entry"};
    for (int t = 0; t < 4; t++) {
        size_t n;
        char *b = (char *)slurp(path, &n);
        FILE *f = fopen(path, "wb");
        if (t == 0) fwrite(b, 1, n - 9, f);
        if (t == 1) b[n - 3] ^= 0x10;
        if (t == 2) b[0] = 'X';
        if (t > 0 && t < 3) fwrite(b, 1, n, f);
        fclose(f);
        if (t == 3) rename(path2, path);
        free(b);
        int err_fd = dup(2);
        const char *log = tmp_path("stderr.txt");
        if (!freopen(log, "w", stderr)) test_bail("cannot redirect stderr to", log);
        d = open_dev(&m4);
        memset(y, 0, sizeof y);
        int r = run(d, text, &w, x, y);
        fflush(stderr);
        dup2(err_fd, 2), close(err_fd);
        ane_device_stats(d, &ds);
        char *msg = (char *)slurp(log, &n);
        if (msg && n) msg[strcspn(msg, "\n")] = 0;
        ok(r == 0 && !memcmp(y, ref, sizeof y) && ds.disk_corrupt == 1 && ds.disk_hits == 0 && ds.compiles == 1,
           "%s: detected, compiled again, the right result", how[t]);
        ok(msg && strstr(msg, "compile cache") && strstr(msg, path), "%s: warned about: %s", how[t], msg ? msg : "");
        ok(ane_kcache_load(&c, &(struct ane_kcache_key){ane_program_key(text, strlen(text), &w), "M4", os, "emulator"},
                           &got, &gn) == 1 && payload_is_program(got, gn, text, &w, &m4),
           "%s: the entry replaced by a good one", how[t]);
        free(got), free(msg);
        ane_close(d);
    }

    /* a disk hit needs no budget: with the process's budget spent, it still loads */
    struct ant_chip spent = m4;
    spent.compile_budget = ane_compiles_in_process();
    d = open_dev(&spent);
    memset(y, 0, sizeof y);
    ok(run(d, text, &w, x, y) == 1 && !memcmp(y, ref, sizeof y), "past the compile budget, a disk hit still loads");
    struct ane_weights w3;
    weights_init(&w3);
    char *text3 = test_norm_kernel(&m4, &w3, x);
    ok(ane_compile(d, text3, strlen(text3), &w3, "new.mil", &e) == NULL && strstr(e.msg, "compiles per process"),
       "while a new kernel fails: %s", e.msg);
    free(text3), weights_free(&w3);
    ane_close(d);

    /* the size limit: least recently used first, a hit is a use */
    char lru[600];
    snprintf(lru, sizeof lru, "%s", tmp_path("lru"));
    static unsigned char big[1000];
    struct ane_kcache_key k[4];
    char kp[4][1200];
    for (int i = 0; i < 4; i++) k[i] = (struct ane_kcache_key){100 + (uint64_t)i, "M4", "os", "emulator"};
    ane_kcache_init(&c, lru, 0, 1, &e);
    ok(ane_kcache_store(&c, &k[0], big, sizeof big, &e) == 0, "an entry stored");
    long one = file_size((ane_kcache_path(&c, &k[0], kp[0], sizeof kp[0]), kp[0]));
    ane_kcache_init(&c, lru, (size_t)(3 * one + one / 2), 1, &e);   /* room for three */
    time_t now = time(NULL);
    for (int i = 0; i < 3; i++) {
        ane_kcache_store(&c, &k[i], big, sizeof big, &e);
        ane_kcache_path(&c, &k[i], kp[i], sizeof kp[i]);
        set_mtime(kp[i], now - 300 + 100 * i);
    }
    ane_kcache_path(&c, &k[3], kp[3], sizeof kp[3]);
    ok(ane_kcache_load(&c, &k[0], &got, &gn) == 1 && stat(kp[0], &st) == 0 && st.st_mtime >= now - 5,
       "a hit sets the entry's time to now");
    free(got);
    ok(ane_kcache_store(&c, &k[3], big, sizeof big, &e) == 0 && c.stats.evictions == 1, "a fourth entry evicts one");
    ok(exists(kp[0]) && !exists(kp[1]) && exists(kp[2]) && exists(kp[3]),
       "the least recently used went (the second; the first was just used)");
    ane_kcache_init(&c, lru, (size_t)one / 2, 1, &e);
    ok(ane_kcache_evict(&c, NULL) == 3 && !exists(kp[0]) && !exists(kp[3]), "a limit below one entry empties the folder");

    /* two processes on one entry: never a bad load */
    char shared[600];
    snprintf(shared, sizeof shared, "%s", tmp_path("shared"));
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) _exit(hammer(shared, 1) > 0);
    int bad = hammer(shared, 2), status = 0;
    waitpid(pid, &status, 0);
    ok(pid > 0 && bad == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "two processes storing and loading one key 200 times each: no bad entry seen (%d here)", bad);

    /* the Apple device's payload: named files and back */
    struct ane_named_file f[3] = {{"net.plist", (const uint8_t *)"<plist/>", 8}, {"data", (const uint8_t *)"\0\1\2", 3},
                                  {"empty", NULL, 0}}, u[3];
    void *pk = NULL;
    size_t pn = 0;
    int packed = ane_files_pack(f, 3, &pk, &pn, &e);
    ok(packed == 0 && pn == 4 + (2 + 9 + 8 + 8) + (2 + 4 + 8 + 3) + (2 + 5 + 8), "three files packed in %zu bytes", pn);
    int nu = ane_files_unpack(pk, pn, u, 3, &e);
    ok(nu == 3 && !strcmp(u[0].name, "net.plist") && u[0].size == 8 && !memcmp(u[0].data, "<plist/>", 8) &&
       !strcmp(u[1].name, "data") && u[1].size == 3 && !memcmp(u[1].data, "\0\1\2", 3) && u[2].size == 0,
       "unpacked: the same names and bytes");
    ok(ane_files_unpack(pk, pn - 1, u, 3, &e) == -1 && strstr(e.msg, "truncated"), "a truncated payload refused: %s", e.msg);
    ok(ane_files_unpack(pk, pn, u, 2, &e) == -1, "more files than room refused");
    ((unsigned char *)pk)[4 + 2] = '/';
    ok(ane_files_unpack(pk, pn, u, 3, &e) == -1 && strstr(e.msg, "plain name"), "a name with '/' refused: %s", e.msg);
    struct ane_named_file evil = {"..", NULL, 0};
    ok(ane_files_pack(&evil, 1, &pk, &pn, &e) == -1, "'..' is not packed");
    free(pk);
    struct ane_tmp_layout ta, tb;
    char td[600];
    snprintf(td, sizeof td, "%s", tmp_path("T"));
    ok(ane_tmp_layout(&ta, td, "AAAA", NULL, &e) == 0 && ane_tmp_layout(&tb, td, "BBBB", NULL, &e) == 0 &&
       ane_tmp_write(&ta, "m", 1, NULL, &e) == 0 && ane_tmp_write(&tb, "m", 1, NULL, &e) == 0, "two temp dirs");
    FILE *fp = fopen(ta.net_plist, "wb");
    fputs("PLIST", fp), fclose(fp);
    ok(ane_tmp_pack(&ta, &pk, &pn, &e) == 0 && ane_tmp_unpack(&tb, pk, pn, &e) == 0 && file_size(tb.net_plist) == 5 &&
       !exists(tb.data), "a compile without data: net.plist carried over, no data made up");
    free(pk);
    fp = fopen(ta.data, "wb");
    fwrite("D\0TA", 1, 4, fp), fclose(fp);
    size_t dn = 0;
    char *dd = NULL;
    ok(ane_tmp_pack(&ta, &pk, &pn, &e) == 0 && ane_tmp_unpack(&tb, pk, pn, &e) == 0 && (dd = (char *)slurp(tb.data, &dn)) &&
       dn == 4 && !memcmp(dd, "D\0TA", 4), "with data: both files carried over byte for byte");
    free(pk), free(dd);
    remove(ta.net_plist);
    ok(ane_tmp_pack(&ta, &pk, &pn, &e) == -1 && strstr(e.msg, "no net.plist"), "no net.plist, no payload: %s", e.msg);
    ane_tmp_remove(&ta), ane_tmp_remove(&tb), ane_tmp_layout_free(&ta), ane_tmp_layout_free(&tb);
    rmdir(td);

    /* the OS build and the default folder */
    char want[300] = "";
#ifdef __APPLE__
    FILE *pp = popen("sysctl -n kern.osversion", "r");
#else
    FILE *pp = popen("echo \"$(uname -s) $(uname -r)\"", "r");
#endif
    if (pp && fgets(want, sizeof want, pp)) want[strcspn(want, "\n")] = 0;
    if (pp) pclose(pp);
    ok(want[0] && !strcmp(os, want), "OS build '%s' is what the shell says ('%s')", os, want);
    char dd_[1100];
    setenv("XDG_CACHE_HOME", "/x/cache", 1);
    setenv("HOME", "/h", 1);
    ok(ane_kcache_default_dir(dd_, sizeof dd_, &e) == 0 && !strcmp(dd_, dir), "ANETRAIN_CACHE_DIR first");
    unsetenv("ANETRAIN_CACHE_DIR");
    ok(ane_kcache_default_dir(dd_, sizeof dd_, &e) == 0 && !strcmp(dd_, "/x/cache/anetrain/kernels"), "then XDG_CACHE_HOME");
    unsetenv("XDG_CACHE_HOME");
    ok(ane_kcache_default_dir(dd_, sizeof dd_, &e) == 0 && !strcmp(dd_, "/h/.cache/anetrain/kernels"), "then ~/.cache");
    unsetenv("HOME");
    ok(ane_kcache_default_dir(dd_, sizeof dd_, &e) == -1, "none of them: no folder (%s)", e.msg);
    d = open_dev(&m4);
    ok(run(d, text, &w, x, y) == 0 && !memcmp(y, ref, sizeof y), "a device with no folder to be found still compiles");
    ane_device_stats(d, &ds);
    ok(ds.disk_misses == 0 && ds.disk_stores == 0, "its cache is off");
    ok(ane_cache_configure(d, tmp_path("stderr.txt"), 0, 1, &e) == -1 && strstr(e.msg, "not a folder"),
       "a file as the cache folder refused: %s", e.msg);
    ane_close(d);

    free(text), free(text2);
    weights_free(&w), weights_free(&w2);
    ok(remove_tree(tmp_dir) == 0, "temp folder removed");
    return tap_done();
}
