/* Mutation fuzzing of every reader of user input: token and text data, llama2.c
 * model.bin and tokenizer.bin, our checkpoints, config files, chip profile files, MIL
 * programs and weight blobs. From valid seeds it makes itself, the driver derives cases
 * (bit flips, bytes set to 0x00/0xff/0x7f/0x80, truncation at every length of the small
 * seeds, insertions, deleted and duplicated chunks, huge length fields, numbers swapped
 * for extreme ones in text) and asserts for each one: the reader either refuses with a
 * non-empty one-line message naming the file, or accepts and the result is usable
 * (finite weights, consistent shapes, ids in range, a program that prints and parses
 * back). A crash or out-of-bounds access aborts under ASan/UBSan.
 *
 *   fuzz_inputs                         the make check run: fixed seed, fixed budget
 *   fuzz_inputs --seed S --seconds N [--only FORMAT]    a longer campaign by hand
 * FUZZ_TRACE=1 prints each case before it runs, to find the one that crashed. */
#include <ctype.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tap.h"
#include "test_util.h"

#include "ane/base/blob.h"
#include "ane/device/device.h"
#include "ane/mil/mil.h"
#include "dispatch/chip.h"
#include "formats/ckpt.h"
#include "base/xxh64.h"
#include "config/config.h"
#include "data/data.h"
#include "formats/hf.h"
#include "formats/llama2c.h"
#include "formats/model_io.h"
#include "base/rng.h"
#include "base/state.h"
#include "data/tokenizer.h"
#ifdef ANT_TEST_HF
#include "formats/safetensors.h"
#endif

/* libconfig 1.5 leaks a string token when a syntax error discards it (upstream issue
 * hyperrealm/libconfig#142, fixed in 1.7); not ours to fix, and a one-shot program
 * exits on the error anyway. Read by LeakSanitizer in the sanitizer build only. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libconfig.so\n"; }

/* ---- mutation ----------------------------------------------------------------- */

struct buf {
    unsigned char *p;
    size_t n, cap;
};

static void buf_reserve(struct buf *b, size_t n)
{
    if (n <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < n) cap *= 2;
    if (!(b->p = realloc(b->p, cap))) test_bail("out of memory", "");
    b->cap = cap;
}

static void buf_set(struct buf *b, const void *p, size_t n)
{
    buf_reserve(b, n + 1);
    memcpy(b->p, p, n);
    b->n = n;
}

/* Insert n bytes at position at. */
static void buf_insert(struct buf *b, size_t at, const void *p, size_t n)
{
    buf_reserve(b, b->n + n + 1);
    memmove(b->p + at + n, b->p + at, b->n - at);
    memcpy(b->p + at, p, n);
    b->n += n;
}

static void buf_erase(struct buf *b, size_t at, size_t n)
{
    memmove(b->p + at, b->p + at + n, b->n - at - n);
    b->n -= n;
}

static const uint32_t int_words[] = {
    0, 1, 2, 0xffffffffu, 0x7fffffffu, 0x80000000u, 0x7ffffffeu, 0xffffu, 0x10000u,
    0x40000000u, 0x10000000u, 0x100u, 0xffffff00u, 0x3f800000u /* 1.0f */,
    0x7f800000u /* inf */, 0x7fc00000u /* nan */, 0xff800000u /* -inf */,
};

/* Numbers that stress range checks, swapped for a digit run in text formats. */
static const char *const big_numbers[] = {
    "0", "-1", "1", "2", "-2147483648", "2147483647", "2147483648", "4294967296",
    "9223372036854775807", "18446744073709551616", "99999999999999999999999", "1e308",
    "1e999", "-1e999", "1e-999", "0.0", "-0", "268435456", "268435457", "65536", "16777217",
    "0x7fffffff", "0x1p-1", "3.5", "-3", "1.2.3", "1e", "2147483647L", "nan", "inf",
};

/* A format's knowledge of its own text: tokens worth inserting. */
struct dict {
    const char *const *w;
    int n;
};

static uint64_t below(struct ant_rng *r, uint64_t n) { return n ? rng_below(r, n) : 0; }

/* Replace the digit run around position at with one of big_numbers. */
static void swap_number(struct buf *b, struct ant_rng *r)
{
    size_t tries = 0, at;
    do at = below(r, b->n);
    while (++tries < 64 && b->n && !isdigit(b->p[at]));
    if (!b->n || !isdigit(b->p[at])) return;
    size_t s = at, e = at;
    while (s > 0 && (isdigit(b->p[s - 1]) || b->p[s - 1] == '.' || b->p[s - 1] == '-')) s--;
    while (e < b->n && (isalnum(b->p[e]) || b->p[e] == '.')) e++;
    const char *w = big_numbers[below(r, sizeof big_numbers / sizeof *big_numbers)];
    buf_erase(b, s, e - s);
    buf_insert(b, s, w, strlen(w));
}

/* One random edit of b; text formats also get number swaps, dictionary words and
 * line duplication. */
static void mutate_once(struct buf *b, struct ant_rng *r, const struct dict *d)
{
    static const unsigned char special[] = {0x00, 0xff, 0x7f, 0x80};
    int n_ops = d ? 12 : 9;
    size_t n = b->n;
    switch (below(r, (uint64_t)n_ops)) {
    case 0:   /* bit flip */
        if (n) b->p[below(r, n)] ^= (unsigned char)(1u << below(r, 8));
        break;
    case 1:   /* special byte */
        if (n) b->p[below(r, n)] = special[below(r, 4)];
        break;
    case 2:   /* truncate */
        b->n = below(r, n + 1);
        break;
    case 3: { /* insert random bytes */
        unsigned char ins[16];
        size_t k = 1 + below(r, sizeof ins);
        for (size_t i = 0; i < k; i++) ins[i] = (unsigned char)rng_next(r);
        buf_insert(b, below(r, n + 1), ins, k);
        break;
    }
    case 4: { /* duplicate a chunk somewhere */
        if (!n) break;
        size_t at = below(r, n), k = 1 + below(r, n - at < 256 ? n - at : 256);
        unsigned char tmp[256];
        memcpy(tmp, b->p + at, k);
        buf_insert(b, below(r, n + 1), tmp, k);
        break;
    }
    case 5: { /* delete a chunk */
        if (!n) break;
        size_t at = below(r, n), k = 1 + below(r, n - at < 64 ? n - at : 64);
        buf_erase(b, at, k);
        break;
    }
    case 6: case 7: { /* a 4-byte field (aligned or not) set to an extreme value */
        if (n < 4) break;
        uint32_t w = int_words[below(r, sizeof int_words / sizeof *int_words)];
        size_t at = below(r, n - 3);
        if (below(r, 2)) at &= ~(size_t)3;
        memcpy(b->p + at, &w, 4);
        break;
    }
    case 8: { /* an 8-byte field set huge */
        if (n < 8) break;
        uint64_t w = below(r, 2) ? UINT64_MAX >> below(r, 40) : (uint64_t)1 << below(r, 64);
        memcpy(b->p + (below(r, n - 7) & ~(size_t)7), &w, 8);
        break;
    }
    case 9:
        swap_number(b, r);
        break;
    case 10: { /* a word of the format */
        const char *w = d->w[below(r, (uint64_t)d->n)];
        buf_insert(b, below(r, n + 1), w, strlen(w));
        break;
    }
    default: { /* duplicate or drop a line */
        if (!n) break;
        size_t at = below(r, n), s = at, e = at;
        while (s > 0 && b->p[s - 1] != '\n') s--;
        while (e < n && b->p[e] != '\n') e++;
        if (e < n) e++;
        if (below(r, 2)) {
            unsigned char *line = malloc(e - s + 1);
            if (!line) test_bail("out of memory", "");
            memcpy(line, b->p + s, e - s);
            buf_insert(b, below(r, 2) ? s : e, line, e - s);
            free(line);
        } else {
            buf_erase(b, s, e - s);
        }
    }
    }
}

/* Text formats: half the cases only swap numbers, so they get past the parser to the
 * range checks and shape arithmetic behind it. */
static void mutate(struct buf *b, struct ant_rng *r, const struct dict *d)
{
    int k = 1 + (int)below(r, 4), numbers_only = d && below(r, 2);
    for (int i = 0; i < k; i++)
        if (numbers_only) swap_number(b, r);
        else mutate_once(b, r, d);
}

/* ---- the campaign ----------------------------------------------------------------- */

/* A reader under test: reads path (holding n bytes), 1 if it accepted and the result
 * is usable, 0 if it refused (e says why), -1 if it accepted something unusable (e says
 * what). */
typedef int (*try_fn)(const char *path, const unsigned char *bytes, size_t n,
                      struct ant_err *e);

/* A format's cases can be fixed up after mutation (the checkpoint's checksums). */
typedef void (*fixup_fn)(struct buf *b);

struct format {
    const char *name;
    const char *file;           /* the name cases are written under in tmp_dir */
    try_fn attempt;
    fixup_fn fixup;             /* or NULL */
    const struct dict *dict;    /* text formats, else NULL */
    struct buf seed[4];
    int n_seed;
    int truncate_all;           /* also every truncation of seed 0 */
};

struct stats {
    long cases, accepted, refused, bad;
    char first_bad[2048];
};

static int tracing;
static long budget_cases = 400;       /* mutated cases per format in the make check run */
static double deadline_s;             /* > 0: a timed campaign instead */

/* One line, printable, names the file: what every refusal must be. */
static const char *message_fault(const char *msg, const char *path)
{
    if (!msg[0]) return "empty error message";
    for (const char *c = msg; *c; c++)
        if (*c == '\n' || *c == '\r') return "error message spans lines";
    if (!strstr(msg, path) && !strstr(msg, tmp_dir)) return "error message does not name the file";
    return NULL;
}

static void run_case(struct format *f, const struct buf *b, const char *how, long k,
                     struct stats *st)
{
    const char *path = tmp_path(f->file);
    write_bytes(path, b->p, b->n);
    if (tracing) fprintf(stderr, "# %s case %ld (%s, %zu bytes)\n", f->name, k, how, b->n);
    struct ant_err e = {{0}};
    int rc = f->attempt(path, b->p, b->n, &e);
    if (tracing) fprintf(stderr, "#   -> %d %s\n", rc, e.msg);
    st->cases++;
    const char *fault = rc < 0 ? "accepted but unusable" : rc == 0 ? message_fault(e.msg, path) : NULL;
    if (rc > 0) st->accepted++;
    if (rc == 0) st->refused++;
    if (!fault) return;
    if (!st->bad++) {
        snprintf(st->first_bad, sizeof st->first_bad, "%s case %ld (%s, %zu bytes): %s: \"%s\"",
                 f->name, k, how, b->n, fault, e.msg);
        /* the input survives the run next to the tmp dir for a look by hand */
        char dst[400];
        snprintf(dst, sizeof dst, "%s-%s.bad", tmp_dir, f->file);
        write_bytes(dst, b->p, b->n);
        diag("kept the input as %s", dst);
    }
}

static void run_format(struct format *f, uint64_t seed, double t_end)
{
    struct stats st = {0};
    struct ant_rng r;
    struct buf b = {0};
    rng_seed(&r, seed);
    double t0 = ant_now_ms();
    for (int i = 0; i < f->n_seed; i++) {   /* a mutation of a refused seed tests little */
        const char *path = tmp_path(f->file);
        struct ant_err e = {{0}};
        write_bytes(path, f->seed[i].p, f->seed[i].n);
        if (!ok(f->attempt(path, f->seed[i].p, f->seed[i].n, &e) == 1, "%s: seed %d is accepted",
                f->name, i))
            diag("%s", e.msg);
    }
    if (f->truncate_all && deadline_s <= 0)
        for (size_t len = 0; len < f->seed[0].n; len++) {
            buf_set(&b, f->seed[0].p, len);
            run_case(f, &b, "truncated", (long)len, &st);
        }
    for (long k = 0; deadline_s > 0 ? ant_now_ms() < t_end : k < budget_cases; k++) {
        const struct buf *s = &f->seed[k % f->n_seed];
        buf_set(&b, s->p, s->n);
        mutate(&b, &r, f->dict);
        if (f->fixup) f->fixup(&b);
        run_case(f, &b, "mutated", k, &st);
    }
    ok(st.bad == 0, "%s: %ld cases (%ld accepted, %ld refused) in %.0f ms: every refusal a "
       "one-line message naming the file, every acceptance usable", f->name, st.cases,
       st.accepted, st.refused, ant_now_ms() - t0);
    if (st.bad) diag("%ld bad; first: %s", st.bad, st.first_bad);
    free(b.p);
}

/* ---- token and text data -------------------------------------------------------- */

#define DATA_VOCAB 300
#define DATA_T 8

static int try_data(const char *path, const char *format, int vocab, struct ant_err *e)
{
    struct ant_data *d;
    if (data_open(&d, path, format, vocab, DATA_T, e) != 0) return 0;
    int good = data_n_tokens(d) >= DATA_T + 1;
    struct ant_cursor cur = {0};
    rng_seed(&cur.rng, 5);
    int32_t x[3 * DATA_T], y[3 * DATA_T];
    for (int pass = 0; good && pass < 4; pass++) {
        data_next_batch(d, &cur, pass & 1, 3, DATA_T, x, y);
        for (int i = 0; i < 3 * DATA_T; i++)
            good &= x[i] >= 0 && x[i] < vocab && y[i] >= 0 && y[i] < vocab;
    }
    data_close(d);
    if (!good) ant_errf(e, "%s: window with an id outside 0..%d", path, vocab - 1);
    return good ? 1 : -1;
}

static int try_tokens(const char *path, const unsigned char *b, size_t n, struct ant_err *e)
{
    (void)b, (void)n;
    return try_data(path, "tokens", DATA_VOCAB, e);
}

static int try_text(const char *path, const unsigned char *b, size_t n, struct ant_err *e)
{
    (void)b, (void)n;
    return try_data(path, "auto", 256, e);
}

static void seed_tokens(struct format *f)
{
    unsigned char t[2 * 40];
    for (int i = 0; i < 40; i++) {
        int id = (i * 37) % DATA_VOCAB;
        t[2 * i] = (unsigned char)id;
        t[2 * i + 1] = (unsigned char)(id >> 8);
    }
    buf_set(&f->seed[0], t, sizeof t);
    f->n_seed = 1;
}

static void seed_text(struct format *f)
{
    static const char s[] = "Once upon a time, a cat sat.\n\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xff\x00 end";
    buf_set(&f->seed[0], s, sizeof s - 1);
    f->n_seed = 1;
}

/* ---- llama2.c model.bin ------------------------------------------------------------ */

static struct ant_model_config tiny_model(int shared)
{
    return (struct ant_model_config){.dim = 4, .hidden_dim = 8, .n_layers = 1, .n_heads = 2,
                                     .n_kv_heads = 1, .vocab_size = 8, .seq_len = 2,
                                     .shared_classifier = shared, .rope_theta = 10000.0f,
                                     .norm_eps = 1e-5f};
}

static int try_model(const char *path, const unsigned char *b, size_t n, struct ant_err *e)
{
    (void)b, (void)n;
    struct ant_model_config c;
    float *w;
    if (llama2c_read(path, &c, &w, e) != 0) return 0;
    struct ant_layout lay;
    ant_layout_init(&lay, &c);
    int good = c.dim > 0 && c.n_heads > 0 && c.n_kv_heads > 0 && c.dim % c.n_heads == 0 &&
               c.n_heads % c.n_kv_heads == 0 && ant_head_dim(&c) % 2 == 0 && c.vocab_size > 0;
    for (size_t i = 0; good && i < lay.total; i++) good = isfinite(w[i]);
    /* usable: it writes back out as a model llama2.c (and we) can read */
    struct ant_err we;
    if (good && llama2c_write(tmp_path("model.out"), &c, w, &we) != 0) good = 0;
    ant_ffree(w);
    if (!good) ant_errf(e, "%s: read back a model that is inconsistent or not finite", path);
    return good ? 1 : -1;
}

static void seed_model(struct format *f)
{
    for (int shared = 0; shared < 2; shared++) {
        struct ant_model_config c = tiny_model(shared);
        struct ant_layout lay;
        ant_layout_init(&lay, &c);
        float *w = ant_falloc(lay.total);
        struct ant_rng r;
        rng_seed(&r, 11);
        for (size_t i = 0; i < lay.total; i++) w[i] = (float)rng_normal(&r);
        struct ant_err e;
        const char *p = tmp_path("seed.bin");
        if (llama2c_write(p, &c, w, &e) != 0) test_bail("cannot write seed model", e.msg);
        size_t n;
        unsigned char *bytes = slurp(p, &n);
        buf_set(&f->seed[shared], bytes, n);
        free(bytes);
        ant_ffree(w);
    }
    f->n_seed = 2;
}

/* ---- llama2.c model.bin versions 1 and 2, through model_import's sniffing ------------- */

/* Usable: a consistent, finite model that writes back out in the version it was read. */
static int usable_model(const char *path, const struct ant_model_config *c, float *w,
                        int version, struct ant_err *e)
{
    struct ant_layout lay;
    ant_layout_init(&lay, c);
    int good = c->dim > 0 && c->n_heads > 0 && c->n_kv_heads > 0 && c->dim % c->n_heads == 0 &&
               c->n_heads % c->n_kv_heads == 0 && ant_head_dim(c) % 2 == 0 && c->vocab_size > 0;
    for (size_t i = 0; good && i < lay.total; i++) good = isfinite(w[i]);
    struct ant_err we;
    if (good && version > 0 && llama2c_write_ak42(tmp_path("model.out"), version, c, w, &we) != 0)
        good = 0;
    ant_ffree(w);
    if (!good) ant_errf(e, "%s: read back a model that is inconsistent or not finite", path);
    return good ? 1 : -1;
}

static int try_ak42(const char *path, const unsigned char *b, size_t n, struct ant_err *e)
{
    (void)b, (void)n;
    struct ant_model_config c;
    float *w;
    if (model_import(path, &c, &w, e) != 0) return 0;
    return usable_model(path, &c, w, n >= 8 && b[4] == 2 ? 2 : 1, e);
}

static void seed_ak42(struct format *f)
{
    for (int k = 0; k < 4; k++) {
        struct ant_model_config c = tiny_model(k & 1);
        struct ant_layout lay;
        ant_layout_init(&lay, &c);
        float *w = ant_falloc(lay.total);
        struct ant_rng r;
        rng_seed(&r, 12);
        for (size_t i = 0; i < lay.total; i++) w[i] = (float)rng_normal(&r);
        struct ant_err e;
        const char *p = tmp_path("seed.bin");
        if (llama2c_write_ak42(p, 1 + k / 2, &c, w, &e) != 0) test_bail("cannot write seed", e.msg);
        size_t n;
        unsigned char *bytes = slurp(p, &n);
        buf_set(&f->seed[k], bytes, n);
        free(bytes);
        ant_ffree(w);
    }
    f->n_seed = 4;
}

/* ---- safetensors and Hugging Face folders ---------------------------------------------- */

#ifdef ANT_TEST_HF
/* A written tiny model's folder: tmp_dir/hf/{config.json, model.safetensors}. */
static void write_hf_seed(struct buf *st, struct buf *cfg)
{
    struct ant_model_config c = tiny_model(0);
    struct ant_layout lay;
    ant_layout_init(&lay, &c);
    float *w = ant_falloc(lay.total);
    struct ant_rng r;
    rng_seed(&r, 13);
    for (size_t i = 0; i < lay.total; i++) w[i] = (float)rng_normal(&r);
    struct ant_err e;
    if (hf_write(tmp_path("hf"), &c, w, &e) != 0) test_bail("cannot write the HF seed", e.msg);
    size_t n;
    unsigned char *bytes = slurp(tmp_path("hf/model.safetensors"), &n);
    if (st) buf_set(st, bytes, n);
    free(bytes);
    bytes = slurp(tmp_path("hf/config.json"), &n);
    if (cfg) buf_set(cfg, bytes, n);
    free(bytes);
    ant_ffree(w);
}

/* Usable: every tensor of a float dtype reads, and its values are what the file holds. */
static int try_safetensors(const char *path, const unsigned char *b, size_t n, struct ant_err *e)
{
    struct st_file f;
    if (st_open(path, &f, e) != 0) return 0;
    int good = 1;
    for (int i = 0; good && i < f.n; i++) {
        const struct st_tensor *t = &f.t[i];
        if (t->dtype != ST_F32 && t->dtype != ST_F16 && t->dtype != ST_BF16) continue;
        uint64_t esz = t->dtype == ST_F32 ? 4 : 2, count = (t->end - t->begin) / esz;
        float *x = malloc(count * 4 + 4);
        struct ant_err re;
        good = x && st_read_f32(&f, t, x, count, &re) == 0 && f.data_start + t->end <= n;
        if (good && t->dtype == ST_F32 && count)
            good = !memcmp(x, b + f.data_start + t->begin, count * 4);
        free(x);
    }
    st_close(&f);
    if (!good) ant_errf(e, "%s: accepted a header whose tensors do not read back", path);
    return good ? 1 : -1;
}

static void seed_safetensors(struct format *f)
{
    write_hf_seed(&f->seed[0], NULL);
    f->n_seed = 1;
}

/* config.json of a folder whose model.safetensors is the seed's. */
static int try_hf_config(const char *path, const unsigned char *b, size_t n, struct ant_err *e)
{
    (void)b, (void)n;
    struct ant_model_config c;
    float *w;
    if (hf_read(tmp_path("hf"), &c, &w, e) != 0) return 0;
    return usable_model(path, &c, w, 0, e);
}

static void seed_hf_config(struct format *f)
{
    write_hf_seed(NULL, &f->seed[0]);
    f->n_seed = 1;
}

static const char *const json_words[] = {
    "\"hidden_size\"", "\"num_key_value_heads\"", "\"tie_word_embeddings\"", "true", "false",
    "null", "\"rope_scaling\"", "\"model_type\"", "\"mistral\"", "\"dtype\"", "\"F16\"",
    "\"BF16\"", "\"I64\"", "\"shape\"", "\"data_offsets\"", "[", "]", "{", "}", ",", ":",
    "-1", "4294967296", "9223372036854775807", "1e999", "\"head_dim\"",
};
static const struct dict json_dict = {json_words, sizeof json_words / sizeof *json_words};
#endif

/* ---- llama2.c tokenizer.bin -------------------------------------------------------- */

static void put_entry(struct buf *b, float score, const char *s, int len)
{
    int32_t n = len;
    buf_insert(b, b->n, &score, 4);
    buf_insert(b, b->n, &n, 4);
    buf_insert(b, b->n, s, (size_t)len);
}

/* A vocabulary in llama2.c's shape: <unk>, <s>, </s>, optionally the 256 byte tokens,
 * then pieces with merge scores (some multi-byte UTF-8). */
static void make_tokenizer(struct buf *b, int with_bytes)
{
    static const char *const pieces[] = {" ", "a", "b", "c", "ab", " a", "abc", " ab", "ca",
                                         "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "<0xZZ>",
                                         "a\xc3\xa9"};
    int32_t maxlen = 6;
    b->n = 0;
    buf_insert(b, 0, &maxlen, 4);
    put_entry(b, 0, "<unk>", 5);
    put_entry(b, 0, "<s>", 3);
    put_entry(b, 0, "</s>", 4);
    for (int i = 0; with_bytes && i < 256; i++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", i);
        put_entry(b, 0, name, 6);
    }
    for (size_t i = 0; i < sizeof pieces / sizeof *pieces; i++)
        put_entry(b, -(float)i, pieces[i], (int)strlen(pieces[i]));
}

/* A random string: bytes of every kind, valid and broken UTF-8, the pieces' letters. */
static void random_text(struct ant_rng *r, char *s, int max)
{
    static const char *const bits[] = {"a", "b", "c", " ", "ab", "\xc3\xa9", "\xe2\x82\xac",
                                       "\xf0\x9f\x98\x80", "\xc3", "\x80", "\xff", "\xf0\x9f",
                                       "\xed\xa0\x80", "\xf4\x90\x80\x80", "<0x41>"};
    int n = 0, want = (int)below(r, (uint64_t)max / 2);
    while (n < want) {
        const char *w;
        char one[2] = {(char)(1 + below(r, 255)), 0};
        w = below(r, 3) ? bits[below(r, sizeof bits / sizeof *bits)] : one;
        size_t k = strlen(w);
        if (n + (int)k >= max) break;
        memcpy(s + n, w, k);
        n += (int)k;
    }
    s[n] = 0;
}

static struct ant_rng text_rng;

static int try_tokenizer(const char *path, const unsigned char *b, size_t n, struct ant_err *e)
{
    (void)b, (void)n;
    struct ant_tokenizer *t;
    if (tokenizer_open(&t, path, 0, e) != 0) return 0;
    int V = tokenizer_vocab_size(t), good = V > 0;
    char s[64];
    int32_t ids[80];
    for (int k = 0; good && k < 6; k++) {
        int got;
        random_text(&text_rng, s, sizeof s);
        if (tokenizer_encode(t, s, k & 1, ids, 80, &got) != 0 || got < 0 || got > 80) {
            good = 0;
            break;
        }
        for (int i = 0; i < got; i++) {
            good &= ids[i] >= 0 && ids[i] < V;
            good &= tokenizer_decode(t, i ? ids[i - 1] : -1, ids[i]) != NULL;
        }
    }
    const int32_t odd[] = {-1, V, V + 1, INT32_MAX, INT32_MIN, 0, 1, V - 1};
    for (size_t i = 0; good && i < sizeof odd / sizeof *odd; i++)
        good &= tokenizer_decode(t, ANT_TOKEN_BOS, odd[i]) != NULL;
    tokenizer_close(t);
    if (!good) ant_errf(e, "%s: encode gave an id outside 0..%d or failed", path, V - 1);
    return good ? 1 : -1;
}

static void seed_tokenizer(struct format *f)
{
    make_tokenizer(&f->seed[0], 0);
    make_tokenizer(&f->seed[1], 1);
    f->n_seed = 2;
}

/* ---- checkpoints ------------------------------------------------------------------- */

/* Recompute every section hash the (possibly mutated) header can locate, then the
 * header's own, so the mutation reaches the checks behind the checksums. */
static void ckpt_rehash(struct buf *b)
{
    if (b->n < CKPT_HEADER_BYTES) return;
    for (int i = 0; i < CKPT_N_SECTIONS; i++) {
        unsigned char *t = b->p + 16 + 32 * i;
        uint64_t off, size;
        memcpy(&off, t + 8, 8);
        memcpy(&size, t + 16, 8);
        if (off <= b->n && size <= b->n - off) {
            uint64_t h = ant_xxh64(b->p + off, (size_t)size, 0);
            memcpy(t + 24, &h, 8);
        }
    }
    uint64_t h = ant_xxh64(b->p, CKPT_HEADER_BYTES - 8, 0);
    memcpy(b->p + CKPT_HEADER_BYTES - 8, &h, 8);
}

static struct ant_rng ckpt_rng;

/* Half the cases keep their broken checksums (the check that catches them is tested
 * too), half get them recomputed. */
static void ckpt_fixup(struct buf *b)
{
    if (below(&ckpt_rng, 2)) ckpt_rehash(b);
}

static int try_ckpt(const char *path, const unsigned char *b, size_t n, struct ant_err *e)
{
    (void)b, (void)n;
    struct ant_ckpt_info peek, info;
    struct ant_train_state s;
    int rp = ckpt_peek(path, &peek, e);
    struct ant_err le;
    int rl = ckpt_load(path, &s, &info, rp == 0 ? &le : e);
    if (rp != 0 && rl == 0) {
        state_free(&s);
        return ant_errf(e, "%s: ckpt_load took what ckpt_peek refused", path), -1;
    }
    if (rl != 0) {
        if (s.weights || s.m || s.v) return ant_errf(e, "%s: failed load left buffers", path), -1;
        if (rp == 0) *e = le;
        return 0;
    }
    const struct ant_model_config *c = &info.model;
    int good = memcmp(&peek.model, c, sizeof *c) == 0 && c->dim > 0 && c->n_heads > 0 &&
               c->n_kv_heads > 0 && c->dim % c->n_heads == 0 && c->n_heads % c->n_kv_heads == 0 &&
               ant_head_dim(c) % 2 == 0 && s.step >= 0 &&
               memchr(info.train.schedule, 0, sizeof info.train.schedule) &&
               memchr(info.data_name, 0, sizeof info.data_name);
    for (size_t i = 0; good && i < s.layout.total; i++)
        good = isfinite(s.weights[i]) && isfinite(s.m[i]) && isfinite(s.v[i]) && s.v[i] >= 0;
    state_free(&s);
    if (!good) ant_errf(e, "%s: loaded a state that is inconsistent or not finite", path);
    return good ? 1 : -1;
}

static void seed_ckpt(struct format *f)
{
    struct ant_model_config c = tiny_model(0);
    c.vocab_size = 4;
    struct ant_train_state s;
    if (state_alloc(&s, &c) != 0) test_bail("out of memory", "");
    state_init_weights(&s, 3, 0.02);
    for (size_t i = 0; i < s.layout.total; i++) s.m[i] = 0.01f * (float)i, s.v[i] = 0.001f;
    s.step = 7;
    struct ant_run_config rc;
    memset(&rc, 0, sizeof rc);
    snprintf(rc.train.schedule, sizeof rc.train.schedule, "cosine");
    snprintf(rc.train.data_order, sizeof rc.train.data_order, "random");
    struct ant_err e;
    const char *p = tmp_path("seed.ckpt");
    if (ckpt_save(p, &s, &rc.train, "data.bin", 42, &e) != 0) test_bail("cannot save", e.msg);
    state_free(&s);
    size_t n;
    unsigned char *bytes = slurp(p, &n);
    buf_set(&f->seed[0], bytes, n);
    free(bytes);
    f->n_seed = 1;
    rng_seed(&ckpt_rng, 77);
}

/* ---- config files -------------------------------------------------------------------- */

static const char config_seed[] =
    "# every kind of key\n"
    "model = { dim = 64; hidden_dim = 172; n_layers = 2; n_heads = 4; n_kv_heads = 2;\n"
    "  vocab_size = 256; seq_len = 64; shared_classifier = true; rope_theta = 10000.0;\n"
    "  norm_eps = 1e-5; };\n"
    "train = { batch_size = 4; grad_accum = 1; steps = 100; lr = 0.001; min_lr = 0.0001;\n"
    "  warmup_steps = 10; schedule = \"cosine\"; beta1 = 0.9; beta2 = 0.95; eps = 1e-8;\n"
    "  weight_decay = 0.1; grad_clip = 1.0; seed = 1234L; data_order = \"random\";\n"
    "  init_std = 0.02; log_every = 10; };\n"
    "data = { path = \"data/x.bin\"; format = \"auto\"; tokenizer = \"\"; eval_path = \"e.txt\"; };\n"
    "checkpoint = { path = \"out/ckpt.bin\"; every = 50; init_model = \"\"; };\n"
    "backend = \"auto\";\n"
    "fallback = [ \"cpu\" ];\n"
    "exclude = [ \"ane\" ];\n"
    "plugin_path = [ \"plugins\", \"/usr/lib/anetrain\" ];\n"
    "chip = \"M4\";\n"
    "strict = false;\n"
    "threads = 2;\n"
    "backends = { cpu = { threads = 2; blas = \"openblas\"; l = ( 1, \"a\", { x = 1; } );\n"
    "  arr = [ 1, 2 ]; }; ane = { f = 1.5; }; };\n";

static const char config_include_seed[] =
    "@include \"inc.cfg\"\n"
    "train = { steps = 20; };\n"
    "backends = { cpu = { threads = 1; }; };\n";

static const char *const config_words[] = {
    "model", "train", "data", "checkpoint", "backends", "dim", "=", ";", "{", "}", "[", "]",
    "(", ")", ",", "\"", "\\\"", "\\n", "\\x01", "true", "L", "0x", ".", "@include \"inc.cfg\"\n",
    "@include \"fuzz.cfg\"\n", "backends = 1;", "backends = { x = 1; };", "fallback = [ \"\" ];",
    "exclude = [ 1 ];", "model.dim = 2;", "dimm = 3;", "\"cosine\"", "\"constant\"",
    "plugin_path = [\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\",\"j\",\"k\",\"l\",\"m\",\"n\",\"o\",\"p\",\"q\"];",
    "data = { path = \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"; };",
    "/*", "*/", "//", "#",
};
static const struct dict config_dict = {config_words, sizeof config_words / sizeof *config_words};

/* libconfig 1.5's scanner echoes a character it cannot match (a stray backslash) to
 * stdout, which would break the TAP stream: stdout is muted around its calls. */
static int muted_fd = -1;
static void mute(int on)
{
    fflush(stdout);
    if (on) {
        int null = open("/dev/null", O_WRONLY);
        muted_fd = dup(1);
        if (null >= 0) dup2(null, 1), close(null);
    } else if (muted_fd >= 0) {
        dup2(muted_fd, 1);
        close(muted_fd);
        muted_fd = -1;
    }
}

static int try_config(const char *path, const unsigned char *b, size_t n, struct ant_err *e)
{
    (void)b, (void)n;
    struct ant_run_config rc;
    mute(1);
    config_defaults(&rc);
    int r = config_load(&rc, path, e);
    mute(0);
    if (r != 0) {
        config_free(&rc);
        return 0;
    }
    /* usable: every string terminated, lists in range, and validation decides with a
     * message (a cross-field rule may fail: flags can still fix it) */
    struct ant_err ve = {{0}};
    int good = memchr(rc.data.path, 0, sizeof rc.data.path) && rc.be.n_fallback >= 0 &&
               rc.be.n_fallback <= ANT_LIST_MAX && rc.be.n_plugin_path <= ANT_LIST_MAX &&
               (config_validate(&rc, &ve) == 0 || (ve.msg[0] && !strchr(ve.msg, '\n')));
    config_free(&rc);
    if (!good) ant_errf(e, "%s: accepted a config that does not validate cleanly: %s", path, ve.msg);
    return good ? 1 : -1;
}

static void seed_config(struct format *f)
{
    buf_set(&f->seed[0], config_seed, strlen(config_seed));
    buf_set(&f->seed[1], config_include_seed, strlen(config_include_seed));
    write_text(tmp_path("inc.cfg"), "model = { dim = 32; };\nthreads = 1;\n");
    f->n_seed = 2;
}

/* ---- chip profile files ---------------------------------------------------------------- */

static const char chips_seed[] =
    "version = 1;\n"
    "chips = (\n"
    "  { name = \"M4\"; backends = [ \"cpu\", \"*\" ]; mil_program = \"1.3\";\n"
    "    mil_target = \"ios18\"; mil_verbose_scalars = false; fp16_io = false;\n"
    "    allows_cast = true; surface_align = 64; surface_min_bytes = 1024;\n"
    "    compile_budget = 100; peak_tflops = 38.0; },\n"
    "  { name = \"M4 Pro\"; peak_tflops = 40; surface_align = 128; },\n"
    "  { name = \"M9\"; backends = [ \"ane\", \"cpu\" ]; mil_program = \"1.0\";\n"
    "    mil_target = \"ios16\"; mil_verbose_scalars = true; fp16_io = true;\n"
    "    allows_cast = false; surface_align = 256; surface_min_bytes = 2048;\n"
    "    compile_budget = 50; peak_tflops = 1.5; }\n"
    ");\n";

static const char *const chips_words[] = {
    "name", "backends", "mil_program", "mil_target", "surface_align", "peak_tflops", "=", ";",
    "{", "}", "(", ")", "[", "]", ",", "\"", "true", "1e999", "\"M1\"", "\"none\"",
    "{ name = \"\"; },", "{ name = \"M5\"; },", "chips = 1;", "chips = [ 1 ];",
    "backends = [ \"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\", \"h\", \"i\", \"j\", \"k\", \"l\", \"m\", \"n\", \"o\", \"p\", \"q\" ];",
    "backends = ( { }, 1 );", "mil_program = 3;",
};
static const struct dict chips_dict = {chips_words, sizeof chips_words / sizeof *chips_words};

static int chip_sane(const struct ant_chip *c)
{
    return c->surface_align >= 1 && c->surface_min_bytes >= 1 && c->compile_budget >= 0 &&
           c->peak_tflops >= 0 && isfinite(c->peak_tflops) &&
           (!c->mil_program || strlen(c->mil_program) < 64) &&
           (!c->mil_target || strlen(c->mil_target) < 64);
}

static int try_chips(const char *path, const unsigned char *b, size_t n, struct ant_err *e)
{
    (void)b, (void)n;
    mute(1);
    int r = chip_profiles_load(path, e);
    mute(0);
    if (r != 0) return 0;
    static const char *const names[] = {"M4", "M4 Pro", "M1", "M9", "unknown", "none"};
    int good = 1;
    for (size_t i = 0; good && i < sizeof names / sizeof *names; i++) {
        struct ant_chip c;
        struct ant_err ce = {{0}};
        if (chip_from_name(names[i], &c, &ce) == 0) {
            good = chip_sane(&c);
            const char *const *pref;
            int np = chip_preference(&c, &pref);
            good &= np >= 0 && np <= ANT_CHIP_PREF_MAX;
            for (int k = 0; good && k < np; k++) good = pref[k] && pref[k][0] != 0;
        } else {
            good = ce.msg[0] != 0 && !strchr(ce.msg, '\n');
        }
    }
    if (!good) ant_errf(e, "%s: a profile read from it is not sane", path);
    return good ? 1 : -1;
}

static void seed_chips(struct format *f)
{
    buf_set(&f->seed[0], chips_seed, strlen(chips_seed));
    f->n_seed = 1;
}

/* ---- MIL programs and weight blobs ------------------------------------------------------ */

/* Every op of the catalogue, inline literals of each kind, a BLOBFILE. */
static const char mil_seed_all[] =
    "program(1.3)\n"
    "[buildInfo = dict<string, string>({{\"coremlc-version\", \"3505.4.1\"}})]\n"
    "{\n"
    "    func main<ios18>(tensor<fp16, [1, 4, 1, 8]> a, tensor<fp32, [1, 4, 1, 8]> b) {\n"
    "        tensor<fp16, [1, 4, 1, 8]> bh = cast(dtype = string(\"fp16\"), x = b)[name = string(\"bh\")];\n"
    "        tensor<fp16, [1, 4, 1, 8]> s = add(x = a, y = bh)[name = string(\"s\")];\n"
    "        tensor<int32, [4]> sh = const()[name = string(\"sh\"), val = tensor<int32, [4]>([1, 4, 8, 1])];\n"
    "        tensor<fp16, [1, 4, 8, 1]> r = reshape(shape = sh, x = s)[name = string(\"r\")];\n"
    "        tensor<int32, [4]> pm = const()[name = string(\"pm\"), val = tensor<int32, [4]>([0, 1, 3, 2])];\n"
    "        tensor<fp16, [1, 4, 1, 8]> t = transpose(perm = pm, x = r)[name = string(\"t\")];\n"
    "        tensor<fp16, [1, 4, 1, 6]> sl = slice_by_size(x = t, begin = tensor<int32, [4]>([0, 0, 0, 2]), size = tensor<int32, [4]>([1, 4, 1, -1]))[name = string(\"sl\")];\n"
    "        tensor<fp16, [1, 4, 1, 14]> cc = concat(axis = int32(3), interleave = bool(false), values = (sl, t))[name = string(\"cc\")];\n"
    "        tensor<fp16, [1, 4, 1, 14]> sm = softmax(axis = int32(-1), x = cc)[name = string(\"sm\")];\n"
    "        tensor<fp16, [1, 1, 1, 14]> rs = reduce_sum(x = sm, axes = tensor<int32, [1]>([1]), keep_dims = bool(true))[name = string(\"rs\")];\n"
    "        tensor<fp16, [1, 4, 14, 14]> mm = matmul(transpose_x = bool(true), transpose_y = bool(false), x = cc, y = cc)[name = string(\"mm\")];\n"
    "        tensor<fp16, [4, 2, 1, 3]> wt = const()[name = string(\"wt\"), val = tensor<fp16, [4, 2, 1, 3]>(BLOBFILE(path = string(\"@model_path/weights/w.bin\"), offset = uint64(64)))];\n"
    "        tensor<fp16, [1, 4, 1, 8]> cv = conv(dilations = tensor<int32, [2]>([1, 1]), groups = int32(2), pad = tensor<int32, [4]>([0, 0, 1, 1]), pad_type = string(\"custom\"), strides = tensor<int32, [2]>([1, 1]), weight = wt, x = a)[name = string(\"cv\")];\n"
    "        fp16 two = const()[name = string(\"two\"), val = fp16(0x1p+1)];\n"
    "        tensor<fp16, [1, 4, 1, 8]> p = pow(x = cv, y = two)[name = string(\"p\")];\n"
    "        tensor<fp16, [1, 4, 1, 8]> d = real_div(x = p, y = tensor<fp16, [1, 1, 1, 8]>([1, 2, 3, 4, 5, 6, 7, 8.5]))[name = string(\"d\")];\n"
    "        tensor<fp16, [1, 4, 1, 8]> q = sqrt(x = d)[name = string(\"q\")];\n"
    "        tensor<fp16, [1, 4, 1, 8]> x1 = exp(x = q)[name = string(\"x1\")];\n"
    "        tensor<fp16, [1, 4, 1, 8]> x2 = tanh(x = x1)[name = string(\"x2\")];\n"
    "        tensor<fp16, [1, 4, 1, 8]> x3 = relu(x = x2)[name = string(\"x3\")];\n"
    "        tensor<fp16, [1, 4, 1, 8]> x4 = sigmoid(x = x3)[name = string(\"x4\")];\n"
    "        tensor<fp16, [1, 4, 1, 8]> x5 = sub(x = x4, y = s)[name = string(\"x5\")];\n"
    "        tensor<fp16, [1, 4, 1, 8]> x6 = mul(x = x5, y = x5)[name = string(\"x6\")];\n"
    "        tensor<fp32, [1, 4, 1, 8]> o = cast(dtype = string(\"fp32\"), x = x6)[name = string(\"o\")];\n"
    "        tensor<fp16, [1, 4, 14, 14]> o2 = identity(x = mm)[name = string(\"o2\")];\n"
    "    } -> (o, rs, o2);\n"
    "}\n";

static const char mil_seed_verbose[] =
    "program(1.0)\n"
    "[buildInfo = dict<tensor<string, []>, tensor<string, []>>({{\"coremlc-version\", \"3505.4.1\"}})]\n"
    "{\n"
    "    func main<ios16>(tensor<fp16, [1, 4, 1, 8]> act) {\n"
    "        tensor<fp16, [4, 2, 1, 3]> wt = const()[name = tensor<string, []>(\"wt\"), val = tensor<fp16, [4, 2, 1, 3]>(BLOBFILE(path = tensor<string, []>(\"@model_path/weights/w.bin\"), offset = tensor<uint64, []>(176)))];\n"
    "        tensor<fp16, [1, 4, 1, 6]> cv = conv(groups = tensor<int32, []>(2), weight = wt, x = act)[name = tensor<string, []>(\"cv\")];\n"
    "        tensor<fp16, []> half = const()[name = tensor<string, []>(\"half\"), val = tensor<fp16, []>(0x1p-1)];\n"
    "        tensor<fp16, [1, 4, 1, 6]> out = mul(x = cv, y = half)[name = tensor<string, []>(\"out\")];\n"
    "    } -> (out);\n"
    "}\n";

static const char *const mil_words[] = {
    "tensor<fp16, [1, 4, 1, 8]>", "tensor<fp32, []>", "tensor<int32, [2]>([1, 1])", "fp16",
    "int32(-1)", "uint64(0)", "string(\"x\")", "bool(true)", "BLOBFILE(", "BLOBFILE(path = string(\"@model_path/weights/w.bin\"), offset = uint64(64))",
    "(", ")", "[", "]", "{", "}", "<", ">", ",", "=", ";", "->", "\"", "\\", "const()",
    "concat", "reshape", "transpose", "slice_by_size", "conv", "matmul", "reduce_sum",
    "softmax", "cast", "name = string(\"n\")", "val = ", "2147483647", "268435456", "-2147483648",
    "values = (a, a, a, a)", "axis = int32(3)", "groups = int32(1073741824)",
    "program(1.3)", "func main<ios18>", "dict<string, string>", "1e38", "0x1p+99",
};
static const struct dict mil_dict = {mil_words, sizeof mil_words / sizeof *mil_words};

/* w.bin: the file header, then two chunks of 24 fp16 values (headers at 64 and 176). */
static void make_blob(struct ane_weights *w)
{
    struct ant_err e;
    float v[24];
    uint64_t off;
    for (int i = 0; i < 24; i++) v[i] = 0.1f * (float)(i - 12);
    struct ane_blob *b = weights_blob(w, "w.bin", &e);
    if (!b || blob_add_f32(b, v, 24, &off, &e) || blob_add_f32(b, v, 24, &off, &e))
        test_bail("cannot build the seed blob", "");
}

static struct ant_chip mil_chips[2];   /* M4 and M1 */

/* Inputs filled, evaluated on the emulator: only for small programs (a fuzzed shape
 * may ask for 2^28 elements, fine to check but slow to run). */
static int mil_execute(const char *text, size_t n, const struct ant_chip *chip,
                       const struct ane_weights *w, const char *path, struct ant_err *e)
{
    struct ant_chip c = *chip;
    c.compile_budget = 1 << 30;
    struct ane_device *d = ane_open("emulator", &c, e);
    struct ane_kernel *k = d ? ane_compile(d, text, n, w, path, e) : NULL;
    struct ane_surface *s[2][MIL_MAX_IO] = {{0}};
    struct ane_request *r = NULL;
    int rc = -1;
    if (!k) goto out;
    for (int o = 0; o < 2; o++)
        for (int i = 0; i < ane_kernel_n_io(k, o); i++)
            if (!(s[o][i] = ane_surface_for(k, o, i, e))) goto out;
    for (int i = 0; i < ane_kernel_n_io(k, 0); i++) {
        const struct ane_io *io = ane_kernel_io(k, 0, i);
        size_t elems = (size_t)mil_elems(&io->type);
        float *x = malloc(elems * sizeof *x);
        if (!x) goto out;
        for (size_t j = 0; j < elems; j++) x[j] = (float)(j % 7) * 0.25f - 0.5f;
        int bad = ane_surface_put(s[0][i], io->type.dt, 0, x, elems, e);
        free(x);
        if (bad) goto out;
    }
    if (!(r = ane_request_new(k, s[0], ane_kernel_n_io(k, 0), s[1], ane_kernel_n_io(k, 1), e)) ||
        ane_eval(r, e))
        goto out;
    rc = 0;
out:
    ane_request_free(r);
    for (int o = 0; o < 2; o++)
        for (int i = 0; i < MIL_MAX_IO; i++) ane_surface_free(s[o][i]);
    ane_kernel_free(k);
    ane_close(d);
    return rc;
}

static int io_small(const struct mil_prog *p)
{
    double total = 0;
    for (int i = 0; i < p->n_var; i++) total += (double)mil_elems(&p->var[i].type);
    return total < 1e5 && p->flops < 1e6;
}

static int try_mil(const char *path, const unsigned char *b, size_t n, struct ant_err *e)
{
    struct ane_weights w;
    weights_init(&w);
    make_blob(&w);
    struct mil_prog *p = mil_parse((const char *)b, n, path, e);
    if (!p) return weights_free(&w), 0;
    int good = 1, any = 0;
    /* usable: it prints, and the print parses back to the same text */
    struct ant_err pe;
    for (int verbose = 0; good && verbose < 2; verbose++) {
        char *t1 = mil_print(p, verbose, &pe);
        struct mil_prog *q = t1 ? mil_parse(t1, strlen(t1), path, &pe) : NULL;
        char *t2 = q ? mil_print(q, verbose, &pe) : NULL;
        good = t2 && !strcmp(t1, t2);
        if (!good) ant_errf(e, "%s: accepted, but its print does not parse back: %s", path,
                            t1 && !q ? pe.msg : "differs");
        free(t1), free(t2), mil_prog_free(q);
    }
    for (int c = 0; good && c < 2; c++) {
        struct ant_err le = {{0}};
        struct mil_prog *q = mil_load((const char *)b, n, path, &mil_chips[c], &w, &le);
        if (!q && message_fault(le.msg, path)) {
            good = 0;
            ant_errf(e, "%s: mil_load refusal is not clear: \"%s\"", path, le.msg);
        }
        if (q && io_small(q) && mil_execute((const char *)b, n, &mil_chips[c], &w, path, &le) != 0 &&
            message_fault(le.msg, path) && !strstr(le.msg, "emulator")) {
            good = 0;
            ant_errf(e, "%s: emulator refusal is not clear: \"%s\"", path, le.msg);
        }
        any |= q != NULL;
        mil_prog_free(q);
    }
    (void)any;
    mil_prog_free(p);
    weights_free(&w);
    return good ? 1 : -1;
}

/* The blob as the mutated input, the program fixed: a blob is user input too. */
static int try_blob(const char *path, const unsigned char *b, size_t n, struct ant_err *e)
{
    struct ane_weights w;
    weights_init(&w);
    struct ant_err ae;
    if (weights_add_raw(&w, "@model_path/weights/w.bin", b, n, &ae) != 0)
        return weights_free(&w), ant_errf(e, "%s: cannot add: %s", path, ae.msg), -1;
    int good = 1, refused = 0;
    for (int s = 0; s < 2; s++) {
        const char *text = s ? mil_seed_verbose : mil_seed_all;
        struct ant_err le = {{0}};
        struct mil_prog *q = mil_load(text, strlen(text), path, &mil_chips[s], &w, &le);
        if (!q && !refused++) *e = le;   /* judged like any refusal, and must name w.bin */
        if (!q) good &= strstr(le.msg, "w.bin") != NULL;
        else good &= mil_execute(text, strlen(text), &mil_chips[s], &w, path, &le) == 0;
        mil_prog_free(q);
    }
    weights_free(&w);
    if (!good) ant_errf(e, "%s: a blob check failed without a clear message", path);
    return !good ? -1 : refused ? 0 : 1;
}

static void seed_mil(struct format *f)
{
    buf_set(&f->seed[0], mil_seed_all, strlen(mil_seed_all));
    buf_set(&f->seed[1], mil_seed_verbose, strlen(mil_seed_verbose));
    f->n_seed = 2;
}

static void seed_blob(struct format *f)
{
    struct ane_weights w;
    weights_init(&w);
    make_blob(&w);
    buf_set(&f->seed[0], w.blob[0]->data, w.blob[0]->size);
    weights_free(&w);
    f->n_seed = 1;
}

/* ---- regressions: inputs that once broke a reader ------------------------------------ */

struct regression {
    const char *format;     /* formats[].name */
    const char *what;
    const char *text;       /* the input (text formats), or NULL */
    const unsigned char *bytes;
    size_t n;
    int accept;             /* 1: must be accepted and usable; 0: refused clearly */
    void (*make)(struct buf *b);   /* or the input is made by this */
};

/* A BLOBFILE whose path literal is a BLOBFILE ..., 200000 deep (4.2 MB): the parser
 * recursed once per level and overflowed the stack. */
static void make_deep_mil(struct buf *b)
{
    static const char head[] = "program(1.3)\n{\n    func main<ios18>(tensor<fp16, [1]> x) {\n"
                               "        tensor<fp16, [1]> w = const()[name = string(\"w\"), val = tensor<fp16, [1]>(";
    b->n = 0;
    buf_insert(b, 0, head, sizeof head - 1);
    for (int i = 0; i < 200000; i++) buf_insert(b, b->n, "BLOBFILE(path = fp16(", 21);
    buf_insert(b, b->n, ")];\n    } -> (x);\n}\n", 20);
}

/* tokenizer.bin: max_token_length 6, one entry "<unk>" (score 0): BOS (id 1) was put
 * before the text and merge_best read len[1] past the one-entry arrays. */
static const unsigned char tok_one_entry[] = {6, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0,
                                              '<', 'u', 'n', 'k', '>'};

/* One-statement MIL programs whose shape arithmetic overflowed int (UBSan). */
#define MIL_ONE(in, stmt) \
    "program(1.3)\n{\n    func main<ios18>(" in ") {\n        " stmt "\n    } -> (y);\n}\n"

static void seed_ckpt(struct format *f);
static void ckpt_rehash(struct buf *b);

/* The seed checkpoint with one float of section meta (at byte meta_at) or of the
 * weights (weight_at) replaced, checksums recomputed. */
static void make_ckpt_edit(struct buf *b, long meta_at, int64_t meta_val, long weight_at, float w)
{
    struct format f = {0};
    seed_ckpt(&f);
    *b = f.seed[0];
    if (meta_at >= 0) memcpy(b->p + CKPT_HEADER_BYTES + meta_at, &meta_val, 8);
    if (weight_at >= 0) {
        uint64_t off;
        memcpy(&off, b->p + 16 + 32 * 1 + 8, 8);   /* section 2 (weights): its offset */
        memcpy(b->p + off + 4 * (size_t)weight_at, &w, 4);
    }
    ckpt_rehash(b);
}

/* Checksums prove nothing about values: an inf weight was loaded for training. */
static void make_ckpt_inf(struct buf *b) { make_ckpt_edit(b, -1, 0, 5, INFINITY); }

/* model.n_heads 4 and n_kv_heads 2 with dim 4: the same layout, head_dim 1, which RoPE
 * cannot rotate; it was loaded. (Meta fields are 8 bytes each: n_heads is the 4th.) */
static void make_ckpt_odd_head(struct buf *b)
{
    make_ckpt_edit(b, 3 * 8, 4, -1, 0);
    int64_t kv = 2;
    memcpy(b->p + CKPT_HEADER_BYTES + 4 * 8, &kv, 8);
    ckpt_rehash(b);
}

/* A bad key in an @include'd file was reported as "inc2.cfg:1: ...", not naming the
 * folder the file is in. */
static void make_config_include(struct buf *b)
{
    write_text(tmp_path("inc2.cfg"), "model = { dim = -3; };\n");
    static const char text[] = "@include \"inc2.cfg\"\n";
    buf_set(b, text, sizeof text - 1);
}

/* libconfig 1.5 exits the process (status 2, "input in flex scanner failed") on an
 * @include of a folder; found by a timed campaign from `@include "inc.cfg"`. */
static void make_include_folder(struct buf *b)
{
    static const char text[] = "@include \"sub\"\nthreads = 1;\n";
    mkdir(tmp_path("sub"), 0700);
    buf_set(b, text, sizeof text - 1);
}

static void make_include_folder_escaped(struct buf *b)
{
    static const char text[] = "threads = 1;\n  @include \"su\\x62\"\n";
    mkdir(tmp_path("sub"), 0700);
    buf_set(b, text, sizeof text - 1);
}

/* @include "<NUL>cfg": libconfig reads the name "" and opened the folder (exit 2). */
static void make_include_nul(struct buf *b)
{
    static const char text[] = "@include \"\0\xff\xff\xff" "cfg\"\ntrain = { steps = 20; };\n";
    buf_set(b, text, sizeof text - 1);
}

static const struct regression regressions[] = {
    {"mil", "reshape to 2147483647^3 elements", MIL_ONE("tensor<fp16, [1, 4, 1, 8]> x",
     "tensor<fp16, [1, 4, 1, 8]> y = reshape(shape = tensor<int32, [3]>([2147483647, "
     "2147483647, 2147483647]), x = x)[name = string(\"y\")];"), NULL, 0, 0, NULL},
    {"mil", "slice_by_size from begin -2^31 to the end", MIL_ONE("tensor<fp16, [1, 4, 1, 8]> x",
     "tensor<fp16, [1, 4, 1, 8]> y = slice_by_size(x = x, begin = tensor<int32, [4]>([0, 0, 0, "
     "-2147483648]), size = tensor<int32, [4]>([1, 4, 1, -1]))[name = string(\"y\")];"), NULL, 0, 0, NULL},
    {"mil", "concat of 8 x 2^28 elements", MIL_ONE("tensor<fp16, [1, 1, 1, 268435456]> x",
     "tensor<fp16, [1, 1, 1, 8]> y = concat(axis = int32(3), interleave = bool(false), "
     "values = (x, x, x, x, x, x, x, x))[name = string(\"y\")];"), NULL, 0, 0, NULL},
    {"mil", "conv with dilation 2^31-1", MIL_ONE("tensor<fp16, [1, 1, 1, 8]> x",
     "tensor<fp16, [1, 1, 1, 8]> y = conv(dilations = tensor<int32, [2]>([1, 2147483647]), "
     "weight = tensor<fp16, [1, 1, 1, 2]>([1, 1]), x = x)[name = string(\"y\")];"), NULL, 0, 0, NULL},
    {"mil", "conv with pad 2^31-1", MIL_ONE("tensor<fp16, [1, 1, 1, 8]> x",
     "tensor<fp16, [1, 1, 1, 8]> y = conv(pad = tensor<int32, [4]>([0, 0, 0, 2147483647]), "
     "pad_type = string(\"custom\"), weight = tensor<fp16, [1, 1, 1, 2]>([1, 1]), x = x)"
     "[name = string(\"y\")];"), NULL, 0, 0, NULL},
    {"mil", "a number with two dots", MIL_ONE("tensor<fp16, [1, 2]> x",
     "tensor<fp16, [1, 2]> y = mul(x = x, y = fp16(1.2.3))[name = string(\"y\")];"), NULL, 0, 0, NULL},
    {"mil", "BLOBFILE nested 200000 deep", NULL, NULL, 0, 0, make_deep_mil},
    {"checkpoint", "an inf weight under valid checksums", NULL, NULL, 0, 0, make_ckpt_inf},
    {"checkpoint", "head_dim 1 (odd) under valid checksums", NULL, NULL, 0, 0, make_ckpt_odd_head},
    {"config", "a bad key in an @include'd file", NULL, NULL, 0, 0, make_config_include},
    {"config", "@include of a folder", NULL, NULL, 0, 0, make_include_folder},
    {"config", "@include of a folder, its name escaped", NULL, NULL, 0, 0, make_include_folder_escaped},
    {"chips", "@include in a chip profile file", NULL, NULL, 0, 0, make_include_folder},
    {"config", "@include of a name starting with a NUL byte", NULL, NULL, 0, 0, make_include_nul},
    {"chips", "mil_target of two lines", "chips = ( { name = \"M4\"; mil_target = \"ios1alse;\n"
     " allows_cast = true;\"; } );\n", NULL, 0, 0, NULL},
    {"mil", "an fp16 literal of -1e999", MIL_ONE("tensor<fp16, [1, 2]> x",
     "tensor<fp16, [1, 2]> y = mul(x = x, y = fp16(-1e999))[name = string(\"y\")];"), NULL, 0, 0, NULL},
    {"config", "a choice value holding a newline", "train = { data_order = \"rds\\n = 2\"; };\n",
     NULL, 0, 0, NULL},
    {"chips", "an empty backend name", "chips = ( { name = \"M9\"; backends = [ \"\" ]; } );\n",
     NULL, 0, 0, NULL},
    {"mil", "a carriage return in a BLOBFILE path", MIL_ONE("tensor<fp16, [1, 2]> x",
     "tensor<fp16, [1, 2]> w = const()[name = string(\"w\"), val = tensor<fp16, [1, 2]>(BLOBFILE("
     "path = string(\"@model_pa\r\x1ath/weights/w.bin\"), offset = uint64(64)))];\n"
     "        tensor<fp16, [1, 2]> y = mul(x = x, y = w)[name = string(\"y\")];"), NULL, 0, 0, NULL},
    {"chips", "peak_tflops 1e999", "chips = ( { name = \"M4\"; peak_tflops = 1e999; } );\n",
     NULL, 0, 0, NULL},
    {"tokens", "fewer tokens than seq_len + 1", NULL, (const unsigned char *)"\x01\x00", 2, 0, NULL},
    {"tokenizer.bin", "one entry, encoded with BOS", NULL, tok_one_entry, sizeof tok_one_entry, 1, NULL},
};

static struct format *format_named(const char *name);

static void run_regressions(void)
{
    for (size_t i = 0; i < sizeof regressions / sizeof *regressions; i++) {
        const struct regression *g = &regressions[i];
        struct format *f = format_named(g->format);
        const char *path = tmp_path(f->file);
        struct buf made = {0};
        if (g->make) g->make(&made);
        size_t n = g->make ? made.n : g->text ? strlen(g->text) : g->n;
        const unsigned char *bytes = g->make ? made.p : g->text ? (const unsigned char *)g->text : g->bytes;
        write_bytes(path, bytes, n);
        struct ant_err e = {{0}};
        int rc = f->attempt(path, bytes, n, &e);
        const char *fault = rc < 0 ? "accepted but unusable" : rc == 0 ? message_fault(e.msg, path) : NULL;
        if (!ok(!fault && rc == g->accept, "%s: %s: %s", g->format, g->what,
                g->accept ? "accepted" : "refused with a clear message"))
            diag("rc %d, %s: %s", rc, fault ? fault : "", e.msg);
        free(made.p);
    }
    struct ant_err e;
    chip_profiles_load("", &e);   /* the built-in profiles again */
}

/* ---- main ------------------------------------------------------------------------------- */

static struct format formats[] = {
    {"tokens", "fuzz.bin", try_tokens, NULL, NULL, {{0}}, 0, 1},
    {"text", "fuzz.txt", try_text, NULL, NULL, {{0}}, 0, 1},
    {"model.bin", "model.bin", try_model, NULL, NULL, {{0}}, 0, 1},
    {"tokenizer.bin", "tok.bin", try_tokenizer, NULL, NULL, {{0}}, 0, 1},
    {"checkpoint", "fuzz.ckpt", try_ckpt, ckpt_fixup, NULL, {{0}}, 0, 0},
    {"config", "fuzz.cfg", try_config, NULL, &config_dict, {{0}}, 0, 0},
    {"chips", "chips.cfg", try_chips, NULL, &chips_dict, {{0}}, 0, 0},
    {"mil", "fuzz.mil", try_mil, NULL, &mil_dict, {{0}}, 0, 0},
    {"blob", "w.bin", try_blob, NULL, NULL, {{0}}, 0, 1},
    {"model.bin v1/v2", "ak42.bin", try_ak42, NULL, NULL, {{0}}, 0, 1},
#ifdef ANT_TEST_HF
    {"safetensors", "hf/model.safetensors", try_safetensors, NULL, &json_dict, {{0}}, 0, 1},
    {"hf config.json", "hf/config.json", try_hf_config, NULL, &json_dict, {{0}}, 0, 1},
#endif
};
#define N_FORMATS (sizeof formats / sizeof formats[0])

static void (*const seeders[N_FORMATS])(struct format *) = {
    seed_tokens, seed_text, seed_model, seed_tokenizer, seed_ckpt, seed_config, seed_chips,
    seed_mil, seed_blob, seed_ak42,
#ifdef ANT_TEST_HF
    seed_safetensors, seed_hf_config,
#endif
};

static struct format *format_named(const char *name)
{
    for (size_t i = 0; i < N_FORMATS; i++)
        if (!strcmp(formats[i].name, name)) return &formats[i];
    return NULL;
}

int main(int argc, char **argv)
{
    uint64_t seed = 20240601;
    const char *only = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--seed")) seed = strtoull(argv[i + 1], NULL, 0);
        else if (!strcmp(argv[i], "--seconds")) deadline_s = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--cases")) budget_cases = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--only")) only = argv[i + 1];
        else return fprintf(stderr, "usage: %s [--seed S] [--seconds N | --cases N] [--only FORMAT]\n",
                            argv[0]), 2;
    }
    tracing = getenv("FUZZ_TRACE") != NULL;
    ant_log_level = -1;   /* the readers' warnings would flood the output */
    tmp_dir_make("fuzz_inputs");
    struct ant_err e;
    if (chip_profiles_load("", &e) != 0 || chip_from_name("M4", &mil_chips[0], &e) != 0 ||
        chip_from_name("M1", &mil_chips[1], &e) != 0)
        test_bail("cannot load the built-in chip profiles:", e.msg);
    rng_seed(&text_rng, seed ^ 0x5eed);
    diag("seed %llu", (unsigned long long)seed);
    run_regressions();
    for (size_t i = 0; i < N_FORMATS; i++) {
        struct format *f = &formats[i];
        if (only && strcmp(only, f->name)) continue;
        seeders[i](f);
        if (!strcmp(f->name, "chips")) {   /* later formats read the built-in profiles */
            run_format(f, seed + i, ant_now_ms() + deadline_s * 1000);
            chip_profiles_load("", &e);
        } else {
            run_format(f, seed + i, ant_now_ms() + deadline_s * 1000);
        }
        for (int s = 0; s < f->n_seed; s++) free(f->seed[s].p);
    }
    tmp_dir_remove();
    return tap_done();
}
