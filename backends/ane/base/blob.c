/* Weight blobs: writer and reader of the §4 format, and the named set of blobs. */
#include "ane/base/blob.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ane/base/fp16.h"
#include "base/le.h"

void weights_init(struct ane_weights *w) { memset(w, 0, sizeof *w); }

void weights_free(struct ane_weights *w)
{
    for (int i = 0; i < w->n; i++) {
        free(w->blob[i]->key);
        free(w->blob[i]->data);
        free(w->blob[i]);
    }
    free(w->blob);
    weights_init(w);
}

const struct ane_blob *weights_find(const struct ane_weights *w, const char *key)
{
    for (int i = 0; w && i < w->n; i++)
        if (strcmp(w->blob[i]->key, key) == 0) return w->blob[i];
    return NULL;
}

/* A key the temp-dir layout can hold: "@model_path/" then a relative path without
 * "..", empty parts or characters that would need quoting in MIL. */
static int key_ok(const char *key)
{
    size_t n = strlen(BLOB_KEY_PREFIX);
    if (strncmp(key, BLOB_KEY_PREFIX, n) != 0 || !key[n] || strlen(key) > 512) return 0;
    const char *p = key + n;
    if (*p == '/' || strstr(p, "..") || strstr(p, "//") || p[strlen(p) - 1] == '/') return 0;
    for (; *p; p++)
        if (!(*p == '/' || *p == '.' || *p == '_' || *p == '-' || (*p >= '0' && *p <= '9') ||
              (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
            return 0;
    return 1;
}

static struct ane_blob *add_blob(struct ane_weights *w, const char *key, struct ant_err *e)
{
    if (!key_ok(key))
        return ant_errf(e, "weight blob '%s': key must be @model_path/<relative path> of "
                        "[A-Za-z0-9._-/] without '..'", key), NULL;
    if (weights_find(w, key)) return ant_errf(e, "weight blob '%s' added twice", key), NULL;
    if (w->n == w->cap) {
        int cap = w->cap ? 2 * w->cap : 8;
        struct ane_blob **nb = realloc(w->blob, (size_t)cap * sizeof *nb);
        if (!nb) return ant_errf(e, "out of memory"), NULL;
        w->blob = nb;
        w->cap = cap;
    }
    struct ane_blob *b = calloc(1, sizeof *b);
    if (!b || !(b->key = strdup(key))) return free(b), ant_errf(e, "out of memory"), NULL;
    w->blob[w->n++] = b;
    return b;
}

static int reserve(struct ane_blob *b, size_t need, struct ant_err *e)
{
    if (need > BLOB_MAX_BYTES) return ant_errf(e, "weight blob '%s' over 2 GiB", b->key);
    if (need <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < need) cap *= 2;
    uint8_t *p = realloc(b->data, cap);
    if (!p) return ant_errf(e, "out of memory for weight blob '%s'", b->key);
    b->data = p;
    b->cap = cap;
    return 0;
}

struct ane_blob *weights_blob(struct ane_weights *w, const char *name, struct ant_err *e)
{
    char key[600];
    if (strchr(name, '@') == name) snprintf(key, sizeof key, "%s", name);
    else snprintf(key, sizeof key, BLOB_KEY_PREFIX "weights/%s", name);
    for (int i = 0; i < w->n; i++)
        if (strcmp(w->blob[i]->key, key) == 0) return w->blob[i];
    struct ane_blob *b = add_blob(w, key, e);
    if (!b || reserve(b, BLOB_FILE_HEADER, e)) return NULL;
    memset(b->data, 0, BLOB_FILE_HEADER);
    b->data[0] = 0x01;   /* §4: file header byte 0 = 1, byte 4 = 2 */
    b->data[4] = 0x02;
    b->size = BLOB_FILE_HEADER;
    return b;
}

int weights_add_raw(struct ane_weights *w, const char *key, const void *bytes, size_t n,
                    struct ant_err *e)
{
    struct ane_blob *b = add_blob(w, key, e);
    if (!b || reserve(b, n ? n : 1, e)) return -1;
    memcpy(b->data, bytes, n);
    b->size = n;
    return 0;
}

/* Append a chunk header for `bytes` of data and return where the data goes. */
static uint8_t *new_chunk(struct ane_blob *b, size_t bytes, uint64_t *offset,
                          struct ant_err *e)
{
    if (b->size < BLOB_FILE_HEADER) return ant_errf(e, "weight blob '%s' has no file header", b->key), NULL;
    if (reserve(b, b->size + BLOB_CHUNK_HEADER + bytes, e)) return NULL;
    uint8_t *h = b->data + b->size;
    memset(h, 0, BLOB_CHUNK_HEADER);
    le_wr32(h, 0xDEADBEEFu);     /* bytes EF BE AD DE */
    h[4] = 0x01;
    le_wr32(h + 8, (uint32_t)bytes);
    le_wr32(h + 16, (uint32_t)(b->size + BLOB_CHUNK_HEADER));   /* absolute data offset */
    *offset = b->size;
    b->size += BLOB_CHUNK_HEADER + bytes;
    b->n_chunks++;
    return h + BLOB_CHUNK_HEADER;
}

int blob_add_f32(struct ane_blob *b, const float *src, size_t n, uint64_t *offset,
                 struct ant_err *e)
{
    uint8_t *d = new_chunk(b, n * 2, offset, e);
    if (!d) return -1;
    for (size_t i = 0; i < n; i++) {
        uint16_t h = fp16_from_float(src[i]);
        d[2 * i] = (uint8_t)h;
        d[2 * i + 1] = (uint8_t)(h >> 8);
    }
    return 0;
}

int blob_add_fp16(struct ane_blob *b, const uint16_t *src, size_t n, uint64_t *offset,
                  struct ant_err *e)
{
    uint8_t *d = new_chunk(b, n * 2, offset, e);
    if (!d) return -1;
    for (size_t i = 0; i < n; i++) {
        d[2 * i] = (uint8_t)src[i];
        d[2 * i + 1] = (uint8_t)(src[i] >> 8);
    }
    return 0;
}

int blob_add_i8(struct ane_blob *b, const int8_t *src, size_t n, uint64_t *offset,
                struct ant_err *e)
{
    uint8_t *d = new_chunk(b, n, offset, e);
    if (!d) return -1;
    memcpy(d, src, n);
    return 0;
}

int blob_chunk(const struct ane_blob *b, uint64_t offset, size_t bytes,
               const uint8_t **data, struct ant_err *e)
{
    if (offset < BLOB_FILE_HEADER || offset > b->size || b->size - offset < BLOB_CHUNK_HEADER)
        return ant_errf(e, "offset %llu is past the chunk headers of blob '%s' (%zu bytes)",
                        (unsigned long long)offset, b->key, b->size);
    if (le_rd32(b->data + offset) != 0xDEADBEEFu)
        return ant_errf(e, "offset %llu of blob '%s' is not a chunk header (no DEADBEEF magic; "
                        "offset= names the 64-byte chunk header, §4)",
                        (unsigned long long)offset, b->key);
    uint64_t start = offset + BLOB_CHUNK_HEADER;
    if (b->size - start < bytes)
        return ant_errf(e, "chunk at offset %llu of blob '%s' needs %zu data bytes, the blob "
                        "ends %llu bytes after the header", (unsigned long long)offset, b->key,
                        bytes, (unsigned long long)(b->size - start));
    *data = b->data + start;
    return 0;
}
