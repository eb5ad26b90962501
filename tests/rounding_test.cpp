// rounding_test.cpp — the requantization rule of PROTOCOL.md §5.5.1 against the two TFLite
// paths, to back the figures §5.5.6 #2 states.
//
// The protocol's rq(x) is TFLite's TFLITE_SINGLE_ROUNDING MultiplyByQuantizedMultiplier: one
// 64-bit product, one rounding half up. gemmlowp (and TFLite's default path) round twice: a
// saturating rounding doubling high multiply (ties away from zero) and then a rounding divide by
// a power of two (ties away from zero). Both reference functions below are written here from
// their published definitions, independently of engine/quant.cpp. Accumulators run over every
// integer in [-2^16, 2^16]; multipliers are 2^-1, 2^-4 and 2^-8, as quantize_multiplier encodes
// them. The rates are printed (run the test with -s) and checked against the spec's text.
#include "quant.h"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace {

// TFLite's single-rounding path, TFLite multiplier convention: real = M / 2^31 * 2^tfl_shift,
// tfl_shift in [-31, 30]. total_shift = 31 - tfl_shift.
int64_t tflite_single(int32_t x, int32_t m, int tfl_shift) {
    const int total_shift = 31 - tfl_shift;
    const int64_t round = int64_t(1) << (total_shift - 1);
    return (int64_t(x) * m + round) >> total_shift;
}

// gemmlowp SaturatingRoundingDoublingHighMul: round(a*b / 2^31), ties away from zero
// (truncating division after a sign-dependent nudge).
int32_t srdhm(int32_t a, int32_t b) {
    if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
    const int64_t ab = int64_t(a) * b;
    const int64_t nudge = ab >= 0 ? (int64_t(1) << 30) : 1 - (int64_t(1) << 30);
    return int32_t((ab + nudge) / (int64_t(1) << 31));
}

// gemmlowp RoundingDivideByPOT: x / 2^e rounded to nearest, ties away from zero.
int32_t rounding_divide_by_pot(int32_t x, int e) {
    const int32_t mask = int32_t((int64_t(1) << e) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> e) + (remainder > threshold ? 1 : 0);
}

// TFLite's default (double-rounding) MultiplyByQuantizedMultiplier.
int64_t gemmlowp_double(int32_t x, int32_t m, int tfl_shift) {
    const int left = tfl_shift > 0 ? tfl_shift : 0;
    const int right = tfl_shift > 0 ? 0 : -tfl_shift;
    return rounding_divide_by_pot(srdhm(int32_t(int64_t(x) * (int64_t(1) << left)), m), right);
}

// One rounding of the exact product, ties away from zero (std::round of the real quotient, as
// float reference code and some integer kernels do).
int64_t single_away(int32_t x, int32_t m, int total_shift) {
    const int64_t p = int64_t(x) * m;
    const int64_t half = int64_t(1) << (total_shift - 1);
    return p >= 0 ? (p + half) >> total_shift : -((-p + half) >> total_shift);
}

} // namespace

TEST_CASE("rq is TFLite's single-rounding path; against gemmlowp's double rounding it differs by at most one "
          "code") {
    // Exhaustive over the accumulators, so the rates are exact fractions: against the double
    // rounding, 0, 1/16 and 1/256 of all accumulators (rq's tie rule equals SRDHM's, which
    // rounds half up; only RoundingDivideByPOT's second rounding, ties away from zero, differs);
    // against one rounding with ties away from zero, 1/4, 1/32 and 1/512 (the negative ties).
    struct Case {
        double real;
        uint64_t double_rounding_differ; // of the 131073 accumulators
        uint64_t away_differ;
    };
    const Case cases[] = {{0.5, 0, 32768}, {1.0 / 16, 8192, 4096}, {1.0 / 256, 512, 256}};
    for (const Case& c : cases) {
        auto mul = px::quantize_multiplier(c.real);
        REQUIRE(mul);
        const int tfl_shift = 31 - int(mul->shift); // TFLite's exponent for the same M
        REQUIRE(tfl_shift >= -31);
        REQUIRE(tfl_shift <= 30);
        uint64_t total = 0, differ = 0, away = 0;
        int64_t max_diff = 0;
        for (int32_t x = -65536; x <= 65536; ++x) {
            const int64_t ours = px::rounding_mul_shift(x, mul->m, mul->shift);
            REQUIRE(ours == tflite_single(x, mul->m, tfl_shift));
            const int64_t two = gemmlowp_double(x, mul->m, tfl_shift);
            const int64_t d = ours > two ? ours - two : two - ours;
            max_diff = std::max(max_diff, d);
            differ += d != 0;
            const int64_t a = single_away(x, mul->m, mul->shift);
            REQUIRE(std::llabs(ours - a) <= 1);
            away += a != ours;
            ++total;
        }
        std::printf("multiplier %g (M %d, shift %u), %llu accumulators: double rounding differs on %llu "
                    "(%.3f%%, max %lld code), half-away single rounding on %llu (%.3f%%)\n",
                    c.real, mul->m, unsigned(mul->shift), (unsigned long long)total,
                    (unsigned long long)differ, 100.0 * double(differ) / double(total), (long long)max_diff,
                    (unsigned long long)away, 100.0 * double(away) / double(total));
        CHECK(max_diff <= 1);
        CHECK(differ == c.double_rounding_differ);
        CHECK(away == c.away_differ);
    }
}

// PROTOCOL.md §5.5.1's requantization table is normative: every row, read from the spec itself,
// must hold for the reference's rq and clamp.
TEST_CASE("the requantization cases of PROTOCOL.md 5.5.1 hold") {
    std::ifstream in(std::string(PXOS_SOURCE_DIR) + "/PROTOCOL.md");
    REQUIRE(in);
    std::string line;
    bool inside = false;
    int rows = 0;
    while (std::getline(in, line)) {
        if (line.find("<!-- rq-cases begin -->") != std::string::npos) {
            inside = true;
            continue;
        }
        if (line.find("<!-- rq-cases end -->") != std::string::npos) break;
        if (!inside || line.rfind("| ", 0) != 0 || line.find("---") != std::string::npos ||
            line.find("shift") != std::string::npos)
            continue;
        long long x, m, shift, rq, zc, lo, hi, byte;
        REQUIRE_MESSAGE(std::sscanf(line.c_str(), "| %lld | %lld | %lld | %lld | %lld | %lld | %lld | %lld |",
                                    &x, &m, &shift, &rq, &zc, &lo, &hi, &byte) == 8,
                        line);
        CAPTURE(line);
        const int64_t got = px::rounding_mul_shift(int32_t(x), int32_t(m), uint32_t(shift));
        CHECK(got == rq);
        CHECK(int(px::clamp_add(got, uint8_t(zc), uint8_t(lo), uint8_t(hi))) == byte);
        ++rows;
    }
    CHECK(rows >= 15);
}
