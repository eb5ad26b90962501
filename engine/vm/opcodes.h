// opcodes.h — the one opcode table of the Pixel Protocol.
//
// Every tool reads this table: the CPU interpreter, the validator, the assembler and
// disassembler, the GLSL executor (through glsl_defines() in protocol.h) and the debugger's
// tooltips. Adding an opcode means adding one X() line here, its definition engine/ops/<name>.cpp
// (ops/opdef.h: parameters, shape rule, reference semantics; the engine does not link without
// it), one kernel in each other executor (engine/cpu_fast.cpp, engine/gl/gl_executor.cpp with its
// shader) and test vectors (tests/vectors/); tests/opcodes_test.cpp fails when any is missing.
//
// Instruction format (row 0, one pixel per instruction word, read left to right):
//
//      R        G        B        A
//   +--------+--------+--------+--------+
//   | opcode |  arg a |  arg b |  arg c |   the opcode pixel
//   +--------+--------+--------+--------+
//   | param pixels (0..n, per opcode)   |   quantization parameters etc. (PROTOCOL.md §5)
//   +-----------------------------------+
//
// An optional WIDE prefix pixel before the opcode pixel carries the high bytes of a, b, c, so
// rows up to 65535 can be addressed (PROTOCOL.md §4.3). v0.0.3 files never contain it.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace px {

// What an operand byte means. Row operands name the header row of a matrix.
enum class OperandKind : uint8_t {
    None,      // must be 0 (validator warns otherwise; executors ignore it)
    MatrixIn,  // matrix read by the instruction
    MatrixOut, // matrix whose header and elements the instruction writes
    MatrixInOut,
    ScalarOut, // DOT's 32-bit result pixel (0, row)
};

// X(number, NAME, kind_a, kind_b, kind_c, param_pixels, "meaning")
#define PX_OPCODE_TABLE(X)                                                                                   \
    X(0, HALT, None, None, None, 0, "stop execution")                                                        \
    X(1, DOT, MatrixIn, MatrixIn, ScalarOut, 0,                                                              \
      "pixel(0,c) = sum of a[i]*b[i] as uint32 little-endian RGBA")                                          \
    X(2, ADD, MatrixIn, MatrixIn, MatrixOut, 0, "c = min(a + b, 255) element-wise; b may be a 1xN row bias") \
    X(3, RELU, MatrixInOut, None, None, 0, "ReLU on unsigned bytes: the identity (checks its operand)")      \
    X(4, MATMUL, MatrixIn, MatrixIn, MatrixOut, 0, "c = min(a @ b, 255), uint32 accumulation")               \
    X(8, QMATMUL, MatrixIn, MatrixIn, MatrixOut, 3,                                                          \
      "c = clamp(zc + rq(bias + sum (a-za)*(b-zb)), lo, hi): quantized matmul (PROTOCOL.md 5.5)")            \
    X(9, QADD, MatrixIn, MatrixIn, MatrixOut, 4,                                                             \
      "c = clamp(zc + rq((a-za)*Ma + (b-zb)*Mb), lo, hi): quantized add, b may be a 1xN row (5.5)")          \
    X(10, QRELU, MatrixInOut, None, None, 1, "a = max(a, zero_point): quantized ReLU in place (5.5)")        \
    X(11, QMATMUL32, MatrixIn, MatrixIn, MatrixOut, 2,                                                       \
      "c = bias + sum (a-za)*(b-zb) as whole int32 pixels: quantized matmul, wide output (5.5)")             \
    X(12, FMATMUL, MatrixIn, MatrixIn, MatrixOut, 2,                                                         \
      "c = act(a @ b + bias) in float32, fixed summation order; act none/ReLU/GELU (11)")                    \
    X(13, FADD, MatrixIn, MatrixIn, MatrixOut, 1,                                                            \
      "c = a + b element-wise in float32; b may be a 1xN row (11)")                                          \
    X(14, FMUL, MatrixIn, MatrixIn, MatrixOut, 1,                                                            \
      "c = a * b element-wise in float32; b may be a 1xN row (11)")                                          \
    X(16, DEQUANT, MatrixIn, None, MatrixOut, 3, "c = (a - zero_point) * scale: uint8 to float32 (11.4)")    \
    X(17, QUANT, MatrixIn, None, MatrixOut, 3,                                                               \
      "c = clamp(round_even(a * inv_scale) + zero_point, 0, 255): float32 to uint8 (11.4)")                  \
    X(18, FCONVERT, MatrixIn, None, MatrixOut, 1,                                                            \
      "c = a converted float16 <-> float32 as P1 declares (11.5)")                                           \
    X(19, LAYERNORM, MatrixIn, MatrixIn, MatrixOut, 3,                                                       \
      "c = (a - mean) * rsqrt(var + eps) * gain + bias for each row, float32 (11.6)")                        \
    X(20, GELU, MatrixIn, None, MatrixOut, 1, "c = gelu(a) element-wise in float32 (11.7)")                  \
    X(24, FSOFTMAX, MatrixIn, None, MatrixOut, 2,                                                            \
      "c = softmax of each row of a * scale in float32, fixed summation order (12)")                         \
    X(25, FATTENTION, MatrixIn, MatrixIn, MatrixOut, 3,                                                      \
      "c = causal multi-head attention of queries a over key cache b and value cache V in float32 (12)")     \
    X(32, LOOP, MatrixInOut, None, None, 2,                                                                  \
      "if the i32 counter a[0] > 0: a[0] -= 1 and jump to the target pixel, else go on (13)")                \
    X(33, GATHER, MatrixIn, MatrixIn, MatrixOut, 2,                                                          \
      "c = rows of table a picked by the i32 indices in b, or by b's length (13)")                           \
    X(34, APPEND, MatrixIn, None, MatrixOut, 2,                                                              \
      "c grows by a's rows: its header's rows are its length, up to a capacity (13)")                        \
    X(35, ARGMAX, MatrixIn, None, MatrixOut, 1,                                                              \
      "c = i32 index of the largest f32 in a's last row, lowest index on ties (13)")                         \
    X(36, SAMPLE, MatrixIn, MatrixInOut, MatrixOut, 3,                                                       \
      "c = i32 token drawn from softmax(a's last row / T) over the top k; PRNG state in b (13)")             \
    X(37, PENALIZE, MatrixIn, MatrixIn, MatrixOut, 3,                                                        \
      "c = a's last row less p at each token id among the last n i32 elements of b (13)")                    \
    X(48, QLAYERNORM, MatrixIn, MatrixIn, MatrixOut, 3,                                                      \
      "c = integer layer norm of each u8 row of a; b = 2xN i32 gain and bias rows (16.1)")                   \
    X(49, QLUT, MatrixIn, MatrixIn, MatrixOut, 0,                                                            \
      "c = b[a] element-wise: a 1x256 u8 table, GELU of codes (16.2)")                                       \
    X(50, QATTENTION, MatrixIn, MatrixIn, MatrixOut, 5,                                                      \
      "c = integer causal multi-head attention of u8 queries a over u8 caches b (K) and V (16.3)")

enum class Opcode : uint8_t {
#define PX_ENUM(num, name, ka, kb, kc, params, meaning) name = num,
    PX_OPCODE_TABLE(PX_ENUM)
#undef PX_ENUM
};

// The WIDE prefix is not an instruction of its own: it belongs to the instruction after it.
inline constexpr uint8_t kWidePrefix = 15;

struct OpcodeInfo {
    uint8_t number;
    std::string_view name;
    OperandKind operands[3];
    uint8_t param_pixels; // pixels after the opcode pixel that belong to this instruction
    std::string_view meaning;
};

inline constexpr OpcodeInfo kOpcodes[] = {
#define PX_INFO(num, name, ka, kb, kc, params, meaning)                                                      \
    {num, #name, {OperandKind::ka, OperandKind::kb, OperandKind::kc}, params, meaning},
    PX_OPCODE_TABLE(PX_INFO)
#undef PX_INFO
};

// nullptr for an unknown opcode byte.
const OpcodeInfo* opcode_info(uint8_t number);
const OpcodeInfo* opcode_by_name(std::string_view name); // case-insensitive
std::string_view operand_kind_name(OperandKind kind);
bool is_row_operand(OperandKind kind);

} // namespace px
