/* The metrics log: every line it writes is one JSON object that an independent parser
 * (jansson) reads back to the values written: strings with quotes, backslashes, control
 * bytes and invalid UTF-8 (as U+FFFD), NaN as null, a field too long for a line left
 * out whole. Appends across opens; a fresh open empties it; two writers appending at
 * once never interleave within a line. And the reader (metrics_read.c) over a log with
 * a rollback and a resume. */
#include <config.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "test_util.h"
#include "train/metrics.h"

#ifdef HAVE_JANSSON
#include <jansson.h>

#include "train/metrics_read.h"

/* The i-th line of path parsed, or NULL. */
static json_t *line_at(const char *path, int i)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    json_t *o = NULL;
    for (int k = 0; f && getline(&line, &cap, f) > 0; k++)
        if (k == i) {
            json_error_t err;
            o = json_loads(line, JSON_REJECT_DUPLICATES, &err);
            break;
        }
    free(line);
    if (f) fclose(f);
    return o;
}

static long count_lines(const char *path, long *bad)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    long n = 0;
    ssize_t len;
    *bad = 0;
    while (f && (len = getline(&line, &cap, f)) > 0) {
        json_error_t err;
        json_t *o = json_loads(line, 0, &err);
        *bad += !json_is_object(o) || line[len - 1] != '\n';
        json_decref(o);
        n++;
    }
    free(line);
    if (f) fclose(f);
    return n;
}

static void test_escape(const char *path)
{
    struct ant_metrics m;
    struct ant_err e;
    ok(metrics_open(&m, path, 1, &e) == 0, "the log opens (%s)", e.msg);
    struct ant_jline j;
    const char *nasty = "say \"hi\"\\ tab\t nl\n bell\x07 \xc3\xa9 bad\xff\xfe end \xed\xa0\x80";
    jl_begin(&j, "step");
    jl_str(&j, "text", nasty);
    jl_num(&j, "loss", 2.5);
    jl_num(&j, "nan", NAN);
    jl_int(&j, "step", 1234567890123LL);
    jl_bool(&j, "best", 1);
    metrics_put(&m, &j);
    char *big = malloc(JLINE_MAX * 2);
    memset(big, 'x', JLINE_MAX * 2 - 1);
    big[JLINE_MAX * 2 - 1] = 0;
    jl_begin(&j, "sample");
    jl_int(&j, "step", 7);
    jl_str(&j, "text", big);
    jl_int(&j, "after", 8);
    metrics_put(&m, &j);
    free(big);
    metrics_close(&m);

    json_t *o = line_at(path, 0);
    const char *want = "say \"hi\"\\ tab\t nl\n bell\x07 \xc3\xa9 bad\xef\xbf\xbd\xef\xbf\xbd end "
                       "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd";
    ok(o && !strcmp(json_string_value(json_object_get(o, "text")), want),
       "a string with quotes, backslash, controls, é and invalid UTF-8 reads back (bad bytes "
       "as U+FFFD)");
    ok(o && json_real_value(json_object_get(o, "loss")) == 2.5 &&
       json_is_null(json_object_get(o, "nan")) &&
       json_integer_value(json_object_get(o, "step")) == 1234567890123LL &&
       json_is_true(json_object_get(o, "best")) &&
       !strcmp(json_string_value(json_object_get(o, "event")), "step") &&
       json_is_number(json_object_get(o, "time")),
       "numbers, NaN as null, a 64-bit step, a boolean, the event and its time");
    json_decref(o);
    o = line_at(path, 1);
    ok(o && json_integer_value(json_object_get(o, "step")) == 7 &&
       !json_object_get(o, "text") && json_integer_value(json_object_get(o, "after")) == 8,
       "a field too long for a line is left out whole; the line stays valid");
    json_decref(o);
}

static void test_append(const char *path)
{
    struct ant_metrics m;
    struct ant_err e;
    struct ant_jline j;
    metrics_open(&m, path, 0, &e);
    jl_begin(&j, "resume");
    metrics_put(&m, &j);
    metrics_close(&m);
    long bad, n = count_lines(path, &bad);
    ok(n == 3 && bad == 0, "a second open appends (3 lines, all JSON)");
    metrics_open(&m, path, 1, &e);
    jl_begin(&j, "start");
    metrics_put(&m, &j);
    metrics_close(&m);
    n = count_lines(path, &bad);
    ok(n == 1, "a fresh open starts the log afresh (%ld line)", n);

    /* two processes appending 2000 long lines each at once */
    metrics_open(&m, path, 1, &e);
    metrics_close(&m);
    pid_t kids[2];
    for (int k = 0; k < 2; k++) {
        if ((kids[k] = fork()) == 0) {
            struct ant_metrics mk;
            struct ant_err ek;
            struct ant_jline jk;
            char text[3000];
            memset(text, 'a' + k, sizeof text - 1);
            text[sizeof text - 1] = 0;
            metrics_open(&mk, path, 0, &ek);
            for (int i = 0; i < 2000; i++) {
                jl_begin(&jk, "step");
                jl_int(&jk, "writer", k);
                jl_str(&jk, "text", text);
                metrics_put(&mk, &jk);
            }
            _exit(0);
        }
    }
    for (int k = 0; k < 2; k++) waitpid(kids[k], NULL, 0);
    n = count_lines(path, &bad);
    ok(n == 4000 && bad == 0, "two writers at once: %ld lines, %ld not whole JSON objects", n, bad);
}

static void test_reader(const char *path)
{
    FILE *f = fopen(path, "w");
    fprintf(f, "{\"event\":\"start\",\"time\":1,\"step\":0,\"steps\":10,\"backend\":\"cpu\"}\n");
    for (int s = 1; s <= 6; s++)
        fprintf(f, "{\"event\":\"step\",\"time\":1,\"step\":%d,\"steps\":10,\"loss\":%g,"
                   "\"tokens_per_s\":100,\"backend\":\"cpu\"}\n", s, 5.0 - s * 0.5);
    fprintf(f, "{\"event\":\"val\",\"time\":1,\"step\":4,\"val_loss\":3.25}\n");
    fprintf(f, "{\"event\":\"rollback\",\"time\":1,\"step\":6,\"to_step\":4}\n");
    fprintf(f, "not json\n");
    fprintf(f, "{\"event\":\"switch\",\"time\":1,\"step\":5,\"from\":\"ane-dynamic\",\"to\":\"cpu\",\"cause\":\"x\"}\n");
    fprintf(f, "{\"event\":\"step\",\"time\":1,\"step\":5,\"steps\":10,\"loss\":2.75,"
               "\"tokens_per_s\":100,\"backend\":\"cpu\",\"device_share\":0.5,\"compiles\":8}\n");
    fprintf(f, "{\"event\":\"step\",\"time\":1,\"step\":6,\"loss\":1");   /* being written */
    fclose(f);
    struct ant_runlog l;
    struct ant_err e;
    runlog_init(&l);
    int rc = runlog_update(&l, path, &e);
    ok(rc == 0 && l.loss.n == 5 && l.loss.x[4] == 5 && l.loss.y[4] == 2.75 && l.val.n == 1,
       "the rollback to step 4 drops steps 5-6; the redone step 5 follows (%zu points)", l.loss.n);
    ok(l.bad_lines == 1 && l.lines == 12 && l.switches == 1 && l.rollbacks == 1 &&
       !strcmp(l.last_switch, "ane-dynamic -> cpu: x") && l.compiles == 8 &&
       l.device_share == 0.5, "a bad line is counted and skipped; switch, compiles, device share");
    f = fopen(path, "a");
    fprintf(f, ",\"steps\":10,\"tokens_per_s\":1}\n");
    fclose(f);
    runlog_update(&l, path, &e);
    ok(l.loss.n == 6 && l.step == 6 && l.loss.y[5] == 1, "the line being written is read once whole");
    runlog_free(&l);
}

int main(void)
{
    tmp_dir_make("test_metrics");
    const char *path = tmp_path("m.jsonl");
    test_escape(path);
    test_append(path);
    test_reader(tmp_path("r.jsonl"));
    tmp_dir_remove();
    return tap_done();
}

#else

int main(void)
{
    printf("1..0 # SKIP jansson not built in (install libjansson-dev): the log is checked "
           "by parsing it\n");
    return 0;
}

#endif
