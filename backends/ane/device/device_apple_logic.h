/* Everything the Apple device computes besides the framework calls, in portable C so
 * the tests run it here: the weights dictionary's entries (§1.4), the temp-dir layout
 * (§1.2 #4, §1.3), IOSurface properties (§2.1), the persistent compile cache (§1.2). */
#ifndef ANE_DEVICE_APPLE_LOGIC_H
#define ANE_DEVICE_APPLE_LOGIC_H

#include <stddef.h>
#include <stdint.h>

#include "ane/base/blob.h"
#include "base/util.h"

#define ANE_QOS 21   /* §1.2: every upstream program passes 21 */
#define ANE_PATH_MAX 1024

/* One entry of the weights NSDictionary:
 * key -> { "offset": NSNumber(offset), "data": NSData(data, size) } (§1.4). */
struct ane_dict_entry {
    const char *key;
    uint64_t offset;          /* always 0; the MIL offset= locates the chunk (§1.4) */
    const uint8_t *data;
    size_t size;
};
/* Entries for w (an empty dictionary, never nil, when w has no blobs: §1.4). Returns the
 * count, or -1 when there are more than max. */
int ane_dict_entries(const struct ane_weights *w, struct ane_dict_entry *out, int max, struct ant_err *e);

/* §2.1: a flat byte buffer. */
struct ane_surface_props {
    size_t width, height, bytes_per_element, bytes_per_row, alloc_size;
    int pixel_format;
};
struct ane_surface_props ane_surface_props(size_t bytes);

/* $TMPDIR/<hexId>/ with model.mil, weights/..., and what compile writes (§1.3). */
struct ane_tmp_layout {
    char dir[ANE_PATH_MAX];
    char mil[ANE_PATH_MAX];
    char net_plist[ANE_PATH_MAX];
    char data[ANE_PATH_MAX];
    int n_blobs;
    char (*blob)[ANE_PATH_MAX];   /* [n_blobs]: where each blob of w is written */
};
/* hex_id must be made of [0-9A-Za-z_-] (it names a folder). */
int ane_tmp_layout(struct ane_tmp_layout *t, const char *tmpdir, const char *hex_id,
                   const struct ane_weights *w, struct ant_err *e);
void ane_tmp_layout_free(struct ane_tmp_layout *t);
/* Create the folders and write model.mil and every blob (§1.2 #4). */
int ane_tmp_write(const struct ane_tmp_layout *t, const char *mil, size_t len,
                  const struct ane_weights *w, struct ant_err *e);
/* Remove what ane_tmp_write and the compiler put there (§1.2 #14). */
void ane_tmp_remove(const struct ane_tmp_layout *t);

/* The Apple device's own persistent cache, until device_apple.c moves to kcache.h (see
 * the TODO there): <home>/.cache/anetrain/ane/<key as 16 hex digits>/ holding
 * net.plist and data (§1.2 "Compiled programs in the tmp dir"). */
int ane_cache_dir(char *out, size_t n, const char *home, uint64_t key);
/* Copy a cached compile into the temp dir: 1 restored, 0 not cached, -1 error. */
int ane_cache_restore(const char *cache_dir, const struct ane_tmp_layout *t, struct ant_err *e);
/* Save a fresh compile (net.plist, and data when present) into the cache. */
int ane_cache_store(const char *cache_dir, const struct ane_tmp_layout *t, struct ant_err *e);

/* The Apple device's payload in the on-disk compile cache (kcache.h): the files the
 * compiler left in the temp dir, as a u32 count, then per file a u16 name length, the
 * name, a u64 size and the bytes (little-endian). Names are plain file names (no '/',
 * not "." or ".."), so unpacking writes only into the folder it is given. */
struct ane_named_file {
    char name[64];
    const uint8_t *data;
    size_t size;
};
int ane_files_pack(const struct ane_named_file *f, int n, void **out, size_t *out_n, struct ant_err *e);
/* Fills f[0..count) pointing into buf; returns the count, -1 for a malformed payload. */
int ane_files_unpack(const void *buf, size_t n, struct ane_named_file *f, int max, struct ant_err *e);
/* After a compile: net.plist (required) and data (when the compiler wrote one) of t. */
int ane_tmp_pack(const struct ane_tmp_layout *t, void **out, size_t *n, struct ant_err *e);
/* Before a load that skips the compile: the payload's files into t's folder. */
int ane_tmp_unpack(const struct ane_tmp_layout *t, const void *buf, size_t n, struct ant_err *e);

#endif
