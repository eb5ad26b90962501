#include "fmath_vec.h"
#include "fmath.h"
#include "kernel_clones.h"

#include <algorithm>

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

// canon_bits: NaN -> kNaN; |v| <= 2^-126 -> +0; else unchanged. On one vector of 8 and of 4, and
// on a pack.
PX_AVX2_TARGET inline V canon8(V x) {
    const I b = _mm256_castps_si256(x);
    const I mag = _mm256_and_si256(b, _mm256_set1_epi32(0x7FFFFFFF));
    const I kept =
        _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32(int32_t(kMinNormal + 1)), mag), b);
    const I nan = _mm256_cmpgt_epi32(mag, _mm256_set1_epi32(int32_t(kPosInf)));
    return _mm256_blendv_ps(_mm256_castsi256_ps(kept), _mm256_castsi256_ps(_mm256_set1_epi32(int32_t(kNaN))),
                            _mm256_castsi256_ps(nan));
}
PX_AVX2_TARGET inline __m128 canon4(__m128 x) { // canon8 on the low half (the high half is unused)
    return _mm256_castps256_ps128(canon8(_mm256_castps128_ps256(x)));
}
PX_AVX2_TARGET inline P canon(P x) {
    P r;
    PX_EACH r.v[j] = canon8(x.v[j]);
    return r;
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

// ---- F.5 dot products (fm::dot) ----
// F.5 sums a block of 16 products u[0..15] as a halving tree: u[i] + u[i + 8], then + 4, + 2, + 1.
// One vector of 8 products per half gives the first level in one add; the next three are the
// high half of what is left added onto its low half, as in any horizontal sum.

// Every kernel below comes in two forms: C = true canonicalizes every operand and every operation's
// result as F.5 defines; C = false (the plain form) takes canonical operands and canonicalizes only
// the final sums, which gives the same bits when no product or partial sum can be subnormal (see
// dot16_cols_plain in fmath_vec.h).
template <bool C> PX_AVX2_TARGET inline V cn8(V x) {
    if constexpr (C) return canon8(x);
    return x;
}
template <bool C> PX_AVX2_TARGET inline __m128 cn4(__m128 x) {
    if constexpr (C) return canon4(x);
    return x;
}

// The products of one block of a dot product (u[i] = canon(a[i]) * canon(b[i]), 16 of them,
// missing terms +0 past n) as two vectors.
template <bool C>
PX_AVX2_TARGET inline void block_products(const float* a, const float* b, size_t n, V& lo, V& hi) {
    if (n >= 16) {
        lo = _mm256_loadu_ps(a), hi = _mm256_loadu_ps(a + 8);
        const V blo = _mm256_loadu_ps(b), bhi = _mm256_loadu_ps(b + 8);
        lo = cn8<C>(_mm256_mul_ps(cn8<C>(lo), cn8<C>(blo)));
        hi = cn8<C>(_mm256_mul_ps(cn8<C>(hi), cn8<C>(bhi)));
        return;
    }
    // Missing terms load as +0 on both sides: their product is +0, never 0 * inf.
    const I lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const I mlo = _mm256_cmpgt_epi32(_mm256_set1_epi32(int32_t(n)), lane);
    const I mhi = _mm256_cmpgt_epi32(_mm256_set1_epi32(int32_t(n) - 8), lane);
    lo = cn8<C>(_mm256_mul_ps(cn8<C>(_mm256_maskload_ps(a, mlo)), cn8<C>(_mm256_maskload_ps(b, mlo))));
    hi =
        cn8<C>(_mm256_mul_ps(cn8<C>(_mm256_maskload_ps(a + 8, mhi)), cn8<C>(_mm256_maskload_ps(b + 8, mhi))));
}

// The block's tree: its sum in lane 0.
template <bool C> PX_AVX2_TARGET inline __m128 block_tree(V lo, V hi) {
    const V v8 = cn8<C>(_mm256_add_ps(lo, hi));
    const __m128 v4 = cn4<C>(_mm_add_ps(_mm256_castps256_ps128(v8), _mm256_extractf128_ps(v8, 1)));
    const __m128 v2 = cn4<C>(_mm_add_ps(v4, _mm_movehl_ps(v4, v4)));
    return cn4<C>(_mm_add_ps(v2, _mm_shuffle_ps(v2, v2, 1)));
}

// One row at a time. (Four rows side by side, to overlap their chains of dependent operations,
// measured no faster: 44.8 against 44.5 us for an attention step at 125 positions.)
template <bool C>
__attribute__((flatten)) PX_AVX2_TARGET void dot_rows_avx2(const float* a, const float* b, size_t ldb,
                                                           size_t rows, size_t n, float* out) {
    for (size_t r = 0; r < rows; ++r) {
        __m128 acc = _mm_setzero_ps();
        for (size_t j = 0; j < n; j += 16) {
            V lo, hi;
            block_products<C>(a + j, b + r * ldb + j, n - j, lo, hi);
            acc = cn4<C>(_mm_add_ss(acc, block_tree<C>(lo, hi)));
        }
        out[r] = _mm_cvtss_f32(canon4(acc));
    }
}

// Product i of a block of dot16_cols: a[i] times row i of b's 16 columns, as two vectors; +0 for
// a missing term (i >= terms).
template <bool C>
PX_AVX2_TARGET inline void product16(const float* a, const float* b, size_t ldb, size_t i, size_t terms,
                                     V& lo, V& hi) {
    if (i >= terms) {
        lo = hi = _mm256_setzero_ps();
        return;
    }
    const V ai = _mm256_set1_ps(C ? fm::canon(a[i]) : a[i]);
    const float* row = b + i * ldb;
    lo = cn8<C>(_mm256_mul_ps(ai, cn8<C>(_mm256_loadu_ps(row))));
    hi = cn8<C>(_mm256_mul_ps(ai, cn8<C>(_mm256_loadu_ps(row + 8))));
}

// Level 1 of the tree for leaf i < 8 of a block of dot16_cols: u[i] + u[i + 8].
template <bool C>
PX_AVX2_TARGET inline void level1_16(const float* a, const float* b, size_t ldb, size_t i, size_t terms,
                                     V& lo, V& hi) {
    V plo, phi, qlo, qhi;
    product16<C>(a, b, ldb, i, terms, plo, phi);
    product16<C>(a, b, ldb, i + 8, terms, qlo, qhi);
    lo = cn8<C>(_mm256_add_ps(plo, qlo));
    hi = cn8<C>(_mm256_add_ps(phi, qhi));
}

// c[0..15] = a (1 x K) @ the 16 columns of b (K x 16, row stride ldb): each column's F.5 sum,
// the columns in the vectors' lanes. The tree runs as it goes, leaf i beside leaf i + 8, then
// (i, i + 4) of two such pairs, so only four pairs of partial sums are live at once.
template <bool C>
__attribute__((flatten)) PX_AVX2_TARGET void dot16_cols_avx2(const float* a, const float* b, size_t ldb,
                                                             size_t K, float* c) {
    V acc_lo = _mm256_setzero_ps(), acc_hi = _mm256_setzero_ps();
    for (size_t k0 = 0; k0 < K; k0 += 16) {
        const size_t terms = std::min<size_t>(16, K - k0);
        const float* ak = a + k0;
        const float* bk = b + k0 * ldb;
        V w_lo[4], w_hi[4]; // level 2: (u[i] + u[i + 8]) + (u[i + 4] + u[i + 12]), i < 4
        for (size_t i = 0; i < 4; ++i) {
            V xlo, xhi, ylo, yhi;
            level1_16<C>(ak, bk, ldb, i, terms, xlo, xhi);
            level1_16<C>(ak, bk, ldb, i + 4, terms, ylo, yhi);
            w_lo[i] = cn8<C>(_mm256_add_ps(xlo, ylo));
            w_hi[i] = cn8<C>(_mm256_add_ps(xhi, yhi));
        }
        const V x0lo = cn8<C>(_mm256_add_ps(w_lo[0], w_lo[2])),
                x0hi = cn8<C>(_mm256_add_ps(w_hi[0], w_hi[2]));
        const V x1lo = cn8<C>(_mm256_add_ps(w_lo[1], w_lo[3])),
                x1hi = cn8<C>(_mm256_add_ps(w_hi[1], w_hi[3]));
        acc_lo = cn8<C>(_mm256_add_ps(acc_lo, cn8<C>(_mm256_add_ps(x0lo, x1lo))));
        acc_hi = cn8<C>(_mm256_add_ps(acc_hi, cn8<C>(_mm256_add_ps(x0hi, x1hi))));
    }
    _mm256_storeu_ps(c, canon8(acc_lo));
    _mm256_storeu_ps(c + 8, canon8(acc_hi));
}

// y[i] = exp(sub(canon(x[i]), m)) over the whole packs of x; returns how many values that was.
__attribute__((flatten)) PX_AVX2_TARGET size_t exp_shifted_run_avx2(const float* x, float m, float* y,
                                                                    size_t n) {
    constexpr size_t kStep = 8 * kPack;
    const P mv = fset(m);
    size_t i = 0;
    for (; i + kStep <= n; i += kStep) {
        P v;
        PX_EACH v.v[j] = _mm256_loadu_ps(x + i + 8 * j);
        v = exp(sub(canon(v), mv));
        PX_EACH _mm256_storeu_ps(y + i + 8 * j, v.v[j]);
    }
    return i;
}

} // namespace
#endif

void softmax_run(const float* x, float* y, size_t n) {
    softmax_row_with(x, y, n, [](const float* in, float m, float* out, size_t count) {
        size_t i = 0;
#if PX_X86_KERNELS
        if (cpu_has_avx2()) i = exp_shifted_run_avx2(in, m, out, count);
#endif
        exp_shifted(in + i, m, out + i, count - i);
    });
}

bool dot_runs_vectorized() {
    return gelu_run_vectorized();
}

void dot_rows(const float* a, const float* b, size_t ldb, size_t rows, size_t n, float* out) {
#if PX_X86_KERNELS
    if (cpu_has_avx2()) return dot_rows_avx2<true>(a, b, ldb, rows, n, out);
#endif
    for (size_t r = 0; r < rows; ++r)
        out[r] = dot(a, 1, b + r * ldb, 1, n);
}

void dot16_cols(const float* a, const float* b, size_t ldb, size_t K, float* c) {
#if PX_X86_KERNELS
    if (cpu_has_avx2()) return dot16_cols_avx2<true>(a, b, ldb, K, c);
#endif
    for (size_t j = 0; j < 16; ++j)
        c[j] = dot(a, 1, b + j, ldb, K);
}

void dot16_cols_plain(const float* a, const float* b, size_t ldb, size_t K, float* c) {
#if PX_X86_KERNELS
    if (cpu_has_avx2()) return dot16_cols_avx2<false>(a, b, ldb, K, c);
#endif
    dot16_cols(a, b, ldb, K, c);
}

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
