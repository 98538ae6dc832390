/* The Apple device's portable logic: weights dictionary entries (§1.4), the temp-dir
 * layout and its files (§1.2 #4, §1.3), IOSurface properties (§2.1), and the
 * persistent compile cache (§1.2), in a mkdtemp folder. */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ane/device/device_apple_logic.h"
#include "tap.h"
#include "test_ane_util.h"

static int file_is(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    char buf[4096];
    size_t got = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return got == n && !memcmp(buf, data, n);
}

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

int main(void)
{
    struct ant_err e;
    char root[] = "/tmp/ane_logic_XXXXXX";
    if (!mkdtemp(root)) tap_skip_all("mkdtemp failed");
    struct ane_weights w;
    weights_init(&w);
    float v[4] = {1, 2, 3, 4};
    uint64_t off;
    blob_add_f32(weights_blob(&w, "wq.bin", &e), v, 4, &off, &e);
    blob_add_f32(weights_blob(&w, "@model_path/weights/sub/mask.bin", &e), v, 2, &off, &e);

    struct ane_dict_entry d[4];
    int n = ane_dict_entries(&w, d, 4, &e);
    ok(n == 2 && !strcmp(d[0].key, "@model_path/weights/wq.bin") && d[0].offset == 0 && d[0].size == 128 + 8 &&
       d[0].data == w.blob[0]->data, "dictionary: one entry per blob, key as in the MIL, offset 0, the blob bytes");
    ok(ane_dict_entries(NULL, d, 4, &e) == 0, "no weights: an empty dictionary (never nil, §1.4)");
    ok(ane_dict_entries(&w, d, 1, &e) == -1, "too many blobs for the array refused");

    struct ane_surface_props sp = ane_surface_props(6144);
    ok(sp.width == 6144 && sp.height == 1 && sp.bytes_per_element == 1 && sp.bytes_per_row == 6144 &&
       sp.alloc_size == 6144 && sp.pixel_format == 0, "IOSurface properties of §2.1");

    char tmpdir[1100];
    snprintf(tmpdir, sizeof tmpdir, "%s/T/", root);   /* NSTemporaryDirectory ends in '/' */
    struct ane_tmp_layout t;
    ok(ane_tmp_layout(&t, tmpdir, "3F9AC1", &w, &e) == 0, "layout for hex id 3F9AC1");
    char want[1200];
    snprintf(want, sizeof want, "%s/T/3F9AC1/weights/sub/mask.bin", root);
    ok(!strcmp(t.blob[1], want), "blob path = dir + key without @model_path/ (%s)", t.blob[1]);
    snprintf(want, sizeof want, "%s/T/3F9AC1/model.mil", root);
    ok(!strcmp(t.mil, want), "model.mil in the id's folder");
    struct ane_tmp_layout bad;
    ok(ane_tmp_layout(&bad, tmpdir, "../evil", &w, &e) == -1, "an id with '/' or '.' refused");
    const char *mil = "program(1.3)\n";
    ok(ane_tmp_write(&t, mil, strlen(mil), &w, &e) == 0 && file_is(t.mil, mil, strlen(mil)) &&
       file_is(t.blob[0], w.blob[0]->data, w.blob[0]->size) && file_is(t.blob[1], w.blob[1]->data, w.blob[1]->size),
       "model.mil and every blob written before compile");

    /* what compile would write, then the cache round trip */
    FILE *f = fopen(t.net_plist, "wb");
    fputs("plist", f);
    fclose(f);
    f = fopen(t.data, "wb");
    fputs("DATA", f);
    fclose(f);
    char cache[1100];
    ok(ane_cache_dir(cache, sizeof cache, root, 0x0123456789abcdefULL) == 0 && strstr(cache, "/.cache/anetrain/ane/0123456789abcdef"),
       "cache folder named by the 16-hex-digit key");
    ok(ane_cache_restore(cache, &t, &e) == 0, "an empty cache restores nothing");
    ok(ane_cache_store(cache, &t, &e) == 0, "a compile stored in the cache");
    ane_tmp_remove(&t);
    ok(!exists(t.dir), "the temp dir removed with everything in it");
    ok(ane_tmp_write(&t, mil, strlen(mil), &w, &e) == 0 && ane_cache_restore(cache, &t, &e) == 1 &&
       file_is(t.net_plist, "plist", 5) && file_is(t.data, "DATA", 4), "restored net.plist and data into a fresh temp dir");
    ane_tmp_remove(&t);
    ane_tmp_layout_free(&t);

    /* clean up the cache tree */
    char p[1300];
    snprintf(p, sizeof p, "%s/net.plist", cache), remove(p);
    snprintf(p, sizeof p, "%s/data", cache), remove(p);
    rmdir(cache);
    snprintf(p, sizeof p, "%s/.cache/anetrain/ane", root), rmdir(p);
    snprintf(p, sizeof p, "%s/.cache/anetrain", root), rmdir(p);
    snprintf(p, sizeof p, "%s/.cache", root), rmdir(p);
    snprintf(p, sizeof p, "%s/T", root), rmdir(p);
    ok(rmdir(root) == 0, "nothing left behind");
    weights_free(&w);
    return tap_done();
}
