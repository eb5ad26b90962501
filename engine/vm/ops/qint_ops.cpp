// The integer transformer arithmetic of PROTOCOL.md §16 (see qint_ops.h).
#include "qint_ops.h"

#include "quant.h"

#include <algorithm>

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

std::vector<uint8_t> qlayernorm_u8(const std::vector<uint8_t>& a, uint32_t rows, uint32_t n,
                                   const std::vector<int32_t>& gb, const QLayerNormParams& p) {
    std::vector<uint8_t> c(a.size());
    for (uint32_t r = 0; r < rows; ++r)
        layernorm_row(&a[size_t(r) * n], n, gb.data(), gb.data() + n, p, &c[size_t(r) * n]);
    return c;
}

void softmax_row(const int32_t* s, uint32_t n, const QAttentionParams& prm, int64_t* p) {
    const int32_t m = *std::max_element(s, s + n);
    int64_t sum = 0;
    for (uint32_t j = 0; j < n; ++j) {
        const int64_t delta = std::max(int64_t(s[j]) - m, kMinDelta);
        p[j] = iexp(rounding_mul_shift(int32_t(delta), prm.ms, prm.shift_s));
        sum += p[j];
    }
    for (uint32_t j = 0; j < n; ++j)
        p[j] = (p[j] << kP) / sum; // both >= 0: floor; sum >= iexp(0) > 0
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
