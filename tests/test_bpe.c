/* The fast encoder against a straightforward O(n^2) implementation of llama2.c's encode
 * written here from run.c's rules (its own vocabulary arrays and linear lookups), on a
 * fixed text and random texts over a made-up vocabulary with tied scores; `tokenize`'s
 * document splitting; and the byte tokenizer.bin decoded by our decoder and by one
 * written here from run.c's decode + safe_printf. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/bpe_encode.h"
#include "data/pretokenize.h"
#include "base/rng.h"
#include "tap.h"
#include "test_util.h"
#include "data/tokenizer.h"
#include "data/tokenizer_write.h"

#define MAXV 2000
static char *vpiece[MAXV];
static int vlen[MAXV];
static float vscore[MAXV];
static int V;

/* ---- the reference: run.c's encode, O(n^2), linear lookups ------------------------- */

static int ref_lookup(const char *s, int n)
{
    for (int i = 0; i < V; i++)   /* lowest id, as the sorted lookup gives */
        if (vlen[i] == n && !memcmp(vpiece[i], s, (size_t)n)) return i;
    return -1;
}

static int ref_encode(const char *text, int bos, int *tok)
{
    int n = 0, len = (int)strlen(text);
    if (bos) tok[n++] = 1;
    if (len) tok[n++] = ref_lookup(" ", 1);
    char buf[16];
    int bl = 0;
    for (int i = 0; i < len; i++) {   /* run.c's loop, byte by byte */
        if (((unsigned char)text[i] & 0xC0) != 0x80) bl = 0;
        buf[bl++] = text[i];
        if (i + 1 < len && ((unsigned char)text[i + 1] & 0xC0) == 0x80 && bl < 4) continue;
        int id = ref_lookup(buf, bl);
        if (id != -1) tok[n++] = id;
        else
            for (int k = 0; k < bl; k++) tok[n++] = (unsigned char)buf[k] + 3;
        bl = 0;
    }
    for (;;) {
        float best = -1e10f;
        int best_id = -1, best_i = -1;
        char cat[64];
        for (int i = 0; i + 1 < n; i++) {
            if (vlen[tok[i]] + vlen[tok[i + 1]] > (int)sizeof cat) continue;
            memcpy(cat, vpiece[tok[i]], (size_t)vlen[tok[i]]);
            memcpy(cat + vlen[tok[i]], vpiece[tok[i + 1]], (size_t)vlen[tok[i + 1]]);
            int id = ref_lookup(cat, vlen[tok[i]] + vlen[tok[i + 1]]);
            if (id != -1 && vscore[id] > best) best = vscore[id], best_id = id, best_i = i;
        }
        if (best_i < 0) break;
        tok[best_i] = best_id;
        memmove(tok + best_i + 1, tok + best_i + 2, (size_t)(n - best_i - 2) * sizeof *tok);
        n--;
    }
    return n;
}

/* ---- a made-up Llama-like vocabulary -------------------------------------------------- */

static const char *const chars[] = { " ", "a", "b", "c", "d", "e", "h", "n", "o", "t", "s",
                                     "\xc3\xa9", "\xe6\x97\xa5", ".", "\n" };
#define N_CHARS (int)(sizeof chars / sizeof *chars)

static void add(const char *s, int n, float score)
{
    for (int i = 0; i < V; i++)
        if (vlen[i] == n && !memcmp(vpiece[i], s, (size_t)n)) return;
    vpiece[V] = malloc((size_t)n + 1);
    memcpy(vpiece[V], s, (size_t)n);
    vpiece[V][n] = 0;
    vlen[V] = n;
    vscore[V++] = score;
}

static void make_vocab(struct ant_rng *r)
{
    add("<unk>", 5, 0), add("\n<s>\n", 5, 0), add("\n</s>\n", 6, 0);
    char b[8];
    for (int i = 0; i < 256; i++) snprintf(b, sizeof b, "<0x%02X>", i), add(b, 6, 0);
    for (int i = 0; i < N_CHARS - 1; i++)   /* "\n" only as a byte fallback */
        add(chars[i], (int)strlen(chars[i]), -1000.0f - (float)i);
    while (V < 900) {   /* merges of existing pieces; scores in steps of 1: many ties */
        int a = 259 + (int)rng_below(r, (uint64_t)(V - 259)), c = 259 + (int)rng_below(r, (uint64_t)(V - 259));
        if (vlen[a] + vlen[c] > 12) continue;
        char s[32];
        memcpy(s, vpiece[a], (size_t)vlen[a]);
        memcpy(s + vlen[a], vpiece[c], (size_t)vlen[c]);
        add(s, vlen[a] + vlen[c], -(float)rng_below(r, 200));
    }
}

static void random_text(struct ant_rng *r, char *s, int max)
{
    int n = 0, want = (int)rng_below(r, (uint64_t)max);
    while (n < want) {
        const char *c = chars[rng_below(r, N_CHARS)];
        if (rng_below(r, 50) == 0) c = "\xe2\x82\xac";   /* a character with no token */
        if (n + (int)strlen(c) >= max) break;
        memcpy(s + n, c, strlen(c));
        n += (int)strlen(c);
    }
    s[n] = 0;
}

static int same_ids(const int32_t *a, size_t na, const int *b, int nb)
{
    if ((int)na != nb) return 0;
    for (int i = 0; i < nb; i++)
        if (a[i] != b[i]) return 0;
    return 1;
}

static void encode_vs_reference(struct ant_tokenizer *t, struct ant_rng *r)
{
    static const char fixed[] = "the cat sat on the hot seat. an \xc3\xa9t\xc3\xa9 \xe6\x97\xa5 "
                                "\xe2\x82\xac dance\nhe sees the sea";
    static int ref[4096];
    static int32_t got[4096];
    int n_ref = ref_encode(fixed, 1, ref), n;
    ok(tokenizer_encode(t, fixed, 1, got, 4096, &n) == 0 && same_ids(got, (size_t)n, ref, n_ref),
       "fixed text: the same %d ids as the reference", n_ref);
    ok(n_ref < (int)strlen(fixed), "fixed text: merges happened (%d ids for %zu bytes)", n_ref,
       strlen(fixed));
    int bad = 0, merges = 0;
    struct bpe_work *w = bpe_work_new();
    for (int k = 0; k < 1000 && !bad; k++) {
        char text[400];
        random_text(r, text, (int)sizeof text);
        size_t m;
        n_ref = ref_encode(text, k & 1, ref);
        if (bpe_encode(t, w, text, strlen(text), k & 1, got, &m) != 0 ||
            !same_ids(got, m, ref, n_ref)) {
            bad = 1;
            diag("text %d \"%s\": %zu ids vs %d", k, text, m, n_ref);
        }
        merges += (int)strlen(text) + 1 + (k & 1) - n_ref;
    }
    bpe_work_free(w);
    ok(!bad, "1000 random texts: the same ids as the reference (%d merges in all)", merges);
}

static void pretokenize_vs_reference(struct ant_tokenizer *t, struct ant_rng *r)
{
    static char docs[20][300], file[8000];
    int at = 0, want_n = 0;
    static int want[40000];
    for (int d = 0; d < 20; d++) {
        random_text(r, docs[d], 200);
        for (char *c = docs[d]; *c; c++)
            if (*c == '\n') *c = ' ';   /* one document a line */
        at += snprintf(file + at, sizeof file - (size_t)at, "  %s\t\n%s", docs[d], d == 7 ? "\n\n" : "");
        char stripped[300];
        const char *b = docs[d];
        while (*b == ' ') b++;
        size_t l = strlen(b);
        memcpy(stripped, b, l + 1);
        while (l && stripped[l - 1] == ' ') stripped[--l] = 0;
        if (l) want_n += ref_encode(stripped, 1, want + want_n);
    }
    write_text(tmp_path("in.txt"), file);
    struct pretok_stats st;
    struct ant_err e;
    int rc = pretokenize_file(t, tmp_path("in.txt"), NULL, tmp_path("out.bin"), &st, &e);
    if (rc) diag("%s", e.msg);
    size_t n;
    unsigned char *out = slurp(tmp_path("out.bin"), &n);
    int same = rc == 0 && n == 2 * (size_t)want_n && st.tokens == (uint64_t)want_n;
    for (int i = 0; same && i < want_n; i++) same = (out[2 * i] | out[2 * i + 1] << 8) == want[i];
    ok(same, "tokenize, a document a line: stripped, BOS each, uint16 LE = the reference (%d ids)",
       want_n);
    free(out);
    write_text(tmp_path("in2.txt"), " the cat<|endoftext|>\nsat on\nthe<|endoftext|><|endoftext|>  \xc3\xa9 ");
    rc = pretokenize_file(t, tmp_path("in2.txt"), "<|endoftext|>", tmp_path("out2.bin"), &st, &e);
    want_n = ref_encode("the cat", 1, want);
    want_n += ref_encode("sat on\nthe", 1, want + want_n);
    want_n += ref_encode("\xc3\xa9", 1, want + want_n);
    out = slurp(tmp_path("out2.bin"), &n);
    same = rc == 0 && n == 2 * (size_t)want_n && st.documents == 3;
    for (int i = 0; same && i < want_n; i++) same = (out[2 * i] | out[2 * i + 1] << 8) == want[i];
    ok(same, "tokenize --delimiter: 3 documents (an empty one skipped) = the reference");
    free(out);
}

/* ---- the byte tokenizer.bin and run.c's decoding --------------------------------------- */

/* run.c: decode() then safe_printf(), from the file's raw entries. */
static void runc_print(unsigned char (*entry)[8], const int *elen, int prev, int tok, char *out)
{
    char piece[16];
    memcpy(piece, entry[tok], (size_t)elen[tok]);
    piece[elen[tok]] = 0;
    char *p = piece;
    if (prev == 1 && p[0] == ' ') p++;
    unsigned char byte;
    char one[2] = {0};
    if (sscanf(p, "<0x%02hhX>", &byte) == 1) one[0] = (char)byte, p = one;
    if (!p[0]) return;
    if (!p[1] && !(isprint((unsigned char)p[0]) || isspace((unsigned char)p[0]))) return;
    strcat(out, p);
}

static void byte_tokenizer(struct ant_rng *r)
{
    struct ant_err e;
    const char *p = tmp_path("bytes.bin");
    ok(tokenizer_write_bytes(p, &e) == 0, "byte tokenizer.bin written");
    size_t n;
    unsigned char *f = slurp(p, &n);
    static unsigned char entry[256][8];
    int elen[256], parsed = n == 4 + 256 * 9 && f[0] == 1;
    for (int i = 0, off = 4; parsed && i < 256; i++, off += 9) {   /* the file, by hand */
        float s;
        memcpy(&s, f + off, 4);
        memcpy(&elen[i], f + off + 4, 4);
        parsed = s == 0 && elen[i] == 1;
        memcpy(entry[i], f + off + 8, 1);
    }
    ok(parsed, "256 entries of score 0 and one byte each, max_token_length 1 (%zu bytes)", n);
    struct ant_tokenizer *t, *bytes;
    ok(tokenizer_open(&t, p, 256, &e) == 0 && tokenizer_open(&bytes, "", 256, &e) == 0,
       "it loads as a 256-token vocabulary");
    int same_raw = 1, same_print = 1;
    for (int k = 0; k < 200; k++) {
        int ids[64], m = 1 + (int)rng_below(r, 63);
        for (int i = 0; i < m; i++)   /* mostly printable ASCII, some of everything */
            ids[i] = rng_below(r, 4) ? 32 + (int)rng_below(r, 95) : (int)rng_below(r, 256);
        if (k % 3 == 0) ids[0] = 1, ids[1] = ' ';   /* run.c drops a space after BOS */
        char ours[512] = "", raw[512] = "", theirs[512] = "";
        for (int i = 1; i < m; i++) {
            strcat(ours, tokenizer_decode(t, ids[i - 1], ids[i]));
            runc_print(entry, elen, ids[i - 1], ids[i], theirs);
            const char *b = tokenizer_decode(bytes, ids[i - 1], ids[i]);
            if (!(ids[i - 1] == 1 && ids[i] == ' ')) strcat(raw, b);
        }
        same_raw &= !strcmp(ours, raw);
        /* what run.c prints is ours less the lone bytes safe_printf drops */
        char filtered[512] = "";
        for (const char *c = ours; *c; c++)
            if (isprint((unsigned char)*c) || isspace((unsigned char)*c)) {
                size_t l = strlen(filtered);
                filtered[l] = *c, filtered[l + 1] = 0;
            }
        same_print &= !strcmp(filtered, theirs);
    }
    ok(same_raw, "our decoder on it gives the byte-level decoder's text (less the space after BOS)");
    ok(same_print, "run.c's decode + safe_printf print the same text, non-printable bytes dropped");
    int32_t ids[64];
    int m;
    ok(tokenizer_encode(t, "Once", 1, ids, 64, &m) == 0 && m == 6 && ids[0] == 1 && ids[1] == ' ' &&
       ids[2] == 'O' && ids[5] == 'e', "a prompt encodes as run.c does: BOS, ' ', one id per byte");
    tokenizer_close(t);
    tokenizer_close(bytes);
    free(f);
}

int main(void)
{
    tmp_dir_make("test_bpe");
    struct ant_rng r;
    rng_seed(&r, 42);
    make_vocab(&r);
    int maxlen = 0;
    for (int i = 0; i < V; i++) maxlen = vlen[i] > maxlen ? vlen[i] : maxlen;
    struct ant_err e;
    ok(tokenizer_write(tmp_path("tok.bin"), V, (const char *const *)vpiece, vlen, vscore, &e) == 0,
       "a %d-token vocabulary written (max_token_length %d)", V, maxlen);
    struct ant_tokenizer *t;
    if (tokenizer_open(&t, tmp_path("tok.bin"), V, &e) != 0) test_bail("cannot open", e.msg);
    encode_vs_reference(t, &r);
    pretokenize_vs_reference(t, &r);
    tokenizer_close(t);
    byte_tokenizer(&r);
    for (int i = 0; i < V; i++) free(vpiece[i]);
    tmp_dir_remove();
    return tap_done();
}
