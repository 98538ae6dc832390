/* The device interface on the emulator: the chip profile's rules (dialect, cast, fp32
 * I/O, compile budget, surface sizes), the compile cache, requests and counters. */
#include <stdio.h>

#include "tap.h"
#include "test_ane_util.h"

/* A small distinct kernel: y = x * k (k differs per call, so the text differs). */
static char *scale_kernel(const struct ant_chip *chip, float k, int cast)
{
    struct ant_err e;
    struct mil_builder *b = milb_new(chip);
    mil_v x = milb_input(b, "act", cast ? MIL_FP32 : MIL_FP16, MIL_SHAPE(1, 32, 1, 16));
    if (cast) x = milb_cast(b, "act16", x, MIL_FP16);
    mil_v y = milb_mul(b, "scaled", x, milb_scalar(b, "factor", k));
    if (cast) y = milb_cast(b, "out32", y, MIL_FP32);
    milb_output(b, y);
    char *t = milb_text(b, &e);
    milb_free(b);
    return t;
}

int main(void)
{
    struct ant_chip m1 = test_chip_m1(), m4 = test_chip_m4();
    struct ant_err e;
    struct ant_rng r;
    rng_seed(&r, 3);
    float x[512], y1[512], y4[512], g[32];
    fill_normal(&r, x, 512, 2.0);
    fill_normal(&r, g, 32, 1.0);

    /* the same kernel in both dialects gives identical results */
    struct ane_weights w1, w4;
    weights_init(&w1), weights_init(&w4);
    char *t1 = test_norm_kernel(&m1, &w1, g), *t4 = test_norm_kernel(&m4, &w4, g);
    ok(t1 && t4 && strstr(t1, "program(1.0)") && strstr(t4, "program(1.3)"), "one kernel built in both dialects");
    ok(emu_run_text(&m1, t1, &w1, (const float *[]){x}, (float *[]){y1}, &e) == 0 &&
       emu_run_text(&m4, t4, &w4, (const float *[]){x}, (float *[]){y4}, &e) == 0 && !memcmp(y1, y4, sizeof y1),
       "M1 (verbose) and M4 (modern) give bit-identical results");

    struct ane_device *d1 = ane_open("emulator", &m1, &e), *d4 = ane_open("emulator", &m4, &e);
    ok(d1 && d4, "emulator devices open");
    /* compiles are counted below: no kernels from the on-disk cache of earlier runs */
    ane_cache_configure(d1, NULL, 0, 0, &e), ane_cache_configure(d4, NULL, 0, 0, &e);
    ok(ane_open("nonesuch", &m4, &e) == NULL && strstr(e.msg, "not available"), "unknown device refused: %s", e.msg);
    struct ane_kernel *k = ane_compile(d1, t4, strlen(t4), &w4, "modern.mil", &e);
    ok(!k && strstr(e.msg, "modern.mil:1:9: program(1.3) is newer than M1"), "M1 refuses the modern dialect: %s", e.msg);
    char *tc = scale_kernel(&m4, 2.0f, 1);
    k = ane_compile(d1, tc, strlen(tc), NULL, "cast.mil", &e);
    /* the M4 text is refused for its version first; the same program in M1's dialect for its cast */
    struct ant_chip m1_modern = m1;
    m1_modern.mil_program = "1.3", m1_modern.mil_target = "ios18", m1_modern.mil_verbose_scalars = 0;
    struct ane_device *dm = ane_open("emulator", &m1_modern, &e);
    struct ane_kernel *kc = ane_compile(dm, tc, strlen(tc), NULL, "cast.mil", &e);
    ok(!k && !kc && strstr(e.msg, "cast") && strstr(e.msg, "no cast op"), "a chip without cast refuses it: %s", e.msg);
    ane_close(dm);

    /* fp32 I/O with cast on M4: fp32 surfaces, fp16 inside */
    k = ane_compile(d4, tc, strlen(tc), NULL, "cast.mil", &e);
    ok(k && ane_kernel_io(k, 0, 0)->type.dt == MIL_FP32 && ane_kernel_io(k, 0, 0)->bytes == 32 * 16 * 4,
       "M4 compiles fp32 I/O with cast; input is 2048 bytes of fp32");
    struct ane_surface *si = ane_surface_for(k, 0, 0, &e), *so = ane_surface_for(k, 1, 0, &e);
    struct ane_request *rq = ane_request_new(k, &si, 1, &so, 1, &e);
    float in32[512], out32[512];
    for (int i = 0; i < 512; i++) in32[i] = 1.0f + (float)i / 4096;   /* not all fp16 values */
    ane_surface_put(si, MIL_FP32, 0, in32, 512, &e);
    int good = rq && ane_eval(rq, &e) == 0 && ane_surface_get(so, MIL_FP32, 0, out32, 512, &e) == 0;
    for (int i = 0; good && i < 512; i++) good = out32[i] == fp16_round(2 * fp16_round(in32[i]));
    ok(good, "cast rounds fp32 input to fp16 before the op, output is the fp16 result widened");
    struct ane_kernel_stats ks;
    ane_eval(rq, &e), ane_eval(rq, &e);
    ane_kernel_stats(k, &ks);
    ok(ks.evals == 3 && ks.flops == 3 * 512 && ks.flops_per_eval == 512, "3 evaluations of 512 FLOPs counted");
    ane_request_free(rq);
    ane_surface_free(si), ane_surface_free(so);
    ane_kernel_free(k);
    free(tc);

    /* surfaces per profile (§2.2) */
    ok(ane_surface_bytes(&m1, 100) == 2048 && ane_surface_bytes(&m1, 2049) == 2304 && ane_surface_bytes(&m4, 100) == 49152 &&
       ane_surface_bytes(&m4, 49153) == 49280, "surface sizes: M1 256-aligned from 2048, M4 128-aligned from 49152");
    char *ts = scale_kernel(&m1, 3.0f, 0);
    k = ane_compile(d1, ts, strlen(ts), NULL, "s.mil", &e);
    si = ane_surface_for(k, 0, 0, &e), so = ane_surface_for(k, 1, 0, &e);
    ok(ane_surface_size(si) == 2048, "a 1024-byte fp16 input gets a 2048-byte surface on M1");
    ok(ane_request_new(k, &si, 1, NULL, 0, &e) == NULL && strstr(e.msg, "binds 1 inputs and 0 outputs"), "wrong surface count refused");
    struct ane_surface *foreign = ane_surface_new(d4, 64, &e);
    ok(ane_request_new(k, &si, 1, &foreign, 1, &e) == NULL && strstr(e.msg, "no surface of this device"), "a surface of another device refused");
    ane_surface_free(foreign);
    ok(ane_surface_put(si, MIL_FP16, 1020, x, 10, &e) == -1 && strstr(e.msg, "past"), "write past a surface refused");

    /* compile cache: the same program and weights again is a hit, not a compile */
    int before = ane_compiles_in_process();
    struct ane_kernel *k2 = ane_compile(d1, ts, strlen(ts), NULL, "s.mil", &e);
    ane_kernel_stats(k2, &ks);
    ok(k2 && ks.from_cache && ane_compiles_in_process() == before, "recompiling an identical program hits the cache");
    struct ane_weights wx;
    weights_init(&wx);
    weights_add_raw(&wx, "@model_path/weights/unused.bin", "x", 1, &e);
    struct ane_kernel *k3 = ane_compile(d1, ts, strlen(ts), &wx, "s.mil", &e);
    ane_kernel_stats(k3, &ks);
    ok(k3 && !ks.from_cache && ane_compiles_in_process() == before + 1, "different weights make a different cache key");
    ok(ane_program_key(ts, strlen(ts), NULL) != ane_program_key(ts, strlen(ts), &wx), "cache key covers the weights");
    weights_free(&wx);

    /* the compile budget trips at the profile's number (§1.9) */
    int done = ane_compiles_in_process(), failed_at = -1;
    struct ane_kernel *ks_[128] = {0};
    for (int i = 0; i < 110 && failed_at < 0; i++) {
        char *t = scale_kernel(&m1, 1.0f + (float)i / 64, 0);
        if (!(ks_[i] = ane_compile(d1, t, strlen(t), NULL, "n.mil", &e))) failed_at = done + i + 1;
        free(t);
    }
    ok(failed_at == m1.compile_budget + 1 && strstr(e.msg, "allows 100 compiles per process"),
       "compile %d fails, the first past the budget of %d: %s", failed_at, m1.compile_budget, e.msg);
    struct ane_kernel *hit = ane_compile(d1, ts, strlen(ts), NULL, "s.mil", &e);
    ok(hit != NULL, "a cache hit still works past the budget");
    ane_kernel_free(hit);
    struct ane_kernel *late = ane_compile(d4, t4, strlen(t4), &w4, "other.mil", &e);
    ok(late == NULL, "the budget is per process: another device fails too");
    for (int i = 0; i < 128; i++) ane_kernel_free(ks_[i]);

    struct ane_device_stats ds;
    ane_device_stats(d1, &ds);
    ok(ds.cache_hits == 2 && ds.compiles > 90 && ane_compiles_in_process() == 100, "device counts its compiles and cache hits");
    ane_surface_free(si), ane_surface_free(so);
    ane_kernel_free(k), ane_kernel_free(k2), ane_kernel_free(k3);
    ane_close(d1), ane_close(d4);
    free(ts), free(t1), free(t4);
    weights_free(&w1), weights_free(&w4);
    return tap_done();
}
