// float_ops.h — what the float opcodes (PROTOCOL.md §11, PROTOCOL.md §15) share: the dtype
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
// P1's codes as DTypes: OpDef::operand_types of every opcode with a dtype pixel. A reserved code,
// which check_dtypes refuses, reads as u8 (until check 7 it counts as one pixel per element, like
// every type but f16).
std::array<DType, 3> dtypes_of(const FloatDtypes& d);
Rgba encode_dtypes(const FloatDtypes& d);

std::string_view activation_name(uint8_t activation); // "none", "relu", "gelu", "?"
// P1's channels R, G, B as dtype names when the code is one (reserved A stays a number).
std::string dtype_channel_text(const Instruction& ins, uint32_t k, int c);
// An f32 parameter pixel (a scale) as text: "0.125 (0x3E000000)"; the value shown is the canonical one.
std::string f32_param_text(uint32_t bits);
// The activation of FMATMUL on a canonical value: none: x; relu: NaN stays NaN, x > 0 stays,
// everything else (+0, negatives, -inf) is +0; gelu: fm::gelu.
float activate(float x, uint8_t activation);
// activate() on each of v[0..n), GELU 32 values at a time where the CPU can (fm::gelu_run, the
// same bits): what the optimized executor runs.
void activate_run(float* v, size_t n, uint8_t activation);

// The f32 matrix at `row` (whole pixels, little-endian), each element canonicalized on load
// (PROTOCOL.md §15 F.3 point 1).
std::vector<float> gather_f32(const Image& image, uint32_t row, MatrixHeader h);
// Writes header and elements as whole pixels (the values are canonical results).
void scatter_f32(Image& image, uint32_t row, MatrixHeader h, const std::vector<float>& v);
// The f16 matrix at `row` (two per pixel, F.1), each element converted exactly by from_f16 (F.4).
std::vector<float> gather_f16(const Image& image, uint32_t row, MatrixHeader h);
// Writes header and ceil(n/2) whole pixels: element 2j, 2j+1 rounded by to_f16 into the low and
// high half of pixel j (an odd count leaves the last pixel's high half 0).
void scatter_f16(Image& image, uint32_t row, MatrixHeader h, const std::vector<float>& v);

// Check 7 for a whole-pixel f32 parameter (P<k+1>) that must be a positive normal finite value
// (a scale): "" or a message naming the pixel, what it is, its bits and value.
std::string check_positive_f32(const Instruction& ins, uint32_t k, const char* what, uint32_t bits);
// "0x3D800000 (0.0625)"
std::string f32_text(uint32_t bits);

// FCONVERT and GELU: a in, c out of a's shape, P1 = dtypes only (FUnaryParams).
OpParams decode_unary(const Instruction& ins);
std::string describe_unary(const OpParams& params);
std::array<DType, 3> unary_types(const OpParams& params);

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
// DEQUANT / QUANT (PROTOCOL.md §11.4): fm::dequantize / fm::quantize of every element.
std::vector<float> dequant_f32(const std::vector<uint8_t>& q, uint8_t zero_point, float scale);
// DEQUANT of i32 input (PROTOCOL.md §16.4): c[i] = mul(f32_rne(a[i]), scale), zero point 0.
std::vector<float> dequant_i32_f32(const std::vector<int32_t>& a, float scale);
std::vector<uint8_t> quant_u8(const std::vector<float>& x, float inv_scale, uint8_t zero_point);
// LAYERNORM (PROTOCOL.md §11.6): fm::layernorm_row on each of the `rows` rows of x (rows x n,
// row-major), with gain, bias (empty: +0) of n values and eps (canonical).
std::vector<float> layernorm_f32(const std::vector<float>& x, uint32_t rows, uint32_t n,
                                 const std::vector<float>& gain, const std::vector<float>& bias, float eps);
// FSOFTMAX (PROTOCOL.md §12.1) on canonical values: each row x of the rows x cols matrix becomes
// fm::softmax_row(z), z[i] = mul(x[i], scale) (PROTOCOL.md §15 F.11).
std::vector<float> fsoftmax_f32(const std::vector<float>& x, MatrixHeader h, float scale);
// FATTENTION (PROTOCOL.md §12.2) on canonical values: q is T x D, k and v are L x D (L >= T), D a
// multiple of heads, all row-major. For query row t and head h (columns h*hd .. h*hd+hd-1, hd =
// D / heads), the rows j = 0 .. n-1, n = L - T + t + 1, are visible:
//   s[j] = mul(dot(q[t, head h], k[j, head h]), scale)       (F.5 over hd terms)
//   p    = fm::softmax_row(s)                                  (F.6)
//   out[t][h*hd + d] = dot(p, v[0..n-1][h*hd + d])             (F.5 over the n positions)
struct AttentionShape {
    uint32_t T = 0, L = 0, D = 0, heads = 1;
};
std::vector<float> fattention_f32(const std::vector<float>& q, const std::vector<float>& k,
                                  const std::vector<float>& v, AttentionShape s, float scale);
} // namespace px
