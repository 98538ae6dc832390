/* llama2.c model.bin versions 1 and 2: every header field and tensor at the offset
 * export.py gives it (computed here from export.py's lists, not from the reader), Q8_0
 * against a quantizer written here from quantize_q80, reads back, byte-for-byte rewrites,
 * files told apart by their magic, and a corpus of malformed files refused in one line. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/llama2c.h"
#include "formats/model_io.h"
#include "formats/model_sniff.h"
#include "tap.h"
#include "base/rng.h"
#include "test_util.h"
#include "test_weights.h"
#include "base/util.h"

static int32_t rd32(const unsigned char *p) { int32_t v; memcpy(&v, p, 4); return v; }

/* export.py's version1 list: the norms, then embedding and matrices, wcls unless shared. */
static const int v1_list[] = { ANT_RMS_ATT, ANT_RMS_FFN, ANT_RMS_FINAL, ANT_TOK_EMB, ANT_WQ,
                               ANT_WK, ANT_WV, ANT_WO, ANT_W1, ANT_W2, ANT_W3, ANT_WCLS };

static void check_header(const char *what, const unsigned char *f, const struct ant_model_config *c,
                         int version)
{
    const int32_t want[7] = { c->dim, c->hidden_dim, c->n_layers, c->n_heads, c->n_kv_heads,
                              c->vocab_size, c->seq_len };
    int fields = !memcmp(f, "24ka", 4) && rd32(f + 4) == version;   /* 0x616b3432 LE */
    for (int i = 0; i < 7; i++) fields &= rd32(f + 8 + 4 * i) == want[i];
    ok(fields, "%s: magic \"ak42\", version %d, the 7 ints at bytes 8..35", what, version);
    ok(f[36] == (c->shared_classifier ? 1 : 0), "%s: shared_classifier byte at 36", what);
    size_t pad_from = version == 2 ? 41 : 37;
    int zeros = 1;
    for (size_t i = pad_from; i < 256; i++) zeros &= f[i] == 0;
    ok(zeros, "%s: zeros from byte %zu to 256", what, pad_from);
}

/* export.py's quantize_q80 in float32 (numpy/torch semantics), independently. */
static void ref_quantize(const float *x, int gs, int8_t *q, float *s)
{
    float m = 0;
    for (int i = 0; i < gs; i++) m = fmaxf(m, fabsf(x[i]));
    *s = m / 127.0f;
    for (int i = 0; i < gs; i++) q[i] = (int8_t)(*s ? rintf(x[i] / *s) : 0);
}

static void v1_case(const char *what, const struct ant_model_config *c)
{
    struct ant_err e;
    struct ant_layout lay;
    ant_layout_init(&lay, c);
    float *w = test_random_weights(c, 7 + (uint64_t)c->dim, 0.1f);
    const char *p = tmp_path("v1.bin"), *p2 = tmp_path("v1b.bin");
    if (!ok(llama2c_write_ak42(p, 1, c, w, &e) == 0, "%s: write v1", what)) diag("%s", e.msg);
    size_t n;
    unsigned char *f = slurp(p, &n);
    check_header(what, f, c, 1);
    size_t off = 256, good = 1;
    for (size_t k = 0; k < sizeof v1_list / sizeof *v1_list; k++) {
        int t = v1_list[k];
        size_t cnt = lay.per_layer[t] * (lay.layered[t] ? (size_t)c->n_layers : 1);
        good &= !memcmp(f + off, w + lay.offset[t], cnt * 4);
        off += cnt * 4;
    }
    ok(good && off == n, "%s: every tensor at export.py's offset, file ends after the last", what);
    struct ant_model_config rc;
    float *r;
    int version = 0;
    ok(llama2c_read_ak42(p, &rc, &r, &version, &e) == 0 && version == 1 &&
       !memcmp(r, w, lay.total * 4) && rc.dim == c->dim && rc.n_kv_heads == c->n_kv_heads &&
       rc.shared_classifier == c->shared_classifier, "%s: reads back the same model", what);
    llama2c_write_ak42(p2, 1, &rc, r, &e);
    size_t n2;
    unsigned char *f2 = slurp(p2, &n2);
    ok(n2 == n && !memcmp(f, f2, n), "%s: export -> import -> export is byte-identical", what);
    free(f), free(f2), ant_ffree(w), ant_ffree(r);
}

static void v2_case(const char *what, const struct ant_model_config *c, int want_gs)
{
    struct ant_err e;
    struct ant_layout lay;
    ant_layout_init(&lay, c);
    float *w = test_random_weights(c, 9 + (uint64_t)c->dim, 0.1f);
    const char *p = tmp_path("v2.bin"), *p2 = tmp_path("v2b.bin");
    if (!ok(llama2c_write_ak42(p, 2, c, w, &e) == 0, "%s: write v2", what)) diag("%s", e.msg);
    size_t n;
    unsigned char *f = slurp(p, &n);
    check_header(what, f, c, 2);
    ok(rd32(f + 37) == want_gs, "%s: group_size %d at byte 37 (got %d)", what, want_gs, rd32(f + 37));
    int gs = want_gs;
    size_t off = 256;
    int norms = 1, quant = 1;
    for (int k = 0; k < 3; k++) {   /* rms_att, rms_ffn, rms_final in fp32 */
        int t = v1_list[k];
        size_t cnt = lay.per_layer[t] * (lay.layered[t] ? (size_t)c->n_layers : 1);
        norms &= !memcmp(f + off, w + lay.offset[t], cnt * 4);
        off += cnt * 4;
    }
    int8_t q[64];
    float s;
    double worst = 0;
    for (size_t k = 3; k < sizeof v1_list / sizeof *v1_list; k++) {
        int t = v1_list[k];   /* each layer's tensor: int8 values, then its scales */
        size_t per = lay.per_layer[t];
        for (int l = 0; l < (lay.layered[t] ? c->n_layers : 1); l++) {
            const float *x = w + lay.offset[t] + (size_t)l * per;
            for (size_t g = 0; g < per / (size_t)gs; g++) {
                ref_quantize(x + g * (size_t)gs, gs, q, &s);
                float fs;
                memcpy(&fs, f + off + per + 4 * g, 4);
                quant &= !memcmp(f + off + g * (size_t)gs, q, (size_t)gs) && fs == s;
                for (int i = 0; i < gs; i++)
                    worst = fmax(worst, fabs(q[i] * (double)s - x[g * (size_t)gs + (size_t)i]) / (s ? s : 1));
            }
            off += per + 4 * (per / (size_t)gs);
        }
    }
    ok(norms, "%s: the norms in fp32 first", what);
    ok(quant && off == n, "%s: each tensor's int8 then fp32 scales equal quantize_q80's, file "
       "ends after the last", what);
    ok(worst <= 0.5 + 1e-6, "%s: |q*scale - x| <= scale/2 (worst %.3f scales)", what, worst);
    struct ant_model_config rc;
    float *r;
    int version = 0;
    int same_deq = llama2c_read_ak42(p, &rc, &r, &version, &e) == 0 && version == 2;
    if (!same_deq) diag("%s", e.msg);
    /* the read-back value of element 0 of wq: q * scale from the file */
    size_t wq_at = 256 + 4 * (lay.per_layer[ANT_RMS_ATT] * (size_t)c->n_layers * 2 + (size_t)c->dim)
                   + lay.per_layer[ANT_TOK_EMB] + 4 * (lay.per_layer[ANT_TOK_EMB] / (size_t)gs);
    float s0;
    memcpy(&s0, f + wq_at + lay.per_layer[ANT_WQ], 4);
    ok(same_deq && r[lay.offset[ANT_WQ]] == (float)(int8_t)f[wq_at] * s0,
       "%s: reads wq[0] as its int8 times its scale", what);
    llama2c_write_ak42(p2, 2, &rc, r, &e);
    size_t n2;
    unsigned char *f2 = slurp(p2, &n2);
    ok(n2 == n && !memcmp(f, f2, n), "%s: export -> import -> export is byte-identical", what);
    free(f), free(f2), ant_ffree(w), ant_ffree(r);
}

/* Dequantized groups quantize back to the same bytes, over many random scales. */
static void q8_grid(void)
{
    struct ant_rng r;
    rng_seed(&r, 3);
    int same = 1;
    for (int k = 0; k < 20000 && same; k++) {
        float x[32], y[32], s1, s2;
        int8_t q1[32], q2[32];
        double mag = exp((double)rng_normal(&r) * 8);
        for (int i = 0; i < 32; i++) x[i] = (float)(rng_normal(&r) * mag);
        q8_quantize(x, 32, 32, q1, &s1);
        q8_dequantize(q1, &s1, 32, 32, y);
        q8_quantize(y, 32, 32, q2, &s2);
        same = s1 == s2 && !memcmp(q1, q2, 32);
        if (!same) diag("group %d: scale %.9g -> %.9g", k, (double)s1, (double)s2);
    }
    ok(same, "Q8_0: 20000 random groups: quantize(dequantize(q, s)) gives q, s again");
}

/* ---- malformed files -------------------------------------------------------------- */

static void refused(const char *what, const unsigned char *b, size_t n, const char *needle)
{
    const char *p = tmp_path("bad.bin");
    write_bytes(p, b, n);
    struct ant_model_config c;
    float *w = NULL;
    struct ant_err e = {{0}};
    int rc = model_import(p, &c, &w, &e);
    ok(rc < 0 && !strchr(e.msg, '\n') && strstr(e.msg, p) && strstr(e.msg, needle),
       "refused: %s (\"...%s...\")", what, needle);
    if (rc == 0) ant_ffree(w);
    else if (!strstr(e.msg, needle)) diag("%s", e.msg);
}

static void malformed(const struct ant_model_config *c)
{
    struct ant_err e;
    float *w = test_random_weights(c, 5, 0.1f);
    const char *p = tmp_path("good.bin");
    llama2c_write_ak42(p, 2, c, w, &e);
    size_t n;
    unsigned char *f = slurp(p, &n), *b = malloc(n + 64);
    refused("v2 truncated in the header", f, 100, "shorter than the 256-byte");
    refused("v2 truncated in the body", f, n - 1, "implies");
    memcpy(b, f, n), memcpy(b + n, f, 8);
    refused("v2 with bytes after the body", b, n + 8, "implies");
    memcpy(b, f, n), b[8] ^= 0x40;   /* dim */
    refused("v2 whose header lies about dim", b, n, "dim");
    memcpy(b, f, n), b[8 + 4 * 5 + 3] = 0x40;   /* vocab_size 2^30 */
    refused("v2 with a huge vocab_size", b, n, "implies");
    memcpy(b, f, n), memset(b + 37, 0, 4);
    refused("v2 with group_size 0", b, n, "group_size 0");
    memcpy(b, f, n), b[37] = 5;
    refused("v2 whose group_size does not divide", b, n, "group_size");
    memcpy(b, f, n), b[4] = 3;
    refused("version 3", b, n, "version 3");
    memcpy(b, f, n), b[36] = 7;
    refused("shared_classifier byte 7", b, n, "shared_classifier");
    memcpy(b, f, n), memset(b + 8 + 12, 0xff, 4);   /* n_heads -1 */
    refused("negative n_heads", b, n, "n_heads");
    free(f), free(b), ant_ffree(w);
    /* files that are something else */
    static const unsigned char gguf[32] = "GGUF\3\0\0\0";
    refused("a GGUF file", gguf, sizeof gguf, "GGUF");
    static const unsigned char spm[32] = { 0x0a, 0x0b, 0x0a, 0x05, '<', 'u', 'n', 'k', '>', 0x15,
                                           0, 0, 0, 0, 0x18, 0x02 };
    refused("a SentencePiece model", spm, sizeof spm, "SentencePiece");
    static const unsigned char zip[32] = "PK\3\4";
    refused("a PyTorch zip", zip, sizeof zip, "PyTorch");
    static const unsigned char tok[32] = { 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 'a' };
    refused("a tokenizer.bin", tok, 13, "tokenizer");
    unsigned char st[32] = { 16, 0, 0, 0, 0, 0, 0, 0, '{', '}' };
    memset(st + 10, ' ', 14);
    refused("a safetensors file alone", st, 24, "config.json");
}

int main(void)
{
    tmp_dir_make("test_llama2c_ak42");
    struct ant_model_config mha = { .dim = 64, .hidden_dim = 160, .n_layers = 2, .n_heads = 4,
        .n_kv_heads = 4, .vocab_size = 32, .seq_len = 16, .shared_classifier = 1,
        .rope_theta = 10000, .norm_eps = 1e-5f };
    struct ant_model_config gqa = mha;
    gqa.n_kv_heads = 2, gqa.shared_classifier = 0, gqa.dim = 48, gqa.hidden_dim = 128;
    v1_case("v1 MHA shared", &mha);
    v1_case("v1 GQA separate wcls", &gqa);
    v2_case("v2 MHA shared", &mha, 32);   /* 64 halved: hidden_dim 160 */
    v2_case("v2 GQA separate wcls", &gqa, 16);
    q8_grid();
    malformed(&gqa);
    struct ant_err e;
    float *w = test_random_weights(&mha, 1, 0.1f);
    enum ant_file_kind k0, k1, k2;
    llama2c_write(tmp_path("a0"), &mha, w, &e);
    llama2c_write_ak42(tmp_path("a1"), 1, &mha, w, &e);
    llama2c_write_ak42(tmp_path("a2"), 2, &mha, w, &e);
    model_sniff(tmp_path("a0"), &k0, &e), model_sniff(tmp_path("a1"), &k1, &e);
    model_sniff(tmp_path("a2"), &k2, &e);
    ok(k0 == ANT_FILE_LLAMA2C_V0 && k1 == ANT_FILE_LLAMA2C_V1 && k2 == ANT_FILE_LLAMA2C_V2,
       "sniff tells versions 0, 1 and 2 apart");
    ant_ffree(w);
    tmp_dir_remove();
    return tap_done();
}
