// fmath.h — pxOS float arithmetic, exact by definition (PROTOCOL.md §15).
//
// Every float32 result a float opcode may produce is defined here as a fixed sequence of IEEE 754
// binary32 additions, subtractions and multiplications (round to nearest even, never fused),
// each followed by canonicalization, plus exact integer operations on the bits. No division, no
// sqrt, no fma, no libm: those are the operations GPUs and compilers are free to vary. The same
// definitions exist in GLSL (shaders/fmath.glsl) and in an independent NumPy model
// (tests/vectors/make_fmath_vectors.py); the tests check all three agree bit for bit.
//
// This file is compiled with -ffp-contract=off (engine/CMakeLists.txt): a compiler that fused a
// * b + c into an fma would change the bits. Callers must pass and get canonical values (see
// canon()); every function canonicalizes its inputs, so any 32-bit pattern is accepted.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace px::fm {

// ---- Bits ----
inline uint32_t bits(float f) {
    uint32_t b;
    std::memcpy(&b, &f, 4);
    return b;
}
inline float from_bits(uint32_t b) {
    float f;
    std::memcpy(&f, &b, 4);
    return f;
}

inline constexpr uint32_t kNaN = 0x7FC00000u; // the one canonical NaN (positive, quiet, payload 0)
inline constexpr uint32_t kPosInf = 0x7F800000u;
inline constexpr uint32_t kNegInf = 0xFF800000u;
inline constexpr uint32_t kMinNormal = 0x00800000u; // 2^-126: flushed too (see canon_bits)
inline constexpr uint16_t kNaN16 = 0x7E00u;         // canonical float16 NaN

// The canonical form of a float32 bit pattern:
//  * every NaN becomes kNaN (sign and payload dropped);
//  * every value with |v| <= 2^-126 — zeros of either sign, all subnormals, and the smallest normal
//    itself — becomes +0. Flushing 2^-126 as well makes the result independent of whether
//    hardware that flushes subnormal results detects tininess before or after rounding (a result
//    just below 2^-126 rounds up to 2^-126 on one and flushes to 0 on the other; both become +0);
//  * everything else (normal numbers, +-inf) is unchanged.
inline uint32_t canon_bits(uint32_t b) {
    const uint32_t mag = b & 0x7FFFFFFFu;
    if (mag > kPosInf) return kNaN;
    if (mag <= kMinNormal) return 0u;
    return b;
}
inline float canon(float x) {
    return from_bits(canon_bits(bits(x)));
}
// canon_bits written as selects, so that the loops that call it vectorize (the branchy form kept
// FMATMUL's and the softmax's loops scalar). The same function.
__attribute__((always_inline)) inline uint32_t canon_bits_select(uint32_t b) {
    const uint32_t mag = b & 0x7FFFFFFFu;
    const uint32_t v = mag <= kMinNormal ? 0u : b;
    return mag > kPosInf ? kNaN : v;
}
// Float order as unsigned integer order, without branches (so loops over keys vectorize): a
// positive value's bits with the sign bit set, a negative one's all flipped. For non-NaN bits,
// larger key = larger value (-0 just below +0); from_order_key undoes it.
inline uint32_t order_key(uint32_t b) {
    return b ^ (uint32_t(int32_t(b) >> 31) | 0x80000000u);
}
inline uint32_t from_order_key(uint32_t k) {
    return k ^ (uint32_t(int32_t(~k) >> 31) | 0x80000000u);
}
inline bool is_canonical(uint32_t b) {
    return canon_bits(b) == b;
}

// The three arithmetic operations: IEEE 754 binary32, round to nearest even, then canon. Defined
// for canonical operands; results are canonical.
inline float add(float a, float b) {
    return canon(a + b);
}
inline float sub(float a, float b) {
    return canon(a - b);
}
inline float mul(float a, float b) {
    return canon(a * b);
}

// ---- float16 (IEEE 754 binary16), a storage type only: arithmetic is always float32 ----
// Exact: every binary16 value (subnormals included) is a normal float32. NaN -> kNaN, -0 -> +0.
float from_f16(uint16_t h);
// Round to nearest even into binary16, with binary16 subnormals (the conversion is integer
// arithmetic on the bits, so no hardware can vary it); |x| >= 65520 -> inf; results of magnitude
// zero -> +0; NaN -> kNaN16. The input is canonicalized first.
uint16_t to_f16(float x);
// Placement: two float16 per pixel. Element 2i is in R (low byte) and G (high byte) of the pixel,
// element 2i+1 in B and A, i.e. the pixel read as a little-endian uint32 holds element 2i in its
// low half (the GLSL packHalf2x16 order). An odd element count leaves the last B,A zero.
inline uint32_t pack_f16x2(uint16_t even, uint16_t odd) {
    return uint32_t(even) | uint32_t(odd) << 16;
}

// ---- Reductions (PROTOCOL.md §15 "Summation order") ----
inline constexpr size_t kBlock = 16;
// The sum of one block of 16 terms, by the fixed halving tree:
// v[i] = u[i] + u[i+8] (i < 8), then + u[i+4], + u[i+2], + u[i+1].
float block_sum(const float u[kBlock]);
// sum(t) = ((0 + B_0) + B_1) + ... + B_{nb-1}, B_j the block_sum of t[16j .. 16j+15] with missing
// terms +0. n = 0 gives +0. The inputs are canonicalized.
float sum(const float* t, size_t n);
// dot(a, b) = sum of the products t[k] = mul(a[k], b[k]), in the same order. Strides are in
// elements, so a matrix column is dot(row, 1, col, cols, k).
float dot(const float* a, size_t stride_a, const float* b, size_t stride_b, size_t n);

// ---- Elementary functions (each input canonicalized; every op an add/sub/mul above) ----
float exp(float x);   // e^x
float tanh(float x);  // tanh x
float gelu(float x);  // 0.5 x (1 + tanh u), u = sqrt(2/pi) (x + 0.044715 x^3) (GPT-2), as x / (1 + e^-2u)
float recip(float x); // 1 / x
float rsqrt(float x); // 1 / sqrt(x)

// Dekker's exact product without fma: h + l == a * b exactly (h = mul(a, b)), for operands whose
// product and partial products stay in the normal range. Used by recip and rsqrt.
struct TwoProduct {
    float h, l;
};
TwoProduct two_product(float a, float b);

// ---- Row functions ----
// softmax: y[i] = mul(exp(sub(x[i], m)), recip(s)), m = max x, s = sum of the exps. A row holding a
// NaN gives NaN everywhere. y may alias x.
void softmax_row(const float* x, float* y, size_t n);
// softmax_row's passes over the row, each one loop of the definition: the largest of the canon(x[i])
// (and whether any is NaN), the exponentials y[i] = exp(sub(canon(x[i]), m)) (y may alias x),
// their sum (fm::sum), and y[i] = mul(y[i], r). softmax_row_with runs the row with the passes
// given: fmath_vec's softmax_run passes ones that compute the same values in vectors, and the
// row's logic stays this one definition.
float max_canon(const float* x, size_t n, bool* any_nan);
void exp_shifted(const float* x, float m, float* y, size_t n);
void scale_by(float* y, size_t n, float r);
struct SoftmaxPasses {
    float (*max_of)(const float* x, size_t n, bool* any_nan) = max_canon;
    void (*exps)(const float* x, float m, float* y, size_t n) = exp_shifted;
    float (*sum_of)(const float* t, size_t n) = sum;
    void (*scale)(float* y, size_t n, float r) = scale_by;
};
void softmax_row_with(const float* x, float* y, size_t n, const SoftmaxPasses& passes);
// layer norm: mean = mul(sum(x), r), r = recip(n); d[i] = sub(x[i], mean);
// var = mul(dot(d, d), r); s = rsqrt(add(var, eps)); y[i] = add(mul(mul(d[i], s), gain[i]), bias[i]).
// y may alias x. n <= 2^24 (n must be exact as a float).
void layernorm_row(const float* x, const float* gain, const float* bias, float eps, float* y, size_t n);

// ---- uint8 quantization (PROTOCOL.md §15 F.9; PROTOCOL.md §11.4) ----
// scale and inv_scale are positive normal finite values (the opcodes' check 7 ensures it).
// dequantize: mul(float(q - zp), scale); q - zp is an integer in [-255, 255], exact as a float.
inline float dequantize(uint8_t q, uint8_t zp, float scale) {
    return mul(float(int(q) - int(zp)), scale);
}
// quantize: t = mul(canon(x), inv_scale); NaN gives zp; otherwise clamp(rne(t) + zp, 0, 255), rne
// the nearest integer with ties to even. t is first clamped to [-512, 512] (which cannot change
// the result: zp <= 255), then rounded by adding and subtracting 1.5 * 2^23 (both F.3 operations:
// round to nearest even at a spacing of 1), so no conversion instruction's rounding mode matters.
inline uint8_t quantize(float x, float inv_scale, uint8_t zp) {
    const float t = mul(canon(x), inv_scale);
    if ((bits(t) & 0x7FFFFFFFu) > kPosInf) return zp;
    const float c = t < -512.0f ? -512.0f : (t > 512.0f ? 512.0f : t);
    constexpr float kRound = 12582912.0f; // 1.5 * 2^23 = 0x4B400000
    const int r = int(sub(add(c, kRound), kRound)) + int(zp);
    return uint8_t(r < 0 ? 0 : (r > 255 ? 255 : r));
}

} // namespace px::fm
