/* The ops upstream ran on an M4 beyond the training kernels' set, on the emulator
 * against float64 references: scaled_dot_product_attention (attn_mask ignored, as on
 * the ANE: §3.5, §12.4), constexpr_affine_dequantize with int8 blob weights (§3.5, §4),
 * quantize/dequantize (W8A8, §8.3), and bare true/false argument values. */
#include <math.h>
#include <stdio.h>

#include "tap.h"
#include "test_ane_util.h"
#include "base/le.h"

static struct ant_chip m4, m1;
static struct ant_rng rng;

static double r16(double x) { return fp16_round((float)x); }

static double ulp16(double x)
{
    x = fabs(x);
    if (x < ldexp(1, -14)) return ldexp(1, -14);
    int e;
    frexp(x, &e);
    return ldexp(1, e - 11);
}

/* Round half to even, written out (the reference does not lean on rint). */
static double rne(double v)
{
    double f = floor(v), d = v - f;
    return d > 0.5 ? f + 1 : d < 0.5 ? f : (fmod(f, 2) == 0 ? f : f + 1);
}

static double clamp8(double v) { return v < -128 ? -128 : v > 127 ? 127 : v; }

/* got within ulps fp16 ulps of ref plus slack[i] (slack may be NULL). */
static int compare(const char *what, const float *got, const double *ref, size_t n, double ulps,
                   const double *slack)
{
    size_t bad = 0, worst = 0;
    for (size_t i = 0; i < n; i++)
        if (!(fabs(got[i] - ref[i]) <= ulps * ulp16(ref[i]) + (slack ? slack[i] : 0)) && !bad++) worst = i;
    if (!ok(bad == 0, "%s (%zu values)", what, n))
        diag("%zu bad; e.g. [%zu] got %.9g want %.9g", bad, worst, (double)got[worst], ref[worst]);
    return bad == 0;
}

static float *rnd(size_t n, double scale)
{
    float *x = malloc(n * sizeof *x);
    fill_normal(&rng, x, n, scale);
    to_fp16(x, n);
    return x;
}

/* float64 attention per batch b: q [B,L,E], k [B,S,E], v [B,S,EV], mask [L,S] added
 * when given. slack bounds the emulator's error: the fp16 scores (relative 2^-11, which
 * moves each probability by up to 2 |s|max 2^-11), the fp16 probabilities, fp32 sums. */
static void ref_attention(const float *q, const float *k, const float *v, int B, int L, int S, int E,
                          int EV, const float *mask, double *out, double *slack)
{
    double *s = malloc((size_t)S * sizeof *s);
    for (int b = 0; b < B; b++)
        for (int l = 0; l < L; l++) {
            double mx = -INFINITY, smax = 0, z = 0;
            for (int j = 0; j < S; j++) {
                double acc = 0;
                for (int e = 0; e < E; e++)
                    acc += (double)q[((size_t)b * L + l) * E + e] * k[((size_t)b * S + j) * E + e];
                s[j] = acc / sqrt(E) + (mask ? mask[l * S + j] : 0);
                mx = s[j] > mx ? s[j] : mx;
                smax = fabs(acc / sqrt(E)) > smax ? fabs(acc / sqrt(E)) : smax;
            }
            for (int j = 0; j < S; j++) z += exp(s[j] - mx);
            for (int c = 0; c < EV; c++) {
                double acc = 0, mag = 0;
                for (int j = 0; j < S; j++) {
                    double p = exp(s[j] - mx) / z, vv = v[((size_t)b * S + j) * EV + c];
                    acc += p * vv, mag += fabs(p * vv);
                }
                size_t i = ((size_t)b * L + l) * EV + c;
                out[i] = acc;
                if (slack) slack[i] = mag * ldexp(1, -11) * (2 * smax + 3) + S * ldexp(1, -14) * 4;
            }
        }
    free(s);
}

/* SDPA over [lead..., L, E] on M4: built, then the same with a causal attn_mask from
 * text, which must give the same bits and a warning naming its place. */
static void test_sdpa(int rank)
{
    enum { H = 2, L = 8, S = 8, E = 16, EV = 12 };
    struct ant_err e;
    struct mil_shape sq = rank == 4 ? MIL_SHAPE(1, H, L, E) : MIL_SHAPE(H, L, E);
    struct mil_shape sk = rank == 4 ? MIL_SHAPE(1, H, S, E) : MIL_SHAPE(H, S, E);
    struct mil_shape sv = rank == 4 ? MIL_SHAPE(1, H, S, EV) : MIL_SHAPE(H, S, EV);
    float *q = rnd(H * L * E, 1.0), *k = rnd(H * S * E, 1.0), *v = rnd(H * S * EV, 1.0);
    float got[H * L * EV], got_m[H * L * EV], mask[L * S];
    double ref[H * L * EV], slack[H * L * EV], ref_m[H * L * EV];
    for (int l = 0; l < L; l++)
        for (int j = 0; j < S; j++) mask[l * S + j] = j <= l ? 0 : -65504;
    ref_attention(q, k, v, H, L, S, E, EV, NULL, ref, slack);
    ref_attention(q, k, v, H, L, S, E, EV, mask, ref_m, NULL);

    struct mil_builder *B = milb_new(&m4);
    mil_v a = milb_input(B, "q_in", MIL_FP16, sq), b = milb_input(B, "k_in", MIL_FP16, sk);
    mil_v c = milb_input(B, "v_in", MIL_FP16, sv);
    milb_output(B, milb_sdpa(B, "att", a, b, c));
    char what[96];
    snprintf(what, sizeof what, "rank %d SDPA = float64 softmax(q kT / sqrt(E)) v, not causal", rank);
    if (emu_run_builder(B, &m4, NULL, (const float *[]){q, k, v}, (float *[]){got}, &e)) {
        ok(0, "%s: %s", what, e.msg);
        goto out;
    }
    compare(what, got, ref, H * L * EV, 1, slack);

    char text[4096];
    const char *lead = rank == 4 ? "1, 2, " : "2, ";
    int n = snprintf(text, sizeof text, "program(1.3)\n{\n    func main<ios18>(tensor<fp16, [%s8, 16]> q_in, "
                     "tensor<fp16, [%s8, 16]> k_in, tensor<fp16, [%s8, 12]> v_in) {\n"
                     "        tensor<fp16, [8, 8]> causal = const()[name = string(\"causal\"), val = tensor<fp16, [8, 8]>([",
                     lead, lead, lead);
    for (int i = 0; i < L * S; i++) n += snprintf(text + n, sizeof text - (size_t)n, "%s%g", i ? ", " : "", mask[i]);
    snprintf(text + n, sizeof text - (size_t)n, "])];\n        tensor<fp16, [%s8, 12]> att = scaled_dot_product_attention("
             "query = q_in, key = k_in, value = v_in, attn_mask = causal)[name = string(\"att\")];\n    } -> (att);\n}\n", lead);
    struct mil_prog *p = mil_parse(text, strlen(text), "sdpa.mil", &e);
    ok(p && p->warn && strstr(p->warn, "sdpa.mil:5:") &&
       strstr(p->warn, "'att': attn_mask is ignored on the ANE, so the result is not causal"),
       "the checker warns at attn_mask's FILE:LINE:COL that the mask is ignored");
    mil_prog_free(p);
    if (emu_run_text(&m4, text, NULL, (const float *[]){q, k, v}, (float *[]){got_m}, &e)) {
        ok(0, "SDPA with attn_mask ran: %s", e.msg);
        goto out;
    }
    ok(!memcmp(got, got_m, sizeof got), "attn_mask changes no bit of the result (as on the ANE)");
    double far = 0, tol = 0;
    for (int i = 0; i < H * L * EV; i++) {
        far = fabs(got_m[i] - ref_m[i]) > far ? fabs(got_m[i] - ref_m[i]) : far;
        tol = slack[i] + ulp16(ref[i]) > tol ? slack[i] + ulp16(ref[i]) : tol;
    }
    ok(far > 20 * tol, "and it differs from the masked (causal) float64 attention: %.3g vs tolerance %.3g", far, tol);
out:
    free(q), free(k), free(v);
}

static void test_sdpa_rules(void)
{
    struct ant_err e;
    struct mil_builder *B = milb_new(&m1);
    mil_v a = milb_input(B, "q_in", MIL_FP16, MIL_SHAPE(1, 2, 4, 8));
    milb_output(B, milb_sdpa(B, "att", a, a, a));
    char *text = milb_text(B, &e);
    ok(!text && strstr(e.msg, "scaled_dot_product_attention 'att': fails on M1"), "M1's profile refuses SDPA: %s",
       text ? "(accepted)" : e.msg);
    free(text);
    milb_free(B);
    struct ant_chip m1_sdpa = m1;
    m1_sdpa.allows_sdpa = 1;   /* even then an ios16 program lacks the iOS18 op */
    B = milb_new(&m1_sdpa);
    a = milb_input(B, "q_in", MIL_FP16, MIL_SHAPE(1, 2, 4, 8));
    milb_output(B, milb_sdpa(B, "att", a, a, a));
    text = milb_text(B, &e);
    ok(!text && strstr(e.msg, "exists from target ios18 on, the program targets ios16"),
       "an ios16 program cannot use SDPA (coremltools' iOS18 opset): %s", text ? "(accepted)" : e.msg);
    free(text);
    milb_free(B);
    B = milb_new(&m4);
    a = milb_input(B, "q_in", MIL_FP16, MIL_SHAPE(1, 2, 4, 16));
    mil_v b = milb_input(B, "k_in", MIL_FP16, MIL_SHAPE(1, 2, 4, 8));
    milb_output(B, milb_sdpa(B, "att", a, b, b));
    text = milb_text(B, &e);
    ok(!text && strstr(e.msg, "query has 16 features, key has 8"), "mismatched features refused: %s",
       text ? "(accepted)" : e.msg);
    free(text);
    milb_free(B);
}

/* int8 weights [O, C, 1, 1] by constexpr_affine_dequantize into a 1x1 conv. */
static void test_constexpr(const struct ant_chip *chip, int per_channel)
{
    enum { C = 16, O = 8, S = 12 };
    struct ant_err e;
    struct ane_weights w;
    weights_init(&w);
    int8_t Q[O * C];
    float sc[O], *x = rnd(C * S, 1.0), got[O * S];
    double ref[O * S], slack[O * S], W[O * C];
    for (int i = 0; i < O * C; i++) Q[i] = (int8_t)((int)rng_below(&rng, 255) - 127);
    for (int o = 0; o < O; o++) sc[o] = (float)r16(per_channel ? 0.004 * (o + 1) : 0.0123);
    for (int o = 0; o < O; o++)
        for (int c = 0; c < C; c++) W[o * C + c] = r16(Q[o * C + c] * (double)sc[per_channel ? o : 0]);
    for (int o = 0; o < O; o++)
        for (int s = 0; s < S; s++) {
            double acc = 0, mag = 0;
            for (int c = 0; c < C; c++) acc += W[o * C + c] * x[c * S + s], mag += fabs(W[o * C + c] * x[c * S + s]);
            ref[o * S + s] = acc;
            slack[o * S + s] = mag * C * ldexp(1, -24);
        }
    struct mil_builder *B = milb_new(chip);
    mil_v in = milb_input(B, "act", MIL_FP16, MIL_SHAPE(1, C, 1, S));
    mil_v wt = milb_weight_int8(B, "wq", &w, "wq.bin", MIL_SHAPE(O, C, 1, 1), Q, per_channel ? O : 1, sc);
    milb_output(B, milb_conv(B, "proj", in, wt));
    char *text = milb_text(B, &e);
    milb_free(B);
    char what[96];
    snprintf(what, sizeof what, "constexpr_affine_dequantize (%s scale) into conv on %s",
             per_channel ? "per-channel" : "one", chip->name);
    if (!text) {
        ok(0, "%s: %s", what, e.msg);
        goto out;
    }
    int verbose = chip->mil_verbose_scalars;
    ok(strstr(text, "= constexpr_affine_dequantize()[axis = ") && strstr(text, ", quantized_data = tensor<int8, [8, 16, 1, 1]>(BLOBFILE(") &&
       strstr(text, verbose ? "zero_point = tensor<int8, []>(0)]" : "zero_point = int8(0)]"),
       "%s: written as upstream does, arguments in the attribute brackets (§3.5)", what);
    const struct ane_blob *bl = w.blob[0];
    ok(bl->size == 64 + 64 + O * C && le_rd32(bl->data + 64) == 0xDEADBEEFu && le_rd32(bl->data + 72) == O * C &&
       le_rd32(bl->data + 80) == 128 && !memcmp(bl->data + 128, Q, sizeof Q),
       "the int8 blob: file header, chunk header at 64 (size %d, data at 128), one byte a value (§4)", O * C);
    struct mil_prog *p = mil_parse(text, strlen(text), "rt.mil", &e);
    char *again = p ? mil_print(p, verbose, &e) : NULL;
    ok(again && !strcmp(again, text), "the text parses and prints back the same");
    free(again);
    mil_prog_free(p);
    if (!emu_run_text(chip, text, &w, (const float *[]){x}, (float *[]){got}, &e))
        compare(what, got, ref, O * S, 0.5, slack);
    else
        ok(0, "%s: %s", what, e.msg);
out:
    free(text);
    free(x);
    weights_free(&w);
}

/* quantize then dequantize: ties to even, clamping, zero points, per-axis scales. */
static void test_quant(void)
{
    enum { C = 4, S = 16, N = C * S };
    struct ant_err e;
    float *x = rnd(N, 8.0), got[N];
    double ref[N];
    /* scale 0.5: 0.25 -> 0.5 -> 0, 0.75 -> 1.5 -> 2, 1.25 -> 2.5 -> 2, -1.25 -> -2, 63.75 -> 127.5 -> 127 */
    static const float picks[] = {0.25f, 0.75f, 1.25f, -1.25f, -0.25f, 63.75f, 100, -100, -64.25f};
    for (size_t i = 0; i < sizeof picks / sizeof *picks; i++) x[i] = picks[i];
    struct mil_builder *B = milb_new(&m4);
    mil_v in = milb_input(B, "act", MIL_FP16, MIL_SHAPE(1, C, 1, S));
    milb_output(B, milb_dequantize(B, "deq", milb_quantize(B, "qnt", in, 0.5f), 0.5f));
    if (emu_run_builder(B, &m4, NULL, (const float *[]){x}, (float *[]){got}, &e)) {
        ok(0, "quantize/dequantize ran: %s", e.msg);
        free(x);
        return;
    }
    for (int i = 0; i < N; i++) ref[i] = r16(clamp8(rne(x[i] / 0.5)) * 0.5);
    compare("dequantize(quantize(x, 0.5), 0.5) = 0.5 clamp(rne(x / 0.5)), exactly", got, ref, N, 0, NULL);
    ok(got[0] == 0 && got[1] == 1 && got[2] == 1 && got[3] == -1 && got[4] == 0,
       "halves round to even: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, -2.5 -> -2, -0.5 -> 0");
    ok(got[5] == 63.5f && got[6] == 63.5f && got[7] == -64 && got[8] == -64,
       "clamped to [-128, 127]: 127.5 -> 127, 200 -> 127, -200 -> -128, -128.5 -> -128");

    /* a scale that is not a power of two, zero points, and one scale per channel */
    const char *text = "program(1.3)\n{\n    func main<ios18>(tensor<fp16, [1, 4, 1, 16]> act) {\n"
        "        tensor<int8, [1, 4, 1, 16]> q0 = quantize(input = act, output_dtype = string(\"int8\"), scale = fp16(0.3), zero_point = int8(-5))[name = string(\"q0\")];\n"
        "        tensor<fp16, [1, 4, 1, 16]> d0 = dequantize(input = q0, scale = fp16(0.3), zero_point = int8(-5))[name = string(\"d0\")];\n"
        "        tensor<fp16, [4]> chs = const()[name = string(\"chs\"), val = tensor<fp16, [4]>([0.0625, 0.1, 0.25, 1])];\n"
        "        tensor<int8, [4]> chz = const()[name = string(\"chz\"), val = tensor<int8, [4]>([0, 3, -7, 100])];\n"
        "        tensor<int8, [1, 4, 1, 16]> q1 = quantize(input = act, output_dtype = string(\"int8\"), scale = chs, zero_point = chz, axis = int32(1))[name = string(\"q1\")];\n"
        "        tensor<fp16, [1, 4, 1, 16]> d1 = dequantize(input = q1, scale = chs, zero_point = chz, axis = int32(-3))[name = string(\"d1\")];\n"
        "    } -> (d0, d1);\n}\n";
    float got1[N];
    if (emu_run_text(&m4, text, NULL, (const float *[]){x}, (float *[]){got, got1}, &e)) {
        ok(0, "quantize with zero points ran: %s", e.msg);
        free(x);
        return;
    }
    double s = r16(0.3), ref1[N], cs[C] = {0.0625, r16(0.1), 0.25, 1}, cz[C] = {0, 3, -7, 100};
    for (int i = 0; i < N; i++) {
        ref[i] = r16((clamp8(rne(x[i] / s) - 5) + 5) * s);
        int c = i / S;
        ref1[i] = r16((clamp8(rne(x[i] / cs[c]) + cz[c]) - cz[c]) * cs[c]);
    }
    compare("scale fp16(0.3), zero_point -5: (clamp(rne(x / s) + zp) - zp) s", got, ref, N, 0, NULL);
    compare("per-channel scale and zero point along axis 1", got1, ref1, N, 0, NULL);
    free(x);
}

/* Untyped true/false as argument values, in both dialects. */
static void test_bare_bools(void)
{
    enum { M = 4, N = 6, K = 8 };
    struct ant_err e;
    float *a = rnd(M * K, 1.0), *b = rnd(N * K, 1.0), ab[M * N], cat[(M + N) * K];
    double ref[M * N], slack[M * N];
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double acc = 0, mag = 0;
            for (int k = 0; k < K; k++) acc += (double)a[i * K + k] * b[j * K + k], mag += fabs((double)a[i * K + k] * b[j * K + k]);
            ref[i * N + j] = acc, slack[i * N + j] = mag * K * ldexp(1, -24);
        }
    for (int v = 0; v < 2; v++) {
        char text[2048];
        snprintf(text, sizeof text, "program(%s)\n{\n    func main<%s>(tensor<fp16, [1, 1, 4, 8]> a, tensor<fp16, [1, 1, 6, 8]> b) {\n"
                 "        tensor<fp16, [1, 1, 4, 6]> ab = matmul(transpose_x = false, transpose_y = true, x = a, y = b)[name = %s];\n"
                 "        tensor<fp16, [1, 1, 10, 8]> cat = concat(axis = %s, interleave = false, values = (a, b))[name = %s];\n"
                 "    } -> (ab, cat);\n}\n", v ? "1.0" : "1.3", v ? "ios16" : "ios18",
                 v ? "tensor<string, []>(\"ab\")" : "string(\"ab\")", v ? "tensor<int32, []>(2)" : "int32(2)",
                 v ? "tensor<string, []>(\"cat\")" : "string(\"cat\")");
        const struct ant_chip *chip = v ? &m1 : &m4;
        char what[128];
        snprintf(what, sizeof what, "%s dialect on %s: matmul(transpose_x = false, transpose_y = true)",
                 v ? "verbose" : "modern", chip->name);
        if (emu_run_text(chip, text, NULL, (const float *[]){a, b}, (float *[]){ab, cat}, &e)) {
            ok(0, "%s: %s", what, e.msg);
            continue;
        }
        compare(what, ab, ref, M * N, 0.5, slack);
        ok(!memcmp(cat, a, M * K * sizeof *a) && !memcmp(cat + M * K, b, N * K * sizeof *b),
           "%s dialect: concat(interleave = false) stacks a then b", v ? "verbose" : "modern");
    }
    free(a), free(b);
}

int main(void)
{
    m4 = test_chip_m4();
    m1 = test_chip_m1();
    rng_seed(&rng, 4321);
    test_sdpa(4);
    test_sdpa(3);
    test_sdpa_rules();
    test_constexpr(&m4, 0);
    test_constexpr(&m4, 1);
    test_constexpr(&m1, 1);
    test_quant();
    test_bare_bools();
    return tap_done();
}
