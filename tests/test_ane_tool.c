/* `anetrain mil check|run` (ane_mil_main) with the real chip profiles, on files in a
 * mkdtemp folder: a built program and its blob written out, raw fp16 in and out. */
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
    for (int i = 0; i < 4; i++) remove(path[i]);
    snprintf(path[1], sizeof path[1], "%s/weights", dir);
    rmdir(path[1]);
    ok(rmdir(dir) == 0, "temp folder cleaned");
    free(text);
    weights_free(&w);
    return tap_done();
}
