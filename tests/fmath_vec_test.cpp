// Tests of fmath_vec (engine/numeric/fmath_vec.h): gelu_run gives fm::gelu's bits for every
// value, whether its AVX2 path or the scalar definition computes it: a sweep of the whole 32-bit
// space (every sign and exponent, thousands of mantissas each), every float in the ranges where
// gelu's exp leaves its normal path (|x| from 8 to 12: e^-2u past 89 or below -104), the special
// values, random activations, and every array length's tail.
#include "fmath.h"
#include "fmath_vec.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

using namespace px;

namespace {

std::string hex(float v) {
    char s[16];
    std::snprintf(s, sizeof s, "0x%08X", fm::bits(v));
    return s;
}

// gelu_run over `values` equals fm::gelu on each, bit for bit; the first difference is reported.
void check_bits(const std::vector<float>& values) {
    std::vector<float> got = values;
    fm::gelu_run(got.data(), got.size());
    size_t bad = 0;
    for (size_t i = 0; i < values.size(); ++i)
        if (fm::bits(got[i]) != fm::bits(fm::gelu(values[i]))) {
            if (bad == 0)
                FAIL_CHECK("gelu(" << hex(values[i]) << "): gelu_run gives " << hex(got[i]) << ", fm::gelu "
                                   << hex(fm::gelu(values[i])));
            ++bad;
        }
    CHECK(bad == 0);
}

} // namespace

TEST_CASE("gelu_run uses AVX2 exactly where the CPU has it") {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    CHECK(fm::gelu_run_vectorized() == bool(__builtin_cpu_supports("avx2")));
#else
    CHECK_FALSE(fm::gelu_run_vectorized());
#endif
    MESSAGE("gelu_run vectorized: " << fm::gelu_run_vectorized());
}

TEST_CASE("gelu_run equals fm::gelu across the whole 32-bit space") {
    std::vector<float> v;
    v.reserve(1100000);
    for (uint64_t b = 0; b < (uint64_t(1) << 32); b += 4093) // a prime step: every exponent, both signs
        v.push_back(fm::from_bits(uint32_t(b)));
    check_bits(v);
}

TEST_CASE("gelu_run equals fm::gelu where exp saturates, flushes or is near either edge") {
    // |x| in [8, 12]: -2u crosses 89 (x near -9.3) and -104 (x near 10.1); every 3rd float.
    std::vector<float> v;
    for (uint32_t b = 0x41000000u; b < 0x41400000u; b += 3) {
        v.push_back(fm::from_bits(b));
        v.push_back(fm::from_bits(b | 0x80000000u));
    }
    check_bits(v);
}

TEST_CASE("gelu_run equals fm::gelu on special values and random activations, every tail length") {
    std::vector<float> special;
    for (uint32_t b :
         {0x00000000u, 0x80000000u, 0x00000001u, 0x807FFFFFu, 0x00800000u, 0x80800000u, 0x00800001u,
          0x7F800000u, 0xFF800000u, 0x7FC00000u, 0xFFC00000u, 0x7F800001u, 0xFFFFFFFFu, 0x7F7FFFFFu,
          0xFF7FFFFFu, 0x3F800000u, 0xBF800000u, 0x34000000u, 0xB4000000u})
        special.push_back(fm::from_bits(b));
    check_bits(special);
    std::mt19937 rng(20261203);
    std::normal_distribution<float> act(0.0f, 3.0f);
    std::vector<float> v(1 << 20);
    for (float& x : v)
        x = act(rng);
    check_bits(v);
    for (size_t n = 0; n <= 70; ++n) // the scalar tail after packs of 32, and arrays shorter than one
        check_bits(std::vector<float>(v.begin(), v.begin() + long(n)));
}
