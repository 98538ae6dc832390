/* Tokenizers: a small llama2.c tokenizer.bin built here, encode against hand-computed
 * merges, byte fallback, decode rules, round trips, and refusals of bad files. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "test_util.h"
#include "data/tokenizer.h"

/* The test vocabulary: llama2.c's specials, the 256 byte tokens at 3..258 as in the Llama
 * 2 vocab, then pieces and merges. Scores decide merge order. */
#define SP 259
enum { T_A = 260, T_B, T_C, T_T, T_H, T_E, T_EACUTE, T_TH, T_THE, T_SPTHE, T_AB, T_BC, T_SPA,
       T_CA, N_VOCAB };
static const char *const pieces[] = {
    [SP] = " ", [T_A] = "a", [T_B] = "b", [T_C] = "c", [T_T] = "t", [T_H] = "h", [T_E] = "e",
    [T_EACUTE] = "\xc3\xa9", [T_TH] = "th", [T_THE] = "the", [T_SPTHE] = " the",
    [T_AB] = "ab", [T_BC] = "bc", [T_SPA] = " a", [T_CA] = "ca",
};
static const float scores[] = {
    [T_TH] = -1, [T_THE] = -2, [T_SPTHE] = -3, [T_BC] = -4, [T_AB] = -5, [T_SPA] = -6,
    [T_CA] = -8,
};

struct blob {
    unsigned char *p;
    size_t n, cap;
};

static void put(struct blob *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

static void put_entry(struct blob *b, float score, const char *s, int32_t len)
{
    put(b, &score, 4);
    put(b, &len, 4);
    put(b, s, strlen(s));
}

/* The file's bytes: max_token_length, then (score, len, bytes) per token. */
static struct blob make_vocab(void)
{
    struct blob b = { 0 };
    int32_t maxlen = 7;   /* "\n</s>\n" is 6, "<0xHH>" 6; 7 leaves room */
    put(&b, &maxlen, 4);
    put_entry(&b, 0, "<unk>", 5);
    put_entry(&b, 0, "\n<s>\n", 5);
    put_entry(&b, 0, "\n</s>\n", 6);
    for (int i = 0; i < 256; i++) {
        char s[8];
        snprintf(s, sizeof s, "<0x%02X>", i);
        put_entry(&b, 0, s, 6);
    }
    for (int i = SP; i < N_VOCAB; i++) put_entry(&b, scores[i], pieces[i], (int32_t)strlen(pieces[i]));
    return b;
}

static int encodes(const struct ant_tokenizer *t, const char *text, int bos, const int32_t *want,
                   int n_want, const char *what)
{
    int32_t out[64];
    int n = -1;
    int rc = tokenizer_encode(t, text, bos, out, 64, &n);
    int good = rc == 0 && n == n_want && !memcmp(out, want, sizeof *want * (size_t)n_want);
    ok(good, "encode %s", what);
    if (!good) {
        char got[512] = "";
        for (int i = 0; i < n && i < 32; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), " %d", (int)out[i]);
        diag("rc %d, %d tokens:%s", rc, n, got);
    }
    return good;
}

/* Decode a sequence the way llama2.c's sampler prints it: a leading BOS is context, not
 * text; each token is decoded after the one before it. */
static void decode_all(const struct ant_tokenizer *t, const int32_t *tok, int n, int bos,
                       char *out)
{
    out[0] = 0;
    for (int i = bos ? 1 : 0; i < n; i++)
        strcat(out, tokenizer_decode(t, i ? tok[i - 1] : -1, tok[i]));
}

static void test_bpe(const struct ant_tokenizer *t)
{
    ok(tokenizer_vocab_size(t) == N_VOCAB, "vocab size %d", N_VOCAB);
    /* " "+t+h+e: th (-1) first, then the (-2), then " the" (-3) */
    encodes(t, "the", 0, (int32_t[]){ T_SPTHE }, 1, "\"the\" merges th, the, \" the\"");
    encodes(t, "the", 1, (int32_t[]){ 1, T_SPTHE }, 2, "with BOS");
    /* " "+a+b+c: bc (-4) beats ab (-5); then " a" (-6); " abc" is no token */
    encodes(t, "abc", 0, (int32_t[]){ T_SPA, T_BC }, 2, "\"abc\": the higher score wins");
    /* " "+c+a+b: "ca" (-8) is leftmost but "ab" (-5) scores higher; " c", "cab" are none */
    encodes(t, "cab", 0, (int32_t[]){ SP, T_C, T_AB }, 3, "\"cab\": best score, not leftmost");
    /* '!' is no piece: its byte token 3 + 0x21 */
    encodes(t, "a!", 0, (int32_t[]){ T_SPA, 3 + 0x21 }, 2, "byte fallback for '!'");
    encodes(t, "\xc3\xa9", 0, (int32_t[]){ SP, T_EACUTE }, 2, "a 2-byte code point found whole");
    encodes(t, "\xc3\xbc", 0, (int32_t[]){ SP, 3 + 0xc3, 3 + 0xbc }, 3,
            "an unknown code point falls back to its bytes");
    encodes(t, "", 1, (int32_t[]){ 1 }, 1, "empty text with BOS: no dummy space");
    encodes(t, "", 0, (int32_t[]){ 0 }, 0, "empty text: nothing");

    int32_t out[4];
    int n;
    ok(tokenizer_encode(t, "abc", 0, out, 1, &n) == -1, "encode refuses a too small buffer");
    ok(tokenizer_encode(t, "abc", 0, out, 2, &n) == 0 && n == 2, "and fits an exact one");

    ok(!strcmp(tokenizer_decode(t, 1, T_SPTHE), "the"), "decode after BOS drops the space");
    ok(!strcmp(tokenizer_decode(t, T_A, T_SPTHE), " the"), "decode elsewhere keeps it");
    ok(!strcmp(tokenizer_decode(t, 5, 3 + 0x21), "!"), "decode <0x21> is \"!\"");
    ok(!strcmp(tokenizer_decode(t, 5, 3 + 0x0A), "\n"), "decode <0x0A> is a newline");
    ok(!strcmp(tokenizer_decode(t, 5, T_EACUTE), "\xc3\xa9"), "decode a plain piece");
    ok(!strcmp(tokenizer_decode(t, 5, N_VOCAB), "") && !strcmp(tokenizer_decode(t, 5, -1), ""),
       "decode out-of-range ids gives \"\"");

    const char *texts[] = { "the abc", "the cat\xc3\xa9 sat!\n", "\xc3\xbc ab bc  th",
                            "\xe2\x82\xac 9", "a" };
    int all = 1;
    for (int k = 0; k < 5; k++) {
        int32_t tok[64];
        char back[256];
        if (tokenizer_encode(t, texts[k], 1, tok, 64, &n) != 0) { all = 0; continue; }
        decode_all(t, tok, n, 1, back);
        if (strcmp(back, texts[k])) {
            all = 0;
            diag("round trip of \"%s\" gave \"%s\"", texts[k], back);
        }
    }
    ok(all, "encode with BOS then decode gives back the text");
}

static void test_bytes(void)
{
    struct ant_tokenizer *t;
    struct ant_err e;
    ok(tokenizer_open(&t, "", 256, &e) == 0 && tokenizer_vocab_size(t) == 256,
       "byte-level tokenizer opens");
    int32_t tok[16];
    int n;
    const char *s = "Hi \xc3\xa9\n";
    int good = tokenizer_encode(t, s, 1, tok, 16, &n) == 0 && n == (int)strlen(s);
    for (int i = 0; good && i < n; i++) good = tok[i] == (unsigned char)s[i];
    ok(good, "byte-level encode: one token per byte, no BOS");
    char back[32];
    decode_all(t, tok, n, 0, back);
    ok(!strcmp(back, s), "byte-level decode round trip");
    ok(tokenizer_encode(t, s, 0, tok, 3, &n) == -1, "byte-level encode refuses a small buffer");
    ok(!strcmp(tokenizer_decode(t, 0, 300), ""), "byte-level decode above 255 is \"\"");
    tokenizer_close(t);
    ok(tokenizer_open(&t, "", 100, &e) == -1 && strstr(e.msg, "256"),
       "byte-level refuses vocab_size < 256");
}

static void refuses(const char *what, const char *path, int vocab, const char *needle)
{
    struct ant_tokenizer *t = (struct ant_tokenizer *)1;
    struct ant_err e = { { 0 } };
    int rc = tokenizer_open(&t, path, vocab, &e);
    int good = rc == -1 && !t && strstr(e.msg, path) && strstr(e.msg, needle);
    ok(good, "refuses %s", what);
    if (!good) diag("rc %d: %s", rc, e.msg);
    if (rc == 0) tokenizer_close(t);
}

static void test_refusals(const struct blob *b)
{
    refuses("a missing file", tmp_path("none.bin"), N_VOCAB, "no such file");
    write_bytes(tmp_path("cut.bin"), b->p, b->n - 1);
    refuses("a truncated file", tmp_path("cut.bin"), N_VOCAB, "truncated in entry 273");
    write_bytes(tmp_path("cut2.bin"), b->p, 4 + 8 + 2);   /* "<unk>" cut after 2 bytes */
    refuses("a file cut inside entry 0", tmp_path("cut2.bin"), N_VOCAB, "truncated in entry 0");
    write_bytes(tmp_path("tok.bin"), b->p, b->n);
    refuses("fewer entries than vocab_size", tmp_path("tok.bin"), N_VOCAB + 1,
            "holds 274 entries, not vocab_size 275");
    refuses("more entries than vocab_size", tmp_path("tok.bin"), N_VOCAB - 1,
            "more entries than vocab_size 273");

    unsigned char *bad = malloc(b->n);
    memcpy(bad, b->p, b->n);
    int32_t len = 9;   /* entry 1's length field, now above max_token_length 7 */
    memcpy(bad + 4 + (8 + 5) + 4, &len, 4);
    write_bytes(tmp_path("len.bin"), bad, b->n);
    refuses("an entry longer than max_token_length", tmp_path("len.bin"), N_VOCAB,
            "entry 1 has length 9, outside 1..7");
    memcpy(bad, b->p, b->n);
    int32_t maxlen = 0;
    memcpy(bad, &maxlen, 4);
    write_bytes(tmp_path("max.bin"), bad, b->n);
    refuses("max_token_length 0", tmp_path("max.bin"), N_VOCAB, "max_token_length 0");
    free(bad);
    write_bytes(tmp_path("tiny.bin"), b->p, 3);
    refuses("a file shorter than its header", tmp_path("tiny.bin"), N_VOCAB, "too short");

    struct ant_tokenizer *t;
    struct ant_err e;
    ok(tokenizer_open(&t, tmp_path("tok.bin"), 0, &e) == 0 && tokenizer_vocab_size(t) == N_VOCAB,
       "vocab_size 0 takes every entry in the file");
    if (t) tokenizer_close(t);
}

int main(void)
{
    tmp_dir_make("ant-tok");
    struct blob b = make_vocab();
    write_bytes(tmp_path("tokenizer.bin"), b.p, b.n);
    struct ant_tokenizer *t;
    struct ant_err e;
    if (tokenizer_open(&t, tmp_path("tokenizer.bin"), N_VOCAB, &e) != 0) {
        printf("Bail out! %s\n", e.msg);
        return 1;
    }
    test_bpe(t);
    tokenizer_close(t);
    test_bytes();
    test_refusals(&b);
    free(b.p);
    tmp_dir_remove();
    return tap_done();
}
