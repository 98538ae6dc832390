/* llama2.c model.bin: write random models (MHA + shared classifier, GQA + separate
 * classifier), check every tensor at its file offset computed here independently, read
 * back, byte-identical rewrite, the RoPE tables against double precision, and refusals. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/llama2c.h"
#include "tap.h"
#include "test_util.h"
#include "test_weights.h"
#include "base/util.h"

/* Sizes in floats of the file's blocks, in file order, from the §9.2 list (not from
 * ant_layout): emb, 9 per-layer tensors, rms_final, freq real, freq imag, wcls. */
struct block {
    const char *name;
    int tensor;   /* ant_tensor_id, or -1 for a RoPE table */
    size_t per_layer;
    int layers;
};

static int file_blocks(const struct ant_model_config *c, struct block *b)
{
    size_t D = (size_t)c->dim, H = (size_t)c->hidden_dim, V = (size_t)c->vocab_size;
    size_t hd = D / (size_t)c->n_heads, KV = hd * (size_t)c->n_kv_heads;
    size_t T = (size_t)c->seq_len;
    int L = c->n_layers, n = 0;
    b[n++] = (struct block){ "token_embedding", ANT_TOK_EMB, V * D, 1 };
    b[n++] = (struct block){ "rms_att", ANT_RMS_ATT, D, L };
    b[n++] = (struct block){ "wq", ANT_WQ, D * D, L };
    b[n++] = (struct block){ "wk", ANT_WK, KV * D, L };
    b[n++] = (struct block){ "wv", ANT_WV, KV * D, L };
    b[n++] = (struct block){ "wo", ANT_WO, D * D, L };
    b[n++] = (struct block){ "rms_ffn", ANT_RMS_FFN, D, L };
    b[n++] = (struct block){ "w1", ANT_W1, H * D, L };
    b[n++] = (struct block){ "w2", ANT_W2, D * H, L };
    b[n++] = (struct block){ "w3", ANT_W3, H * D, L };
    b[n++] = (struct block){ "rms_final", ANT_RMS_FINAL, D, 1 };
    b[n++] = (struct block){ "freq_cis_real", -1, T * hd / 2, 1 };
    b[n++] = (struct block){ "freq_cis_imag", -2, T * hd / 2, 1 };
    if (!c->shared_classifier) b[n++] = (struct block){ "wcls", ANT_WCLS, V * D, 1 };
    return n;
}

/* One model through write, file check, read, rewrite. */
static void round_trip(const char *what, const struct ant_model_config *c)
{
    struct ant_err e;
    struct ant_layout lay;
    ant_layout_init(&lay, c);
    float *w = test_random_weights(c, 1234 + (uint64_t)c->dim, 1.0f);
    const char *p1 = tmp_path("a.bin"), *p2 = tmp_path("b.bin");
    if (!ok(llama2c_write(p1, c, w, &e) == 0, "%s: write", what)) diag("%s", e.msg);

    size_t n;
    unsigned char *file = slurp(p1, &n);
    int32_t h[7];
    memcpy(h, file, sizeof h);
    int32_t want_h[7] = { c->dim, c->hidden_dim, c->n_layers, c->n_heads, c->n_kv_heads,
                          c->shared_classifier ? c->vocab_size : -c->vocab_size, c->seq_len };
    ok(!memcmp(h, want_h, sizeof h), "%s: header, vocab_size sign = classifier", what);

    struct block b[16];
    int nb = file_blocks(c, b), tensors_ok = 1, hd = c->dim / c->n_heads;
    size_t off = 28;
    double rope_err = 0, rope_err_double = 0;
    for (int k = 0; k < nb; k++) {
        for (int l = 0; l < b[k].layers; l++) {
            const float *in_file = (const float *)(file + off);
            if (b[k].tensor >= 0) {
                tensors_ok &= off + b[k].per_layer * 4 <= n &&
                              !memcmp(in_file, ant_tensor(w, &lay, b[k].tensor, l),
                                      b[k].per_layer * 4);
            } else {
                /* RoPE [seq_len][hd/2]: export.py's float32 angle, cos/sin in double; and
                 * the all-double value within float32 rounding of the angle. */
                for (int pos = 0; pos < c->seq_len; pos++)
                    for (int i = 0; i < hd / 2; i++) {
                        float fa = (float)pos * (1.0f / powf(10000.0f, (float)(2 * i) / (float)hd));
                        double da = pos * pow(10000.0, -2.0 * i / hd);
                        double got = in_file[pos * (hd / 2) + i];
                        double want = b[k].tensor == -1 ? cos((double)fa) : sin((double)fa);
                        double want_d = b[k].tensor == -1 ? cos(da) : sin(da);
                        rope_err = fmax(rope_err, fabs(got - want));
                        rope_err_double = fmax(rope_err_double, fabs(got - want_d));
                    }
            }
            off += b[k].per_layer * 4;
        }
    }
    ok(tensors_ok && off == n, "%s: every tensor at its §9.2 offset, file %zu bytes", what, n);
    ok(rope_err <= 1e-6, "%s: freq_cis = cos/sin of the float32 angle within 1e-6 (%.2g)",
       what, rope_err);
    ok(rope_err_double <= 1e-6, "%s: and of the double angle within 1e-6 (%.2g)", what,
       rope_err_double);
    free(file);

    struct ant_model_config c2;
    float *w2 = NULL;
    if (!ok(llama2c_read(p1, &c2, &w2, &e) == 0, "%s: read", what)) {
        diag("%s", e.msg);
        ant_ffree(w);
        return;
    }
    ok(c2.dim == c->dim && c2.hidden_dim == c->hidden_dim && c2.n_layers == c->n_layers &&
       c2.n_heads == c->n_heads && c2.n_kv_heads == c->n_kv_heads &&
       c2.vocab_size == c->vocab_size && c2.seq_len == c->seq_len &&
       c2.shared_classifier == c->shared_classifier && c2.rope_theta == 10000.0f &&
       c2.norm_eps == 1e-5f, "%s: config read back", what);
    ok(!memcmp(w, w2, lay.total * sizeof *w), "%s: weights read back exactly", what);

    ok(llama2c_write(p2, &c2, w2, &e) == 0, "%s: rewrite", what);
    size_t n1, n2;
    unsigned char *f1 = slurp(p1, &n1), *f2 = slurp(p2, &n2);
    ok(f1 && f2 && n1 == n2 && !memcmp(f1, f2, n1), "%s: write-read-write is byte-identical",
       what);
    free(f1);
    free(f2);
    ant_ffree(w);
    ant_ffree(w2);
}

static void refuses(const char *what, const char *path, const char *needle1, const char *needle2)
{
    struct ant_model_config c;
    float *w = (float *)1;
    struct ant_err e = { { 0 } };
    int rc = llama2c_read(path, &c, &w, &e);
    int good = rc == -1 && w == NULL && strstr(e.msg, path) && strstr(e.msg, needle1) &&
               (!needle2 || strstr(e.msg, needle2));
    ok(good, "refuses %s", what);
    if (!good) diag("rc %d: %s", rc, e.msg);
    if (rc == 0) ant_ffree(w);
}

/* A model file with a header changed: h[field] = value (body untouched). */
static void refuses_header(const char *what, const unsigned char *file, size_t n, int field,
                           int32_t value, const char *needle)
{
    unsigned char *bad = malloc(n);
    memcpy(bad, file, n);
    memcpy(bad + 4 * field, &value, 4);
    write_bytes(tmp_path("bad.bin"), bad, n);
    refuses(what, tmp_path("bad.bin"), needle, NULL);
    free(bad);
}

static void test_refusals(const struct ant_model_config *c)
{
    struct ant_err e;
    float *w = test_random_weights(c, 9, 1.0f);
    const char *good = tmp_path("good.bin");
    llama2c_write(good, c, w, &e);
    size_t n;
    unsigned char *file = slurp(good, &n);
    char size_s[32], want_s[32];
    snprintf(want_s, sizeof want_s, "implies %zu", n);

    refuses("a missing file", tmp_path("none.bin"), "no such file", NULL);
    write_bytes(tmp_path("cut.bin"), file, n - 4);
    snprintf(size_s, sizeof size_s, "is %zu bytes", n - 4);
    refuses("a truncated file, naming both sizes", tmp_path("cut.bin"), size_s, want_s);
    unsigned char *longer = calloc(1, n + 4);
    memcpy(longer, file, n);
    write_bytes(tmp_path("long.bin"), longer, n + 4);
    snprintf(size_s, sizeof size_s, "is %zu bytes", n + 4);
    refuses("trailing bytes, naming both sizes", tmp_path("long.bin"), size_s, want_s);
    free(longer);
    write_bytes(tmp_path("hdr.bin"), file, 20);
    refuses("a file shorter than the header", tmp_path("hdr.bin"), "28-byte header", NULL);

    refuses_header("dim 0", file, n, 0, 0, "dim is 0");
    refuses_header("negative hidden_dim", file, n, 1, -5, "hidden_dim is -5");
    refuses_header("n_layers 0", file, n, 2, 0, "n_layers is 0");
    refuses_header("dim not a multiple of n_heads", file, n, 3, 5, "not a multiple of n_heads 5");
    refuses_header("n_heads not a multiple of n_kv_heads", file, n, 4, 3,
                   "not a multiple of n_kv_heads 3");
    refuses_header("an odd head_dim", file, n, 3, 16, "head_dim 1");
    refuses_header("vocab_size 0", file, n, 5, 0, "vocab_size is 0");
    refuses_header("seq_len 0", file, n, 6, 0, "seq_len is 0");
    snprintf(size_s, sizeof size_s, "file is %zu bytes", n);
    refuses_header("a header off by one layer", file, n, 2, c->n_layers + 1, size_s);
    refuses_header("a shared classifier declared separate", file, n, 5, -c->vocab_size, "implies");
    refuses_header("a header implying 100 GB", file, n, 1, INT32_MAX, "implies");
    int32_t huge[7] = { 1 << 30, 1 << 30, 1 << 30, 4, 4, 1 << 30, 1 << 30 };
    write_bytes(tmp_path("huge.bin"), huge, sizeof huge);
    refuses("a header whose size overflows 64 bits", tmp_path("huge.bin"), "impossible size",
            NULL);

    unsigned char *nan = malloc(n);
    memcpy(nan, file, n);
    float bad = NAN;
    memcpy(nan + 28 + 4 * 5, &bad, 4);
    write_bytes(tmp_path("nan.bin"), nan, n);
    refuses("a NaN weight, naming the tensor", tmp_path("nan.bin"), "token_embedding element 5",
            NULL);
    free(nan);

    struct ant_model_config odd = *c;
    odd.n_heads = 3;
    ok(llama2c_write(tmp_path("w.bin"), &odd, w, &e) == -1 && strstr(e.msg, "n_heads") &&
       !fopen(tmp_path("w.bin"), "rb"), "write refuses a bad config and leaves no file");
    free(file);
    ant_ffree(w);
}

int main(void)
{
    tmp_dir_make("ant-l2c");
    struct ant_model_config mha = { .dim = 16, .hidden_dim = 40, .n_layers = 2, .n_heads = 4,
                                    .n_kv_heads = 4, .vocab_size = 37, .seq_len = 8,
                                    .shared_classifier = 1, .rope_theta = 10000, .norm_eps = 1e-5f };
    struct ant_model_config gqa = { .dim = 24, .hidden_dim = 36, .n_layers = 3, .n_heads = 6,
                                    .n_kv_heads = 2, .vocab_size = 29, .seq_len = 5,
                                    .shared_classifier = 0, .rope_theta = 10000, .norm_eps = 1e-5f };
    round_trip("MHA, shared classifier", &mha);
    round_trip("GQA, separate classifier", &gqa);
    test_refusals(&mha);
    tmp_dir_remove();
    return tap_done();
}
