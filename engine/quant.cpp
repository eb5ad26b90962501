#include "quant.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace px {

// ---- Parameter pixels ----

QMatmulParams decode_qmatmul(const Instruction& ins) {
    QMatmulParams p;
    const auto& q = ins.params;
    p.za = q[0][0], p.zb = q[0][1], p.zc = q[0][2], p.shift = q[0][3];
    p.multiplier = rgba_to_i32(q[1]);
    p.bias_row = uint16_t(q[2][0] | q[2][1] << 8);
    p.clamp_lo = q[2][2], p.clamp_hi = q[2][3];
    return p;
}

QAddParams decode_qadd(const Instruction& ins) {
    QAddParams p;
    const auto& q = ins.params;
    p.za = q[0][0], p.zb = q[0][1], p.zc = q[0][2], p.shift = q[0][3];
    p.ma = rgba_to_i32(q[1]);
    p.mb = rgba_to_i32(q[2]);
    p.clamp_lo = q[3][0], p.clamp_hi = q[3][1];
    return p;
}

QReluParams decode_qrelu(const Instruction& ins) {
    return {ins.params[0][0]};
}

QMatmul32Params decode_qmatmul32(const Instruction& ins) {
    QMatmul32Params p;
    const auto& q = ins.params;
    p.za = q[0][0], p.zb = q[0][1];
    p.bias_row = uint16_t(q[1][0] | q[1][1] << 8);
    return p;
}

std::vector<Rgba> encode_params(const QMatmulParams& p) {
    return {{p.za, p.zb, p.zc, p.shift},
            i32_to_rgba(p.multiplier),
            {uint8_t(p.bias_row), uint8_t(p.bias_row >> 8), p.clamp_lo, p.clamp_hi}};
}
std::vector<Rgba> encode_params(const QAddParams& p) {
    return {
        {p.za, p.zb, p.zc, p.shift}, i32_to_rgba(p.ma), i32_to_rgba(p.mb), {p.clamp_lo, p.clamp_hi, 0, 0}};
}
std::vector<Rgba> encode_params(const QReluParams& p) {
    return {{p.zero_point, 0, 0, 0}};
}
std::vector<Rgba> encode_params(const QMatmul32Params& p) {
    return {{p.za, p.zb, 0, 0}, {uint8_t(p.bias_row), uint8_t(p.bias_row >> 8), 0, 0}};
}

namespace {

std::string pixel_name(const Instruction& ins, uint32_t k) {
    const uint32_t opx = ins.pc + (ins.wide ? 1 : 0);
    return "parameter pixel P" + std::to_string(k + 1) + " at (" + std::to_string(opx + 1 + k) + ",0)";
}

std::string check_shift(const Instruction& ins, uint32_t shift) {
    if (shift < 1 || shift > 62)
        return pixel_name(ins, 0) + ": shift " + std::to_string(shift) + " is outside 1..62";
    return {};
}

std::string check_multiplier(const Instruction& ins, uint32_t k, const char* what, int32_t m) {
    if (m < 0)
        return pixel_name(ins, k) + ": multiplier " + what + " = " + std::to_string(m) + " is negative";
    return {};
}

std::string check_clamp(const Instruction& ins, uint32_t k, uint8_t lo, uint8_t hi) {
    if (lo > hi)
        return pixel_name(ins, k) + ": clamp_lo " + std::to_string(lo) + " > clamp_hi " + std::to_string(hi);
    return {};
}

std::string check_bias_row(const Instruction& ins, uint32_t k, uint32_t row, uint32_t height) {
    if (row != 0 && row >= height)
        return pixel_name(ins, k) + ": bias row " + std::to_string(row) + " is outside " +
               (height > 1 ? "data rows 1.." + std::to_string(height - 1) : std::string("the image"));
    return {};
}

// Reserved channels must be 0 so that a later protocol can give them a meaning without changing
// what an existing program computes.
std::string check_reserved(const Instruction& ins, uint32_t k, std::initializer_list<int> channels) {
    static constexpr char kCh[4] = {'R', 'G', 'B', 'A'};
    for (int c : channels)
        if (ins.params[k][c] != 0)
            return pixel_name(ins, k) + ": reserved channel " + kCh[c] + " is " +
                   std::to_string(ins.params[k][c]) + ", must be 0";
    return {};
}

std::string real_text(int32_t m, uint32_t shift) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%.9g", std::ldexp(double(m), -int(shift)));
    return buf;
}

} // namespace

std::string check_params(const Instruction& ins, uint32_t height) {
    std::string e;
    auto first = [&e](std::string s) {
        if (e.empty()) e = std::move(s);
    };
    switch (Opcode(ins.opcode)) {
    case Opcode::QMATMUL: {
        const QMatmulParams p = decode_qmatmul(ins);
        first(check_shift(ins, p.shift));
        first(check_multiplier(ins, 1, "M", p.multiplier));
        first(check_bias_row(ins, 2, p.bias_row, height));
        first(check_clamp(ins, 2, p.clamp_lo, p.clamp_hi));
        break;
    }
    case Opcode::QADD: {
        const QAddParams p = decode_qadd(ins);
        first(check_shift(ins, p.shift));
        first(check_multiplier(ins, 1, "Ma", p.ma));
        first(check_multiplier(ins, 2, "Mb", p.mb));
        first(check_clamp(ins, 3, p.clamp_lo, p.clamp_hi));
        first(check_reserved(ins, 3, {2, 3}));
        break;
    }
    case Opcode::QRELU: first(check_reserved(ins, 0, {1, 2, 3})); break;
    case Opcode::QMATMUL32: {
        const QMatmul32Params p = decode_qmatmul32(ins);
        first(check_reserved(ins, 0, {2, 3}));
        first(check_bias_row(ins, 1, p.bias_row, height));
        first(check_reserved(ins, 1, {2, 3}));
        break;
    }
    default: break;
    }
    return e;
}

std::string describe_params(const Instruction& ins) {
    switch (Opcode(ins.opcode)) {
    case Opcode::QMATMUL: {
        const QMatmulParams p = decode_qmatmul(ins);
        return "za=" + std::to_string(p.za) + " zb=" + std::to_string(p.zb) + " zc=" + std::to_string(p.zc) +
               " M=" + std::to_string(p.multiplier) + " shift=" + std::to_string(p.shift) + " (x" +
               real_text(p.multiplier, p.shift) +
               ") bias=" + (p.bias_row ? "row " + std::to_string(p.bias_row) : std::string("none")) +
               " clamp=[" + std::to_string(p.clamp_lo) + "," + std::to_string(p.clamp_hi) + "]";
    }
    case Opcode::QADD: {
        const QAddParams p = decode_qadd(ins);
        return "za=" + std::to_string(p.za) + " zb=" + std::to_string(p.zb) + " zc=" + std::to_string(p.zc) +
               " Ma=" + std::to_string(p.ma) + " Mb=" + std::to_string(p.mb) +
               " shift=" + std::to_string(p.shift) + " (x" + real_text(p.ma, p.shift) + ", x" +
               real_text(p.mb, p.shift) + ") clamp=[" + std::to_string(p.clamp_lo) + "," +
               std::to_string(p.clamp_hi) + "]";
    }
    case Opcode::QRELU: return "zero_point=" + std::to_string(decode_qrelu(ins).zero_point);
    case Opcode::QMATMUL32: {
        const QMatmul32Params p = decode_qmatmul32(ins);
        return "za=" + std::to_string(p.za) + " zb=" + std::to_string(p.zb) +
               " bias=" + (p.bias_row ? "row " + std::to_string(p.bias_row) : std::string("none")) +
               " out=int32 pixels";
    }
    default: return {};
    }
}

// ---- Executor kernels ----

int64_t rounding_mul_shift(int32_t acc, int32_t multiplier, uint32_t shift) {
    // |acc| <= 2^31 and 0 <= M < 2^31: |product| < 2^62, plus 2^61 at most: no int64 overflow.
    const int64_t p = int64_t(acc) * multiplier + (int64_t(1) << (shift - 1));
    return p >> shift; // arithmetic shift (C++20): floor division, so ties round upwards
}

uint8_t clamp_add(int64_t v, uint8_t zc, uint8_t lo, uint8_t hi) {
    const int64_t t = v + zc;
    return uint8_t(std::clamp<int64_t>(t, lo, hi));
}

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
