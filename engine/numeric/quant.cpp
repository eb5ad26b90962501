#include "quant.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace px {

// ---- Executor kernels ----

std::vector<int32_t> qmatmul_acc(const std::vector<uint8_t>& a, MatrixHeader ha,
                                 const std::vector<uint8_t>& b, MatrixHeader hb, uint8_t za, uint8_t zb,
                                 const std::vector<int32_t>& bias) {
    const uint32_t M = ha.rows, K = ha.cols, N = hb.cols;
    std::vector<int32_t> out(size_t(M) * N);
    std::vector<uint32_t> acc(N);           // modulo 2^32: unsigned, so wrapping is defined
    std::vector<int32_t> bz(size_t(K) * N); // b - zb, computed once
    for (size_t i = 0; i < bz.size(); ++i)
        bz[i] = int32_t(b[i]) - zb;
    for (uint32_t m = 0; m < M; ++m) {
        for (uint32_t n = 0; n < N; ++n)
            acc[n] = bias.empty() ? 0u : uint32_t(bias[n]);
        for (uint32_t k = 0; k < K; ++k) {
            const int32_t av = int32_t(a[size_t(m) * K + k]) - za;
            if (av == 0) continue;
            const int32_t* brow = &bz[size_t(k) * N];
            for (uint32_t n = 0; n < N; ++n)
                acc[n] += uint32_t(av * brow[n]); // |av*b| <= 65025
        }
        for (uint32_t n = 0; n < N; ++n)
            out[size_t(m) * N + n] = int32_t(acc[n]);
    }
    return out;
}

std::vector<uint8_t> qmatmul_u8(const std::vector<uint8_t>& a, MatrixHeader ha, const std::vector<uint8_t>& b,
                                MatrixHeader hb, const QMatmulParams& p, const std::vector<int32_t>& bias) {
    const std::vector<int32_t> acc = qmatmul_acc(a, ha, b, hb, p.za, p.zb, bias);
    std::vector<uint8_t> out(acc.size());
    for (size_t i = 0; i < acc.size(); ++i)
        out[i] = clamp_add(rounding_mul_shift(acc[i], p.multiplier, p.shift), p.zc, p.clamp_lo, p.clamp_hi);
    return out;
}

std::vector<uint8_t> qadd_u8(const std::vector<uint8_t>& a, MatrixHeader ha, const std::vector<uint8_t>& b,
                             MatrixHeader hb, const QAddParams& p) {
    std::vector<uint8_t> out(a.size());
    const bool broadcast = !(ha == hb);
    const int64_t round = int64_t(1) << (p.shift - 1);
    for (size_t i = 0; i < a.size(); ++i) {
        const int64_t da = int32_t(a[i]) - p.za;
        const int64_t db = int32_t(b[broadcast ? i % hb.cols : i]) - p.zb;
        // |da*Ma| + |db*Mb| < 2^40, plus the rounding term < 2^62: no overflow.
        const int64_t v = (da * p.ma + db * p.mb + round) >> p.shift;
        out[i] = clamp_add(v, p.zc, p.clamp_lo, p.clamp_hi);
    }
    return out;
}

std::vector<uint8_t> qrelu_u8(const std::vector<uint8_t>& a, uint8_t zero_point) {
    std::vector<uint8_t> out(a.size());
    for (size_t i = 0; i < a.size(); ++i)
        out[i] = std::max(a[i], zero_point);
    return out;
}

// ---- Offline quantizer ----

QuantParams choose_quant_params(double min, double max) {
    min = std::min(min, 0.0);
    max = std::max(max, 0.0);
    if (!(max > min)) return {1.0, 0}; // all zeros: any scale represents them
    QuantParams q;
    q.scale = (max - min) / 255.0;
    const double zp = -min / q.scale;
    q.zero_point = int32_t(std::clamp(std::lround(zp), 0L, 255L));
    return q;
}

uint8_t quantize(double x, const QuantParams& q) {
    const double v = std::nearbyint(x / q.scale) + q.zero_point;
    return uint8_t(std::clamp(v, 0.0, 255.0));
}

double dequantize(int32_t q, const QuantParams& p) {
    return p.scale * (double(q) - p.zero_point);
}

std::vector<uint8_t> quantize_all(const std::vector<double>& x, const QuantParams& q) {
    std::vector<uint8_t> out(x.size());
    for (size_t i = 0; i < x.size(); ++i)
        out[i] = quantize(x[i], q);
    return out;
}

int32_t quantize_bias(double x, double scale) {
    const double v = std::nearbyint(x / scale);
    return int32_t(std::clamp(v, double(std::numeric_limits<int32_t>::min()),
                              double(std::numeric_limits<int32_t>::max())));
}

Result<Multiplier> quantize_multiplier(double real) {
    if (!std::isfinite(real) || real < 0)
        return make_error(ErrorCode::Usage,
                          "multiplier " + std::to_string(real) + " is not a finite value >= 0");
    if (real == 0) return Multiplier{0, 1};
    int e = 0;
    const double q = std::frexp(real, &e); // real = q * 2^e, 0.5 <= q < 1
    int64_t m = std::llround(q * 2147483648.0);
    if (m == (int64_t(1) << 31)) { // q rounded up to 1.0
        m /= 2;
        ++e;
    }
    int shift = 31 - e;
    if (shift > 62) { // tiny multiplier: give up low bits of m rather than exceed the shift range
        m = std::llround(std::ldexp(double(m), 62 - shift));
        shift = 62;
    }
    if (shift < 1)
        return make_error(ErrorCode::Usage,
                          "multiplier " + std::to_string(real) + " is too large (needs a shift below 1)");
    return Multiplier{int32_t(m), uint8_t(shift)};
}

} // namespace px
