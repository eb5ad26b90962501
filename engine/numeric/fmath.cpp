// fmath.cpp — the definitions of engine/fmath.h. Each function follows the numbered steps of its
// definition in PROTOCOL.md §15; constants are given as bit patterns so that no decimal
// parsing (C++ or GLSL) can differ. Compiled with -ffp-contract=off.
#include "fmath.h"

namespace px::fm {

namespace {

constexpr float k(uint32_t b) {
    return __builtin_bit_cast(float, b);
}

bool is_nan(float x) {
    return (bits(x) & 0x7FFFFFFFu) > kPosInf;
}
float nan() {
    return from_bits(kNaN);
}
float inf() {
    return from_bits(kPosInf);
}

// 2^e for -126 <= e <= 127, built from the bits (exact).
float pow2(int e) {
    return from_bits(uint32_t(e + 127) << 23);
}

// floor(t) for |t| < 2^30, by truncation toward zero (exact) and a correction.
int floor_int(float t) {
    int i = int(t);
    if (float(i) > t) i -= 1;
    return i;
}

} // namespace

// ---- float16 ----

float from_f16(uint16_t h) {
    const uint32_t sign = uint32_t(h & 0x8000u) << 16;
    const uint32_t e = (h >> 10) & 0x1Fu;
    uint32_t m = h & 0x3FFu;
    if (e == 0x1F) return m ? nan() : from_bits(sign | kPosInf);
    if (e == 0) {
        if (m == 0) return 0.0f; // -0 -> +0
        // Subnormal: m * 2^-24. Normalize: shift m up until bit 10 is set.
        int shift = 0;
        while (!(m & 0x400u)) {
            m <<= 1;
            ++shift;
        }
        return from_bits(sign | uint32_t(127 - 15 + 1 - shift) << 23 | (m & 0x3FFu) << 13);
    }
    return from_bits(sign | (e + 127 - 15) << 23 | m << 13);
}

uint16_t to_f16(float x) {
    const uint32_t b = canon_bits(bits(x));
    const uint32_t sign = (b >> 16) & 0x8000u;
    const uint32_t mag = b & 0x7FFFFFFFu;
    if (mag > kPosInf) return kNaN16;
    if (mag == kPosInf) return uint16_t(sign | 0x7C00u);
    if (mag == 0) return 0;
    const int e = int(mag >> 23) - 127;               // unbiased exponent, >= -125 (canonical)
    const uint32_t m = (mag & 0x7FFFFFu) | 0x800000u; // 24-bit significand
    if (e >= 16) return uint16_t(sign | 0x7C00u);     // >= 65536: inf
    // The binary16 value is m * 2^(e-23) in units of 2^-24 (the f16 subnormal step) when e < -14,
    // else of 2^(e-10). Number of low bits of m to drop:
    const int drop = e < -14 ? 13 + (-14 - e) : 13;
    if (drop > 24) return 0; // below half the smallest subnormal: +0
    uint32_t q = m >> drop;
    const uint32_t rest = m & ((1u << drop) - 1u);
    const uint32_t half = 1u << (drop - 1);
    if (rest > half || (rest == half && (q & 1u))) ++q; // round to nearest, ties to even
    uint32_t out;
    if (e < -14) {
        out = q; // subnormal (q may have rounded up to 0x400, the smallest normal: same bits)
    } else {
        // q holds the implicit bit at 0x400; rounding may carry into the exponent (0x800).
        out = (uint32_t(e + 15) << 10) + (q - 0x400u);
        if (out >= 0x7C00u) out = 0x7C00u; // rounded up past 65504: inf
    }
    if (out == 0) return 0; // never -0
    return uint16_t(sign | out);
}

// ---- Reductions ----

float block_sum(const float u[kBlock]) {
    float v[8];
    for (int i = 0; i < 8; ++i)
        v[i] = add(u[i], u[i + 8]);
    for (int i = 0; i < 4; ++i)
        v[i] = add(v[i], v[i + 4]);
    for (int i = 0; i < 2; ++i)
        v[i] = add(v[i], v[i + 2]);
    return add(v[0], v[1]);
}

float sum(const float* t, size_t n) {
    float acc = 0.0f;
    for (size_t j = 0; j < n; j += kBlock) {
        float u[kBlock];
        for (size_t i = 0; i < kBlock; ++i)
            u[i] = j + i < n ? canon(t[j + i]) : 0.0f;
        acc = add(acc, block_sum(u));
    }
    return acc;
}

float dot(const float* a, size_t stride_a, const float* b, size_t stride_b, size_t n) {
    float acc = 0.0f;
    for (size_t j = 0; j < n; j += kBlock) {
        float u[kBlock];
        for (size_t i = 0; i < kBlock; ++i)
            u[i] = j + i < n ? mul(canon(a[(j + i) * stride_a]), canon(b[(j + i) * stride_b])) : 0.0f;
        acc = add(acc, block_sum(u));
    }
    return acc;
}

// ---- Exact product ----

namespace {
struct Split {
    float hi, lo;
};
// Veltkamp: hi holds the upper 12 significant bits of a, lo the rest; hi + lo == a exactly.
Split split(float a) {
    const float c = mul(k(0x45801000u), a); // 4097 = 2^12 + 1
    const float hi = sub(c, sub(c, a));
    return {hi, sub(a, hi)};
}
} // namespace

TwoProduct two_product(float a, float b) {
    const float h = mul(a, b);
    const Split x = split(a), y = split(b);
    const float l = add(add(add(sub(mul(x.hi, y.hi), h), mul(x.hi, y.lo)), mul(x.lo, y.hi)), mul(x.lo, y.lo));
    return {h, l};
}

// ---- Elementary functions ----

float exp(float x) {
    x = canon(x);
    if (is_nan(x)) return nan();
    if (x > k(0x42B20000u)) return inf(); // x > 89: e^x > FLT_MAX (also +inf)
    if (x < k(0xC2D00000u)) return 0.0f;  // x < -104: e^x < 2^-150 (also -inf)
    // Range reduction: n = floor(x log2 e + 1/2), r = (x - n ln2_hi) - n ln2_lo. ln2_hi has 16
    // significant bits, so n * ln2_hi (|n| <= 151) is exact, and so is the subtraction (Sterbenz).
    const int n = floor_int(add(mul(x, k(0x3FB8AA3Bu)), 0.5f));
    const float fn = float(n);
    const float r = sub(sub(x, mul(fn, k(0x3F317200u))), mul(fn, k(0x35BFBE8Eu)));
    // e^r, |r| <= 0.35, by its Taylor polynomial to degree 7 in Horner form:
    // p = 1 + r (1 + r (1/2 + r (1/6 + r (1/24 + r (1/120 + r (1/720 + r / 5040)))))).
    float p = k(0x39500D01u);           // 1/5040
    p = add(mul(p, r), k(0x3AB60B61u)); // 1/720
    p = add(mul(p, r), k(0x3C088889u)); // 1/120
    p = add(mul(p, r), k(0x3D2AAAABu)); // 1/24
    p = add(mul(p, r), k(0x3E2AAAABu)); // 1/6
    p = add(mul(p, r), k(0x3F000000u)); // 1/2
    p = add(mul(p, r), 1.0f);
    p = add(mul(p, r), 1.0f);
    // Scale by 2^n (n in [-150, 128]) in two steps (n1 = n / 2 truncated, n2 = n - n1, both in [-75, 64]), so
    // no power of two leaves the normal range; the product overflows to inf or flushes to +0.
    const int n1 = n / 2, n2 = n - n1;
    return mul(mul(p, pow2(n1)), pow2(n2));
}

float tanh(float x) {
    x = canon(x);
    if (is_nan(x)) return nan();
    const uint32_t sign = bits(x) & 0x80000000u;
    const float a = from_bits(bits(x) & 0x7FFFFFFFu);
    float y;
    if (a >= 10.0f) {
        y = 1.0f; // 1 - tanh(10) < 2^-28: rounds to 1 (also inf)
    } else if (a >= 0.5f) {
        // 1 - 2 / (e^(2a) + 1)
        y = sub(1.0f, mul(2.0f, recip(add(exp(mul(2.0f, a)), 1.0f))));
    } else {
        // Taylor series to degree 17: a + a (a^2 P(a^2)).
        const float s = mul(a, a);
        float p = k(0x3A1AAC12u);           // x^17: 0.000590027
        p = add(mul(p, s), k(0xBABED1B2u)); // x^15
        p = add(mul(p, s), k(0x3B6B69E8u)); // x^13
        p = add(mul(p, s), k(0xBC11371Bu)); // x^11
        p = add(mul(p, s), k(0x3CB327A4u)); // x^9
        p = add(mul(p, s), k(0xBD5D0DD1u)); // x^7
        p = add(mul(p, s), k(0x3E088889u)); // x^5: 2/15
        p = add(mul(p, s), k(0xBEAAAAABu)); // x^3: -1/3
        y = add(a, mul(a, mul(s, p)));
    }
    return from_bits(canon_bits(bits(y) | sign));
}

float gelu(float x) {
    x = canon(x);
    if (is_nan(x)) return nan();
    if (bits(x) == kPosInf) return inf();
    if (bits(x) == kNegInf) return 0.0f;
    // 0.5 x (1 + tanh u) == x / (1 + e^(-2u)): the second form has no cancellation for u < 0,
    // where 1 + tanh u would lose every significant bit.
    const float x3 = mul(mul(x, x), x);
    const float u = mul(k(0x3F4C422Au), add(x, mul(k(0x3D372713u), x3))); // sqrt(2/pi), 0.044715
    return mul(x, recip(add(1.0f, exp(mul(-2.0f, u)))));
}

float recip(float x) {
    const uint32_t b = canon_bits(bits(x));
    const uint32_t mag = b & 0x7FFFFFFFu, sign = b & 0x80000000u;
    if (mag > kPosInf) return nan();
    if (mag == 0) return inf(); // 1 / +0 (the only zero)
    if (mag == kPosInf) return 0.0f;
    // x = +-m 2^E, m in [1, 2). 1/x = +-(1/m) 2^-E, 1/m in (1/2, 1].
    const int e = int(mag >> 23) - 127;
    const float m = from_bits((mag & 0x7FFFFFu) | 0x3F800000u);
    float y = sub(k(0x3FB4B4B5u), mul(k(0x3EF0F0F1u), m)); // 24/17 - 8/17 m: |error| <= 1/17
    for (int i = 0; i < 3; ++i)
        y = add(y, mul(y, sub(1.0f, mul(m, y)))); // Newton
    // Final step with the residual 1 - m y computed exactly (1 - h is exact: h is near 1).
    const TwoProduct p = two_product(m, y);
    y = add(y, mul(y, sub(sub(1.0f, p.h), p.l)));
    if (e >= 127) return 0.0f; // 1/x <= 2^-127: flushed
    return from_bits(canon_bits(bits(mul(y, pow2(-e))) | sign));
}

float rsqrt(float x) {
    const uint32_t b = canon_bits(bits(x));
    if ((b & 0x7FFFFFFFu) > kPosInf) return nan();
    if (b == 0) return inf();
    if (b & 0x80000000u) return nan(); // negative (including -inf)
    if (b == kPosInf) return 0.0f;
    // x = m 2^(2h), m in [1, 4). rsqrt(x) = rsqrt(m) 2^-h, rsqrt(m) in (1/2, 1].
    const int e = int(b >> 23) - 127;
    const int h = e >= 0 ? e / 2 : -((1 - e) / 2); // floor(e / 2)
    const float m = from_bits((b & 0x7FFFFFu) | uint32_t(127 + e - 2 * h) << 23);
    float y = from_bits(0x5F3759DFu - (bits(m) >> 1)); // |relative error| < 0.0018
    for (int i = 0; i < 2; ++i)
        y = add(y, mul(mul(0.5f, y), sub(1.0f, mul(mul(m, y), y))));
    // Final step: residual 1 - m y^2 from exact products.
    const TwoProduct yy = two_product(y, y);
    const TwoProduct my = two_product(m, yy.h);
    const float r = sub(sub(sub(1.0f, my.h), my.l), mul(m, yy.l));
    y = add(y, mul(mul(0.5f, y), r));
    return mul(y, pow2(-h));
}

// ---- Row functions ----

float max_canon(const float* x, size_t n, bool* any_nan) {
    float m = from_bits(kNegInf);
    *any_nan = false;
    for (size_t i = 0; i < n; ++i) {
        const float v = canon(x[i]);
        *any_nan = *any_nan || is_nan(v);
        if (v > m) m = v;
    }
    return m;
}

void exp_shifted(const float* x, float m, float* y, size_t n) {
    for (size_t i = 0; i < n; ++i)
        y[i] = exp(sub(canon(x[i]), m));
}

void scale_by(float* y, size_t n, float r) {
    for (size_t i = 0; i < n; ++i)
        y[i] = mul(y[i], r);
}

void softmax_row(const float* x, float* y, size_t n) {
    softmax_row_with(x, y, n, SoftmaxPasses{});
}

void softmax_row_with(const float* x, float* y, size_t n, const SoftmaxPasses& passes) {
    bool any_nan = false;
    const float m = passes.max_of(x, n, &any_nan);
    if (any_nan) {
        for (size_t i = 0; i < n; ++i)
            y[i] = nan();
        return;
    }
    // Exponentials into y, their fixed-order sum, one reciprocal.
    passes.exps(x, m, y, n);
    const float r = recip(passes.sum_of(y, n));
    passes.scale(y, n, r);
}

void layernorm_row(const float* x, const float* gain, const float* bias, float eps, float* y, size_t n) {
    const float r = recip(float(n));
    const float mean = mul(sum(x, n), r);
    for (size_t i = 0; i < n; ++i)
        y[i] = sub(canon(x[i]), mean);
    const float var = mul(dot(y, 1, y, 1, n), r);
    const float s = rsqrt(add(var, canon(eps)));
    for (size_t i = 0; i < n; ++i)
        y[i] = add(mul(mul(y[i], s), canon(gain[i])), canon(bias[i]));
}

} // namespace px::fm
