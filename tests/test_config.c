/* Config files, presets and validation (core/config/config.c).
 *
 * References: the config files in configs/ read back as text, llama2.c's model shapes
 * and parameter counts written out by hand, and for every error the file, line and key
 * that the test itself wrote. Files live in a mkdtemp folder that is removed at the end. */
#include "config/config.h"
#include "tap.h"
#include "test_util.h"

#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

static char *source_file(const char *rel)
{
    const char *path = srcdir_path(rel);
    char *s = (char *)slurp(path, NULL);
    if (!s) diag("cannot read %s (is ANETRAIN_SRCDIR set?)", path);
    return s;
}

/* The first field where a and b differ, or NULL. Written field by field, independent
 * of config.c's key table. */
static const char *differs(const struct ant_run_config *a, const struct ant_run_config *b)
{
#define SAME(f) if (memcmp(&a->f, &b->f, sizeof a->f)) return #f
#define SAME_STR(f) if (strcmp(a->f, b->f)) return #f
#define SAME_LIST(f, n) SAME(n); for (int i = 0; i < a->n; i++) SAME_STR(f[i])
    SAME(model.dim); SAME(model.hidden_dim); SAME(model.n_layers); SAME(model.n_heads);
    SAME(model.n_kv_heads); SAME(model.vocab_size); SAME(model.seq_len);
    SAME(model.shared_classifier); SAME(model.rope_theta); SAME(model.norm_eps);
    SAME(train.batch_size); SAME(train.grad_accum); SAME(train.steps); SAME(train.lr);
    SAME(train.min_lr); SAME(train.warmup_steps); SAME_STR(train.schedule);
    SAME(train.beta1); SAME(train.beta2); SAME(train.eps); SAME(train.weight_decay);
    SAME(train.grad_clip); SAME(train.seed); SAME_STR(train.data_order);
    SAME(train.init_std); SAME(log_every);
    SAME_STR(data.path); SAME_STR(data.format); SAME_STR(data.tokenizer);
    SAME_STR(data.eval_path); SAME(data.eval_tail);
    SAME_STR(metrics.path); SAME(metrics.seconds);
    SAME_STR(ckpt.path); SAME(ckpt.every); SAME_STR(ckpt.init_model);
    SAME(ckpt.diverge_factor); SAME(ckpt.diverge_steps); SAME(ckpt.max_rollbacks);
    SAME_STR(be.backend); SAME_LIST(be.fallback, be.n_fallback);
    SAME_LIST(be.exclude, be.n_exclude); SAME_LIST(be.plugin_path, be.n_plugin_path);
    SAME_STR(be.chip); SAME(be.strict); SAME(be.threads);
    return NULL;
#undef SAME
#undef SAME_STR
#undef SAME_LIST
}

static int same_config(const struct ant_run_config *got, const struct ant_run_config *want,
                       const char *what)
{
    const char *f = differs(got, want);
    if (!ok(f == NULL, "%s", what)) diag("first difference: %s", f);
    return f == NULL;
}

/* ---- defaults and presets -------------------------------------------------------- */

static void test_defaults(void)
{
    struct ant_run_config d, t;
    struct ant_err e = {{0}};
    config_defaults(&d);
    const struct ant_model_config *m = &d.model;
    ok(m->dim == 128 && m->hidden_dim == 352 && m->n_layers == 4 && m->n_heads == 4 &&
       m->n_kv_heads == 4 && m->vocab_size == 256 && m->seq_len == 128 &&
       m->shared_classifier == 1 && m->rope_theta == 10000.0f && m->norm_eps == 1e-5f,
       "defaults: the tiny byte-level model shape");
    ok(!d.data.path[0] && !strcmp(d.be.backend, "auto") && d.be.n_fallback == 1 &&
       !strcmp(d.be.fallback[0], "cpu") && !strcmp(d.source, "<embedded default>"),
       "defaults: embedded corpus, auto backend, cpu fallback");
    ok(config_validate(&d, &e) == 0, "defaults validate (%s)", e.msg);

    char *file = source_file("configs/tiny.cfg");
    const char *text = config_preset("tiny");
    ok(file && text && !strcmp(file, text), "preset tiny is configs/tiny.cfg verbatim");
    memset(&t, 0, sizeof t);
    ok(file && config_load_string(&t, file, "tiny.cfg", &e) == 0, "tiny.cfg parses (%s)", e.msg);
    same_config(&d, &t, "defaults equal configs/tiny.cfg");
    config_setting_t *thr = d.backend_settings ?
        config_setting_lookup(d.backend_settings, "cpu.threads") : NULL;
    ok(thr && config_setting_get_int(thr) == 0, "defaults carry backends.cpu.threads");
    free(file);
    config_free(&t);
    config_free(&d);
    config_free(&d);   /* twice is harmless */
    ok(d.cfg_handle == NULL && d.backend_settings == NULL, "config_free clears the handles");
}

/* llama2.c model.py: hidden = 4 * dim, then 2/3 of it, rounded up to a multiple of 32 */
static int llama2c_hidden(int dim)
{
    int h = 2 * (4 * dim) / 3;
    return 32 * ((h + 31) / 32);
}

static void test_presets(void)
{
    static const struct {
        const char *name;
        int dim, layers, heads, seq;
        size_t params;   /* llama2.c's counts with the classifier shared */
    } want[] = {
        {"tiny", 128, 4, 4, 128, 836736},
        {"stories15M", 288, 6, 6, 256, 15191712},
        {"stories42M", 512, 8, 8, 1024, 41689600},
        {"stories110M", 768, 12, 12, 1024, 109529856},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        struct ant_run_config rc;
        struct ant_err e = {{0}};
        char rel[64];
        config_defaults(&rc);
        const char *text = config_preset(want[i].name);
        snprintf(rel, sizeof rel, "configs/%s.cfg", want[i].name);
        char *file = source_file(rel);
        ok(text && file && !strcmp(text, file), "%s: built in verbatim from %s", want[i].name, rel);
        ok(text && config_load_string(&rc, text, want[i].name, &e) == 0 &&
           config_validate(&rc, &e) == 0, "%s: parses and validates (%s)", want[i].name, e.msg);
        const struct ant_model_config *m = &rc.model;
        int vocab = i == 0 ? 256 : 32000;
        ok(m->dim == want[i].dim && m->n_layers == want[i].layers && m->n_heads == want[i].heads &&
           m->n_kv_heads == want[i].heads && m->seq_len == want[i].seq && m->vocab_size == vocab &&
           m->hidden_dim == llama2c_hidden(m->dim) && m->shared_classifier,
           "%s: llama2.c's shape", want[i].name);
        struct ant_layout lay;
        ant_layout_init(&lay, m);
        ok(lay.total == want[i].params, "%s: %zu parameters (want %zu)", want[i].name, lay.total,
           want[i].params);
        if (i > 0) {
            const struct ant_train_opts *t = &rc.train;
            ok(t->lr == 5e-4 && t->min_lr == 0 && t->warmup_steps == 1000 && t->steps == 100000 &&
               t->beta1 == 0.9 && t->beta2 == 0.95 && t->weight_decay == 0.1 && t->grad_clip == 1 &&
               (long)t->batch_size * t->grad_accum * m->seq_len == 131072,
               "%s: llama2.c train.py settings, 131072 tokens per step", want[i].name);
        }
        free(file);
        config_free(&rc);
    }
    ok(config_preset("stories1B") == NULL && config_preset(NULL) == NULL, "unknown preset: NULL");
}

/* ---- a file that sets every key ---------------------------------------------------- */

static const char full_text[] =
    "model = { dim = 96; hidden_dim = 256; n_layers = 3; n_heads = 6; n_kv_heads = 2;\n"
    "  vocab_size = 300; seq_len = 64; shared_classifier = false; rope_theta = 500000;\n"
    "  norm_eps = 1e-6; };\n"
    "train = { batch_size = 3; grad_accum = 5; steps = 77; lr = 1; min_lr = 0.25;\n"
    "  warmup_steps = 7; schedule = \"constant\"; beta1 = 0.5; beta2 = 0.0; eps = 1e-6;\n"
    "  weight_decay = 0.0; grad_clip = 0.0; seed = 12345678901L; data_order = \"sequential\";\n"
    "  init_std = 0.5; log_every = 3; };\n"
    "data = { path = \"train.txt\"; format = \"text\"; tokenizer = \"/abs/tok.bin\";\n"
    "  eval_path = \"held/out.txt\"; eval_tail = 0.25; };\n"
    "log = { path = \"m.jsonl\"; seconds = 2.5; };\n"
    "checkpoint = { path = \"run.ckpt\"; every = 0; init_model = \"m.bin\";\n"
    "  diverge_factor = 2.5; diverge_steps = 9; max_rollbacks = 0; };\n"
    "backend = \"cpu\"; fallback = [ ]; exclude = [ \"ane-static\", \"ane-dynamic\" ];\n"
    "plugin_path = ( \"plug\", \"/opt/plug\" ); chip = \"M4 Pro\"; strict = true; threads = 2;\n"
    "backends = {\n"
    "  cpu = { threads = 3; };\n"
    "};\n";

/* What full_text sets, with relative paths under dir (ending in '/', or ""). */
static void full_expected(struct ant_run_config *w, const char *dir)
{
    struct ant_model_config m = {96, 256, 3, 6, 2, 300, 64, 0, 500000.0f, 1e-6f};
    memset(w, 0, sizeof *w);
    w->model = m;
    struct ant_train_opts t = {3, 5, 77, 1.0, 0.25, 7, "constant", 0.5, 0.0, 1e-6, 0.0, 0.0,
                               12345678901ULL, "sequential", 0.5};
    w->train = t;
    w->log_every = 3;
    snprintf(w->data.path, sizeof w->data.path, "%strain.txt", dir);
    strcpy(w->data.format, "text");
    strcpy(w->data.tokenizer, "/abs/tok.bin");
    snprintf(w->data.eval_path, sizeof w->data.eval_path, "%sheld/out.txt", dir);
    w->data.eval_tail = 0.25;
    snprintf(w->metrics.path, sizeof w->metrics.path, "%sm.jsonl", dir);
    w->metrics.seconds = 2.5;
    snprintf(w->ckpt.path, sizeof w->ckpt.path, "%srun.ckpt", dir);
    snprintf(w->ckpt.init_model, sizeof w->ckpt.init_model, "%sm.bin", dir);
    w->ckpt.diverge_factor = 2.5;
    w->ckpt.diverge_steps = 9;
    w->ckpt.max_rollbacks = 0;
    strcpy(w->be.backend, "cpu");
    strcpy(w->be.exclude[0], "ane-static");
    strcpy(w->be.exclude[1], "ane-dynamic");
    w->be.n_exclude = 2;
    snprintf(w->be.plugin_path[0], sizeof w->be.plugin_path[0], "%splug", dir);
    strcpy(w->be.plugin_path[1], "/opt/plug");
    w->be.n_plugin_path = 2;
    strcpy(w->be.chip, "M4 Pro");
    w->be.strict = 1;
    w->be.threads = 2;
}

static void test_full_file(void)
{
    char dir[320];
    struct ant_run_config rc, want;
    struct ant_err e = {{0}};
    const char *sub = tmp_path("full"), *path = tmp_path("full/all.cfg");
    mkdir(sub, 0700);
    snprintf(dir, sizeof dir, "%s/", sub);
    write_text(path, full_text);

    config_defaults(&rc);
    ok(config_load(&rc, path, &e) == 0, "a file setting every key loads (%s)", e.msg);
    full_expected(&want, dir);
    same_config(&rc, &want, "every field is set, relative paths under the file's folder");
    ok(!strcmp(rc.source, path), "source names the file");
    ok(config_validate(&rc, &e) == 0, "and validates (%s)", e.msg);
    config_setting_t *thr = rc.backend_settings ?
        config_setting_lookup(rc.backend_settings, "cpu.threads") : NULL;
    ok(thr && config_setting_get_int(thr) == 3 && config_setting_source_line(thr) == 16 &&
       config_setting_source_file(thr) && !strcmp(config_setting_source_file(thr), path),
       "backends.cpu.threads = 3 at all.cfg:16");
    config_free(&rc);

    /* from a string, relative paths stay relative to the current folder */
    config_defaults(&rc);
    ok(config_load_string(&rc, full_text, "full", &e) == 0, "the same text as a string (%s)", e.msg);
    full_expected(&want, "");
    same_config(&rc, &want, "from a string, relative paths are kept as written");
    config_free(&rc);
}

/* ---- errors: FILE:LINE: key: reason ------------------------------------------------ */

/* Loads text from tmp/bad.cfg over the defaults; expects -1, a message starting with
 * "PATH:LINE: KEY" and containing WHY, and the config unchanged. */
static void expect_error(const char *text, int line, const char *key, const char *why)
{
    char head[600];
    struct ant_run_config rc, before;
    struct ant_err e = {{0}};
    const char *path = tmp_path("bad.cfg");
    write_text(path, text);
    config_defaults(&rc);
    config_defaults(&before);
    int r = config_load(&rc, path, &e);
    snprintf(head, sizeof head, "%s:%d: %s", path, line, key);
    int good = r == -1 && !strncmp(e.msg, head, strlen(head)) && strstr(e.msg, why) &&
               !strchr(e.msg, '\n') && differs(&rc, &before) == NULL;
    if (!ok(good, "%s%s%s", key, *key ? ": " : "", why))
        diag("r=%d msg \"%s\", want \"%s...%s\"", r, e.msg, head, why);
    config_free(&rc);
    config_free(&before);
}

/* key = value on line 4 (a group key) or line 3 (a top-level key). */
static void expect_bad_value(const char *key, const char *value, const char *why)
{
    char text[4096];
    const char *dot = strchr(key, '.');
    if (dot)
        snprintf(text, sizeof text, "# line 1\n%.*s = {\n\n  %s = %s;\n};\n", (int)(dot - key),
                 key, dot + 1, value);
    else
        snprintf(text, sizeof text, "# line 1\n\n%s = %s;\n", key, value);
    expect_error(text, dot ? 4 : 3, key, why);
}

static void test_file_errors(void)
{
    expect_error("model = {\n  dim = 128;\n  hidden_dim = ;\n};\n", 3, "", "syntax error");
    expect_error("model = { dim = 64; };\nmodel = { dim = 32; };\n", 2, "", "duplicate");
    expect_error("backend = \"cpu\";\nmodle = { dim = 64; };\n", 2, "modle",
                 "unknown key (did you mean model?)");
    expect_error("model = {\n  dim = 64;\n  dimm = 3;\n};\n", 3, "model.dimm",
                 "unknown key (did you mean model.dim? write it as model = { dim = ...; };)");
    expect_error("\ndim = 64;\n", 2, "dim", "unknown key (did you mean model.dim? write it as "
                 "model = { dim = ...; };)");
    expect_error("train = {\n  zorglub = 1;\n};\n", 2, "train.zorglub", "unknown key");
    expect_error("model = 5;\n", 1, "model", "expected a group");
    expect_error("backends = [ \"cpu\" ];\n", 1, "backends", "expected a group");
    expect_error("backends = {\n  cpu = 4;\n};\n", 2, "backends.cpu", "expected a group");
    expect_error("exclude = [ \"a\",\n  \"b\" ];\nplugin_path = ( \"x\",\n 3 );\n", 4,
                 "plugin_path[1]", "expected a string, got an integer");

    /* types */
    expect_bad_value("model.dim", "\"128\"", "expected an integer, got a string");
    expect_bad_value("model.n_layers", "4.0", "expected an integer, got a float");
    expect_bad_value("model.shared_classifier", "1", "expected a boolean");
    expect_bad_value("train.lr", "\"fast\"", "expected a number, got a string");
    expect_bad_value("train.steps", "[ 1 ]", "expected an integer, got an array");
    expect_bad_value("data.path", "( \"a\" )", "expected a string, got a list");
    expect_bad_value("backend", "3", "expected a string, got an integer");
    expect_bad_value("strict", "\"yes\"", "expected a boolean");
    expect_bad_value("fallback", "\"cpu\"", "expected a list of strings");
    expect_bad_value("train.lr", "{ }", "expected a number, got a group");

    /* ranges: counts >= 1 */
    static const char *counts[] = {"model.dim", "model.hidden_dim", "model.n_layers",
        "model.n_heads", "model.n_kv_heads", "model.vocab_size", "model.seq_len",
        "train.batch_size", "train.grad_accum", "train.steps", "train.log_every"};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
        expect_bad_value(counts[i], i % 2 ? "-3" : "0", "must be >= 1");
    expect_bad_value("train.warmup_steps", "-1", "must be >= 0");
    expect_bad_value("train.seed", "-5", "must be >= 0");
    expect_bad_value("checkpoint.every", "-1", "must be >= 0");
    expect_bad_value("checkpoint.diverge_steps", "0", "must be >= 1");
    expect_bad_value("checkpoint.max_rollbacks", "-1", "must be >= 0");
    expect_bad_value("threads", "-2", "must be >= 0");
    expect_bad_value("model.dim", "5000000000L", "out of range");
    /* ranges of numbers */
    expect_bad_value("train.lr", "0", "must be > 0");
    expect_bad_value("train.lr", "1e999", "must be a finite number");
    expect_bad_value("train.min_lr", "-1e-4", "must be >= 0");
    expect_bad_value("train.eps", "0.0", "must be > 0");
    expect_bad_value("train.weight_decay", "-0.1", "must be >= 0");
    expect_bad_value("train.grad_clip", "-1", "must be >= 0");
    expect_bad_value("train.init_std", "0", "must be > 0");
    expect_bad_value("train.beta1", "1.0", "must be in [0, 1)");
    expect_bad_value("train.beta2", "-0.1", "must be in [0, 1)");
    expect_bad_value("model.rope_theta", "0.0", "must be > 0");
    expect_bad_value("model.norm_eps", "1e-50", "must be > 0");   /* 0 as a float */
    /* choices */
    expect_bad_value("train.schedule", "\"linear\"", "\"linear\" is not one of: cosine, constant");
    expect_bad_value("train.data_order", "\"shuffled\"", "is not one of: random, sequential");
    expect_bad_value("data.format", "\"csv\"", "is not one of: auto, tokens, text");
    expect_bad_value("backend", "\"\"", "must not be empty");
    expect_error("fallback = [\n  \"\" ];\n", 2, "fallback[0]", "must not be empty");

    /* strings that do not fit */
    char text[4096], name[200];
    memset(name, 'x', 100);
    name[100] = 0;
    snprintf(text, sizeof text, "\"%s\"", name);
    expect_bad_value("backend", text, "too long (100 bytes; the limit is 63)");
    expect_bad_value("chip", text, "too long");
    snprintf(text, sizeof text, "[ \"cpu\", \"%s\" ]", name);
    expect_bad_value("exclude", text, "too long");
    char big[1100];
    memset(big, 'p', 1030);
    big[1030] = 0;
    snprintf(text, sizeof text, "\"/%s\"", big);
    expect_bad_value("data.tokenizer", text, "too long (1031 bytes; the limit is 1023)");
    big[1010] = 0;   /* fits alone, not under the temp folder */
    snprintf(text, sizeof text, "\"%s\"", big);
    expect_bad_value("checkpoint.path", text, "too long once joined to the folder of");
    snprintf(text, sizeof text, "[ \"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\", \"h\", \"i\", "
             "\"j\", \"k\", \"l\", \"m\", \"n\", \"o\", \"p\", \"q\" ]");
    expect_bad_value("fallback", text, "at most 16 entries, got 17");

    /* from a string, the message names the string */
    struct ant_run_config rc;
    struct ant_err e = {{0}};
    config_defaults(&rc);
    ok(config_load_string(&rc, "\nmodel = { dim = 0; };", "my-preset", &e) == -1 &&
       !strcmp(e.msg, "my-preset:2: model.dim: must be >= 1, not 0"), "string errors: %s", e.msg);
    const char *missing = tmp_path("none.cfg");
    ok(config_load(&rc, missing, &e) == -1 && !strncmp(e.msg, missing, strlen(missing)) &&
       strstr(e.msg, "cannot open"), "missing file: %s", e.msg);
    ok(config_load(&rc, tmp_dir, &e) == -1 && strstr(e.msg, "is a folder"), "a folder: %s", e.msg);
    config_free(&rc);
}

/* ---- cross-field rules ------------------------------------------------------------- */

/* Loads text (it must load), then expects config_validate to fail at PATH:LINE: KEY. */
static void expect_invalid(const char *text, int line, const char *key, const char *why)
{
    char head[600];
    struct ant_run_config rc;
    struct ant_err e = {{0}};
    const char *path = tmp_path("cross.cfg");
    write_text(path, text);
    config_defaults(&rc);
    int loaded = config_load(&rc, path, &e) == 0;
    int r = loaded ? config_validate(&rc, &e) : 0;
    snprintf(head, sizeof head, "%s:%d: %s: ", path, line, key);
    if (!ok(loaded && r == -1 && !strncmp(e.msg, head, strlen(head)) && strstr(e.msg, why),
            "cross-field %s: %s", key, why))
        diag("loaded %d r=%d msg \"%s\", want \"%s...%s\"", loaded, r, e.msg, head, why);
    config_free(&rc);
}

static void test_cross_rules(void)
{
    expect_invalid("model = {\n  dim = 130;\n};\n", 2, "model.dim",
                   "model.dim (130) must be a multiple of model.n_heads (4)");
    expect_invalid("\nmodel = {\n  n_heads = 3;\n};\n", 3, "model.n_heads", "multiple of model.n_heads");
    expect_invalid("model = {\n  dim = 132;\n  n_heads = 4;\n};\n", 3, "model.n_heads",
                   "head size model.dim / model.n_heads = 33 must be even");
    expect_invalid("model = { n_heads = 4;\n  n_kv_heads = 3; };\n", 2, "model.n_kv_heads",
                   "model.n_heads (4) must be a multiple of model.n_kv_heads (3)");
    expect_invalid("model = { n_heads = 2;\n n_kv_heads = 4; };\n", 2, "model.n_kv_heads",
                   "multiple of model.n_kv_heads");
    expect_invalid("train = {\n  warmup_steps = 60;\n  steps = 50;\n};\n", 3,
                   "train.steps", "train.warmup_steps (60) must not exceed train.steps (50)");
    expect_invalid("train = {\n  min_lr = 0.5; lr = 0.1;\n};\n", 2, "train.min_lr",
                   "train.min_lr (0.5) must not exceed train.lr (0.1)");
    expect_invalid("checkpoint = {\n  diverge_factor = 1.0;\n};\n", 2,
                   "checkpoint.diverge_factor", "checkpoint.diverge_factor (1) must be > 1");
    expect_invalid("model = {\n  vocab_size = 100;\n};\n", 2, "model.vocab_size",
                   "the embedded corpus) needs model.vocab_size >= 256");
    expect_invalid("data = {\n  format = \"tokens\";\n};\n", 2, "data.format",
                   "needs a data.path");
    expect_invalid("backend = \"cpu\";\nexclude = [ \"cpu\" ];\n", 2, "exclude",
                   "backend \"cpu\" is also in exclude");

    struct ant_run_config rc;
    struct ant_err e = {{0}};
    config_defaults(&rc);
    ok(config_load_string(&rc, "train = { min_lr = 0.5; lr = 0.1; schedule = \"constant\"; };",
                          "s", &e) == 0 && config_validate(&rc, &e) == 0,
       "min_lr above lr is fine with a constant schedule (%s)", e.msg);
    config_free(&rc);

    /* a value changed after loading (a command-line flag) has no file:line */
    const char *path = tmp_path("ok.cfg");
    write_text(path, "model = {\n  dim = 96;\n};\n");
    config_defaults(&rc);
    config_load(&rc, path, &e);
    rc.model.n_heads = 5;
    ok(config_validate(&rc, &e) == -1 &&
       !strcmp(e.msg, "model.n_heads: model.dim (96) must be a multiple of model.n_heads (5)"),
       "a flag's value is blamed without a file: %s", e.msg);
    rc.model.n_heads = 4;
    rc.train.lr = -1;
    ok(config_validate(&rc, &e) == -1 && !strncmp(e.msg, "train.lr: must be > 0", 21),
       "range rules are checked again: %s", e.msg);
    rc.train.lr = 1e-3;
    strcpy(rc.train.schedule, "warp");
    ok(config_validate(&rc, &e) == -1 && strstr(e.msg, "train.schedule: \"warp\" is not one of"),
       "choices are checked again: %s", e.msg);
    config_free(&rc);

    /* the later of two files is blamed for a rule their values break together */
    char head[400];
    const char *second = tmp_path("later.cfg");
    write_text(second, "# later\n\nmodel = { n_heads = 5; };\n");
    config_defaults(&rc);
    int loaded = config_load(&rc, path, &e) == 0 && config_load(&rc, second, &e) == 0;
    snprintf(head, sizeof head, "%s:3: model.n_heads: ", second);
    ok(loaded && config_validate(&rc, &e) == -1 && !strncmp(e.msg, head, strlen(head)),
       "the later file is named: %s", e.msg);
    config_free(&rc);
}

/* ---- relative paths, @include ------------------------------------------------------ */

static void test_relative_paths(void)
{
    char cwd[1024];
    const char *sub = tmp_path("sub"), *path = tmp_path("sub/rel.cfg");
    struct ant_run_config rc;
    struct ant_err e = {{0}};
    const char *text = "data = { path = \"d.bin\"; tokenizer = \"../tok.bin\";\n"
                       "  eval_path = \"/abs/e.bin\"; };\n"
                       "checkpoint = { path = \"ck/x.ckpt\"; init_model = \"\"; };\n"
                       "plugin_path = [ \"plug\", \"/abs/plug\" ];\n";
    mkdir(sub, 0700);
    write_text(path, text);

    config_defaults(&rc);
    ok(config_load(&rc, path, &e) == 0, "rel.cfg loads (%s)", e.msg);
    char want[600];
    snprintf(want, sizeof want, "%s/d.bin", sub);
    ok(!strcmp(rc.data.path, want), "data.path under the file's folder: %s", rc.data.path);
    snprintf(want, sizeof want, "%s/../tok.bin", sub);
    ok(!strcmp(rc.data.tokenizer, want), "data.tokenizer: %s", rc.data.tokenizer);
    ok(!strcmp(rc.data.eval_path, "/abs/e.bin"), "absolute paths stay");
    snprintf(want, sizeof want, "%s/ck/x.ckpt", sub);
    ok(!strcmp(rc.ckpt.path, want) && !rc.ckpt.init_model[0], "checkpoint.path: %s; \"\" stays",
       rc.ckpt.path);
    snprintf(want, sizeof want, "%s/plug", sub);
    ok(rc.be.n_plugin_path == 2 && !strcmp(rc.be.plugin_path[0], want) &&
       !strcmp(rc.be.plugin_path[1], "/abs/plug"), "plugin_path entries: %s", rc.be.plugin_path[0]);
    config_free(&rc);

    /* a file named relative to the current folder */
    if (!getcwd(cwd, sizeof cwd) || chdir(tmp_dir) != 0) {
        ok(0, "chdir to the temp folder");
        return;
    }
    config_defaults(&rc);
    ok(config_load(&rc, "sub/rel.cfg", &e) == 0 && !strcmp(rc.data.path, "sub/d.bin") &&
       !strcmp(rc.be.plugin_path[0], "sub/plug"), "sub/rel.cfg: data.path = %s", rc.data.path);
    config_free(&rc);
    config_defaults(&rc);
    ok(chdir("sub") == 0 && config_load(&rc, "rel.cfg", &e) == 0 &&
       !strcmp(rc.data.path, "d.bin"), "rel.cfg from its own folder: data.path = %s", rc.data.path);
    config_free(&rc);
    config_defaults(&rc);
    ok(config_load_string(&rc, text, "text", &e) == 0 && !strcmp(rc.data.path, "d.bin") &&
       !strcmp(rc.ckpt.path, "ck/x.ckpt"), "from a string, paths stay as written");
    config_free(&rc);
    if (chdir(cwd) != 0) diag("cannot return to %s", cwd);

    /* @include is found next to the including file, and so are the paths it sets */
    const char *inc = tmp_path("sub/inc.cfg"), *part = tmp_path("sub/part.cfg");
    write_text(inc, "@include \"part.cfg\"\n");
    write_text(part, "data = { path = \"p.bin\"; };\n");
    config_defaults(&rc);
    snprintf(want, sizeof want, "%s/p.bin", sub);
    ok(config_load(&rc, inc, &e) == 0 && !strcmp(rc.data.path, want),
       "@include next to the file; its paths are relative to it (%s)", e.msg);
    write_text(part, "\nmodel = { dim = -1; };\n");
    /* libconfig 1.5 names an included file as written, later ones by its path */
    ok(config_load(&rc, inc, &e) == -1 && strstr(e.msg, "part.cfg:2: model.dim: must be >= 1"),
       "an included file's error names it: %s", e.msg);
    config_free(&rc);
}

/* ---- the backends group ------------------------------------------------------------ */

static void test_backends_merge(void)
{
    struct ant_run_config rc;
    struct ant_err e = {{0}};
    const char *a = tmp_path("a.cfg"), *b = tmp_path("b.cfg"), *bad = tmp_path("bad-backends.cfg");
    write_text(a, "backends = {\n  cpu = { threads = 2; extra = \"x\"; };\n};\n");
    write_text(b, "\nbackends = {\n  cpu = { threads = 3; };\n  ane-dynamic = { k = [ 1, 2 ]; };\n};\n");
    write_text(bad, "backends = { cpu = { threads = 9; }; };\nmodel = { dim = 0; };\n");

    config_defaults(&rc);
    void *group = rc.backend_settings, *handle = rc.cfg_handle;
    ok(config_load(&rc, a, &e) == 0 && config_load(&rc, b, &e) == 0, "two files with backends");
    ok(config_load(&rc, bad, &e) == -1, "a failing file is not merged");
    ok(rc.backend_settings == group && rc.cfg_handle == handle,
       "the backends group and handle survive later loads");
    config_setting_t *cpu = config_setting_get_member(group, "cpu");
    config_setting_t *thr = cpu ? config_setting_get_member(cpu, "threads") : NULL;
    config_setting_t *extra = cpu ? config_setting_get_member(cpu, "extra") : NULL;
    config_setting_t *k = config_setting_lookup(group, "ane-dynamic.k");
    ok(cpu && config_setting_length(cpu) == 2, "cpu keeps the keys of both files");
    ok(thr && config_setting_get_int(thr) == 3 && config_setting_source_line(thr) == 3 &&
       !strcmp(config_setting_source_file(thr), b), "the later file's value wins, at b.cfg:3");
    ok(extra && !strcmp(config_setting_get_string(extra), "x") &&
       config_setting_source_line(extra) == 2 && !strcmp(config_setting_source_file(extra), a),
       "a key only the first file set stays, at a.cfg:2");
    ok(k && config_setting_is_array(k) && config_setting_length(k) == 2 &&
       config_setting_get_int_elem(k, 1) == 2 && config_setting_source_line(k) == 4,
       "a new backend group is added with its values and line");
    config_free(&rc);

    config_defaults(&rc);
    ok(config_load_string(&rc, "model = { dim = 64; };", "s", &e) == 0 &&
       config_setting_lookup(rc.backend_settings, "cpu.threads") != NULL,
       "a file without backends keeps the defaults' group");
    config_free(&rc);
}

/* ---- the commented sample ---------------------------------------------------------- */

static void test_sample(void)
{
    struct ant_run_config rc, d;
    struct ant_err e = {{0}};
    char *text = source_file("configs/anetrain.cfg.sample");
    config_defaults(&d);
    /* over a config where every field differs from the defaults */
    config_defaults(&rc);
    ok(config_load_string(&rc, full_text, "full", &e) == 0 && differs(&rc, &d) != NULL,
       "start from non-default values");
    ok(text && config_load_string(&rc, text, "anetrain.cfg.sample", &e) == 0,
       "the sample parses (%s)", e.msg);
    same_config(&rc, &d, "the sample sets every key to its default");
    config_setting_t *thr = config_setting_lookup(rc.backend_settings, "cpu.threads");
    ok(thr && config_setting_get_int(thr) == 0, "the sample resets backends.cpu.threads");
    config_free(&rc);
    const char *path = tmp_path("anetrain.cfg");
    if (text) write_text(path, text);
    config_defaults(&rc);
    ok(text && config_load(&rc, path, &e) == 0 && config_validate(&rc, &e) == 0,
       "the sample as a file loads and validates (%s)", e.msg);
    config_free(&rc);
    config_free(&d);
    free(text);
}

/* A config in the install folder (ANT_DATADIR, a test folder here): its checkpoint and
 * log paths stay relative to the working folder; its data paths are still the file's. */
static void test_installed(void)
{
    struct ant_run_config rc;
    struct ant_err e = {{0}};
    char file[1024], want[1100];
    mkdir(ANT_DATADIR, 0755);
    snprintf(file, sizeof file, "%s/stories.cfg", ANT_DATADIR);
    write_text(file, "checkpoint = { path = \"stories.ckpt\"; };\nlog = { path = \"s.jsonl\"; };\n"
                     "data = { path = \"train.bin\"; };\n");
    config_defaults(&rc);
    int r = config_load(&rc, file, &e);
    snprintf(want, sizeof want, "%s/train.bin", ANT_DATADIR);
    ok(r == 0 && !strcmp(rc.ckpt.path, "stories.ckpt") && !strcmp(rc.metrics.path, "s.jsonl"),
       "an installed config's checkpoint and log stay in the working folder (%s, %s)",
       rc.ckpt.path, rc.metrics.path);
    ok(r == 0 && !strcmp(rc.data.path, want), "  its data path is still the file's folder's");
    config_free(&rc);
    unlink(file);
    rmdir(ANT_DATADIR);
}

int main(void)
{
    tmp_dir_make("anetrain-config");
    test_defaults();
    test_presets();
    test_full_file();
    test_file_errors();
    test_cross_rules();
    test_relative_paths();
    test_backends_merge();
    test_sample();
    test_installed();
    tmp_dir_remove();
    return tap_done();
}
