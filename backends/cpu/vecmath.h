/* Row kernels for softmax, cross-entropy and SwiGLU written so that a plain -O2 build
 * vectorizes them: loops run over blocks of LANES with a fixed trip count (GCC's default
 * "very cheap" cost model vectorizes only those), sums and maxima keep LANES independent
 * partials (no reassociation needed), and exp is a branch-free polynomial instead of
 * libm's expf, which no compiler vectorizes without -ffast-math. Private to libantops. */
#ifndef ANT_VECMATH_H
#define ANT_VECMATH_H

#include <stdint.h>
#include <string.h>

#define LANES 16

/* The functions built on these loops also get AVX2 and AVX-512 copies, picked when the
 * library loads (GNU ifunc): 3-4x faster than the SSE2 baseline of a generic x86-64
 * build, and the CPU backend runs on whatever x86 it finds. Elsewhere: one plain copy. */
#if defined(__x86_64__) && defined(__linux__) && defined(__GLIBC__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define VEC_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#endif
#endif
#ifndef VEC_CLONES
#define VEC_CLONES
#endif

/* A float's bits as an int that orders like the float (for non-NaN): the involution
 * flips the magnitude bits of negatives. Clamping this int is branch-free, where a float
 * clamp would be a branch that stops GCC's -O2 vectorizer. */
static inline float clamp_float(float x, float lo, float hi)
{
    int32_t k, l, h;
    memcpy(&k, &x, sizeof k), memcpy(&l, &lo, sizeof l), memcpy(&h, &hi, sizeof h);
    k ^= -(int32_t)((uint32_t)k >> 31) & 0x7fffffff;
    l ^= -(int32_t)((uint32_t)l >> 31) & 0x7fffffff;
    h ^= -(int32_t)((uint32_t)h >> 31) & 0x7fffffff;
    k = k > l ? k : l;
    k = k < h ? k : h;
    k ^= -(int32_t)((uint32_t)k >> 31) & 0x7fffffff;
    memcpy(&x, &k, sizeof x);
    return x;
}

/* e^x within 1 ulp for x in [-87, 88]; clamped outside (so e^-1000 is 1.6e-38, not 0);
 * NaN and infinities give NaN. Cody-Waite reduction x = n ln2 + r, |r| <= ln2/2,
 * Cephes' minimax polynomial for e^r, 2^n built in the exponent bits. */
static inline float exp_approx(float x)
{
    float nan_or_0 = x - x;
    x = clamp_float(x, -87.0f, 88.0f);
    float t = x * 1.44269504f + 12582912.0f;   /* 1.5 * 2^23: n lands in the low bits */
    float n = t - 12582912.0f;
    float r = x - n * 0.693145751953125f - n * 1.428606765330187e-6f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t e;
    memcpy(&e, &t, sizeof e);
    e = (e - 0x4b400000 + 127) * (1 << 23);    /* 2^n: n + 127 in the exponent field */
    float scale;
    memcpy(&scale, &e, sizeof scale);
    return p * scale + nan_or_0;
}

static inline float vec_max(const float *x, int n)
{
    float m[LANES], best;
    int j = 0;
    for (int k = 0; k < LANES; k++) m[k] = x[0];
    for (; j + LANES <= n; j += LANES)
        for (int k = 0; k < LANES; k++) m[k] = x[j + k] > m[k] ? x[j + k] : m[k];
    best = m[0];
    for (int k = 1; k < LANES; k++) best = m[k] > best ? m[k] : best;
    for (; j < n; j++) best = x[j] > best ? x[j] : best;
    return best;
}

/* x[i] = e^(x[i] - shift); returns the sum of the new x */
static inline double vec_exp_sum(float *x, int n, float shift)
{
    float acc[LANES] = {0};
    int j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int k = 0; k < LANES; k++) {
            x[j + k] = exp_approx(x[j + k] - shift);
            acc[k] += x[j + k];
        }
    double sum = 0;
    for (; j < n; j++) sum += x[j] = exp_approx(x[j] - shift);
    for (int k = 0; k < LANES; k++) sum += acc[k];
    return sum;
}

static inline float vec_dot(const float *a, const float *b, int n)
{
    float acc[LANES] = {0}, sum = 0.0f;
    int j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int k = 0; k < LANES; k++) acc[k] += a[j + k] * b[j + k];
    for (; j < n; j++) sum += a[j] * b[j];
    for (int k = 0; k < LANES; k++) sum += acc[k];
    return sum;
}

static inline void vec_scale(float *x, int n, float s)
{
    int j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int k = 0; k < LANES; k++) x[j + k] *= s;
    for (; j < n; j++) x[j] *= s;
}

#endif
