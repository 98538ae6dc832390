/* ane-dynamic, ane-static and ane-fp16io against the CPU backend, all through their ABI
 * structs, on the ANE
 * emulator with the real chip profiles of M3, M4 and M5: the same loss, every gradient
 * tensor close, the same eval loss and logits, and a short training run whose losses
 * follow the CPU's. Small models cover MHA and GQA, shared and separate classifiers,
 * sequence lengths that are not powers of two, a batch shorter than seq_len (padding),
 * dW and the classifier on the CPU, several vocabulary chunks, and a loss scale so
 * large that fp16 overflows (the step must be redone at a smaller scale, same result).
 *
 * Tolerances: the emulator stores every tensor in fp16 (11-bit significand, relative
 * rounding 2^-11 ≈ 4.9e-4 per op) and the gradients pass through ~10 rounded ops per
 * layer, so we bound the relative L2 error of each gradient tensor (summed over layers)
 * at 3e-2, the loss at 5e-3 relative, logits at 2e-2 of their spread. */
#include <anetrain/backend.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/rng.h"
#include "dispatch/chip.h"
#include "tap.h"

int ant_cpu_LTX_ant_backend_entry(const struct ant_host *host, const struct ant_backend **out);
int ant_ane_dynamic_LTX_ant_backend_entry(const struct ant_host *host, const struct ant_backend **out);
int ant_ane_static_LTX_ant_backend_entry(const struct ant_host *host, const struct ant_backend **out);
int ant_ane_fp16io_LTX_ant_backend_entry(const struct ant_host *host, const struct ant_backend **out);

static char logged[16384];   /* everything the backends logged, for assertions */

static void host_log(int level, const char *who, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    printf("# %s: %s\n", who, line);
    size_t n = strlen(logged);
    snprintf(logged + n, sizeof logged - n, "%s\n", line);
}

static const struct ant_host host = {ANT_ABI_MAJOR, ANT_ABI_MINOR, sizeof host, host_log};
static const struct ant_backend *cpu, *ane;

struct setting_list {
    struct ant_setting_value v[8];
};

/* device = emulator plus extra key=value pairs ("dw", "cpu"; "loss_scale", "65536"). */
static struct setting_list settings(const char *k1, const char *v1, const char *k2, const char *v2)
{
    struct setting_list s = {{{"device", ANT_SET_STRING, 0, 0, "emulator"}}};
    const char *k[2] = {k1, k2}, *v[2] = {v1, v2};
    for (int i = 0, j = 1; i < 2; i++) {
        if (!k[i]) continue;
        int is_str = !strcmp(k[i], "dw") || !strcmp(k[i], "classifier") || !strcmp(k[i], "dialect");
        int is_bool = !strncmp(k[i], "unsafe_", 7) || !strcmp(k[i], "extras");
        s.v[j++] = (struct ant_setting_value){k[i], is_str ? ANT_SET_STRING : is_bool ? ANT_SET_BOOL : ANT_SET_FLOAT,
                                              atol(v[i]), atof(v[i]), v[i]};
    }
    return s;
}

static void *open_backend(const struct ant_backend *b, const struct ant_model_config *c,
                          const struct ant_chip *chip, const struct ant_setting_value *sv, int B)
{
    struct ant_open_args a = {.size = sizeof a, .model = c, .chip = chip, .settings = sv,
                              .max_batch = B, .threads = 1};
    void *ctx = NULL;
    char why[600] = "";
    if (b->open(&host, &a, &ctx, why, sizeof why)) {
        diag("%s: open failed: %s", b->name, why);
        return NULL;
    }
    return ctx;
}

static double rel_l2(const float *a, const float *b, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) num += (a[i] - b[i]) * (double)(a[i] - b[i]), den += (double)b[i] * b[i];
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

static const char *tensor_name[ANT_N_TENSORS] = {"tok_emb", "rms_att", "wq", "wk", "wv", "wo",
                                                 "rms_ffn", "w1", "w2", "w3", "rms_final", "wcls"};

struct model_case {
    const char *what;
    struct ant_model_config c;
    int B, t;                  /* batch, tokens per sequence (t < seq_len: padding) */
};

/* One forward+backward on both backends: loss and every gradient tensor. */
static void compare_step(const char *chip_name, const struct model_case *mc, void *ca, void *cc,
                         const float *w, const struct ant_layout *lay, struct ant_rng *r, const char *tag)
{
    int n = mc->B * mc->t, V = mc->c.vocab_size;
    int32_t *tok = malloc(n * sizeof *tok), *tgt = malloc(n * sizeof *tgt);
    for (int i = 0; i < n; i++) tok[i] = (int32_t)rng_below(r, V), tgt[i] = (int32_t)rng_below(r, V);
    struct ant_batch b = {mc->B, mc->t, tok, tgt};
    float *ga = calloc(lay->total, sizeof *ga), *gc = calloc(lay->total, sizeof *gc), la = 0, lc = 0;
    int ra = ane->train_step(ca, w, &b, ga, 0.5f, &la), rc = cpu->train_step(cc, w, &b, gc, 0.5f, &lc);
    if (!ok(ra == 0 && rc == 0, "%s %s %s: train_step runs on both", chip_name, mc->what, tag))
        diag("ane: %s", ane->last_error(ca));
    ok(fabs(la - lc) <= 5e-3 * fabs(lc), "%s %s %s: loss %.5f vs cpu %.5f", chip_name, mc->what, tag, la, lc);
    double worst = 0;
    const char *worst_name = "";
    for (int t = 0; t < ANT_N_TENSORS; t++) {
        size_t sz = lay->layered[t] ? lay->per_layer[t] * mc->c.n_layers : lay->per_layer[t];
        if (!sz) continue;
        double e = rel_l2(ga + lay->offset[t], gc + lay->offset[t], sz);
        if (e > worst) worst = e, worst_name = tensor_name[t];
    }
    ok(worst < 3e-2, "%s %s %s: every gradient tensor within 3e-2 rel L2 (worst %s %.2e)",
       chip_name, mc->what, tag, worst_name, worst);
    if (strstr(tag, "2^24")) {
        struct ant_backend_stats st = {.size = sizeof st};
        ane->stats(ca, &st);
        ok(st.scale_backoffs > 0 && st.loss_scale < 16777216,
           "%s %s %s: fp16 overflow halved the scale %ld times, to %g, and the step was redone",
           chip_name, mc->what, tag, st.scale_backoffs, st.loss_scale);
    }
    float ea = 0, ec = 0;
    ane->eval_loss(ca, w, &b, &ea);
    cpu->eval_loss(cc, w, &b, &ec);
    ok(fabs(ea - ec) <= 5e-3 * fabs(ec), "%s %s %s: eval loss %.5f vs cpu %.5f", chip_name, mc->what, tag, ea, ec);
    float *pa = malloc(V * sizeof *pa), *pc = malloc(V * sizeof *pc);
    ane->logits(ca, w, tok, mc->t - 1, pa);
    cpu->logits(cc, w, tok, mc->t - 1, pc);
    double lo = pc[0], hi = pc[0], md = 0;
    for (int i = 0; i < V; i++) {
        lo = pc[i] < lo ? pc[i] : lo, hi = pc[i] > hi ? pc[i] : hi;
        md = fabs(pa[i] - pc[i]) > md ? fabs(pa[i] - pc[i]) : md;
    }
    ok(md <= 2e-2 * (hi - lo), "%s %s %s: logits of %d tokens within 2%% of their spread (%.2e of %.2e)",
       chip_name, mc->what, tag, mc->t - 1, md, hi - lo);
    free(tok), free(tgt), free(ga), free(gc), free(pa), free(pc);
}

static float *random_weights(const struct ant_model_config *c, struct ant_layout *lay, struct ant_rng *r)
{
    ant_layout_init(lay, c);
    float *w = malloc(lay->total * sizeof *w);
    for (int t = 0; t < ANT_N_TENSORS; t++) {
        size_t sz = lay->layered[t] ? lay->per_layer[t] * c->n_layers : lay->per_layer[t];
        for (size_t i = 0; i < sz; i++)
            w[lay->offset[t] + i] = ant_tensor_is_norm(t) ? 1.0f + 0.1f * (float)rng_normal(r)
                                                          : 0.08f * (float)rng_normal(r);
    }
    return w;
}

/* "M1" or "M1@15.6": a chip profile, for an OS version when one is given. */
static int chip_named(const char *spec, struct ant_chip *chip, struct ant_err *e)
{
    char name[32];
    const char *at = strchr(spec, '@');
    snprintf(name, sizeof name, "%.*s", at ? (int)(at - spec) : (int)strlen(spec), spec);
    return chip_from_name(name, chip, e) || (at && chip_set_os(chip, at + 1, e)) ? -1 : 0;
}

static void conformance(const char *chip_name, const struct model_case *mc, struct setting_list s,
                        const char *tag)
{
    struct ant_chip chip;
    struct ant_err e;
    if (chip_named(chip_name, &chip, &e)) {
        ok(0, "chip %s: %s", chip_name, e.msg);
        return;
    }
    struct ant_rng r;
    rng_seed(&r, 11);
    struct ant_layout lay;
    float *w = random_weights(&mc->c, &lay, &r);
    void *ca = open_backend(ane, &mc->c, &chip, s.v, mc->B), *cc = open_backend(cpu, &mc->c, &chip, NULL, mc->B);
    if (ok(ca && cc, "%s %s %s: both backends open", chip_name, mc->what, tag) &&
        ok(!ane->weights_changed || ane->weights_changed(ca, w) == 0, "%s %s %s: weights staged", chip_name, mc->what, tag))
        compare_step(chip_name, mc, ca, cc, w, &lay, &r, tag);
    if (ca) ane->close(ca);
    if (cc) cpu->close(cc);
    free(w);
}

/* Kernels the backend reports after opening with settings s. */
static long kernels_with(const struct model_case *mc, const struct ant_chip *chip, struct setting_list s)
{
    struct ant_backend_stats st = {.size = sizeof st};
    void *ca = open_backend(ane, &mc->c, chip, s.v, mc->B);
    if (!ca) return -1;
    struct ant_rng r;
    rng_seed(&r, 5);
    struct ant_layout lay;
    float *w = random_weights(&mc->c, &lay, &r);
    if (!ane->weights_changed || ane->weights_changed(ca, w) == 0) ane->stats(ca, &st);
    ane->close(ca);
    free(w);
    return st.kernels;
}

/* The extras (docs/ane.md §5.6): RMSNorms and the softmax as kernels too. Against the
 * CPU as everywhere; the kernel count says they ran on the device; and logits so
 * peaked that most target probabilities fall under fp16's normal range, where the
 * layer redoes those tokens' loss on the CPU. */
static void extras(const struct model_case *cases, int n_cases)
{
    static const char *chips[] = {"M3", "M4", "M5"};
    const char *be = ane->name;
    char tag[96];
    snprintf(tag, sizeof tag, "%s, extras", be);
    for (int c = 0; c < 3; c++)
        for (int m = 0; m < n_cases; m++) conformance(chips[c], &cases[m], settings("extras", "1", NULL, NULL), tag);
    snprintf(tag, sizeof tag, "%s, extras, dW on the CPU", be);
    conformance("M4", &cases[1], settings("extras", "1", "dw", "cpu"), tag);
    snprintf(tag, sizeof tag, "%s, extras, classifier on the CPU", be);
    conformance("M4", &cases[0], settings("extras", "1", "classifier", "cpu"), tag);

    /* with dynamic weights 3 more kernels; baked, one per norm (2L+1) and the softmax */
    const struct model_case *mc = &cases[0];
    struct ant_chip m4;
    struct ant_err e;
    chip_from_name("M4", &m4, &e);
    long k0 = kernels_with(mc, &m4, settings(NULL, NULL, NULL, NULL));
    long k1 = kernels_with(mc, &m4, settings("extras", "1", NULL, NULL));
    long want = strcmp(be, "ane-static") ? 3 : 2L * mc->c.n_layers + 1 + 1 + 1;
    ok(k0 > 0 && k1 - k0 == want, "%s: the extras add %ld kernels (%ld -> %ld)", be, want, k0, k1);

    struct ant_rng r;
    rng_seed(&r, 11);
    struct ant_layout lay;
    float *w = random_weights(&mc->c, &lay, &r);
    float *E = w + lay.offset[ANT_TOK_EMB];   /* the shared classifier, 40 times larger */
    for (size_t i = 0; i < lay.per_layer[ANT_TOK_EMB]; i++) E[i] *= 40;
    logged[0] = 0;
    void *ca = open_backend(ane, &mc->c, &m4, settings("extras", "1", NULL, NULL).v, mc->B);
    void *cc = open_backend(cpu, &mc->c, &m4, NULL, mc->B);
    snprintf(tag, sizeof tag, "%s, extras, peaked logits", be);
    if (ok(ca && cc && ane->weights_changed(ca, w) == 0, "M4 %s: open", tag))
        compare_step("M4", mc, ca, cc, w, &lay, &r, tag);
    if (ca) ane->close(ca);
    if (cc) cpu->close(cc);
    ok(strstr(logged, "loss redone on the CPU") != NULL, "M4 %s: the tokens under fp16's range were "
       "redone on the CPU, and said so", tag);
    free(w);
}

/* 20 steps of plain SGD on one batch from the same start: the losses must follow. */
static void short_run(const char *chip_name, const struct model_case *mc)
{
    struct ant_chip chip;
    struct ant_err e;
    chip_named(chip_name, &chip, &e);
    struct ant_rng r;
    rng_seed(&r, 3);
    struct ant_layout lay;
    float *wa = random_weights(&mc->c, &lay, &r), *wc = malloc(lay.total * sizeof *wc);
    memcpy(wc, wa, lay.total * sizeof *wc);
    int n = mc->B * mc->t;
    int32_t *tok = malloc(n * sizeof *tok), *tgt = malloc(n * sizeof *tgt);
    for (int i = 0; i < n; i++) tok[i] = (int32_t)rng_below(&r, 16), tgt[i] = (tok[i] * 7 + 3) % mc->c.vocab_size;
    struct ant_batch b = {mc->B, mc->t, tok, tgt};
    void *ca = open_backend(ane, &mc->c, &chip, settings(NULL, NULL, NULL, NULL).v, mc->B);
    void *cc = open_backend(cpu, &mc->c, &chip, NULL, mc->B);
    float *ga = malloc(lay.total * sizeof *ga), *gc = malloc(lay.total * sizeof *gc);
    double worst = 0, first = 0, last = 0;
    int fails = !ca || !cc;
    for (int s = 0; s < 20 && !fails; s++) {
        float la, lc;
        memset(ga, 0, lay.total * sizeof *ga), memset(gc, 0, lay.total * sizeof *gc);
        fails |= (ane->weights_changed && ane->weights_changed(ca, wa)) ||
                 ane->train_step(ca, wa, &b, ga, 1.0f, &la) ||
                 cpu->train_step(cc, wc, &b, gc, 1.0f, &lc);
        for (size_t i = 0; i < lay.total; i++) wa[i] -= 0.2f * ga[i], wc[i] -= 0.2f * gc[i];
        worst = fmax(worst, fabs(la - lc));
        if (s == 0) first = lc;
        last = lc;
    }
    ok(!fails && last < 0.8 * first, "%s %s: SGD lowers the CPU loss %.3f -> %.3f", chip_name, mc->what, first, last);
    ok(!fails && worst < 0.01 * first, "%s %s: %s's losses follow the CPU's over 20 steps (worst gap %.4f)",
       chip_name, mc->what, ane->name, worst);
    if (ca) ane->close(ca);
    if (cc) cpu->close(cc);
    free(wa), free(wc), free(ga), free(gc), free(tok), free(tgt);
}

/* Each §7.3 rule broken on purpose (ane-fp16io's test knobs): on M1 under macOS 26 the
 * emulator returns zeros as the hardware does, every such kernel fails its self-test and
 * is replaced by OpenBLAS, so the numbers still match the CPU; on M4 nothing is. */
static void silent_zeros(const struct model_case *mc)
{
    static const char *knob[] = {"unsafe_no_pad", "unsafe_swap_inputs", "unsafe_no_chunks"};
    for (int i = 0; i < 3; i++)
        for (int c = 0; c < 2; c++) {
            char tag[96];
            snprintf(tag, sizeof tag, "ane-fp16io, %s", knob[i]);
            logged[0] = 0;
            conformance(c ? "M4" : "M1@26.3", mc, settings(knob[i], "1", NULL, NULL), tag);
            int replaced = 0;
            for (const char *p = logged; (p = strstr(p, "failed its self-test")); p++) replaced++;
            ok(c ? replaced == 0 : replaced > 0, "%s on %s: %d kernel(s) caught by the self-test "
               "and run by OpenBLAS", knob[i], c ? "M4 (no such rule)" : "M1, macOS 26", replaced);
        }
}

/* The dialect retry: M1's profile refuses program 1.3 (§7.1), so asking for it first
 * must fall back to program 1.0, log it, and remember it for the next open, which then
 * starts in 1.0 with no retry. */
static void dialect_retry(void)
{
    struct ant_chip m1;
    struct ant_err e;
    char dir[] = "/tmp/anetrain-dialect-XXXXXX";
    if (!mkdtemp(dir) || chip_from_name("M1", &m1, &e)) {
        ok(0, "dialect retry: setup");
        return;
    }
    setenv("ANETRAIN_CACHE_DIR", dir, 1);
    static const struct ant_model_config c = {64, 128, 1, 4, 4, 64, 32, 1, 10000.0f, 1e-5f};
    logged[0] = 0;
    void *ctx = open_backend(ane, &c, &m1, settings("dialect", "modern", NULL, NULL).v, 1);
    ok(ctx && strstr(logged, "program 1.3 refused") && strstr(logged, "retrying in program 1.0") &&
       strstr(logged, "kernels in program 1.0"), "M1: program 1.3 refused, retried in 1.0, logged");
    if (ctx) ane->close(ctx);
    logged[0] = 0;
    ctx = open_backend(ane, &c, &m1, settings(NULL, NULL, NULL, NULL).v, 1);
    ok(ctx && !strstr(logged, "retrying") && strstr(logged, "kernels in program 1.0"),
       "the next open starts with the remembered program 1.0, no retry");
    if (ctx) ane->close(ctx);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) diag("could not remove %s", dir);
    unsetenv("ANETRAIN_CACHE_DIR");
}

int main(void)
{
    struct ant_err e;
    /* Every open compiles, and the budget is per process (§1.9): this one program opens
     * dozens of backends, so its profiles allow more (ane-static's restarts are tested
     * through the trainer, tests/test_ane_static.sh). */
    char chips_file[] = "/tmp/anetrain-chips-XXXXXX";
    int fd = mkstemp(chips_file);
    const char *big = "chips = ({ name = \"M1\"; compile_budget = 1000000; },"
                      " { name = \"M2\"; compile_budget = 1000000; },"
                      " { name = \"M3\"; compile_budget = 1000000; },"
                      " { name = \"M4\"; compile_budget = 1000000; },"
                      " { name = \"M5\"; compile_budget = 1000000; });\n";
    if (fd < 0 || write(fd, big, strlen(big)) != (ssize_t)strlen(big)) tap_skip_all("cannot write a chips file");
    close(fd);
    int loaded = chip_profiles_load(chips_file, &e);
    unlink(chips_file);
    if (loaded) tap_skip_all(e.msg);
    ant_cpu_LTX_ant_backend_entry(&host, &cpu);
    static const struct model_case cases[] = {
        {"MHA shared T32", {64, 160, 2, 4, 4, 96, 32, 1, 10000.0f, 1e-5f}, 2, 32},
        {"GQA separate T24", {64, 128, 2, 4, 2, 80, 24, 0, 10000.0f, 1e-5f}, 2, 24},
        {"MQA shared T20 padded to 17", {48, 96, 1, 4, 1, 64, 20, 1, 500.0f, 1e-5f}, 1, 17},
    };
    static const char *chips[3][3] = {{"M3", "M4", "M5"}, {"M3", "M4", "M5"}, {"M1", "M2", "M4"}};
    int (*entries[3])(const struct ant_host *, const struct ant_backend **) = {
        ant_ane_dynamic_LTX_ant_backend_entry, ant_ane_static_LTX_ant_backend_entry,
        ant_ane_fp16io_LTX_ant_backend_entry};
    for (int be = 0; be < 3; be++) {
        entries[be](&host, &ane);
        diag("backend %s", ane->name);
        for (int c = 0; c < 3; c++)
            for (int m = 0; m < 3; m++) conformance(chips[be][c], &cases[m], settings(NULL, NULL, NULL, NULL), ane->name);
        if (be == 2) {   /* fp16io: no dW/classifier placement or vocabulary chunks */
            conformance("M1", &cases[1], settings("loss_scale", "16777216", NULL, NULL), "ane-fp16io, loss scale 2^24");
            for (int m = 0; m < 2; m++) {   /* both OS ranges of M1 and M2 (docs/ane.md §7) */
                conformance("M1@15.6", &cases[m], settings(NULL, NULL, NULL, NULL), "ane-fp16io, macOS 15.6");
                conformance("M2@26.3", &cases[m], settings(NULL, NULL, NULL, NULL), "ane-fp16io, macOS 26.3");
            }
            silent_zeros(&cases[1]);
            short_run("M1", &cases[1]);
            dialect_retry();
            struct ant_chip m1, none;
            int prio = 0;
            const char *why = "";
            chip_from_name("M1", &m1, &e);
            chip_from_name("none", &none, &e);
            int rc = ane->probe(&host, &m1, &prio, &why);
            ok(rc == 0 && prio < 10, "ane-fp16io: a forced M1 is accepted below cpu's priority 10 (%d)", prio);
            rc = ane->probe(&host, &none, &prio, &why);
            ok(rc < 0 && strstr(why, "emulator"), "ane-fp16io: no Neural Engine is refused: %s", why);
            continue;
        }
        conformance("M4", &cases[1], settings("dw", "cpu", "classifier", "cpu"), be ? "ane-static, dW and classifier on the CPU" : "ane-dynamic, dW and classifier on the CPU");
        conformance("M4", &cases[0], settings("cls_chunk", "40", NULL, NULL), be ? "ane-static, 3 vocabulary chunks" : "ane-dynamic, 3 vocabulary chunks");
        conformance("M4", &cases[1], settings("loss_scale", "16777216", NULL, NULL), be ? "ane-static, loss scale 2^24" : "ane-dynamic, loss scale 2^24");
        short_run("M4", &cases[1]);
        extras(cases, 3);
        /* the M1/M2 profiles and a machine without an ANE are refused by the probe */
        struct ant_chip m1, none, m4;
        int prio = 0;
        const char *why = "";
        chip_from_name("M1", &m1, &e);
        chip_from_name("none", &none, &e);
        chip_from_name("M4", &m4, &e);
        int rc = ane->probe(&host, &m1, &prio, &why);
        ok(rc < 0 && strstr(why, "ane-fp16io"), "%s: M1 is refused: %s", ane->name, why);
        rc = ane->probe(&host, &none, &prio, &why);
        ok(rc < 0 && strstr(why, "emulator"), "%s: no Neural Engine is refused: %s", ane->name, why);
        rc = ane->probe(&host, &m4, &prio, &why);
        ok(rc == 0 && prio < 10, "%s: a forced M4 is accepted below cpu's priority 10 (%d): auto never picks the emulator", ane->name, prio);
    }
    return tap_done();
}
