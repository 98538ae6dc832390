/* The metrics log writer (metrics.h). */
#include "train/metrics.h"

#include "base/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if the bytes there are not one
 * (overlong forms, surrogates and code points past U+10FFFF are invalid, RFC 3629). */
static int utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    int n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (n <= 1) return n;
    unsigned cp = c & (0x7F >> n);
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    static const unsigned min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

size_t json_escape(const char *s, char *out, size_t cap)
{
    size_t k = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        char tmp[8];
        const char *piece = tmp;
        size_t len;
        int n = utf8_len(p);
        if (n == 0) {                                  /* not UTF-8: U+FFFD */
            piece = "\xEF\xBF\xBD", len = 3, n = 1;
        } else if (*p == '"' || *p == '\\') {
            tmp[0] = '\\', tmp[1] = (char)*p, len = 2;
        } else if (*p == '\n') {
            piece = "\\n", len = 2;
        } else if (*p == '\t') {
            piece = "\\t", len = 2;
        } else if (*p < 0x20 || *p == 0x7F) {
            len = (size_t)snprintf(tmp, sizeof tmp, "\\u%04x", *p);
        } else {
            piece = (const char *)p, len = (size_t)n;
        }
        if (k + len >= cap) return (size_t)-1;
        memcpy(out + k, piece, len);
        k += len;
        p += n;
    }
    if (k >= cap) return (size_t)-1;
    out[k] = 0;
    return k;
}

/* Append one field ("key":value, with the comma); dropped whole if it does not fit,
 * keeping room for the closing "}\n". */
static void field(struct ant_jline *j, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void field(struct ant_jline *j, const char *key, const char *fmt, ...)
{
    size_t room = sizeof j->buf - 3 - j->n;   /* "}\n" and the NUL */
    int k = snprintf(j->buf + j->n, room, ",\"%s\":", key);
    if (k < 0 || (size_t)k >= room) goto drop;
    va_list ap;
    va_start(ap, fmt);
    int v = vsnprintf(j->buf + j->n + k, room - (size_t)k, fmt, ap);
    va_end(ap);
    if (v < 0 || (size_t)v >= room - (size_t)k) goto drop;
    j->n += (size_t)k + (size_t)v;
    return;
drop:
    j->buf[j->n] = 0;
    j->dropped++;
}

void jl_begin(struct ant_jline *j, const char *event)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    char esc[128];
    if (json_escape(event, esc, sizeof esc) == (size_t)-1) strcpy(esc, "?");
    j->dropped = 0;
    j->n = (size_t)snprintf(j->buf, sizeof j->buf, "{\"event\":\"%s\"", esc);
    field(j, "time", "%lld.%03d", (long long)tv.tv_sec, (int)(tv.tv_usec / 1000));
}

void jl_str(struct ant_jline *j, const char *key, const char *s)
{
    char esc[JLINE_MAX];
    if (json_escape(s ? s : "", esc, sizeof esc) == (size_t)-1) {
        j->dropped++;
        return;
    }
    field(j, key, "\"%s\"", esc);
}

void jl_num(struct ant_jline *j, const char *key, double v)
{
    if (isfinite(v)) field(j, key, "%.9g", v);
    else field(j, key, "null");
}

void jl_int(struct ant_jline *j, const char *key, long long v) { field(j, key, "%lld", v); }

void jl_bool(struct ant_jline *j, const char *key, int v) { field(j, key, v ? "true" : "false"); }

const char *jl_end(struct ant_jline *j, size_t *n)
{
    memcpy(j->buf + j->n, "}\n", 3);
    j->n += 2;
    *n = j->n;
    return j->buf;
}

int metrics_open(struct ant_metrics *m, const char *path, int fresh, struct ant_err *e)
{
    memset(m, 0, sizeof *m);
    m->fd = -1;
    if (!path || !path[0]) return 0;
    if (file_check_output(path, "the metrics log", e) < 0) return -1;
    snprintf(m->path, sizeof m->path, "%s", path);
    m->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (fresh ? O_TRUNC : 0), 0644);
    if (m->fd < 0) return ant_errf(e, "%s: cannot open the metrics log: %s", path, strerror(errno));
    struct stat st;
    if (fstat(m->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(m->fd);
        m->fd = -1;
        return ant_errf(e, "%s: the metrics log must be a regular file", path);
    }
    return 0;
}

int metrics_put(struct ant_metrics *m, struct ant_jline *j)
{
    size_t n;
    const char *line = jl_end(j, &n);
    if (m->fd < 0 || m->failed) return m->fd < 0 ? 0 : -1;
    ssize_t w;
    do w = write(m->fd, line, n);
    while (w < 0 && errno == EINTR);
    if (w == (ssize_t)n) return 0;
    m->failed = 1;
    ant_log(ANT_LOG_WARN, NULL, "%s: metrics log not written from here on: %s", m->path,
            w < 0 ? strerror(errno) : "short write");
    return -1;
}

void metrics_close(struct ant_metrics *m)
{
    if (m->fd >= 0) close(m->fd);
    m->fd = -1;
}

/* ---- events ---- */

void ev_start(struct ant_metrics *m, const struct ant_run_config *rc, long step, int resumed,
              const char *data, size_t params, const char *backend, int blas_threads,
              const char *overrides)
{
    struct ant_jline j;
    jl_begin(&j, resumed ? "resume" : "start");
    jl_int(&j, "step", step);
    jl_int(&j, "steps", rc->train.steps);
    jl_int(&j, "params", (long long)params);
    jl_str(&j, "backend", backend);
    jl_str(&j, "data", data);
    jl_str(&j, "ckpt", rc->ckpt.path);
    jl_int(&j, "batch_size", rc->train.batch_size);
    jl_int(&j, "grad_accum", rc->train.grad_accum);
    jl_int(&j, "seq_len", rc->model.seq_len);
    jl_num(&j, "lr", rc->train.lr);
    jl_int(&j, "blas_threads", blas_threads);
    jl_int(&j, "pid", (long long)getpid());
    if (overrides && overrides[0]) jl_str(&j, "overrides", overrides);
    metrics_put(m, &j);
}

void ev_step(struct ant_metrics *m, const struct ev_step *s)
{
    struct ant_jline j;
    jl_begin(&j, "step");
    jl_int(&j, "step", s->step);
    jl_int(&j, "steps", s->steps);
    jl_num(&j, "loss", s->loss);
    jl_num(&j, "lr", s->lr);
    jl_num(&j, "grad_norm", s->grad_norm);
    jl_num(&j, "tokens_per_s", s->tokens_per_s);
    jl_num(&j, "ms_per_step", s->ms_per_step);
    jl_int(&j, "tokens", (long long)s->tokens_seen);
    jl_str(&j, "backend", s->backend);
    if (s->st.loss_scale > 0) jl_num(&j, "loss_scale", s->st.loss_scale);
    if (s->st.kernels > 0 || s->st.device_flops > 0) {
        jl_num(&j, "device_share", s->st.flops > 0 ? s->st.device_flops / s->st.flops : 0);
        jl_int(&j, "compiles", s->st.compiles);
        jl_int(&j, "evals", s->st.evals);
    }
    metrics_put(m, &j);
}

void ev_val(struct ant_metrics *m, long step, double loss, const char *data)
{
    struct ant_jline j;
    jl_begin(&j, "val");
    jl_int(&j, "step", step);
    jl_num(&j, "val_loss", loss);
    jl_str(&j, "data", data);
    metrics_put(m, &j);
}

void ev_ckpt(struct ant_metrics *m, long step, const char *path, int best)
{
    struct ant_jline j;
    jl_begin(&j, "ckpt");
    jl_int(&j, "step", step);
    jl_str(&j, "path", path);
    jl_bool(&j, "best", best);
    metrics_put(m, &j);
}

void ev_switch(struct ant_metrics *m, long step, const char *from, const char *to,
               const char *cause)
{
    struct ant_jline j;
    jl_begin(&j, "switch");
    jl_int(&j, "step", step);
    jl_str(&j, "from", from);
    jl_str(&j, "to", to);
    jl_str(&j, "cause", cause);
    metrics_put(m, &j);
}

void ev_rollback(struct ant_metrics *m, long from, long to, double lr_scale, const char *why)
{
    struct ant_jline j;
    jl_begin(&j, "rollback");
    jl_int(&j, "step", from);
    jl_int(&j, "to_step", to);
    jl_num(&j, "lr_scale", lr_scale);
    jl_str(&j, "why", why);
    metrics_put(m, &j);
}

void ev_sample(struct ant_metrics *m, long step, const char *text)
{
    struct ant_jline j;
    jl_begin(&j, "sample");
    jl_int(&j, "step", step);
    jl_str(&j, "text", text);
    metrics_put(m, &j);
}

void ev_stop(struct ant_metrics *m, long step, const char *reason)
{
    struct ant_jline j;
    jl_begin(&j, "stop");
    jl_int(&j, "step", step);
    jl_str(&j, "reason", reason);
    metrics_put(m, &j);
}

void ev_summary(struct ant_metrics *m, const struct ant_report *r, long step, const char *backend,
                int switches, const char *ckpt, int ok)
{
    double secs = r->wall_ms / 1e3;
    struct ant_jline j;
    jl_begin(&j, "summary");
    jl_int(&j, "step", step);
    jl_bool(&j, "ok", ok);
    jl_int(&j, "steps_run", r->steps);
    jl_int(&j, "skipped", r->skipped);
    jl_num(&j, "first_loss", r->steps ? r->first_loss : NAN);
    jl_num(&j, "last_loss", r->steps ? r->last_loss : NAN);
    jl_num(&j, "val_loss", r->val_loss);
    jl_num(&j, "ms_per_step", r->steps ? r->wall_ms / r->steps : NAN);
    jl_num(&j, "tokens_per_s", secs > 0 ? r->tokens / secs : NAN);
    jl_num(&j, "gflops", secs > 0 ? r->flops / secs / 1e9 : NAN);
    jl_num(&j, "wall_s", secs);
    jl_str(&j, "backend", backend);
    jl_int(&j, "switches", switches);
    jl_str(&j, "ckpt", ckpt);
    metrics_put(m, &j);
}
