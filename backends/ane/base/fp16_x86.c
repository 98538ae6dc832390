/* fp16.h's buffer functions on x86 vector units: AVX-512F (16 lanes) and AVX2 with
 * F16C (8 lanes), picked at run time, so a generic x86-64 build still uses them.
 * The hardware conversion (vcvtps2ph with round-to-nearest-even) already overflows to
 * ±inf and quiets NaNs the way fp16.c does; what it does not do is the ANE's flush of
 * subnormals (§7.3 "subnormals flush to zero"), so that is applied on the fp16 bits:
 * an exponent field of 0 keeps only the sign. A float NaN passes fp16_round unchanged
 * (payload and all), so the round trip restores it. Every function gives the bits of
 * its portable twin in fp16.c (tests/test_ane_fp16_simd.c: all 65536 halves, random
 * floats); tails shorter than a vector go to the portable code. */
#include "ane/base/fp16.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>
#include <stdatomic.h>

#define RNE (_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define AVX2 __attribute__((target("avx2,f16c")))
#define AVX512 __attribute__((target("avx512f,avx2,f16c")))

/* Compilers may fold x * -1 into a sign flip, which would flip a NaN's sign; see fp16.c. */
static volatile float minus_one = -1.0f;

/* ---- AVX2 + F16C: 8 lanes ---- */

AVX2 static inline __m128i flush8(__m128i h)
{
    __m128i sub = _mm_cmpeq_epi16(_mm_and_si128(h, _mm_set1_epi16(0x7c00)), _mm_setzero_si128());
    return _mm_andnot_si128(_mm_and_si128(sub, _mm_set1_epi16(0x7fff)), h);
}

/* fp16_round of 8 floats: convert there and back, flush what came back subnormal
 * (below 2^-14), and let NaNs through untouched. */
AVX2 static inline __m256 round8(__m256 x)
{
    const __m256i abs = _mm256_set1_epi32(0x7fffffff);
    __m256i u = _mm256_castps_si256(x);
    __m256i r = _mm256_castps_si256(_mm256_cvtph_ps(_mm256_cvtps_ph(x, RNE)));
    __m256i tiny = _mm256_cmpgt_epi32(_mm256_set1_epi32(0x38800000), _mm256_and_si256(r, abs));
    __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, abs), _mm256_set1_epi32(0x7f800000));
    r = _mm256_andnot_si256(_mm256_and_si256(tiny, abs), r);
    return _mm256_castsi256_ps(_mm256_blendv_epi8(r, u, nan));
}

AVX2 static void encode_f16c(uint16_t *dst, const float *src, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(dst + i), flush8(_mm256_cvtps_ph(_mm256_loadu_ps(src + i), RNE)));
    fp16_portable.encode(dst + i, src + i, n - i);
}

AVX2 static void decode_f16c(float *dst, const uint16_t *src, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(flush8(_mm_loadu_si128((const __m128i *)(src + i)))));
    fp16_portable.decode(dst + i, src + i, n - i);
}

AVX2 static void round_f16c(float *dst, const float *src, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, round8(_mm256_loadu_ps(src + i)));
    fp16_portable.round_to(dst + i, src + i, n - i);
}

/* r, or x quieted where x and y are both NaN (nan_pick in fp16.c) */
AVX2 static inline __m256 nan_pick8(__m256 r, __m256 x, __m256 y)
{
    __m256 both = _mm256_and_ps(_mm256_cmp_ps(x, x, _CMP_UNORD_Q), _mm256_cmp_ps(y, y, _CMP_UNORD_Q));
    return _mm256_blendv_ps(r, _mm256_or_ps(x, _mm256_castsi256_ps(_mm256_set1_epi32(0x400000))), both);
}

/* a op b; for add and mul, keep_b says whose NaN wins when both are NaN */
AVX2 static inline __m256 op8(enum fp16_op op, __m256 a, __m256 b, __m256 m1, int keep_b)
{
    switch (op) {
    case FP16_ADD: return keep_b ? nan_pick8(_mm256_add_ps(a, b), b, a) : nan_pick8(_mm256_add_ps(a, b), a, b);
    case FP16_SUB: return _mm256_sub_ps(a, b);
    case FP16_MUL: return keep_b ? nan_pick8(_mm256_mul_ps(a, b), b, a) : nan_pick8(_mm256_mul_ps(a, b), a, b);
    default: return _mm256_mul_ps(m1, _mm256_sub_ps(a, b));
    }
}

AVX2 static void binary_f16c(enum fp16_op op, float *out, const float *a, const float *b, size_t n)
{
    __m256 m1 = _mm256_set1_ps(minus_one);
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i, round8(op8(op, _mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), m1, 1)));
    fp16_portable.binary(op, out + i, a + i, b + i, n - i);
}

AVX2 static void binary_scalar_f16c(enum fp16_op op, float *out, const float *a, float c, size_t n)
{
    __m256 m1 = _mm256_set1_ps(minus_one), vc = _mm256_set1_ps(c);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, round8(op8(op, _mm256_loadu_ps(a + i), vc, m1, 0)));
    fp16_portable.binary_scalar(op, out + i, a + i, c, n - i);
}

/* ---- AVX-512F: 16 lanes ---- */

AVX512 static inline __m256i flush16(__m256i h)
{
    __m256i sub = _mm256_cmpeq_epi16(_mm256_and_si256(h, _mm256_set1_epi16(0x7c00)), _mm256_setzero_si256());
    return _mm256_andnot_si256(_mm256_and_si256(sub, _mm256_set1_epi16(0x7fff)), h);
}

AVX512 static inline __m512 round16(__m512 x)
{
    const __m512i abs = _mm512_set1_epi32(0x7fffffff);
    __m512i u = _mm512_castps_si512(x);
    __m512i r = _mm512_castps_si512(_mm512_cvtph_ps(_mm512_cvtps_ph(x, RNE)));
    __mmask16 tiny = _mm512_cmplt_epu32_mask(_mm512_and_si512(r, abs), _mm512_set1_epi32(0x38800000));
    __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, abs), _mm512_set1_epi32(0x7f800000));
    r = _mm512_mask_and_epi32(r, tiny, r, _mm512_set1_epi32((int)0x80000000u));
    return _mm512_castsi512_ps(_mm512_mask_mov_epi32(r, nan, u));
}

AVX512 static void encode_avx512(uint16_t *dst, const float *src, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256((__m256i *)(dst + i), flush16(_mm512_cvtps_ph(_mm512_loadu_ps(src + i), RNE)));
    fp16_portable.encode(dst + i, src + i, n - i);
}

AVX512 static void decode_avx512(float *dst, const uint16_t *src, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(flush16(_mm256_loadu_si256((const __m256i *)(src + i)))));
    fp16_portable.decode(dst + i, src + i, n - i);
}

AVX512 static void round_avx512(float *dst, const float *src, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, round16(_mm512_loadu_ps(src + i)));
    fp16_portable.round_to(dst + i, src + i, n - i);
}

AVX512 static inline __m512 nan_pick16(__m512 r, __m512 x, __m512 y)
{
    __mmask16 both = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q) & _mm512_cmp_ps_mask(y, y, _CMP_UNORD_Q);
    return _mm512_castsi512_ps(_mm512_mask_or_epi32(_mm512_castps_si512(r), both, _mm512_castps_si512(x),
                                                    _mm512_set1_epi32(0x400000)));
}

AVX512 static inline __m512 op16(enum fp16_op op, __m512 a, __m512 b, __m512 m1, int keep_b)
{
    switch (op) {
    case FP16_ADD: return keep_b ? nan_pick16(_mm512_add_ps(a, b), b, a) : nan_pick16(_mm512_add_ps(a, b), a, b);
    case FP16_SUB: return _mm512_sub_ps(a, b);
    case FP16_MUL: return keep_b ? nan_pick16(_mm512_mul_ps(a, b), b, a) : nan_pick16(_mm512_mul_ps(a, b), a, b);
    default: return _mm512_mul_ps(m1, _mm512_sub_ps(a, b));
    }
}

AVX512 static void binary_avx512(enum fp16_op op, float *out, const float *a, const float *b, size_t n)
{
    __m512 m1 = _mm512_set1_ps(minus_one);
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(out + i, round16(op16(op, _mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), m1, 1)));
    fp16_portable.binary(op, out + i, a + i, b + i, n - i);
}

AVX512 static void binary_scalar_avx512(enum fp16_op op, float *out, const float *a, float c, size_t n)
{
    __m512 m1 = _mm512_set1_ps(minus_one), vc = _mm512_set1_ps(c);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(out + i, round16(op16(op, _mm512_loadu_ps(a + i), vc, m1, 0)));
    fp16_portable.binary_scalar(op, out + i, a + i, c, n - i);
}

/* F16C is CPUID.1:ECX bit 29; __builtin_cpu_supports checks the OS saves the AVX state.
 * Asked once: cpuid traps to the hypervisor in a VM. */
static int have_f16c(void)
{
    static _Atomic int known;   /* 0 unknown, 1 no, 2 yes */
    int k = atomic_load_explicit(&known, memory_order_relaxed);
    if (!k) {
        unsigned a, b, c, d;
        k = __builtin_cpu_supports("avx2") && __get_cpuid(1, &a, &b, &c, &d) && (c >> 29 & 1) ? 2 : 1;
        atomic_store_explicit(&known, k, memory_order_relaxed);
    }
    return k == 2;
}

const struct fp16_impl *fp16_impl_f16c(void)
{
    static const struct fp16_impl f16c = {"AVX2+F16C", encode_f16c, decode_f16c, round_f16c, binary_f16c,
                                          binary_scalar_f16c};
    return have_f16c() ? &f16c : NULL;
}

const struct fp16_impl *fp16_impl_avx512(void)
{
    static const struct fp16_impl avx512 = {"AVX-512F", encode_avx512, decode_avx512, round_avx512,
                                            binary_avx512, binary_scalar_avx512};
    return have_f16c() && __builtin_cpu_supports("avx512f") ? &avx512 : NULL;
}

#else
const struct fp16_impl *fp16_impl_f16c(void) { return NULL; }
const struct fp16_impl *fp16_impl_avx512(void) { return NULL; }
#endif
