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

// The float opcodes (PROTOCOL.md §15 F.2; PROTOCOL.md §11): P1 = (dtype_a, dtype_b,
// dtype_c, 0) declares each operand's element type by its code (0 u8, 1 f32, 2 f16, 3 i32; 0 for
// an operand of kind none). Kept as raw codes: decoding never fails, check() says which are accepted.
struct FloatDtypes {
    uint8_t a = 1, b = 1, c = 1;
    uint8_t reserved = 0; // P1's A channel, must be 0
};
// FMATMUL activations (P2's B channel).
enum class FActivation : uint8_t { None = 0, Relu = 1, Gelu = 2 };
// FMATMUL: P1 = dtypes, P2 = (bias_row lo, bias_row hi, activation, 0).
struct FMatmulParams {
    FloatDtypes dtype;
    uint16_t bias_row = 0; // 0 = no bias; else a 1 x N f32 matrix
    uint8_t activation = 0;
    uint8_t reserved = 0; // P2's A channel, must be 0
};
// FADD, FMUL: P1 = dtypes.
struct FBinaryParams {
    FloatDtypes dtype;
};

// DEQUANT (u8 -> f32) and QUANT (f32 -> u8), PROTOCOL.md §11.4: P1 = dtypes (DEQUANT 0,0,1,0;
// QUANT 1,0,0,0), P2 = the scale (DEQUANT) or 1/scale (QUANT) as a whole f32 pixel,
// P3 = (zero_point, 0, 0, 0).
struct QConvertParams {
    FloatDtypes dtype;
    uint32_t scale_bits = 0x3F800000u; // binary32 bits; must be a positive normal finite value
    uint8_t zero_point = 0;
    uint8_t reserved = 0; // P3's G channel (G, B, A are reserved, must be 0)
};
// FCONVERT (f16 <-> f32, PROTOCOL.md §11.5) and GELU (§11.7): P1 = dtypes.
struct FUnaryParams {
    FloatDtypes dtype;
};
// LAYERNORM (PROTOCOL.md §11.6): P1 = (1, 1, 1, 0), P2 = (bias_row lo, bias_row hi, 0, 0),
// P3 = epsilon as a whole f32 pixel (canonical, finite, not negative).
struct LayerNormParams {
    FloatDtypes dtype;
    uint16_t bias_row = 0;           // 0 = no bias; else a 1 x N f32 matrix
    uint8_t reserved = 0;            // P2's B channel (B, A are reserved, must be 0)
    uint32_t eps_bits = 0x3727C5ACu; // 1e-5
};
// FSOFTMAX (PROTOCOL.md §12.1): P1 = (1, 0, 1, 0) (a f32, b none, c f32), P2 = scale as an f32
// pixel (bits little-endian RGBA; 0x3F800000 = 1 is plain softmax).
struct FSoftmaxParams {
    FloatDtypes dtype{1, 0, 1, 0};
    uint32_t scale = 0x3F800000u; // the f32 bits, canonicalized where used
};
// FATTENTION (PROTOCOL.md §12.2): P1 = (1, 1, 1, 0) for q, K, out (V has K's dtype),
// P2 = (v_row lo, v_row hi, heads lo, heads hi), P3 = scale as an f32 pixel.
struct FAttentionParams {
    FloatDtypes dtype;
    uint16_t v_row = 0; // the value cache; 0 is BAD_PARAM (V is not optional)
    uint16_t heads = 1; // 0 is BAD_PARAM
    uint32_t scale = 0x3F800000u;
};

// Control flow, gather, append and sampling (PROTOCOL.md §13). P1 = dtypes as above.
// LOOP: P2 = (target lo, target hi, 0, 0), the x in row 0 a taken loop jumps to.
struct LoopParams {
    FloatDtypes dtype{3, 0, 0, 0};
    uint16_t target = 0;
    uint8_t reserved[2] = {0, 0}; // P2's B, A
};
// GATHER modes (P2's R): which rows of table a are copied into c.
enum class GatherMode : uint8_t { Index = 0, Prefix = 1, Last = 2 };
// GATHER: P2 = (mode, 0, 0, 0).
struct GatherParams {
    FloatDtypes dtype{1, 3, 1, 0};
    uint8_t mode = 0;
    uint8_t reserved[3] = {0, 0, 0}; // P2's G, B, A
};
// APPEND: P2 = (capacity lo, capacity hi, 0, 0): the most rows c may hold.
struct AppendParams {
    FloatDtypes dtype{1, 0, 1, 0};
    uint16_t capacity = 0;
    uint8_t reserved[2] = {0, 0};
};
// ARGMAX: P1 only.
struct ArgmaxParams {
    FloatDtypes dtype{1, 0, 3, 0};
};
// SAMPLE: P2 = temperature (f32 bits, little-endian RGBA), P3 = (top_k lo, top_k hi, 0, 0).
struct SampleParams {
    FloatDtypes dtype{1, 3, 3, 0};
    uint32_t temperature = 0; // bits as written; check 7 reads them canonicalized
    uint16_t top_k = 0;       // 0: the whole row
    uint8_t reserved[2] = {0, 0};
};
// PENALIZE: P2 = the penalty p (f32 bits, little-endian RGBA), P3 = (n lo, n hi, 0, 0), the window.
struct PenalizeParams {
    FloatDtypes dtype{1, 3, 1, 0};
    uint32_t penalty = 0; // bits as written; check 7 reads them canonicalized
    uint16_t window = 0;  // the last n elements of b; 0: all of b
    uint8_t reserved[2] = {0, 0};
    // The first element of b's window when b has `elements`: it reads [first, elements).
    uint64_t window_first(uint64_t elements) const {
        return window == 0 || window >= elements ? 0 : elements - window;
    }
};

// The integer transformer opcodes (PROTOCOL.md §16).
// QLAYERNORM: P1 = (za, zc, shift, 0), P2 = E (int32 LE), P3 = (clamp_lo, clamp_hi, 0, 0).
struct QLayerNormParams {
    uint8_t za = 0, zc = 0, shift = 1;
    uint8_t reserved1 = 0; // P1's A
    int32_t eps = 0;       // E, the epsilon in integer units; negative is BAD_PARAM
    uint8_t clamp_lo = 0, clamp_hi = 255;
    uint8_t reserved3[2] = {0, 0}; // P3's B, A
};
// QATTENTION: P1 = (zq, zk, zv, zc), P2 = (v_row lo, hi, heads lo, hi), P3 = Ms, P4 = Mo (int32 LE),
// P5 = (shift_s, shift_o, clamp_lo, clamp_hi).
struct QAttentionParams {
    uint8_t zq = 0, zk = 0, zv = 0, zc = 0;
    uint16_t v_row = 0; // the value cache; 0 is BAD_PARAM
    uint16_t heads = 1; // 0 is BAD_PARAM
    int32_t ms = 0, mo = 0;
    uint8_t shift_s = 1, shift_o = 1, clamp_lo = 0, clamp_hi = 255;
};

// One alternative per parameter layout; a new opcode with parameters adds its struct here.
using OpParams = std::variant<std::monostate, QMatmulParams, QAddParams, QReluParams, QMatmul32Params,
                              FMatmulParams, FBinaryParams, QConvertParams, FUnaryParams, LayerNormParams,
                              FSoftmaxParams, FAttentionParams, LoopParams, GatherParams, AppendParams,
                              ArgmaxParams, SampleParams, PenalizeParams, QLayerNormParams, QAttentionParams>;

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
std::vector<Rgba> encode_params(const FMatmulParams& p);
std::vector<Rgba> encode_params(const FBinaryParams& p);
std::vector<Rgba> encode_params(const QConvertParams& p);
std::vector<Rgba> encode_params(const FUnaryParams& p);
std::vector<Rgba> encode_params(const LayerNormParams& p);
std::vector<Rgba> encode_params(const FSoftmaxParams& p);
std::vector<Rgba> encode_params(const FAttentionParams& p);
std::vector<Rgba> encode_params(const LoopParams& p);
std::vector<Rgba> encode_params(const GatherParams& p);
std::vector<Rgba> encode_params(const AppendParams& p);
std::vector<Rgba> encode_params(const ArgmaxParams& p);
std::vector<Rgba> encode_params(const SampleParams& p);
std::vector<Rgba> encode_params(const PenalizeParams& p);
std::vector<Rgba> encode_params(const QLayerNormParams& p);
std::vector<Rgba> encode_params(const QAttentionParams& p);

} // namespace px
