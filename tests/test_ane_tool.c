/* `anetrain mil check|run` (ane_mil_main) with the real chip profiles, on files in a
 * mkdtemp folder: a built program and its blob written out, raw fp16 in and out. */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ane/tool/mil_tool.h"
#include "tap.h"
#include "test_ane_util.h"

static int run_argv(int argc, const char **argv) { return ane_mil_main(argc, (char **)argv); }
#define run(...) run_argv((int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(char *)) - 1, (const char *[]){__VA_ARGS__})

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    fwrite(p, 1, n, f);
    fclose(f);
}

/* Run with stderr sent to path; its text (up to n-1 bytes) into buf. */
static int run_stderr(const char *path, char *buf, size_t n, int argc, const char **argv)
{
    fflush(stderr);
    int saved = dup(2), fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    close(fd);
    int rc = run_argv(argc, argv);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    FILE *f = fopen(path, "rb");
    size_t k = f ? fread(buf, 1, n - 1, f) : 0;
    if (f) fclose(f);
    buf[k] = 0;
    remove(path);
    return rc;
}

static double rne(double v)
{
    double f = floor(v), d = v - f;
    return d > 0.5 ? f + 1 : d < 0.5 ? f : (fmod(f, 2) == 0 ? f : f + 1);
}

/* tests/mil/w8a8.mil (§8.3's chain: int8 weights by constexpr_affine_dequantize, conv,
 * quantize, dequantize, conv) through `mil run`, and `mil check` of the SDPA programs.
 * Inputs are multiples of 1/8 and weights q/8 with |q| <= 8, so every sum is exact in
 * fp32 and the first conv exact in fp16: the float64 reference rounds once, at the
 * end, and the quantizer's ties and clamps are met exactly. */
static void test_w8a8(const char *dir)
{
    enum { C = 8, S = 16 };
    const char *src = getenv("ANETRAIN_SRCDIR");
    char prog[1200], sdpa[1200], sdpa_v[1200], wdir[1200], blob[1300], in[1200], out[1200], err[1200];
    snprintf(prog, sizeof prog, "%s/tests/mil/w8a8.mil", src ? src : ".");
    snprintf(sdpa, sizeof sdpa, "%s/tests/mil/sdpa_mask.mil", src ? src : ".");
    snprintf(sdpa_v, sizeof sdpa_v, "%s/tests/mil/sdpa_verbose.mil", src ? src : ".");
    snprintf(wdir, sizeof wdir, "%s/weights", dir);
    snprintf(blob, sizeof blob, "%s/w8.bin", wdir);
    snprintf(in, sizeof in, "%s/x.bin", dir);
    snprintf(out, sizeof out, "%s/y.bin", dir);
    snprintf(err, sizeof err, "%s/stderr.txt", dir);
    struct ant_rng r;
    struct ant_err e;
    rng_seed(&r, 88);
    int8_t Q[2][C * C];
    float x[C * S], y[C * S];
    uint16_t xh[C * S], yh[C * S];
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < C * C; i++) Q[k][i] = (int8_t)((int)rng_below(&r, 17) - 8);
    for (int i = 0; i < C * S; i++) x[i] = (float)((int)rng_below(&r, 33) - 16) / 8;
    struct ane_weights w;
    weights_init(&w);
    struct ane_blob *b = weights_blob(&w, "w8.bin", &e);
    uint64_t off[2];
    ok(b && !blob_add_i8(b, Q[0], C * C, &off[0], &e) && !blob_add_i8(b, Q[1], C * C, &off[1], &e) &&
       off[0] == 64 && off[1] == 192, "int8 blob: chunks at 64 and 192, as w8a8.mil names them");
    mkdir(wdir, 0700);
    write_file(blob, b->data, b->size);
    fp16_encode(xh, x, C * S);
    write_file(in, xh, sizeof xh);
    ok(run("mil", "check", prog, "--chip", "M4", "--weights", dir, NULL) == 0, "mil check w8a8.mil on M4 passes");
    ok(run("mil", "check", prog, "--chip", "M1", NULL) == 1, "mil check w8a8.mil on M1 fails (program 1.3)");
    ok(run("mil", "run", prog, "--chip", "M4", "--weights", dir, "--in", in, "--out", out, NULL) == 0,
       "mil run w8a8.mil on the emulator");
    FILE *f = fopen(out, "rb");
    size_t got = f ? fread(yh, 1, sizeof yh + 1, f) : 0;
    if (f) fclose(f);
    fp16_decode(y, yh, C * S);
    int bad = 0, ties = 0, clamps = 0;
    for (int o = 0; o < C; o++)
        for (int s = 0; s < S; s++) {
            double acc = 0;
            for (int c = 0; c < C; c++) {
                double c0 = 0;
                for (int k = 0; k < C; k++) c0 += Q[0][c * C + k] / 8.0 * x[k * S + s];
                double v = c0 / 0.03125, q = rne(v);
                ties += v - floor(v) == 0.5;
                clamps += q < -128 || q > 127;
                q = q < -128 ? -128 : q > 127 ? 127 : q;
                acc += Q[1][o * C + c] / 8.0 * (q * 0.03125);
            }
            bad += y[o * S + s] != fp16_round((float)acc);
        }
    ok(got == sizeof yh && bad == 0 && ties > 0 && clamps > 0,
       "w8a8 output = float64 conv(dequant(clamp(rne(conv(x)/s)))) exactly (%d bad; %d ties, %d clamps met)",
       bad, ties / C, clamps / C);
    char msg[4096];
    const char *argv_check[] = {"mil", "check", sdpa, "--chip", "M4", NULL};
    int rc = run_stderr(err, msg, sizeof msg, 5, argv_check);
    ok(rc == 0 && strstr(msg, "sdpa_mask.mil:6:") &&
       strstr(msg, "attn_mask is ignored on the ANE, so the result is not causal"),
       "mil check sdpa_mask.mil on M4 passes and warns that the mask is ignored: %.200s", msg);
    ok(run("mil", "check", sdpa_v, "--chip", "M1", NULL) == 1, "mil check of SDPA on M1 fails (its profile)");
    remove(blob), remove(in), remove(out);
    rmdir(wdir);
    weights_free(&w);
}

int main(void)
{
    char dir[] = "/tmp/ane_tool_XXXXXX", path[4][1200];
    if (!mkdtemp(dir)) tap_skip_all("mkdtemp failed");
    struct ant_chip m4 = test_chip_m4();
    struct ant_err e;
    enum { C = 32, O = 16, S = 8 };
    float W[O * C], x[C * S], y[O * S];
    struct ant_rng r;
    rng_seed(&r, 8);
    fill_normal(&r, W, O * C, 0.2);
    fill_normal(&r, x, C * S, 1.0);
    to_fp16(W, O * C), to_fp16(x, C * S);

    struct ane_weights w;
    weights_init(&w);
    struct mil_builder *b = milb_new(&m4);
    mil_v in = milb_input(b, "act", MIL_FP16, MIL_SHAPE(1, C, 1, S));
    mil_v cv = milb_conv(b, "proj", in, milb_weight(b, "wproj", &w, "proj.bin", MIL_SHAPE(O, C, 1, 1), W));
    milb_output(b, milb_mul(b, "half", cv, milb_scalar(b, "k", 0.5f)));
    char *text = milb_text(b, &e);
    milb_free(b);
    snprintf(path[0], sizeof path[0], "%s/prog.mil", dir);
    write_file(path[0], text, strlen(text));
    snprintf(path[1], sizeof path[1], "%s/weights", dir);
    mkdir(path[1], 0700);
    snprintf(path[1], sizeof path[1], "%s/weights/proj.bin", dir);
    write_file(path[1], w.blob[0]->data, w.blob[0]->size);
    snprintf(path[2], sizeof path[2], "%s/in.bin", dir);
    uint16_t xh[C * S], yh[O * S];
    fp16_encode(xh, x, C * S);
    write_file(path[2], xh, sizeof xh);
    snprintf(path[3], sizeof path[3], "%s/out.bin", dir);

    ok(run("mil", "check", path[0], "--chip", "M4", "--weights", dir, NULL) == 0, "check on M4 with weights passes");
    ok(run("mil", "check", path[0], "--chip", "M1", NULL) == 1, "check on M1 refuses program(1.3)");
    ok(run("mil", "check", path[0], "--chip", "M9", NULL) == 1, "an unknown chip gets the conservative profile, which refuses 1.3");
    ok(run("mil", "frobnicate", path[0], NULL) == 2, "an unknown subcommand is a usage error");
    ok(run("mil", "run", path[0], "--chip", "M4", "--weights", dir, "--in", path[2], NULL) == 1,
       "run without --out files refused");
    ok(run("mil", "run", path[0], "--chip", "M4", "--weights", dir, "--in", path[2], "--out", path[3], NULL) == 0,
       "run on the emulator");
    FILE *f = fopen(path[3], "rb");
    size_t got = f ? fread(yh, 1, sizeof yh + 1, f) : 0;
    if (f) fclose(f);
    ok(got == sizeof yh, "output file holds %d fp16 values", O * S);
    fp16_decode(y, yh, O * S);
    int bad = 0;
    for (int o = 0; o < O; o++)
        for (int s = 0; s < S; s++) {
            double acc = 0;
            for (int c = 0; c < C; c++) acc += (double)W[o * C + c] * x[c * S + s];
            bad += fabs(y[o * S + s] - 0.5 * acc) > 1e-3 + 1e-3 * fabs(acc);
        }
    ok(bad == 0, "output = 0.5 * W x within fp16 tolerance (%d bad)", bad);
    write_file(path[2], xh, sizeof xh - 2);
    ok(run("mil", "run", path[0], "--chip", "M4", "--weights", dir, "--in", path[2], "--out", path[3], NULL) == 1,
       "an input file of the wrong size refused");
    ok(run("mil", "run", path[0], "--chip", "M4", "--in", path[2], "--out", path[3], NULL) == 1,
       "a BLOBFILE without --weights refused");
    test_w8a8(dir);
    for (int i = 0; i < 4; i++) remove(path[i]);
    snprintf(path[1], sizeof path[1], "%s/weights", dir);
    rmdir(path[1]);
    ok(rmdir(dir) == 0, "temp folder cleaned");
    free(text);
    weights_free(&w);
    return tap_done();
}
