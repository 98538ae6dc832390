/* Run-time fallback: training through the dispatcher with the broken modules of
 * tests/plugins must give exactly the weights of a CPU-only run of the same steps (the
 * broken modules compute with the CPU backend's code until their fault), take exactly
 * the expected switches, and fail cleanly where no fallback is allowed. */
#include <config.h>

#include <math.h>
#include <stdio.h>

#include "dispatch_util.h"
#include "tap.h"

static float *init;
static struct du_run ref;

static int same_as_ref(const struct du_run *r)
{
    return r->steps_done == DU_STEPS && !memcmp(r->w, ref.w, ref.n * sizeof *ref.w) &&
           !memcmp(r->loss, ref.loss, sizeof ref.loss) && !memcmp(r->norm, ref.norm, sizeof ref.norm);
}

/* Train with `backend` + settings and expect the reference result after `switches`
 * switches, ending on `final`. */
static void expect_ref(const char *label, const char *backend, const char *fallback,
                       const char *settings, int switches, const char *final)
{
    struct ant_run_config rc;
    struct du_run r;
    du_config(&rc, backend, fallback, 0, settings);
    int rc_ = du_train(&rc, &r, init);
    ok(rc_ == 0 && same_as_ref(&r) && r.switches == switches && !strcmp(r.backend, final),
       "%s: equals the CPU-only run, %d switch(es), ends on %s", label, switches, final);
    if (rc_ < 0 || !same_as_ref(&r) || r.switches != switches || strcmp(r.backend, final))
        diag("rc %d, steps %d, switches %d, backend %s, error: %s", rc_, r.steps_done, r.switches,
             r.backend, r.err);
    du_free(&r);
}

/* One dispatcher with a failing eval_loss or logits, against a CPU-only one. */
static void expect_forward_fallback(const char *call)
{
    struct ant_run_config rc;
    struct ant_err e = {""};
    struct ant_dispatch *cpu = NULL, *bad = NULL;
    char settings[200];
    int32_t tok[DU_B * 8], tgt[DU_B * 8];
    float want[32], got[32];
    du_batch(tok, tgt, 0, 0);
    struct ant_batch b = {DU_B, du_model.seq_len, tok, tgt};
    int is_eval = !strcmp(call, "eval_loss");
    du_config(&rc, "cpu", "", 0, NULL);
    int good = dispatch_open(&cpu, &rc, DU_B, &e) == 0 && dispatch_weights_changed(cpu, init, &e) == 0 &&
               (is_eval ? dispatch_eval_loss(cpu, init, &b, want, &e)
                        : dispatch_logits(cpu, init, tok, 5, want, &e)) == 0;
    snprintf(settings, sizeof settings,
             "backends: { test-midrun: { fail_call = \"%s\"; fail_at = 0; }; };", call);
    du_config(&rc, "test-midrun", "cpu", 0, settings);
    good = good && dispatch_open(&bad, &rc, DU_B, &e) == 0 &&
           dispatch_weights_changed(bad, init, &e) == 0 &&
           (is_eval ? dispatch_eval_loss(bad, init, &b, got, &e)
                    : dispatch_logits(bad, init, tok, 5, got, &e)) == 0;
    ok(good && !memcmp(got, want, (is_eval ? 1 : 32) * sizeof *got) &&
       dispatch_switches(bad) == 1 && !strcmp(dispatch_backend_name(bad), "cpu"),
       "%s failure falls back to cpu with the same result (%s)", call, e.msg);
    if (bad) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        dispatch_report(bad, f);
        fclose(f);
        ok(buf && strstr(buf, "test-midrun -> cpu") && strstr(buf, "failed (injected)") &&
           strstr(buf, "backend switches: 1"), "report names the switch and its cause");
        for (char *line = buf ? strtok(buf, "\n") : NULL; line; line = strtok(NULL, "\n"))
            diag("%s", line);
        free(buf);
    }
    dispatch_close(cpu);
    dispatch_close(bad);
}

int main(void)
{
    if (!getenv("ANETRAIN_BUILDDIR")) tap_skip_all("ANETRAIN_BUILDDIR not set (run through make check)");
    struct ant_layout lay;
    ant_layout_init(&lay, &du_model);
    init = malloc(lay.total * sizeof *init);
    du_init_weights(init, lay.total, 42);

    struct ant_run_config rc;
    du_config(&rc, "cpu", "", 0, NULL);
    if (!ok(du_train(&rc, &ref, init) == 0 && ref.switches == 0, "CPU-only reference run (%s)", ref.err))
        return tap_done();
    ok(ref.loss[DU_STEPS - 1] < ref.loss[0] && memcmp(ref.w, init, ref.n * sizeof *init),
       "the reference run learns: loss %.4f -> %.4f", ref.loss[0], ref.loss[DU_STEPS - 1]);

    /* A second CPU-only run must agree bit for bit, or nothing below can be compared. */
    expect_ref("CPU-only again", "cpu", "", NULL, 0, "cpu");
    /* The broken modules outrank cpu, so auto tries them first and falls back twice. */
    expect_ref("auto on chip none (broken drop-ins outrank cpu)", "auto", "", NULL, 2, "cpu");

    /* Compile failure at the start. */
    expect_ref("open fails", "test-open-fails", "cpu", NULL, 1, "cpu");
    /* Fails mid-run on train_step call k (two calls per step: k = 3 is step 1's second
     * micro-batch, after the first already added to the grads). */
    expect_ref("train_step fails at call 3", "test-midrun", "cpu", NULL, 1, "cpu");
    expect_ref("train_step fails at call 0", "test-midrun", "cpu",
               "backends: { test-midrun: { fail_at = 0; }; };", 1, "cpu");
    expect_ref("train_step fails in the last step", "test-midrun", "cpu",
               "backends: { test-midrun: { fail_at = 11; }; };", 1, "cpu");
    /* Recompile failure after an optimizer update (weights_changed call 0 is the first
     * announcement, call s + 1 follows step s). */
    expect_ref("weights_changed fails after step 2", "test-midrun", "cpu",
               "backends: { test-midrun: { fail_call = \"weights_changed\"; fail_at = 3; }; };",
               1, "cpu");
    /* Non-finite output where the CPU is finite. */
    expect_ref("NaN loss at call 2", "test-nan", "cpu", NULL, 1, "cpu");
    expect_ref("NaN gradient at call 7", "test-nan", "cpu",
               "backends: { test-nan: { nan_at = 7; nan_what = \"grads\"; }; };", 1, "cpu");
    /* Two broken backends in a row, then cpu. */
    expect_ref("open fails, then NaN, then cpu", "test-open-fails", "test-nan cpu", NULL, 2, "cpu");
    /* A fault that never triggers: no switch at all. */
    expect_ref("healthy wrapper", "test-midrun", "cpu",
               "backends: { test-midrun: { fail_at = -1; }; };", 0, "test-midrun");

    /* Where no fallback is allowed the step fails, the steps before it stand. */
    struct du_run r;
    du_config(&rc, "test-midrun", "cpu", 1, NULL);
    ok(du_train(&rc, &r, init) < 0 && r.steps_done == 1 && strstr(r.err, "failed (injected)"),
       "--strict: step 1 fails with the cause: %s", r.err);
    du_free(&r);
    du_config(&rc, "test-midrun", "", 0, NULL);
    ok(du_train(&rc, &r, init) < 0 && r.steps_done == 1 && strstr(r.err, "no backend left"),
       "no fallback listed: step 1 fails: %s", r.err);
    du_free(&r);
    du_config(&rc, "test-needs-ane", "", 0, NULL);
    ok(du_train(&rc, &r, init) < 0 && strstr(r.err, "needs a Neural Engine"),
       "a named backend whose probe refuses: %s", r.err);
    du_free(&r);
    du_config(&rc, "test-needs-ane", "cpu", 0, NULL);
    ok(du_train(&rc, &r, init) == 0 && same_as_ref(&r) && r.switches == 0,
       "... runs the fallback list when there is one");
    du_free(&r);
    du_config(&rc, "test-misnamed", "cpu", 0, NULL);
    ok(du_train(&rc, &r, init) < 0 && strstr(r.err, "refused") && strstr(r.err, "ant_test_misnamed"),
       "a refused module named as backend: %s", r.err);
    du_free(&r);

    /* Divergence: non-finite weights make the CPU reference non-finite too. */
    float *bad = malloc(ref.n * sizeof *bad);
    memcpy(bad, init, ref.n * sizeof *bad);
    bad[lay.offset[ANT_RMS_FINAL]] = NAN;   /* every token goes through it */
    du_config(&rc, "cpu", "", 0, NULL);
    ok(du_train(&rc, &r, bad) == DISPATCH_NONFINITE && r.steps_done == 0 &&
       strstr(r.err, "diverged") && r.switches == 0,
       "non-finite on the CPU reference: DISPATCH_NONFINITE: %s", r.err);
    du_free(&r);
    /* A backend giving NaN where the CPU is non-finite too is not at fault: stay on it. */
    du_config(&rc, "test-nan", "cpu", 0, "backends: { test-nan: { nan_at = -1; }; };");
    ok(du_train(&rc, &r, bad) == DISPATCH_NONFINITE && r.steps_done == 0 &&
       strstr(r.err, "diverged") && r.switches == 0 && !strcmp(r.backend, "test-nan"),
       "NaN on the backend and on cpu: diverged, still on test-nan: %s", r.err);
    du_free(&r);
    /* eval_loss and logits tell divergence apart from "no backend left" the same way
     * train_step does (dispatch.h: DISPATCH_NONFINITE from every call). */
    {
        struct ant_dispatch *d = NULL;
        struct ant_err e = {""};
        int32_t tok[DU_B * 8], tgt[DU_B * 8];
        du_batch(tok, tgt, 0, 0);
        struct ant_batch b = {DU_B, du_model.seq_len, tok, tgt};
        float loss = 0, *logits = malloc(du_model.vocab_size * sizeof *logits);
        du_config(&rc, "cpu", "", 0, NULL);
        int opened = dispatch_open(&d, &rc, DU_B, &e) == 0 &&
                     dispatch_weights_changed(d, bad, &e) == 0;
        int re = opened ? dispatch_eval_loss(d, bad, &b, &loss, &e) : 0;
        ok(opened && re == DISPATCH_NONFINITE && strstr(e.msg, "diverged"),
           "eval_loss non-finite on the CPU reference: DISPATCH_NONFINITE (got %d: %s)", re, e.msg);
        int rl = opened ? dispatch_logits(d, bad, tok, 5, logits, &e) : 0;
        ok(opened && rl == DISPATCH_NONFINITE && strstr(e.msg, "diverged"),
           "logits non-finite on the CPU reference: DISPATCH_NONFINITE (got %d: %s)", rl, e.msg);
        if (d) dispatch_close(d);
        free(logits);
    }
    free(bad);

    expect_forward_fallback("eval_loss");
    expect_forward_fallback("logits");

    du_free(&ref);
    free(init);
    if (du_cfg_live) config_destroy(&du_cfg);
    return tap_done();
}
