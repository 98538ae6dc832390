/* llama2.c legacy model.bin reader and writer (see llama2c.h, docs/ane.md §9.2). */
#include "formats/llama2c.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "formats/model_sniff.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "model.bin is read and written as little-endian int32/float32; port this file first"
#endif

#define HEADER_BYTES 28   /* 7 x int32 */

static const char *const tensor_names[ANT_N_TENSORS] = {
    "token_embedding", "rms_att", "wq", "wk", "wv", "wo", "rms_ffn", "w1", "w2", "w3",
    "rms_final", "wcls",
};

/* The checks both directions share: every field positive and the shapes consistent. */
int llama2c_check_config(const char *path, const struct ant_model_config *c, struct ant_err *e)
{
    const char *names[] = { "dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads",
                            "vocab_size", "seq_len" };
    const int32_t vals[] = { c->dim, c->hidden_dim, c->n_layers, c->n_heads, c->n_kv_heads,
                             c->vocab_size, c->seq_len };
    for (int i = 0; i < 7; i++)
        if (vals[i] <= 0)
            return ant_errf(e, "%s: %s is %d, must be positive", path, names[i], (int)vals[i]);
    if (c->dim % c->n_heads)
        return ant_errf(e, "%s: dim %d is not a multiple of n_heads %d", path, c->dim, c->n_heads);
    if (c->n_heads % c->n_kv_heads)
        return ant_errf(e, "%s: n_heads %d is not a multiple of n_kv_heads %d", path,
                        c->n_heads, c->n_kv_heads);
    if (ant_head_dim(c) % 2)
        return ant_errf(e, "%s: head_dim %d (dim / n_heads) is odd; RoPE needs pairs", path,
                        ant_head_dim(c));
    return 0;
}

/* Floats in the file body (weights + RoPE tables), or -1 if that overflows 64 bits:
 * computed with checks before ant_layout_init() multiplies the same sizes unchecked. */
static int body_floats(const struct ant_model_config *c, uint64_t *out)
{
    uint64_t D = (uint64_t)c->dim, H = (uint64_t)c->hidden_dim, L = (uint64_t)c->n_layers;
    uint64_t V = (uint64_t)c->vocab_size, T = (uint64_t)c->seq_len;
    uint64_t KV = D / (uint64_t)c->n_heads * (uint64_t)c->n_kv_heads;
    uint64_t hd = D / (uint64_t)c->n_heads;
    uint64_t dd, kvd, hdd, layer, all_layers, vd, rope, total;
    if (__builtin_mul_overflow(D, D, &dd) || __builtin_mul_overflow(KV, D, &kvd) ||
        __builtin_mul_overflow(H, D, &hdd) || __builtin_mul_overflow(V, D, &vd) ||
        __builtin_mul_overflow(T, hd, &rope))
        return -1;
    /* per layer: rms_att + wq + wk + wv + wo + rms_ffn + w1 + w2 + w3. Each product of
     * two int32 is below 2^62, so 2x and 3x of one still fit. */
    if (__builtin_add_overflow(2 * D, 2 * dd, &layer) ||
        __builtin_add_overflow(layer, 2 * kvd, &layer) ||
        __builtin_add_overflow(layer, 3 * hdd, &layer) ||
        __builtin_mul_overflow(layer, L, &all_layers))
        return -1;
    total = vd;
    if (__builtin_add_overflow(total, all_layers, &total) ||
        __builtin_add_overflow(total, D + rope, &total) ||
        (!c->shared_classifier && __builtin_add_overflow(total, vd, &total)))
        return -1;
    if (total > UINT64_MAX / 4 - HEADER_BYTES) return -1;
    *out = total;
    return 0;
}

int llama2c_weight_floats(const struct ant_model_config *c, uint64_t *n)
{
    uint64_t all;
    if (body_floats(c, &all) != 0) return -1;
    *n = all - (uint64_t)c->seq_len * (uint64_t)ant_head_dim(c);   /* both RoPE tables */
    return 0;
}

/* A weight that is NaN or infinite: no training recovers from it, so say where it is. */
int llama2c_check_finite(const char *path, const float *w, const struct ant_layout *lay,
                        int n_layers, struct ant_err *e)
{
    for (int t = 0; t < ANT_N_TENSORS; t++) {
        size_t n = lay->per_layer[t] * (lay->layered[t] ? (size_t)n_layers : 1);
        const float *p = w + lay->offset[t];
        for (size_t i = 0; i < n; i++)
            if (!isfinite(p[i]))
                return ant_errf(e, "%s: %s element %zu is %g", path, tensor_names[t], i,
                                (double)p[i]);
    }
    return 0;
}

static int read_floats(FILE *f, const char *path, float *dst, size_t n, struct ant_err *e)
{
    if (fread(dst, sizeof(float), n, f) != n)
        return ant_errf(e, "%s: read failed: %s", path, ferror(f) ? strerror(errno) : "short read");
    return 0;
}

static int read_body(FILE *f, const char *path, const struct ant_model_config *cfg,
                     float **weights, struct ant_err *e)
{
    struct ant_layout lay;
    ant_layout_init(&lay, cfg);
    float *w = ant_falloc(lay.total);
    if (!w) return ant_errf(e, "%s: out of memory for %zu floats", path, lay.total);
    long rope_bytes = (long)cfg->seq_len * ant_head_dim(cfg) * (long)sizeof(float);
    /* token_embedding .. rms_final are contiguous, then the RoPE tables, then wcls */
    int rc = read_floats(f, path, w, lay.offset[ANT_WCLS], e);
    if (rc == 0 && fseek(f, rope_bytes, SEEK_CUR) != 0)
        rc = ant_errf(e, "%s: seek failed: %s", path, strerror(errno));
    if (rc == 0) rc = read_floats(f, path, w + lay.offset[ANT_WCLS], lay.per_layer[ANT_WCLS], e);
    if (rc == 0) rc = llama2c_check_finite(path, w, &lay, cfg->n_layers, e);
    if (rc != 0) {
        ant_ffree(w);
        return -1;
    }
    *weights = w;
    return 0;
}

int llama2c_read(const char *path, struct ant_model_config *cfg, float **weights,
                 struct ant_err *e)
{
    *weights = NULL;
    uint64_t size;
    FILE *f = file_open_read(path, &size, e);
    if (!f) return -1;
    int32_t h[7];
    int rc = -1;
    uint64_t floats;
    if (size < HEADER_BYTES || fread(h, 4, 7, f) != 7) {
        ant_errf(e, "%s: %llu bytes, shorter than the %d-byte header", path,
                 (unsigned long long)size, HEADER_BYTES);
        goto done;
    }
    if ((uint32_t)h[0] == ANT_LLAMA2C_MAGIC) {
        ant_errf(e, "%s: a llama2.c model.bin of version %d (\"ak42\" header), not version 0",
                 path, (int)h[1]);
        goto done;
    }
    *cfg = (struct ant_model_config){
        .dim = h[0], .hidden_dim = h[1], .n_layers = h[2], .n_heads = h[3], .n_kv_heads = h[4],
        .vocab_size = h[5] == INT32_MIN ? 0 : abs(h[5]), .seq_len = h[6],
        .shared_classifier = h[5] > 0, .rope_theta = 10000.0f, .norm_eps = 1e-5f,
    };
    if (llama2c_check_config(path, cfg, e) != 0) goto done;
    if (body_floats(cfg, &floats) != 0) {
        ant_errf(e, "%s: header (dim %d, hidden_dim %d, n_layers %d, vocab_size %d, seq_len %d) "
                 "implies an impossible size", path, cfg->dim, cfg->hidden_dim, cfg->n_layers,
                 (int)h[5], cfg->seq_len);
        goto done;
    }
    uint64_t want = HEADER_BYTES + 4 * floats;
    if (size != want) {
        ant_errf(e, "%s: file is %lld bytes but its header (dim %d, hidden_dim %d, n_layers %d, "
                 "n_heads %d, n_kv_heads %d, vocab_size %d, seq_len %d) implies %llu", path,
                 (long long)size, cfg->dim, cfg->hidden_dim, cfg->n_layers, cfg->n_heads,
                 cfg->n_kv_heads, (int)h[5], cfg->seq_len, (unsigned long long)want);
        goto done;
    }
    rc = read_body(f, path, cfg, weights, e);
done:
    fclose(f);
    return rc;
}

/* One RoPE table, row by row: [seq_len][head_dim/2], cos (imag = 0) or sin (imag = 1),
 * in float32 the way export.py's precompute_freqs_cis computes it. */
static int write_rope(struct ant_atomic_file *a, const struct ant_model_config *c, int imag,
                      float *row, struct ant_err *e)
{
    int half = ant_head_dim(c) / 2;
    for (int p = 0; p < c->seq_len; p++) {
        for (int i = 0; i < half; i++) {
            float expo = (float)(2 * i) / (float)ant_head_dim(c);
            float freq = 1.0f / powf(c->rope_theta, expo);
            float angle = (float)p * freq;
            row[i] = imag ? sinf(angle) : cosf(angle);
        }
        if (atomic_write(a, row, (size_t)half * sizeof(float), e) != 0) return -1;
    }
    return 0;
}

int llama2c_write(const char *path, const struct ant_model_config *cfg, const float *weights,
                  struct ant_err *e)
{
    uint64_t floats;
    if (llama2c_check_config(path, cfg, e) != 0) return -1;
    if (!(cfg->rope_theta > 0) || !isfinite(cfg->rope_theta))
        return ant_errf(e, "%s: rope_theta %g must be positive", path, (double)cfg->rope_theta);
    if (body_floats(cfg, &floats) != 0) return ant_errf(e, "%s: model too large", path);
    struct ant_layout lay;
    ant_layout_init(&lay, cfg);
    int32_t h[7] = { cfg->dim, cfg->hidden_dim, cfg->n_layers, cfg->n_heads, cfg->n_kv_heads,
                     cfg->shared_classifier ? cfg->vocab_size : -cfg->vocab_size, cfg->seq_len };
    float *row = malloc((size_t)ant_head_dim(cfg) / 2 * sizeof *row);
    if (!row) return ant_errf(e, "%s: out of memory", path);
    struct ant_atomic_file a;
    if (atomic_open(&a, path, e) != 0) {
        free(row);
        return -1;
    }
    int rc = atomic_write(&a, h, sizeof h, e) != 0 ||
             atomic_write(&a, weights, lay.offset[ANT_WCLS] * sizeof(float), e) != 0 ||
             write_rope(&a, cfg, 0, row, e) != 0 || write_rope(&a, cfg, 1, row, e) != 0 ||
             atomic_write(&a, weights + lay.offset[ANT_WCLS],
                          lay.per_layer[ANT_WCLS] * sizeof(float), e) != 0;
    free(row);
    if (rc) {
        atomic_abort(&a);
        return -1;
    }
    return atomic_commit(&a, 0, e);
}
