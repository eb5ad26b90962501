// fmath_vec.h — fmath's elementary functions and F.5 dot products over arrays, for the optimized
// CPU executor.
//
// fm::gelu (fmath.cpp) is about 40 float operations, each canonicalized, and costs about 73 ns a
// value as scalar code (measured): 0.2 ms of every generated token of the shipped GPT (4 layers x
// 768 values), a quarter of it. Here the same definition runs 32 values at a time (four
// interleaved vectors of 8) in AVX2 where the CPU has it, at 8.3 ns a value (measured, Zen 3),
// or 64 at a time in AVX-512F (fmath_pack.inc is the code of both widths):
// the same IEEE binary32 operations in the same order, each followed by the same
// canonicalization, and the same integer steps on the bits, so every value's bits equal
// fm::gelu's (tests/fmath_vec_test.cpp compares them over a sweep of every exponent and sign, the
// special values and random activations). Elsewhere, and for the last values of an array, the
// scalar definition itself runs. Nothing here defines arithmetic: fmath.cpp does.
#pragma once
#include <cstddef>

namespace px::fm {

// The vectors gelu_run and softmax_run compute on: AVX-512F (64 values at a time), AVX2 (32) or
// none (the scalar definition). best_pack_isa() is the widest this CPU has, what they use.
enum class PackIsa { Scalar, Avx2, Avx512 };
PackIsa best_pack_isa();

// x[i] = gelu(x[i]) for i in [0, n). With an isa: on that width (at most best_pack_isa()), for
// tests that check every width the CPU has. A pack whose values all have 2^-40 <= |x| <= 8 (a
// layer's activations, nearly always) runs the same operations without canonicalizing each one,
// which fmath_vec.cpp proves gives the same bits there: 3.4x faster (1.77 -> 0.52 us for 384
// values, AVX-512, measured).
void gelu_run(float* x, size_t n);
void gelu_run(float* x, size_t n, PackIsa isa);

// True when gelu_run uses vectors on this CPU (for reports and tests).
bool gelu_run_vectorized();

// y = fm::softmax_row(x) (y may be x), bit for bit, its exponentials 32 or 64 at a time where the
// CPU has AVX2 or AVX-512F.
void softmax_run(const float* x, float* y, size_t n);
void softmax_run(const float* x, float* y, size_t n, PackIsa isa);

// y = fm::exp_shifted(x, m) (y[i] = exp(sub(canon(x[i]), m)); y may be x), bit for bit, on the
// softmax's packs. SAMPLE's weights over a whole vocabulary are exponentials of 4096 and more
// values: the scalar definition took 68 us of 4096 logits (measured), these packs about 4.
void exp_shifted_run(const float* x, float m, float* y, size_t n);
void exp_shifted_run(const float* x, float m, float* y, size_t n, PackIsa isa);

// The softmax's passes (fmath.h's SoftmaxPasses) as loops that vectorize: max_canon and
// scale_by bit for bit. scale_run also scales attention's scores (FATTENTION).
float max_canon_run(const float* x, size_t n, bool* any_nan);
void scale_run(float* y, size_t n, float r);

// fm::sum(t, n) bit for bit: each block's tree in vector lanes (AVX2) as dot_rows does, the
// canonicalization after every operation kept. For the softmax's sum of its exponentials and the
// layer norms' sums (fm::sum took 0.35 us for 200 terms, measured).
float sum_run(const float* t, size_t n);

// F.5 dot products (fm::dot), bit for bit, for attention's scores and weighted sums and FMATMUL's
// canonicalizing kernel: the tree of each block of 16 products in vector lanes (AVX2), the
// canonicalization after every operation as the definition has it.
// out[r] = dot(a, 1, b + r * ldb, 1, n) for r in [0, rows): a against each of rows rows of b (the
// executors score 16 positions at a time with dot16_cols instead; this one-row form is the
// tests' second witness of the tree).
void dot_rows(const float* a, const float* b, size_t ldb, size_t rows, size_t n, float* out);
// c[j] = dot(a, 1, b + j, ldb, K) for j in [0, 16): a (1 x K) by 16 adjacent columns of b.
void dot16_cols(const float* a, const float* b, size_t ldb, size_t K, float* c);
// True when both use AVX2 on this CPU (else they call fm::dot per output, slowly).
bool dot_runs_vectorized();
// The same sums in the same tree with plain IEEE operations, each result canonicalized once at the
// end: equal to dot16_cols bit for bit when a and b hold canonical values and
// min |a| * min |b| >= 2^-100 over their nonzero finite elements (no product or partial sum can
// then be subnormal, the one canonicalization a later operation would see; the argument is
// cpu_fast.cpp's, above its plain FMATMUL kernel). The caller checks the exponents. About half the
// instructions of the canonicalizing form.
void dot16_cols_plain(const float* a, const float* b, size_t ldb, size_t K, float* c);
// With the vectors of `isa` (at most best_pack_isa(); AVX2 for both wider widths, or dot16_cols
// without), for the tests of each width. (An AVX-512F form, the 16 columns in one vector, measured
// no faster in FATTENTION at 34 and 203 positions.)
void dot16_cols_plain_on(PackIsa isa, const float* a, const float* b, size_t ldb, size_t K, float* c);

} // namespace px::fm
