// Tests of the integer transformer arithmetic (PROTOCOL.md §16, engine/vm/ops/qint_ops.h) beyond
// the program vectors (tests/vectors/qint_*.json, from the independent model): the cases no small
// program reaches (the -2^30 clamp of a score gap needs hd > 16513), the exactness of isqrt, and
// random u8 attention blocks (random_qint_program.h) on the fast executor against the reference
// after every step, with 1 and 3 threads.
#include "cpu_fast.h"
#include "ops/qint_ops.h"
#include "quant.h"
#include "random_qint_program.h"
#include "vm.h"

#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <random>

using namespace px;
using namespace pxtest;

TEST_CASE("isqrt is the exact floor of the square root at every power-of-two edge") {
    for (int k = 0; k < 63; ++k)
        for (int64_t d = -3; d <= 3; ++d) {
            const int64_t n64 = (int64_t(1) << k) + d;
            if (n64 < 0) continue;
            const uint64_t n = uint64_t(n64), r = qint::isqrt(n);
            INFO("n = " << n);
            CHECK(r * r <= n);
            CHECK((r + 1) * (r + 1) > n);
        }
    for (uint64_t r : {1ull, 2ull, 3037000499ull, 536870911ull}) { // squares and their neighbours
        CHECK(qint::isqrt(r * r) == r);
        CHECK(qint::isqrt(r * r - 1) == r - 1);
    }
}

TEST_CASE("layernorm_tail at the exact multiples, where the reciprocal could fall short") {
    // t = floor(x * fl(1 / 2D)) is exact (qint_ops.cpp): where 2D does not divide x by the error's
    // size, and where it does (D = 2^17 u, d = u (2j + 1), quotient j + 1) because fl(1 / 2D) 2D >=
    // 1 - 2^-54 for every such D, checked here first. Then every such u with quotients across the
    // range, powers of two and their neighbours among them (where a short estimate would show),
    // four at a time (the AVX2 lanes) and alone, against §16.1's floor division.
    // Each code is (2 t + 100 - 2 (j + 1) + 1) >> 1: 50 exactly when t = j + 1, 49 or 51 when not.
    QLayerNormParams p;
    p.shift = 1, p.zc = 0, p.clamp_lo = 0, p.clamp_hi = 255;
    uint64_t checked = 0;
    for (int64_t u = 1; u < 32; ++u) {
        const int64_t D = u << 17, m = 2 * D;
        CHECK(std::fma(double(m), 1.0 / double(m), -1.0) >= -std::ldexp(1.0, -54));
        std::vector<int64_t> js;
        for (int64_t j = -(int64_t(1) << 21) / u, step = 1; u * (2 * j + 1) < (int64_t(1) << 22);
             j += step, step = step % 97 + 1)
            js.push_back(j);
        for (int64_t k = 1; k < (int64_t(1) << 22); k *= 2)
            for (int64_t q : {k, k - 1, k + 1, -k, -k - 1, -k + 1})
                js.push_back(q - 1);
        std::vector<int32_t> d, gain, bias;
        for (int64_t j : js) {
            const int64_t dv = u * (2 * j + 1);
            if (dv <= -(int64_t(1) << 22) || dv >= (int64_t(1) << 22)) continue;
            d.push_back(int32_t(dv)), gain.push_back(2), bias.push_back(int32_t(100 - 2 * (j + 1)));
        }
        std::vector<uint8_t> got(d.size());
        qint::layernorm_tail(d.data(), uint32_t(d.size()), D, gain.data(), bias.data(), p, got.data());
        for (size_t i = 0; i < d.size(); ++i) {
            const int64_t t = qint::floor_div(int64_t(d[i]) * 131072 + D, m);
            REQUIRE(t == int64_t(d[i]) / (2 * u) + (d[i] > 0 ? 1 : 0)); // an exact multiple: j + 1
            const int64_t acc = t * gain[i] + bias[i];
            INFO("u " << u << " d " << d[i]);
            REQUIRE(acc == 100);
            REQUIRE(got[i] == 50);
            ++checked;
        }
    }
    CHECK(checked > 100000);
}

TEST_CASE("layernorm_row_fast gives layernorm_row's bytes: every deviation, divisor and shift") {
    // The fast row divides by 2D through a double reciprocal and one integer correction; the
    // reference divides. Rows here reach the corners: all codes equal (D = 0), two extremes
    // (the largest deviations), one outlier, N up to the 8192 limit, E up to INT32_MAX (D up to
    // 2^16 and more), every shift, gains and biases over all of int32.
    std::mt19937 rng(20261204);
    auto below = [&](uint32_t n) { return uint32_t(rng() % n); };
    std::vector<uint8_t> a, want, got;
    std::vector<int32_t> gain, bias;
    std::vector<int32_t> dev;
    uint64_t rows = 0, zero_d = 0;
    for (int trial = 0; trial < 6000; ++trial) {
        const uint32_t n =
            trial % 500 == 0 ? qint::kMaxLayerNormCols : 1 + below(trial % 7 == 0 ? 2000 : 200);
        QLayerNormParams p;
        p.za = uint8_t(rng()), p.zc = uint8_t(rng()), p.shift = uint8_t(1 + below(62));
        p.eps = trial % 3 == 0 ? 0 : trial % 3 == 1 ? int32_t(below(1000)) : int32_t(rng() & 0x7FFFFFFF);
        p.clamp_lo = uint8_t(below(128)), p.clamp_hi = uint8_t(128 + below(128));
        a.resize(n), gain.resize(n), bias.resize(n), want.resize(n), got.resize(n), dev.resize(n);
        const uint32_t kind = trial % 4;
        const uint8_t base = uint8_t(rng());
        for (uint32_t i = 0; i < n; ++i) {
            a[i] = kind == 0   ? base
                   : kind == 1 ? (rng() % 2 ? 255 : 0)
                   : kind == 2 ? (i == 0 ? 255 : base)
                               : uint8_t(rng());
            gain[i] = int32_t(rng());
            bias[i] = int32_t(rng());
        }
        qint::layernorm_row(a.data(), n, gain.data(), bias.data(), p, want.data());
        qint::layernorm_row_fast(a.data(), n, gain.data(), bias.data(), p, got.data(), dev.data());
        INFO("trial " << trial << " n " << n << " za " << int(p.za) << " eps " << p.eps << " shift "
                      << int(p.shift));
        REQUIRE(got == want);
        ++rows, zero_d += kind == 0 && p.eps == 0;
    }
    CHECK(zero_d > 100);
}

TEST_CASE("iexp: the constants of §16.3 and its values at 0 and the range-reduction steps") {
    CHECK(qint::iexp(0) == int64_t(88670) * 88670 + 4121251743);             // B^2 + C
    CHECK(qint::iexp(-45426) == (int64_t(88670) * 88670 + 4121251743) >> 1); // one ln 2 lower: half
    CHECK(qint::iexp(-45426 * 40) == 0);                                     // L < 2^34: k >= 34 gives 0
    CHECK(qint::iexp(-(int64_t(1) << 60)) == 0);                             // k far past 63
    // Within 0.32% of 2^32 / 0.3585 * exp(z / 2^16) for z >= -13.8 (§16.3's accuracy table).
    for (int64_t u = 0; u < 19 * 45426; u += 997) {
        const double want = std::exp(-double(u) / 65536.0),
                     got = double(qint::iexp(-u)) * 0.3585 / 4294967296.0;
        REQUIRE(std::abs(got / want - 1) < 0.0033);
    }
}

// Scores INT32_MAX and INT32_MIN: s_j - m = -(2^32 - 1), clamped to -2^30. With Ms = 2^31 - 1 and
// shift 62, rq(-2^30) = floor((-2^61 + 2^30 + 2^61) / 2^62) = 0, so both e are iexp(0) and each
// p is 2^21 exactly; without the clamp rq would be -2 and the second p smaller.
TEST_CASE("QATTENTION's probabilities: the -2^30 clamp of a score gap") {
    QAttentionParams prm;
    prm.ms = INT32_MAX, prm.shift_s = 62;
    const int32_t s[2] = {INT32_MAX, INT32_MIN};
    int64_t p[2];
    qint::softmax_row(s, 2, prm, p);
    CHECK(p[0] == (int64_t(1) << 21));
    CHECK(p[1] == (int64_t(1) << 21));
    // One row: 2^22 exactly; equal scores: floor(2^22 / n).
    qint::softmax_row(s, 1, prm, p);
    CHECK(p[0] == (int64_t(1) << 22));
    const int32_t eq[3] = {-7, -7, -7};
    int64_t p3[3];
    qint::softmax_row(eq, 3, prm, p3);
    CHECK(p3[2] == (int64_t(1) << 22) / 3);
}

TEST_CASE("softmax_row_fast gives softmax_row's probabilities: every iexp input, gap, multiplier and shift") {
    std::vector<int32_t> s;
    std::vector<int64_t> want, got;
    auto same = [&](const QAttentionParams& prm) {
        const uint32_t n = uint32_t(s.size());
        want.assign(n, -1), got.assign(n, -2);
        qint::softmax_row(s.data(), n, prm, want.data());
        qint::softmax_row_fast(s.data(), n, prm, got.data());
        return want == got;
    };
    // Ms = 2^30 with shift 30 makes z the score gap itself: rows with the max 0 and gaps -u walk u
    // over every value up to 64 ln2 and past it (the fast path caps u there and divides by a
    // multiply), in rows of 4099 (a 4-lane remainder of 3).
    QAttentionParams exact;
    exact.ms = int32_t(1) << 30, exact.shift_s = 30;
    const int64_t cap = 64 * qint::kLn2 + 9;
    uint64_t rows = 0;
    for (int64_t u0 = 0; u0 <= cap; u0 += 4098) {
        s.assign(1, 0);
        for (int64_t u = u0; u < u0 + 4098 && u <= cap; ++u)
            s.push_back(int32_t(-u));
        INFO("gaps from " << u0);
        REQUIRE(same(exact));
        ++rows;
    }
    CHECK(rows > 700);
    // Random rows: lengths 1 to 600 and a few of 16383 (sums up to 2^48), scores over all of int32
    // or bunched (near-equal exponentials, quotients at exact integers), every shift, multipliers
    // over [0, 2^31).
    std::mt19937 rng(20261205);
    for (int trial = 0; trial < 4000; ++trial) {
        const uint32_t n = trial % 400 == 0 ? 16383 : 1 + uint32_t(rng() % 600);
        QAttentionParams prm;
        prm.ms = trial % 5 == 0 ? INT32_MAX : int32_t(rng() & 0x7FFFFFFF);
        prm.shift_s = uint8_t(1 + rng() % 62);
        const int kind = trial % 4;
        const int32_t base = int32_t(rng());
        s.resize(n);
        for (uint32_t j = 0; j < n; ++j)
            s[j] = kind == 0   ? int32_t(rng())
                   : kind == 1 ? base
                   : kind == 2 ? base - int32_t(rng() % 64)
                               : (rng() % 2 ? INT32_MAX : INT32_MIN);
        INFO("trial " << trial << " n " << n << " ms " << prm.ms << " shift " << int(prm.shift_s));
        REQUIRE(same(prm));
    }
}

TEST_CASE("random u8 attention blocks: the fast executor equals the reference after every step") {
    std::mt19937 rng{20261202u};
    std::map<uint8_t, int> executed;
    int trapped = 0;
    constexpr int kPrograms = 300;
    for (int i = 0; i < kPrograms; ++i) {
        const QintProgram p = random_qint_program(rng);
        INFO("program #" << i << " (" << p.what << ")");
        for (unsigned threads : {1u, 3u}) {
            const auto fast = fast_executor({threads, 0});
            VmState ref = make_vm(p.image), fst = make_vm(p.image);
            while (ref.status == VmStatus::Ready) {
                const uint64_t before = ref.steps;
                const StepResult a = step(ref), b = step(fst, nullptr, fast);
                if (threads == 1 && ref.steps > before) ++executed[a.opcode];
                REQUIRE(a.written == b.written);
                REQUIRE(ref.registers() == fst.registers());
                REQUIRE(ref.image.rgba == fst.image.rgba);
            }
            if (threads == 1) trapped += ref.status == VmStatus::Trapped;
        }
    }
    MESSAGE(kPrograms << " programs, " << trapped << " trapped; QLAYERNORM " << executed[48]
                      << ", QATTENTION " << executed[50] << ", QLUT " << executed[49] << ", DEQUANT "
                      << executed[16]);
    CHECK(trapped > kPrograms / 50);
    for (uint8_t op : {48, 49, 50, 16})
        CHECK(executed[op] > kPrograms / 2);
}
