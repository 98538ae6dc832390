/* IEEE binary16 as the ANE stores it: round-to-nearest-even, overflow to ±inf,
 * subnormals flushed to zero (ANE_REFERENCE.md §7.3 "subnormals flush to zero").
 * Portable bit arithmetic, no _Float16, so every host gives the same bits. */
#ifndef ANE_FP16_H
#define ANE_FP16_H

#include <stddef.h>
#include <stdint.h>

#define FP16_MAX 65504.0f
#define FP16_MIN_NORMAL 6.103515625e-05f   /* 2^-14 */

/* float -> fp16 bits (RNE; a result in the subnormal range becomes ±0). */
uint16_t fp16_from_float(float f);
/* fp16 bits -> float (a subnormal input reads as ±0, as the ANE flushes it). */
float fp16_to_float(uint16_t h);
/* The float nearest to f that fp16 can hold under the rules above: the value an ANE
 * op result takes when it is stored. Equal to fp16_to_float(fp16_from_float(f)). */
float fp16_round(float f);

/* fp16_round without branches, for loops the compiler can vectorize. */
static inline float fp16_round_inl(float f)
{
    union { float f; uint32_t u; } v = {f};
    uint32_t sign = v.u & 0x80000000u, a = v.u & 0x7fffffffu;
    uint32_t r = (a + 0x0fffu + ((a >> 13) & 1u)) & ~0x1fffu;
    r = r >= 0x47800000u ? 0x7f800000u : r;                          /* overflow */
    r = a < 0x38800000u ? (a >= 0x387fe000u ? 0x38800000u : 0u) : r;   /* flush */
    r = a >= 0x7f800000u ? a : r;                                     /* inf, NaN */
    v.u = sign | r;
    return v.f;
}

void fp16_encode(uint16_t *dst, const float *src, size_t n);
void fp16_decode(float *dst, const uint16_t *src, size_t n);
void fp16_round_buf(float *x, size_t n);

#endif
