/* The Apple device's portable half (device_apple_logic.h). */
#include "ane/device/device_apple_logic.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fileio.h"
#include "base/le.h"

int ane_dict_entries(const struct ane_weights *w, struct ane_dict_entry *out, int max, struct ant_err *e)
{
    int n = w ? w->n : 0;
    if (n > max) return ant_errf(e, "%d weight blobs, at most %d", n, max);
    for (int i = 0; i < n; i++)
        out[i] = (struct ane_dict_entry){w->blob[i]->key, 0, w->blob[i]->data, w->blob[i]->size};
    return n;
}

struct ane_surface_props ane_surface_props(size_t bytes)
{
    return (struct ane_surface_props){bytes, 1, 1, bytes, bytes, 0};
}

static int path(char *out, const char *a, const char *b, struct ant_err *e)
{
    int k = snprintf(out, ANE_PATH_MAX, "%s/%s", a, b);
    if (k < 0 || k >= ANE_PATH_MAX) return ant_errf(e, "path %s/%s too long", a, b);
    return 0;
}

int ane_tmp_layout(struct ane_tmp_layout *t, const char *tmpdir, const char *hex_id,
                   const struct ane_weights *w, struct ant_err *e)
{
    memset(t, 0, sizeof *t);
    if (!hex_id[0] || strlen(hex_id) > 128) return ant_errf(e, "model identifier '%s' unusable as a folder name", hex_id);
    for (const char *p = hex_id; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' || *p == '-'))
            return ant_errf(e, "model identifier '%s' unusable as a folder name", hex_id);
    size_t tl = strlen(tmpdir);
    while (tl > 1 && tmpdir[tl - 1] == '/') tl--;   /* NSTemporaryDirectory ends in '/' */
    int k = snprintf(t->dir, sizeof t->dir, "%.*s/%s", (int)tl, tmpdir, hex_id);
    if (k < 0 || k >= (int)sizeof t->dir) return ant_errf(e, "temp dir path too long");
    if (path(t->mil, t->dir, "model.mil", e) || path(t->net_plist, t->dir, "net.plist", e) ||
        path(t->data, t->dir, "data", e))
        return -1;
    t->n_blobs = w ? w->n : 0;
    if (t->n_blobs && !(t->blob = calloc((size_t)t->n_blobs, sizeof *t->blob))) return ant_errf(e, "out of memory");
    size_t pre = strlen(BLOB_KEY_PREFIX);
    for (int i = 0; i < t->n_blobs; i++) {
        const char *key = w->blob[i]->key;   /* checked by blob.c: @model_path/<safe relative path> */
        if (strncmp(key, BLOB_KEY_PREFIX, pre) != 0 || strstr(key, ".."))
            return ane_tmp_layout_free(t), ant_errf(e, "weight key '%s' is not under @model_path/", key);
        if (path(t->blob[i], t->dir, key + pre, e)) return ane_tmp_layout_free(t), -1;
    }
    return 0;
}

void ane_tmp_layout_free(struct ane_tmp_layout *t)
{
    free(t->blob);
    t->blob = NULL;
    t->n_blobs = 0;
}

/* mkdir -p of the folder holding file (or of file itself when is_dir). */
static int make_dirs(const char *file, int is_dir, struct ant_err *e)
{
    char p[ANE_PATH_MAX];
    snprintf(p, sizeof p, "%s", file);
    if (!is_dir) {
        char *slash = strrchr(p, '/');
        if (!slash) return 0;
        *slash = 0;
    }
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == 0) {
            char c = *s;
            *s = 0;
            if (mkdir(p, 0700) && errno != EEXIST) return ant_errf(e, "%s: %s", p, strerror(errno));
            *s = c;
            if (!c) break;
        }
    }
    return 0;
}

static int write_file(const char *file, const void *data, size_t n, struct ant_err *e)
{
    if (make_dirs(file, 0, e)) return -1;
    FILE *f = fopen(file, "wb");
    if (!f) return ant_errf(e, "%s: %s", file, strerror(errno));
    size_t w = n ? fwrite(data, 1, n, f) : 0;
    if (fclose(f) || w != n) return ant_errf(e, "%s: write failed", file);
    return 0;
}

int ane_tmp_write(const struct ane_tmp_layout *t, const char *mil, size_t len,
                  const struct ane_weights *w, struct ant_err *e)
{
    if (make_dirs(t->dir, 1, e) || write_file(t->mil, mil, len, e)) return -1;
    for (int i = 0; i < t->n_blobs; i++)
        if (write_file(t->blob[i], w->blob[i]->data, w->blob[i]->size, e)) return -1;
    return 0;
}

void ane_tmp_remove(const struct ane_tmp_layout *t)
{
    remove(t->mil);
    remove(t->net_plist);
    remove(t->data);
    for (int i = 0; i < t->n_blobs; i++) {
        remove(t->blob[i]);
        /* empty folders between the blob and the temp dir */
        char p[ANE_PATH_MAX];
        snprintf(p, sizeof p, "%s", t->blob[i]);
        for (char *s; (s = strrchr(p, '/')) && (size_t)(s - p) > strlen(t->dir);) {
            *s = 0;
            rmdir(p);
        }
    }
    rmdir(t->dir);
}

int ane_cache_dir(char *out, size_t n, const char *home, uint64_t key)
{
    int k = snprintf(out, n, "%s/.cache/anetrain/ane/%016llx", home, (unsigned long long)key);
    return k < 0 || (size_t)k >= n ? -1 : 0;
}

/* Copy src to dst through dst.tmp and a rename: 0 done, 1 src missing, -1 error. */
static int copy_file(const char *src, const char *dst, struct ant_err *e)
{
    FILE *in = fopen(src, "rb");
    if (!in) return errno == ENOENT ? 1 : ant_errf(e, "%s: %s", src, strerror(errno));
    char tmp[ANE_PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", dst);
    if (make_dirs(dst, 0, e)) return fclose(in), -1;
    FILE *out = fopen(tmp, "wb");
    if (!out) return fclose(in), ant_errf(e, "%s: %s", tmp, strerror(errno));
    char buf[65536];
    size_t n;
    int bad = 0;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n) bad = 1;
    bad |= ferror(in);
    fclose(in);
    if (fclose(out) || bad || rename(tmp, dst)) {
        remove(tmp);
        return ant_errf(e, "copying %s to %s failed", src, dst);
    }
    return 0;
}

int ane_cache_restore(const char *cache_dir, const struct ane_tmp_layout *t, struct ant_err *e)
{
    char src[ANE_PATH_MAX];
    if (path(src, cache_dir, "net.plist", e)) return -1;
    int rc = copy_file(src, t->net_plist, e);
    if (rc) return rc < 0 ? -1 : 0;
    if (path(src, cache_dir, "data", e)) return -1;
    rc = copy_file(src, t->data, e);   /* only BLOBFILE programs have data */
    return rc < 0 ? -1 : 1;
}

int ane_cache_store(const char *cache_dir, const struct ane_tmp_layout *t, struct ant_err *e)
{
    char dst[ANE_PATH_MAX];
    if (path(dst, cache_dir, "data", e)) return -1;
    if (copy_file(t->data, dst, e) < 0) return -1;
    /* net.plist last: its presence marks a complete entry */
    if (path(dst, cache_dir, "net.plist", e)) return -1;
    int rc = copy_file(t->net_plist, dst, e);
    if (rc > 0) return ant_errf(e, "%s: the compiler wrote no net.plist", t->net_plist);
    return rc;
}

static int plain_name(const char *s)
{
    return s[0] && strcmp(s, ".") && strcmp(s, "..") && !strchr(s, '/');
}

int ane_files_pack(const struct ane_named_file *f, int n, void **out, size_t *out_n, struct ant_err *e)
{
    size_t total = 4;
    for (int i = 0; i < n; i++) {
        if (!plain_name(f[i].name)) return ant_errf(e, "file name '%s' in a cache payload is not a plain name", f[i].name);
        total += 2 + strlen(f[i].name) + 8 + f[i].size;
    }
    unsigned char *b = malloc(total), *p = b;
    if (!b) return ant_errf(e, "out of memory for a %zu-byte cache payload", total);
    le_wr32(p, (uint32_t)n), p += 4;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(f[i].name);
        p[0] = (unsigned char)len, p[1] = (unsigned char)(len >> 8), p += 2;
        memcpy(p, f[i].name, len), p += len;
        le_wr64(p, f[i].size), p += 8;
        if (f[i].size) memcpy(p, f[i].data, f[i].size), p += f[i].size;
    }
    *out = b;
    *out_n = total;
    return 0;
}

int ane_files_unpack(const void *buf, size_t n, struct ane_named_file *f, int max, struct ant_err *e)
{
    const unsigned char *p = buf, *end = p + n;
    if (n < 4) return ant_errf(e, "cache payload of %zu bytes: no file count", n);
    uint32_t count = le_rd32(p);
    p += 4;
    if (count > (uint32_t)max) return ant_errf(e, "cache payload holds %u files, at most %d", count, max);
    for (uint32_t i = 0; i < count; i++) {
        if (end - p < 2) return ant_errf(e, "cache payload: file %u truncated", i);
        size_t len = (size_t)p[0] | (size_t)p[1] << 8;
        p += 2;
        if (len >= sizeof f[i].name || (size_t)(end - p) < len + 8)
            return ant_errf(e, "cache payload: file %u truncated or its name too long", i);
        memcpy(f[i].name, p, len);
        f[i].name[len] = 0;
        p += len;
        uint64_t size = le_rd64(p);
        p += 8;
        if (!plain_name(f[i].name) || strlen(f[i].name) != len)
            return ant_errf(e, "cache payload: file %u has no plain name", i);
        if (size > (uint64_t)(end - p)) return ant_errf(e, "cache payload: file '%s' truncated", f[i].name);
        f[i].data = p;
        f[i].size = (size_t)size;
        p += size;
    }
    if (p != end) return ant_errf(e, "cache payload: %zu bytes after the last file", (size_t)(end - p));
    return (int)count;
}

/* A whole file into memory: 0 done, 1 absent, -1 error. */
static int slurp(const char *file, uint8_t **out, size_t *n, struct ant_err *e)
{
    uint64_t size;
    struct stat st;
    if (stat(file, &st) != 0 && errno == ENOENT) return 1;
    FILE *f = file_open_read(file, &size, e);
    if (!f) return -1;
    *out = malloc(size ? (size_t)size : 1);
    if (!*out) return fclose(f), ant_errf(e, "%s: out of memory", file);
    *n = fread(*out, 1, (size_t)size, f);
    fclose(f);
    if (*n != size) return free(*out), ant_errf(e, "%s: short read", file);
    return 0;
}

int ane_tmp_pack(const struct ane_tmp_layout *t, void **out, size_t *n, struct ant_err *e)
{
    struct ane_named_file f[2] = {{"net.plist", NULL, 0}, {"data", NULL, 0}};
    uint8_t *bytes[2] = {NULL, NULL};
    int rc = slurp(t->net_plist, &bytes[0], &f[0].size, e), nf = 1;
    if (rc > 0) return ant_errf(e, "%s: the compiler wrote no net.plist", t->net_plist);
    if (rc == 0 && (rc = slurp(t->data, &bytes[1], &f[1].size, e)) == 0) nf = 2;
    if (rc >= 0) {
        f[0].data = bytes[0], f[1].data = bytes[1];
        rc = ane_files_pack(f, nf, out, n, e);
    }
    free(bytes[0]), free(bytes[1]);
    return rc < 0 ? -1 : 0;
}

int ane_tmp_unpack(const struct ane_tmp_layout *t, const void *buf, size_t n, struct ant_err *e)
{
    struct ane_named_file f[8];
    int count = ane_files_unpack(buf, n, f, 8, e);
    if (count < 0) return -1;
    for (int i = 0; i < count; i++) {
        char file[ANE_PATH_MAX];
        if (path(file, t->dir, f[i].name, e) || write_file(file, f[i].data, f[i].size, e)) return -1;
    }
    return 0;
}
