/* The M1 rules of docs/ane.md §7.3 on the emulator, with the real chip profiles
 * (configs/chips.cfg): M1 on macOS 26.3 (silent-zero rules, ops refused), M1 on macOS
 * 15.6 and M4 (neither). For each silent-zero rule a program that obeys it gives the
 * float64 reference and one that breaks it gives zeros and a warning at its place; the
 * same programs on M4 and on M1 / 15.6 give the reference. Refused ops and the 4-D
 * runtime matmul are refused with FILE:LINE:COL on M1 / 26.3 only. Then `anetrain mil
 * check` prints the warnings, with --os and ANETRAIN_OS choosing the rules.
 *
 * Values are multiples of 1/8 in [-2, 2], so every product and sum below is exact in
 * fp32 and the one rounding is the output's to fp16: results are compared exactly with
 * the float64 reference rounded to fp16. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "ane/tool/mil_tool.h"
#include "dispatch/chip.h"
#include "tap.h"
#include "test_ane_util.h"

static struct ant_chip m1_26, m1_15, m4;
static char tmpdir[256];

/* Eighths in [-2, 2], as fp16 carries them exactly. */
static void fill_eighths(struct ant_rng *r, float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = (float)((int)rng_below(r, 33) - 16) / 8;
}

/* stderr into a file from capture_begin to capture_end, which reads it into buf. */
static void capture_begin(int *saved)
{
    char path[300];
    snprintf(path, sizeof path, "%s/stderr.txt", tmpdir);
    fflush(stderr);
    *saved = dup(2);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    close(fd);
}

static void capture_end(int saved, char *buf, size_t n)
{
    char path[300];
    snprintf(path, sizeof path, "%s/stderr.txt", tmpdir);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    FILE *f = fopen(path, "rb");
    size_t k = f ? fread(buf, 1, n - 1, f) : 0;
    if (f) fclose(f);
    buf[k] = 0;
}

/* Compile text on chip, bind surfaces (unpadded: ane_surface_new_unpadded), run once,
 * read the outputs. What the device logged goes to log. 0 or -1 with e. */
static int run(const struct ant_chip *chip, const char *text, int unpadded, float *const *in,
               float *const *out, char *log, size_t log_n, struct ant_err *e)
{
    int saved, rc = -1;
    capture_begin(&saved);
    struct ane_device *d = ane_open("emulator", chip, e);
    struct ane_kernel *k = d ? ane_compile(d, text, strlen(text), NULL, "rule.mil", e) : NULL;
    struct ane_surface *s[2][4] = {{0}};
    struct ane_request *r = NULL;
    if (!k) goto out;
    for (int o = 0; o < 2; o++)
        for (int i = 0; i < ane_kernel_n_io(k, o); i++) {
            const struct ane_io *io = ane_kernel_io(k, o, i);
            s[o][i] = unpadded ? ane_surface_new_unpadded(d, io->bytes, e) : ane_surface_for(k, o, i, e);
            if (!s[o][i]) goto out;
        }
    for (int i = 0; i < ane_kernel_n_io(k, 0); i++) {
        const struct ane_io *io = ane_kernel_io(k, 0, i);
        if (ane_surface_put(s[0][i], MIL_FP16, 0, in[i], (size_t)mil_elems(&io->type), e)) goto out;
    }
    r = ane_request_new(k, s[0], ane_kernel_n_io(k, 0), s[1], ane_kernel_n_io(k, 1), e);
    if (!r || ane_eval(r, e)) goto out;
    for (int i = 0; i < ane_kernel_n_io(k, 1); i++) {
        const struct ane_io *io = ane_kernel_io(k, 1, i);
        if (ane_surface_get(s[1][i], MIL_FP16, 0, out[i], (size_t)mil_elems(&io->type), e)) goto out;
    }
    rc = 0;
out:
    ane_request_free(r);
    for (int o = 0; o < 2; o++)
        for (int i = 0; i < 4; i++) ane_surface_free(s[o][i]);
    ane_kernel_free(k);
    ane_close(d);
    capture_end(saved, log, log_n);
    return rc;
}

static int all_zero(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (x[i] != 0) return 0;
    return 1;
}

/* 1 when got equals the reference rounded to fp16, element by element. */
static int matches(const float *got, const double *ref, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float want = (float)ref[i];
        fp16_round_buf(&want, 1);
        if (got[i] != want) return 0;
    }
    return n > 0;
}

/* The builder's chip: the verbose dialect every profile here takes, no rules. */
static char *build_done(struct mil_builder *b)
{
    struct ant_err e;
    char *t = milb_text(b, &e);
    milb_free(b);
    if (!t) diag("build: %s", e.msg);
    return t;
}

/* y [1,Co,S] = W [1,Co,Ci] @ X [1,Ci,S], inputs declared W first unless x_first. */
static char *prog_matmul(int co, int ci, int s, int x_first)
{
    struct ant_chip v = test_chip_m1();
    struct mil_builder *b = milb_new(&v);
    mil_v w = -1, x = -1;
    if (x_first) x = milb_input(b, "xin", MIL_FP16, MIL_SHAPE(1, ci, s));
    w = milb_input(b, "win", MIL_FP16, MIL_SHAPE(1, co, ci));
    if (!x_first) x = milb_input(b, "xin", MIL_FP16, MIL_SHAPE(1, ci, s));
    milb_output(b, milb_matmul(b, "prod", w, x, 0, 0));
    return build_done(b);
}

/* y [1,C,S] = X [1,C,S] * K (shape kc x ks broadcast), K declared first (smaller). */
static char *prog_bcast(int c, int s, int kc, int ks)
{
    struct ant_chip v = test_chip_m1();
    struct mil_builder *b = milb_new(&v);
    mil_v k = milb_input(b, "kin", MIL_FP16, MIL_SHAPE(1, kc, ks));
    mil_v x = milb_input(b, "xin", MIL_FP16, MIL_SHAPE(1, c, s));
    milb_output(b, milb_mul(b, "scaled", x, k));
    return build_done(b);
}

/* The chips a right answer is expected on, with a label. */
struct where { const struct ant_chip *chip; const char *label; };

static void test_matmul_rules(struct ant_rng *rng)
{
    enum { CO = 32, S = 64, CI_MAX = 64 };
    static float w[CO * CI_MAX], x[CI_MAX * S], y[CO * S];
    static double ref[CO * S];
    char log[4096];
    struct ant_err e;
    const struct where right[] = {{&m4, "M4"}, {&m1_15, "M1 / macOS 15.6"}};
    static const struct { int ci, x_first; const char *what, *warn; } cases[] = {
        {64, 0, "inner 64, inputs in ascending size", NULL},
        {64, 1, "inputs not in ascending byte size (§7.3 slot order)", "input 'win' (4096 B) after 'xin' (8192 B)"},
        {48, 0, "inner dimension 48, not a multiple of 32 (§7.3 matmul)", "inner dimension 48 is not a multiple of 32"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int ci = cases[c].ci;
        fill_eighths(rng, w, (size_t)CO * ci);
        fill_eighths(rng, x, (size_t)ci * S);
        for (int o = 0; o < CO; o++)
            for (int s = 0; s < S; s++) {
                double acc = 0;
                for (int i = 0; i < ci; i++) acc += (double)w[o * ci + i] * x[i * S + s];
                ref[o * S + s] = acc;
            }
        char *text = prog_matmul(CO, ci, S, cases[c].x_first);
        float *in[2] = {cases[c].x_first ? x : w, cases[c].x_first ? w : x}, *out[1] = {y};
        for (size_t k = 0; k < 2; k++) {
            memset(y, 0x55, sizeof y);
            int rc = run(right[k].chip, text, 0, in, out, log, sizeof log, &e);
            ok(rc == 0 && matches(y, ref, (size_t)CO * S) && !strstr(log, "§7.3"),
               "%s: %s gives the float64 reference, no warning%s%s", cases[c].what, right[k].label,
               rc ? ": " : "", rc ? e.msg : "");
        }
        memset(y, 0x55, sizeof y);
        int rc = run(&m1_26, text, 0, in, out, log, sizeof log, &e);
        if (!cases[c].warn) {
            ok(rc == 0 && matches(y, ref, (size_t)CO * S) && !strstr(log, "§7.3"),
               "%s: M1 / macOS 26.3 gives the reference, no warning", cases[c].what);
        } else {
            ok(rc == 0 && all_zero(y, (size_t)CO * S), "%s: M1 / macOS 26.3 gives zeros", cases[c].what);
            /* the device layer logs the checker's warning at compile, at its line:col */
            ok(strstr(log, cases[c].warn) && strstr(log, "rule.mil:") && strstr(log, "§7.3"),
               "%s: the compile logs '%s' with FILE:LINE:COL", cases[c].what, cases[c].warn);
            if (!strstr(log, cases[c].warn)) diag("log: %s", log);
        }
        free(text);
    }
}

static void test_broadcast_rules(struct ant_rng *rng)
{
    enum { C = 32, S = 64 };
    static float x[C * S], k[C * S], y[C * S];
    static double ref[C * S];
    char log[4096];
    struct ant_err e;
    static const struct { int kc, ks; const char *what; int zero; } cases[] = {
        {1, S, "[1,C,S] * [1,1,S] (works, §7.3)", 0},
        {C, 1, "[1,C,S] * [1,C,1] per channel (§7.3 broadcast)", 1},
        {1, 1, "[1,C,S] * [1,1,1] (§7.3 broadcast)", 1},
        {C, S, "[1,C,S] * [1,C,S], no broadcast", 0},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int kc = cases[c].kc, ks = cases[c].ks;
        fill_eighths(rng, x, C * S);
        fill_eighths(rng, k, (size_t)kc * ks);
        for (int ch = 0; ch < C; ch++)
            for (int s = 0; s < S; s++)
                ref[ch * S + s] = (double)x[ch * S + s] * k[(kc > 1 ? ch : 0) * ks + (ks > 1 ? s : 0)];
        char *text = prog_bcast(C, S, kc, ks);
        float *in[2] = {k, x}, *out[1] = {y};
        const struct ant_chip *chips[3] = {&m4, &m1_15, &m1_26};
        const char *labels[3] = {"M4", "M1 / macOS 15.6", "M1 / macOS 26.3"};
        for (int i = 0; i < 3; i++) {
            memset(y, 0x55, sizeof y);
            int rc = run(chips[i], text, 0, in, out, log, sizeof log, &e);
            if (i == 2 && cases[c].zero)
                ok(rc == 0 && all_zero(y, C * S) && strstr(log, "mul 'scaled': broadcast of") &&
                   strstr(log, "§7.3 broadcast"), "%s: zeros and a warning on %s", cases[c].what, labels[i]);
            else
                ok(rc == 0 && matches(y, ref, C * S) && !strstr(log, "§7.3"),
                   "%s: the reference on %s, no warning", cases[c].what, labels[i]);
        }
        free(text);
    }
}

/* §2.2/§7.3: a surface under the minimum (~2048 B on M1) gives zeros on M1 / 26.3; the
 * device pads every surface it sizes, so only an unpadded one meets the rule. */
static void test_small_surface(struct ant_rng *rng)
{
    enum { C = 16, S = 32 };   /* 1024 B of fp16 */
    float x[C * S], y[C * S];
    double ref[C * S];
    char log[4096];
    struct ant_err e;
    struct ant_chip v = test_chip_m1();
    struct mil_builder *b = milb_new(&v);
    mil_v in = milb_input(b, "xin", MIL_FP16, MIL_SHAPE(1, C, S));
    milb_output(b, milb_add(b, "twice", in, in));
    char *text = build_done(b);
    fill_eighths(rng, x, C * S);
    for (int i = 0; i < C * S; i++) ref[i] = 2.0 * x[i];
    float *ins[1] = {x}, *outs[1] = {y};
    const struct ant_chip *chips[3] = {&m4, &m1_15, &m1_26};
    const char *labels[3] = {"M4", "M1 / macOS 15.6", "M1 / macOS 26.3"};
    for (int i = 0; i < 3; i++) {
        memset(y, 0x55, sizeof y);
        int rc = run(chips[i], text, 0, ins, outs, log, sizeof log, &e);
        ok(rc == 0 && matches(y, ref, C * S) && !strstr(log, "§7.3"),
           "a 1024-byte tensor in surfaces padded to the minimum: the reference on %s", labels[i]);
    }
    memset(y, 0x55, sizeof y);
    int rc = run(&m1_26, text, 1, ins, outs, log, sizeof log, &e);
    ok(rc == 0 && all_zero(y, C * S) && strstr(log, "1024-byte surface, under M1's 2048-byte minimum") &&
       strstr(log, "§2.2, §7.3"), "unpadded 1024-byte surfaces on M1 / macOS 26.3: zeros, and the request warns");
    if (rc || !strstr(log, "1024-byte")) diag("rc %d: %s / %s", rc, e.msg, log);
    rc = run(&m1_15, text, 1, ins, outs, log, sizeof log, &e);
    ok(rc < 0 && strstr(e.msg, "at least 2048 (§2.2)"), "on M1 / macOS 15.6 the request refuses them: %s", e.msg);
    rc = run(&m4, text, 1, ins, outs, log, sizeof log, &e);
    ok(rc < 0 && strstr(e.msg, "at least 49152"), "on M4 too: %s", e.msg);
    free(text);
}

/* Ops the profile refuses on macOS 26 (§7.3, §12.6), and the 4-D runtime matmul. */
static void test_refusals(struct ant_rng *rng)
{
    static const char *const ops[] = {"reshape", "transpose", "slice_by_size", "concat", "reduce_sum", "pow"};
    struct ant_err e;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        struct ant_chip v = test_chip_m1();
        struct mil_builder *b = milb_new(&v);
        mil_v x = milb_input(b, "xin", MIL_FP16, MIL_SHAPE(1, 32, 64)), y = -1;
        int axes[1] = {1};
        mil_v two[2] = {x, x};
        switch (i) {
        case 0: y = milb_reshape(b, "r", x, MIL_SHAPE(1, 64, 32)); break;
        case 1: y = milb_transpose(b, "t", x, MIL_SHAPE(0, 2, 1)); break;
        case 2: y = milb_slice(b, "s", x, MIL_SHAPE(0, 0, 0), MIL_SHAPE(1, 32, 32)); break;
        case 3: y = milb_concat(b, "c", 1, 2, two); break;
        case 4: y = milb_reduce_sum(b, "rs", x, 1, axes, 1); break;
        case 5: y = milb_pow(b, "p", x, milb_scalar(b, "two", 2.0f)); break;
        }
        milb_output(b, y);
        char *text = build_done(b);
        size_t n = text ? strlen(text) : 0;
        struct mil_prog *p = mil_load(text, n, "op.mil", &m1_26, NULL, &e);
        char want[96];
        snprintf(want, sizeof want, "%s '", ops[i]);
        int line, col, k = 0;
        ok(!p && sscanf(e.msg, "op.mil:%d:%d: %n", &line, &col, &k) == 2 && k && !strncmp(e.msg + k, want, strlen(want)) &&
           strstr(e.msg, "reported failing on M1 under macOS 26.3 (§7.3, §12.6"),
           "%s refused on M1 / macOS 26.3 at FILE:LINE:COL: %s", ops[i], p ? "(accepted)" : e.msg);
        mil_prog_free(p);
        p = mil_load(text, n, "op.mil", &m1_15, NULL, &e);
        ok(p != NULL, "%s accepted on M1 / macOS 15.6%s%s", ops[i], p ? "" : ": ", p ? "" : e.msg);
        mil_prog_free(p);
        p = mil_load(text, n, "op.mil", &m4, NULL, &e);
        ok(p != NULL, "%s accepted on M4%s%s", ops[i], p ? "" : ": ", p ? "" : e.msg);
        mil_prog_free(p);
        free(text);
    }
    ok(mil_chip_refuses(&m1_26, "reduce_mean") && mil_chip_refuses(&m1_26, "slice_by_index") &&
       !mil_chip_refuses(&m1_26, "matmul") && !mil_chip_refuses(&m1_26, "reduce") &&
       !mil_chip_refuses(&m1_26, "reshapes") && !mil_chip_refuses(&m4, "reshape"),
       "ops_refused: exact names, \"reduce_*\" by prefix");

    /* matmul [1,2,32,32] @ [1,2,32,32]: both runtime inputs, 4-D */
    enum { H = 2, M = 32, K = 32, N = 32 };
    static float a[H * M * K], bm[H * K * N], y[H * M * N];
    static double ref[H * M * N];
    fill_eighths(rng, a, sizeof a / sizeof a[0]);
    fill_eighths(rng, bm, sizeof bm / sizeof bm[0]);
    for (int h = 0; h < H; h++)
        for (int m = 0; m < M; m++)
            for (int n = 0; n < N; n++) {
                double acc = 0;
                for (int k = 0; k < K; k++) acc += (double)a[(h * M + m) * K + k] * bm[(h * K + k) * N + n];
                ref[(h * M + m) * N + n] = acc;
            }
    struct ant_chip v = test_chip_m1();
    struct mil_builder *b = milb_new(&v);
    mil_v xa = milb_input(b, "ain", MIL_FP16, MIL_SHAPE(1, H, M, K));
    mil_v xb = milb_input(b, "bin", MIL_FP16, MIL_SHAPE(1, H, K, N));
    milb_output(b, milb_matmul(b, "prod", xa, xb, 0, 0));
    char *text = build_done(b);
    struct mil_prog *p = mil_load(text, strlen(text), "mm4.mil", &m1_26, NULL, &e);
    ok(!p && strstr(e.msg, "mm4.mil:") && strstr(e.msg, "matmul 'prod': two runtime 4-D inputs fail on M1 (§7.3"),
       "matmul of two runtime 4-D inputs refused on M1 / macOS 26.3: %s", p ? "(accepted)" : e.msg);
    mil_prog_free(p);
    float *in[2] = {a, bm}, *out[1] = {y};
    char log[2048];
    int rc = run(&m1_15, text, 0, in, out, log, sizeof log, &e);
    ok(rc == 0 && matches(y, ref, sizeof y / sizeof y[0]), "and runs right on M1 / macOS 15.6");
    rc = run(&m4, text, 0, in, out, log, sizeof log, &e);
    ok(rc == 0 && matches(y, ref, sizeof y / sizeof y[0]), "and on M4");
    free(text);
    /* a constant operand: rejected on M1 per §7.3 / §3.5, fine elsewhere */
    b = milb_new(&v);
    xa = milb_input(b, "ain", MIL_FP16, MIL_SHAPE(1, H, M, K));
    xb = milb_tensor(b, "bconst", MIL_SHAPE(1, H, K, N), bm);
    milb_output(b, milb_matmul(b, "prod", xa, xb, 0, 0));
    text = build_done(b);
    float *in1[1] = {a};
    rc = run(&m1_26, text, 0, in1, out, log, sizeof log, &e);
    ok(rc < 0 && strstr(e.msg, "a constant operand ('bconst') is rejected on M1 (§7.3"),
       "a matmul with a constant operand is refused on M1 / macOS 26.3: %s", e.msg);
    rc = run(&m1_15, text, 0, in1, out, log, sizeof log, &e);
    ok(rc == 0 && matches(y, ref, sizeof y / sizeof y[0]), "and runs right on M1 / macOS 15.6%s%s",
       rc ? ": " : "", rc ? e.msg : "");
    free(text);
}

static int tool(int argc, const char **argv, char *log, size_t n)
{
    int saved;
    capture_begin(&saved);
    int rc = ane_mil_main(argc, (char **)argv);
    capture_end(saved, log, n);
    return rc;
}
#define TOOL(log, ...) tool((int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(char *)), \
                            (const char *[]){__VA_ARGS__}, log, sizeof log)

/* `anetrain mil check` prints the warnings; --os and ANETRAIN_OS choose the rules. */
static void test_tool(void)
{
    char path[300], log[4096];
    snprintf(path, sizeof path, "%s/inner48.mil", tmpdir);
    char *text = prog_matmul(32, 48, 64, 0);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    free(text);
    unsetenv("ANETRAIN_OS");
    unsetenv("ANETRAIN_CHIP");
    int rc = TOOL(log, "mil", "check", path, "--chip", "M1", "--os", "26.3");
    ok(rc == 0 && strstr(log, "inner48.mil:") && strstr(log, "matmul 'prod': inner dimension 48 is not a multiple of 32"),
       "mil check --chip M1 --os 26.3: valid, with the §7.3 warning at FILE:LINE:COL");
    if (!strstr(log, "inner48.mil:")) diag("%s", log);
    rc = TOOL(log, "mil", "check", path, "--chip", "M1", "--os", "15.6");
    ok(rc == 0 && !strstr(log, "§7.3"), "mil check --chip M1 --os 15.6: no warning");
    setenv("ANETRAIN_OS", "26.3", 1);
    rc = TOOL(log, "mil", "check", path, "--chip", "M1");
    ok(rc == 0 && strstr(log, "inner dimension 48"), "ANETRAIN_OS=26.3 chooses the macOS 26 rules");
    rc = TOOL(log, "mil", "check", path, "--chip", "M1", "--os", "15.6");
    ok(rc == 0 && !strstr(log, "§7.3"), "--os 15.6 wins over ANETRAIN_OS=26.3");
    setenv("ANETRAIN_CHIP", "M4", 1);
    rc = TOOL(log, "mil", "check", path);
    ok(rc == 0 && !strstr(log, "§7.3") && !strstr(log, "M1"), "ANETRAIN_CHIP=M4: no warning");
    unsetenv("ANETRAIN_OS");
    unsetenv("ANETRAIN_CHIP");
    rc = TOOL(log, "mil", "check", path, "--chip", "M1", "--os", "Tahoe");
    ok(rc == 1 && strstr(log, "os 'Tahoe': expected a macOS version"), "mil check --os Tahoe is refused");
    remove(path);
}

int main(void)
{
    struct ant_err e = {""};
    snprintf(tmpdir, sizeof tmpdir, "%s/anetrain-m1rules.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmpdir)) tap_skip_all("no temp folder");
    setenv("ANETRAIN_CHIPS_FILE", "", 1);
    ok(chip_profiles_load("", &e) == 0 && chip_detect(&m1_26, "M1", "26.3", &e) == 0 &&
       chip_detect(&m1_15, "M1", "15.6", &e) == 0 && chip_detect(&m4, "M4", "26.3", &e) == 0,
       "profiles: M1 / macOS 26.3, M1 / macOS 15.6, M4 / macOS 26.3 (%s)", e.msg);
    ok(m1_26.silent_zero_rules && !m1_15.silent_zero_rules && !m4.silent_zero_rules,
       "silent-zero rules on M1 / macOS 26.3 only");
    struct ant_rng rng;
    rng_seed(&rng, 7);
    test_matmul_rules(&rng);
    test_broadcast_rules(&rng);
    test_small_surface(&rng);
    test_refusals(&rng);
    test_tool();
    rmdir(tmpdir);
    return tap_done();
}
