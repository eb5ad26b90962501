// op_params.h — the decoded parameter pixels of every opcode that has them (PROTOCOL.md §5.5).
//
// plan_instruction() decodes and checks an instruction's parameter pixels once, through its
// opcode's definition (ops/opdef.h), and hands them to every executor as a value in Plan::params:
// no executor reads parameter pixels again. An opcode without parameters has std::monostate.
// encode_params() is the inverse, for the tools that build programs (assembler, model builders).
#pragma once
#include "image.h"

#include <cstdint>
#include <variant>
#include <vector>

namespace px {

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

// One alternative per parameter layout; a new opcode with parameters adds its struct here.
using OpParams = std::variant<std::monostate, QMatmulParams, QAddParams, QReluParams, QMatmul32Params>;

inline int32_t rgba_to_i32(Rgba p) {
    return int32_t(uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24);
}
inline Rgba i32_to_rgba(int32_t v) {
    const uint32_t u = uint32_t(v);
    return {uint8_t(u), uint8_t(u >> 8), uint8_t(u >> 16), uint8_t(u >> 24)};
}

std::vector<Rgba> encode_params(const QMatmulParams& p);
std::vector<Rgba> encode_params(const QAddParams& p);
std::vector<Rgba> encode_params(const QReluParams& p);
std::vector<Rgba> encode_params(const QMatmul32Params& p);

} // namespace px
