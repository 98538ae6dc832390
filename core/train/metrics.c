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

int metrics_open(struct ant_metrics *m, const char *path, struct ant_err *e)
{
    memset(m, 0, sizeof *m);
    m->fd = -1;
    if (!path || !path[0]) return 0;
    if (file_check_output(path, "the metrics log", e) < 0) return -1;
    snprintf(m->path, sizeof m->path, "%s", path);
    m->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
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
