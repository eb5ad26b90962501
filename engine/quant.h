// quant.h — integer-only quantized arithmetic (PROTOCOL.md §5.5) and the offline quantizer.
//
// Two halves, kept apart on purpose:
//  * Executor half (integer only): decoding and range-checking the parameter pixels of QMATMUL,
//    QADD, QRELU and QMATMUL32, and the reference kernels the CPU interpreter runs. Nothing here
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

#include <cstdint>
#include <string>
#include <vector>

namespace px {

// ---- Parameter pixels (PROTOCOL.md §5.5) ----

// QMATMUL: P1 = (za, zb, zc, shift), P2 = M (int32 little-endian RGBA),
//          P3 = (bias_row lo, bias_row hi, clamp_lo, clamp_hi).
struct QMatmulParams {
    uint8_t za = 0, zb = 0, zc = 0, shift = 1;
    int32_t multiplier = 0;
    uint16_t bias_row = 0; // 0 = no bias
    uint8_t clamp_lo = 0, clamp_hi = 255;
};
// QADD: P1 = (za, zb, zc, shift), P2 = Ma, P3 = Mb (int32 LE), P4 = (clamp_lo, clamp_hi, 0, 0).
struct QAddParams {
    uint8_t za = 0, zb = 0, zc = 0, shift = 1;
    int32_t ma = 0, mb = 0;
    uint8_t clamp_lo = 0, clamp_hi = 255;
};
// QRELU: P1 = (zero_point, 0, 0, 0).
struct QReluParams {
    uint8_t zero_point = 0;
};
// QMATMUL32: P1 = (za, zb, 0, 0), P2 = (bias_row lo, bias_row hi, 0, 0).
struct QMatmul32Params {
    uint8_t za = 0, zb = 0;
    uint16_t bias_row = 0;
};

inline int32_t rgba_to_i32(Rgba p) {
    return int32_t(uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24);
}
inline Rgba i32_to_rgba(int32_t v) {
    const uint32_t u = uint32_t(v);
    return {uint8_t(u), uint8_t(u >> 8), uint8_t(u >> 16), uint8_t(u >> 24)};
}

QMatmulParams decode_qmatmul(const Instruction& ins);
QAddParams decode_qadd(const Instruction& ins);
QReluParams decode_qrelu(const Instruction& ins);
QMatmul32Params decode_qmatmul32(const Instruction& ins);

std::vector<Rgba> encode_params(const QMatmulParams& p);
std::vector<Rgba> encode_params(const QAddParams& p);
std::vector<Rgba> encode_params(const QReluParams& p);
std::vector<Rgba> encode_params(const QMatmul32Params& p);

// Check 7 of PROTOCOL.md §4.4 for a decoded instruction: empty when every parameter is in range,
// else a message naming the parameter pixel and the value. Opcodes without parameters pass.
std::string check_params(const Instruction& ins, uint32_t height);

// One line decoding the parameter pixels for the disassembler and debugger, e.g.
// "za=128 zb=121 zc=0 M=1518500250 shift=38 (x0.00000552) bias=row 19 clamp=[0,255]";
// empty for opcodes without parameters. Shown as is; never parsed.
std::string describe_params(const Instruction& ins);

// ---- Executor kernels (integer only; the CPU interpreter's reference) ----

// (int64(acc) * M + 2^(shift-1)) >> shift, arithmetic: one rounding, half-way cases upwards.
// Requires M >= 0 and 1 <= shift <= 62 (then nothing overflows int64).
int64_t rounding_mul_shift(int32_t acc, int32_t multiplier, uint32_t shift);
// clamp(zc + v, lo, hi) as a byte.
uint8_t clamp_add(int64_t v, uint8_t zc, uint8_t lo, uint8_t hi);

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
