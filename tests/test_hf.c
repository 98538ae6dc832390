/* Hugging Face folders: the q_proj/k_proj row permutation checked by hand on one head
 * pair, the files hf_write makes read back field by field (config.json, the safetensors
 * header and each tensor at its offset), folder round trips byte for byte, a sharded
 * folder with its index, BF16/F16 tensors, and a corpus of malformed safetensors and
 * config.json files refused in one line. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "formats/hf.h"
#include "formats/model_io.h"
#include "formats/safetensors.h"
#include "tap.h"
#include "test_util.h"
#include "test_weights.h"
#include "base/util.h"

static const struct ant_model_config cfg = { .dim = 16, .hidden_dim = 24, .n_layers = 2,
    .n_heads = 4, .n_kv_heads = 2, .vocab_size = 20, .seq_len = 32, .shared_classifier = 0,
    .rope_theta = 500000.0f, .norm_eps = 1e-6f };

static void permutation_by_hand(void)
{
    /* 2 heads of head_dim 4, one column: Meta rows are (pair 0: x0 y0, pair 1: x1 y1) per
     * head; Hugging Face keeps the first halves (x0 x1) then the second (y0 y1). */
    const float meta[8] = { 10, 11, 20, 21, 30, 31, 40, 41 };
    const float want[8] = { 10, 20, 11, 21, 30, 40, 31, 41 };
    float hf[8], back[8];
    hf_permute_rows(meta, hf, 2, 4, 1, 1);
    hf_permute_rows(hf, back, 2, 4, 1, 0);
    ok(!memcmp(hf, want, sizeof hf), "permutation: Meta rows 0 1 2 3 -> HF rows 0 2 1 3 per head");
    ok(!memcmp(back, meta, sizeof back), "permutation: and back");
}

static int close_to(double a, double b) { return fabs(a - b) <= 1e-6 * fabs(b); }

static void written_files(const float *w)
{
    struct ant_err e;
    const char *dir = tmp_path("hf");
    if (!ok(hf_write(dir, &cfg, w, &e) == 0, "hf_write")) diag("%s", e.msg);
    json_t *c = json_load_file(tmp_path("hf/config.json"), 0, NULL);
    ok(c && json_integer_value(json_object_get(c, "hidden_size")) == 16 &&
       json_integer_value(json_object_get(c, "intermediate_size")) == 24 &&
       json_integer_value(json_object_get(c, "num_hidden_layers")) == 2 &&
       json_integer_value(json_object_get(c, "num_attention_heads")) == 4 &&
       json_integer_value(json_object_get(c, "num_key_value_heads")) == 2 &&
       json_integer_value(json_object_get(c, "vocab_size")) == 20 &&
       json_integer_value(json_object_get(c, "max_position_embeddings")) == 32 &&
       close_to(json_real_value(json_object_get(c, "rope_theta")), 500000) &&
       close_to(json_real_value(json_object_get(c, "rms_norm_eps")), 1e-6) &&
       json_is_false(json_object_get(c, "tie_word_embeddings")) &&
       !strcmp(json_string_value(json_object_get(c, "model_type")), "llama"),
       "config.json: LlamaConfig's names for every field");
    json_decref(c);
    size_t n;
    unsigned char *f = slurp(tmp_path("hf/model.safetensors"), &n);
    uint64_t hl;
    memcpy(&hl, f, 8);
    json_t *h = json_loadb((const char *)f + 8, hl, 0, NULL);
    ok(hl % 8 == 0 && h && json_object_size(h) == 1 + 3 + 9 * 2, "safetensors: header of %llu "
       "bytes (a multiple of 8): metadata + 21 tensors", (unsigned long long)hl);
    /* q_proj of layer 1 at its offsets: row h*hd + j*hd/2 + i is our row h*hd + 2i + j */
    json_t *q = json_object_get(h, "model.layers.1.self_attn.q_proj.weight");
    json_t *k = json_object_get(h, "model.layers.1.self_attn.k_proj.weight");
    json_t *lm = json_object_get(h, "lm_head.weight");
    struct ant_layout lay;
    ant_layout_init(&lay, &cfg);
    int good = q && k && lm && !strcmp(json_string_value(json_object_get(q, "dtype")), "F32");
    for (int which = 0; good && which < 2; which++) {
        json_t *t = which ? k : q;
        int heads = which ? 2 : 4, rows = heads * 4;
        const float *ours = w + lay.offset[which ? ANT_WK : ANT_WQ] + lay.per_layer[which ? ANT_WK : ANT_WQ];
        const float *file = (const float *)(f + 8 + hl + json_integer_value(json_array_get(
            json_object_get(t, "data_offsets"), 0)));
        good &= json_integer_value(json_array_get(json_object_get(t, "shape"), 0)) == rows;
        for (int hh = 0; hh < heads; hh++)
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 2; j++)
                    good &= !memcmp(file + (hh * 4 + j * 2 + i) * 16, ours + (hh * 4 + 2 * i + j) * 16, 64);
    }
    const float *file_lm = (const float *)(f + 8 + hl + json_integer_value(json_array_get(
        json_object_get(lm, "data_offsets"), 0)));
    good = good && !memcmp(file_lm, w + lay.offset[ANT_WCLS], lay.per_layer[ANT_WCLS] * 4);
    ok(good, "safetensors: q_proj/k_proj rows permuted as convert_llama_weights_to_hf's permute, "
       "lm_head as it is");
    json_decref(h);
    free(f);
}

static int same_file(const char *a, const char *b)
{
    size_t na, nb;
    unsigned char *x = slurp(a, &na), *y = slurp(b, &nb);
    int same = x && y && na == nb && !memcmp(x, y, na);
    free(x), free(y);
    return same;
}

static void round_trip(const float *w)
{
    struct ant_err e;
    struct ant_model_config c;
    float *r;
    struct ant_layout lay;
    ant_layout_init(&lay, &cfg);
    int rc = model_import(tmp_path("hf"), &c, &r, &e);
    ok(rc == 0 && !memcmp(&c, &cfg, sizeof c) && !memcmp(r, w, lay.total * 4),
       "import: the same shape, rope_theta, norm_eps and weights");
    if (rc) diag("%s", e.msg);
    hf_write(tmp_path("hf2"), &c, r, &e);
    ok(same_file(tmp_path("hf/config.json"), tmp_path("hf2/config.json")) &&
       same_file(tmp_path("hf/model.safetensors"), tmp_path("hf2/model.safetensors")),
       "export -> import -> export: both files byte-identical");
    ant_ffree(r);
}

/* The same tensors split over two files, with model.safetensors.index.json. */
static void sharded(const float *w)
{
    struct ant_err e;
    struct st_file f;
    st_open(tmp_path("hf/model.safetensors"), &f, &e);
    mkdir(tmp_path("sh"), 0777);
    struct st_out part[2][32];
    int np[2] = {0, 0};
    float *bufs[32];
    json_t *map = json_object();
    for (int i = 0; i < f.n; i++) {
        int s = i % 2;
        uint64_t cnt = (f.t[i].end - f.t[i].begin) / 4;
        bufs[i] = malloc(cnt * 4);
        st_read_f32(&f, &f.t[i], bufs[i], cnt, &e);
        part[s][np[s]++] = (struct st_out){ f.t[i].name, bufs[i], f.t[i].rank,
                                            { f.t[i].shape[0], f.t[i].rank > 1 ? f.t[i].shape[1] : 0 } };
        json_object_set_new(map, f.t[i].name, json_string(s ? "model-00002-of-00002.safetensors"
                                                             : "model-00001-of-00002.safetensors"));
    }
    st_write_f32(tmp_path("sh/model-00001-of-00002.safetensors"), part[0], np[0], &e);
    st_write_f32(tmp_path("sh/model-00002-of-00002.safetensors"), part[1], np[1], &e);
    json_t *index = json_pack("{s:{s:i},s:o}", "metadata", "total_size", 0, "weight_map", map);
    json_dump_file(index, tmp_path("sh/model.safetensors.index.json"), 0);
    json_decref(index);
    size_t n;
    unsigned char *c = slurp(tmp_path("hf/config.json"), &n);
    write_bytes(tmp_path("sh/config.json"), c, n);
    free(c);
    struct ant_model_config mc;
    float *r;
    struct ant_layout lay;
    ant_layout_init(&lay, &cfg);
    int rc = model_import(tmp_path("sh"), &mc, &r, &e);
    ok(rc == 0 && !memcmp(r, w, lay.total * 4), "a sharded folder reads the same weights");
    if (rc) diag("%s", e.msg);
    else ant_ffree(r);
    for (int i = 0; i < f.n; i++) free(bufs[i]);
    st_close(&f);
}

/* A safetensors file by hand: header text, then data bytes. */
static void put_st(const char *path, const char *header, const void *data, size_t n)
{
    size_t hl = strlen(header);
    unsigned char *b = malloc(8 + hl + n);
    uint64_t h = hl;
    memcpy(b, &h, 8), memcpy(b + 8, header, hl), memcpy(b + 8 + hl, data, n);
    write_bytes(path, b, 8 + hl + n);
    free(b);
}

static void half_dtypes(void)
{
    const uint16_t bf[2] = { 0x3f80, 0xc040 }, hf16[3] = { 0x3c00, 0x0001, 0xfbff };
    put_st(tmp_path("bf.st"), "{\"a\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]},"
           "\"b\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[4,10]}}", bf, 4);
    /* the F16 data follows the BF16 data */
    unsigned char data[10];
    memcpy(data, bf, 4), memcpy(data + 4, hf16, 6);
    put_st(tmp_path("bf.st"), "{\"a\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]},"
           "\"b\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[4,10]}}", data, 10);
    struct st_file f;
    struct ant_err e;
    float a[2], b[3];
    int rc = st_open(tmp_path("bf.st"), &f, &e);
    ok(rc == 0 && st_read_f32(&f, st_find(&f, "a"), a, 2, &e) == 0 &&
       st_read_f32(&f, st_find(&f, "b"), b, 3, &e) == 0 && a[0] == 1 && a[1] == -3 && b[0] == 1 &&
       b[1] == ldexpf(1, -24) && b[2] == -65504, "BF16 and F16 (a subnormal, the largest) read as floats");
    if (rc == 0) st_close(&f);
}

static void refused_st(const char *what, const char *header, size_t data, const char *needle)
{
    static unsigned char zeros[256];
    const char *p = tmp_path("bad.safetensors");
    put_st(p, header, zeros, data);
    struct st_file f;
    struct ant_err e = {{0}};
    int rc = st_open(p, &f, &e);
    ok(rc < 0 && !strchr(e.msg, '\n') && strstr(e.msg, p) && strstr(e.msg, needle),
       "safetensors refused: %s (\"...%s...\")", what, needle);
    if (rc == 0) st_close(&f);
    else if (!strstr(e.msg, needle)) diag("%s", e.msg);
}

static void malformed_safetensors(void)
{
    refused_st("header not JSON", "{\"a\":", 0, "bad JSON");
    refused_st("header not an object", "[1,2]", 0, "not a JSON object");
    refused_st("a duplicate tensor name", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
               "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "duplicate");
    refused_st("an unknown dtype", "{\"a\":{\"dtype\":\"F128\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "dtype");
    refused_st("offsets past the data", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8, "outside");
    refused_st("negative offsets", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 4, "outside");
    refused_st("shape and bytes disagree", "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "take 12");
    refused_st("a huge shape", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],"
               "\"data_offsets\":[0,8]}}", 8, "overflows");
    refused_st("overlapping tensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
               "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "overlap");
    refused_st("a gap at the end", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, "end at");
    refused_st("metadata not strings", "{\"__metadata__\":{\"x\":1}}", 0, "__metadata__");
    /* header length lies: more than the file, more than 100 MB */
    const char *p = tmp_path("bad.safetensors");
    unsigned char b[16] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, '{', '}' };
    write_bytes(p, b, 16);
    struct st_file f;
    struct ant_err e;
    ok(st_open(p, &f, &e) < 0 && strstr(e.msg, "100 MB"), "safetensors refused: header length 2^63");
    memset(b, 0, 8), b[0] = 200;
    write_bytes(p, b, 16);
    ok(st_open(p, &f, &e) < 0 && strstr(e.msg, "the file holds"), "safetensors refused: header "
       "length past the end");
    write_bytes(p, b, 5);
    ok(st_open(p, &f, &e) < 0 && strstr(e.msg, "too short"), "safetensors refused: truncated");
    /* a dtype anetrain cannot use, in a well-formed file */
    put_st(p, "{\"a\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", b, 8);
    float x[2];
    int rc = st_open(p, &f, &e);
    ok(rc == 0 && st_read_f32(&f, &f.t[0], x, 1, &e) < 0 && strstr(e.msg, "I64"),
       "an I64 tensor is refused by name when read");
    if (rc == 0) st_close(&f);
}

static void refused_cfg(const char *what, const char *from, const char *to, const char *needle)
{
    size_t n;
    char *c = (char *)slurp(tmp_path("hf/config.json"), &n), *at = strstr(c, from), fixed[4096];
    snprintf(fixed, sizeof fixed, "%.*s%s%s", (int)(at - c), c, to, at + strlen(from));
    mkdir(tmp_path("hfbad"), 0777);
    write_text(tmp_path("hfbad/config.json"), fixed);
    unsigned char *st = slurp(tmp_path("hf/model.safetensors"), &n);
    write_bytes(tmp_path("hfbad/model.safetensors"), st, n);
    struct ant_model_config mc;
    float *w;
    struct ant_err e = {{0}};
    int rc = model_import(tmp_path("hfbad"), &mc, &w, &e);
    ok(rc < 0 && !strchr(e.msg, '\n') && strstr(e.msg, tmp_path("hfbad")) && strstr(e.msg, needle),
       "config.json refused: %s (\"...%s...\")", what, needle);
    if (rc == 0) ant_ffree(w);
    else if (!strstr(e.msg, needle)) diag("%s", e.msg);
    free(c), free(st);
}

static void malformed_config(void)
{
    refused_cfg("another model_type", "\"llama\"", "\"mistral\"", "model_type");
    refused_cfg("a lying hidden_size", "\"hidden_size\": 16", "\"hidden_size\": 32", "implies");
    refused_cfg("a lying intermediate_size", "\"intermediate_size\": 24", "\"intermediate_size\": 8", "shape");
    refused_cfg("a huge vocab_size", "\"vocab_size\": 20", "\"vocab_size\": 2000000000", "parameters");
    refused_cfg("hidden_size a string", "\"hidden_size\": 16", "\"hidden_size\": \"16\"", "not an integer");
    refused_cfg("no num_hidden_layers", "\"num_hidden_layers\": 2,", "", "num_hidden_layers is missing");
    refused_cfg("rope_scaling", "\"hidden_act\"", "\"rope_scaling\": {\"type\": \"linear\"}, \"hidden_act\"", "rope_scaling");
    refused_cfg("heads that do not group", "\"num_key_value_heads\": 2", "\"num_key_value_heads\": 3", "whole");
}

int main(void)
{
    tmp_dir_make("test_hf");
    permutation_by_hand();
    float *w = test_random_weights(&cfg, 77, 1.0f);
    written_files(w);
    round_trip(w);
    sharded(w);
    half_dtypes();
    malformed_safetensors();
    malformed_config();
    ant_ffree(w);
    tmp_dir_remove();
    return tap_done();
}
