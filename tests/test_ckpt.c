/* Checkpoints: round trip, PATH.prev, and refusal of every damaged file (truncated,
 * any byte flipped, wrong magic, future version, absurd sizes, bad meta), with a
 * message naming the file and the section; a failed save leaves the old file intact. */
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/ckpt.h"
#include "base/xxh64.h"
#include "base/rng.h"
#include "base/state.h"
#include "tap.h"
#include "test_util.h"

static const struct ant_model_config tiny = {
    .dim = 8, .hidden_dim = 16, .n_layers = 2, .n_heads = 2, .n_kv_heads = 1,
    .vocab_size = 11, .seq_len = 4, .shared_classifier = 0, .rope_theta = 10000, .norm_eps = 1e-5f,
};

static char path[300];   /* the checkpoint most tests save and load */

/* ---- helpers -------------------------------------------------------------------- */

static uint64_t rd64(const unsigned char *p)
{
    uint64_t x = 0;
    for (int i = 7; i >= 0; i--) x = x << 8 | p[i];
    return x;
}
static void wr64(unsigned char *p, uint64_t x)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(x >> (8 * i));
}
static void wr32(unsigned char *p, uint32_t x)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(x >> (8 * i));
}

/* Section table entry i of a file image: offset, size, hash fields. */
static unsigned char *entry(unsigned char *b, int i) { return b + 16 + 32 * i; }
static void rehash_header(unsigned char *b)
{
    wr64(b + CKPT_HEADER_BYTES - 8, ant_xxh64(b, CKPT_HEADER_BYTES - 8, 0));
}
/* After editing the meta bytes of an image: fix the meta hash, then the header hash. */
static void rehash_meta(unsigned char *b)
{
    uint64_t off = rd64(entry(b, 0) + 8), size = rd64(entry(b, 0) + 16);
    wr64(entry(b, 0) + 24, ant_xxh64(b + off, size, 0));
    rehash_header(b);
}

static struct ant_train_opts some_opts(void)
{
    struct ant_train_opts o;
    memset(&o, 0, sizeof o);
    o.batch_size = 3, o.grad_accum = 5, o.steps = 7777, o.lr = 3e-4, o.min_lr = 3e-5;
    o.warmup_steps = 123;
    strcpy(o.schedule, "cosine");
    o.beta1 = 0.9, o.beta2 = 0.95, o.eps = 1e-8, o.weight_decay = 0.1, o.grad_clip = 1.0;
    o.seed = 0xDEADBEEFCAFEF00DULL;
    strcpy(o.data_order, "sequential");
    o.init_std = 0.02;
    return o;
}

static void make_state(struct ant_train_state *s, uint64_t seed)
{
    if (state_alloc(s, &tiny) < 0) abort();
    struct ant_rng r;
    rng_seed(&r, seed);
    for (size_t i = 0; i < s->layout.total; i++) {
        s->weights[i] = (float)rng_normal(&r);
        s->m[i] = (float)rng_normal(&r) * 1e-3f;
        s->v[i] = (float)rng_uniform(&r) * 1e-6f;
        s->grads[i] = 99;   /* not saved: must come back zero */
    }
    s->weights[0] = -0.0f;   /* bit patterns must survive exactly */
    s->weights[1] = 1e-40f;  /* subnormal */
    s->step = 4242;
    s->tokens_seen = 0x123456789ABCULL;
    s->cursor.position = 987654321;
    rng_seed(&s->cursor.rng, seed ^ 77);
    for (int i = 0; i < 5; i++) rng_next(&s->cursor.rng);
}

static int has(const char *msg, const char *what) { return strstr(msg, what) != NULL; }

/* ckpt_load of p must fail, name p (and `want` if given) and hand back an empty state. */
static int refused(const char *p, const char *want, struct ant_err *e)
{
    struct ant_train_state s;
    memset(&s, 0xAB, sizeof s);
    if (ckpt_load(p, &s, NULL, e) == 0) {
        state_free(&s);
        snprintf(e->msg, sizeof e->msg, "(loaded)");
        return 0;
    }
    return has(e->msg, p) && (!want || has(e->msg, want)) && s.weights == NULL && s.m == NULL &&
           s.v == NULL && s.grads == NULL && s.step == 0;
}

/* ---- tests ---------------------------------------------------------------------- */

static void test_hash(void)
{
    static const struct {
        const char *s;
        uint64_t h;
    } vec[] = {
        {"", 0xEF46DB3751D8E999ULL},
        {"a", 0xD24EC4F1A98C6E5BULL},
        {"abc", 0x44BC2CF5AD770999ULL},
        {"Nobody inspects the spammish repetition", 0xFBCEA83C8A378BF1ULL},
        {"The quick brown fox jumps over the lazy dog", 0x0B242D361FDA71BCULL},
    };
    int good = 1;
    for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++)
        if (ant_xxh64(vec[i].s, strlen(vec[i].s), 0) != vec[i].h) {
            good = 0;
            diag("xxh64(\"%s\") = %016llx", vec[i].s, (unsigned long long)ant_xxh64(vec[i].s, strlen(vec[i].s), 0));
        }
    ok(good, "XXH64 matches the published test vectors");

    unsigned char buf[1000];
    struct ant_rng r;
    rng_seed(&r, 1);
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (unsigned char)rng_next(&r);
    uint64_t whole = ant_xxh64(buf, sizeof buf, 0);
    int same = 1;
    for (int trial = 0; trial < 50; trial++) {
        struct ant_xxh64 h;
        ant_xxh64_init(&h, 0);
        for (size_t at = 0; at < sizeof buf;) {
            size_t k = rng_below(&r, 70);
            if (k > sizeof buf - at) k = sizeof buf - at;
            ant_xxh64_update(&h, buf + at, k);
            at += k;
        }
        same &= ant_xxh64_digest(&h) == whole;
    }
    ok(same, "XXH64 streamed in random pieces equals the one-shot hash");
}

static void test_round_trip(void)
{
    struct ant_train_state s, t;
    struct ant_train_opts o = some_opts();
    struct ant_err e;
    make_state(&s, 1);
    int rc = ckpt_save(path, &s, &o, "tinystories/train.bin", 0xF00DULL, &e);
    if (!ok(rc == 0, "save %s", path)) diag("%s", e.msg);

    struct ant_ckpt_info peek, info;
    rc = ckpt_peek(path, &peek, &e);
    if (!ok(rc == 0, "peek")) diag("%s", e.msg);
    rc = ckpt_load(path, &t, &info, &e);
    if (!ok(rc == 0, "load")) {
        diag("%s", e.msg);
        state_free(&s);
        return;
    }
    size_t bytes = s.layout.total * sizeof(float);
    ok(memcmp(s.weights, t.weights, bytes) == 0, "weights: every byte restored");
    ok(memcmp(s.m, t.m, bytes) == 0, "AdamW m: every byte restored");
    ok(memcmp(s.v, t.v, bytes) == 0, "AdamW v: every byte restored");
    size_t nonzero = 0;
    for (size_t i = 0; i < t.layout.total; i++) nonzero += t.grads[i] != 0;
    ok(nonzero == 0, "gradients come back zeroed");
    ok(t.step == 4242 && t.tokens_seen == s.tokens_seen, "step and tokens_seen restored");
    ok(memcmp(&t.cursor, &s.cursor, sizeof s.cursor) == 0, "data cursor (position + RNG state) restored");
    ok(rng_next(&t.cursor.rng) == rng_next(&s.cursor.rng), "the restored RNG continues the same stream");
    ok(memcmp(&t.model, &tiny, sizeof tiny) == 0 && memcmp(&info.model, &tiny, sizeof tiny) == 0,
       "model config: every field restored");
    ok(memcmp(&info.train, &o, sizeof o) == 0, "train options: every field restored");
    ok(strcmp(info.data_name, "tinystories/train.bin") == 0 && info.data_fingerprint == 0xF00DULL,
       "data name and fingerprint restored");
    ok(memcmp(&peek, &info, sizeof info) == 0, "peek says what load says");
    state_free(&s);
    state_free(&t);
}

static void test_prev(void)
{
    struct ant_train_state s;
    struct ant_train_opts o = some_opts();
    struct ant_err e;
    char prev[sizeof path + 8];
    snprintf(prev, sizeof prev, "%s.prev", path);
    make_state(&s, 2);
    size_t n1, n2, n3;
    ckpt_save(path, &s, &o, "a", 1, &e);
    unsigned char *first = slurp(path, &n1);
    s.step++;
    s.weights[3] += 1;
    int rc = ckpt_save(path, &s, &o, "a", 1, &e);
    unsigned char *kept = slurp(prev, &n2), *now = slurp(path, &n3);
    ok(rc == 0 && kept && n2 == n1 && memcmp(kept, first, n1) == 0,
       "second save keeps the first file byte for byte as PATH.prev");
    struct ant_ckpt_info info;
    ok(ckpt_peek(path, &info, &e) == 0 && info.step == s.step, "PATH holds the second save");
    free(first), free(kept), free(now);
    state_free(&s);
}

static void test_truncation(const unsigned char *img, size_t n)
{
    const char *p = tmp_path("trunc.ckpt");
    size_t cut[64];
    int nc = 0;
    size_t fixed[] = {0, 1, 7, 8, 11, 12, 15, 16, CKPT_HEADER_BYTES - 8, CKPT_HEADER_BYTES - 1};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) cut[nc++] = fixed[i];
    for (int i = 0; i < CKPT_N_SECTIONS; i++) {   /* every section boundary, +-1 */
        uint64_t off = rd64(entry((unsigned char *)img, i) + 8), end = off + rd64(entry((unsigned char *)img, i) + 16);
        size_t around[] = {off - 1, off, off + 1, end - 1, end, end + 1};
        for (int j = 0; j < 6; j++)
            if (around[j] < n) cut[nc++] = around[j];
    }
    struct ant_rng r;
    rng_seed(&r, 3);
    while (nc < 64) cut[nc++] = rng_below(&r, n);
    int bad = 0, named = 0, after_header = 0;
    struct ant_err e;
    for (int i = 0; i < nc; i++) {
        write_bytes(p, img, cut[i]);
        struct ant_ckpt_info info;
        int good = refused(p, "truncated", &e) && ckpt_peek(p, &info, &e) < 0;
        if (!good && bad++ < 3) diag("cut at %zu: %s", cut[i], e.msg);
        if (cut[i] >= CKPT_HEADER_BYTES) {
            after_header++;
            named += has(e.msg, "section ");
        }
    }
    ok(bad == 0, "truncated at %d offsets (0, header, each section boundary +-1, random): "
                 "all refused as truncated, naming the file", nc);
    ok(named == after_header, "cuts after the header name the section cut short (%d of %d)", named,
       after_header);
    unlink(p);
}

/* Every single-bit flip anywhere in the file is refused; one flip per region is checked
 * for the region's name in the message. */
static void test_flips(const unsigned char *img, size_t n)
{
    const char *p = tmp_path("flip.ckpt");
    write_bytes(p, img, n);
    int fd = open(p, O_WRONLY);
    int bad = 0;
    struct ant_err e;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = img[i] ^ (unsigned char)(1u << (i % 8));
        if (pwrite(fd, &c, 1, (off_t)i) != 1) abort();
        if (!refused(p, NULL, &e) && bad++ < 3) diag("flip at %zu: %s", i, e.msg);
        if (pwrite(fd, &img[i], 1, (off_t)i) != 1) abort();
    }
    ok(bad == 0, "each of the %zu bytes flipped: refused, naming the file", n);

    static const char *names[] = {"meta", "weights", "adamw.m", "adamw.v"};
    for (int s = 0; s < CKPT_N_SECTIONS; s++) {
        uint64_t off = rd64(entry((unsigned char *)img, s) + 8), size = rd64(entry((unsigned char *)img, s) + 16);
        size_t at = (size_t)(off + size / 2);
        unsigned char c = img[at] ^ 0x10;
        if (pwrite(fd, &c, 1, (off_t)at) != 1) abort();
        int good = refused(p, names[s], &e) && has(e.msg, "checksum");
        if (!ok(good, "a flipped byte in section %s: checksum failure naming the section", names[s]))
            diag("%s", e.msg);
        if (pwrite(fd, &img[at], 1, (off_t)at) != 1) abort();
    }
    size_t in_table = 16 + 32 + 17;   /* a byte of the weights section's size */
    unsigned char c = img[in_table] ^ 0x01;
    if (pwrite(fd, &c, 1, (off_t)in_table) != 1) abort();
    if (!ok(refused(p, "header", &e), "a flipped byte in the section table: header refused"))
        diag("%s", e.msg);
    close(fd);
    unlink(p);
}

static void test_bad_headers(const unsigned char *img, size_t n)
{
    const char *p = tmp_path("bad.ckpt");
    unsigned char *b = malloc(n);
    struct ant_err e;

    memcpy(b, img, n);
    memcpy(b, "GGUF\3\0\0\0", 8);
    write_bytes(p, b, n);
    if (!ok(refused(p, "magic", &e), "wrong magic: refused")) diag("%s", e.msg);
    write_bytes(p, "hello, world\n", 13);
    if (!ok(refused(p, "magic", &e), "a text file: refused as bad magic")) diag("%s", e.msg);

    memcpy(b, img, n);
    wr32(b + 8, CKPT_VERSION + 1);
    rehash_header(b);
    write_bytes(p, b, n);
    if (!ok(refused(p, "version", &e), "future version: refused")) diag("%s", e.msg);

    /* Absurd sizes with a valid header hash: caught by the size checks, before any
     * allocation (ASan would abort on a 1 TB request). */
    static const struct {
        int sec;
        uint64_t size;
        const char *name;
    } absurd[] = {
        {1, 1ULL << 40, "weights"}, {0, 1ULL << 62, "meta"}, {3, UINT64_MAX - 3, "adamw.v"},
        {3, 4, "after the last section (adamw.v)"}, {2, 4, "section adamw.v starts at"},
    };
    for (size_t i = 0; i < sizeof absurd / sizeof absurd[0]; i++) {
        memcpy(b, img, n);
        wr64(entry(b, absurd[i].sec) + 16, absurd[i].size);
        rehash_header(b);
        write_bytes(p, b, n);
        if (!ok(refused(p, absurd[i].name, &e), "section %s size %llu in the header: refused",
                absurd[i].name, (unsigned long long)absurd[i].size))
            diag("%s", e.msg);
    }

    /* Meta that hashes fine but says nonsense. Meta starts with model.dim as i64. */
    size_t meta = CKPT_HEADER_BYTES;
    memcpy(b, img, n);
    wr64(b + meta, 1ULL << 30);
    rehash_meta(b);
    write_bytes(p, b, n);
    if (!ok(refused(p, "model.dim", &e), "meta model.dim 2^30: refused naming the field"))
        diag("%s", e.msg);
    memcpy(b, img, n);
    wr64(b + meta, 16);
    rehash_meta(b);
    write_bytes(p, b, n);
    if (!ok(refused(p, "weights", &e), "meta model.dim 16 against 8-wide sections: refused"))
        diag("%s", e.msg);
    /* train.schedule's length: after 8 model ints (i64), 2 floats (f32) and 6 train
     * numbers (8 bytes each). */
    memcpy(b, img, n);
    wr32(b + meta + 8 * 8 + 2 * 4 + 6 * 8, 0xFFFFFFF0u);
    rehash_meta(b);
    write_bytes(p, b, n);
    if (!ok(refused(p, "train.schedule", &e), "meta string length 2^32-16: refused naming the field"))
        diag("%s", e.msg);
    free(b);
    unlink(p);
}

static void test_check_model(void)
{
    static const char *names[] = {"model.dim", "model.hidden_dim", "model.n_layers",
                                  "model.n_heads", "model.n_kv_heads", "model.vocab_size",
                                  "model.seq_len", "model.shared_classifier",
                                  "model.rope_theta", "model.norm_eps"};
    struct ant_err e;
    ok(ckpt_check_model("x.ckpt", &tiny, &tiny, &e) == 0, "check_model: equal shapes pass");
    for (int i = 0; i < 10; i++) {
        struct ant_model_config run = tiny;
        switch (i) {
        case 0: run.dim = 128; break;
        case 1: run.hidden_dim = 32; break;
        case 2: run.n_layers = 6; break;
        case 3: run.n_heads = 4; break;
        case 4: run.n_kv_heads = 2; break;
        case 5: run.vocab_size = 32000; break;
        case 6: run.seq_len = 256; break;
        case 7: run.shared_classifier = 1; break;
        case 8: run.rope_theta = 500000; break;
        case 9: run.norm_eps = 1e-6f; break;
        }
        int rc = ckpt_check_model("x.ckpt", &tiny, &run, &e);
        char want[96];
        snprintf(want, sizeof want, "x.ckpt has %s ", names[i]);
        if (!ok(rc < 0 && has(e.msg, want) && has(e.msg, "config has"), "check_model names %s",
                names[i]))
            diag("%s", e.msg);
    }
    struct ant_model_config run = tiny;
    run.dim = 128;
    ckpt_check_model("x.ckpt", &tiny, &run, &e);
    ok(strcmp(e.msg, "x.ckpt has model.dim 8, config has 128") == 0, "message: \"%s\"", e.msg);
}

static int tmp_files_in_dir(void)
{
    int n = 0;
    DIR *d = opendir(tmp_dir);
    struct dirent *de;
    while ((de = readdir(d))) n += strstr(de->d_name, ".tmp") != NULL;
    closedir(d);
    return n;
}

static void test_failed_save(void)
{
    struct ant_train_state s;
    struct ant_train_opts o = some_opts();
    struct ant_err e;
    make_state(&s, 4);
    ckpt_save(path, &s, &o, "a", 1, &e);
    size_t n0, n1;
    unsigned char *before = slurp(path, &n0);
    s.step = 1;

    /* A disk that fills up mid-write: a file size limit below the checkpoint's size. */
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 8192;
    signal(SIGXFSZ, SIG_IGN);
    setrlimit(RLIMIT_FSIZE, &lim);
    int rc = ckpt_save(path, &s, &o, "a", 1, &e);
    setrlimit(RLIMIT_FSIZE, &old);
    unsigned char *after = slurp(path, &n1);
    if (!ok(rc < 0 && has(e.msg, path), "save on a full disk fails naming the file")) diag("%s", e.msg);
    ok(after && n1 == n0 && memcmp(before, after, n0) == 0 && tmp_files_in_dir() == 0,
       "... and leaves the old checkpoint intact with no temp file behind");
    free(after);

    char missing[sizeof tmp_dir + 32];
    snprintf(missing, sizeof missing, "%s/no/such/dir/x.ckpt", tmp_dir);
    rc = ckpt_save(missing, &s, &o, "a", 1, &e);
    if (!ok(rc < 0 && has(e.msg, missing), "save into a missing folder fails naming the file"))
        diag("%s", e.msg);

    if (geteuid() == 0) {
        ok(1, "# SKIP unwritable folder: root writes anywhere");
    } else {
        chmod(tmp_dir, 0500);
        rc = ckpt_save(path, &s, &o, "a", 1, &e);
        chmod(tmp_dir, 0700);
        after = slurp(path, &n1);
        ok(rc < 0 && after && n1 == n0 && memcmp(before, after, n0) == 0,
           "save into an unwritable folder fails and leaves the old checkpoint intact");
        free(after);
    }
    free(before);
    state_free(&s);
}

/* p with its last `cut` bytes of meta removed and its version set to `version`, written
 * to dst: what an older anetrain wrote for the same state. */
static void downgrade(const char *p, const char *dst, size_t cut, uint32_t version)
{
    size_t n;
    unsigned char *b = slurp(p, &n);
    uint64_t meta_off = rd64(entry(b, 0) + 8), meta_size = rd64(entry(b, 0) + 16);
    size_t at = meta_off + meta_size - cut;
    memmove(b + at, b + at + cut, n - at - cut);
    wr32(b + 8, version);
    wr64(entry(b, 0) + 16, meta_size - cut);
    for (int i = 1; i < CKPT_N_SECTIONS; i++) wr64(entry(b, i) + 8, rd64(entry(b, i) + 8) - cut);
    rehash_meta(b);
    write_bytes(dst, b, n - cut);
    free(b);
}

/* Bytes of version 3's origin when all its strings are empty: 5 strings of 4 bytes,
 * eval_tail, blas_threads, ckpt_every and log_every (8 each). dp.ranks before it: 8.
 * Version 2's run record: 6 fields of 8 bytes. */
#define ORIGIN_EMPTY_BYTES 52
#define DP_BYTES 8
#define RUN_BYTES 48
/* Version 4's backend name and state line, both empty (2 strings of 4 bytes), and
 * run.val_pending (8). */
#define BACKEND_EMPTY_BYTES 16

/* Version 3's origin and version 2's run record round-trip; version 1 and 2 files (the
 * same bytes without what later versions appended to meta: version 2 with dp.ranks as
 * the data-parallel merge wrote it, and without, as issue 10 did) still load, with
 * defaults, as one rank. */
static void test_versions(void)
{
    struct ant_train_state s, back;
    struct ant_train_opts o = some_opts();
    struct ant_ckpt_info info;
    struct ant_ckpt_run run = {0.25, 2, 3.5, 3.25, 3.125, 40, 41};
    struct ant_ckpt_origin origin = {"data/train.txt", "text", "data/val.txt", 0.05,
                                     "tok.bin", "run.log.jsonl", 3, 250, 5, "ane-static",
                                     "loss_scale=128 clean=3 backoffs=1 growths=0"};
    struct ant_err e = {{0}};
    make_state(&s, 5);
    const char *p3 = tmp_path("v3.ckpt"), *p2 = tmp_path("v2.ckpt"), *p1 = tmp_path("v1.ckpt");
    ok(ckpt_save_full(p3, &s, &o, "a", 1, &run, &origin, &e) == 0, "save with an origin (%s)",
       e.msg);
    ok(ckpt_peek(p3, &info, &e) == 0 && !memcmp(&info.origin, &origin, sizeof origin),
       "the origin round-trips (paths, eval_tail, BLAS threads, the backend's state)");
    ok(ckpt_save_run(p3, &s, &o, "a", 1, &run, &e) == 0, "save with a run record (%s)", e.msg);
    ok(ckpt_load(p3, &back, &info, &e) == 0 && !memcmp(&info.run, &run, sizeof run),
       "the run record round-trips");
    state_free(&back);

    const char *p3old = tmp_path("v3old.ckpt");
    downgrade(p3, p3old, BACKEND_EMPTY_BYTES, 3);
    int rc = ckpt_load(p3old, &back, &info, &e);
    struct ant_ckpt_run v3run = run;
    v3run.val_pending = 0;
    ok(rc == 0 && back.step == s.step && !memcmp(&info.run, &v3run, sizeof run) &&
       !info.origin.backend[0] && !info.origin.backend_state[0],
       "a version 3 checkpoint loads, with no backend state nor pending validation (%s)",
       rc ? e.msg : "");
    if (rc == 0) state_free(&back);

    const char *p2dp = tmp_path("v2dp.ckpt");
    downgrade(p3, p2dp, BACKEND_EMPTY_BYTES + ORIGIN_EMPTY_BYTES, 2);
    rc = ckpt_load(p2dp, &back, &info, &e);
    ok(rc == 0 && back.step == s.step && !memcmp(&info.run, &v3run, sizeof run) &&
       info.dp_ranks == 1 && !info.origin.data_path[0] && info.origin.blas_threads == 0,
       "a version 2 checkpoint with dp.ranks loads, with its run record, one rank and an "
       "empty origin (%s)", rc ? e.msg : "");
    if (rc == 0) state_free(&back);
    downgrade(p3, p2, BACKEND_EMPTY_BYTES + ORIGIN_EMPTY_BYTES + DP_BYTES, 2);
    rc = ckpt_load(p2, &back, &info, &e);
    ok(rc == 0 && back.step == s.step && !memcmp(&info.run, &v3run, sizeof run) &&
       info.dp_ranks == 1 && !info.origin.data_path[0],
       "a version 2 checkpoint without dp.ranks loads, with its run record, as one rank (%s)",
       rc ? e.msg : "");
    if (rc == 0) state_free(&back);
    downgrade(p3, p1, BACKEND_EMPTY_BYTES + ORIGIN_EMPTY_BYTES + DP_BYTES + RUN_BYTES, 1);
    size_t n;
    rc = ckpt_load(p1, &back, &info, &e);
    ok(rc == 0, "a version 1 checkpoint loads (%s)", rc ? e.msg : "");
    ok(rc == 0 && back.step == s.step && !memcmp(back.weights, s.weights, s.layout.total * 4),
       "  with its step and weights");
    ok(rc == 0 && info.run.lr_scale == 1 && info.run.rollbacks == 0 && isnan(info.run.best_loss) &&
       info.run.best_step == -1 && isnan(info.run.smooth_loss), "  and the default run record");
    ok(rc == 0 && info.dp_ranks == 1 && back.dp_ranks == 1, "  as one data-parallel rank");
    if (rc == 0) state_free(&back);

    /* never a non-finite state on disk: the save fails and PATH stays as it was */
    s.m[7] = INFINITY;
    const char *sec = NULL;
    ok(ckpt_first_nonfinite(&s, &sec) == 7 && sec && !strcmp(sec, "adamw.m"),
       "an infinite moment is found (adamw.m element 7)");
    n = 0;
    unsigned char *before = slurp(p3, &n), *after;
    size_t n2;
    rc = ckpt_save_run(p3, &s, &o, "a", 1, &run, &e);
    after = slurp(p3, &n2);
    ok(rc < 0 && has(e.msg, "adamw.m element 7 is not a finite number") && n == n2 &&
       !memcmp(before, after, n), "a non-finite state is not saved; the file is untouched (%s)",
       e.msg);
    free(before);
    free(after);
    s.m[7] = 0;
    s.v[3] = -1e-9f;
    ok(ckpt_save_run(p3, &s, &o, "a", 1, &run, &e) < 0 && has(e.msg, "adamw.v element 3"),
       "nor one with a negative second moment");
    state_free(&s);
}

/* dp.ranks (train/dp.h) comes after version 2's run record and before version 3's
 * origin: one rank writes 1, three ranks 3, in files of the same size; 0 is refused, and
 * so is a version 3 meta that ends before it. Version 2 files as the data-parallel merge
 * wrote them (dp.ranks last) keep their ranks. */
static void test_ranks(void)
{
    struct ant_train_state s, t;
    struct ant_train_opts o = some_opts();
    struct ant_ckpt_info info;
    struct ant_err e;
    const char *p1 = tmp_path("one.ckpt"), *p3 = tmp_path("three.ckpt");
    make_state(&s, 5);
    size_t n1 = 0, n3 = 0;
    int rc = ckpt_save(p1, &s, &o, "a", 1, &e);
    s.dp_ranks = 3;
    rc |= ckpt_save(p3, &s, &o, "a", 1, &e);
    unsigned char *one = slurp(p1, &n1), *three = slurp(p3, &n3);
    uint64_t end = rd64(entry(three, 0) + 8) + rd64(entry(three, 0) + 16);
    uint64_t at = end - BACKEND_EMPTY_BYTES - ORIGIN_EMPTY_BYTES - DP_BYTES;
    ok(rc == 0 && one[8] == CKPT_VERSION && three[8] == CKPT_VERSION && n3 == n1 &&
       rd64(one + at) == 1 && rd64(three + at) == 3,
       "1 rank and 3 ranks: dp.ranks 1 and 3 before the origin in meta");
    rc = ckpt_peek(p1, &info, &e);
    ok(rc == 0 && info.dp_ranks == 1, "a one-rank checkpoint reads as 1 rank");
    rc = ckpt_load(p3, &t, &info, &e);
    ok(rc == 0 && info.dp_ranks == 3 && t.dp_ranks == 3 && t.step == s.step &&
       !memcmp(t.weights, s.weights, s.layout.total * sizeof(float)),
       "dp.ranks 3 and the state restored");
    if (rc == 0) state_free(&t);
    downgrade(p3, tmp_path("three2.ckpt"), BACKEND_EMPTY_BYTES + ORIGIN_EMPTY_BYTES, 2);
    rc = ckpt_load(tmp_path("three2.ckpt"), &t, &info, &e);
    ok(rc == 0 && info.dp_ranks == 3 && t.dp_ranks == 3,
       "a version 2 checkpoint of 3 ranks (dp.ranks last) reads as 3 ranks (%s)",
       rc ? e.msg : "");
    if (rc == 0) state_free(&t);
    downgrade(p3, tmp_path("short.ckpt"), BACKEND_EMPTY_BYTES + ORIGIN_EMPTY_BYTES + DP_BYTES, 3);
    if (!ok(refused(tmp_path("short.ckpt"), "ends before field dp.ranks", &e),
            "a version 3 meta without dp.ranks: refused, naming it"))
        diag("%s", e.msg);
    wr64(three + at, 0);
    rehash_meta(three);
    write_bytes(tmp_path("zero.ckpt"), three, n3);
    if (!ok(refused(tmp_path("zero.ckpt"), "dp.ranks 0", &e), "dp.ranks 0: refused"))
        diag("%s", e.msg);
    free(one);
    free(three);
    state_free(&s);
}

int main(void)
{
    tmp_dir_make("test_ckpt");
    snprintf(path, sizeof path, "%s/run.ckpt", tmp_dir);

    test_hash();
    test_round_trip();
    size_t n;
    unsigned char *img = slurp(path, &n);
    test_truncation(img, n);
    test_flips(img, n);
    test_bad_headers(img, n);
    free(img);
    test_prev();
    test_check_model();
    test_failed_save();
    test_versions();
    test_ranks();
    tmp_dir_remove();
    return tap_done();
}
