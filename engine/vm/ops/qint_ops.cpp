// The integer transformer arithmetic of PROTOCOL.md §16 (see qint_ops.h).
#include "qint_ops.h"

#include "kernel_clones.h"
#include "quant.h"

#include <algorithm>
#include <cmath>
#if PX_X86_KERNELS
#include <immintrin.h>
#endif

namespace px::qint {

uint64_t isqrt(uint64_t n) {
    uint64_t r = 0, bit = uint64_t(1) << 62;
    while (bit > n)
        bit >>= 2;
    while (bit) {
        if (n >= r + bit) {
            n -= r + bit;
            r = (r >> 1) + bit;
        } else {
            r >>= 1;
        }
        bit >>= 2;
    }
    return r;
}

int64_t iexp(int64_t z) {
    const int64_t u = -z; // >= 0
    const int64_t k = u / kLn2, r = u - k * kLn2;
    const int64_t L = (kExpB - r) * (kExpB - r) + kExpC; // 2^32 < L < 2^34
    return k < 64 ? L >> k : 0;
}

void layernorm_row(const uint8_t* a, uint32_t n, const int32_t* gain, const int32_t* bias,
                   const QLayerNormParams& p, uint8_t* c) {
    int64_t S = 0;
    for (uint32_t i = 0; i < n; ++i)
        S += int64_t(a[i]) - p.za;
    int64_t V = 0;
    for (uint32_t i = 0; i < n; ++i) {
        const int64_t d = int64_t(n) * (int64_t(a[i]) - p.za) - S;
        V += d * d;
    }
    const int64_t D = int64_t(isqrt(uint64_t(V / n + p.eps)));
    const int64_t half = int64_t(1) << (p.shift - 1);
    for (uint32_t i = 0; i < n; ++i) {
        const int64_t d = int64_t(n) * (int64_t(a[i]) - p.za) - S;
        const int64_t t = D == 0 ? 0 : floor_div(d * (int64_t(1) << 17) + D, 2 * D);
        const int64_t acc = t * gain[i] + bias[i];
        c[i] = clamp_add((acc + half) >> p.shift, p.zc, p.clamp_lo, p.clamp_hi);
    }
}

namespace {
// layernorm_tail's per-element work on m = 2D > 0, in doubles holding exact integers: x = d * 2^17
// + D (|x| < 2^40) and t = floor(x * fl(1 / m)) is floor(x / m). Why: e = x * fl(1 / m) rounded is
// x / m (1 - eps) (1 + r) with |eps|, |r| <= 2^-53. When m does not divide x, x / m lies at least
// 1 / m from the integers around it, and |x / m| * 2^-52 < 1 / m because |x| < 2^52: the floor is
// right. m divides x only when D = 2^17 u (u < 32, as D < 2^22) and d = u (2j + 1), quotient
// q = j + 1: there fl(1 / m) m >= 1 - 2^-54 (for every such m: tests/qint_ops_test.cpp), so the
// exact product q - q eps lies within half a spacing of q, a tie only when q is a power of two,
// which rounds to q's even significand: e = q. |t| <= 2^24 + 1 fits an int32, and t * gain is an
// int32 x int32 product. The rounding shift of acc (|acc| < 2^56) is LogicalRoundingShift's
// (quant.h), which AVX2, with no 64-bit arithmetic shift, computes below four elements at a time.
struct LayerNormTail {
    double D, inv;
    LogicalRoundingShift round;
    uint8_t zc, lo, hi;
};
uint8_t layernorm_element(const LayerNormTail& k, int32_t d, int32_t gain, int32_t bias) {
    const double t = std::floor((double(d) * 131072.0 + k.D) * k.inv);
    return clamp_add(k.round(int64_t(int32_t(t)) * gain + bias), k.zc, k.lo, k.hi);
}
#if PX_X86_KERNELS
PX_AVX2_TARGET uint32_t layernorm_tail_avx2(const LayerNormTail& k, const int32_t* d, uint32_t n,
                                            const int32_t* gain, const int32_t* bias, uint8_t* c) {
    const __m256d D = _mm256_set1_pd(k.D), inv = _mm256_set1_pd(k.inv), two17 = _mm256_set1_pd(131072.0);
    const __m256i offset = _mm256_set1_epi64x(k.round.offset), rest = _mm256_set1_epi64x(k.zc - k.round.back);
    const __m256i lo = _mm256_set1_epi64x(k.lo), hi = _mm256_set1_epi64x(k.hi);
    const __m128i shift = _mm_cvtsi32_si128(int(k.round.shift));
    uint32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const __m256d x = _mm256_add_pd(
            _mm256_mul_pd(_mm256_cvtepi32_pd(_mm_loadu_si128(reinterpret_cast<const __m128i*>(d + i))),
                          two17),
            D);
        const __m256i t = _mm256_cvtepi32_epi64(_mm256_cvttpd_epi32(_mm256_floor_pd(_mm256_mul_pd(x, inv))));
        const __m256i g = _mm256_cvtepi32_epi64(_mm_loadu_si128(reinterpret_cast<const __m128i*>(gain + i)));
        const __m256i b = _mm256_cvtepi32_epi64(_mm_loadu_si128(reinterpret_cast<const __m128i*>(bias + i)));
        const __m256i acc = _mm256_add_epi64(_mm256_mul_epi32(t, g), b);
        __m256i v = _mm256_add_epi64(_mm256_srl_epi64(_mm256_add_epi64(acc, offset), shift), rest);
        v = _mm256_blendv_epi8(v, lo, _mm256_cmpgt_epi64(lo, v));
        v = _mm256_blendv_epi8(v, hi, _mm256_cmpgt_epi64(v, hi));
        alignas(32) int64_t out[4];
        _mm256_store_si256(reinterpret_cast<__m256i*>(out), v);
        for (int j = 0; j < 4; ++j)
            c[i + j] = uint8_t(out[j]);
    }
    return i;
}
#endif
} // namespace

void layernorm_row_fast(const uint8_t* a, uint32_t n, const int32_t* gain, const int32_t* bias,
                        const QLayerNormParams& p, uint8_t* c, int32_t* d) {
    int64_t S = 0;
    for (uint32_t i = 0; i < n; ++i)
        S += int32_t(a[i]) - p.za;
    int64_t V = 0;
    for (uint32_t i = 0; i < n; ++i) {
        d[i] = int32_t(int64_t(n) * (int32_t(a[i]) - p.za) - S); // |d_i| < 2^22
        V += int64_t(d[i]) * d[i];
    }
    layernorm_tail(d, n, int64_t(isqrt(uint64_t(V / n + p.eps))), gain, bias, p, c);
}

void layernorm_tail(const int32_t* d, uint32_t n, int64_t D, const int32_t* gain, const int32_t* bias,
                    const QLayerNormParams& p, uint8_t* c) {
    const LogicalRoundingShift round(p.shift);
    if (D == 0) { // t_i = 0: every code is its bias, rounded and clamped
        for (uint32_t i = 0; i < n; ++i)
            c[i] = clamp_add(round(bias[i]), p.zc, p.clamp_lo, p.clamp_hi);
        return;
    }
    const LayerNormTail k{double(D), 1.0 / double(2 * D), round, p.zc, p.clamp_lo, p.clamp_hi};
    uint32_t i = 0;
#if PX_X86_KERNELS
    if (cpu_has_avx2()) i = layernorm_tail_avx2(k, d, n, gain, bias, c);
#endif
    for (; i < n; ++i)
        c[i] = layernorm_element(k, d[i], gain[i], bias[i]);
}

std::vector<uint8_t> qlayernorm_u8(const std::vector<uint8_t>& a, uint32_t rows, uint32_t n,
                                   const std::vector<int32_t>& gb, const QLayerNormParams& p) {
    std::vector<uint8_t> c(a.size());
    for (uint32_t r = 0; r < rows; ++r)
        layernorm_row(&a[size_t(r) * n], n, gb.data(), gb.data() + n, p, &c[size_t(r) * n]);
    return c;
}

namespace {
// e_j = iexp(rq(max(s_j - m, -2^30))) for j in [j0, n), added to sum (§16.3).
void exponentials(const int32_t* s, uint32_t j0, uint32_t n, int32_t m, const QAttentionParams& prm,
                  int64_t* e, int64_t& sum) {
    for (uint32_t j = j0; j < n; ++j) {
        const int64_t delta = std::max(int64_t(s[j]) - m, kMinDelta);
        e[j] = iexp(rounding_mul_shift(int32_t(delta), prm.ms, prm.shift_s));
        sum += e[j];
    }
}
// p_j = floor(e_j 2^P / sum) in place for j in [j0, n): both >= 0, and sum >= iexp(0) > 0.
void quotients(int64_t* p, uint32_t j0, uint32_t n, int64_t sum) {
    for (uint32_t j = j0; j < n; ++j)
        p[j] = (p[j] << kP) / sum;
}
} // namespace

void softmax_row(const int32_t* s, uint32_t n, const QAttentionParams& prm, int64_t* p) {
    const int32_t m = *std::max_element(s, s + n);
    int64_t sum = 0;
    exponentials(s, 0, n, m, prm, p, sum);
    quotients(p, 0, n, sum);
}

namespace {
// softmax_row_fast's arithmetic, four probabilities at a time in 64-bit lanes (AVX2), the same
// integers as softmax_row's:
// - z = rq(max(s - m, -2^30)): |delta * Ms| <= 2^30 (2^31 - 1) < 2^61, so the rounding shift is
//   LogicalRoundingShift's (AVX2 has no 64-bit arithmetic shift), and z <= 0.
// - iexp(z) with u = -z taken as min(u, 64 ln2): any k = floor(u / ln2) >= 34 gives 0 (L < 2^34),
//   and the variable shift gives 0 for a count of 64. Then u < 2^22, and k is
//   floor(u * kLn2Magic / 2^38), exact for every u up to 64 ln2 (tests/qint_ops_test.cpp tries
//   each); r = u - k ln2, L = (B - r)^2 + C as 32 x 32 -> 64-bit products.
// - p = floor(e 2^P / sum): the double e * fl(2^P / sum) (e < 2^34 exact, q <= 2^22) lies within
//   2^-29 of the quotient, so its floor is the quotient or one off it; the remainder
//   e 2^P - q sum (q sum in two 32-bit halves of sum < 2^48) moves it by one where it is.
constexpr int64_t kIexpCap = 64 * kLn2;
constexpr uint64_t kLn2Magic = ((uint64_t(1) << 38) + kLn2 - 1) / kLn2; // ceil(2^38 / ln2)
static_assert(kIexpCap < (int64_t(1) << 22) && kLn2Magic < (uint64_t(1) << 32));
#if PX_X86_KERNELS
PX_AVX2_TARGET uint32_t exponentials_avx2(const int32_t* s, uint32_t n, int32_t m,
                                          const QAttentionParams& prm, int64_t* e, int64_t& sum) {
    const LogicalRoundingShift round(prm.shift_s);
    const __m256i vm = _mm256_set1_epi64x(m), min_delta = _mm256_set1_epi64x(kMinDelta);
    const __m256i ms = _mm256_set1_epi64x(prm.ms), offset = _mm256_set1_epi64x(round.offset);
    const __m256i back = _mm256_set1_epi64x(round.back), cap = _mm256_set1_epi64x(kIexpCap);
    const __m256i magic = _mm256_set1_epi64x(int64_t(kLn2Magic)), ln2 = _mm256_set1_epi64x(kLn2);
    const __m256i b = _mm256_set1_epi64x(kExpB), c = _mm256_set1_epi64x(kExpC);
    const __m128i shift = _mm_cvtsi32_si128(int(round.shift));
    __m256i acc = _mm256_setzero_si256();
    uint32_t j = 0;
    for (; j + 4 <= n; j += 4) {
        __m256i d = _mm256_sub_epi64(
            _mm256_cvtepi32_epi64(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + j))), vm);
        d = _mm256_blendv_epi8(d, min_delta, _mm256_cmpgt_epi64(min_delta, d));
        const __m256i prod = _mm256_mul_epi32(d, ms); // d fits 32 bits now
        const __m256i z = _mm256_sub_epi64(_mm256_srl_epi64(_mm256_add_epi64(prod, offset), shift), back);
        __m256i u = _mm256_sub_epi64(_mm256_setzero_si256(), z);
        u = _mm256_blendv_epi8(u, cap, _mm256_cmpgt_epi64(u, cap));
        const __m256i k = _mm256_srli_epi64(_mm256_mul_epu32(u, magic), 38);
        const __m256i t = _mm256_sub_epi64(b, _mm256_sub_epi64(u, _mm256_mul_epu32(k, ln2)));
        const __m256i v = _mm256_srlv_epi64(_mm256_add_epi64(_mm256_mul_epu32(t, t), c), k);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(e + j), v);
        acc = _mm256_add_epi64(acc, v);
    }
    alignas(32) int64_t lanes[4];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), acc);
    sum += lanes[0] + lanes[1] + lanes[2] + lanes[3];
    return j;
}

PX_AVX2_TARGET uint32_t quotients_avx2(int64_t* p, uint32_t n, int64_t sum) {
    const __m256d scale = _mm256_set1_pd(double(int64_t(1) << kP) / double(sum));
    const __m256d two52 = _mm256_set1_pd(4503599627370496.0); // 2^52: doubles there hold integers
    const __m256i two52_bits = _mm256_castpd_si256(two52);
    const __m256i sum_lo = _mm256_set1_epi64x(sum & 0xFFFFFFFF), sum_hi = _mm256_set1_epi64x(sum >> 32),
                  below_sum = _mm256_set1_epi64x(sum - 1);
    uint32_t j = 0;
    for (; j + 4 <= n; j += 4) {
        const __m256i e = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + j));
        const __m256d ed = _mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(e, two52_bits)), two52);
        const __m256d qd = _mm256_floor_pd(_mm256_mul_pd(ed, scale));
        __m256i q = _mm256_sub_epi64(_mm256_castpd_si256(_mm256_add_pd(qd, two52)), two52_bits);
        const __m256i qs =
            _mm256_add_epi64(_mm256_mul_epu32(q, sum_lo), _mm256_slli_epi64(_mm256_mul_epu32(q, sum_hi), 32));
        const __m256i r = _mm256_sub_epi64(_mm256_slli_epi64(e, kP), qs);
        q = _mm256_sub_epi64(q, _mm256_cmpgt_epi64(r, below_sum));              // r >= sum: one more
        q = _mm256_add_epi64(q, _mm256_cmpgt_epi64(_mm256_setzero_si256(), r)); // r < 0: one less
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(p + j), q);
    }
    return j;
}
#endif
} // namespace

void softmax_row_fast(const int32_t* s, uint32_t n, const QAttentionParams& prm, int64_t* p) {
    const int32_t m = *std::max_element(s, s + n);
    int64_t sum = 0;
    uint32_t done = 0; // elements the vector kernel took; the rest as softmax_row
#if PX_X86_KERNELS
    const bool avx2 = cpu_has_avx2();
    if (avx2) done = exponentials_avx2(s, n, m, prm, p, sum);
#endif
    exponentials(s, done, n, m, prm, p, sum);
#if PX_X86_KERNELS
    if (avx2) done = quotients_avx2(p, n, sum);
#endif
    quotients(p, done, n, sum);
}

void probabilities_row(const uint8_t* q, const uint8_t* k, size_t stride, uint32_t hd, uint32_t n,
                       const QAttentionParams& prm, int32_t* score, int64_t* p) {
    for (uint32_t j = 0; j < n; ++j) {
        const uint8_t* kj = k + size_t(j) * stride;
        uint32_t acc = 0; // modulo 2^32, as QMATMUL
        for (uint32_t d = 0; d < hd; ++d)
            acc += uint32_t((int32_t(q[d]) - prm.zq) * (int32_t(kj[d]) - prm.zk));
        score[j] = int32_t(acc);
    }
    softmax_row(score, n, prm, p);
}

std::vector<uint8_t> qattention_u8(const std::vector<uint8_t>& q, const std::vector<uint8_t>& k,
                                   const std::vector<uint8_t>& v, AttentionShape s,
                                   const QAttentionParams& prm) {
    const uint32_t hd = s.D / s.heads;
    std::vector<uint8_t> out(size_t(s.T) * s.D);
    std::vector<int32_t> score(s.L);
    std::vector<int64_t> p(s.L);
    for (uint32_t t = 0; t < s.T; ++t)
        for (uint32_t h = 0; h < s.heads; ++h) {
            const uint32_t n = s.L - s.T + t + 1; // causal: rows 0 .. L-T+t
            const size_t col = size_t(h) * hd;
            probabilities_row(&q[size_t(t) * s.D + col], &k[col], s.D, hd, n, prm, score.data(), p.data());
            for (uint32_t d = 0; d < hd; ++d) {
                int64_t o = 0;
                for (uint32_t j = 0; j < n; ++j)
                    o += p[j] * (int32_t(v[size_t(j) * s.D + col + d]) - prm.zv);
                out[size_t(t) * s.D + col + d] = clamp_add(
                    rounding_mul_shift(int32_t(o), prm.mo, prm.shift_o), prm.zc, prm.clamp_lo, prm.clamp_hi);
            }
        }
    return out;
}

} // namespace px::qint
