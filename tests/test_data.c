/* Training data: refusals with their messages, sequential and random windows against
 * hand-computed positions, byte tokens of text, and the embedded corpus. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/corpus.h"
#include "data/data.h"
#include "base/rng.h"
#include "tap.h"
#include "test_util.h"
#include "base/util.h"

/* ids as little-endian uint16, byte by byte, whatever the host */
static void write_tokens(const char *path, const int *ids, int n)
{
    unsigned char *b = malloc((size_t)n * 2 + 1);
    for (int i = 0; i < n; i++) {
        b[2 * i] = (unsigned char)(ids[i] & 0xff);
        b[2 * i + 1] = (unsigned char)(ids[i] >> 8);
    }
    write_bytes(path, b, (size_t)n * 2);
    free(b);
}

/* data_open must refuse, with a message holding the file name and each of the needles. */
static void refuses(const char *what, const char *path, const char *format, int vocab, int seq,
                    const char *needle1, const char *needle2)
{
    struct ant_data *d = (struct ant_data *)1;
    struct ant_err e = { { 0 } };
    int rc = data_open(&d, path, format, vocab, seq, &e);
    const char *name = path[0] ? path : "<embedded corpus>";
    int good = rc == -1 && d == NULL && strstr(e.msg, name) && strstr(e.msg, needle1) &&
               (!needle2 || strstr(e.msg, needle2)) && !strchr(e.msg, '\n');
    ok(good, "refuses %s", what);
    if (!good) diag("rc %d, message: %s", rc, e.msg);
    if (rc == 0) data_close(d);
}

static void test_refusals(void)
{
    int ids[16];
    for (int i = 0; i < 16; i++) ids[i] = i;
    refuses("a missing file", tmp_path("missing.bin"), "auto", 256, 8, "no such file", NULL);
    refuses("a directory", tmp_dir, "tokens", 256, 8, "directory", NULL);
    write_bytes(tmp_path("empty.bin"), "", 0);
    refuses("an empty file", tmp_path("empty.bin"), "auto", 256, 8, "empty", NULL);
    write_bytes(tmp_path("odd.bin"), "abc", 3);
    refuses("an odd length", tmp_path("odd.bin"), "auto", 256, 1, "odd length", "3 bytes");
    write_tokens(tmp_path("short.bin"), ids, 8);
    refuses("fewer than seq_len+1 tokens", tmp_path("short.bin"), "tokens", 256, 8,
            "8 tokens", "seq_len + 1 = 9");
    ids[5] = 300;
    write_tokens(tmp_path("badid.bin"), ids, 16);
    refuses("an id >= vocab_size, naming index, offset and value", tmp_path("badid.bin"),
            "auto", 256, 8, "token 5 (byte offset 10) is 300", "vocab_size 256");
    ids[5] = 5;
    write_bytes(tmp_path("small.txt"), "hello world, hello world", 24);
    refuses("text with vocab_size < 256", tmp_path("small.txt"), "auto", 100, 8, "256",
            "not 100");
    refuses("an unknown format", tmp_path("small.txt"), "csv", 256, 8, "\"csv\"", NULL);
    refuses("the embedded corpus as tokens", "", "tokens", 256, 8, "is text", NULL);

    if (geteuid() != 0) {   /* root reads anything */
        write_tokens(tmp_path("locked.bin"), ids, 16);
        chmod(tmp_path("locked.bin"), 0);
        refuses("an unreadable file", tmp_path("locked.bin"), "auto", 256, 8, "cannot open",
                "ermission");
    } else {
        ok(1, "# SKIP unreadable file: running as root");
    }

    /* the boundary: exactly seq_len + 1 tokens is enough */
    struct ant_data *d;
    struct ant_err e;
    write_tokens(tmp_path("nine.bin"), ids, 9);
    int rc = data_open(&d, tmp_path("nine.bin"), "auto", 256, 8, &e);
    ok(rc == 0 && data_n_tokens(d) == 9, "accepts exactly seq_len + 1 tokens");
    if (rc == 0) data_close(d);
}

/* Check a batch against start positions computed by hand. */
static int batch_is(const int *x, const int32_t *tok, const int32_t *tgt, int B, int T,
                    const int *starts)
{
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            if (tok[b * T + t] != x[starts[b] + t] || tgt[b * T + t] != x[starts[b] + t + 1])
                return 0;
    return 1;
}

static void test_windows(void)
{
    enum { N = 21, B = 2, T = 4 };
    int x[N];
    for (int i = 0; i < N; i++) x[i] = 1000 + (i * 37) % 900;   /* > 255: tests byte order */
    write_tokens(tmp_path("win.bin"), x, N);
    struct ant_data *d;
    struct ant_err e;
    if (!ok(data_open(&d, tmp_path("win.bin"), "auto", 2000, T, &e) == 0, "opens a tokens file"))
        diag("%s", e.msg);
    ok(data_n_tokens(d) == N, "n_tokens = size / 2");
    ok(!strcmp(data_name(d), tmp_path("win.bin")), "name is the path");

    /* sequential: starts 0,4 | 8,12 | 16 (16+5 = 21 fits), then 20+5 > 21 wraps to 0 */
    static const int want[4][B] = { { 0, 4 }, { 8, 12 }, { 16, 0 }, { 4, 8 } };
    struct ant_cursor cur = { 0 };
    int32_t tok[B * T], tgt[B * T];
    int seq_good = 1;
    for (int k = 0; k < 4; k++) {
        data_next_batch(d, &cur, 1, B, T, tok, tgt);
        seq_good &= batch_is(x, tok, tgt, B, T, want[k]);
    }
    ok(seq_good && cur.position == 12, "sequential windows at hand-computed positions, wrap");

    /* random: p = rng_below(n - T) per row, reproduced here from the documented rule */
    struct ant_cursor c1 = { 0 }, c2 = { 0 };
    struct ant_rng ref;
    rng_seed(&c1.rng, 7);
    rng_seed(&c2.rng, 7);
    rng_seed(&ref, 7);
    int same = 1, in_range = 1, rule = 1, seen[N] = { 0 };
    for (int k = 0; k < 300; k++) {
        int32_t tok2[B * T], tgt2[B * T];
        data_next_batch(d, &c1, 0, B, T, tok, tgt);
        data_next_batch(d, &c2, 0, B, T, tok2, tgt2);
        same &= !memcmp(tok, tok2, sizeof tok) && !memcmp(tgt, tgt2, sizeof tgt);
        for (int b = 0; b < B; b++) {
            int p = -1;
            for (int i = 0; i < N; i++)   /* x is injective: find the start */
                if (x[i] == tok[b * T]) p = i;
            in_range &= p >= 0 && p + T + 1 <= N;
            if (p >= 0) seen[p] = 1;
            int starts[1] = { p };
            rule &= p >= 0 && batch_is(x, tok + b * T, tgt + b * T, 1, T, starts) &&
                    (uint64_t)p == rng_below(&ref, N - T);
        }
    }
    int covered = 0;
    for (int i = 0; i < N; i++) covered += seen[i];
    ok(same, "random windows: same seed, same windows");
    ok(in_range, "random windows all inside the data");
    ok(rule, "random starts follow p = rng_below(n - T)");
    ok(covered == N - T, "random starts reach all %d possible starts (got %d)", N - T, covered);

    /* skipping: rank 1 of 3 (skip B, take B, skip B) gets rows B..2B-1 of the 3B rows
     * one rank would read, and leaves the cursor where that rank would, in both orders */
    for (int sequential = 0; sequential <= 1; sequential++) {
        struct ant_cursor all = { 0 }, mine = { 0 };
        rng_seed(&all.rng, 11);
        rng_seed(&mine.rng, 11);
        int good = 1;
        for (int k = 0; k < 50; k++) {
            int32_t tok3[3 * B * T], tgt3[3 * B * T];
            data_next_batch(d, &all, sequential, 3 * B, T, tok3, tgt3);
            data_skip_windows(d, &mine, sequential, B, T);
            data_next_batch(d, &mine, sequential, B, T, tok, tgt);
            data_skip_windows(d, &mine, sequential, B, T);
            good &= !memcmp(tok, tok3 + B * T, sizeof tok) && !memcmp(tgt, tgt3 + B * T, sizeof tgt) &&
                    !memcmp(&all, &mine, sizeof all);
        }
        ok(good, "%s: skip, take, skip = the middle rows of one 3B batch, same cursor",
           sequential ? "sequential" : "random");
    }

    /* fingerprint: stable for the same bytes, changed by one byte */
    struct ant_data *d2;
    data_open(&d2, tmp_path("win.bin"), "tokens", 2000, T, &e);
    uint64_t f1 = data_fingerprint(d), f2 = data_fingerprint(d2);
    data_close(d2);
    x[3] = 1999;
    write_tokens(tmp_path("win2.bin"), x, N);
    data_open(&d2, tmp_path("win2.bin"), "tokens", 2000, T, &e);
    ok(f1 == f2 && f1 != data_fingerprint(d2), "fingerprint: same data same id, other data other");
    data_close(d2);
    data_close(d);
}

static void test_text(void)
{
    const char *txt = "Hi, caf\xc3\xa9!\n";   /* UTF-8 bytes above 127 stay positive */
    size_t n = strlen(txt);
    write_bytes(tmp_path("t.txt"), txt, n);
    struct ant_data *d;
    struct ant_err e;
    int rc = data_open(&d, tmp_path("t.txt"), "auto", 256, (int)n - 1, &e);
    if (!ok(rc == 0, "opens a text file")) {
        diag("%s", e.msg);
        return;
    }
    struct ant_cursor cur = { 0 };
    int32_t tok[16], tgt[16];
    data_next_batch(d, &cur, 1, 1, (int)n - 1, tok, tgt);
    int good = data_n_tokens(d) == n;
    for (size_t i = 0; i + 1 < n; i++)
        good &= tok[i] == (unsigned char)txt[i] && tgt[i] == (unsigned char)txt[i + 1];
    ok(good, "text gives one token per byte, bytes as 0..255");
    data_close(d);
    /* the same bytes named .bin are read as uint16 tokens by auto, as text when told */
    write_bytes(tmp_path("t2.bin"), txt, n - 1);
    rc = data_open(&d, tmp_path("t2.bin"), "text", 256, 4, &e);
    ok(rc == 0 && data_n_tokens(d) == n - 1, "format text overrides the .bin suffix");
    if (rc == 0) data_close(d);
    rc = data_open(&d, tmp_path("t2.bin"), "auto", 65536, 4, &e);
    ok(rc == 0 && data_n_tokens(d) == (n - 1) / 2, "auto reads .bin as uint16 tokens");
    if (rc == 0) data_close(d);
}

/* Distinct lower-cased words, counted in a small open-addressing set of hashes. */
static int distinct_words(const char *s, size_t n)
{
    enum { CAP = 1 << 14 };
    static uint64_t set[CAP];
    memset(set, 0, sizeof set);
    int count = 0;
    for (size_t i = 0; i < n;) {
        if (!((s[i] | 32) >= 'a' && (s[i] | 32) <= 'z')) { i++; continue; }
        uint64_t h = ANT_FNV_INIT;
        for (; i < n && (s[i] | 32) >= 'a' && (s[i] | 32) <= 'z'; i++) {
            char c = (char)(s[i] | 32);
            h = ant_fnv1a(&c, 1, h);
        }
        h |= 1;
        size_t k = h & (CAP - 1);
        while (set[k] && set[k] != h) k = (k + 1) & (CAP - 1);
        if (!set[k]) { set[k] = h; count++; }
    }
    return count;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void test_corpus(void)
{
    size_t n1, n2;
    double t0 = ant_now_ms();
    const char *c1 = corpus_text(&n1);
    diag("corpus: %zu bytes generated in %.1f ms", n1, ant_now_ms() - t0);
    char *c2 = corpus_generate(&n2);
    if (!ok(c1 && c2, "corpus generated")) return;
    ok(n1 == n2 && !memcmp(c1, c2, n1) &&
       ant_fnv1a(c1, n1, ANT_FNV_INIT) == ant_fnv1a(c2, n2, ANT_FNV_INIT),
       "two generations are identical (length %zu, hash %016llx)", n2,
       (unsigned long long)ant_fnv1a(c2, n2, ANT_FNV_INIT));
    ok(corpus_text(&n2) == c1, "corpus_text caches one copy");
    ok(n1 >= 1000000 && n1 <= 2000000, "size between 1 and 2 MB");

    int ascii = c1[n1] == 0, syntax = 0;
    for (size_t i = 0; i < n1; i++) {
        unsigned char ch = (unsigned char)c1[i];
        ascii &= (ch >= 0x20 && ch < 0x7f) || ch == '\n';
        syntax += strchr("[]{}|", ch) && ch;
    }
    ok(ascii, "printable ASCII and newlines only (valid UTF-8), NUL-terminated");
    ok(syntax == 0, "no template syntax left in the text (%d stray characters)", syntax);

    int words = distinct_words(c1, n1);
    ok(words >= 300, "many distinct words (%d)", words);

    /* stories: split on blank lines; nearly all different */
    uint64_t *h = malloc(sizeof *h * (n1 / 100 + 1));
    size_t ns = 0, start = 0;
    for (size_t i = 0; i + 1 < n1; i++)
        if (c1[i] == '\n' && c1[i + 1] == '\n') {
            h[ns++] = ant_fnv1a(c1 + start, i - start, ANT_FNV_INIT);
            start = i + 2;
        }
    qsort(h, ns, sizeof *h, cmp_u64);
    size_t uniq = ns ? 1 : 0;
    for (size_t i = 1; i < ns; i++) uniq += h[i] != h[i - 1];
    ok(ns >= 1000 && uniq * 100 >= ns * 99, "%zu stories, %zu distinct", ns, uniq);
    ok(start == n1, "text ends at a story boundary");
    free(h);
    free(c2);

    struct ant_data *d;
    struct ant_err e;
    int rc = data_open(&d, "", "auto", 256, 128, &e);
    ok(rc == 0 && data_n_tokens(d) == n1 && !strcmp(data_name(d), "<embedded corpus>"),
       "the embedded corpus opens as byte tokens");
    if (rc == 0) {
        struct ant_cursor cur = { 0 };
        int32_t tok[128], tgt[128];
        data_next_batch(d, &cur, 1, 1, 128, tok, tgt);
        int good = 1;
        for (int t = 0; t < 128; t++)
            good &= tok[t] == (unsigned char)c1[t] && tgt[t] == (unsigned char)c1[t + 1];
        ok(good, "its first window is its first bytes");
        data_close(d);
    }
}

/* A held-out tail: 100 tokens, 20% held out = the last 20 (hand-computed); no training
 * window, target included, reaches past token 79; the tail's windows are its tokens. */
static void test_tail(void)
{
    enum { N = 100, T = 4 };
    int x[N];
    for (int i = 0; i < N; i++) x[i] = i;
    write_tokens(tmp_path("tail.bin"), x, N);
    struct ant_data *d, *tail;
    struct ant_err e;
    data_open(&d, tmp_path("tail.bin"), "tokens", 256, T, &e);
    uint64_t fp = data_fingerprint(d);
    int rc = data_split_tail(d, 0.2, T, &tail, &e);
    ok(rc == 0 && data_n_tokens(d) == 80 && data_n_tokens(tail) == 20,
       "20%% of 100 tokens: 80 to train on, 20 held out (%s)", rc ? e.msg : "");
    if (rc) return;
    ok(data_fingerprint(d) == fp, "the training part keeps the file's fingerprint");
    struct ant_cursor cur = {0};
    rng_seed(&cur.rng, 3);
    int32_t tok[2 * T], tgt[2 * T];
    int max = 0;
    for (int k = 0; k < 2000; k++) {
        data_next_batch(d, &cur, k & 1, 2, T, tok, tgt);
        for (int i = 0; i < 2 * T; i++) max = tgt[i] > max ? tgt[i] : max;
    }
    ok(max == 79, "training windows reach token 79 and never the tail (max %d)", max);
    struct ant_cursor c0 = {0};
    data_next_batch(tail, &c0, 1, 1, T, tok, tgt);
    ok(tok[0] == 80 && tok[3] == 83 && tgt[3] == 84, "the tail's first window is tokens 80..84");
    ok(strstr(data_name(tail), "tail.bin (last 20%)") != NULL, "the tail is named: %s",
       data_name(tail));
    data_close(tail);
    data_close(d);
    data_open(&d, tmp_path("tail.bin"), "tokens", 256, T, &e);
    ok(data_split_tail(d, 0.04, T, &tail, &e) < 0 && strstr(e.msg, "too few") &&
       data_n_tokens(d) == N && !tail, "a tail shorter than seq_len + 1 is refused, data kept "
       "whole (%s)", e.msg);
    data_close(d);
}

int main(void)
{
    tmp_dir_make("ant-data");
    test_refusals();
    test_windows();
    test_text();
    test_corpus();
    test_tail();
    tmp_dir_remove();
    return tap_done();
}
