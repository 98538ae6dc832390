/* The vector fp16 implementations (ane/base/fp16_x86.c) give the bits of the
 * portable C, which in turn gives the bits of the scalar fp16_round / fp16_from_float /
 * fp16_to_float that test_ane_fp16 checks against a double-precision reference.
 * Inputs: all 65536 halves; every float's top 16 bits with tie, near-tie and random
 * low bits (all signs, exponents, infinities, NaN payloads, subnormals); the
 * overflow and flush thresholds ulp by ulp; random bit patterns; odd lengths and
 * unaligned pointers for the tails. Then an FFN kernel on the emulator gives the same
 * bits under every implementation. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "test_ane_util.h"

static struct ant_rng rng;

static uint32_t bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static float flt(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

/* The float inputs: n of them into x, returns how many. */
static size_t make_floats(float *x, size_t cap)
{
    static const uint32_t low[] = {0x0000, 0x0fff, 0x1000, 0x1001, 0x2fff, 0x3000, 0x3001, 0xffff};
    size_t n = 0;
    for (uint32_t hi = 0; hi < 0x10000; hi++) {
        for (size_t j = 0; j < sizeof low / sizeof *low; j++) x[n++] = flt(hi << 16 | low[j]);
        x[n++] = flt(hi << 16 | (uint32_t)rng_below(&rng, 0x10000));
    }
    /* thresholds, ulp by ulp: 2^-14 (flush), 65504..65520 (overflow), both signs */
    static const uint32_t edge[] = {0x38800000u, 0x387fe000u, 0x477fe000u, 0x477ff000u, 0x33000000u};
    for (size_t j = 0; j < sizeof edge / sizeof *edge; j++)
        for (int d = -3000; d <= 3000; d++) {
            x[n++] = flt(edge[j] + (uint32_t)d);
            x[n++] = flt((edge[j] + (uint32_t)d) | 0x80000000u);
        }
    while (n < cap) x[n++] = flt((uint32_t)rng_below(&rng, 0x10000) << 16 | (uint32_t)rng_below(&rng, 0x10000));
    return n;
}

static size_t count_diff32(const void *a, const void *b, size_t n)
{
    const uint32_t *p = a, *q = b;
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) bad += p[i] != q[i];
    return bad;
}

static void check_impl(const struct fp16_impl *v, const float *x, size_t n)
{
    const struct fp16_impl *c = &fp16_portable;
    uint16_t *h1 = malloc(n * 2), *h2 = malloc(n * 2);
    float *f1 = malloc(n * 4), *f2 = malloc(n * 4), *y = malloc(n * 4);
    size_t bad = 0;

    uint16_t all[0x10000];
    for (uint32_t h = 0; h < 0x10000; h++) all[h] = (uint16_t)h;
    c->decode(f1, all, 0x10000), v->decode(f2, all, 0x10000);
    ok(!count_diff32(f1, f2, 0x10000), "%s: decode of all 65536 halves", v->name);

    c->encode(h1, x, n), v->encode(h2, x, n);
    for (size_t i = 0; i < n; i++) bad += h1[i] != h2[i];
    ok(!bad, "%s: encode of %zu floats (%zu differ)", v->name, n, bad);

    c->round_to(f1, x, n), v->round_to(f2, x, n);
    bad = count_diff32(f1, f2, n);
    ok(!bad, "%s: round of %zu floats (%zu differ)", v->name, n, bad);
    memcpy(f2, x, n * 4);
    v->round_to(f2, f2, n);
    bad = count_diff32(f1, f2, n);
    ok(!bad, "%s: round in place (%zu differ)", v->name, bad);

    /* binary ops: pair each float with a shuffled partner scaled near it, so sums and
     * differences land on ties, overflow and flush as often as at random */
    for (size_t i = 0; i < n; i++) {
        float p = x[(i * 7919u + 13u) % n];
        y[i] = rng_below(&rng, 2) ? p : flt((bits(x[i]) & 0xff800000u) | (bits(p) & 0x007fffffu));
    }
    static const char *names[] = {"add", "sub", "mul", "rsub"};
    for (int op = FP16_ADD; op <= FP16_RSUB; op++) {
        c->binary((enum fp16_op)op, f1, x, y, n), v->binary((enum fp16_op)op, f2, x, y, n);
        bad = count_diff32(f1, f2, n);
        ok(!bad, "%s: %s of %zu pairs (%zu differ)", v->name, names[op], n, bad);
    }
    static const float cs[] = {1.0f, -1.0f, 0.0f, -0.0f, 65504.0f, 6.103515625e-05f, 1.00048828125f, 3.0f};
    size_t nbad = 0;
    for (size_t j = 0; j < sizeof cs / sizeof *cs + 3; j++) {
        float k = j < sizeof cs / sizeof *cs ? cs[j] : j == sizeof cs / sizeof *cs ? INFINITY : j == sizeof cs / sizeof *cs + 1 ? NAN : flt(0xffc01234u);
        for (int op = FP16_ADD; op <= FP16_RSUB; op++) {
            c->binary_scalar((enum fp16_op)op, f1, x, k, n), v->binary_scalar((enum fp16_op)op, f2, x, k, n);
            nbad += count_diff32(f1, f2, n);
        }
    }
    ok(!nbad, "%s: the 4 ops with 11 constants, incl. +-0, inf, NaNs (%zu differ)", v->name, nbad);

    /* every length 0..70 at every offset 0..3: the vector body and the portable tail */
    bad = 0;
    for (size_t off = 0; off < 4; off++)
        for (size_t len = 0; len <= 70; len++) {
            const float *xs = x + 1000 + off;
            memset(h1, 0, 160), memset(h2, 0, 160);
            c->encode(h1, xs, len), v->encode(h2 + off, xs, len);
            bad += memcmp(h1, h2 + off, 2 * len) != 0 || h2[off + len] != 0;
            memset(f1, 0, 320), memset(f2, 0, 320);
            c->decode(f1, all + 0x3000 + off, len), v->decode(f2 + off, all + 0x3000 + off, len);
            bad += memcmp(f1, f2 + off, 4 * len) != 0 || bits(f2[off + len]) != 0;
            c->binary(FP16_MUL, f1, xs, y + 3, len), v->binary(FP16_MUL, f2 + off, xs, y + 3, len);
            bad += memcmp(f1, f2 + off, 4 * len) != 0 || bits(f2[off + len]) != 0;
        }
    ok(!bad, "%s: lengths 0..70 at offsets 0..3, nothing written past the end (%zu bad)", v->name, bad);
    free(h1), free(h2), free(f1), free(f2), free(y);
}

/* The bench's FFN backward (small): slices, 1x1 convs, sigmoid, scalar and same-shape
 * ops, an fp16 input carrying awkward values. Returns dx as bits. */
static int ffn_bwd(const struct ant_chip *chip, const float *in, const float *const *Wt, float *dx)
{
    enum { D = 24, H = 40, T = 35 };
    struct ant_err e;
    struct ane_weights w;
    weights_init(&w);
    struct mil_builder *b = milb_new(chip);
    mil_v x = milb_input(b, "packed", MIL_FP16, MIL_SHAPE(1, D + 2 * H, 1, T));
    mil_v dy = milb_slice(b, "dy", x, MIL_SHAPE(0, 0, 0, 0), MIL_SHAPE(1, D, 1, T));
    mil_v h1 = milb_slice(b, "h1", x, MIL_SHAPE(0, D, 0, 0), MIL_SHAPE(1, H, 1, T));
    mil_v h3 = milb_slice(b, "h3", x, MIL_SHAPE(0, D + H, 0, 0), MIL_SHAPE(1, H, 1, T));
    mil_v dg = milb_conv(b, "dgate", dy, milb_weight(b, "w2t", &w, "w2t.bin", MIL_SHAPE(H, D, 1, 1), Wt[1]));
    mil_v sg = milb_sigmoid(b, "sig", h1), one = milb_scalar(b, "one", 1.0f);
    mil_v ds = milb_mul(b, "dsilu", sg, milb_add(b, "ds1", one, milb_mul(b, "ds2", h1, milb_sub(b, "ds3", one, sg))));
    mil_v dh1 = milb_mul(b, "dh1", milb_mul(b, "dh1a", dg, h3), ds);
    mil_v dh3 = milb_mul(b, "dh3", dg, milb_mul(b, "silu", h1, sg));
    mil_v dx1 = milb_conv(b, "dx1", dh1, milb_weight(b, "w1t", &w, "w1t.bin", MIL_SHAPE(D, H, 1, 1), Wt[0]));
    mil_v dx3 = milb_conv(b, "dx3", dh3, milb_weight(b, "w3t", &w, "w3t.bin", MIL_SHAPE(D, H, 1, 1), Wt[2]));
    milb_output(b, milb_sub(b, "dx", dx1, dx3));
    int rc = emu_run_builder(b, chip, &w, (const float *[]){in}, (float *[]){dx}, &e);
    if (rc) diag("%s", e.msg);
    weights_free(&w);
    return rc;
}

int main(void)
{
    rng_seed(&rng, 5);
    enum { N = 1 << 20 };
    float *x = malloc(N * sizeof *x);
    size_t n = make_floats(x, N);

    /* the portable buffers against the scalar functions */
    uint16_t *h = malloc(N * 2);
    float *f = malloc(N * 4);
    size_t bad = 0;
    fp16_portable.encode(h, x, n);
    fp16_portable.round_to(f, x, n);
    for (size_t i = 0; i < n; i++) {
        float r = fp16_round(x[i]);
        bad += h[i] != fp16_from_float(x[i]) || bits(f[i]) != bits(r) ||
               (!isnan(r) && bits(fp16_to_float(h[i])) != bits(r));
    }
    ok(!bad, "portable encode and round match fp16_from_float and fp16_round on %zu floats (%zu bad)", n, bad);
    uint16_t all[0x10000];
    for (uint32_t k = 0; k < 0x10000; k++) all[k] = (uint16_t)k;
    fp16_portable.decode(f, all, 0x10000);
    bad = 0;
    for (uint32_t k = 0; k < 0x10000; k++) bad += bits(f[k]) != bits(fp16_to_float((uint16_t)k));
    ok(!bad, "portable decode matches fp16_to_float on all 65536 halves (%zu bad)", bad);
    free(h), free(f);

    /* both operands NaN: hand-picked payloads show whose NaN comes out (nan_pick) */
    for (int i = 0; fp16_impl_get(i); i++) {
        const struct fp16_impl *v = fp16_impl_get(i);
        float na[19], nb[19], o1[19], o2[19], o3[19];
        for (int k = 0; k < 19; k++) na[k] = flt(0x7fc01000u + (uint32_t)k), nb[k] = flt(0xff802000u + (uint32_t)k);
        v->binary(FP16_ADD, o1, na, nb, 19), v->binary(FP16_MUL, o2, na, nb, 19);
        v->binary_scalar(FP16_MUL, o3, na, nb[0], 19);
        bad = 0;
        for (int k = 0; k < 19; k++)
            bad += bits(o1[k]) != (0xffc02000u + (uint32_t)k) || bits(o2[k]) != bits(o1[k]) ||
                   bits(o3[k]) != (0x7fc01000u + (uint32_t)k);
        ok(!bad, "%s: NaN op NaN gives the second operand's NaN (quieted), the tensor's for a scalar op", v->name);
    }

    int n_impl = 0;
    for (int i = 1; fp16_impl_get(i); i++, n_impl++) check_impl(fp16_impl_get(i), x, n);
    if (!n_impl) diag("no vector implementation on this CPU: only the portable C was checked");
    diag("active: %s", fp16_impl_active()->name);

    enum { D = 24, H = 40, T = 35 };
    struct ant_chip chip = test_chip_m4();
    float *in = malloc((D + 2 * H) * T * sizeof *in), *Wt[3];
    for (size_t i = 0; i < (size_t)(D + 2 * H) * T; i++) in[i] = x[(i * 104729u) % n];
    fill_normal(&rng, in, D * T, 1.0);   /* dy sane, h1 and h3 awkward */
    for (int i = 0; i < 3; i++) Wt[i] = malloc(D * H * sizeof(float)), fill_normal(&rng, Wt[i], D * H, 0.2);
    float want[D * T], got[D * T];
    fp16_impl_use(&fp16_portable);
    int rc = ffn_bwd(&chip, in, (const float *const *)Wt, want);
    for (int i = 1; fp16_impl_get(i); i++) {
        fp16_impl_use(fp16_impl_get(i));
        rc |= ffn_bwd(&chip, in, (const float *const *)Wt, got);
        ok(!rc && !memcmp(got, want, sizeof got), "FFN backward on the emulator: %s gives the portable bits",
           fp16_impl_get(i)->name);
    }
    fp16_impl_use(NULL);
    ok(!rc, "FFN backward runs under every implementation");
    for (int i = 0; i < 3; i++) free(Wt[i]);
    free(in), free(x);
    return tap_done();
}
