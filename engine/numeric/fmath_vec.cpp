#include "fmath_vec.h"
#include "fmath.h"
#include "kernel_clones.h"

#if PX_X86_KERNELS
#include <immintrin.h>
#endif

namespace px::fm {

#if PX_X86_KERNELS
namespace {

// Each helper is fmath.h's or fmath.cpp's function of the same name on kPack x 8 lanes. Lanes
// that a scalar definition would have left early (NaN, infinities, out of range) are computed
// anyway with whatever their bits give (no float exception is unmasked) and replaced at the end
// by the value the scalar branch returns.
//
// Why packs of 4 vectors: each function is one long chain of dependent operations (Horner, Newton
// steps), each an IEEE operation and a canonicalization, so one vector at a time waits on
// latency (measured 21 ns a value); four independent chains side by side fill the pipelines.
#define PX_EACH _Pragma("GCC unroll 4") for (int j = 0; j < kPack; ++j)
constexpr int kPack = 4;
using V = __m256;
using I = __m256i;
struct P { // kPack vectors of 8 floats
    V v[kPack];
};
struct Q { // kPack vectors of 8 int32 (bits or masks)
    I v[kPack];
};

PX_AVX2_TARGET inline Q ibits(P x) {
    Q r;
    PX_EACH r.v[j] = _mm256_castps_si256(x.v[j]);
    return r;
}
PX_AVX2_TARGET inline P fbits(Q x) {
    P r;
    PX_EACH r.v[j] = _mm256_castsi256_ps(x.v[j]);
    return r;
}
PX_AVX2_TARGET inline Q iset(uint32_t v) {
    Q r;
    PX_EACH r.v[j] = _mm256_set1_epi32(int32_t(v));
    return r;
}
PX_AVX2_TARGET inline P fset(uint32_t b) {
    return fbits(iset(b));
}
PX_AVX2_TARGET inline P fset(float f) {
    P r;
    PX_EACH r.v[j] = _mm256_set1_ps(f);
    return r;
}
// Lanes where mask is all ones take v.
PX_AVX2_TARGET inline P select(Q mask, P v, P otherwise) {
    P r;
    PX_EACH r.v[j] = _mm256_blendv_ps(otherwise.v[j], v.v[j], _mm256_castsi256_ps(mask.v[j]));
    return r;
}
// Integer lane operations, lane by lane over the pack.
#define PX_IOP(name, intrinsic)                                                                              \
    PX_AVX2_TARGET inline Q name(Q a, Q b) {                                                                 \
        Q r;                                                                                                 \
        PX_EACH r.v[j] = intrinsic(a.v[j], b.v[j]);                                                          \
        return r;                                                                                            \
    }
PX_IOP(iand, _mm256_and_si256)
PX_IOP(iandnot, _mm256_andnot_si256)
PX_IOP(ior, _mm256_or_si256)
PX_IOP(iadd, _mm256_add_epi32)
PX_IOP(isub, _mm256_sub_epi32)
PX_IOP(igt, _mm256_cmpgt_epi32)
PX_IOP(ieq, _mm256_cmpeq_epi32)
#undef PX_IOP
// Float comparisons as masks (ordered: false for NaN).
PX_AVX2_TARGET inline Q fgt(P a, P b) {
    Q r;
    PX_EACH r.v[j] = _mm256_castps_si256(_mm256_cmp_ps(a.v[j], b.v[j], _CMP_GT_OQ));
    return r;
}
PX_AVX2_TARGET inline Q flt(P a, P b) {
    Q r;
    PX_EACH r.v[j] = _mm256_castps_si256(_mm256_cmp_ps(a.v[j], b.v[j], _CMP_LT_OQ));
    return r;
}
// |x| > +inf as integers: a NaN.
PX_AVX2_TARGET inline Q nan_mask(Q b) {
    return igt(iand(b, iset(0x7FFFFFFFu)), iset(kPosInf));
}

// canon_bits: NaN -> kNaN; |v| <= 2^-126 -> +0; else unchanged.
PX_AVX2_TARGET inline P canon(P x) {
    const Q b = ibits(x);
    const Q mag = iand(b, iset(0x7FFFFFFFu));
    const Q kept = iandnot(igt(iset(kMinNormal + 1), mag), b);
    return select(igt(mag, iset(kPosInf)), fset(kNaN), fbits(kept));
}
#define PX_FOP(name, intrinsic)                                                                              \
    PX_AVX2_TARGET inline P name(P a, P b) {                                                                 \
        P r;                                                                                                 \
        PX_EACH r.v[j] = intrinsic(a.v[j], b.v[j]);                                                          \
        return canon(r);                                                                                     \
    }
PX_FOP(add, _mm256_add_ps)
PX_FOP(sub, _mm256_sub_ps)
PX_FOP(mul, _mm256_mul_ps)
#undef PX_FOP
// 2^e for e in the normal range.
PX_AVX2_TARGET inline P pow2(Q e) {
    Q r;
    PX_EACH r.v[j] = _mm256_slli_epi32(_mm256_add_epi32(e.v[j], _mm256_set1_epi32(127)), 23);
    return fbits(r);
}

PX_AVX2_TARGET inline P exp(P x) {
    x = canon(x);
    const Q nan = nan_mask(ibits(x));
    const Q big = fgt(x, fset(0x42B20000u));  // x > 89
    const Q tiny = flt(x, fset(0xC2D00000u)); // x < -104
    // n = floor_int(t): truncation toward zero, less 1 where that is above t.
    const P t = add(mul(x, fset(0x3FB8AA3Bu)), fset(0.5f));
    Q n;
    P fn;
    PX_EACH {
        n.v[j] = _mm256_cvttps_epi32(t.v[j]);
        const V above = _mm256_cmp_ps(_mm256_cvtepi32_ps(n.v[j]), t.v[j], _CMP_GT_OQ);
        n.v[j] = _mm256_add_epi32(n.v[j], _mm256_castps_si256(above));
        fn.v[j] = _mm256_cvtepi32_ps(n.v[j]);
    }
    const P r = sub(sub(x, mul(fn, fset(0x3F317200u))), mul(fn, fset(0x35BFBE8Eu)));
    P p = fset(0x39500D01u);
    p = add(mul(p, r), fset(0x3AB60B61u));
    p = add(mul(p, r), fset(0x3C088889u));
    p = add(mul(p, r), fset(0x3D2AAAABu));
    p = add(mul(p, r), fset(0x3E2AAAABu));
    p = add(mul(p, r), fset(0x3F000000u));
    p = add(mul(p, r), fset(1.0f));
    p = add(mul(p, r), fset(1.0f));
    // n1 = n / 2 truncated toward zero (C++ division), n2 = n - n1.
    Q n1;
    PX_EACH n1.v[j] = _mm256_srai_epi32(_mm256_add_epi32(n.v[j], _mm256_srli_epi32(n.v[j], 31)), 1);
    const Q n2 = isub(n, n1);
    P y = mul(mul(p, pow2(n1)), pow2(n2));
    y = select(tiny, fset(0.0f), y);
    y = select(big, fset(kPosInf), y);
    return select(nan, fset(kNaN), y);
}

// two_product's split: a = hi + lo with hi of 12 significant bits.
struct Split {
    P hi, lo;
};
PX_AVX2_TARGET inline Split split(P a) {
    const P c = mul(fset(0x45801000u), a);
    const P hi = sub(c, sub(c, a));
    return {hi, sub(a, hi)};
}

PX_AVX2_TARGET inline P recip(P x) {
    const Q b = ibits(canon(x));
    const Q mag = iand(b, iset(0x7FFFFFFFu)), sign = iand(b, iset(0x80000000u));
    const Q nan = igt(mag, iset(kPosInf));
    const Q zero = ieq(mag, iset(0u));
    const Q inf = ieq(mag, iset(kPosInf));
    Q e;
    PX_EACH e.v[j] = _mm256_sub_epi32(_mm256_srli_epi32(mag.v[j], 23), _mm256_set1_epi32(127));
    const P m = fbits(ior(iand(mag, iset(0x7FFFFFu)), iset(0x3F800000u)));
    const P one = fset(1.0f);
    P y = sub(fset(0x3FB4B4B5u), mul(fset(0x3EF0F0F1u), m));
    for (int i = 0; i < 3; ++i)
        y = add(y, mul(y, sub(one, mul(m, y))));
    const P h = mul(m, y);
    const Split xs = split(m), ys = split(y);
    const P l =
        add(add(add(sub(mul(xs.hi, ys.hi), h), mul(xs.hi, ys.lo)), mul(xs.lo, ys.hi)), mul(xs.lo, ys.lo));
    y = add(y, mul(y, sub(sub(one, h), l)));
    P r = canon(fbits(ior(ibits(mul(y, pow2(isub(iset(0u), e)))), sign)));
    r = select(igt(e, iset(126u)), fset(0.0f), r); // 1/x <= 2^-127: flushed
    r = select(inf, fset(0.0f), r);
    r = select(zero, fset(kPosInf), r);
    return select(nan, fset(kNaN), r);
}

PX_AVX2_TARGET inline P gelu(P x) {
    x = canon(x);
    const Q b = ibits(x);
    const P x3 = mul(mul(x, x), x);
    const P u = mul(fset(0x3F4C422Au), add(x, mul(fset(0x3D372713u), x3)));
    P y = mul(x, recip(add(fset(1.0f), exp(mul(fset(-2.0f), u)))));
    y = select(ieq(b, iset(kNegInf)), fset(0.0f), y);
    y = select(ieq(b, iset(kPosInf)), fset(kPosInf), y);
    return select(nan_mask(b), fset(kNaN), y);
}

// The whole packs of x; returns how many values that was.
// flatten: every helper inlined (GCC declines the larger ones and passes packs through memory).
__attribute__((flatten)) PX_AVX2_TARGET size_t gelu_run_avx2(float* x, size_t n) {
    constexpr size_t kStep = 8 * kPack;
    size_t i = 0;
    for (; i + kStep <= n; i += kStep) {
        P v;
        PX_EACH v.v[j] = _mm256_loadu_ps(x + i + 8 * j);
        v = gelu(v);
        PX_EACH _mm256_storeu_ps(x + i + 8 * j, v.v[j]);
    }
    return i;
}

} // namespace
#endif

bool gelu_run_vectorized() {
#if PX_X86_KERNELS
    return cpu_has_avx2();
#else
    return false;
#endif
}

void gelu_run(float* x, size_t n) {
    size_t i = 0;
#if PX_X86_KERNELS
    if (cpu_has_avx2()) i = gelu_run_avx2(x, n);
#endif
    for (; i < n; ++i)
        x[i] = gelu(x[i]);
}

} // namespace px::fm
