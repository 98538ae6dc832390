/* fp16 conversion with the ANE's rules (see fp16.h). Rounding happens in the float
 * domain: add half an fp16 ulp (minus one if the kept bit is even) to the float's bits
 * and clear the 13 bits fp16 does not keep; the carry handles mantissa overflow. */
#include "ane/base/fp16.h"

#include <stdatomic.h>
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

/* The portable loops: written without branches so the compiler can vectorize them.
 * GCC's -O2 cost model leaves them scalar, so ask for its dynamic model here (clang
 * vectorizes at -O2). They are the reference the vector versions must match bit for bit. */
#if defined(__GNUC__) && !defined(__clang__)
#define VECTORIZE __attribute__((optimize("tree-vectorize", "vect-cost-model=dynamic")))
#else
#define VECTORIZE
#endif

VECTORIZE static void encode_c(uint16_t *dst, const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u = bits_of(fp16_round_inl(src[i])), a = u & 0x7fffffffu;
        uint32_t h = a >= 0x7f800000u ? 0x7c00u | ((a >> 13) & 0x3ffu) | (a > 0x7f800000u ? 0x200u : 0u)
                   : a ? (((a >> 23) - 112u) << 10) | ((a >> 13) & 0x3ffu) : 0u;
        dst[i] = (uint16_t)((u >> 16 & 0x8000u) | h);
    }
}

VECTORIZE static void decode_c(float *dst, const uint16_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t h = src[i], sign = (h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
        uint32_t u = e == 0 ? 0u : e == 31 ? 0x7f800000u | (m << 13) | (m ? 0x400000u : 0u)
                                           : ((e + 112u) << 23) | (m << 13);
        dst[i] = float_of(sign | u);
    }
}

VECTORIZE static void round_c(float *dst, const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] = fp16_round_inl(src[i]);
}

/* RSUB multiplies by -1 rather than flipping the sign bit: a NaN keeps its sign, as it
 * did when the emulator computed c - b as sgn * (b - c). The -1 is read from a volatile
 * so the compiler cannot fold the product into a negation. */
static volatile float minus_one = -1.0f;

/* When both operands are NaN, x86 returns the first source operand's, and for add and
 * mul the compiler picks which operand that is. The emulator has always returned the
 * second operand's in same-shape ops and the tensor's in scalar ops: r, unless x and
 * y are both NaN, then x quieted. */
static inline float nan_pick(float r, float x, float y)
{
    uint32_t ux = bits_of(x), uy = bits_of(y);
    int both = (ux & 0x7fffffffu) > 0x7f800000u && (uy & 0x7fffffffu) > 0x7f800000u;
    return both ? float_of(ux | 0x400000u) : r;
}

VECTORIZE static void binary_c(enum fp16_op op, float *out, const float *a, const float *b, size_t n)
{
    switch (op) {
    case FP16_ADD:
        for (size_t i = 0; i < n; i++) out[i] = fp16_round_inl(nan_pick(a[i] + b[i], b[i], a[i]));
        break;
    case FP16_SUB: for (size_t i = 0; i < n; i++) out[i] = fp16_round_inl(a[i] - b[i]); break;
    case FP16_MUL:
        for (size_t i = 0; i < n; i++) out[i] = fp16_round_inl(nan_pick(a[i] * b[i], b[i], a[i]));
        break;
    case FP16_RSUB: {
        float m1 = minus_one;
        for (size_t i = 0; i < n; i++) out[i] = fp16_round_inl(m1 * (a[i] - b[i]));
        break;
    }
    }
}

VECTORIZE static void binary_scalar_c(enum fp16_op op, float *out, const float *a, float c, size_t n)
{
    switch (op) {
    case FP16_ADD: for (size_t i = 0; i < n; i++) out[i] = fp16_round_inl(nan_pick(a[i] + c, a[i], c)); break;
    case FP16_SUB: for (size_t i = 0; i < n; i++) out[i] = fp16_round_inl(a[i] - c); break;
    case FP16_MUL: for (size_t i = 0; i < n; i++) out[i] = fp16_round_inl(nan_pick(a[i] * c, a[i], c)); break;
    case FP16_RSUB: {
        float m1 = minus_one;
        for (size_t i = 0; i < n; i++) out[i] = fp16_round_inl(m1 * (a[i] - c));
        break;
    }
    }
}

const struct fp16_impl fp16_portable = {"portable C", encode_c, decode_c, round_c, binary_c, binary_scalar_c};

const struct fp16_impl *fp16_impl_get(int i)
{
    const struct fp16_impl *all[] = {&fp16_portable, fp16_impl_f16c(), fp16_impl_avx512()};
    for (int k = 0; k < (int)(sizeof all / sizeof *all); k++)
        if (all[k] && i-- == 0) return all[k];
    return NULL;
}

static _Atomic(const struct fp16_impl *) active;   /* NULL: not picked yet */

const struct fp16_impl *fp16_impl_active(void)
{
    const struct fp16_impl *p = atomic_load_explicit(&active, memory_order_relaxed);
    if (!p) {   /* every thread that gets here picks the same one */
        for (int i = 0; fp16_impl_get(i); i++) p = fp16_impl_get(i);
        atomic_store_explicit(&active, p, memory_order_relaxed);
    }
    return p;
}

void fp16_impl_use(const struct fp16_impl *p) { atomic_store_explicit(&active, p, memory_order_relaxed); }

void fp16_encode(uint16_t *dst, const float *src, size_t n) { fp16_impl_active()->encode(dst, src, n); }
void fp16_decode(float *dst, const uint16_t *src, size_t n) { fp16_impl_active()->decode(dst, src, n); }
void fp16_round_buf(float *x, size_t n) { fp16_impl_active()->round_to(x, x, n); }
void fp16_round_to(float *dst, const float *src, size_t n) { fp16_impl_active()->round_to(dst, src, n); }

void fp16_binary(enum fp16_op op, float *out, const float *a, const float *b, size_t n)
{
    fp16_impl_active()->binary(op, out, a, b, n);
}

void fp16_binary_scalar(enum fp16_op op, float *out, const float *a, float c, size_t n)
{
    fp16_impl_active()->binary_scalar(op, out, a, c, n);
}
