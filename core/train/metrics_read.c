/* Reading the metrics log (metrics_read.h). */
#include "train/metrics_read.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"

void runlog_init(struct ant_runlog *l)
{
    memset(l, 0, sizeof *l);
    l->val_loss = l->loss_now = NAN;
}

void runlog_free(struct ant_runlog *l)
{
    struct ant_series *all[] = {&l->loss, &l->val, &l->tps};
    for (size_t i = 0; i < 3; i++) free(all[i]->x), free(all[i]->y);
    runlog_init(l);
}

static void push(struct ant_series *s, double x, double y)
{
    if (!isfinite(x) || !isfinite(y)) return;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 256;
        double *nx = realloc(s->x, cap * sizeof *nx), *ny = nx ? realloc(s->y, cap * sizeof *ny) : NULL;
        if (nx) s->x = nx;
        if (!nx || !ny) return;   /* out of memory: the point is left out */
        s->y = ny;
        s->cap = cap;
    }
    s->x[s->n] = x;
    s->y[s->n++] = y;
}

/* Work after `step` was lost (a rollback, or a resume from an older checkpoint): its
 * points go, so the curves show the run that the checkpoint holds. */
static void cut_after(struct ant_series *s, double step)
{
    while (s->n && s->x[s->n - 1] > step) s->n--;
}

static double num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static void str(json_t *o, const char *key, char *dst, size_t cap)
{
    json_t *v = json_object_get(o, key);
    if (json_is_string(v)) snprintf(dst, cap, "%s", json_string_value(v));
}

static void take(struct ant_runlog *l, json_t *o)
{
    const char *ev = json_string_value(json_object_get(o, "event"));
    double step = num(o, "step");
    if (!ev) return;
    if (!strcmp(ev, "step")) {
        push(&l->loss, step, num(o, "loss"));
        push(&l->tps, step, num(o, "tokens_per_s"));
        l->step = (long)step;
        l->steps = (long)num(o, "steps");
        l->finished = 0;
        l->loss_now = num(o, "loss");
        l->lr = num(o, "lr");
        l->grad_norm = num(o, "grad_norm");
        l->tokens_per_s = num(o, "tokens_per_s");
        l->ms_per_step = num(o, "ms_per_step");
        l->loss_scale = num(o, "loss_scale");
        l->device_share = num(o, "device_share");
        l->compiles = isfinite(num(o, "compiles")) ? (long)num(o, "compiles") : 0;
        l->evals = isfinite(num(o, "evals")) ? (long)num(o, "evals") : 0;
        str(o, "backend", l->backend, sizeof l->backend);
    } else if (!strcmp(ev, "val")) {
        push(&l->val, step, num(o, "val_loss"));
        l->val_loss = num(o, "val_loss");
    } else if (!strcmp(ev, "ckpt")) {
        str(o, "path", l->ckpt, sizeof l->ckpt);
    } else if (!strcmp(ev, "switch")) {
        char from[64] = "", to[64] = "", cause[160] = "";
        str(o, "from", from, sizeof from);
        str(o, "to", to, sizeof to);
        str(o, "cause", cause, sizeof cause);
        snprintf(l->last_switch, sizeof l->last_switch, "%s -> %s: %s", from, to[0] ? to : "(none)", cause);
        l->switches++;
    } else if (!strcmp(ev, "rollback")) {
        double to = num(o, "to_step");
        cut_after(&l->loss, to), cut_after(&l->val, to), cut_after(&l->tps, to);
        l->rollbacks++;
    } else if (!strcmp(ev, "resume") || !strcmp(ev, "start")) {
        if (!strcmp(ev, "resume")) l->restarts++;
        cut_after(&l->loss, step), cut_after(&l->val, step), cut_after(&l->tps, step);
        l->steps = (long)num(o, "steps");
        str(o, "backend", l->backend, sizeof l->backend);
        l->finished = 0;
    } else if (!strcmp(ev, "sample")) {
        str(o, "text", l->sample, sizeof l->sample);
    } else if (!strcmp(ev, "summary")) {
        l->finished = 1;
    }
}

int runlog_update(struct ant_runlog *l, const char *path, struct ant_err *e)
{
    uint64_t size;
    FILE *f = file_open_read(path, &size, e);
    if (!f) return -1;
    if ((uint64_t)l->offset > size) {   /* the log was started afresh */
        runlog_free(l);
    }
    if (fseeko(f, l->offset, SEEK_SET) != 0) {
        fclose(f);
        return ant_errf(e, "%s: cannot seek: %s", path, strerror(errno));
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] != '\n') break;   /* a line still being written: next time */
        l->offset += n;
        l->lines++;
        json_error_t err;
        json_t *o = json_loadb(line, (size_t)n, JSON_REJECT_DUPLICATES, &err);
        if (json_is_object(o)) take(l, o);
        else l->bad_lines++;
        json_decref(o);
    }
    free(line);
    fclose(f);
    return 0;
}
