// qint_ops.h — the integer transformer arithmetic of PROTOCOL.md §16 (QLAYERNORM, QATTENTION and
// the i-exp they rest on), in one place so that the reference definitions (ops/qlayernorm.cpp,
// ops/qattention.cpp), the fast CPU executor and the tests compute it from one text. Integers only
// (int64 at most), exact by definition: nothing here depends on a rounding mode or an order. The
// GLSL twins are in shaders/qint_common.glsl; the independent model is
// tests/vectors/make_qint_vectors.py.
#pragma once
#include "float_ops.h" // AttentionShape
#include "opdef.h"

#include <cstdint>
#include <vector>

namespace px::qint {

// QLAYERNORM's row limit: with N <= 8192 every intermediate fits int64 (§16.1).
inline constexpr uint32_t kMaxLayerNormCols = 8192;
// QATTENTION's fixed points (§16.3): F fraction bits of z, P bits of a probability.
inline constexpr int kF = 16, kP = 22;
// i-exp's integer constants for F = 16: round(ln 2 * 2^16), round(1.353 * 2^16),
// round(0.344 / 0.3585 * 2^32) (I-BERT's a = 0.3585, b = 1.353, c = 0.344).
inline constexpr int64_t kLn2 = 45426, kExpB = 88670, kExpC = 4121251743;
// The lower bound of a score minus the row's max before requantizing: delta * Ms < 2^61.
inline constexpr int64_t kMinDelta = -(int64_t(1) << 30);

// floor(n / d) for d > 0, toward -infinity for negative n (C++ division truncates).
inline int64_t floor_div(int64_t n, int64_t d) {
    const int64_t q = n / d;
    return (n % d != 0 && n < 0) ? q - 1 : q;
}
// The exact floor of sqrt(n) (digit by digit, integers only).
uint64_t isqrt(uint64_t n);
// i-exp of z <= 0 (fixed point with kF fraction bits): ~ 2^32 / 0.3585 * exp(z / 2^16).
int64_t iexp(int64_t z);

// One QLAYERNORM row: a (n codes), gain and bias (n each), c (n codes) (§16.1).
void layernorm_row(const uint8_t* a, uint32_t n, const int32_t* gain, const int32_t* bias,
                   const QLayerNormParams& p, uint8_t* c);
// The same row, the same bytes, without a 64-bit division per element (the optimized executor's):
// t_i = floor(x_i / 2D) is the floor of x_i * fl(1 / 2D) in doubles, four elements at a time
// (qint_ops.cpp, layernorm_tail, says why that is exact). `d` is scratch for n deviations.
void layernorm_row_fast(const uint8_t* a, uint32_t n, const int32_t* gain, const int32_t* bias,
                        const QLayerNormParams& p, uint8_t* c, int32_t* d);
// Its second half: the n codes from the deviations d_i (|d_i| < 2^22) and D (0 <= D < 2^22).
void layernorm_tail(const int32_t* d, uint32_t n, int64_t D, const int32_t* gain, const int32_t* bias,
                    const QLayerNormParams& p, uint8_t* c);
// Every row of the rows x n matrix a; gb is b's 2 x n elements (gains then biases).
std::vector<uint8_t> qlayernorm_u8(const std::vector<uint8_t>& a, uint32_t rows, uint32_t n,
                                   const std::vector<int32_t>& gb, const QLayerNormParams& p);

// QATTENTION's softmax and weighted sum for one query row and head, from its n >= 1 scores s
// (int32): the probabilities p_j (§16.3), floor(e_j * 2^P / sum e), written to p.
void softmax_row(const int32_t* s, uint32_t n, const QAttentionParams& prm, int64_t* p);
// The same probabilities, the same integers, four at a time where AVX2 runs (the optimized
// executor's): no 64-bit division per element (qint_ops.cpp says why each step is exact).
void softmax_row_fast(const int32_t* s, uint32_t n, const QAttentionParams& prm, int64_t* p);
// One query row's probabilities for one head (§16.3): the int32 scores of q (hd codes) against
// rows 0 .. n-1 of k (each `stride` codes apart, starting at the head's first column) into
// `score`, then softmax_row into p. Shared by the reference and the debugger's attention maps.
void probabilities_row(const uint8_t* q, const uint8_t* k, size_t stride, uint32_t hd, uint32_t n,
                       const QAttentionParams& prm, int32_t* score, int64_t* p);
// QATTENTION on u8 codes (row-major): q is T x D, k and v are L x D (§16.3).
std::vector<uint8_t> qattention_u8(const std::vector<uint8_t>& q, const std::vector<uint8_t>& k,
                                   const std::vector<uint8_t>& v, AttentionShape s,
                                   const QAttentionParams& prm);

} // namespace px::qint
