/* The metrics log (DESIGN.md "The life of a run"): everything observable about a run as
 * JSON lines, one object per line, appended across resumes. `plot`, `top` and a user's
 * own scripts read the same events. Every object has "event" and "time" (Unix seconds);
 * the events and their fields are listed in README.md ("The metrics log").
 *
 * A reader never sees half a line: each line is built in memory and written with one
 * write(2) on an O_APPEND descriptor (regular files append atomically per write), and a
 * line that does not fit the buffer loses whole fields, never its closing brace.
 * Writing needs no JSON library; reading (metrics_read.h) uses jansson. */
#ifndef ANT_METRICS_H
#define ANT_METRICS_H

#include <anetrain/backend.h>
#include <stddef.h>
#include <stdint.h>

#include "base/util.h"
#include "config/config.h"
#include "train/report.h"

#define JLINE_MAX 8192

/* One JSON object being built. Fields that would overflow it are dropped whole (and
 * counted), so the object stays valid. */
struct ant_jline {
    char buf[JLINE_MAX];
    size_t n;
    int dropped;   /* fields left out for lack of room */
};

/* {"event":EVENT,"time":T (Unix seconds, ms resolution). */
void jl_begin(struct ant_jline *j, const char *event);
/* A string field, escaped for JSON: " \ and control characters escaped, bytes that are
 * not valid UTF-8 replaced by U+FFFD (the JSON text must be UTF-8; a byte-level model's
 * sample is often not). */
void jl_str(struct ant_jline *j, const char *key, const char *s);
/* A number; NaN and infinities are written as null (JSON has no such numbers). */
void jl_num(struct ant_jline *j, const char *key, double v);
void jl_int(struct ant_jline *j, const char *key, long long v);
void jl_bool(struct ant_jline *j, const char *key, int v);
/* Closes the object and adds the newline; returns the line and its length. */
const char *jl_end(struct ant_jline *j, size_t *n);

/* Escape s into out[cap] as the body of a JSON string (no quotes); returns the length,
 * or (size_t)-1 when it does not fit. */
size_t json_escape(const char *s, char *out, size_t cap);

struct ant_metrics {
    int fd;             /* -1 when there is no log */
    int failed;         /* a write failed: warned once, then quiet */
    char path[ANT_PATH_MAX + 16];
};

/* Open (create, append) the log at path, emptied first when fresh (a new run); path ""
 * leaves m closed (fd -1) and succeeds. */
int metrics_open(struct ant_metrics *m, const char *path, int fresh, struct ant_err *e);
/* Close j and append it as one line. A failed write is a warning (the run matters more
 * than its log); returns -1 then. */
int metrics_put(struct ant_metrics *m, struct ant_jline *j);
void metrics_close(struct ant_metrics *m);

#endif

/* ---- the events a run writes (README.md "The metrics log") ---- */
struct ev_step {
    long step, steps;
    double loss, lr, grad_norm, tokens_per_s, ms_per_step;
    uint64_t tokens_seen;
    const char *backend;
    struct ant_backend_stats st;   /* summed over the backends used (dispatch_stats) */
};

/* "start" (or "resume" when step > 0 and resumed): the run's shape and where it reads
 * and writes; overrides lists the flags that replaced the checkpoint's options. */
void ev_start(struct ant_metrics *m, const struct ant_run_config *rc, long step, int resumed,
              const char *data, size_t params, const char *backend, int blas_threads,
              const char *overrides);
void ev_step(struct ant_metrics *m, const struct ev_step *s);
void ev_val(struct ant_metrics *m, long step, double loss, const char *data);
void ev_ckpt(struct ant_metrics *m, long step, const char *path, int best);
void ev_switch(struct ant_metrics *m, long step, const char *from, const char *to,
               const char *cause);
void ev_rollback(struct ant_metrics *m, long from, long to, double lr_scale, const char *why);
void ev_sample(struct ant_metrics *m, long step, const char *text);
/* "stop": the run stopped before its last step (a signal); "summary" closes every run. */
void ev_stop(struct ant_metrics *m, long step, const char *reason);
void ev_summary(struct ant_metrics *m, const struct ant_report *r, long step, const char *backend,
                int switches, const char *ckpt, int ok);
