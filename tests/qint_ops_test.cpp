// Tests of the integer transformer arithmetic (PROTOCOL.md §16, engine/vm/ops/qint_ops.h) beyond
// the program vectors (tests/vectors/qint_*.json, from the independent model): the cases no small
// program reaches (the -2^30 clamp of a score gap needs hd > 16513), the exactness of isqrt, and
// random u8 attention blocks (random_qint_program.h) on the fast executor against the reference
// after every step, with 1 and 3 threads.
#include "cpu_fast.h"
#include "ops/qint_ops.h"
#include "random_qint_program.h"
#include "vm.h"

#include <doctest/doctest.h>

#include <cmath>
#include <map>

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
