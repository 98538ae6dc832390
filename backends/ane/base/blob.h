/* Weight blobs in the ANE's file format (docs/ane.md §4) and the named set of
 * them that one compile takes (the weights dictionary of §1.4).
 *
 * A blob is a 64-byte file header followed by chunks; each chunk is a 64-byte header
 * and fp16 (or fp32, or int8) data. A MIL BLOBFILE constant names the blob by its key
 * "@model_path/weights/<file>" and the chunk by the offset of its header. */
#ifndef ANE_BLOB_H
#define ANE_BLOB_H

#include <stddef.h>
#include <stdint.h>

#include "base/util.h"

#define BLOB_FILE_HEADER 64
#define BLOB_CHUNK_HEADER 64
#define BLOB_KEY_PREFIX "@model_path/"
#define BLOB_MAX_BYTES ((size_t)1 << 31)

struct ane_blob {
    char *key;          /* "@model_path/weights/wq.bin" */
    uint8_t *data;      /* the whole file */
    size_t size, cap;
    int n_chunks;
};

struct ane_weights {
    struct ane_blob **blob;   /* stable: a blob does not move when others are added */
    int n, cap;
};

void weights_init(struct ane_weights *w);
void weights_free(struct ane_weights *w);
/* The blob with this key, created empty (file header only) when new. A bare file name
 * "wq.bin" means "@model_path/weights/wq.bin". NULL with e on a bad name. */
struct ane_blob *weights_blob(struct ane_weights *w, const char *name, struct ant_err *e);
const struct ane_blob *weights_find(const struct ane_weights *w, const char *key);
/* Add a blob holding a copy of a file's bytes read elsewhere (the mil tool). */
int weights_add_raw(struct ane_weights *w, const char *key, const void *bytes, size_t n,
                    struct ant_err *e);

/* Append a chunk of n values converted to fp16 (RNE, §2.5); *offset receives the value
 * for the MIL's BLOBFILE offset= (the chunk header's position). */
int blob_add_f32(struct ane_blob *b, const float *src, size_t n, uint64_t *offset,
                 struct ant_err *e);
int blob_add_fp16(struct ane_blob *b, const uint16_t *src, size_t n, uint64_t *offset,
                  struct ant_err *e);
/* A chunk of n int8 values, one byte each (§4 "int8 blobs"), for the quantized_data
 * of constexpr_affine_dequantize. */
int blob_add_i8(struct ane_blob *b, const int8_t *src, size_t n, uint64_t *offset,
                struct ant_err *e);

/* Locate the data of a chunk for a BLOBFILE reference that declares `bytes` of data:
 * checks that the chunk header at `offset` is inside the blob and carries the magic,
 * and that the data fits. Like the device (§4), data_size and data_offset are not
 * trusted: the data starts 64 bytes after the header. */
int blob_chunk(const struct ane_blob *b, uint64_t offset, size_t bytes,
               const uint8_t **data, struct ant_err *e);

#endif
