// quant.h — integer-only quantized arithmetic (PROTOCOL.md §5.5) and the offline quantizer.
//
// Two halves, kept apart on purpose:
//  * Executor half (integer only): the reference kernels of QMATMUL, QADD, QRELU and QMATMUL32
//    that their definitions (engine/ops/) run. Nothing here
//    touches a float; the GLSL executor reproduces these functions bit for bit.
//  * Offline half (doubles allowed): choosing a tensor's scale and zero point, turning a real
//    multiplier into (int32 M, shift), quantizing values. Only program-building tools call it.
//
// A quantized tensor's real value is scale * (q - zero_point) (Jacob et al. 2018, gemmlowp).
#pragma once
#include "image.h"
#include "layout.h"
#include "result.h"
#include "vm.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace px {

// The parameter structs (QMatmulParams, QAddParams, QReluParams, QMatmul32Params), their
// encode_params() and rgba_to_i32/i32_to_rgba are in ops/op_params.h; decoding, checking and
// describing them is each opcode's definition (engine/ops/), reached through vm.h's
// check_params(), describe_params() and param_rows().

// ---- Executor kernels (integer only; the CPU interpreter's reference) ----

// (int64(acc) * M + 2^(shift-1)) >> shift, arithmetic: one rounding, half-way cases upwards.
// Requires M >= 0 and 1 <= shift <= 62 (then nothing overflows int64). Inline (with clamp_add)
// so the optimized executor's per-element loops use this one definition without a call each.
inline int64_t rounding_mul_shift(int32_t acc, int32_t multiplier, uint32_t shift) {
    // |acc| <= 2^31 and 0 <= M < 2^31: |product| < 2^62, plus 2^61 at most: no int64 overflow.
    const int64_t p = int64_t(acc) * multiplier + (int64_t(1) << (shift - 1));
    return p >> shift; // arithmetic shift (C++20): floor division, so ties round upwards
}
// floor((v + 2^(shift-1)) / 2^shift), the rounding shift above, with only a logical shift (AVX2
// has no 64-bit arithmetic one), for |v| < 2^61 and 1 <= shift <= 62: v + 2^(shift-1) + 2^62 lies in
// (0, 2^63), and 2^62 is a multiple of 2^shift, so shifting it off takes exactly 2^(62-shift) away.
// The vectorized QADD and QLAYERNORM kernels use its two constants lane by lane.
struct LogicalRoundingShift {
    uint32_t shift;
    int64_t offset, back; // 2^(shift-1) + 2^62, 2^(62-shift)
    explicit LogicalRoundingShift(uint32_t s)
        : shift(s), offset((int64_t(1) << (s - 1)) + (int64_t(1) << 62)), back(int64_t(1) << (62 - s)) {}
    int64_t operator()(int64_t v) const { return int64_t(uint64_t(v + offset) >> shift) - back; }
};
// clamp(zc + v, lo, hi) as a byte.
inline uint8_t clamp_add(int64_t v, uint8_t zc, uint8_t lo, uint8_t hi) {
    const int64_t t = v + zc;
    return uint8_t(std::clamp<int64_t>(t, lo, hi));
}

// acc[m, n] = bias[n] + sum_k (a[m,k] - za) * (b[k,n] - zb) modulo 2^32, as int32 (bias may be
// empty = zeros).
std::vector<int32_t> qmatmul_acc(const std::vector<uint8_t>& a, MatrixHeader ha,
                                 const std::vector<uint8_t>& b, MatrixHeader hb, uint8_t za, uint8_t zb,
                                 const std::vector<int32_t>& bias);
std::vector<uint8_t> qmatmul_u8(const std::vector<uint8_t>& a, MatrixHeader ha, const std::vector<uint8_t>& b,
                                MatrixHeader hb, const QMatmulParams& p, const std::vector<int32_t>& bias);
std::vector<uint8_t> qadd_u8(const std::vector<uint8_t>& a, MatrixHeader ha, const std::vector<uint8_t>& b,
                             MatrixHeader hb, const QAddParams& p);
std::vector<uint8_t> qrelu_u8(const std::vector<uint8_t>& a, uint8_t zero_point);

// ---- Offline quantizer (doubles; never called by an executor) ----

struct QuantParams {
    double scale = 1.0;
    int32_t zero_point = 0;
};

// Per-tensor asymmetric uint8 parameters for values in [min, max]: the range is widened to
// contain 0, scale = (max - min) / 255, and the zero point is the nearest integer to -min/scale
// clamped to 0..255 (gemmlowp's nudge), so that real 0.0 is exactly the code zero_point.
QuantParams choose_quant_params(double min, double max);
uint8_t quantize(double x, const QuantParams& q);
double dequantize(int32_t q, const QuantParams& p);
std::vector<uint8_t> quantize_all(const std::vector<double>& x, const QuantParams& q);
// int32 bias with scale `scale` and zero point 0, saturated to int32.
int32_t quantize_bias(double x, double scale);

struct Multiplier {
    int32_t m = 0;
    uint8_t shift = 1;
};
// real ~= m / 2^shift with m < 2^31 holding 31 significant bits where the shift allows
// (frexp-based, offline only). Fails for real < 0, not finite, or >= 2^30.
Result<Multiplier> quantize_multiplier(double real);

} // namespace px
