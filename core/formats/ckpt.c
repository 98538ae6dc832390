/* Checkpoints: save, peek, load and check (format in ckpt.h). Every size in a header is
 * checked against the file's real size before anything is allocated or read, and big
 * sections stream through the hash in chunks straight to or from the state's buffers. */
#include "formats/ckpt.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "base/le.h"
#include "base/xxh64.h"

/* ---- the meta section ----------------------------------------------------------- */

/* Each field of ant_ckpt_info, in file order. Integers of any C width are stored as i64
 * (and range-checked on reading), so the file is the same from ILP32 and LP64 hosts. */
enum ftype { F_INT, F_U64, F_F32, F_F64, F_STR };
struct field {
    const char *name;
    enum ftype type;
    size_t off, size;
};
#define FIELD(name, type, m) \
    {name, type, offsetof(struct ant_ckpt_info, m), sizeof(((struct ant_ckpt_info *)0)->m)}
static const struct field fields[] = {
    FIELD("model.dim", F_INT, model.dim),
    FIELD("model.hidden_dim", F_INT, model.hidden_dim),
    FIELD("model.n_layers", F_INT, model.n_layers),
    FIELD("model.n_heads", F_INT, model.n_heads),
    FIELD("model.n_kv_heads", F_INT, model.n_kv_heads),
    FIELD("model.vocab_size", F_INT, model.vocab_size),
    FIELD("model.seq_len", F_INT, model.seq_len),
    FIELD("model.shared_classifier", F_INT, model.shared_classifier),
    FIELD("model.rope_theta", F_F32, model.rope_theta),
    FIELD("model.norm_eps", F_F32, model.norm_eps),
    FIELD("train.batch_size", F_INT, train.batch_size),
    FIELD("train.grad_accum", F_INT, train.grad_accum),
    FIELD("train.steps", F_INT, train.steps),
    FIELD("train.lr", F_F64, train.lr),
    FIELD("train.min_lr", F_F64, train.min_lr),
    FIELD("train.warmup_steps", F_INT, train.warmup_steps),
    FIELD("train.schedule", F_STR, train.schedule),
    FIELD("train.beta1", F_F64, train.beta1),
    FIELD("train.beta2", F_F64, train.beta2),
    FIELD("train.eps", F_F64, train.eps),
    FIELD("train.weight_decay", F_F64, train.weight_decay),
    FIELD("train.grad_clip", F_F64, train.grad_clip),
    FIELD("train.seed", F_U64, train.seed),
    FIELD("train.data_order", F_STR, train.data_order),
    FIELD("train.init_std", F_F64, train.init_std),
    FIELD("step", F_INT, step),
    FIELD("tokens_seen", F_U64, tokens_seen),
    FIELD("cursor.position", F_U64, cursor.position),
    FIELD("cursor.rng.s0", F_U64, cursor.rng.s[0]),
    FIELD("cursor.rng.s1", F_U64, cursor.rng.s[1]),
    FIELD("cursor.rng.s2", F_U64, cursor.rng.s[2]),
    FIELD("cursor.rng.s3", F_U64, cursor.rng.s[3]),
    FIELD("data_name", F_STR, data_name),
    FIELD("data_fingerprint", F_U64, data_fingerprint),
    /* version 2: the run's own record (ckpt.h) */
    FIELD("run.lr_scale", F_F64, run.lr_scale),
    FIELD("run.rollbacks", F_INT, run.rollbacks),
    FIELD("run.smooth_loss", F_F64, run.smooth_loss),
    FIELD("run.low_loss", F_F64, run.low_loss),
    FIELD("run.best_loss", F_F64, run.best_loss),
    FIELD("run.best_step", F_INT, run.best_step),
    /* also version 2 as the data-parallel merge wrote it, and version 3: the ranks that
     * share the run's cursor (train/dp.h) */
    FIELD("dp.ranks", F_INT, dp_ranks),
    /* version 3: where the run came from (ckpt.h) */
    FIELD("origin.data_path", F_STR, origin.data_path),
    FIELD("origin.data_format", F_STR, origin.data_format),
    FIELD("origin.eval_path", F_STR, origin.eval_path),
    FIELD("origin.eval_tail", F_F64, origin.eval_tail),
    FIELD("origin.tokenizer", F_STR, origin.tokenizer),
    FIELD("origin.log_path", F_STR, origin.log_path),
    FIELD("origin.blas_threads", F_INT, origin.blas_threads),
    FIELD("origin.ckpt_every", F_INT, origin.ckpt_every),
    FIELD("origin.log_every", F_INT, origin.log_every),
    /* version 4: the backend's own state, and a validation still to do (ckpt.h) */
    FIELD("origin.backend", F_STR, origin.backend),
    FIELD("origin.backend_state", F_STR, origin.backend_state),
    FIELD("run.val_pending", F_INT, run.val_pending),
};
#define N_FIELDS (sizeof fields / sizeof fields[0])
#define N_FIELDS_V1 34   /* a version 1 file ends after data_fingerprint */
#define N_FIELDS_V2 40   /* a version 2 file, after run.best_step (issue 10's) ... */
#define N_FIELDS_V2_DP 41   /* ... or after dp.ranks (the data-parallel merge's) */
#define N_FIELDS_V3 50   /* a version 3 file ends after origin.log_every */
#define N_MODEL_FIELDS 10

/* A tripwire: a field added to these structs must be added to the table above (and
 * CKPT_VERSION bumped), or it silently would not survive a resume. */
#if defined(__LP64__)
_Static_assert(sizeof(struct ant_model_config) == 40, "update the meta fields in ckpt.c");
_Static_assert(sizeof(struct ant_train_opts) == 224, "update the meta fields in ckpt.c");
#endif

/* Large enough for every field at its longest (strings are bounded by their arrays). */
#define META_MAX 8192

static int64_t get_int(const void *p, size_t size)
{
    if (size == 4) {
        int32_t x;
        memcpy(&x, p, 4);
        return x;
    }
    int64_t x;
    memcpy(&x, p, 8);
    return x;
}

static size_t meta_encode(const struct ant_ckpt_info *info, unsigned char *out)
{
    const unsigned char *base = (const unsigned char *)info;
    unsigned char *p = out;
    for (size_t i = 0; i < N_FIELDS; i++) {
        const struct field *f = &fields[i];
        const unsigned char *src = base + f->off;
        uint32_t u32;
        uint64_t u64;
        switch (f->type) {
        case F_INT: le_wr64(p, (uint64_t)get_int(src, f->size)), p += 8; break;
        case F_U64: memcpy(&u64, src, 8), le_wr64(p, u64), p += 8; break;
        case F_F32: memcpy(&u32, src, 4), le_wr32(p, u32), p += 4; break;
        case F_F64: memcpy(&u64, src, 8), le_wr64(p, u64), p += 8; break;
        case F_STR:
            u32 = (uint32_t)strnlen((const char *)src, f->size - 1);
            le_wr32(p, u32), memcpy(p + 4, src, u32), p += 4 + u32;
            break;
        }
    }
    return (size_t)(p - out);
}

static size_t type_bytes(enum ftype t) { return t == F_F32 || t == F_STR ? 4 : 8; }

void ckpt_run_defaults(struct ant_ckpt_run *run)
{
    memset(run, 0, sizeof *run);
    run->lr_scale = 1;
    run->smooth_loss = run->low_loss = run->best_loss = NAN;
    run->best_step = -1;
}

/* Fills info from n bytes of meta of a file of the given version; -1 naming the field
 * that is cut short or invalid. */
static int meta_decode(const char *path, uint32_t version, const unsigned char *p, size_t n,
                       struct ant_ckpt_info *info, struct ant_err *e)
{
    memset(info, 0, sizeof *info);
    ckpt_run_defaults(&info->run);
    info->dp_ranks = 1;
    unsigned char *base = (unsigned char *)info;
    const unsigned char *end = p + n;
    size_t n_fields = version >= 4   ? N_FIELDS
                      : version == 3 ? N_FIELDS_V3
                      : version == 2 ? N_FIELDS_V2_DP
                                     : N_FIELDS_V1;
    for (size_t i = 0; i < n_fields; i++) {
        const struct field *f = &fields[i];
        if (version == 2 && i == N_FIELDS_V2 && p == end) break;   /* without dp.ranks */
        unsigned char *dst = base + f->off;
        if ((size_t)(end - p) < type_bytes(f->type))
            return ant_errf(e, "%s: section meta: ends before field %s", path, f->name);
        if (f->type == F_INT) {
            int64_t x = (int64_t)le_rd64(p);
            if (f->size == 4 && (x < INT32_MIN || x > INT32_MAX))
                return ant_errf(e, "%s: section meta: %s %" PRId64 " is out of range", path,
                                f->name, x);
            int32_t x32 = (int32_t)x;
            memcpy(dst, f->size == 4 ? (void *)&x32 : (void *)&x, f->size);
            p += 8;
        } else if (f->type == F_STR) {
            uint32_t len = le_rd32(p);
            p += 4;
            if (len >= f->size || len > (size_t)(end - p))
                return ant_errf(e, "%s: section meta: %s has an invalid length %" PRIu32, path,
                                f->name, len);
            memcpy(dst, p, len);
            p += len;
        } else {
            uint64_t x = f->type == F_F32 ? le_rd32(p) : le_rd64(p);
            uint32_t x32 = (uint32_t)x;
            memcpy(dst, f->type == F_F32 ? (void *)&x32 : (void *)&x, f->size);
            p += type_bytes(f->type);
        }
    }
    if (p != end)
        return ant_errf(e, "%s: section meta: %zu unexpected bytes after the last field", path,
                        (size_t)(end - p));
    if (!(info->run.lr_scale > 0 && info->run.lr_scale <= 1) || info->run.rollbacks < 0)
        return ant_errf(e, "%s: section meta: run.lr_scale %g or run.rollbacks %ld is out of "
                           "range", path, info->run.lr_scale, info->run.rollbacks);
    if (info->dp_ranks < 1)
        return ant_errf(e, "%s: section meta: dp.ranks %d is not positive", path, info->dp_ranks);
    return 0;
}

/* Bounds that keep every layout size far from overflow; NULL if c is sane, else the
 * name of the first bad field. */
static const char *model_bad_field(const struct ant_model_config *c)
{
    if (c->dim < 1 || c->dim > (1 << 20)) return "model.dim";
    if (c->hidden_dim < 1 || c->hidden_dim > (1 << 22)) return "model.hidden_dim";
    if (c->n_layers < 1 || c->n_layers > (1 << 12)) return "model.n_layers";
    if (c->n_heads < 1 || c->dim % c->n_heads != 0) return "model.n_heads";
    if ((c->dim / c->n_heads) % 2) return "model.n_heads";   /* RoPE rotates pairs */
    if (c->n_kv_heads < 1 || c->n_heads % c->n_kv_heads != 0) return "model.n_kv_heads";
    if (c->vocab_size < 1 || c->vocab_size > (1 << 24)) return "model.vocab_size";
    if (c->seq_len < 1 || c->seq_len > (1 << 24)) return "model.seq_len";
    if (c->shared_classifier != 0 && c->shared_classifier != 1) return "model.shared_classifier";
    if (!(c->rope_theta > 0) || !isfinite(c->rope_theta)) return "model.rope_theta";
    if (!(c->norm_eps >= 0) || !isfinite(c->norm_eps)) return "model.norm_eps";
    return NULL;
}

/* ---- sections --------------------------------------------------------------------- */

#define TAG(a, b, c, d) ((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)
enum { SEC_META, SEC_WEIGHTS, SEC_M, SEC_V };
static const struct {
    uint32_t tag;
    const char *name;
} sec_kind[CKPT_N_SECTIONS] = {
    {TAG('M', 'E', 'T', 'A'), "meta"},
    {TAG('W', 'G', 'H', 'T'), "weights"},
    {TAG('M', 'O', 'M', '1'), "adamw.m"},
    {TAG('M', 'O', 'M', '2'), "adamw.v"},
};
static const char magic[8] = {'A', 'N', 'E', 'T', 'C', 'K', 'P', 'T'};

struct section {
    uint64_t off, size, hash;
};

/* 1 MiB: few syscalls, and each chunk is still in cache when it is hashed. */
#define CHUNK ((size_t)1 << 20)

static int host_is_le(void)
{
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 1;
}

static void swap32(void *p, size_t n_words)
{
    unsigned char *b = p;
    for (size_t i = 0; i < n_words; i++, b += 4) {
        unsigned char t0 = b[0], t1 = b[1];
        b[0] = b[3], b[1] = b[2], b[2] = t1, b[3] = t0;
    }
}

static void header_encode(unsigned char *h, const struct section sec[CKPT_N_SECTIONS])
{
    memcpy(h, magic, 8);
    le_wr32(h + 8, CKPT_VERSION);
    le_wr32(h + 12, CKPT_N_SECTIONS);
    for (int i = 0; i < CKPT_N_SECTIONS; i++) {
        unsigned char *t = h + 16 + 32 * i;
        le_wr32(t, sec_kind[i].tag);
        le_wr32(t + 4, 0);
        le_wr64(t + 8, sec[i].off);
        le_wr64(t + 16, sec[i].size);
        le_wr64(t + 24, sec[i].hash);
    }
    le_wr64(h + CKPT_HEADER_BYTES - 8, ant_xxh64(h, CKPT_HEADER_BYTES - 8, 0));
}

/* ---- saving ----------------------------------------------------------------------- */

/* Writes n floats little-endian, hashing each chunk while it is in cache. */
static int write_floats(struct ant_atomic_file *a, const float *x, size_t n, uint64_t *hash,
                        struct ant_err *e)
{
    int le = host_is_le();
    unsigned char *bounce = le ? NULL : malloc(CHUNK);
    if (!le && !bounce) return ant_errf(e, "out of memory");
    struct ant_xxh64 h;
    ant_xxh64_init(&h, 0);
    const unsigned char *p = (const unsigned char *)x;
    size_t left = n * sizeof(float);
    int rc = 0;
    while (left && rc == 0) {
        size_t k = left < CHUNK ? left : CHUNK;
        const unsigned char *out = p;
        if (!le) memcpy(bounce, p, k), swap32(bounce, k / 4), out = bounce;
        ant_xxh64_update(&h, out, k);
        rc = atomic_write(a, out, k, e);
        p += k, left -= k;
    }
    free(bounce);
    *hash = ant_xxh64_digest(&h);
    return rc;
}

/* Everything after atomic_open: sections, then the header with their hashes. */
static int write_body(struct ant_atomic_file *a, const struct ant_ckpt_info *info,
                      const struct ant_train_state *s, struct ant_err *e)
{
    unsigned char meta[META_MAX], hdr[CKPT_HEADER_BYTES] = {0};
    struct section sec[CKPT_N_SECTIONS];
    sec[SEC_META].off = CKPT_HEADER_BYTES;
    sec[SEC_META].size = meta_encode(info, meta);
    sec[SEC_META].hash = ant_xxh64(meta, sec[SEC_META].size, 0);
    if (atomic_write(a, hdr, sizeof hdr, e) < 0 || atomic_write(a, meta, sec[SEC_META].size, e) < 0)
        return -1;
    const float *arrays[] = {NULL, s->weights, s->m, s->v};
    for (int i = SEC_WEIGHTS; i <= SEC_V; i++) {
        sec[i].off = sec[i - 1].off + sec[i - 1].size;
        sec[i].size = (uint64_t)s->layout.total * sizeof(float);
        if (write_floats(a, arrays[i], s->layout.total, &sec[i].hash, e) < 0) return -1;
    }
    header_encode(hdr, sec);
    if (fseek(a->f, 0, SEEK_SET) != 0)
        return ant_errf(e, "%s: seek failed: %s", a->tmp, strerror(errno));
    return atomic_write(a, hdr, sizeof hdr, e);
}

long ckpt_first_nonfinite(const struct ant_train_state *s, const char **section)
{
    const float *arrays[] = {s->weights, s->m, s->v};
    for (int i = 0; i < 3; i++) {
        float acc = 0;   /* inf or NaN anywhere makes the sum NaN: one pass, no branch */
        for (size_t k = 0; k < s->layout.total; k++) acc += arrays[i][k] * 0.0f;
        if (acc == 0 && i < 2) continue;
        for (size_t k = 0; k < s->layout.total; k++)
            if (!isfinite(arrays[i][k]) || (i == 2 && arrays[i][k] < 0)) {
                if (section) *section = sec_kind[SEC_WEIGHTS + i].name;
                return (long)k;
            }
    }
    return -1;
}

int ckpt_save(const char *path, const struct ant_train_state *s, const struct ant_train_opts *train,
              const char *data_name, uint64_t data_fingerprint, struct ant_err *e)
{
    return ckpt_save_run(path, s, train, data_name, data_fingerprint, NULL, e);
}

int ckpt_save_run(const char *path, const struct ant_train_state *s,
                  const struct ant_train_opts *train, const char *data_name,
                  uint64_t data_fingerprint, const struct ant_ckpt_run *run, struct ant_err *e)
{
    return ckpt_save_full(path, s, train, data_name, data_fingerprint, run, NULL, e);
}

int ckpt_save_full(const char *path, const struct ant_train_state *s,
                   const struct ant_train_opts *train, const char *data_name,
                   uint64_t data_fingerprint, const struct ant_ckpt_run *run,
                   const struct ant_ckpt_origin *origin, struct ant_err *e)
{
    const char *sec;
    long bad = ckpt_first_nonfinite(s, &sec);
    if (bad >= 0)
        return ant_errf(e, "%s: not saved: %s element %ld is not a finite number", path, sec,
                        bad);
    struct ant_ckpt_info info;
    memset(&info, 0, sizeof info);
    if (run) info.run = *run;
    else ckpt_run_defaults(&info.run);
    info.model = s->model;
    info.train = *train;
    info.step = s->step;
    info.tokens_seen = s->tokens_seen;
    info.cursor = s->cursor;
    snprintf(info.data_name, sizeof info.data_name, "%s", data_name ? data_name : "");
    info.data_fingerprint = data_fingerprint;
    if (origin) info.origin = *origin;
    info.dp_ranks = s->dp_ranks > 1 ? s->dp_ranks : 1;

    struct ant_atomic_file a;
    struct ant_err inner;
    if (atomic_open(&a, path, &inner) < 0)
        return ant_errf(e, "%s: cannot save checkpoint: %s", path, inner.msg);
    if (write_body(&a, &info, s, &inner) < 0) {
        atomic_abort(&a);
        return ant_errf(e, "%s: cannot save checkpoint: %s", path, inner.msg);
    }
    if (atomic_commit(&a, 1, &inner) < 0)
        return ant_errf(e, "%s: cannot save checkpoint: %s", path, inner.msg);
    return 0;
}

/* ---- reading ---------------------------------------------------------------------- */

struct reader {
    FILE *f;
    const char *path;
    uint32_t version;
    uint64_t file_size;
    struct section sec[CKPT_N_SECTIONS];
};

/* Where one section lies, checked against the previous one and the file's real size
 * (so no size field can make us allocate or read past the end). */
static int check_section(const struct reader *r, int i, const unsigned char *t, uint64_t start,
                         struct ant_err *e)
{
    const struct section *s = &r->sec[i];
    const char *name = sec_kind[i].name;
    if (le_rd32(t) != sec_kind[i].tag || le_rd32(t + 4) != 0)
        return ant_errf(e, "%s: header: section %d is not the %s section", r->path, i + 1, name);
    if (s->off != start)
        return ant_errf(e, "%s: header: section %s starts at byte %" PRIu64 ", expected %" PRIu64,
                        r->path, name, s->off, start);
    if (i == SEC_META ? s->size > META_MAX : s->size % sizeof(float) != 0)
        return ant_errf(e, "%s: header: section %s has an invalid size %" PRIu64, r->path, name,
                        s->size);
    if (s->off > r->file_size || s->size > r->file_size - s->off)
        return ant_errf(e, "%s: truncated: section %s needs bytes %" PRIu64 "..%" PRIu64
                           " but the file has %" PRIu64 " bytes", r->path, name, s->off,
                        s->off + s->size, r->file_size);
    return 0;
}

/* Magic, version and section count first so a wrong file gets the right reason; then
 * the header's own hash; then the place of each section. */
static int read_header(struct reader *r, struct ant_err *e)
{
    unsigned char h[CKPT_HEADER_BYTES];
    size_t got = fread(h, 1, sizeof h, r->f);
    if (memcmp(h, magic, got < 8 ? got : 8) != 0)
        return ant_errf(e, "%s: not an anetrain checkpoint (bad magic)", r->path);
    uint32_t version = got >= 12 ? le_rd32(h + 8) : CKPT_VERSION;
    if (version > CKPT_VERSION)
        return ant_errf(e, "%s: checkpoint format version %" PRIu32 " is newer than this "
                           "anetrain reads (%d); use a newer anetrain", r->path, version, CKPT_VERSION);
    if (version == 0) return ant_errf(e, "%s: header: invalid format version 0", r->path);
    r->version = version;
    if (got >= 16 && le_rd32(h + 12) != CKPT_N_SECTIONS)
        return ant_errf(e, "%s: header: %" PRIu32 " sections, format version %d has %d", r->path,
                        le_rd32(h + 12), CKPT_VERSION, CKPT_N_SECTIONS);
    if (got < sizeof h)
        return ant_errf(e, "%s: truncated inside the header (%zu of %d bytes)", r->path, got,
                        CKPT_HEADER_BYTES);
    if (le_rd64(h + sizeof h - 8) != ant_xxh64(h, sizeof h - 8, 0))
        return ant_errf(e, "%s: header: checksum mismatch (the file is corrupted)", r->path);
    uint64_t end = sizeof h;
    for (int i = 0; i < CKPT_N_SECTIONS; i++) {
        const unsigned char *t = h + 16 + 32 * i;
        r->sec[i] = (struct section){le_rd64(t + 8), le_rd64(t + 16), le_rd64(t + 24)};
        if (check_section(r, i, t, end, e) < 0) return -1;
        end = r->sec[i].off + r->sec[i].size;
    }
    if (end != r->file_size)
        return ant_errf(e, "%s: %" PRIu64 " unexpected bytes after the last section (%s)",
                        r->path, r->file_size - end, sec_kind[CKPT_N_SECTIONS - 1].name);
    return 0;
}

/* The meta section (the file position is at its start), checked for sense, and the
 * array sections' sizes against the model it describes. */
static int read_meta(struct reader *r, struct ant_ckpt_info *info, struct ant_err *e)
{
    unsigned char buf[META_MAX];
    const struct section *s = &r->sec[SEC_META];
    if (fread(buf, 1, s->size, r->f) != s->size)
        return ant_errf(e, "%s: section meta: read failed", r->path);
    if (ant_xxh64(buf, s->size, 0) != s->hash)
        return ant_errf(e, "%s: section meta: checksum mismatch (the file is corrupted)", r->path);
    if (meta_decode(r->path, r->version, buf, s->size, info, e) < 0) return -1;
    const char *bad = model_bad_field(&info->model);
    if (bad) return ant_errf(e, "%s: section meta: %s is out of range", r->path, bad);
    if (info->step < 0) return ant_errf(e, "%s: section meta: step %ld is negative", r->path, info->step);
    struct ant_layout lay;
    ant_layout_init(&lay, &info->model);
    uint64_t need = (uint64_t)lay.total * sizeof(float);
    for (int i = SEC_WEIGHTS; i <= SEC_V; i++)
        if (r->sec[i].size != need)
            return ant_errf(e, "%s: section %s has %" PRIu64 " bytes, the model in section meta "
                               "needs %" PRIu64, r->path, sec_kind[i].name, r->sec[i].size, need);
    return 0;
}

/* Opens path and checks everything but the big sections' contents. */
static int open_checked(struct reader *r, const char *path, struct ant_ckpt_info *info,
                        struct ant_err *e)
{
    memset(r, 0, sizeof *r);
    r->path = path;
    r->f = file_open_read(path, &r->file_size, e);
    if (!r->f) return -1;
    int rc = 0;
    if (read_header(r, e) < 0 || read_meta(r, info, e) < 0) rc = -1;
    if (rc < 0) fclose(r->f), r->f = NULL;
    return rc;
}

/* Streams a float section into dst chunk by chunk, hashing each chunk as it lands. */
static int read_floats(struct reader *r, int i, float *dst, struct ant_err *e)
{
    const struct section *s = &r->sec[i];
    struct ant_xxh64 h;
    ant_xxh64_init(&h, 0);
    unsigned char *p = (unsigned char *)dst;
    for (uint64_t left = s->size; left;) {
        size_t k = left < CHUNK ? (size_t)left : CHUNK;
        if (fread(p, 1, k, r->f) != k)
            return ant_errf(e, "%s: section %s: %s at byte %" PRIu64, r->path, sec_kind[i].name,
                            ferror(r->f) ? strerror(errno) : "unexpected end of file",
                            s->off + s->size - left);
        ant_xxh64_update(&h, p, k);
        p += k, left -= k;
    }
    if (ant_xxh64_digest(&h) != s->hash)
        return ant_errf(e, "%s: section %s: checksum mismatch (the file is corrupted)", r->path,
                        sec_kind[i].name);
    if (!host_is_le()) swap32(dst, s->size / sizeof(float));
    /* The checksums prove the bytes are the ones written, not that they make a state:
     * a NaN or infinite value (or a negative second moment) is no state to train from. */
    for (size_t k = 0; k < s->size / sizeof(float); k++)
        if (!isfinite(dst[k]) || (i == SEC_V && dst[k] < 0))
            return ant_errf(e, "%s: section %s: element %zu is %g", r->path, sec_kind[i].name, k,
                            (double)dst[k]);
    return 0;
}

int ckpt_peek(const char *path, struct ant_ckpt_info *info, struct ant_err *e)
{
    struct ant_ckpt_info local;
    if (!info) info = &local;
    struct reader r;
    if (open_checked(&r, path, info, e) < 0) return -1;
    fclose(r.f);
    return 0;
}

int ckpt_load(const char *path, struct ant_train_state *s, struct ant_ckpt_info *info,
              struct ant_err *e)
{
    struct ant_ckpt_info local;
    if (!info) info = &local;
    memset(s, 0, sizeof *s);
    struct reader r;
    if (open_checked(&r, path, info, e) < 0) return -1;
    int rc = 0;
    if (state_alloc(s, &info->model) < 0)
        rc = ant_errf(e, "%s: out of memory for the model state", path);
    float *dst[CKPT_N_SECTIONS] = {NULL, s->weights, s->m, s->v};
    for (int i = SEC_WEIGHTS; rc == 0 && i <= SEC_V; i++) rc = read_floats(&r, i, dst[i], e);
    fclose(r.f);
    if (rc < 0) {
        state_free(s);
        memset(s, 0, sizeof *s);
        return -1;
    }
    s->step = info->step;
    s->tokens_seen = info->tokens_seen;
    s->cursor = info->cursor;
    s->dp_ranks = info->dp_ranks;
    return 0;
}

int ckpt_check_model(const char *path, const struct ant_model_config *ckpt,
                     const struct ant_model_config *run, struct ant_err *e)
{
    for (size_t i = 0; i < N_MODEL_FIELDS; i++) {
        const struct field *f = &fields[i];
        size_t off = f->off - offsetof(struct ant_ckpt_info, model);
        const unsigned char *a = (const unsigned char *)ckpt + off, *b = (const unsigned char *)run + off;
        if (memcmp(a, b, f->size) == 0) continue;
        if (f->type == F_INT)
            return ant_errf(e, "%s has %s %" PRId64 ", config has %" PRId64, path, f->name,
                            get_int(a, f->size), get_int(b, f->size));
        float x, y;
        memcpy(&x, a, 4), memcpy(&y, b, 4);
        return ant_errf(e, "%s has %s %.9g, config has %.9g", path, f->name, x, y);
    }
    return 0;
}
