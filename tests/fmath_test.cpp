// Tests of engine/fmath: the float definitions of PROTOCOL.md §15.
//  * Hand-worked values: canonicalization, IEEE special cases, known correctly rounded results,
//    the summation order, the fma-sensitive case.
//  * Every binary16 pattern through from_f16/to_f16, against an independent formula.
//  * The vectors of tests/vectors/fmath/, written by an independent NumPy model of the spec
//    (tests/vectors/make_fmath_vectors.py): every C++ result must match byte for byte.
// Accuracy (max ULP error against the correctly rounded result) is measured by tools/fmath_accuracy,
// not here: it takes minutes.
#include "fmath.h"
#include "test_util.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

using namespace px;
using namespace px::fm;
using nlohmann::json;

namespace {

float F(uint32_t b) {
    return from_bits(b);
}

uint32_t hex(const json& j) {
    return uint32_t(std::stoul(j.get<std::string>(), nullptr, 16));
}

std::vector<float> floats(const json& list) {
    std::vector<float> v;
    for (const json& j : list)
        v.push_back(F(hex(j)));
    return v;
}

json load(const std::string& name) {
    std::ifstream in(pxtest::source_path("tests/vectors/fmath/" + name + ".json"));
    REQUIRE_MESSAGE(in.good(), name);
    return json::parse(in);
}

} // namespace

TEST_CASE("canonicalization: one NaN, one zero, subnormals and 2^-126 flushed") {
    CHECK(canon_bits(0x80000000u) == 0u);
    CHECK(canon_bits(0x00000001u) == 0u);
    CHECK(canon_bits(0x807FFFFFu) == 0u);
    CHECK(canon_bits(0x00800000u) == 0u); // the smallest normal is flushed too
    CHECK(canon_bits(0x80800000u) == 0u);
    CHECK(canon_bits(0x00800001u) == 0x00800001u);
    CHECK(canon_bits(0xFFC00001u) == kNaN);
    CHECK(canon_bits(0x7F800001u) == kNaN); // signalling NaN
    CHECK(canon_bits(kNegInf) == kNegInf);
    CHECK(canon_bits(0xFF7FFFFFu) == 0xFF7FFFFFu);
    // Results are canonical: -1 * 0 is +0; a subnormal difference flushes; inf - inf is the NaN.
    CHECK(bits(mul(-1.0f, 0.0f)) == 0u);
    CHECK(bits(sub(F(0x00800003u), F(0x00800001u))) == 0u);
    CHECK(bits(sub(F(kPosInf), F(kPosInf))) == kNaN);
    CHECK(bits(mul(F(0x7F7FFFFFu), 2.0f)) == kPosInf);      // overflow
    CHECK(bits(mul(F(0x20000000u), F(0x1F800000u))) == 0u); // 2^-63 * 2^-64 = 2^-127: flushed
}

TEST_CASE("float16: every pattern converts exactly and back, with canonical NaN and zero") {
    for (uint32_t h = 0; h < 65536; ++h) {
        const float x = from_f16(uint16_t(h));
        const uint32_t e = (h >> 10) & 0x1F, m = h & 0x3FF;
        const double sign = (h & 0x8000) ? -1.0 : 1.0;
        // Independent value: the binary16 definition, in double.
        if (e == 31) {
            CHECK(bits(x) == (m ? kNaN : (h & 0x8000 ? kNegInf : kPosInf)));
            CHECK(to_f16(x) == (m ? kNaN16 : h));
            continue;
        }
        const double v =
            e == 0 ? sign * std::ldexp(double(m), -24) : sign * std::ldexp(double(1024 + m), int(e) - 25);
        INFO("h = " << h);
        if (v == 0) {
            CHECK(bits(x) == 0u); // -0 -> +0
            CHECK(to_f16(x) == 0);
        } else {
            CHECK(double(x) == v);
            CHECK(to_f16(x) == h);
        }
    }
    // Rounding: 65504 is the largest; 65520 is the tie with 65536 and rounds (to even) to inf.
    CHECK(to_f16(65504.f) == 0x7BFF);
    CHECK(to_f16(65519.996f) == 0x7BFF);
    CHECK(to_f16(65520.f) == 0x7C00);
    CHECK(to_f16(-1e10f) == 0xFC00);
    CHECK(to_f16(F(0x33000000u)) == 0);       // 2^-25: tie between 0 and 2^-24, even is 0
    CHECK(to_f16(F(0x33000001u)) == 1);       // just above: 2^-24
    CHECK(to_f16(F(0x33C00000u)) == 2);       // 1.5 * 2^-24: tie, rounds to even 2
    CHECK(to_f16(F(0x387FE000u)) == 0x0400);  // rounds up from the subnormals into the normals
    CHECK(to_f16(1.0f + 0x1p-11f) == 0x3C00); // tie below: even (1.0)
    CHECK(to_f16(1.0f + 0x1p-11f + 0x1p-20f) == 0x3C01);
    CHECK(to_f16(F(0xFFC00001u)) == kNaN16);
    CHECK(to_f16(F(0x80000001u)) == 0);
    CHECK(pack_f16x2(0x3C00, 0xC000) == 0xC0003C00u); // element 2i in R,G; 2i+1 in B,A
}

TEST_CASE("sum and dot: the fixed block tree, not left to right, and no fma") {
    // Left to right gives 1 (1e8 + 1 rounds back to 1e8); the tree pairs u[i] with u[i+8]:
    // [2e8, 2, -2e8, 2, ...] -> [4e8, 4, -4e8, 4] -> [0, 8] -> 8.
    std::vector<float> t;
    for (int i = 0; i < 4; ++i)
        t.insert(t.end(), {1e8f, 1.f, -1e8f, 1.f});
    CHECK(sum(t.data(), t.size()) == 8.0f);
    // Across blocks the block sums are added in order: block 0 = 1e8, block 1 = 1, block 2 = -1e8.
    std::vector<float> b(48, 0.f);
    b[0] = 1e8f, b[16] = 1.f, b[32] = -1e8f;
    CHECK(sum(b.data(), b.size()) == 0.0f); // (1e8 + 1) - 1e8 = 0 in float32
    b[16] = 4.f;
    CHECK(sum(b.data(), b.size()) == 0.0f); // ties to even: 1e8 + 4 = 1e8 (ulp 8)
    b[16] = 5.f;
    CHECK(sum(b.data(), b.size()) == 8.0f);
    CHECK(sum(nullptr, 0) == 0.0f);
    // (1 + 2^-12)^2 - (1 + 2^-11) = 2^-24 exactly; a fused multiply-add would give that, the
    // definition (round the product, then add) gives 0.
    const float a2[2] = {1.0f + 0x1p-12f, 1.0f + 0x1p-11f}, b2[2] = {1.0f + 0x1p-12f, -1.0f};
    CHECK(bits(dot(a2, 1, b2, 1, 2)) == 0u);
    // A NaN anywhere, inf - inf, overflow.
    std::vector<float> s(40, 1.f);
    s[30] = F(0xFFC00001u);
    CHECK(bits(sum(s.data(), s.size())) == kNaN);
    std::vector<float> o(20, 3e38f);
    CHECK(bits(sum(o.data(), o.size())) == kPosInf);
    // Strided operands (a matrix column).
    const float m[6] = {1, 100, 2, 100, 3, 100};
    const float v[3] = {4, 5, 6};
    CHECK(dot(v, 1, m, 2, 3) == 32.0f);
}

TEST_CASE("functions: special values and correctly rounded known results") {
    CHECK(bits(fm::exp(0.f)) == 0x3F800000u);
    CHECK(bits(fm::exp(1.f)) == 0x402DF854u); // e
    CHECK(bits(fm::exp(F(kPosInf))) == kPosInf);
    CHECK(bits(fm::exp(F(kNegInf))) == 0u);
    CHECK(bits(fm::exp(89.f)) == kPosInf);
    CHECK(bits(fm::exp(-104.f)) == 0u);
    CHECK(bits(fm::exp(F(0x7FC12345u))) == kNaN);
    CHECK(bits(fm::exp(F(0x80000001u))) == 0x3F800000u); // a subnormal input is 0
    CHECK(bits(fm::recip(3.f)) == 0x3EAAAAABu);
    CHECK(fm::recip(-4.f) == -0.25f);
    CHECK(bits(fm::recip(-0.f)) == kPosInf);
    CHECK(bits(fm::recip(F(kNegInf))) == 0u);
    CHECK(bits(fm::recip(F(0x7F000000u))) == 0u); // 1/2^127 = 2^-127: flushed
    CHECK(bits(fm::recip(F(0x7E800000u))) == 0u); // 1/2^126 = 2^-126: flushed as well
    CHECK(fm::recip(F(0x7E000000u)) == 0x1p-125f);
    CHECK(bits(fm::rsqrt(4.f)) == 0x3F000000u);
    CHECK(bits(fm::rsqrt(2.f)) == 0x3F3504F3u); // 1/sqrt 2 correctly rounded
    CHECK(bits(fm::rsqrt(-1.f)) == kNaN);
    CHECK(bits(fm::rsqrt(0.f)) == kPosInf);
    CHECK(bits(fm::rsqrt(F(kPosInf))) == 0u);
    CHECK(fm::tanh(10.f) == 1.f);
    CHECK(fm::tanh(-30.f) == -1.f);
    CHECK(bits(fm::tanh(F(kNegInf))) == 0xBF800000u);
    CHECK(fm::tanh(0x1p-20f) == 0x1p-20f);
    CHECK(bits(fm::gelu(F(kNegInf))) == 0u);
    CHECK(bits(fm::gelu(F(kPosInf))) == kPosInf);
    CHECK(fm::gelu(0.f) == 0.f);
    CHECK(fm::gelu(100.f) == 100.f);
    CHECK(bits(fm::gelu(-100.f)) == 0u);
    // Dekker's product is exact.
    const TwoProduct p = two_product(1.0f + 0x1p-12f, 1.0f + 0x1p-12f);
    CHECK(p.h == 1.0f + 0x1p-11f);
    CHECK(p.l == 0x1p-24f);
}

TEST_CASE("softmax and layer norm rows: definitions on small rows worked by hand") {
    const float x[3] = {1.f, 1.f, 1.f};
    float y[3];
    softmax_row(x, y, 3);
    CHECK(y[0] == fm::recip(3.f)); // fm::exp(0) = 1, sum 3, 1 * fm::recip(3)
    CHECK(y[1] == y[0]);
    const float n[2] = {1.f, F(0xFFC00001u)};
    softmax_row(n, y, 2);
    CHECK((bits(y[0]) == kNaN && bits(y[1]) == kNaN));
    // layer norm of (1, 3): mean 2, d = (-1, 1), var 1, fm::rsqrt(1 + 0) = 1, y = d * g + b.
    const float v[2] = {1.f, 3.f}, g[2] = {2.f, 3.f}, b[2] = {0.5f, -0.5f};
    layernorm_row(v, g, b, 0.f, y, 2);
    CHECK(y[0] == -1.5f);
    CHECK(y[1] == 2.5f);
}

TEST_CASE("vectors from the NumPy model: unary functions and float16 match byte for byte") {
    struct U {
        const char* file;
        float (*fn)(float);
    };
    for (const U& u : {U{"fmath_canon", fm::canon}, U{"fmath_exp", fm::exp}, U{"fmath_tanh", fm::tanh},
                       U{"fmath_gelu", fm::gelu}, U{"fmath_recip", fm::recip}, U{"fmath_rsqrt", fm::rsqrt}}) {
        const json j = load(u.file);
        size_t bad = 0, n = 0;
        for (const json& c : j.at("cases")) {
            const uint32_t x = hex(c[0]), want = hex(c[1]), got = bits(u.fn(F(x)));
            if (got != want && ++bad <= 3) {
                char msg[160];
                std::snprintf(msg, sizeof msg, "%s(0x%08X): model 0x%08X, C++ 0x%08X", u.file, x, want, got);
                FAIL_CHECK(msg);
            }
            ++n;
        }
        CHECK_MESSAGE(bad == 0, std::string(u.file));
        CHECK(n > 1000);
    }
    size_t bad = 0;
    const json j1 = load("fmath_to_f16");
    for (const json& c : j1.at("cases"))
        bad += to_f16(F(hex(c[0]))) != hex(c[1]);
    const json j2 = load("fmath_from_f16");
    for (const json& c : j2.at("cases"))
        bad += bits(from_f16(uint16_t(hex(c[0])))) != hex(c[1]);
    CHECK(bad == 0);
}

TEST_CASE("vectors from the NumPy model: arithmetic, reductions, softmax, layer norm") {
    size_t bad = 0;
    const json j3 = load("fmath_arith");
    for (const json& c : j3.at("cases")) {
        const float a = canon(F(hex(c[0]))), b = canon(F(hex(c[1])));
        bad += bits(add(a, b)) != hex(c[2]);
        bad += bits(sub(a, b)) != hex(c[3]);
        bad += bits(mul(a, b)) != hex(c[4]);
    }
    CHECK(bad == 0);
    size_t rows = 0;
    const json j4 = load("fmath_reduce");
    for (const json& r : j4.at("rows")) {
        const auto a = floats(r.at("a")), b = floats(r.at("b"));
        INFO("row of " << a.size());
        CHECK(bits(dot(a.data(), 1, b.data(), 1, a.size())) == hex(r.at("dot")));
        CHECK(bits(sum(a.data(), a.size())) == hex(r.at("sum_a")));
        ++rows;
    }
    CHECK(rows >= 15);
    const json j5 = load("fmath_softmax");
    for (const json& r : j5.at("rows")) {
        const auto x = floats(r.at("x")), want = floats(r.at("y"));
        std::vector<float> y(x.size());
        softmax_row(x.data(), y.data(), x.size());
        for (size_t i = 0; i < y.size(); ++i)
            CHECK(bits(y[i]) == bits(want[i]));
    }
    const json j6 = load("fmath_layernorm");
    for (const json& r : j6.at("rows")) {
        const auto x = floats(r.at("x")), g = floats(r.at("gain")), b = floats(r.at("bias")),
                   want = floats(r.at("y"));
        std::vector<float> y(x.size());
        layernorm_row(x.data(), g.data(), b.data(), F(hex(r.at("eps"))), y.data(), x.size());
        for (size_t i = 0; i < y.size(); ++i)
            CHECK(bits(y[i]) == bits(want[i]));
    }
}
