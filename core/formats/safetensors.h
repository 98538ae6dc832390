/* safetensors files: an 8-byte little-endian header length N, N bytes of JSON mapping
 * each tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets into the
 * data that follows the header; an optional "__metadata__" maps strings to strings),
 * then the data. The header is hostile input: at most 100 MB (safetensors' own limit),
 * parsed with duplicate keys refused, and every tensor's dtype, shape and offsets checked
 * against the file: each tensor's bytes are exactly its shape times its element size,
 * and the tensors tile the data section with no gap or overlap. */
#ifndef ANT_SAFETENSORS_H
#define ANT_SAFETENSORS_H

#include <stdint.h>
#include <stdio.h>

#include "base/util.h"

#define ST_MAX_HEADER (100u << 20)
#define ST_MAX_RANK 8

enum st_dtype { ST_F64, ST_F32, ST_F16, ST_BF16, ST_I64, ST_I32, ST_I16, ST_I8, ST_U8,
                ST_BOOL, ST_F8_E4M3, ST_F8_E5M2, ST_N_DTYPES };

struct st_tensor {
    char *name;
    enum st_dtype dtype;
    int rank;
    int64_t shape[ST_MAX_RANK];
    uint64_t begin, end;   /* byte offsets in the data section */
};

struct st_file {
    char path[4096];
    uint64_t data_start, data_size;
    int n;
    struct st_tensor *t;   /* [n], sorted by begin */
};

int st_open(const char *path, struct st_file *f, struct ant_err *e);
void st_close(struct st_file *f);
const struct st_tensor *st_find(const struct st_file *f, const char *name);
const char *st_dtype_name(enum st_dtype d);
/* Tensor t as n floats (n must be its element count): F32, F16 and BF16 are converted,
 * other dtypes refused naming the tensor. */
int st_read_f32(const struct st_file *f, const struct st_tensor *t, float *dst, uint64_t n,
                struct ant_err *e);

/* One fp32 tensor to write. */
struct st_out {
    const char *name;
    const float *data;
    int rank;
    int64_t shape[2];
};
/* Writes the tensors in the order given (data offsets increasing), header padded with
 * spaces to a multiple of 8 as safetensors does, "__metadata__": {"format": "pt"}. */
int st_write_f32(const char *path, const struct st_out *t, int n, struct ant_err *e);

#endif
