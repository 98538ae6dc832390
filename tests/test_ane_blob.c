/* Weight blobs (§4): byte layout written by hand from the table, single and multi-chunk
 * offsets, and the reader's refusals. */
#include <string.h>

#include "ane/base/blob.h"
#include "ane/base/fp16.h"
#include "tap.h"

static uint32_t u32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

int main(void)
{
    struct ane_weights w;
    struct ant_err e;
    weights_init(&w);
    struct ane_blob *b = weights_blob(&w, "proj.bin", &e);
    ok(b && !strcmp(b->key, "@model_path/weights/proj.bin"), "bare file name keyed under @model_path/weights/");
    float v[3] = {1.0f, -2.0f, 0.1f};
    uint64_t off = 0;
    ok(blob_add_f32(b, v, 3, &off, &e) == 0 && off == 64, "first chunk header at offset 64");
    /* the single-tensor table of §4, byte by byte */
    uint8_t want[128 + 6] = {0};
    want[0] = 0x01, want[4] = 0x02;
    want[64] = 0xef, want[65] = 0xbe, want[66] = 0xad, want[67] = 0xde, want[68] = 0x01;
    want[72] = 6;       /* data_size = 3 x 2 */
    want[80] = 128;     /* absolute data offset */
    uint16_t h[3] = {0x3c00, 0xc000, 0x2e66};
    for (int i = 0; i < 3; i++) want[128 + 2 * i] = (uint8_t)h[i], want[129 + 2 * i] = (uint8_t)(h[i] >> 8);
    ok(b->size == sizeof want && !memcmp(b->data, want, sizeof want), "single-chunk blob matches §4 byte for byte");

    /* multi-chunk: chunk k at 64 + sum of previous chunk sizes */
    struct ane_blob *m = weights_blob(&w, "multi.bin", &e);
    float a[4] = {1, 2, 3, 4}, c[2] = {5, 6};
    uint64_t o1, o2, o3;
    blob_add_f32(m, a, 4, &o1, &e);
    blob_add_f32(m, c, 2, &o2, &e);
    blob_add_f32(m, a, 4, &o3, &e);
    ok(o1 == 64 && o2 == 64 + 64 + 8 && o3 == o2 + 64 + 4, "multi-chunk offsets 64, 136, 204 (got %llu %llu %llu)",
       (unsigned long long)o1, (unsigned long long)o2, (unsigned long long)o3);
    ok(u32(m->data + o2) == 0xdeadbeef && u32(m->data + o2 + 8) == 4 && u32(m->data + o2 + 16) == o2 + 64,
       "chunk 1 header: magic, data_size, absolute data offset");
    ok(m->n_chunks == 3 && m->size == o3 + 64 + 8, "blob size = header + chunks");

    const uint8_t *d = NULL;
    ok(blob_chunk(m, o2, 4, &d, &e) == 0 && d == m->data + o2 + 64 && fp16_to_float((uint16_t)(d[0] | d[1] << 8)) == 5.0f,
       "reader finds chunk 1's data 64 bytes after its header");
    ok(blob_chunk(m, o2 + 2, 4, &d, &e) == -1 && strstr(e.msg, "not a chunk header"), "offset off the header refused: %s", e.msg);
    ok(blob_chunk(m, m->size, 2, &d, &e) == -1 && strstr(e.msg, "past"), "offset past the blob refused: %s", e.msg);
    ok(blob_chunk(m, o3, 10, &d, &e) == -1 && strstr(e.msg, "needs 10"), "data past the end refused: %s", e.msg);
    ok(blob_chunk(m, 0, 2, &d, &e) == -1, "offset 0 (the file header) refused");

    ok(weights_blob(&w, "../etc/passwd", &e) == NULL && strstr(e.msg, ".."), "'..' in a key refused");
    ok(weights_blob(&w, "@model_path/weights/a b.bin", &e) == NULL, "space in a key refused");
    ok(weights_add_raw(&w, "@model_path/weights/proj.bin", "x", 1, &e) == -1 && strstr(e.msg, "twice"), "duplicate key refused");
    ok(weights_find(&w, "@model_path/weights/multi.bin") == m, "find by exact key");
    weights_free(&w);
    return tap_done();
}
