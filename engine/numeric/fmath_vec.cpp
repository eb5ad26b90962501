#include "fmath_vec.h"
#include "fmath.h"
#include "fmath_simd.h"
#include "kernel_clones.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#if PX_X86_KERNELS
#include <immintrin.h>
#endif

namespace px::fm {

#if PX_X86_KERNELS
namespace {

#define PX_EACH _Pragma("GCC unroll 4") for (int j = 0; j < kPack; ++j)
constexpr int kPack = 4; // vectors side by side in fmath_pack.inc's packs (it says why)
using V = __m256;        // the AVX2 dot kernels' vectors
using I = __m256i;

// canon_bits: NaN -> kNaN; |v| <= 2^-126 -> +0; else unchanged. On one vector of 8 and of 4.
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

// fmath_pack.inc on 8 lanes (AVX2).
namespace avx2 {
#define PXV_TARGET PX_AVX2_TARGET
using V = __m256;
using I = __m256i;
constexpr int kLanes = 8;
// One binding a line, as a table:
// clang-format off
PXV_TARGET inline V vload(const float* p) { return _mm256_loadu_ps(p); }
PXV_TARGET inline void vstore(float* p, V v) { _mm256_storeu_ps(p, v); }
PXV_TARGET inline V vset(float f) { return _mm256_set1_ps(f); }
PXV_TARGET inline I iset1(int32_t v) { return _mm256_set1_epi32(v); }
PXV_TARGET inline I as_i(V v) { return _mm256_castps_si256(v); }
PXV_TARGET inline V as_v(I v) { return _mm256_castsi256_ps(v); }
PXV_TARGET inline I i_and(I a, I b) { return _mm256_and_si256(a, b); }
PXV_TARGET inline I i_andnot(I a, I b) { return _mm256_andnot_si256(a, b); }
PXV_TARGET inline I i_or(I a, I b) { return _mm256_or_si256(a, b); }
PXV_TARGET inline I i_add(I a, I b) { return _mm256_add_epi32(a, b); }
PXV_TARGET inline I i_sub(I a, I b) { return _mm256_sub_epi32(a, b); }
PXV_TARGET inline I i_gt(I a, I b) { return _mm256_cmpgt_epi32(a, b); }
PXV_TARGET inline I i_eq(I a, I b) { return _mm256_cmpeq_epi32(a, b); }
PXV_TARGET inline I f_gt(V a, V b) { return _mm256_castps_si256(_mm256_cmp_ps(a, b, _CMP_GT_OQ)); }
PXV_TARGET inline I f_lt(V a, V b) { return _mm256_castps_si256(_mm256_cmp_ps(a, b, _CMP_LT_OQ)); }
PXV_TARGET inline V blend(I mask, V v, V otherwise) { return _mm256_blendv_ps(otherwise, v, _mm256_castsi256_ps(mask)); }
PXV_TARGET inline I to_i_trunc(V v) { return _mm256_cvttps_epi32(v); }
PXV_TARGET inline V to_f(I v) { return _mm256_cvtepi32_ps(v); }
template <int S> PXV_TARGET inline I i_srai(I v) { return _mm256_srai_epi32(v, S); }
template <int S> PXV_TARGET inline I i_srli(I v) { return _mm256_srli_epi32(v, S); }
template <int S> PXV_TARGET inline I i_slli(I v) { return _mm256_slli_epi32(v, S); }
PXV_TARGET inline V f_add(V a, V b) { return _mm256_add_ps(a, b); }
PXV_TARGET inline V f_sub(V a, V b) { return _mm256_sub_ps(a, b); }
PXV_TARGET inline V f_mul(V a, V b) { return _mm256_mul_ps(a, b); }
// clang-format on
namespace canonical { // fmath's definitions: every operation canonicalized
PXV_TARGET inline V canon1(V v) {
    return canon8(v);
}
#include "fmath_pack.inc"
} // namespace canonical
namespace plain { // the same operations, none canonicalized: only where that is proven the same (gelu_run)
PXV_TARGET inline V canon1(V v) {
    return v;
}
#include "fmath_pack.inc"
} // namespace plain
#undef PXV_TARGET
} // namespace avx2

// fmath_pack.inc on 16 lanes (AVX-512F alone: masks go back to vectors of all-ones lanes, so the
// pack's code is the AVX2 one). GELU is a tenth of a 36-token prefill of the shipped float32 GPT
// (perf), and a sixteenth of a decode step's products.
namespace avx512 {
#define PXV_TARGET PX_AVX512F_TARGET
using V = __m512;
using I = __m512i;
constexpr int kLanes = 16;
// Every lane, for the zero-masking forms of shifts and conversions: GCC 12's unmasked forms pass
// an undefined vector through and warn that it may be used uninitialized.
constexpr __mmask16 kAll = 0xFFFF;
// One binding a line, as a table:
// clang-format off
PXV_TARGET inline I ones(__mmask16 k) { return _mm512_maskz_mov_epi32(k, _mm512_set1_epi32(-1)); }
PXV_TARGET inline V vload(const float* p) { return _mm512_loadu_ps(p); }
PXV_TARGET inline void vstore(float* p, V v) { _mm512_storeu_ps(p, v); }
PXV_TARGET inline V vset(float f) { return _mm512_set1_ps(f); }
PXV_TARGET inline I iset1(int32_t v) { return _mm512_set1_epi32(v); }
PXV_TARGET inline I as_i(V v) { return _mm512_castps_si512(v); }
PXV_TARGET inline V as_v(I v) { return _mm512_castsi512_ps(v); }
PXV_TARGET inline I i_and(I a, I b) { return _mm512_and_si512(a, b); }
PXV_TARGET inline I i_andnot(I a, I b) { return _mm512_andnot_si512(a, b); }
PXV_TARGET inline I i_or(I a, I b) { return _mm512_or_si512(a, b); }
PXV_TARGET inline I i_add(I a, I b) { return _mm512_add_epi32(a, b); }
PXV_TARGET inline I i_sub(I a, I b) { return _mm512_sub_epi32(a, b); }
PXV_TARGET inline I i_gt(I a, I b) { return ones(_mm512_cmpgt_epi32_mask(a, b)); }
PXV_TARGET inline I i_eq(I a, I b) { return ones(_mm512_cmpeq_epi32_mask(a, b)); }
PXV_TARGET inline I f_gt(V a, V b) { return ones(_mm512_cmp_ps_mask(a, b, _CMP_GT_OQ)); }
PXV_TARGET inline I f_lt(V a, V b) { return ones(_mm512_cmp_ps_mask(a, b, _CMP_LT_OQ)); }
PXV_TARGET inline V blend(I mask, V v, V otherwise) { return _mm512_mask_blend_ps(_mm512_test_epi32_mask(mask, mask), otherwise, v); }
PXV_TARGET inline I to_i_trunc(V v) { return _mm512_maskz_cvttps_epi32(kAll, v); }
PXV_TARGET inline V to_f(I v) { return _mm512_maskz_cvtepi32_ps(kAll, v); }
template <int S> PXV_TARGET inline I i_srai(I v) { return _mm512_maskz_srai_epi32(kAll, v, S); }
template <int S> PXV_TARGET inline I i_srli(I v) { return _mm512_maskz_srli_epi32(kAll, v, S); }
template <int S> PXV_TARGET inline I i_slli(I v) { return _mm512_maskz_slli_epi32(kAll, v, S); }
PXV_TARGET inline V f_add(V a, V b) { return _mm512_add_ps(a, b); }
PXV_TARGET inline V f_sub(V a, V b) { return _mm512_sub_ps(a, b); }
PXV_TARGET inline V f_mul(V a, V b) { return _mm512_mul_ps(a, b); }
// clang-format on
namespace canonical { // as avx2's
PXV_TARGET inline V canon1(V v) {
    return canon_avx512(v);
}
#include "fmath_pack.inc"
} // namespace canonical
namespace plain {
PXV_TARGET inline V canon1(V v) {
    return v;
}
#include "fmath_pack.inc"
} // namespace plain
#undef PXV_TARGET
} // namespace avx512

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

// fm::sum: each block's 16 terms canonicalized and summed by block_tree, then added to the
// running sum in order (missing terms load as +0).
PX_AVX2_TARGET float sum_avx2(const float* t, size_t n) {
    const I lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m128 acc = _mm_setzero_ps();
    for (size_t j = 0; j < n; j += 16) {
        V lo, hi;
        if (n - j >= 16) {
            lo = _mm256_loadu_ps(t + j), hi = _mm256_loadu_ps(t + j + 8);
        } else {
            const int32_t left = int32_t(n - j);
            lo = _mm256_maskload_ps(t + j, _mm256_cmpgt_epi32(_mm256_set1_epi32(left), lane));
            hi = _mm256_maskload_ps(t + j + 8, _mm256_cmpgt_epi32(_mm256_set1_epi32(left - 8), lane));
        }
        acc = canon4(_mm_add_ss(acc, block_tree<true>(canon8(lo), canon8(hi))));
    }
    return _mm_cvtss_f32(acc);
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

} // namespace
#endif

PackIsa best_pack_isa() {
#if PX_X86_KERNELS
    if (cpu_has_avx512f()) return PackIsa::Avx512;
    if (cpu_has_avx2()) return PackIsa::Avx2;
#endif
    return PackIsa::Scalar;
}

#if PX_X86_KERNELS
namespace {
// How many leading values the packs of `isa` (at most this CPU's) took; the rest are the scalar
// definition's.
template <class WideFn, class NarrowFn> size_t packs_with(PackIsa isa, WideFn&& wide, NarrowFn&& narrow) {
    isa = std::min(isa, best_pack_isa());
    if (isa == PackIsa::Avx512) return wide();
    if (isa == PackIsa::Avx2) return narrow();
    return 0;
}
} // namespace
#endif

#if PX_X86_KERNELS
namespace {
// The last values of a run, fewer than a pack, go through one more pack on a copy padded with
// `pad` (each lane computes the definition on its own value, so the bits are the same): the
// scalar definition costs about 16 ns an exponential, and a softmax over fewer positions than a
// pack (every attention row of a short context) spent 43% of FATTENTION's time in it (perf). Below
// kPackTailMin values the scalar definition is as fast.
constexpr size_t kPackTailMax = 64; // the widest pack: 16 lanes x kPack (AVX-512F)
constexpr size_t kPackTailMin = 4;
template <class Packs> size_t pack_tail(const float* x, float* y, size_t n, float pad, Packs&& packs) {
    if (n < kPackTailMin || n >= kPackTailMax) return 0;
    alignas(64) float buf[kPackTailMax];
    std::copy(x, x + n, buf);
    std::fill(buf + n, buf + kPackTailMax, pad);
    packs(buf, kPackTailMax);
    std::copy(buf, buf + n, y);
    return n;
}

// softmax_row_with's exponential pass on the packs of one width, the tail padded with m (exp(0)),
// or by the definition where it is short.
template <size_t (*Packs)(const float*, float, float*, size_t)>
void exp_shifted_packs(const float* in, float m, float* out, size_t count) {
    size_t i = Packs(in, m, out, count);
    i += pack_tail(in + i, out + i, count - i, m, [m](float* b, size_t k) { Packs(b, m, b, k); });
    exp_shifted(in + i, m, out + i, count - i);
}
} // namespace
#endif

float sum_run(const float* t, size_t n) {
#if PX_X86_KERNELS
    if (cpu_has_avx2()) return sum_avx2(t, n);
#endif
    return sum(t, n);
}

// max_canon as a loop that vectorizes: the largest order_key of the canonical values is a plain
// integer reduction. NaN is looked for on the side and, as in max_canon, never taken.
PX_CLONES float max_canon_run(const float* x, size_t n, bool* any_nan) {
    uint32_t best = order_key(kNegInf);
    uint32_t nan = 0;
    for (size_t i = 0; i < n; ++i) {
        uint32_t b;
        std::memcpy(&b, x + i, 4);
        b = canon_bits_select(b);
        nan |= b == kNaN ? 1u : 0u;
        best = std::max(best, order_key(b == kNaN ? kNegInf : b)); // a NaN is never larger (max_canon)
    }
    *any_nan = nan != 0;
    return from_bits(from_order_key(best));
}

PX_CLONES void scale_run(float* y, size_t n, float r) {
    for (size_t i = 0; i < n; ++i) {
        const float p = y[i] * r;
        uint32_t b;
        std::memcpy(&b, &p, 4);
        b = canon_bits_select(b);
        std::memcpy(y + i, &b, 4);
    }
}

namespace {
// The exponential pass of `isa`'s packs (at most this CPU's), or the definition.
using ExpsFn = void (*)(const float*, float, float*, size_t);
ExpsFn exps_on(PackIsa isa) {
#if PX_X86_KERNELS
    isa = std::min(isa, best_pack_isa());
    if (isa == PackIsa::Avx512) return exp_shifted_packs<avx512::canonical::exp_shifted_run_packs>;
    if (isa == PackIsa::Avx2) return exp_shifted_packs<avx2::canonical::exp_shifted_run_packs>;
#else
    (void)isa;
#endif
    return exp_shifted;
}
} // namespace

void exp_shifted_run(const float* x, float m, float* y, size_t n, PackIsa isa) {
    exps_on(isa)(x, m, y, n);
}
void exp_shifted_run(const float* x, float m, float* y, size_t n) {
    exp_shifted_run(x, m, y, n, best_pack_isa());
}

void softmax_run(const float* x, float* y, size_t n, PackIsa isa) {
    SoftmaxPasses passes;
    passes.exps = exps_on(isa);
    isa = std::min(isa, best_pack_isa());
    if (isa != PackIsa::Scalar)
        passes.max_of = max_canon_run, passes.sum_of = sum_run, passes.scale = scale_run;
    softmax_row_with(x, y, n, passes);
}
void softmax_run(const float* x, float* y, size_t n) {
    softmax_run(x, y, n, best_pack_isa());
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

void dot16_cols_plain_on(PackIsa isa, const float* a, const float* b, size_t ldb, size_t K, float* c) {
#if PX_X86_KERNELS
    isa = std::min(isa, best_pack_isa());
    if (isa >= PackIsa::Avx2) return dot16_cols_avx2<false>(a, b, ldb, K, c);
#else
    (void)isa;
#endif
    dot16_cols(a, b, ldb, K, c);
}
void dot16_cols_plain(const float* a, const float* b, size_t ldb, size_t K, float* c) {
    dot16_cols_plain_on(best_pack_isa(), a, b, ldb, K, c);
}

bool gelu_run_vectorized() {
    return best_pack_isa() != PackIsa::Scalar;
}

#if PX_X86_KERNELS
namespace {
// GELU without canonicalizing each operation, proven equal for inputs x with 2^-40 <= |x| <= 8
// (bits 0x2B800000 to 0x41000000 once the sign is cleared): every operation of fm::gelu (fmath.cpp,
// PROTOCOL.md F.6: gelu, exp, recip) then gives either a normal value, which canon leaves alone,
// or an exact +0, and no NaN or infinity, so each canonicalization is the identity and the plain
// operations give the same bits. Step by step, with |x| in that range:
//  - x^2 >= 2^-80, x^3 >= 2^-120, 0.044715 x^3 >= 2^-125; x + 0.044715 x^3 has x's sign and
//    |x| <= it <= 31; u = sqrt(2/pi) (...) and z = -2u are normal with |z| in [2^-39.5, 49.3].
//  - exp(z): t = z log2(e) + 1/2 is 0 or at least 2^-25 (near -1/2, z log2(e) is a multiple of
//    2^-25 and the sum is exact). n is in [-71, 72]. With n = 0, n ln2_hi and n ln2_lo are +0 and
//    r = z. Otherwise |z| >= 0.34 is a multiple of 2^-25 and n ln2_hi one of 2^-16 (16 significant
//    bits), so z - n ln2_hi is 0 or at least 2^-25; n ln2_lo is at least 2^-19.5, a multiple of
//    2^-43, and r is +0 or at least 2^-43. Each Horner product p r is then +0 or at least
//    2^-12.3 * 2^-43, and each partial sum lies between half and twice its coefficient (|r| <=
//    0.35 keeps p r below the next coefficient). e^z in [2^-71.2, 2^71.2] is normal, and scaling
//    by 2^n1 and 2^n2 (each in [-36, 36]) never leaves the normal range.
//  - recip(w), w = 1 + e^z in [1, 2^71.2 + 1]: the Newton residuals 1 - m y are 0 or at least
//    2^-24 (m y rounds to a multiple of 2^-24 near 1), so each correction is +0 or normal. In the
//    final step the halves of m and y (12 significant bits in the high one) make every product a
//    multiple of 2^-47, so every sum is 0 or at least 2^-47; the one product that can be -0 is
//    lo(m) lo(y) (one factor +0, the other negative), and adding a -0 gives what adding +0 gives
//    unless the other term is -0 too, which no earlier term here can be (each is +0 or nonzero).
//    1/w >= 2^-71.3 is normal.
//  - x / w: |x| >= 2^-40 and 1/w >= 2^-71.3, so |x / w| >= 2^-111.3, normal, with x's sign.
// Whole packs only; a pack with any lane outside takes the canonicalizing definition.
// (tests/fmath_vec_test.cpp compares both with fm::gelu across the range and past its ends.)
constexpr uint32_t kPlainGeluLo = 0x2B800000u, kPlainGeluHi = 0x41000000u;

template <size_t Step> PX_CLONES bool in_plain_gelu_range(const float* x) {
    uint32_t out = 0;
    for (size_t j = 0; j < Step; ++j) {
        uint32_t b;
        std::memcpy(&b, x + j, 4);
        b &= 0x7FFFFFFFu;
        out |= uint32_t(b < kPlainGeluLo) | uint32_t(b > kPlainGeluHi);
    }
    return out == 0;
}

// gelu_run_packs, each whole pack by the plain operations where its lanes allow.
template <size_t Step, size_t (*Canonical)(float*, size_t), size_t (*Plain)(float*, size_t)>
size_t gelu_packs(float* x, size_t n) {
    size_t i = 0;
    for (; i + Step <= n; i += Step)
        (in_plain_gelu_range<Step>(x + i) ? Plain : Canonical)(x + i, Step);
    return i;
}
} // namespace
#endif

void gelu_run(float* x, size_t n, PackIsa isa) {
    size_t i = 0;
#if PX_X86_KERNELS
    // The last values go through one more pack padded with 1, in the plain range.
    const auto tail = [&](auto run_packs) {
        const size_t whole = run_packs(x, n);
        return whole + pack_tail(x + whole, x + whole, n - whole, 1.0f, run_packs);
    };
    i = packs_with(
        isa,
        [&] {
            return tail(gelu_packs<avx512::kLanes * kPack, avx512::canonical::gelu_run_packs,
                                   avx512::plain::gelu_run_packs>);
        },
        [&] {
            return tail(gelu_packs<avx2::kLanes * kPack, avx2::canonical::gelu_run_packs,
                                   avx2::plain::gelu_run_packs>);
        });
#else
    (void)isa;
#endif
    for (; i < n; ++i)
        x[i] = gelu(x[i]);
}
void gelu_run(float* x, size_t n) {
    gelu_run(x, n, best_pack_isa());
}

} // namespace px::fm
