// fmath_vec.h — fmath's elementary functions over arrays, for the optimized CPU executor.
//
// fm::gelu (fmath.cpp) is about 40 float operations, each canonicalized, and costs about 73 ns a
// value as scalar code (measured): 0.2 ms of every generated token of the shipped GPT (4 layers x
// 768 values), a quarter of it. Here the same definition runs 32 values at a time (four
// interleaved vectors of 8) in AVX2 where the CPU has it, at 8.3 ns a value (measured, Zen 3):
// the same IEEE binary32 operations in the same order, each followed by the same
// canonicalization, and the same integer steps on the bits, so every value's bits equal
// fm::gelu's (tests/fmath_vec_test.cpp compares them over a sweep of every exponent and sign, the
// special values and random activations). Elsewhere, and for the last values of an array, the
// scalar definition itself runs. Nothing here defines arithmetic: fmath.cpp does.
#pragma once
#include <cstddef>

namespace px::fm {

// x[i] = gelu(x[i]) for i in [0, n).
void gelu_run(float* x, size_t n);

// True when gelu_run uses the AVX2 path on this CPU (for reports and tests).
bool gelu_run_vectorized();

} // namespace px::fm
