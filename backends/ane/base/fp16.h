/* IEEE binary16 as the ANE stores it: round-to-nearest-even, overflow to ±inf,
 * subnormals flushed to zero (docs/ane.md §7.3 "subnormals flush to zero").
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

/* Buffer conversions, and the emulator's same-shape add, sub and mul with the result
 * rounded in the same pass: run by the widest vector unit the CPU has (fp16_x86.c),
 * picked at first use, with the bits of the portable C loops (fp16.c). */
void fp16_encode(uint16_t *dst, const float *src, size_t n);
void fp16_decode(float *dst, const uint16_t *src, size_t n);
void fp16_round_buf(float *x, size_t n);
void fp16_round_to(float *dst, const float *src, size_t n);   /* dst may be src */
/* RSUB is -1 * (a - b): b - a, but with the zero or NaN sign the emulator always gave. */
enum fp16_op { FP16_ADD, FP16_SUB, FP16_MUL, FP16_RSUB };
/* out[i] = fp16_round(a[i] op b[i]); out may be a or b. */
void fp16_binary(enum fp16_op op, float *out, const float *a, const float *b, size_t n);
/* out[i] = fp16_round(a[i] op c); out may be a. */
void fp16_binary_scalar(enum fp16_op op, float *out, const float *a, float c, size_t n);

/* One implementation of the buffer functions above. */
struct fp16_impl {
    const char *name;
    void (*encode)(uint16_t *dst, const float *src, size_t n);
    void (*decode)(float *dst, const uint16_t *src, size_t n);
    void (*round_to)(float *dst, const float *src, size_t n);
    void (*binary)(enum fp16_op op, float *out, const float *a, const float *b, size_t n);
    void (*binary_scalar)(enum fp16_op op, float *out, const float *a, float c, size_t n);
};
/* The portable C (every CPU), and the implementations this CPU can run, best last:
 * 0 is the portable C; NULL past the last one. fp16_impl_active() is the one the
 * functions above use. */
extern const struct fp16_impl fp16_portable;
const struct fp16_impl *fp16_impl_get(int i);
const struct fp16_impl *fp16_impl_active(void);
/* Make p the active one (NULL: the best again); for tests comparing them. */
void fp16_impl_use(const struct fp16_impl *p);
/* The vector implementations (fp16_x86.c): NULL where the CPU or compiler lacks them. */
const struct fp16_impl *fp16_impl_f16c(void);
const struct fp16_impl *fp16_impl_avx512(void);

#endif
