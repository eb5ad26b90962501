// float_ops.h — what the float opcodes (PROTOCOL.md §11, docs/float-protocol.md) share: the dtype
// parameter pixel P1 (its check and its text), the activations, and the f32 gather/scatter of the
// reference kernels. The arithmetic itself is engine/fmath.h; nothing here rounds a float.
#pragma once
#include "opdef.h"

#include <vector>

namespace px::ops {

// Check 7 for P1 = (dtype_a, dtype_b, dtype_c, 0): each code must equal the accepted one (a kind-none
// operand's code is 0) and A must be 0. Names the pixel, the operand and both dtypes.
std::string check_dtypes(const Instruction& ins, const FloatDtypes& d, const FloatDtypes& accepted);
// "a:f32 b:f32 c:f32" (operands of kind none left out; an unknown code prints as "dtype 7").
std::string dtypes_text(const Instruction* ins, const FloatDtypes& d, const OperandKind (&kinds)[3]);
FloatDtypes decode_dtypes(const Rgba& p1);
// P1's codes as DTypes (a reserved code, which check_dtypes refuses, reads as u8).
std::array<DType, 3> dtypes_of(const FloatDtypes& d);
Rgba encode_dtypes(const FloatDtypes& d);

std::string_view activation_name(uint8_t activation); // "none", "relu", "gelu", "?"
// P1's channels R, G, B as dtype names when the code is one (reserved A stays a number).
std::string dtype_channel_text(const Instruction& ins, uint32_t k, int c);
// The activation of FMATMUL on a canonical value: none: x; relu: NaN stays NaN, x > 0 stays,
// everything else (+0, negatives, -inf) is +0; gelu: fm::gelu.
float activate(float x, uint8_t activation);

// The f32 matrix at `row` (whole pixels, little-endian), each element canonicalized on load
// (docs/float-protocol.md F.3 point 1).
std::vector<float> gather_f32(const Image& image, uint32_t row, MatrixHeader h);
// Writes header and elements as whole pixels (the values are canonical results).
void scatter_f32(Image& image, uint32_t row, MatrixHeader h, const std::vector<float>& v);

} // namespace px::ops

namespace px {
// FMATMUL's arithmetic (PROTOCOL.md §11.2) on canonical values: a is M x K, b is K x N (row-major),
// bias empty or N values; c[m][n] = act(add(dot(a[m, :], b[:, n]), bias[n])), the dot in the fixed
// order of fm::dot. The reference kernel; the fast executor has its own in the same order.
std::vector<float> fmatmul_f32(const std::vector<float>& a, const std::vector<float>& b, uint32_t M,
                               uint32_t K, uint32_t N, const std::vector<float>& bias, uint8_t activation);
// FADD / FMUL (PROTOCOL.md §11.3) on canonical values: c[i] = add or mul of a[i] and b[i], or of
// b[i % cols] when b is a 1 x cols(a) row.
std::vector<float> fbinary_f32(Opcode op, const std::vector<float>& a, MatrixHeader ha,
                               const std::vector<float>& b, MatrixHeader hb);
} // namespace px
