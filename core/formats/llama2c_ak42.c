/* llama2.c model.bin versions 1 (fp32) and 2 (Q8_0): the "ak42" header and the two
 * bodies (see llama2c.h). Checked against export.py's version1_export/version2_export
 * and runq.c's read_checkpoint/memory_map_weights. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "base/le.h"
#include "formats/llama2c.h"
#include "formats/model_sniff.h"

#define AK42_HEADER 256
#define AK42_GROUP_AT 37   /* int32 group_size right after the shared_classifier byte */

/* Tensors in the order version 1 stores them; version 2 keeps the first three in fp32
 * and quantizes the rest, layer by layer. */
static const int v1_order[ANT_N_TENSORS] = {
    ANT_RMS_ATT, ANT_RMS_FFN, ANT_RMS_FINAL, ANT_TOK_EMB, ANT_WQ, ANT_WK, ANT_WV, ANT_WO,
    ANT_W1, ANT_W2, ANT_W3, ANT_WCLS,
};
#define N_FP32_V2 3

static size_t tensor_floats(const struct ant_layout *lay, int t, int L)
{
    return lay->per_layer[t] * (lay->layered[t] ? (size_t)L : 1);
}

/* Elements of the largest single-layer tensor: the size of one quantization buffer. */
static size_t largest(const struct ant_layout *lay)
{
    size_t most = 1;
    for (int t = 0; t < ANT_N_TENSORS; t++)
        if (lay->per_layer[t] > most) most = lay->per_layer[t];
    return most;
}

static int read_exact(FILE *f, const char *path, void *dst, size_t n, struct ant_err *e)
{
    if (n && fread(dst, 1, n, f) != n)
        return ant_errf(e, "%s: read failed: %s", path, ferror(f) ? strerror(errno) : "short read");
    return 0;
}

/* The header into cfg, version and group size (0 for version 1). */
static int parse_header(const char *path, const unsigned char *h, struct ant_model_config *cfg,
                        int *version, int *gs, struct ant_err *e)
{
    if (le_rd32(h) != ANT_LLAMA2C_MAGIC)
        return ant_errf(e, "%s: no \"ak42\" magic: not a llama2.c version 1 or 2 file", path);
    int32_t v = (int32_t)le_rd32(h + 4);
    if (v != 1 && v != 2)
        return ant_errf(e, "%s: llama2.c model.bin version %d; anetrain reads versions 0, 1 "
                        "and 2", path, (int)v);
    int32_t f[7];
    for (int i = 0; i < 7; i++) f[i] = (int32_t)le_rd32(h + 8 + 4 * i);
    if (h[36] > 1)
        return ant_errf(e, "%s: shared_classifier byte is %d, not 0 or 1", path, h[36]);
    *cfg = (struct ant_model_config){
        .dim = f[0], .hidden_dim = f[1], .n_layers = f[2], .n_heads = f[3], .n_kv_heads = f[4],
        .vocab_size = f[5], .seq_len = f[6], .shared_classifier = h[36],
        .rope_theta = 10000.0f, .norm_eps = 1e-5f,
    };
    if (llama2c_check_config(path, cfg, e) != 0) return -1;
    *version = v;
    *gs = 0;
    if (v == 2) {
        *gs = (int32_t)le_rd32(h + AK42_GROUP_AT);
        if (*gs < 1 || *gs > cfg->dim)
            return ant_errf(e, "%s: group_size %d is not in 1..dim (%d)", path, *gs, cfg->dim);
    }
    return 0;
}

/* Bytes the body must have; every quantized tensor must be whole groups. */
static int body_bytes(const char *path, const struct ant_model_config *c, int version, int gs,
                      uint64_t *out, struct ant_err *e)
{
    uint64_t total;
    if (llama2c_weight_floats(c, &total) != 0)
        return ant_errf(e, "%s: header (dim %d, hidden_dim %d, n_layers %d, vocab_size %d) "
                        "implies an impossible size", path, c->dim, c->hidden_dim,
                        c->n_layers, c->vocab_size);
    if (version == 1) {
        *out = 4 * total;
        return 0;
    }
    struct ant_layout lay;
    ant_layout_init(&lay, c);
    uint64_t bytes = 0;
    for (int i = 0; i < ANT_N_TENSORS; i++) {
        int t = v1_order[i];
        uint64_t n = tensor_floats(&lay, t, c->n_layers);
        if (i < N_FP32_V2) bytes += 4 * n;
        else if (lay.per_layer[t] % (size_t)gs)
            return ant_errf(e, "%s: group_size %d does not divide a %zu-element tensor", path,
                            gs, lay.per_layer[t]);
        else bytes += n + 4 * (n / (uint64_t)gs);   /* <= 2 x total: no overflow */
    }
    *out = bytes;
    return 0;
}

static int read_v2_body(FILE *f, const char *path, const struct ant_model_config *c, int gs,
                        const struct ant_layout *lay, float *w, struct ant_err *e)
{
    int8_t *q = malloc(largest(lay));
    float *s = malloc(largest(lay) / (size_t)gs * 4 + 4);
    int rc = q && s ? 0 : ant_errf(e, "%s: out of memory", path);
    for (int i = 0; rc == 0 && i < ANT_N_TENSORS; i++) {
        int t = v1_order[i];
        if (i < N_FP32_V2) {
            rc = read_exact(f, path, w + lay->offset[t], 4 * tensor_floats(lay, t, c->n_layers), e);
            continue;
        }
        size_t n = lay->per_layer[t];
        for (int l = 0; rc == 0 && l < (lay->layered[t] ? c->n_layers : 1); l++) {
            rc = read_exact(f, path, q, n, e);
            if (rc == 0) rc = read_exact(f, path, s, 4 * (n / (size_t)gs), e);
            if (rc == 0) q8_dequantize(q, s, n, gs, w + lay->offset[t] + (size_t)l * n);
        }
    }
    free(q);
    free(s);
    return rc;
}

int llama2c_read_ak42(const char *path, struct ant_model_config *cfg, float **weights,
                      int *version, struct ant_err *e)
{
    *weights = NULL;
    uint64_t size, want = 0;
    FILE *f = file_open_read(path, &size, e);
    if (!f) return -1;
    unsigned char h[AK42_HEADER];
    int gs = 0, rc = -1;
    float *w = NULL;
    if (size < AK42_HEADER || fread(h, 1, AK42_HEADER, f) != AK42_HEADER) {
        ant_errf(e, "%s: %llu bytes, shorter than the 256-byte llama2.c header", path,
                 (unsigned long long)size);
        goto done;
    }
    if (parse_header(path, h, cfg, version, &gs, e) != 0 ||
        body_bytes(path, cfg, *version, gs, &want, e) != 0)
        goto done;
    if (size - AK42_HEADER != want) {
        ant_errf(e, "%s: file is %llu bytes but its version %d header (dim %d, hidden_dim %d, "
                 "n_layers %d, n_heads %d, n_kv_heads %d, vocab_size %d, seq_len %d%s) implies "
                 "%llu", path, (unsigned long long)size, *version, cfg->dim, cfg->hidden_dim,
                 cfg->n_layers, cfg->n_heads, cfg->n_kv_heads, cfg->vocab_size, cfg->seq_len,
                 cfg->shared_classifier ? ", shared classifier" : "",
                 (unsigned long long)(want + AK42_HEADER));
        goto done;
    }
    struct ant_layout lay;
    ant_layout_init(&lay, cfg);
    if (!(w = ant_falloc(lay.total))) {
        ant_errf(e, "%s: out of memory for %zu floats", path, lay.total);
        goto done;
    }
    if (*version == 1) {
        rc = 0;
        for (int i = 0; rc == 0 && i < ANT_N_TENSORS; i++)
            rc = read_exact(f, path, w + lay.offset[v1_order[i]],
                            4 * tensor_floats(&lay, v1_order[i], cfg->n_layers), e);
    } else {
        rc = read_v2_body(f, path, cfg, gs, &lay, w, e);
    }
    if (rc == 0) rc = llama2c_check_finite(path, w, &lay, cfg->n_layers, e);
done:
    fclose(f);
    if (rc == 0) *weights = w;
    else ant_ffree(w);
    return rc;
}

static int write_v2_body(struct ant_atomic_file *a, const struct ant_model_config *c, int gs,
                         const struct ant_layout *lay, const float *w, struct ant_err *e)
{
    int8_t *q = malloc(largest(lay));
    float *s = malloc(largest(lay) / (size_t)gs * 4 + 4);
    int rc = q && s ? 0 : ant_errf(e, "%s: out of memory", a->path);
    for (int i = 0; rc == 0 && i < ANT_N_TENSORS; i++) {
        int t = v1_order[i];
        if (i < N_FP32_V2) {
            rc = atomic_write(a, w + lay->offset[t], 4 * tensor_floats(lay, t, c->n_layers), e);
            continue;
        }
        size_t n = lay->per_layer[t];
        for (int l = 0; rc == 0 && l < (lay->layered[t] ? c->n_layers : 1); l++) {
            q8_quantize(w + lay->offset[t] + (size_t)l * n, n, gs, q, s);
            rc = atomic_write(a, q, n, e);
            if (rc == 0) rc = atomic_write(a, s, 4 * (n / (size_t)gs), e);
        }
    }
    free(q);
    free(s);
    return rc;
}

int llama2c_write_ak42(const char *path, int version, const struct ant_model_config *cfg,
                       const float *weights, struct ant_err *e)
{
    uint64_t total;
    if (version != 1 && version != 2)
        return ant_errf(e, "%s: llama2.c version %d: write 0, 1 or 2", path, version);
    if (llama2c_check_config(path, cfg, e) != 0) return -1;
    if (llama2c_weight_floats(cfg, &total) != 0) return ant_errf(e, "%s: model too large", path);
    struct ant_layout lay;
    ant_layout_init(&lay, cfg);
    unsigned char h[AK42_HEADER] = {0};
    le_wr32(h, ANT_LLAMA2C_MAGIC);
    le_wr32(h + 4, (uint32_t)version);
    const int32_t f[7] = { cfg->dim, cfg->hidden_dim, cfg->n_layers, cfg->n_heads,
                           cfg->n_kv_heads, cfg->vocab_size, cfg->seq_len };
    for (int i = 0; i < 7; i++) le_wr32(h + 8 + 4 * i, (uint32_t)f[i]);
    h[36] = cfg->shared_classifier ? 1 : 0;
    int gs = llama2c_group_size(cfg);
    if (version == 2) le_wr32(h + AK42_GROUP_AT, (uint32_t)gs);
    struct ant_atomic_file a;
    if (atomic_open(&a, path, e) != 0) return -1;
    int rc = atomic_write(&a, h, sizeof h, e);
    if (version == 1)
        for (int i = 0; rc == 0 && i < ANT_N_TENSORS; i++)
            rc = atomic_write(&a, weights + lay.offset[v1_order[i]],
                              4 * tensor_floats(&lay, v1_order[i], cfg->n_layers), e);
    else if (rc == 0)
        rc = write_v2_body(&a, cfg, gs, &lay, weights, e);
    if (rc) {
        atomic_abort(&a);
        return -1;
    }
    return atomic_commit(&a, 0, e);
}
