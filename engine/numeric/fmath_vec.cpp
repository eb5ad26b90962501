#include "fmath_vec.h"
#include "fmath.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define PX_FMATH_AVX2 1
#else
#define PX_FMATH_AVX2 0
#endif

namespace px::fm {

#if PX_FMATH_AVX2
namespace {

// Each helper is fmath.h's or fmath.cpp's function of the same name on 8 lanes. Lanes that a
// scalar definition would have left early (NaN, infinities, out of range) are computed anyway
// with whatever their bits give (no float exception is unmasked) and replaced at the end by
// the value the scalar branch returns.
#define PX_AVX2 __attribute__((target("avx2")))
using V = __m256;
using I = __m256i;

PX_AVX2 inline I ibits(V x) {
    return _mm256_castps_si256(x);
}
PX_AVX2 inline V fbits(I x) {
    return _mm256_castsi256_ps(x);
}
PX_AVX2 inline I iset(uint32_t v) {
    return _mm256_set1_epi32(int32_t(v));
}
PX_AVX2 inline V fset(uint32_t b) {
    return fbits(iset(b));
}
// Lanes where mask is all ones take v.
PX_AVX2 inline V select(I mask, V v, V otherwise) {
    return _mm256_blendv_ps(otherwise, v, fbits(mask));
}
// |x| > +inf as integers: a NaN.
PX_AVX2 inline I nan_mask(I b) {
    return _mm256_cmpgt_epi32(_mm256_and_si256(b, iset(0x7FFFFFFFu)), iset(kPosInf));
}

// canon_bits: NaN -> kNaN; |v| <= 2^-126 -> +0; else unchanged.
PX_AVX2 inline V canon(V x) {
    const I b = ibits(x);
    const I mag = _mm256_and_si256(b, iset(0x7FFFFFFFu));
    const I small = _mm256_cmpgt_epi32(iset(kMinNormal + 1), mag);
    const I kept = _mm256_andnot_si256(small, b);
    return select(_mm256_cmpgt_epi32(mag, iset(kPosInf)), fset(kNaN), fbits(kept));
}
PX_AVX2 inline V add(V a, V b) {
    return canon(_mm256_add_ps(a, b));
}
PX_AVX2 inline V sub(V a, V b) {
    return canon(_mm256_sub_ps(a, b));
}
PX_AVX2 inline V mul(V a, V b) {
    return canon(_mm256_mul_ps(a, b));
}
// 2^e for e in the normal range.
PX_AVX2 inline V pow2(I e) {
    return fbits(_mm256_slli_epi32(_mm256_add_epi32(e, iset(127)), 23));
}

PX_AVX2 V exp(V x) {
    x = canon(x);
    const I nan = nan_mask(ibits(x));
    const I big = _mm256_castps_si256(_mm256_cmp_ps(x, fset(0x42B20000u), _CMP_GT_OQ));   // x > 89
    const I tiny = _mm256_castps_si256(_mm256_cmp_ps(x, fset(0xC2D00000u), _CMP_LT_OQ)); // x < -104
    // n = floor_int(t): truncation toward zero, less 1 where that is above t.
    const V t = add(mul(x, fset(0x3FB8AA3Bu)), _mm256_set1_ps(0.5f));
    I n = _mm256_cvttps_epi32(t);
    n = _mm256_add_epi32(n, _mm256_castps_si256(_mm256_cmp_ps(_mm256_cvtepi32_ps(n), t, _CMP_GT_OQ)));
    const V fn = _mm256_cvtepi32_ps(n);
    const V r = sub(sub(x, mul(fn, fset(0x3F317200u))), mul(fn, fset(0x35BFBE8Eu)));
    V p = fset(0x39500D01u);
    p = add(mul(p, r), fset(0x3AB60B61u));
    p = add(mul(p, r), fset(0x3C088889u));
    p = add(mul(p, r), fset(0x3D2AAAABu));
    p = add(mul(p, r), fset(0x3E2AAAABu));
    p = add(mul(p, r), fset(0x3F000000u));
    p = add(mul(p, r), _mm256_set1_ps(1.0f));
    p = add(mul(p, r), _mm256_set1_ps(1.0f));
    // n1 = n / 2 truncated toward zero (C++ division), n2 = n - n1.
    const I n1 = _mm256_srai_epi32(_mm256_add_epi32(n, _mm256_srli_epi32(n, 31)), 1);
    const I n2 = _mm256_sub_epi32(n, n1);
    V y = mul(mul(p, pow2(n1)), pow2(n2));
    y = select(tiny, _mm256_setzero_ps(), y);
    y = select(big, fset(kPosInf), y);
    return select(nan, fset(kNaN), y);
}

// two_product's split: a = hi + lo with hi of 12 significant bits.
struct Split {
    V hi, lo;
};
PX_AVX2 inline Split split(V a) {
    const V c = mul(fset(0x45801000u), a);
    const V hi = sub(c, sub(c, a));
    return {hi, sub(a, hi)};
}

PX_AVX2 V recip(V x) {
    const I b = ibits(canon(x));
    const I mag = _mm256_and_si256(b, iset(0x7FFFFFFFu)), sign = _mm256_and_si256(b, iset(0x80000000u));
    const I nan = _mm256_cmpgt_epi32(mag, iset(kPosInf));
    const I zero = _mm256_cmpeq_epi32(mag, _mm256_setzero_si256());
    const I inf = _mm256_cmpeq_epi32(mag, iset(kPosInf));
    const I e = _mm256_sub_epi32(_mm256_srli_epi32(mag, 23), iset(127));
    const V m = fbits(_mm256_or_si256(_mm256_and_si256(mag, iset(0x7FFFFFu)), iset(0x3F800000u)));
    const V one = _mm256_set1_ps(1.0f);
    V y = sub(fset(0x3FB4B4B5u), mul(fset(0x3EF0F0F1u), m));
    for (int i = 0; i < 3; ++i)
        y = add(y, mul(y, sub(one, mul(m, y))));
    const V h = mul(m, y);
    const Split xs = split(m), ys = split(y);
    const V l = add(add(add(sub(mul(xs.hi, ys.hi), h), mul(xs.hi, ys.lo)), mul(xs.lo, ys.hi)), mul(xs.lo, ys.lo));
    y = add(y, mul(y, sub(sub(one, h), l)));
    V r = canon(fbits(_mm256_or_si256(ibits(mul(y, pow2(_mm256_sub_epi32(_mm256_setzero_si256(), e)))), sign)));
    r = select(_mm256_cmpgt_epi32(e, iset(126)), _mm256_setzero_ps(), r); // 1/x <= 2^-127: flushed
    r = select(inf, _mm256_setzero_ps(), r);
    r = select(zero, fset(kPosInf), r);
    return select(nan, fset(kNaN), r);
}

PX_AVX2 V gelu(V x) {
    x = canon(x);
    const I b = ibits(x);
    const V x3 = mul(mul(x, x), x);
    const V u = mul(fset(0x3F4C422Au), add(x, mul(fset(0x3D372713u), x3)));
    V y = mul(x, recip(add(_mm256_set1_ps(1.0f), exp(mul(_mm256_set1_ps(-2.0f), u)))));
    y = select(_mm256_cmpeq_epi32(b, iset(kNegInf)), _mm256_setzero_ps(), y);
    y = select(_mm256_cmpeq_epi32(b, iset(kPosInf)), fset(kPosInf), y);
    return select(nan_mask(b), fset(kNaN), y);
}

PX_AVX2 size_t gelu_run_avx2(float* x, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(x + i, gelu(_mm256_loadu_ps(x + i)));
    return i;
}

bool avx2() {
    static const bool ok = __builtin_cpu_supports("avx2");
    return ok;
}

} // namespace
#endif

bool gelu_run_vectorized() {
#if PX_FMATH_AVX2
    return avx2();
#else
    return false;
#endif
}

void gelu_run(float* x, size_t n) {
    size_t i = 0;
#if PX_FMATH_AVX2
    if (avx2()) i = gelu_run_avx2(x, n);
#endif
    for (; i < n; ++i)
        x[i] = gelu(x[i]);
}

} // namespace px::fm
