// Tests of fmath_vec (engine/numeric/fmath_vec.h): gelu_run gives fm::gelu's bits for every
// value, whether its AVX-512 or AVX2 path or the scalar definition computes it (every width the
// CPU has is run): a sweep of the whole 32-bit
// space (every sign and exponent, thousands of mantissas each), every float in the ranges where
// gelu's exp leaves its normal path (|x| from 8 to 12: e^-2u past 89 or below -104), the special
// values, random activations, and every array length's tail. dot_rows and dot16_cols give
// fm::dot's bits on random values over every magnitude (products that flush and overflow),
// special values and every length up to 70.
#include "fmath.h"
#include "fmath_vec.h"

#include <doctest/doctest.h>

#include <cmath>
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

// Every vector width this CPU runs (the widest is what gelu_run and softmax_run use by default).
std::vector<fm::PackIsa> widths() {
    std::vector<fm::PackIsa> w{fm::PackIsa::Scalar};
    if (fm::best_pack_isa() >= fm::PackIsa::Avx2) w.push_back(fm::PackIsa::Avx2);
    if (fm::best_pack_isa() >= fm::PackIsa::Avx512) w.push_back(fm::PackIsa::Avx512);
    return w;
}
std::string
width_name(fm::PackIsa isa) { // a std::string: doctest's messages print a const char* as an address
    return isa == fm::PackIsa::Avx512 ? "AVX-512" : isa == fm::PackIsa::Avx2 ? "AVX2" : "scalar";
}

// gelu_run over `values` equals fm::gelu on each, bit for bit, on every width and by default; the
// first difference is reported.
void check_bits(const std::vector<float>& values) {
    for (int w = -1; w < int(widths().size()); ++w) {
        std::vector<float> got = values;
        if (w < 0)
            fm::gelu_run(got.data(), got.size());
        else
            fm::gelu_run(got.data(), got.size(), widths()[size_t(w)]);
        size_t bad = 0;
        for (size_t i = 0; i < values.size(); ++i)
            if (fm::bits(got[i]) != fm::bits(fm::gelu(values[i]))) {
                if (bad == 0)
                    FAIL_CHECK("gelu(" << hex(values[i]) << "): gelu_run ("
                                       << (w < 0 ? "default" : width_name(widths()[size_t(w)])) << ") gives "
                                       << hex(got[i]) << ", fm::gelu " << hex(fm::gelu(values[i])));
                ++bad;
            }
        CHECK(bad == 0);
    }
}

} // namespace

TEST_CASE("gelu_run uses the widest vectors the CPU has: AVX-512F, else AVX2") {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    CHECK(fm::gelu_run_vectorized() == bool(__builtin_cpu_supports("avx2")));
    CHECK((fm::best_pack_isa() == fm::PackIsa::Avx512) == bool(__builtin_cpu_supports("avx512f")));
#else
    CHECK_FALSE(fm::gelu_run_vectorized());
    CHECK(fm::best_pack_isa() == fm::PackIsa::Scalar);
#endif
    MESSAGE("gelu_run vectorized: " << fm::gelu_run_vectorized()
                                    << ", widest: " << width_name(fm::best_pack_isa()));
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

// Packs whose values all have 2^-40 <= |x| <= 8 run without canonicalizing each operation
// (fmath_vec.cpp proves that gives the same bits); here every pack lies inside, ends included. Past
// the ends the canonicalizing packs run: the sweep of [8, 12] above holds packs just past the top
// one (raising it to 12 fails there: near x = -10, 1/(1 + e^-2u) is subnormal, which only the
// canonicalizing definition flushes).
TEST_CASE("gelu_run equals fm::gelu on packs inside its plain range, 2^-40 <= |x| <= 8") {
    std::vector<float> v;
    for (uint32_t b = 0x2B800000u; b <= 0x41000000u; b += 499) { // every exponent, both signs
        v.push_back(fm::from_bits(b));
        v.push_back(fm::from_bits(b | 0x80000000u));
    }
    for (uint32_t end : {0x2B800000u, 0x41000000u, 0xAB800000u, 0xC1000000u})
        v.insert(v.end(), 64, fm::from_bits(end)); // a whole pack of each end
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

namespace {

// Values that reach every branch of F.5's arithmetic: magnitudes from 2^-70 to 2^70 (products
// from below the flush threshold 2^-126 to overflow), cancellation (either sign), and now and
// then +-0, a subnormal, 2^-126 itself, +-inf or a NaN with a payload.
float dot_value(std::mt19937& rng) {
    switch (rng() % 50) {
    case 0: return 0.0f;
    case 1: return -0.0f;
    case 2: return fm::from_bits(1u + rng() % 0x7FFFFFu); // subnormal
    case 3: return fm::from_bits(fm::kMinNormal | (rng() & 0x80000000u));
    case 4: return fm::from_bits(fm::kPosInf | (rng() & 0x80000000u));
    case 5: return fm::from_bits(0x7F800001u + rng() % 0x7FFFFFu); // a NaN, not the canonical one
    default: {
        const float m = 1.0f + float(rng() % 65536) / 65536.0f;
        return std::ldexp(rng() % 2 ? -m : m, int(rng() % 141) - 70);
    }
    }
}

} // namespace

// A value of moderate magnitude (2^-20 to 2^20, either sign): sums of these stay finite and
// nonzero, so every term shows in the result (dot_value's specials and extremes make most long
// sums inf or NaN, on both sides of a comparison).
float moderate_value(std::mt19937& rng) {
    const float m = 1.0f + float(rng() % 65536) / 65536.0f;
    return std::ldexp(rng() % 2 ? -m : m, int(rng() % 41) - 20);
}

TEST_CASE("dot_rows equals fm::dot on every row, for every length up to 70 and special values") {
    std::mt19937 rng(611);
    size_t checked = 0, bad = 0, finite = 0;
    for (size_t n = 0; n <= 70; ++n)
        for (size_t rows : {1, 3, 4, 5, 9}) {
            const size_t ldb = n + rng() % 5;
            std::vector<float> a(n), b(rows * ldb + 1), out(rows, -1.0f);
            const bool moderate = rows % 2 == 1; // 1, 3, 5, 9 rows: moderate values; 4: any
            for (float& v : a)
                v = moderate ? moderate_value(rng) : dot_value(rng);
            for (float& v : b)
                v = moderate ? moderate_value(rng) : dot_value(rng);
            fm::dot_rows(a.data(), b.data(), ldb, rows, n, out.data());
            for (size_t r = 0; r < rows; ++r, ++checked) {
                const float want = fm::dot(a.data(), 1, b.data() + r * ldb, 1, n);
                finite += std::isfinite(want) && want != 0.0f;
                if (fm::bits(out[r]) != fm::bits(want) && bad++ == 0)
                    FAIL_CHECK("n " << n << ", row " << r << " of " << rows << ": dot_rows gives "
                                    << hex(out[r]) << ", fm::dot " << hex(want));
            }
        }
    CHECK(bad == 0);
    CHECK(finite > checked / 3);
    MESSAGE(checked << " dot products checked (" << finite
                    << " finite and nonzero); vectorized: " << fm::dot_runs_vectorized());
}

TEST_CASE("dot16_cols_plain equals fm::dot where the exponents allow, every length up to 70") {
    // Canonical operands (+0, the canonical NaN, infinities, normal values) whose nonzero finite
    // magnitudes are at least 2^-50 each, so min|a| * min|b| >= 2^-100: the condition under which
    // the plain forms promise the definition's bits. Sums that overflow to inf, inf - inf and NaN
    // inputs are among them; exponents go down to the limit, where the products are near 2^-100.
    // Mostly moderate magnitudes, so that most sums are finite and every term counts (with a
    // special in one value in twelve and exponents up to 2^127 throughout, nearly every column
    // summed to inf or NaN on both sides, and a kernel that added a term twice passed).
    std::mt19937 rng(613);
    auto value = [&]() -> float {
        const float m = 1.0f + float(rng() % 65536) / 65536.0f;
        switch (rng() % 256) {
        case 0:
        case 9:
        case 10: return 0.0f;
        case 1: return fm::from_bits(fm::kNaN);
        case 2: return fm::from_bits(fm::kPosInf | (rng() & 0x80000000u));
        case 3:
        case 4:
        case 5:
        case 6: return std::ldexp(rng() % 2 ? -1.0f : 1.0f, -50);            // the smallest allowed
        case 7: return std::ldexp(rng() % 2 ? -m : m, int(rng() % 40) + 88); // products that overflow
        default: return std::ldexp(rng() % 2 ? -m : m, int(rng() % 100) - 50);
        }
    };
    size_t checked = 0, bad = 0, finite = 0;
    for (size_t n = 0; n <= 70; ++n)
        for (int trial = 0; trial < 3; ++trial) {
            const size_t ldb = 16 + rng() % 5; // 16: FATTENTION's transposed key blocks
            std::vector<float> a(n), b(n * ldb + 16), cols(16, -1.0f);
            for (float& v : a)
                v = value();
            for (float& v : b)
                v = value();
            // a (1 x n) by the 16 columns of b read as n x 16 with row stride ldb, on every width.
            for (fm::PackIsa isa : widths()) {
                fm::dot16_cols_plain_on(isa, a.data(), b.data(), ldb, n, cols.data());
                for (size_t j = 0; j < 16; ++j, ++checked) {
                    const float want = fm::dot(a.data(), 1, b.data() + j, ldb, n);
                    finite += std::isfinite(want) && want != 0.0f;
                    if (fm::bits(cols[j]) != fm::bits(want) && bad++ == 0)
                        FAIL_CHECK("K " << n << ", column " << j << ": dot16_cols_plain (" << width_name(isa)
                                        << ") gives " << hex(cols[j]) << ", fm::dot " << hex(want));
                }
            }
        }
    CHECK(bad == 0);
    CHECK(finite > checked / 3); // most sums are numbers, so a wrong term shows
    MESSAGE(checked << " plain dot products checked, " << finite << " finite and nonzero");
}

TEST_CASE("dot16_cols equals fm::dot on each of its 16 columns, for every length up to 70") {
    std::mt19937 rng(612);
    size_t checked = 0, bad = 0, finite = 0;
    for (size_t K = 0; K <= 70; ++K)
        for (int trial = 0; trial < 4; ++trial) {
            const size_t ldb = 16 + rng() % 9;
            std::vector<float> a(K), b(K * ldb + 16), c(16, -1.0f);
            for (float& v : a) // trials 0 and 1: moderate values; 2 and 3: any
                v = trial < 2 ? moderate_value(rng) : dot_value(rng);
            for (float& v : b)
                v = trial < 2 ? moderate_value(rng) : dot_value(rng);
            fm::dot16_cols(a.data(), b.data(), ldb, K, c.data());
            for (size_t j = 0; j < 16; ++j, ++checked) {
                const float want = fm::dot(a.data(), 1, b.data() + j, ldb, K);
                finite += std::isfinite(want) && want != 0.0f;
                if (fm::bits(c[j]) != fm::bits(want) && bad++ == 0)
                    FAIL_CHECK("K " << K << ", column " << j << ": dot16_cols gives " << hex(c[j])
                                    << ", fm::dot " << hex(want));
            }
        }
    CHECK(bad == 0);
    CHECK(finite > checked / 3);
}

TEST_CASE("dot_rows and dot16_cols: sums that flush, cancel and overflow are the definition's") {
    // Each row's terms chosen so that products and partial sums land on the flush threshold
    // (2^-126 and just above), cancel to zero, or overflow to inf and then meet -inf (NaN).
    const float t = std::ldexp(1.0f, -63); // t * t = 2^-126: flushed
    const float big = std::ldexp(1.0f, 100);
    std::vector<std::vector<float>> rows = {
        {t, t, t, t},                           // every product flushed
        {t, -t, 1.0f, -1.0f},                   // cancels
        {big, big, -big, 1.0f},                 // big * big = inf; inf + -inf = NaN
        {std::ldexp(1.0f, -62), t, 3.0f, 0.5f}, // 2^-125: kept
    };
    for (const auto& row : rows) {
        std::vector<float> a(33), b(33);
        for (size_t i = 0; i < a.size(); ++i)
            a[i] = row[i % row.size()], b[i] = row[(i + 1) % row.size()];
        for (size_t n = 1; n <= a.size(); ++n) {
            float got = -1.0f;
            fm::dot_rows(a.data(), b.data(), 0, 1, n, &got);
            CHECK(fm::bits(got) == fm::bits(fm::dot(a.data(), 1, b.data(), 1, n)));
        }
    }
}

TEST_CASE("dot_rows and dot16_cols: partial sums at the flush threshold, at every level of the tree") {
    // Terms k * 2^-127 (k = 3..12, either sign) times +-1: every product is kept, and their sums
    // are multiples of 2^-127, so partial sums at any level of a block's tree and of the running
    // sum land on 2^-127 (subnormal) and 2^-126 (flushed) often. A level that skipped its
    // canonicalization would keep them and change a later sum.
    std::mt19937 rng(613);
    auto near = [&] {
        const float v = std::ldexp(float(3 + rng() % 10), -127);
        return rng() % 2 ? -v : v;
    };
    auto unit = [&] { return rng() % 2 ? -1.0f : 1.0f; };
    size_t bad = 0;
    for (int trial = 0; trial < 3000; ++trial) {
        const size_t n = 1 + rng() % 48;
        std::vector<float> a(n), b(16 * n), rows(16), cols(16);
        for (float& v : a)
            v = near();
        for (float& v : b)
            v = unit();
        fm::dot_rows(a.data(), b.data(), n, 16, n, rows.data()); // b as 16 rows of n
        fm::dot16_cols(a.data(), b.data(), 16, n, cols.data());  // b as n rows of 16
        for (size_t j = 0; j < 16; ++j) {
            const float want_row = fm::dot(a.data(), 1, b.data() + j * n, 1, n);
            const float want_col = fm::dot(a.data(), 1, b.data() + j, 16, n);
            if (fm::bits(rows[j]) != fm::bits(want_row) && bad++ == 0)
                FAIL_CHECK("n " << n << ": dot_rows row " << j << " gives " << hex(rows[j]) << ", fm::dot "
                                << hex(want_row));
            if (fm::bits(cols[j]) != fm::bits(want_col) && bad++ == 0)
                FAIL_CHECK("n " << n << ": dot16_cols column " << j << " gives " << hex(cols[j])
                                << ", fm::dot " << hex(want_col));
        }
    }
    CHECK(bad == 0);
}

TEST_CASE("softmax_run equals fm::softmax_row on every length up to 100, with specials and in place") {
    std::mt19937 rng(614);
    size_t bad = 0;
    for (size_t n = 1; n <= 100; ++n)
        for (int trial = 0; trial < 6; ++trial) {
            std::vector<float> x(n);
            for (float& v : x) // scores: mostly within exp's range, some past it (saturate, flush)
                v = trial < 4 ? float(int(rng() % 4001) - 2000) / (trial == 0 ? 10.0f : 100.0f)
                              : dot_value(rng);
            std::vector<float> want(n);
            fm::softmax_row(x.data(), want.data(), n);
            for (fm::PackIsa isa : widths()) {
                std::vector<float> got(n), in_place = x;
                fm::softmax_run(x.data(), got.data(), n, isa);
                fm::softmax_run(in_place.data(), in_place.data(), n, isa);
                for (size_t i = 0; i < n; ++i)
                    if ((fm::bits(got[i]) != fm::bits(want[i]) ||
                         fm::bits(in_place[i]) != fm::bits(want[i])) &&
                        bad++ == 0)
                        FAIL_CHECK("n " << n << " trial " << trial << ", element " << i << ": softmax_run ("
                                        << width_name(isa) << ") gives " << hex(got[i]) << " (in place "
                                        << hex(in_place[i]) << "), softmax_row " << hex(want[i]));
            }
            std::vector<float> by_default(n);
            fm::softmax_run(x.data(), by_default.data(), n);
            for (size_t i = 0; i < n; ++i)
                if (fm::bits(by_default[i]) != fm::bits(want[i]) && bad++ == 0)
                    FAIL_CHECK("n " << n << " trial " << trial << ", element " << i << ": softmax_run gives "
                                    << hex(by_default[i]) << ", softmax_row " << hex(want[i]));
        }
    CHECK(bad == 0);
}

TEST_CASE("exp_shifted_run equals fm::exp_shifted: every exponent and sign, shifts, every tail, in place") {
    // The shifts: +0 (SAMPLE's weights, where x is already mul(sub(x_i, m), r)) and row maxima.
    std::vector<float> x;
    for (uint64_t b = 0; b < (uint64_t(1) << 32); b += 65521) // a prime step: every exponent, both signs
        x.push_back(fm::from_bits(uint32_t(b)));
    for (float v : {0.0f, -0.0f, 88.7f, -87.3f, -103.9f, -104.0f, 1e-30f})
        x.push_back(v);
    size_t bad = 0;
    for (float m : {0.0f, 3.5f, -2.0f, 88.0f})
        for (size_t n :
             {x.size(), size_t(1), size_t(3), size_t(4), size_t(63), size_t(64), size_t(65), size_t(200)}) {
            std::vector<float> want(n);
            fm::exp_shifted(x.data(), fm::canon(m), want.data(), n);
            for (fm::PackIsa isa : widths()) {
                std::vector<float> got(n), in_place(x.begin(), x.begin() + ptrdiff_t(n));
                fm::exp_shifted_run(x.data(), fm::canon(m), got.data(), n, isa);
                fm::exp_shifted_run(in_place.data(), fm::canon(m), in_place.data(), n, isa);
                for (size_t i = 0; i < n; ++i)
                    if ((fm::bits(got[i]) != fm::bits(want[i]) ||
                         fm::bits(in_place[i]) != fm::bits(want[i])) &&
                        bad++ == 0)
                        FAIL_CHECK("exp_shifted(" << hex(x[i]) << ", " << m << ") on " << width_name(isa)
                                                  << ": " << hex(got[i]) << " (in place " << hex(in_place[i])
                                                  << "), the definition " << hex(want[i]));
            }
        }
    CHECK(bad == 0);
}

TEST_CASE("sum_run equals fm::sum: every length up to 300, specials, terms not canonical, flushing sums") {
    // Lengths across many blocks and every tail; terms over every magnitude (dot_value) and the
    // specials; in trial 2 terms fm::sum canonicalizes (-0, subnormals, NaN payloads); sums that
    // cancel to the flush threshold.
    std::mt19937 rng(1717);
    size_t bad = 0;
    const float tiny = std::ldexp(1.0f, -126);
    for (size_t n = 0; n <= 300; ++n)
        for (int trial = 0; trial < 4; ++trial) {
            std::vector<float> t(n);
            for (size_t i = 0; i < n; ++i) {
                float v = dot_value(rng);
                if (trial == 3) v = (i % 2 ? -1.0f : 1.0f) * (tiny + std::ldexp(float(rng() % 8), -149));
                if (trial == 2 && i % 3 == 0)
                    v = fm::from_bits(i % 2 ? 0x80000000u : i % 5 ? 0x00000101u + uint32_t(i) : 0x7FC00001u);
                t[i] = trial == 2 ? v : fm::canon(v);
            }
            const float want = fm::sum(t.data(), n), got = fm::sum_run(t.data(), n);
            if (fm::bits(got) != fm::bits(want) && bad++ == 0)
                FAIL_CHECK("n " << n << " trial " << trial << ": sum_run gives " << hex(got) << ", fm::sum "
                                << hex(want));
        }
    CHECK(bad == 0);
}

TEST_CASE("max_canon_run and scale_run equal max_canon and scale_by: every length, signs, zeros, specials") {
    // Rows of every sign mix (all negative: the key's reversed order), -0 and subnormals (canon
    // makes them +0), +-inf, NaN payloads, and every length up to 100 across the vector widths.
    std::mt19937 rng(2026);
    size_t bad = 0;
    const uint32_t specials[] = {0x80000000u, 0x00000001u, 0x80400000u, 0xFF800000u,
                                 0x7F800000u, 0x7FC00001u, 0xFFFFFFFFu, 0x00800000u};
    for (size_t n = 0; n <= 100; ++n)
        for (int trial = 0; trial < 6; ++trial) {
            std::vector<float> x(n);
            for (size_t i = 0; i < n; ++i) {
                float v = dot_value(rng);
                if (trial == 1) v = -std::fabs(v);
                if (trial >= 2 && rng() % (trial == 5 ? 2 : 9) == 0)
                    v = fm::from_bits(specials[rng() % (trial - 1)]);
                x[i] = v;
            }
            bool want_nan = false, got_nan = true;
            const float want = fm::max_canon(x.data(), n, &want_nan);
            const float got = fm::max_canon_run(x.data(), n, &got_nan);
            if ((fm::bits(got) != fm::bits(want) || got_nan != want_nan) && bad++ == 0)
                FAIL_CHECK("n " << n << " trial " << trial << ": max_canon_run gives " << hex(got) << " (NaN "
                                << got_nan << "), max_canon " << hex(want) << " (NaN " << want_nan << ")");
            std::vector<float> canonical(n);
            for (size_t i = 0; i < n; ++i)
                canonical[i] = fm::canon(x[i]);
            const float r = fm::canon(dot_value(rng));
            std::vector<float> scaled_want = canonical, scaled_got = canonical;
            fm::scale_by(scaled_want.data(), n, r);
            fm::scale_run(scaled_got.data(), n, r);
            for (size_t i = 0; i < n; ++i)
                if (fm::bits(scaled_got[i]) != fm::bits(scaled_want[i]) && bad++ == 0)
                    FAIL_CHECK("n " << n << " element " << i << ": scale_run(" << hex(canonical[i]) << ", "
                                    << hex(r) << ") gives " << hex(scaled_got[i]) << ", scale_by "
                                    << hex(scaled_want[i]));
        }
    CHECK(bad == 0);
}
