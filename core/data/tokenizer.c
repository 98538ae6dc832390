/* Tokenizers: byte-level and llama2.c's tokenizer.bin (see tokenizer.h). The encode and
 * decode rules follow llama2.c's run.c so that ids round-trip with its sampler. */
#include "data/tokenizer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "data/bpe_encode.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "tokenizer.bin is read as little-endian int32/float32; port the reader first"
#endif

#define BYTE_VOCAB 256

struct ant_tokenizer {
    int vocab_size;
    int byte_level;
    int max_token_length;
    char **piece;          /* [vocab] NUL-terminated copies of the entries */
    int *len;              /* [vocab] entry lengths in bytes */
    float *score;          /* [vocab] merge priority */
    int *slot;             /* [slot_mask + 1] hash table of ids, -1 = empty */
    size_t slot_mask;
    char *blob;            /* storage of every piece */
    char byte_piece[512];  /* byte b as a string at 2*b */
};

/* ---- loading --------------------------------------------------------------------- */

static int read_file(const char *path, unsigned char **buf, size_t *size, struct ant_err *e)
{
    uint64_t bytes;
    FILE *f = file_open_read(path, &bytes, e);
    if (!f) return -1;
    *size = (size_t)bytes;
    *buf = malloc(*size ? *size : 1);
    if (!*buf) {
        fclose(f);
        return ant_errf(e, "%s: out of memory for %zu bytes", path, *size);
    }
    if (fread(*buf, 1, *size, f) != *size) {
        ant_errf(e, "%s: read failed: %s", path, ferror(f) ? strerror(errno) : "short read");
        fclose(f);
        free(*buf);
        *buf = NULL;
        return -1;
    }
    fclose(f);
    return 0;
}

/* Walk the entries after the 4-byte header: check each one and count them, stopping
 * after want entries when want > 0, at the end of the file otherwise. */
static int scan_entries(const char *path, const unsigned char *buf, size_t size, int maxlen,
                        int want, int *count, struct ant_err *e)
{
    size_t off = 4;
    int i = 0;
    for (; want > 0 ? i < want : off < size; i++) {
        int32_t len;
        if (size == off)
            return ant_errf(e, "%s: holds %d entries, not vocab_size %d", path, i, want);
        if (size - off < 8)
            return ant_errf(e, "%s: truncated in entry %d (file ends at byte %zu)", path, i, size);
        memcpy(&len, buf + off + 4, 4);
        if (len < 1 || len > maxlen)
            return ant_errf(e, "%s: entry %d has length %d, outside 1..%d (max_token_length)",
                            path, i, (int)len, maxlen);
        off += 8;
        if (size - off < (size_t)len)
            return ant_errf(e, "%s: truncated in entry %d (needs %d bytes at offset %zu, file "
                            "has %zu)", path, i, (int)len, off, size);
        off += (size_t)len;
    }
    if (off != size)
        return ant_errf(e, "%s: %zu bytes left after entry %d: more entries than vocab_size %d",
                        path, size - off, want - 1, want);
    if (i == 0) return ant_errf(e, "%s: no tokens", path);
    *count = i;
    return 0;
}

/* t->slot: an open-addressing hash table of ids by piece bytes; the first id of a piece
 * wins, so lookup() gives the lowest id of a piece that occurs twice. */
static uint64_t piece_hash(const char *s, int n) { return ant_fnv1a(s, (size_t)n, ANT_FNV_INIT); }

static int build_slots(struct ant_tokenizer *t)
{
    size_t cap = 16;
    while (cap < 2 * (size_t)t->vocab_size) cap *= 2;
    t->slot = malloc(cap * sizeof *t->slot);
    if (!t->slot) return -1;
    t->slot_mask = cap - 1;
    for (size_t i = 0; i < cap; i++) t->slot[i] = -1;
    for (int id = 0; id < t->vocab_size; id++) {
        size_t h = (size_t)piece_hash(t->piece[id], t->len[id]) & t->slot_mask;
        for (;; h = (h + 1) & t->slot_mask) {
            int o = t->slot[h];
            if (o < 0) {
                t->slot[h] = id;
                break;
            }
            if (t->len[o] == t->len[id] && !memcmp(t->piece[o], t->piece[id], (size_t)t->len[id]))
                break;   /* a duplicate piece: keep the lower id */
        }
    }
    return 0;
}

/* The lowest id whose piece is exactly s[0..n), or -1. */
static int lookup(const struct ant_tokenizer *t, const char *s, int n)
{
    for (size_t h = (size_t)piece_hash(s, n) & t->slot_mask;; h = (h + 1) & t->slot_mask) {
        int id = t->slot[h];
        if (id < 0) return -1;
        if (t->len[id] == n && !memcmp(t->piece[id], s, (size_t)n)) return id;
    }
}

static int load_bin(struct ant_tokenizer *t, const char *path, int vocab_size, struct ant_err *e)
{
    unsigned char *buf = NULL;
    size_t size = 0;
    if (read_file(path, &buf, &size, e) != 0) return -1;
    int32_t maxlen = 0;
    int n = 0;
    if (size < 4) {
        free(buf);
        return ant_errf(e, "%s: %zu bytes, too short for a tokenizer.bin header", path, size);
    }
    memcpy(&maxlen, buf, 4);
    if (maxlen < 1 || (size_t)maxlen > size) {
        free(buf);
        return ant_errf(e, "%s: max_token_length %d is not a length (file is %zu bytes)", path,
                        (int)maxlen, size);
    }
    if (scan_entries(path, buf, size, maxlen, vocab_size > 0 ? vocab_size : 0, &n, e) != 0) {
        free(buf);
        return -1;
    }
    t->vocab_size = n;
    t->max_token_length = maxlen;
    t->piece = calloc((size_t)n, sizeof *t->piece);
    t->len = calloc((size_t)n, sizeof *t->len);
    t->score = calloc((size_t)n, sizeof *t->score);
    t->blob = malloc(size);   /* pieces + NULs take fewer bytes than the file */
    if (!t->piece || !t->len || !t->score || !t->blob) {
        free(buf);
        return ant_errf(e, "%s: out of memory for %d tokens", path, n);
    }
    size_t off = 4;
    char *dst = t->blob;
    for (int i = 0; i < n; i++) {
        memcpy(&t->score[i], buf + off, 4);
        memcpy(&t->len[i], buf + off + 4, 4);
        off += 8;
        memcpy(dst, buf + off, (size_t)t->len[i]);
        dst[t->len[i]] = 0;
        t->piece[i] = dst;
        dst += t->len[i] + 1;
        off += (size_t)t->len[i];
    }
    free(buf);
    if (build_slots(t) != 0) return ant_errf(e, "%s: out of memory for %d tokens", path, n);
    return 0;
}

int tokenizer_open(struct ant_tokenizer **out, const char *path, int vocab_size,
                   struct ant_err *e)
{
    *out = NULL;
    struct ant_tokenizer *t = calloc(1, sizeof *t);
    if (!t) return ant_errf(e, "%s: out of memory", path[0] ? path : "byte tokenizer");
    for (int b = 0; b < 256; b++) t->byte_piece[2 * b] = (char)b;
    if (!path[0]) {
        if (vocab_size > 0 && vocab_size < BYTE_VOCAB) {
            free(t);
            return ant_errf(e, "byte tokenizer: needs vocab_size >= 256, not %d", vocab_size);
        }
        t->byte_level = 1;
        t->vocab_size = BYTE_VOCAB;
    } else if (load_bin(t, path, vocab_size, e) != 0) {
        tokenizer_close(t);
        return -1;
    }
    *out = t;
    return 0;
}

void tokenizer_close(struct ant_tokenizer *t)
{
    if (!t) return;
    free(t->piece);
    free(t->len);
    free(t->score);
    free(t->slot);
    free(t->blob);
    free(t);
}

int tokenizer_vocab_size(const struct ant_tokenizer *t) { return t->vocab_size; }

/* ---- encode / decode ------------------------------------------------------------- */

int tokenizer_encode(const struct ant_tokenizer *t, const char *text, int bos, int32_t *out,
                     int max, int *n_out)
{
    size_t len = strlen(text);
    *n_out = 0;
    if (t->byte_level) {
        if (len > (size_t)(max < 0 ? 0 : max)) return -1;
        for (size_t i = 0; i < len; i++) out[i] = (unsigned char)text[i];
        *n_out = (int)len;
        return 0;
    }
    struct bpe_work *w = bpe_work_new();
    int32_t *tok = malloc((len + 2) * sizeof *tok);
    size_t n = 0;
    int rc = w && tok && len < (size_t)INT32_MAX - 2 ? bpe_encode(t, w, text, len, bos, tok, &n)
                                                    : -1;
    if (rc == 0 && n <= (size_t)max) {
        memcpy(out, tok, n * sizeof *tok);
        *n_out = (int)n;
    } else {
        rc = -1;
    }
    bpe_work_free(w);
    free(tok);
    return rc;
}

int tokenizer_is_bytes(const struct ant_tokenizer *t) { return t->byte_level; }
int tokenizer_max_token_length(const struct ant_tokenizer *t) { return t->max_token_length; }
float tokenizer_score(const struct ant_tokenizer *t, int id) { return t->score[id]; }

const char *tokenizer_piece(const struct ant_tokenizer *t, int id, int *len)
{
    *len = t->len[id];
    return t->piece[id];
}

int tokenizer_lookup(const struct ant_tokenizer *t, const char *s, int n)
{
    return t->byte_level ? (n == 1 ? (unsigned char)s[0] : -1) : lookup(t, s, n);
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* The byte a "<0xHH>" piece stands for, or -1. */
static int piece_byte(const char *p)
{
    if (strlen(p) != 6 || strncmp(p, "<0x", 3) != 0 || p[5] != '>') return -1;
    int hi = hex_digit(p[3]), lo = hex_digit(p[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

const char *tokenizer_decode(const struct ant_tokenizer *t, int32_t prev, int32_t tok)
{
    if (tok < 0 || tok >= t->vocab_size) return "";
    if (t->byte_level) return &t->byte_piece[2 * tok];
    const char *p = t->piece[tok];
    if (prev == ANT_TOKEN_BOS && p[0] == ' ') p++;   /* SentencePiece drops it (llama2.c #89) */
    int b = piece_byte(p);
    return b >= 0 ? &t->byte_piece[2 * b] : p;
}
