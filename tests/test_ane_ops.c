/* Every emulator op against a float64 reference on random fp16 inputs: the reference
 * computes in double and rounds once to fp16, which the emulator must match exactly for
 * the correctly rounded ops (add, sub, mul, real_div, sqrt, data movement) and within
 * one fp16 ulp for the transcendental ones and the fp32-accumulated sums. Then the fp16
 * edge cases: overflow, subnormals, -65504 masks, softmax of masked rows. */
#include <math.h>
#include <stdio.h>

#include "tap.h"
#include "test_ane_util.h"

static struct ant_chip chip;
static struct ant_rng rng;

/* One fp16 ulp at |x| (the flush threshold's spacing below the normal range). */
static double ulp16(double x)
{
    x = fabs(x);
    if (x < ldexp(1, -14)) return ldexp(1, -14);
    int e;
    frexp(x, &e);
    return ldexp(1, e - 11);
}

static double r16(double x) { return fp16_round((float)x); }

/* Compare n values: exact (slack 0), or within ulps fp16 ulps plus abs_slack[i]. */
static void compare(const char *what, const float *got, const double *ref, size_t n, double ulps, const double *abs_slack)
{
    size_t bad = 0, worst = 0;
    double wd = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(got[i] - ref[i]);
        if (isnan(ref[i]) ? !isnan(got[i]) : (isinf(ref[i]) ? got[i] != ref[i] : !(d <= ulps * ulp16(ref[i]) + (abs_slack ? abs_slack[i] : 0)))) {
            if (!bad++ || d > wd) worst = i, wd = d;
        }
    }
    if (!ok(bad == 0, "%s (%zu values)", what, n))
        diag("%zu bad; e.g. [%zu] got %.9g want %.9g", bad, worst, (double)got[worst], ref[worst]);
}

static float *rnd(size_t n, double scale)
{
    float *x = malloc(n * sizeof *x);
    fill_normal(&rng, x, n, scale);
    to_fp16(x, n);
    return x;
}

static size_t elems(struct mil_shape s)
{
    size_t n = 1;
    for (int i = 0; i < s.rank; i++) n *= (size_t)s.dim[i];
    return n;
}

/* Run a one-op program over two rank-4 inputs (or one when sb.rank == 0). */
static int run2(enum mil_op op, struct mil_shape sa, struct mil_shape sb, const float *a, const float *b, float *out)
{
    struct ant_err e;
    struct mil_builder *B = milb_new(&chip);
    mil_v x = milb_input(B, "in_a", MIL_FP16, sa), y = sb.rank ? milb_input(B, "in_b", MIL_FP16, sb) : -1;
    milb_output(B, sb.rank ? milb_binary(B, op, "res", x, y) : milb_unary(B, op, "res", x));
    const float *in[] = {a, b};
    int rc = emu_run_builder(B, &chip, NULL, in, (float *[]){out}, &e);
    if (rc) diag("%s", e.msg);
    return rc;
}

static double binop(enum mil_op op, double a, double b)
{
    switch (op) {
    case MIL_ADD: return a + b;
    case MIL_SUB: return a - b;
    case MIL_MUL: return a * b;
    case MIL_REAL_DIV: return a / b;
    default: return pow(a, b);
    }
}

/* Broadcast reference: output index i0..i3 reads a at (i_k mod dim_k). */
static void test_binary(enum mil_op op, struct mil_shape sa, struct mil_shape sb, const char *what, double ulps)
{
    struct mil_shape so = sa;
    for (int k = 0; k < 4; k++) so.dim[k] = sa.dim[k] > sb.dim[k] ? sa.dim[k] : sb.dim[k];
    size_t n = elems(so);
    float *a = rnd(elems(sa), 2.0), *b = rnd(elems(sb), 2.0), *got = malloc(n * sizeof *got);
    if (op == MIL_REAL_DIV || op == MIL_POW)
        for (size_t i = 0; i < elems(sb); i++) b[i] = op == MIL_POW ? r16(fabs(b[i]) + 0.25) : (fabs(b[i]) < 0.1 ? 0.5f : b[i]);
    if (op == MIL_POW)
        for (size_t i = 0; i < elems(sa); i++) a[i] = r16(fabs(a[i]) + 0.01);
    double *ref = malloc(n * sizeof *ref);
    for (int i0 = 0; i0 < so.dim[0]; i0++)
        for (int i1 = 0; i1 < so.dim[1]; i1++)
            for (int i2 = 0; i2 < so.dim[2]; i2++)
                for (int i3 = 0; i3 < so.dim[3]; i3++) {
                    size_t ia = (((size_t)(i0 % sa.dim[0]) * sa.dim[1] + i1 % sa.dim[1]) * sa.dim[2] + i2 % sa.dim[2]) * sa.dim[3] + i3 % sa.dim[3];
                    size_t ib = (((size_t)(i0 % sb.dim[0]) * sb.dim[1] + i1 % sb.dim[1]) * sb.dim[2] + i2 % sb.dim[2]) * sb.dim[3] + i3 % sb.dim[3];
                    size_t io = (((size_t)i0 * so.dim[1] + i1) * so.dim[2] + i2) * so.dim[3] + i3;
                    ref[io] = r16(binop(op, a[ia], b[ib]));
                }
    if (!run2(op, sa, sb, a, b, got)) compare(what, got, ref, n, ulps, NULL);
    else ok(0, "%s ran", what);
    free(a), free(b), free(got), free(ref);
}

static void test_unary(enum mil_op op, const char *what, double ulps)
{
    struct mil_shape s = MIL_SHAPE(1, 32, 1, 64);
    size_t n = elems(s);
    float *x = rnd(n, 3.0), *got = malloc(n * sizeof *got);
    double *ref = malloc(n * sizeof *ref);
    if (op == MIL_SQRT)
        for (size_t i = 0; i < n; i++) x[i] = fabsf(x[i]);
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        ref[i] = r16(op == MIL_SIGMOID ? 1 / (1 + exp(-v)) : op == MIL_SQRT ? sqrt(v) : op == MIL_EXP ? exp(v)
                     : op == MIL_TANH ? tanh(v) : op == MIL_RELU ? (v > 0 ? v : 0) : v);
    }
    if (!run2(op, s, (struct mil_shape){0, {0}}, x, NULL, got)) compare(what, got, ref, n, ulps, NULL);
    else ok(0, "%s ran", what);
    free(x), free(got), free(ref);
}

/* matmul [1,H,M,K]@[1,Hy,K,N] with optional transposes, Hy = 1 broadcasts. */
static void test_matmul(int H, int Hy, int M, int K, int N, int tx, int ty)
{
    struct ant_err e;
    struct mil_shape sx = tx ? MIL_SHAPE(1, H, K, M) : MIL_SHAPE(1, H, M, K);
    struct mil_shape sy = ty ? MIL_SHAPE(1, Hy, N, K) : MIL_SHAPE(1, Hy, K, N);
    float *x = rnd(elems(sx), 1.0), *y = rnd(elems(sy), 1.0), *got = malloc((size_t)H * M * N * sizeof *got);
    double *ref = malloc((size_t)H * M * N * sizeof *ref), *slack = malloc((size_t)H * M * N * sizeof *slack);
    for (int h = 0; h < H; h++)
        for (int m = 0; m < M; m++)
            for (int nn = 0; nn < N; nn++) {
                double acc = 0, mag = 0;
                for (int k = 0; k < K; k++) {
                    double a = tx ? x[((size_t)h * K + k) * M + m] : x[((size_t)h * M + m) * K + k];
                    int hy = h % Hy;
                    double b = ty ? y[((size_t)hy * N + nn) * K + k] : y[((size_t)hy * K + k) * N + nn];
                    acc += a * b, mag += fabs(a * b);
                }
                size_t i = ((size_t)h * M + m) * N + nn;
                ref[i] = acc;
                slack[i] = mag * K * ldexp(1, -24);   /* fp32 accumulation */
            }
    struct mil_builder *B = milb_new(&chip);
    mil_v a = milb_input(B, "mx", MIL_FP16, sx), b = milb_input(B, "my", MIL_FP16, sy);
    milb_output(B, milb_matmul(B, "prod", a, b, tx, ty));
    char what[96];
    snprintf(what, sizeof what, "matmul [1,%d,%d,%d]@[1,%d,%d,%d] tx=%d ty=%d", H, M, K, Hy, K, N, tx, ty);
    if (!emu_run_builder(B, &chip, NULL, (const float *[]){x, y}, (float *[]){got}, &e))
        compare(what, got, ref, (size_t)H * M * N, 0.5, slack);
    else ok(0, "%s: %s", what, e.msg);
    free(x), free(y), free(got), free(ref), free(slack);
}

/* 1x1 conv with groups, through the builder and a BLOBFILE weight. */
static void test_conv(int C, int O, int S, int g)
{
    struct ant_err e;
    struct ane_weights w;
    weights_init(&w);
    float *x = rnd((size_t)C * S, 1.0), *W = rnd((size_t)O * (C / g), 0.2), *got = malloc((size_t)O * S * sizeof *got);
    double *ref = malloc((size_t)O * S * sizeof *ref), *slack = malloc((size_t)O * S * sizeof *slack);
    for (int o = 0; o < O; o++)
        for (int s = 0; s < S; s++) {
            double acc = 0, mag = 0;
            int gi = o / (O / g);
            for (int i = 0; i < C / g; i++) {
                double p = (double)W[(size_t)o * (C / g) + i] * x[(size_t)(gi * (C / g) + i) * S + s];
                acc += p, mag += fabs(p);
            }
            ref[(size_t)o * S + s] = acc;
            slack[(size_t)o * S + s] = mag * C * ldexp(1, -24);
        }
    struct mil_builder *B = milb_new(&chip);
    mil_v in = milb_input(B, "act", MIL_FP16, MIL_SHAPE(1, C, 1, S));
    mil_v wt = milb_weight(B, "wconv", &w, "wconv.bin", MIL_SHAPE(O, C / g, 1, 1), W);
    milb_output(B, milb_conv_groups(B, "cv", in, wt, g));
    char what[64];
    snprintf(what, sizeof what, "conv 1x1 %d->%d S=%d groups=%d", C, O, S, g);
    if (!emu_run_builder(B, &chip, &w, (const float *[]){x}, (float *[]){got}, &e))
        compare(what, got, ref, (size_t)O * S, 0.5, slack);
    else ok(0, "%s: %s", what, e.msg);
    weights_free(&w);
    free(x), free(W), free(got), free(ref), free(slack);
}

/* A 3x3 conv, stride 2, custom padding, from text (the builder makes only 1x1). */
static void test_conv3x3(void)
{
    enum { C = 4, O = 6, H = 7, Wd = 9, HO = 4, WO = 5 };
    char text[4096];
    struct ant_err e;
    float *x = rnd(C * H * Wd, 1.0), *W = rnd(O * C * 9, 0.3), got[O * HO * WO];
    double ref[O * HO * WO], slack[O * HO * WO];
    int k = snprintf(text, sizeof text, "program(1.3)\n{\n func main<ios18>(tensor<fp16, [1, %d, %d, %d]> xin) {\n"
        "  tensor<fp16, [%d, %d, 3, 3]> wk = const()[name = string(\"wk\"), val = tensor<fp16, [%d, %d, 3, 3]>([", C, H, Wd, O, C, O, C);
    for (int i = 0; i < O * C * 9; i++) k += snprintf(text + k, sizeof text - (size_t)k, "%s%a", i ? ", " : "", (double)W[i]);
    snprintf(text + k, sizeof text - (size_t)k, "])];\n"
        "  tensor<fp16, [1, %d, %d, %d]> yo = conv(dilations = tensor<int32, [2]>([1, 1]), groups = int32(1), pad = tensor<int32, [4]>([1, 1, 1, 1]), "
        "pad_type = string(\"custom\"), strides = tensor<int32, [2]>([2, 2]), weight = wk, x = xin)[name = string(\"yo\")];\n } -> (yo);\n}\n", O, HO, WO);
    for (int o = 0; o < O; o++)
        for (int ho = 0; ho < HO; ho++)
            for (int wo = 0; wo < WO; wo++) {
                double acc = 0, mag = 0;
                for (int c = 0; c < C; c++)
                    for (int kh = 0; kh < 3; kh++)
                        for (int kw = 0; kw < 3; kw++) {
                            int h = ho * 2 - 1 + kh, ww = wo * 2 - 1 + kw;
                            if (h < 0 || h >= H || ww < 0 || ww >= Wd) continue;
                            double p = (double)W[((o * C + c) * 3 + kh) * 3 + kw] * x[(c * H + h) * Wd + ww];
                            acc += p, mag += fabs(p);
                        }
                ref[(o * HO + ho) * WO + wo] = acc;
                slack[(o * HO + ho) * WO + wo] = mag * 36 * ldexp(1, -24);
            }
    if (!emu_run_text(&chip, text, NULL, (const float *[]){x}, (float *[]){got}, &e))
        compare("conv 3x3 stride 2 pad 1 (im2col path)", got, ref, O * HO * WO, 0.5, slack);
    else ok(0, "conv 3x3: %s", e.msg);
    free(x), free(W);
}

static void test_softmax_reduce(void)
{
    struct ant_err e;
    enum { C = 8, S = 16 };
    float *x = rnd(C * S, 3.0), sm_last[C * S], sm_c[C * S], rs_c[S], rs_last[C];
    struct mil_builder *B = milb_new(&chip);
    mil_v in = milb_input(B, "act", MIL_FP16, MIL_SHAPE(1, C, 1, S));
    milb_output(B, milb_softmax(B, "sm_last", in, -1));
    milb_output(B, milb_softmax(B, "sm_c", in, 1));
    milb_output(B, milb_reduce_sum(B, "rs_c", in, 1, (int[]){1}, 1));
    milb_output(B, milb_reduce_sum(B, "rs_last", in, 1, (int[]){-1}, 0));
    if (emu_run_builder(B, &chip, NULL, (const float *[]){x}, (float *[]){sm_last, sm_c, rs_c, rs_last}, &e)) {
        ok(0, "softmax/reduce ran: %s", e.msg);
        return;
    }
    double r1[C * S], r2[C * S], r3[S], r4[C], s3[S], s4[C];
    for (int c = 0; c < C; c++) {
        double z = 0, mag = 0, sum = 0;
        for (int s = 0; s < S; s++) z += exp(x[c * S + s]), sum += x[c * S + s], mag += fabs(x[c * S + s]);
        for (int s = 0; s < S; s++) r1[c * S + s] = exp(x[c * S + s]) / z;
        r4[c] = sum, s4[c] = mag * S * ldexp(1, -24);
    }
    for (int s = 0; s < S; s++) {
        double z = 0, mag = 0, sum = 0;
        for (int c = 0; c < C; c++) z += exp(x[c * S + s]), sum += x[c * S + s], mag += fabs(x[c * S + s]);
        for (int c = 0; c < C; c++) r2[c * S + s] = exp(x[c * S + s]) / z;
        r3[s] = sum, s3[s] = mag * C * ldexp(1, -24);
    }
    compare("softmax axis -1", sm_last, r1, C * S, 1, NULL);
    compare("softmax axis 1 (channels)", sm_c, r2, C * S, 1, NULL);
    compare("reduce_sum axes [1] keep_dims", rs_c, r3, S, 0.5, s3);
    compare("reduce_sum axes [-1] no keep_dims", rs_last, r4, C, 0.5, s4);
    free(x);
}

/* reshape, transpose, slice, concat, identity, cast: exact data movement. */
static void test_movement(void)
{
    struct ant_err e;
    enum { H = 2, S = 4, D = 6 };
    float *x = rnd(H * D * S, 1.0), t1[H * S * D], sl[2 * 3], cc[2 * H * D * S], id[H * D * S], cs[H * D * S];
    struct mil_builder *B = milb_new(&chip);
    mil_v in = milb_input(B, "act", MIL_FP16, MIL_SHAPE(1, H * D, 1, S));
    mil_v r = milb_reshape(B, "heads", in, MIL_SHAPE(1, H, D, S));          /* [1,H,D,S] */
    milb_output(B, milb_transpose(B, "swap", r, MIL_SHAPE(0, 1, 3, 2)));    /* [1,H,S,D] */
    milb_output(B, milb_slice(B, "blk", r, MIL_SHAPE(0, 1, 2, 1), MIL_SHAPE(1, 1, 2, 3)));
    milb_output(B, milb_concat(B, "cat", 1, 2, (mil_v[]){in, in}));
    milb_output(B, milb_identity(B, "same", in));
    milb_output(B, milb_cast(B, "wide", in, MIL_FP32));
    if (emu_run_builder(B, &chip, NULL, (const float *[]){x}, (float *[]){t1, sl, cc, id, cs}, &e)) {
        ok(0, "data movement ran: %s", e.msg);
        return;
    }
    int bad = 0;
    for (int h = 0; h < H; h++)
        for (int s = 0; s < S; s++)
            for (int d = 0; d < D; d++) bad += t1[(h * S + s) * D + d] != x[(h * D + d) * S + s];
    ok(!bad, "reshape + transpose [0,1,3,2] moves (h,d,s) to (h,s,d)");
    bad = 0;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++) bad += sl[i * 3 + j] != x[(1 * D + 2 + i) * S + 1 + j];
    ok(!bad, "slice_by_size begin [0,1,2,1] size [1,1,2,3]");
    ok(!memcmp(cc, x, sizeof id) && !memcmp(cc + H * D * S, x, sizeof id), "concat axis 1 stacks channels");
    ok(!memcmp(id, x, sizeof id) && !memcmp(cs, x, sizeof cs), "identity and cast to fp32 copy exactly");
    free(x);
}

/* concat with interleave=true and cast from fp32 input, from text. */
static void test_interleave_cast(void)
{
    struct ant_err e;
    const char *text = "program(1.3)\n{\n func main<ios18>(tensor<fp32, [1, 2, 1, 3]> a, tensor<fp16, [1, 2, 1, 3]> b) {\n"
        "  tensor<fp16, [1, 2, 1, 3]> a16 = cast(dtype = string(\"fp16\"), x = a)[name = string(\"a16\")];\n"
        "  tensor<fp16, [1, 4, 1, 3]> il = concat(axis = int32(1), interleave = bool(true), values = (a16, b))[name = string(\"il\")];\n"
        " } -> (il);\n}\n";
    float a[6] = {1.0001f, 2, 3, 4, 5, 70000.0f}, b[6] = {-1, -2, -3, -4, -5, -6}, got[12];
    if (emu_run_text(&chip, text, NULL, (const float *[]){a, b}, (float *[]){got}, &e)) {
        ok(0, "interleave ran: %s", e.msg);
        return;
    }
    ok(got[0] == 1.0f && got[3] == -1 && got[6] == 4 && got[9] == -4 && isinf(got[8]),
       "cast fp32->fp16 rounds (1.0001 -> 1, 70000 -> inf); interleave alternates channels");
}

static void test_edges(void)
{
    struct ant_err e;
    enum { S = 8 };
    /* overflow, subnormal flush, mask arithmetic */
    float a[S] = {300, 65504, -65504, 1e-3f, 3e-5f, -65504, -65504, 0.5f};
    float b[S] = {300, 65504, -65504, 1e-3f, 0, -10, 3, 0.5f};
    float sum[S], prod[S];
    run2(MIL_ADD, MIL_SHAPE(1, 1, 1, S), MIL_SHAPE(1, 1, 1, S), a, b, sum);
    run2(MIL_MUL, MIL_SHAPE(1, 1, 1, S), MIL_SHAPE(1, 1, 1, S), a, b, prod);
    ok(isinf(prod[0]) && prod[0] > 0, "300*300 = 90000 overflows to +inf");
    ok(isinf(sum[1]) && sum[1] > 0 && isinf(sum[2]) && sum[2] < 0, "65504+65504 -> +inf, -65504-65504 -> -inf");
    ok(prod[3] == 0, "1e-3*1e-3 = 1e-6 is subnormal in fp16: flushed to 0");
    ok(sum[4] == 0, "a subnormal input (3e-5) arrives as 0");
    ok(sum[5] == -65504 && sum[6] == -65504, "-65504 + -10 and -65504 + 3 stay -65504 (finite mask)");
    float c[1] = {-100}, d[1] = {-65504}, big[1];
    run2(MIL_ADD, MIL_SHAPE(1, 1, 1, 1), MIL_SHAPE(1, 1, 1, 1), c, d, big);
    ok(isinf(big[0]) && big[0] < 0, "-65504 + -100 = -65604 is past the tie at -65520: -inf");
    ok(sum[7] == 1.0f && prod[7] == 0.25f, "ordinary values unharmed");

    /* causal mask + softmax: masked entries exactly 0, a fully masked row uniform */
    float sc[4 * 4], mask[4 * 4], pr[4 * 4];
    for (int t = 0; t < 4; t++)
        for (int u = 0; u < 4; u++) {
            sc[t * 4 + u] = (float)(t - u) * 0.5f;
            mask[t * 4 + u] = t == 0 ? -65504 : (u <= t ? 0 : -65504);   /* row 0 fully masked */
        }
    struct mil_builder *B = milb_new(&chip);
    mil_v s = milb_input(B, "scores", MIL_FP16, MIL_SHAPE(1, 1, 4, 4));
    mil_v m = milb_tensor(B, "causal", MIL_SHAPE(1, 1, 4, 4), mask);
    milb_output(B, milb_softmax(B, "probs", milb_add(B, "masked", s, m), -1));
    if (emu_run_builder(B, &chip, NULL, (const float *[]){sc}, (float *[]){pr}, &e)) {
        ok(0, "mask softmax ran: %s", e.msg);
        return;
    }
    int zero = 1;
    for (int t = 1; t < 4; t++)
        for (int u = t + 1; u < 4; u++) zero &= pr[t * 4 + u] == 0;
    ok(zero, "softmax gives exactly 0 where the mask is -65504");
    ok(pr[0] == 0.25f && pr[1] == 0.25f && pr[2] == 0.25f && pr[3] == 0.25f, "a fully masked row is uniform");
    double z = exp(0.5) + exp(0);
    is_close(pr[1 * 4 + 0], r16(exp(0.5) / z), 0, 0, "row 1 of the causal softmax");
}

int main(void)
{
    chip = test_chip_m4();
    rng_seed(&rng, 1234);
    struct mil_shape full = MIL_SHAPE(1, 16, 1, 32);
    test_binary(MIL_ADD, full, full, "add, same shape", 0);
    test_binary(MIL_SUB, full, full, "sub, same shape", 0);
    test_binary(MIL_MUL, full, full, "mul, same shape", 0);
    test_binary(MIL_REAL_DIV, full, full, "real_div, same shape", 0);
    test_binary(MIL_POW, full, full, "pow, same shape", 1);
    test_binary(MIL_MUL, full, MIL_SHAPE(1, 1, 1, 32), "mul broadcast [1,C,1,S] x [1,1,1,S]", 0);
    test_binary(MIL_MUL, full, MIL_SHAPE(1, 16, 1, 1), "mul broadcast [1,C,1,S] x [1,C,1,1]", 0);
    test_binary(MIL_ADD, MIL_SHAPE(1, 4, 8, 8), MIL_SHAPE(1, 1, 8, 8), "add broadcast [1,H,S,S] + [1,1,S,S]", 0);
    test_binary(MIL_SUB, MIL_SHAPE(1, 1, 8, 1), MIL_SHAPE(1, 4, 1, 8), "sub broadcast both ways", 0);
    test_binary(MIL_POW, full, MIL_SHAPE(1, 1, 1, 1), "pow by a scalar-like [1,1,1,1]", 1);
    test_unary(MIL_SQRT, "sqrt", 0);
    test_unary(MIL_EXP, "exp", 1);
    test_unary(MIL_SIGMOID, "sigmoid", 1);
    test_unary(MIL_TANH, "tanh", 1);
    test_unary(MIL_RELU, "relu", 0);
    test_unary(MIL_IDENTITY, "identity", 0);
    test_matmul(1, 1, 16, 32, 8, 0, 0);
    test_matmul(4, 4, 8, 16, 8, 0, 1);
    test_matmul(4, 4, 8, 16, 12, 1, 0);
    test_matmul(2, 2, 8, 16, 4, 1, 1);
    test_matmul(4, 1, 8, 16, 8, 0, 0);
    test_conv(64, 48, 32, 1);
    test_conv(32, 16, 16, 2);
    test_conv3x3();
    test_softmax_reduce();
    test_movement();
    test_interleave_cast();
    test_edges();
    return tap_done();
}
