/* safetensors reader and fp32 writer (see safetensors.h). */
#include "formats/safetensors.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "formats/json_util.h"
#include "base/le.h"

static const struct { const char *name; int size; } dtypes[ST_N_DTYPES] = {
    [ST_F64] = {"F64", 8}, [ST_F32] = {"F32", 4}, [ST_F16] = {"F16", 2}, [ST_BF16] = {"BF16", 2},
    [ST_I64] = {"I64", 8}, [ST_I32] = {"I32", 4}, [ST_I16] = {"I16", 2}, [ST_I8] = {"I8", 1},
    [ST_U8] = {"U8", 1}, [ST_BOOL] = {"BOOL", 1}, [ST_F8_E4M3] = {"F8_E4M3", 1},
    [ST_F8_E5M2] = {"F8_E5M2", 1},
};

const char *st_dtype_name(enum st_dtype d) { return dtypes[d].name; }

/* One header entry into t: dtype, shape and offsets, each checked. */
static int parse_tensor(const char *path, const char *name, const json_t *v, uint64_t data_size,
                        struct st_tensor *t, struct ant_err *e)
{
    if (!json_is_object(v)) return ant_errf(e, "%s: tensor %s: not a JSON object", path, name);
    const json_t *dt = json_object_get(v, "dtype"), *sh = json_object_get(v, "shape"),
                 *off = json_object_get(v, "data_offsets");
    if (!json_is_string(dt)) return ant_errf(e, "%s: tensor %s: dtype missing", path, name);
    int d = 0;
    while (d < ST_N_DTYPES && strcmp(dtypes[d].name, json_string_value(dt))) d++;
    if (d == ST_N_DTYPES)
        return ant_errf(e, "%s: tensor %s: unknown dtype \"%.32s\"", path, name,
                        json_string_value(dt));
    t->dtype = (enum st_dtype)d;
    if (!json_is_array(sh) || json_array_size(sh) > ST_MAX_RANK)
        return ant_errf(e, "%s: tensor %s: shape is not an array of at most %d sizes", path,
                        name, ST_MAX_RANK);
    t->rank = (int)json_array_size(sh);
    uint64_t bytes = (uint64_t)dtypes[d].size;
    for (int i = 0; i < t->rank; i++) {
        const json_t *x = json_array_get(sh, (size_t)i);
        if (!json_is_integer(x) || json_integer_value(x) < 0)
            return ant_errf(e, "%s: tensor %s: shape[%d] is not a size", path, name, i);
        t->shape[i] = json_integer_value(x);
        if (__builtin_mul_overflow(bytes, (uint64_t)t->shape[i], &bytes))
            return ant_errf(e, "%s: tensor %s: shape overflows 64 bits", path, name);
    }
    if (!json_is_array(off) || json_array_size(off) != 2 ||
        !json_is_integer(json_array_get(off, 0)) || !json_is_integer(json_array_get(off, 1)))
        return ant_errf(e, "%s: tensor %s: data_offsets is not [begin, end]", path, name);
    json_int_t b = json_integer_value(json_array_get(off, 0)),
               en = json_integer_value(json_array_get(off, 1));
    if (b < 0 || en < b || (uint64_t)en > data_size)
        return ant_errf(e, "%s: tensor %s: data_offsets [%lld, %lld] outside the %llu data bytes",
                        path, name, (long long)b, (long long)en, (unsigned long long)data_size);
    if ((uint64_t)(en - b) != bytes)
        return ant_errf(e, "%s: tensor %s: %lld bytes at data_offsets, but %s of its shape "
                        "take %llu", path, name, (long long)(en - b), dtypes[d].name,
                        (unsigned long long)bytes);
    t->begin = (uint64_t)b;
    t->end = (uint64_t)en;
    return 0;
}

static int by_begin(const void *a, const void *b)
{
    const struct st_tensor *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin ? 1 : (x->end > y->end) - (x->end < y->end);
}

/* The tensors tile the data section: no gap, no overlap, nothing after. */
static int check_tiling(const struct st_file *f, struct ant_err *e)
{
    uint64_t at = 0;
    for (int i = 0; i < f->n; i++) {
        if (f->t[i].begin != at)
            return ant_errf(e, "%s: tensor %s starts at data byte %llu, expected %llu (a gap or "
                            "an overlap)", f->path, f->t[i].name,
                            (unsigned long long)f->t[i].begin, (unsigned long long)at);
        at = f->t[i].end;
    }
    if (at != f->data_size)
        return ant_errf(e, "%s: tensors end at data byte %llu but the file has %llu", f->path,
                        (unsigned long long)at, (unsigned long long)f->data_size);
    return 0;
}

static int parse_header(struct st_file *f, const json_t *root, struct ant_err *e)
{
    if (!json_is_object(root)) return ant_errf(e, "%s: header is not a JSON object", f->path);
    f->t = calloc(json_object_size(root) + 1, sizeof *f->t);
    if (!f->t) return ant_errf(e, "%s: out of memory", f->path);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)root, key, v) {
        if (!strcmp(key, "__metadata__")) {
            const char *k2;
            json_t *v2;
            if (!json_is_object(v)) return ant_errf(e, "%s: __metadata__ is not an object", f->path);
            json_object_foreach(v, k2, v2)
                if (!json_is_string(v2))
                    return ant_errf(e, "%s: __metadata__.%.64s is not a string", f->path, k2);
            continue;
        }
        struct st_tensor *t = &f->t[f->n];
        if (parse_tensor(f->path, key, v, f->data_size, t, e) != 0) return -1;
        if (!(t->name = strdup(key))) return ant_errf(e, "%s: out of memory", f->path);
        f->n++;
    }
    qsort(f->t, (size_t)f->n, sizeof *f->t, by_begin);
    return check_tiling(f, e);
}

int st_open(const char *path, struct st_file *f, struct ant_err *e)
{
    memset(f, 0, sizeof *f);
    snprintf(f->path, sizeof f->path, "%s", path);
    uint64_t size;
    FILE *fp = file_open_read(path, &size, e);
    if (!fp) return -1;
    unsigned char h8[8];
    char *hdr = NULL;
    json_t *root = NULL;
    int rc = -1;
    if (size < 8 || fread(h8, 1, 8, fp) != 8) {
        ant_errf(e, "%s: %llu bytes, too short for a safetensors header", path,
                 (unsigned long long)size);
        goto out;
    }
    uint64_t n = le_rd64(h8);
    if (n > ST_MAX_HEADER || n > size - 8) {
        ant_errf(e, "%s: header length %llu is more than %s", path, (unsigned long long)n,
                 n > ST_MAX_HEADER ? "safetensors' 100 MB limit" : "the file holds");
        goto out;
    }
    if (!(hdr = malloc(n ? n : 1))) {
        ant_errf(e, "%s: out of memory for a %llu-byte header", path, (unsigned long long)n);
        goto out;
    }
    if (fread(hdr, 1, n, fp) != n) {
        ant_errf(e, "%s: read failed: %s", path, ferror(fp) ? strerror(errno) : "short read");
        goto out;
    }
    f->data_start = 8 + n;
    f->data_size = size - 8 - n;
    if (json_parse(path, hdr, n, &root, e) == 0) rc = parse_header(f, root, e);
out:
    json_decref(root);
    free(hdr);
    fclose(fp);
    if (rc) st_close(f);
    return rc;
}

void st_close(struct st_file *f)
{
    for (int i = 0; f->t && i < f->n; i++) free(f->t[i].name);
    free(f->t);
    f->t = NULL;
    f->n = 0;
}

const struct st_tensor *st_find(const struct st_file *f, const char *name)
{
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->t[i].name, name)) return &f->t[i];
    return NULL;
}

/* IEEE half to float, subnormals included. */
static float f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, ex = (h >> 10) & 31, man = h & 0x3ff, bits;
    if (ex == 31) bits = sign | 0x7f800000u | man << 13;
    else if (ex) bits = sign | (ex + 112) << 23 | man << 13;
    else if (!man) bits = sign;
    else {
        ex = 113;
        while (!(man & 0x400)) man <<= 1, ex--;
        bits = sign | ex << 23 | (man & 0x3ff) << 13;
    }
    float x;
    memcpy(&x, &bits, 4);
    return x;
}

int st_read_f32(const struct st_file *f, const struct st_tensor *t, float *dst, uint64_t n,
                struct ant_err *e)
{
    if (t->dtype != ST_F32 && t->dtype != ST_F16 && t->dtype != ST_BF16)
        return ant_errf(e, "%s: tensor %s is %s; anetrain reads F32, F16 and BF16", f->path,
                        t->name, dtypes[t->dtype].name);
    uint64_t esz = (uint64_t)dtypes[t->dtype].size;
    if ((t->end - t->begin) / esz != n)
        return ant_errf(e, "%s: tensor %s holds %llu values, expected %llu", f->path, t->name,
                        (unsigned long long)((t->end - t->begin) / esz), (unsigned long long)n);
    uint64_t size;
    FILE *fp = file_open_read(f->path, &size, e);
    if (!fp) return -1;
    int rc = 0;
    if (size != f->data_start + f->data_size)
        rc = ant_errf(e, "%s: changed size while being read", f->path);
    else if (fseeko(fp, (off_t)(f->data_start + t->begin), SEEK_SET) != 0)
        rc = ant_errf(e, "%s: seek failed: %s", f->path, strerror(errno));
    else if (fread(dst, esz, n, fp) != n)
        rc = ant_errf(e, "%s: tensor %s: read failed", f->path, t->name);
    fclose(fp);
    if (rc || t->dtype == ST_F32) return rc;
    const uint16_t *h = (const uint16_t *)dst;   /* converted back to front, in place */
    for (uint64_t i = n; i-- > 0;) {
        uint16_t v = h[i];
        if (t->dtype == ST_F16) dst[i] = f16_to_f32(v);
        else {
            uint32_t bits = (uint32_t)v << 16;
            memcpy(&dst[i], &bits, 4);
        }
    }
    return 0;
}

int st_write_f32(const char *path, const struct st_out *t, int n, struct ant_err *e)
{
    json_t *root = json_object(), *meta = json_object();
    int rc = root && meta ? 0 : ant_errf(e, "%s: out of memory", path);
    if (rc == 0) json_object_set_new(meta, "format", json_string("pt"));
    if (rc == 0) json_object_set_new(root, "__metadata__", meta);
    else json_decref(meta);
    uint64_t at = 0;
    for (int i = 0; rc == 0 && i < n; i++) {
        uint64_t count = 1;
        json_t *shape = json_array(), *obj = json_object();
        for (int d = 0; d < t[i].rank; d++) {
            json_array_append_new(shape, json_integer(t[i].shape[d]));
            count *= (uint64_t)t[i].shape[d];
        }
        json_object_set_new(obj, "dtype", json_string("F32"));
        json_object_set_new(obj, "shape", shape);
        json_object_set_new(obj, "data_offsets",
                            json_pack("[II]", (json_int_t)at, (json_int_t)(at + 4 * count)));
        json_object_set_new(root, t[i].name, obj);
        at += 4 * count;
    }
    char *text = rc == 0 ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    if (rc == 0 && !text) rc = ant_errf(e, "%s: out of memory", path);
    struct ant_atomic_file a;
    if (rc == 0 && atomic_open(&a, path, e) != 0) rc = -1;
    if (rc == 0) {
        size_t len = strlen(text), padded = (len + 7) / 8 * 8;
        unsigned char h8[8];
        le_wr64(h8, padded);
        rc = atomic_write(&a, h8, 8, e) || atomic_write(&a, text, len, e) ||
             atomic_write(&a, "        ", padded - len, e) ? -1 : 0;
        for (int i = 0; rc == 0 && i < n; i++) {
            uint64_t count = 1;
            for (int d = 0; d < t[i].rank; d++) count *= (uint64_t)t[i].shape[d];
            rc = atomic_write(&a, t[i].data, 4 * count, e);
        }
        if (rc == 0) rc = atomic_commit(&a, 0, e);
        else atomic_abort(&a);
    }
    free(text);
    return rc;
}
