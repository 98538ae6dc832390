/* ane-dynamic's figures: an emulated stories15M training step next to the CPU
 * backend's in the same run (the emulator's speed), and for stories110M the FLOP share
 * on the device, evaluations, staged bytes and modelled device time per step of each
 * placement of the work (dW and classifier on the device or the CPU), with upstream's
 * dynamic pipeline for comparison (§6: 10 evaluations per layer, 53% of FLOPs on the
 * device). Prints figures; never fails on time.
 *
 *   bench/bench_ane [--steps N] [--skip-110M]   (batch 1, seq 256, chip profile M4) */
#include <anetrain/backend.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "bench_util.h"
#include "dispatch/chip.h"

int ant_cpu_LTX_ant_backend_entry(const struct ant_host *host, const struct ant_backend **out);
int ant_ane_dynamic_LTX_ant_backend_entry(const struct ant_host *host, const struct ant_backend **out);
int ant_ane_static_LTX_ant_backend_entry(const struct ant_host *host, const struct ant_backend **out);

static const struct ant_host host = {ANT_ABI_MAJOR, ANT_ABI_MINOR, sizeof host, NULL};

struct run {
    double ms;   /* median ms/step */
    long open_compiles;   /* compiles done by open itself */
    double open_compile_ms;
    struct ant_backend_stats st;
};

/* steps train steps of one batch; the median step time and the backend's counters. */
static int bench(const struct ant_backend *be, const struct ant_model_config *c, const struct ant_chip *chip,
                 const char *dw, const char *cls, int extras, int steps, struct run *out)
{
    struct ant_setting_value sv[] = {{"device", ANT_SET_STRING, 0, 0, "emulator"},
                                     {"dw", ANT_SET_STRING, 0, 0, dw},
                                     {"classifier", ANT_SET_STRING, 0, 0, cls},
                                     {"extras", ANT_SET_BOOL, extras, 0, NULL},
                                     {"compile_cache", ANT_SET_BOOL, 0, 0, NULL}, {NULL}};
    struct ant_open_args a = {.size = sizeof a, .model = c, .chip = chip, .settings = sv,
                              .max_batch = 1, .threads = 2};
    struct ant_layout lay;
    ant_layout_init(&lay, c);
    float *w = malloc(lay.total * sizeof *w), *g = calloc(lay.total, sizeof *g);
    struct ant_rng r;
    rng_seed(&r, 1);
    for (size_t i = 0; i < lay.total; i++) w[i] = 0.02f * (float)rng_normal(&r);
    int32_t *tok = malloc(c->seq_len * sizeof *tok), *tgt = malloc(c->seq_len * sizeof *tgt);
    for (int i = 0; i < c->seq_len; i++) tok[i] = (int32_t)rng_below(&r, c->vocab_size);
    for (int i = 0; i < c->seq_len; i++) tgt[i] = tok[(i + 1) % c->seq_len];
    struct ant_batch b = {1, c->seq_len, tok, tgt};
    void *ctx = NULL;
    char why[600] = "";
    double *t = calloc(steps, sizeof *t);
    int rc = be->open(&host, &a, &ctx, why, sizeof why);
    out->st = (struct ant_backend_stats){.size = sizeof out->st};
    if (rc == 0 && be->stats) be->stats(ctx, &out->st);
    out->open_compiles = out->st.compiles;
    out->open_compile_ms = out->st.compile_ms;
    for (int s = 0; rc == 0 && s < steps; s++) {
        float loss;
        for (size_t i = 0; s && i < lay.total; i++) w[i] *= 1.0001f;   /* an update changes every weight */
        double t0 = now_ms();
        rc = (be->weights_changed && be->weights_changed(ctx, w)) || be->train_step(ctx, w, &b, g, 1.0f, &loss);
        t[s] = now_ms() - t0;
    }
    if (rc) fprintf(stderr, "bench_ane: %s: %s\n", be->name, ctx ? be->last_error(ctx) : why);
    qsort(t, steps, sizeof *t, cmp_double);
    out->ms = t[steps / 2];
    if (ctx && be->stats) be->stats(ctx, &out->st);
    if (ctx) be->close(ctx);
    free(w), free(g), free(tok), free(tgt), free(t);
    return rc;
}

static void device_line(const char *what, const struct run *r)
{
    double n = r->st.steps ? (double)r->st.steps : 1;
    printf("  %-34s %5.1f%% of FLOPs on the device, %4.0f evals/step, %7.1f MB staged/step, "
           "modelled device time %6.1f ms/step\n", what, 100 * r->st.device_flops / r->st.flops,
           r->st.evals / n, r->st.staged_bytes / n / 1e6, r->st.modelled_device_ms / n);
}

int main(int argc, char **argv)
{
    int steps = 3, skip110 = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--steps") && i + 1 < argc) steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--skip-110M")) skip110 = 1;
        else return fprintf(stderr, "usage: bench_ane [--steps N] [--skip-110M]\n"), 2;
    }
    if (steps < 1) steps = 1;
    struct ant_err e;
    struct ant_chip chip, real;
    if (chip_profiles_load(NULL, &e) || chip_from_name("M4", &real, &e))
        return fprintf(stderr, "bench_ane: %s\n", e.msg), 1;
    chip = real;
    chip.compile_budget = 0;   /* count ane-static's compiles; restarts follow from real's */
    const struct ant_backend *cpu, *ane, *stat;
    ant_cpu_LTX_ant_backend_entry(&host, &cpu);
    ant_ane_dynamic_LTX_ant_backend_entry(&host, &ane);
    ant_ane_static_LTX_ant_backend_entry(&host, &stat);
    printf("sgemm peak (2048^3, best of 5): %.1f GFLOP/s\n", sgemm_peak(2048));

    struct ant_model_config s15 = {288, 768, 6, 6, 6, 32000, 256, 1, 10000.0f, 1e-5f};
    struct run rc, ra, rx;
    if (bench(cpu, &s15, &chip, "device", "device", 0, steps, &rc) ||
        bench(ane, &s15, &chip, "device", "device", 0, steps, &ra) ||
        bench(ane, &s15, &chip, "device", "device", 1, steps, &rx))
        return 1;
    printf("stories15M, batch 1 x 256 tokens, median of %d steps:\n", steps);
    printf("  cpu backend                        %8.1f ms/step\n", rc.ms);
    printf("  ane-dynamic on the emulator (M4)   %8.1f ms/step = %.2fx the CPU\n", ra.ms, ra.ms / rc.ms);
    printf("  the same with extras = true        %8.1f ms/step = %.2fx the CPU\n", rx.ms, rx.ms / rc.ms);
    device_line("ane-dynamic (emulated)", &ra);
    device_line("ane-dynamic, extras (emulated)", &rx);
    if (skip110) return 0;

    struct ant_model_config s110 = {768, 2048, 12, 12, 12, 32000, 256, 1, 10000.0f, 1e-5f};
    static const char *place[][4] = {{"device", "device", "", "dW and classifier on the device"},
                                     {"device", "device", "x", "the same with extras = true"},
                                     {"cpu", "device", "", "dW on the CPU worker"},
                                     {"cpu", "cpu", "", "dW and classifier on the CPU"}};
    printf("stories110M, batch 1 x 256 tokens, one step each on the emulator (M4):\n");
    for (int i = 0; i < 4; i++) {
        struct run r;
        if (bench(ane, &s110, &chip, place[i][0], place[i][1], place[i][2][0] != 0, 1, &r)) return 1;
        device_line(place[i][3], &r);
    }
    printf("  upstream's dynamic pipeline (§6)    53%% of FLOPs on the device, 120 evals/step\n");

    printf("ane-static, stories110M, 2 steps on the emulator (M4, budget %d compiles/process):\n",
           real.compile_budget);
    for (int extras = 0; extras < 2; extras++) {
        struct run r;
        if (bench(stat, &s110, &chip, "device", "device", extras, 2, &r)) return 1;
        long per_update = (r.st.compiles - r.open_compiles) / 2;
        long per_process = per_update > 0 ? (real.compile_budget - r.open_compiles) / per_update : 0;
        device_line(extras ? "the same with extras = true" : "dW and classifier on the device", &r);
        printf("  %ld compiles per weight update (+%ld weight-free at open), %.0f ms of emulated "
               "compiling per update; %ld update(s) per process\n", per_update, r.open_compiles,
               (r.st.compile_ms - r.open_compile_ms) / 2, per_process);
        if (per_process > 0)
            printf("  restarts per 1,000 steps: %.0f with grad_accum 1, %.0f with grad_accum 10 "
                   "(ane-dynamic: 0)\n", 1000.0 / per_process, 100.0 / per_process);
    }
    return 0;
}
