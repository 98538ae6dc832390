/* Training data: open, check and window a token stream (see data.h). */
#include "data/data.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fileio.h"
#include "data/corpus.h"

#define EMBEDDED_NAME "<embedded corpus>"
#define FINGERPRINT_SPAN 4096

struct ant_data {
    char *name;
    const uint8_t *bytes;   /* the stream: the mapping or the embedded corpus */
    size_t n_bytes;
    size_t n_tokens;
    int token_bytes;        /* 2: little-endian uint16 ids (§9.1); 1: byte tokens */
    void *map;              /* our mapping, unmapped at close; NULL for the corpus */
    uint64_t fingerprint;
};

/* Token i, read byte by byte so the file's little-endian order holds on any host. */
static inline int32_t token_at(const struct ant_data *d, size_t i)
{
    const uint8_t *p = d->bytes;
    if (d->token_bytes == 1) return p[i];
    return (int32_t)(p[2 * i] | (uint32_t)p[2 * i + 1] << 8);
}

static uint64_t fingerprint(const struct ant_data *d)
{
    uint64_t h = ANT_FNV_INIT;
    uint64_t meta[2] = { d->n_bytes, (uint64_t)d->token_bytes };
    size_t span = d->n_bytes < FINGERPRINT_SPAN ? d->n_bytes : FINGERPRINT_SPAN;
    h = ant_fnv1a(meta, sizeof meta, h);
    h = ant_fnv1a(d->bytes, span, h);
    return ant_fnv1a(d->bytes + d->n_bytes - span, span, h);
}

/* Map the whole file read-only; the error names the file and the reason. */
static int map_file(struct ant_data *d, const char *path, struct ant_err *e)
{
    uint64_t size;
    int fd = file_open_regular(path, &size, e);
    if (fd < 0) return -1;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        ant_errf(e, "%s: cannot stat: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (st.st_size == 0) {
        close(fd);
        return ant_errf(e, "%s: empty file", path);
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int map_errno = errno;
    close(fd);
    if (p == MAP_FAILED) return ant_errf(e, "%s: cannot map: %s", path, strerror(map_errno));
    d->map = p;
    d->bytes = p;
    d->n_bytes = (size_t)st.st_size;
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/* Every id below vocab_size; the error gives the first one that is not. */
static int check_ids(const struct ant_data *d, int vocab_size, struct ant_err *e)
{
    for (size_t i = 0; i < d->n_tokens; i++) {
        int32_t id = token_at(d, i);
        if (id >= vocab_size)
            return ant_errf(e, "%s: token %zu (byte offset %zu) is %d, not below vocab_size %d",
                            d->name, i, i * (size_t)d->token_bytes, (int)id, vocab_size);
    }
    return 0;
}

static int open_checked(struct ant_data *d, const char *path, const char *format,
                        int vocab_size, int seq_len, struct ant_err *e)
{
    int embedded = path[0] == 0;
    const char *name = embedded ? EMBEDDED_NAME : path;
    if (!(d->name = strdup(name))) return ant_errf(e, "%s: out of memory", name);
    if (vocab_size <= 0) return ant_errf(e, "%s: vocab_size %d must be positive", name, vocab_size);
    if (seq_len <= 0) return ant_errf(e, "%s: seq_len %d must be positive", name, seq_len);

    int tokens;
    if (!strcmp(format, "auto")) tokens = !embedded && ends_with(path, ".bin");
    else if (!strcmp(format, "tokens")) tokens = 1;
    else if (!strcmp(format, "text")) tokens = 0;
    else return ant_errf(e, "%s: unknown data format \"%s\" (use auto, tokens or text)", name, format);
    if (embedded && tokens)
        return ant_errf(e, "%s: is text; format \"tokens\" needs a data file", name);
    if (!tokens && vocab_size < 256)
        return ant_errf(e, "%s: text data uses byte tokens 0..255 and needs vocab_size >= 256, "
                        "not %d", name, vocab_size);
    d->token_bytes = tokens ? 2 : 1;

    if (embedded) {
        d->bytes = (const uint8_t *)corpus_text(&d->n_bytes);
        if (!d->bytes) return ant_errf(e, "%s: out of memory", name);
    } else if (map_file(d, path, e) != 0) {
        return -1;
    }
    if (tokens && d->n_bytes % 2)
        return ant_errf(e, "%s: odd length (%zu bytes): a tokens file holds 2-byte ids",
                        name, d->n_bytes);
    d->n_tokens = d->n_bytes / (size_t)d->token_bytes;
    if (d->n_tokens < (size_t)seq_len + 1)
        return ant_errf(e, "%s: %zu tokens, fewer than seq_len + 1 = %d", name, d->n_tokens,
                        seq_len + 1);
    if (tokens && check_ids(d, vocab_size, e) != 0) return -1;
    d->fingerprint = fingerprint(d);
    return 0;
}

int data_open(struct ant_data **out, const char *path, const char *format, int vocab_size,
              int seq_len, struct ant_err *e)
{
    *out = NULL;
    struct ant_data *d = calloc(1, sizeof *d);
    if (!d) return ant_errf(e, "%s: out of memory", path[0] ? path : EMBEDDED_NAME);
    if (open_checked(d, path, format, vocab_size, seq_len, e) != 0) {
        data_close(d);
        return -1;
    }
    *out = d;
    return 0;
}

size_t data_n_tokens(const struct ant_data *d) { return d->n_tokens; }
int data_is_text(const struct ant_data *d) { return d->token_bytes == 1; }
const char *data_name(const struct ant_data *d) { return d->name; }
uint64_t data_fingerprint(const struct ant_data *d) { return d->fingerprint; }

int data_split_tail(struct ant_data *d, double fraction, int seq_len, struct ant_data **tail,
                    struct ant_err *e)
{
    *tail = NULL;
    size_t n = d->n_tokens, keep = n - (size_t)((double)n * fraction);
    if (!(fraction > 0 && fraction < 1) || keep < (size_t)seq_len + 1 ||
        n - keep < (size_t)seq_len + 1)
        return ant_errf(e, "%s: %zu tokens are too few to hold out %g%% for validation "
                        "(each part needs seq_len + 1 = %d)", d->name, n, 100 * fraction,
                        seq_len + 1);
    struct ant_data *t = calloc(1, sizeof *t);
    char name[ANT_PATH_MAX + 64];
    snprintf(name, sizeof name, "%s (last %g%%)", d->name, 100 * fraction);
    if (!t || !(t->name = strdup(name))) {
        free(t);
        return ant_errf(e, "%s: out of memory", d->name);
    }
    t->token_bytes = d->token_bytes;
    t->bytes = d->bytes + keep * (size_t)d->token_bytes;
    t->n_tokens = n - keep;
    t->n_bytes = t->n_tokens * (size_t)t->token_bytes;
    t->fingerprint = fingerprint(t);
    d->n_tokens = keep;
    *tail = t;
    return 0;
}

/* The start of the next window (data.h); span = T + 1 <= n. */
static size_t next_start(const struct ant_data *d, struct ant_cursor *cur, int sequential, int T)
{
    size_t n = d->n_tokens, span = (size_t)T + 1;
    if (!sequential) return (size_t)rng_below(&cur->rng, n - (size_t)T);
    size_t p = cur->position > n - span ? 0 : (size_t)cur->position;
    cur->position = p + (size_t)T;
    return p;
}

void data_next_batch(struct ant_data *d, struct ant_cursor *cur, int sequential, int B, int T,
                     int32_t *tokens, int32_t *targets)
{
    size_t n = d->n_tokens, span = (size_t)T + 1;
    if (B <= 0 || T <= 0) return;
    for (int b = 0; b < B; b++) {
        int32_t *x = tokens + (size_t)b * (size_t)T;    /* [T] */
        int32_t *y = targets + (size_t)b * (size_t)T;   /* [T] */
        if (span > n) {
            /* T beyond the seq_len checked at open: stay in bounds by wrapping. */
            for (int t = 0; t < T; t++) {
                x[t] = token_at(d, (size_t)t % n);
                y[t] = token_at(d, (size_t)(t + 1) % n);
            }
            continue;
        }
        size_t p = next_start(d, cur, sequential, T);
        for (int t = 0; t < T; t++) x[t] = token_at(d, p + (size_t)t);
        for (int t = 0; t < T; t++) y[t] = token_at(d, p + (size_t)t + 1);
    }
}

void data_skip_windows(struct ant_data *d, struct ant_cursor *cur, int sequential, long n, int T)
{
    if (T <= 0 || (size_t)T + 1 > d->n_tokens) return;   /* as data_next_batch: no draw */
    for (long i = 0; i < n; i++) next_start(d, cur, sequential, T);
}

void data_close(struct ant_data *d)
{
    if (!d) return;
    if (d->map) munmap(d->map, d->n_bytes);
    free(d->name);
    free(d);
}
