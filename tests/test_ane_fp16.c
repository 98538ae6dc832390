/* fp16 conversion with the ANE's rules: hand-computed bit patterns, every fp16 value
 * round-tripped, and a double-precision reference rounding on random floats. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "ane/base/fp16.h"
#include "base/rng.h"
#include "tap.h"

/* Independent reference: RNE on the fp16 grid in double, then the ANE's flush/overflow. */
static double ref_round(double x)
{
    if (isnan(x) || isinf(x)) return x;
    double a = fabs(x), q;
    if (a < ldexp(1, -14)) q = nearbyint(a / ldexp(1, -24)) * ldexp(1, -24);
    else {
        int e;
        frexp(a, &e);                        /* a = m * 2^e, m in [0.5, 1) */
        double ulp = ldexp(1, e - 1 - 10);
        q = nearbyint(a / ulp) * ulp;
    }
    if (q >= 65520.0 || q > 65504.0) q = INFINITY;
    if (q < ldexp(1, -14)) q = 0;            /* subnormal results flush */
    return copysign(q, x);
}

int main(void)
{
    static const struct { float f; uint16_t h; const char *what; } enc[] = {
        {1.0f, 0x3c00, "1"}, {-2.0f, 0xc000, "-2"}, {0.5f, 0x3800, "0.5"},
        {65504.0f, 0x7bff, "max 65504"}, {65519.0f, 0x7bff, "65519 rounds down to max"},
        {65520.0f, 0x7c00, "65520 (tie past max) overflows to inf"},
        {-65520.0f, 0xfc00, "-65520 overflows to -inf"}, {1e10f, 0x7c00, "1e10 -> inf"},
        {-65504.0f, 0xfbff, "mask value -65504"},
        {6.103515625e-05f, 0x0400, "2^-14 min normal"}, {3.0517578125e-05f, 0x0000, "2^-15 subnormal flushed"},
        {-3.0517578125e-05f, 0x8000, "-2^-15 flushed to -0"},
        {6.1005353927612305e-05f, 0x0400, "2^-14 - 2^-25 tie rounds up to min normal"},
        {6.097555160522461e-05f, 0x0000, "2^-14 - 2^-24 (largest subnormal) flushed"},
        {1.00048828125f, 0x3c00, "1 + 2^-11 tie to even (down)"},
        {1.00146484375f, 0x3c02, "1 + 3*2^-11 tie to even (up)"},
        {1.0004892349243164f, 0x3c01, "just above the tie rounds up"},
        {0.1f, 0x2e66, "0.1"}, {3.14159265f, 0x4248, "pi"}, {0.0f, 0x0000, "+0"},
        {-0.0f, 0x8000, "-0"}, {INFINITY, 0x7c00, "inf"}, {-INFINITY, 0xfc00, "-inf"},
    };
    for (size_t i = 0; i < sizeof enc / sizeof *enc; i++) {
        uint16_t h = fp16_from_float(enc[i].f);
        if (!ok(h == enc[i].h, "encode %s", enc[i].what)) diag("got 0x%04x want 0x%04x", h, enc[i].h);
    }
    uint16_t hn = fp16_from_float(NAN);
    ok((hn & 0x7c00) == 0x7c00 && (hn & 0x3ff), "NaN stays NaN (0x%04x)", hn);

    static const struct { uint16_t h; double f; const char *what; } dec[] = {
        {0x3c00, 1.0, "1"}, {0x7bff, 65504.0, "65504"}, {0x3555, 0.333251953125, "1/3"},
        {0x0400, 6.103515625e-05, "min normal"}, {0x0001, 0.0, "subnormal reads as 0"},
        {0x03ff, 0.0, "largest subnormal reads as 0"}, {0xc500, -5.0, "-5"},
    };
    for (size_t i = 0; i < sizeof dec / sizeof *dec; i++)
        ok(fp16_to_float(dec[i].h) == dec[i].f, "decode %s", dec[i].what);
    ok(signbit(fp16_to_float(0x8001)) && fp16_to_float(0x8001) == 0, "negative subnormal reads as -0");
    ok(isinf(fp16_to_float(0x7c00)) && isnan(fp16_to_float(0x7e00)), "inf and NaN decode");

    int bad = 0;
    for (uint32_t h = 0; h < 0x10000; h++) {
        float f = fp16_to_float((uint16_t)h);
        uint16_t back = fp16_from_float(f);
        int sub = (h & 0x7c00) == 0 && (h & 0x3ff);
        int nan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff);
        uint16_t want = sub ? (uint16_t)(h & 0x8000) : (uint16_t)h;
        if (!nan && back != want) bad++;
        if (!nan && fp16_round(f) != f && !sub) bad++;
    }
    ok(bad == 0, "every fp16 value round-trips (subnormals to signed zero): %d bad", bad);

    struct ant_rng r;
    rng_seed(&r, 7);
    bad = 0;
    for (int i = 0; i < 1000000; i++) {
        /* random sign, exponent 2^-30..2^20, random mantissa */
        double x = ldexp(1.0 + rng_uniform(&r), (int)rng_below(&r, 50) - 30) * (rng_below(&r, 2) ? -1 : 1);
        float f = (float)x;
        double want = ref_round(f);
        float got = fp16_round(f);
        if (!(got == want && !signbit(got) == !signbit(want))) {
            if (bad++ < 3) diag("x=%.17g got %.17g want %.17g", (double)f, (double)got, want);
        }
        if (fp16_to_float(fp16_from_float(f)) != got) bad++;
    }
    ok(bad == 0, "1e6 random floats round as the double reference says: %d bad", bad);

    float buf[4] = {1.00048828125f, 70000.0f, 1e-6f, -0.1f};
    uint16_t hb[4];
    float back[4];
    fp16_encode(hb, buf, 4);
    fp16_decode(back, hb, 4);
    fp16_round_buf(buf, 4);
    ok(!memcmp(buf, back, sizeof buf), "buffer encode/decode equals in-place rounding");
    return tap_done();
}
