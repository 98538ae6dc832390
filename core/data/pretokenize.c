/* Text file -> uint16 token file (see pretokenize.h). */
#define _GNU_SOURCE   /* memmem */
#include "data/pretokenize.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/bpe_encode.h"
#include "base/fileio.h"

#define READ_BLOCK (1 << 20)

struct sink {
    struct ant_atomic_file a;
    unsigned char buf[1 << 16];
    size_t n;
};

static int sink_put(struct sink *s, const int32_t *ids, size_t n, struct ant_err *e)
{
    for (size_t i = 0; i < n; i++) {
        if (s->n + 2 > sizeof s->buf) {
            if (atomic_write(&s->a, s->buf, s->n, e) != 0) return -1;
            s->n = 0;
        }
        s->buf[s->n++] = (unsigned char)ids[i];
        s->buf[s->n++] = (unsigned char)(ids[i] >> 8);
    }
    return 0;
}

static int is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

struct job {
    const struct ant_tokenizer *t;
    struct bpe_work *w;
    int32_t *ids;
    size_t ids_cap;
    struct sink *sink;
    struct pretok_stats *st;
    const char *in;
};

static int one_document(struct job *j, const char *p, size_t n, struct ant_err *e)
{
    while (n && is_space(*p)) p++, n--;
    while (n && is_space(p[n - 1])) n--;
    if (!n) return 0;
    if (n + 2 > j->ids_cap) {
        size_t cap = n + 2 + n / 2;
        int32_t *ids = realloc(j->ids, cap * sizeof *ids);
        if (!ids) return ant_errf(e, "%s: out of memory for a %zu-byte document", j->in, n);
        j->ids = ids;
        j->ids_cap = cap;
    }
    size_t k;
    if (bpe_encode(j->t, j->w, p, n, 1, j->ids, &k) != 0)
        return ant_errf(e, "%s: document %llu: out of memory", j->in,
                        (unsigned long long)j->st->documents + 1);
    j->st->documents++;
    j->st->tokens += k;
    return sink_put(j->sink, j->ids, k, e);
}

/* Every complete document in buf[0..n) (all of it at the end of the file); returns the
 * bytes consumed. */
static long documents(struct job *j, const char *buf, size_t n, const char *delim, int at_end,
                      struct ant_err *e)
{
    size_t dl = delim ? strlen(delim) : 1, done = 0;
    for (;;) {
        const char *end = delim ? memmem(buf + done, n - done, delim, dl)
                                : memchr(buf + done, '\n', n - done);
        if (!end) break;
        if (one_document(j, buf + done, (size_t)(end - (buf + done)), e) != 0) return -1;
        done = (size_t)(end - buf) + dl;
    }
    if (at_end && done < n) {
        if (one_document(j, buf + done, n - done, e) != 0) return -1;
        done = n;
    }
    return (long)done;
}

static int stream(struct job *j, FILE *f, const char *delim, struct ant_err *e)
{
    size_t cap = 2 * READ_BLOCK, n = 0;
    char *buf = malloc(cap);
    if (!buf) return ant_errf(e, "%s: out of memory", j->in);
    int rc = 0;
    for (;;) {
        if (cap - n < READ_BLOCK) {
            char *b = realloc(buf, cap * 2);
            if (!b) {
                rc = ant_errf(e, "%s: out of memory: a document longer than %zu bytes", j->in, n);
                break;
            }
            buf = b;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, READ_BLOCK, f);
        if (got == 0 && ferror(f)) {
            rc = ant_errf(e, "%s: read failed: %s", j->in, strerror(errno));
            break;
        }
        n += got;
        j->st->bytes += got;
        long used = documents(j, buf, n, delim, got == 0, e);
        if (used < 0) {
            rc = -1;
            break;
        }
        memmove(buf, buf + used, n - (size_t)used);
        n -= (size_t)used;
        if (got == 0) break;
    }
    free(buf);
    return rc;
}

int pretokenize_file(const struct ant_tokenizer *t, const char *in, const char *delimiter,
                     const char *out, struct pretok_stats *st, struct ant_err *e)
{
    memset(st, 0, sizeof *st);
    if (tokenizer_vocab_size(t) > 65536)
        return ant_errf(e, "vocabulary of %d tokens: ids do not fit the uint16 token file",
                        tokenizer_vocab_size(t));
    if (tokenizer_is_bytes(t))
        return ant_errf(e, "tokenize needs a tokenizer.bin (byte-level text is read as it is: "
                        "train with data.format = \"text\")");
    uint64_t size;
    FILE *f = file_open_read(in, &size, e);
    if (!f) return -1;
    struct sink *s = calloc(1, sizeof *s);
    struct job j = { t, bpe_work_new(), NULL, 0, s, st, in };
    int rc = -1;
    if (!s || !j.w) ant_errf(e, "out of memory");
    else if (atomic_open(&s->a, out, e) == 0) {
        rc = stream(&j, f, delimiter && *delimiter ? delimiter : NULL, e);
        if (rc == 0 && st->tokens == 0) rc = ant_errf(e, "%s: no text to tokenize", in);
        if (rc == 0 && s->n) rc = atomic_write(&s->a, s->buf, s->n, e);
        if (rc == 0) rc = atomic_commit(&s->a, 0, e);
        else atomic_abort(&s->a);
    }
    fclose(f);
    bpe_work_free(j.w);
    free(j.ids);
    free(s);
    return rc;
}
