/* llama2.c's BPE encode with a heap of candidate merges (see bpe_encode.h). */
#include "data/bpe_encode.h"

#include <stdlib.h>
#include <string.h>

#define NO_MERGE_SCORE -1e10f   /* run.c's starting best_score: only pairs above it merge */

struct pair {
    float score;
    int32_t left, right;        /* symbol indices */
    int32_t left_tok, right_tok; /* their tokens when pushed: stale if either changed */
    int32_t merged;
};

struct bpe_work {
    int32_t *tok, *prev, *next;   /* [cap] symbols, a doubly linked list */
    struct pair *heap;            /* [3 * cap] */
    size_t cap, heap_n;
    char *buf;                    /* [2 * max_token_length] a concatenated pair */
    int buf_cap;
};

struct bpe_work *bpe_work_new(void) { return calloc(1, sizeof(struct bpe_work)); }

void bpe_work_free(struct bpe_work *w)
{
    if (!w) return;
    free(w->tok);
    free(w->prev);
    free(w->next);
    free(w->heap);
    free(w->buf);
    free(w);
}

static int reserve(struct bpe_work *w, size_t n, int maxlen)
{
    if (n > w->cap) {
        size_t cap = n < 64 ? 64 : n + n / 2;
        int32_t *a = realloc(w->tok, cap * sizeof *a);
        if (a) w->tok = a;
        int32_t *b = realloc(w->prev, cap * sizeof *b);
        if (b) w->prev = b;
        int32_t *c = realloc(w->next, cap * sizeof *c);
        if (c) w->next = c;
        struct pair *h = realloc(w->heap, 3 * cap * sizeof *h);
        if (h) w->heap = h;
        if (!a || !b || !c || !h) return -1;
        w->cap = cap;
    }
    if (2 * maxlen > w->buf_cap) {
        char *p = realloc(w->buf, (size_t)maxlen * 2);
        if (!p) return -1;
        w->buf = p;
        w->buf_cap = 2 * maxlen;
    }
    return 0;
}

/* a before b in the heap: higher score, then further left (run.c's first best). */
static int before(const struct pair *a, const struct pair *b)
{
    return a->score > b->score || (a->score == b->score && a->left < b->left);
}

static void heap_push(struct bpe_work *w, struct pair p)
{
    size_t i = w->heap_n++;
    while (i > 0 && before(&p, &w->heap[(i - 1) / 2])) {
        w->heap[i] = w->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    w->heap[i] = p;
}

static struct pair heap_pop(struct bpe_work *w)
{
    struct pair top = w->heap[0], last = w->heap[--w->heap_n];
    size_t i = 0, n = w->heap_n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && before(&w->heap[c + 1], &w->heap[c])) c++;
        if (!before(&w->heap[c], &last)) break;
        w->heap[i] = w->heap[c];
        i = c;
    }
    if (n) w->heap[i] = last;
    return top;
}

/* Push the pair (l, r) if its concatenation is a token that may merge. */
static void consider(const struct ant_tokenizer *t, struct bpe_work *w, int32_t l, int32_t r)
{
    if (l < 0 || r < 0) return;
    int la, lb;
    const char *a = tokenizer_piece(t, w->tok[l], &la), *b = tokenizer_piece(t, w->tok[r], &lb);
    if (la + lb > tokenizer_max_token_length(t)) return;   /* no entry is that long */
    memcpy(w->buf, a, (size_t)la);
    memcpy(w->buf + la, b, (size_t)lb);
    int id = tokenizer_lookup(t, w->buf, la + lb);
    if (id < 0 || !(tokenizer_score(t, id) > NO_MERGE_SCORE)) return;
    heap_push(w, (struct pair){ tokenizer_score(t, id), l, r, w->tok[l], w->tok[r], id });
}

/* run.c's byte fallback, byte + 3; <unk> (0) where that is past the vocabulary (run.c
 * would index out of bounds there). */
static int32_t fallback(int V, unsigned char b) { return b + 3 < V ? b + 3 : 0; }

/* Steps 1 and 2 of bpe_encode.h into w->tok; the count. */
static long initial_tokens(const struct ant_tokenizer *t, struct bpe_work *w, const char *text,
                           size_t len, int bos)
{
    int V = tokenizer_vocab_size(t);
    size_t n = 0;
    if (bos && ANT_TOKEN_BOS < V) w->tok[n++] = ANT_TOKEN_BOS;
    if (len) {   /* run.c pushes -1 when " " is not a token: the fallback instead */
        int space = tokenizer_lookup(t, " ", 1);
        w->tok[n++] = space >= 0 ? space : fallback(V, ' ');
    }
    for (size_t i = 0; i < len;) {
        size_t j = i + 1;
        while (j < len && j - i < 4 && ((unsigned char)text[j] & 0xC0) == 0x80) j++;
        int id = tokenizer_lookup(t, text + i, (int)(j - i));
        if (id >= 0) w->tok[n++] = id;
        else
            for (size_t k = i; k < j; k++) w->tok[n++] = fallback(V, (unsigned char)text[k]);
        i = j;
    }
    return (long)n;
}

int bpe_encode(const struct ant_tokenizer *t, struct bpe_work *w, const char *text, size_t len,
               int bos, int32_t *out, size_t *n_out)
{
    *n_out = 0;
    if (reserve(w, len + 2, tokenizer_max_token_length(t)) != 0) return -1;
    long n = initial_tokens(t, w, text, len, bos);
    if (n < 0) return -1;
    w->heap_n = 0;
    for (long i = 0; i < n; i++) {
        w->prev[i] = (int32_t)i - 1;
        w->next[i] = i + 1 < n ? (int32_t)i + 1 : -1;
    }
    for (long i = 0; i + 1 < n; i++) consider(t, w, (int32_t)i, (int32_t)i + 1);
    while (w->heap_n) {
        struct pair p = heap_pop(w);
        if (w->next[p.left] != p.right || w->tok[p.left] != p.left_tok ||
            w->tok[p.right] != p.right_tok)
            continue;   /* a merge since it was pushed changed one of its symbols */
        w->tok[p.left] = p.merged;
        int32_t after = w->next[p.right];
        w->next[p.left] = after;
        if (after >= 0) w->prev[after] = p.left;
        w->next[p.right] = -2;   /* gone: no pair can name it as its left */
        consider(t, w, w->prev[p.left], p.left);
        consider(t, w, p.left, after);
    }
    size_t k = 0;
    for (int32_t i = n ? 0 : -1; i >= 0; i = w->next[i]) out[k++] = w->tok[i];
    *n_out = k;
    return 0;
}
