/* fp16 conversion with the ANE's rules (see fp16.h). Rounding happens in the float
 * domain: add half an fp16 ulp (minus one if the kept bit is even) to the float's bits
 * and clear the 13 bits fp16 does not keep; the carry handles mantissa overflow. */
#include "fp16.h"

#include <string.h>

static uint32_t bits_of(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static float float_of(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

float fp16_round(float f)
{
    uint32_t u = bits_of(f), sign = u & 0x80000000u, a = u & 0x7fffffffu;
    if (a >= 0x7f800000u) return f;                      /* inf, NaN */
    if (a >= 0x477ff000u) return float_of(sign | 0x7f800000u); /* >= 65520: overflow */
    if (a < 0x38800000u) {                               /* below 2^-14 */
        /* RNE to the subnormal grid (2^-24) gives 2^-14 only from 2^-14 - 2^-25 up
         * (the tie goes to the even 0x400); every other result is subnormal -> ±0. */
        return float_of(a >= 0x387fe000u ? sign | 0x38800000u : sign);
    }
    a += 0x0fffu + ((a >> 13) & 1u);
    a &= ~0x1fffu;
    return float_of(sign | a);
}

uint16_t fp16_from_float(float f)
{
    uint32_t u = bits_of(fp16_round(f)), sign = (u >> 16) & 0x8000u, a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return (uint16_t)(sign | 0x7e00u | ((a >> 13) & 0x3ffu)); /* NaN */
    if (a == 0x7f800000u) return (uint16_t)(sign | 0x7c00u);
    if (a == 0) return (uint16_t)sign;
    /* a is now a normal fp16 value: rebias the exponent 127 -> 15. */
    return (uint16_t)(sign | (((a >> 23) - 112u) << 10) | ((a >> 13) & 0x3ffu));
}

float fp16_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0) return float_of(sign);                   /* zero or flushed subnormal */
    if (e == 31) return float_of(sign | 0x7f800000u | (m << 13) | (m ? 0x400000u : 0));
    return float_of(sign | ((e + 112u) << 23) | (m << 13));
}

#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("tree-vectorize", "vect-cost-model=dynamic")))
#endif
void fp16_encode(uint16_t *dst, const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u = bits_of(fp16_round_inl(src[i])), a = u & 0x7fffffffu;
        uint32_t h = a >= 0x7f800000u ? 0x7c00u | ((a >> 13) & 0x3ffu) | (a > 0x7f800000u ? 0x200u : 0u)
                   : a ? (((a >> 23) - 112u) << 10) | ((a >> 13) & 0x3ffu) : 0u;
        dst[i] = (uint16_t)((u >> 16 & 0x8000u) | h);
    }
}

#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("tree-vectorize", "vect-cost-model=dynamic")))
#endif
void fp16_decode(float *dst, const uint16_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t h = src[i], sign = (h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
        uint32_t u = e == 0 ? 0u : e == 31 ? 0x7f800000u | (m << 13) | (m ? 0x400000u : 0u)
                                           : ((e + 112u) << 23) | (m << 13);
        dst[i] = float_of(sign | u);
    }
}

/* fp16_round over a buffer, written without branches so the compiler vectorizes it
 * (it runs after every emulated op); the same cases as fp16_round. GCC's -O2 cost
 * model leaves it scalar, so ask for its dynamic model here (clang vectorizes at -O2). */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("tree-vectorize", "vect-cost-model=dynamic")))
#endif
void fp16_round_buf(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = fp16_round_inl(x[i]);
}
