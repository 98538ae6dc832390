/* The on-disk compile cache (kcache.h): entries written whole, checked whole on the way
 * back, and the folder kept under its size by deleting the least recently used. */
#include <config.h>

#include "ane/device/kcache.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __APPLE__
#include <sys/sysctl.h>
#else
#include <sys/utsname.h>
#endif

#include <anetrain/backend.h>

#include "base/fileio.h"
#include "base/le.h"
#include "base/xxh64.h"

static const char magic[5] = {'A', 'N', 'T', 'K', 'C'};
#define HEAD_MAX (6 + 8 + 8 + 3 * (2 + ANE_KCACHE_STR_MAX) + 8 + 8)
#define ENTRY_MAX ((uint64_t)1 << 36)   /* 64 GiB: past it a size field is garbage */

int ane_kcache_default_dir(char *out, size_t n, struct ant_err *e)
{
    const char *env = getenv("ANETRAIN_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    int k;
    if (env && *env) k = snprintf(out, n, "%s", env);
    else if (xdg && *xdg) k = snprintf(out, n, "%s/anetrain/kernels", xdg);
    else if (home && *home) k = snprintf(out, n, "%s/.cache/anetrain/kernels", home);
    else return ant_errf(e, "no compile cache folder: none of ANETRAIN_CACHE_DIR, XDG_CACHE_HOME, HOME is set");
    if (k < 0 || (size_t)k >= n) return ant_errf(e, "compile cache folder: path too long");
    return 0;
}

int ane_kcache_init(struct ane_kcache *c, const char *dir, size_t max_bytes, int enabled, struct ant_err *e)
{
    memset(c, 0, sizeof *c);
    c->max_bytes = max_bytes ? max_bytes : ANE_KCACHE_DEFAULT_MAX;
    if (!enabled) return 0;
    if (dir) {
        if (!*dir) return ant_errf(e, "compile cache folder: empty path");
        if (snprintf(c->dir, sizeof c->dir, "%s", dir) >= (int)sizeof c->dir)
            return ant_errf(e, "compile cache folder %s: path too long", dir);
    } else if (ane_kcache_default_dir(c->dir, sizeof c->dir, e)) {
        return -1;
    }
    struct stat st;
    if (stat(c->dir, &st) == 0 && !S_ISDIR(st.st_mode))
        return ant_errf(e, "compile cache folder %s: exists and is not a folder", c->dir);
    c->enabled = 1;
    return 0;
}

/* The key as bytes: program key, then chip, os and impl each with its u16 length. */
static size_t key_bytes(const struct ane_kcache_key *k, unsigned char *out)
{
    size_t n = 8;
    le_wr64(out, k->program);
    const char *s[3] = {k->chip, k->os, k->impl};
    for (int i = 0; i < 3; i++) {
        size_t len = strlen(s[i] ? s[i] : "");
        if (len > ANE_KCACHE_STR_MAX) len = ANE_KCACHE_STR_MAX;
        out[n] = (unsigned char)len, out[n + 1] = 0;
        memcpy(out + n + 2, s[i] ? s[i] : "", len);
        n += 2 + len;
    }
    return n;
}

uint64_t ane_kcache_hash(const struct ane_kcache_key *k)
{
    unsigned char kb[HEAD_MAX];
    return ant_xxh64(kb, key_bytes(k, kb), 0);
}

int ane_kcache_path(const struct ane_kcache *c, const struct ane_kcache_key *k, char *out, size_t n)
{
    int w = snprintf(out, n, "%s/%016llx.kc", c->dir, (unsigned long long)ane_kcache_hash(k));
    return w < 0 || (size_t)w >= n ? -1 : 0;
}

/* Delete a bad entry, unless another process has put a new file there since we opened
 * ours (then the name holds someone else's entry). */
static void drop_bad(struct ane_kcache *c, const char *path, const struct stat *ours, const char *why)
{
    struct stat now;
    ant_log(ANT_LOG_WARN, "ane", "compile cache: %s: %s; deleted, compiling again", path, why);
    c->stats.corrupt++;
    if (stat(path, &now) == 0 && now.st_ino == ours->st_ino && now.st_dev == ours->st_dev) unlink(path);
}

/* Check an entry read whole against k; NULL when good, else what is wrong. On success
 * *off and *len locate the payload. */
static const char *check_entry(const unsigned char *b, size_t size, const struct ane_kcache_key *k,
                               size_t *off, size_t *len)
{
    unsigned char kb[HEAD_MAX];
    size_t kn = key_bytes(k, kb);
    if (size < 6 || memcmp(b, magic, 5)) return "not a compile cache entry (bad magic)";
    if (b[5] != ANE_KCACHE_VERSION) return "entry of another format version";
    if (size < 6 + 8 + kn + 16) return "truncated entry";
    if (le_rd64(b + 6) != ane_kcache_hash(k) || memcmp(b + 14, kb, kn)) return "entry of another key";
    size_t h = 14 + kn;
    uint64_t plen = le_rd64(b + h), sum = le_rd64(b + h + 8);
    if (plen != size - h - 16) return plen > size - h - 16 ? "truncated entry" : "entry longer than its payload";
    if (ant_xxh64(b + h + 16, (size_t)plen, 0) != sum) return "payload checksum mismatch";
    *off = h + 16;
    *len = (size_t)plen;
    return NULL;
}

int ane_kcache_load(struct ane_kcache *c, const struct ane_kcache_key *k, void **payload, size_t *n)
{
    char path[ANT_PATH_MAX + 32];
    struct ant_err e;
    uint64_t size;
    if (!c->enabled || ane_kcache_path(c, k, path, sizeof path)) return 0;
    c->stats.misses++;   /* until it proves a hit */
    FILE *f = file_open_read(path, &size, &e);
    if (!f) {
        struct stat st;
        if (stat(path, &st) == 0) ant_log(ANT_LOG_WARN, "ane", "compile cache: %s", e.msg);
        return 0;   /* absent, or vanished since: a plain miss */
    }
    struct stat ours;
    fstat(fileno(f), &ours);
    unsigned char *b = size <= ENTRY_MAX ? malloc(size ? (size_t)size : 1) : NULL;
    const char *bad = size > ENTRY_MAX ? "impossible entry size" : NULL;
    if (!b && !bad) {
        ant_log(ANT_LOG_WARN, "ane", "compile cache: %s: out of memory for %llu bytes", path, (unsigned long long)size);
        fclose(f);
        return 0;
    }
    /* one descriptor throughout: a rename over the name meanwhile leaves us the whole
     * old entry, never a mix */
    size_t got = b ? fread(b, 1, (size_t)size, f) : 0, off = 0, len = 0;
    if (b && got != size) bad = "short read (truncated meanwhile)";
    if (!bad) bad = check_entry(b, got, k, &off, &len);
    if (bad) {
        drop_bad(c, path, &ours, bad);
        fclose(f), free(b);
        return 0;
    }
    futimens(fileno(f), NULL);   /* the LRU order: a hit is a use */
    fclose(f);
    memmove(b, b + off, len);
    *payload = b;
    *n = len;
    c->stats.misses--, c->stats.hits++;
    return 1;
}

void ane_kcache_discard(struct ane_kcache *c, const struct ane_kcache_key *k, const char *why)
{
    char path[ANT_PATH_MAX + 32];
    struct stat st;
    if (!c->enabled || ane_kcache_path(c, k, path, sizeof path) || stat(path, &st)) return;
    drop_bad(c, path, &st, why);
    c->stats.hits--, c->stats.misses++;
}

int ane_kcache_store(struct ane_kcache *c, const struct ane_kcache_key *k, const void *payload,
                     size_t n, struct ant_err *e)
{
    char path[ANT_PATH_MAX + 32];
    unsigned char head[HEAD_MAX];
    if (!c->enabled) return 0;
    if (ane_kcache_path(c, k, path, sizeof path)) return ant_errf(e, "compile cache folder %s: path too long", c->dir);
    if (file_make_dirs(c->dir, 0700, e)) return -1;
    memcpy(head, magic, 5);
    head[5] = ANE_KCACHE_VERSION;
    le_wr64(head + 6, ane_kcache_hash(k));
    size_t h = 14 + key_bytes(k, head + 14);
    le_wr64(head + h, n);
    le_wr64(head + h + 8, ant_xxh64(payload, n, 0));
    struct ant_atomic_file a;
    if (atomic_open(&a, path, e)) return -1;
    if (atomic_write(&a, head, h + 16, e) || atomic_write(&a, payload, n, e)) {
        atomic_abort(&a);
        return -1;
    }
    if (atomic_commit(&a, 0, e)) return -1;
    c->stats.stores++;
    /* a scan stats every entry (~5 us each): only when the size may be over the limit */
    c->known_bytes += h + 16 + n;
    if (!c->scanned || c->known_bytes > c->max_bytes || ++c->stores_since_scan >= ANE_KCACHE_RESCAN)
        ane_kcache_evict(c, strrchr(path, '/') + 1);
    return 0;
}

struct entry {
    char name[32];
    time_t mtime;
    off_t size;
    int keep;                  /* the entry just stored: last, whatever the clock's resolution */
};

static int older_first(const void *pa, const void *pb)
{
    const struct entry *a = pa, *b = pb;
    if (a->keep != b->keep) return a->keep - b->keep;
    if (a->mtime != b->mtime) return a->mtime < b->mtime ? -1 : 1;
    return strcmp(a->name, b->name);
}

static int is_entry_name(const char *s)
{
    if (strlen(s) != 19 || strcmp(s + 16, ".kc")) return 0;
    for (int i = 0; i < 16; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
    return 1;
}

int ane_kcache_evict(struct ane_kcache *c, const char *keep)
{
    DIR *dir = c->enabled ? opendir(c->dir) : NULL;
    if (!dir) return 0;
    struct entry *ent = NULL;
    size_t n = 0, cap = 0;
    uint64_t total = 0;
    char path[ANT_PATH_MAX + 32];
    for (struct dirent *de; (de = readdir(dir));) {
        struct stat st;
        if (!is_entry_name(de->d_name)) continue;   /* temp files of writers among others */
        snprintf(path, sizeof path, "%s/%s", c->dir, de->d_name);
        if (stat(path, &st) || !S_ISREG(st.st_mode)) continue;
        if (n == cap) {
            struct entry *g = realloc(ent, (cap = cap ? 2 * cap : 64) * sizeof *ent);
            if (!g) break;
            ent = g;
        }
        snprintf(ent[n].name, sizeof ent[n].name, "%s", de->d_name);
        ent[n].mtime = st.st_mtime;
        ent[n].keep = keep && !strcmp(keep, de->d_name);
        ent[n].size = st.st_size;
        total += (uint64_t)st.st_size;
        n++;
    }
    closedir(dir);
    int gone = 0;
    if (total > c->max_bytes) {
        qsort(ent, n, sizeof *ent, older_first);
        for (size_t i = 0; i < n && total > c->max_bytes; i++) {
            snprintf(path, sizeof path, "%s/%s", c->dir, ent[i].name);
            total -= (uint64_t)ent[i].size;
            if (unlink(path) == 0) gone++;   /* else another process took it already */
        }
    }
    free(ent);
    c->stats.evictions += gone;
    c->known_bytes = total;
    c->scanned = 1;
    c->stores_since_scan = 0;
    return gone;
}

void ane_os_build(char *out, size_t n)
{
#ifdef __APPLE__
    size_t len = n;
    if (n && sysctlbyname("kern.osversion", out, &len, NULL, 0) == 0) return;
    snprintf(out, n, "Darwin");
#else
    struct utsname u;
    if (uname(&u) == 0) snprintf(out, n, "%s %s", u.sysname, u.release);
    else snprintf(out, n, "unknown");
#endif
}
