// Tests of the text-generation opcodes (PROTOCOL.md §13: LOOP, GATHER, APPEND, ARGMAX, SAMPLE)
// beyond the normative vectors (tests/vectors/gen_*.json, every executor): the fast CPU executor
// against the reference on random generation loops, step by step; the sampling rule's
// distribution and its temperature and top-k limits against direct computations; the
// validator's walk of loops; and .pxasm labels for LOOP targets.
#include "asm.h"
#include "cpu_fast.h"
#include "fmath.h"
#include "ops/gen_ops.h"
#include "random_gen_program.h"
#include "test_util.h"
#include "validate.h"
#include "vectors.h"
#include "vm.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>

using namespace px;
using namespace pxtest;

namespace {
bool has_code(const ValidationReport& r, const std::string& code) {
    return std::any_of(r.diagnostics.begin(), r.diagnostics.end(),
                       [&](const Diagnostic& d) { return d.code == code; });
}

uint32_t bits(float f) {
    return fm::bits(f);
}
} // namespace

TEST_CASE("random generation loops: the fast executor equals the reference after every step") {
    std::mt19937 rng{20261202u};
    int trapped = 0, halted = 0, looped = 0, penalized = 0;
    const auto fast = fast_executor({2, 0});
    for (int i = 0; i < 400; ++i) {
        const GenProgram p = random_gen_program(rng);
        INFO("program #" << i << " (" << p.what << ")");
        VmState ref = make_vm(p.image, p.step_limit), fst = make_vm(p.image, p.step_limit);
        int n = 0;
        while (ref.status == VmStatus::Ready && n < 100000) {
            const StepResult a = step(ref), b = step(fst, nullptr, fast);
            ++n;
            REQUIRE(a.written == b.written);
            REQUIRE(ref.registers() == fst.registers());
            REQUIRE(ref.image.rgba == fst.image.rgba);
            penalized += a.opcode == uint8_t(Opcode::PENALIZE) && a.status != VmStatus::Trapped;
        }
        looped += n > 8;
        trapped += ref.status == VmStatus::Trapped;
        halted += ref.status == VmStatus::Halted;
    }
    MESSAGE("400 programs: " << trapped << " trapped, " << halted << " halted, " << looped << " looped, "
                             << penalized << " PENALIZE steps");
    CHECK(trapped > 20);
    CHECK(penalized > 200);
    CHECK(halted > 100);
    CHECK(looped > 100);
}

TEST_CASE("APPEND reports the header pixel and the rows it appends, no more; every step's changes are inside "
          "what it reports") {
    // Plan::writes is what undo saves, the GL executor reads back and the fast executor's kept
    // attention caches trust (cpu_fast.cpp, CacheCopy): an APPEND that reported its whole cache made
    // every decode step re-read every cache row.
    std::mt19937 rng{20261203u};
    int appends = 0;
    for (int i = 0; i < 300; ++i) {
        const GenProgram p = random_gen_program(rng);
        INFO("program #" << i << " (" << p.what << ")");
        VmState vm = make_vm(p.image, p.step_limit);
        for (int n = 0; vm.status == VmStatus::Ready && n < 100000; ++n) {
            const Image before = vm.image;
            const uint32_t pc = vm.pc;
            UndoRecord undo;
            const StepResult r = step(vm, &undo);
            uint32_t bx = 0, by = 0;
            if (changed_outside(before, vm.image, r.written, bx, by))
                FAIL("pixel (" << bx << "," << by << ") changed outside the written rects at pc " << pc);
            if (r.opcode == uint8_t(Opcode::APPEND) && r.status != VmStatus::Trapped) {
                ++appends;
                // The header pixel of c, then exactly rows(a) x cols pixels past c's old last row.
                const Instruction ins = decode(image_fetch(before), before.width, pc).ins;
                const MatrixHeader ha = decode_header(before.pixel(0, ins.operand[0]));
                const MatrixHeader hc = decode_header(before.pixel(0, ins.operand[2]));
                uint64_t pixels = 0;
                for (const Rect& rect : r.written)
                    pixels += uint64_t(rect.w) * rect.h;
                REQUIRE(r.written.front() == Rect{0, ins.operand[2], 1, 1});
                CHECK(pixels == 1 + ha.elements());
                // None of c's rows before the append is reported.
                const uint64_t kept = hc.elements();
                for (uint64_t e = 0; e < kept; ++e)
                    for (const Rect& rect : r.written)
                        REQUIRE_FALSE(rect.contains(element_x(e, before.width),
                                                    uint32_t(element_y(e, ins.operand[2], before.width))));
            }
            const VmState after = vm;
            undo_step(vm, undo); // undo restores from the reported rects alone
            REQUIRE(vm.image.rgba == before.rgba);
            vm = after;
        }
    }
    MESSAGE(appends << " APPEND steps");
    CHECK(appends > 300);
}

TEST_CASE("argmax: the order of logits, NaN lowest, ties to the lowest index") {
    const uint32_t nan = fm::kNaN, inf = fm::kPosInf, ninf = fm::kNegInf;
    auto am = [](std::vector<uint32_t> x) { return argmax_bits(x.data(), uint32_t(x.size())); };
    CHECK(am({nan, ninf}) == 1);
    CHECK(am({nan, nan}) == 0);
    CHECK(am({bits(-1), 0, bits(-2)}) == 1);
    CHECK(am({bits(3), inf, inf}) == 1);
    CHECK(am({bits(2), bits(2)}) == 0);
    CHECK(am({bits(-3), bits(-2.5f)}) == 1);
    // The key order equals float order on canonical non-NaN values.
    std::mt19937 g{7};
    for (int i = 0; i < 20000; ++i) {
        const uint32_t a = fm::canon_bits(g()), b = fm::canon_bits(g());
        if ((a & 0x7FFFFFFFu) > fm::kPosInf || (b & 0x7FFFFFFFu) > fm::kPosInf) continue;
        CHECK((logit_key(a) < logit_key(b)) == (fm::from_bits(a) < fm::from_bits(b)));
    }
}

TEST_CASE("sample: frequencies follow softmax(x / T) over the top k; T = 0 and k = 1 are the argmax") {
    const std::vector<float> logits = {1.0f, 2.0f, 0.5f, 2.0f, -1.0f};
    std::vector<uint32_t> x;
    for (float f : logits)
        x.push_back(bits(f));
    const uint32_t n = uint32_t(x.size());
    struct Case {
        float t;
        uint32_t k;
    };
    for (const Case c : {Case{1.0f, 0}, Case{0.5f, 0}, Case{2.0f, 3}, Case{1.0f, 2}, Case{1.0f, 99}}) {
        INFO("T=" << c.t << " k=" << c.k);
        // Expected: softmax over the k largest (ties to the lower index), in double.
        std::vector<uint32_t> order(n);
        for (uint32_t i = 0; i < n; ++i)
            order[i] = i;
        std::stable_sort(order.begin(), order.end(),
                         [&](uint32_t a, uint32_t b) { return logits[a] > logits[b]; });
        const uint32_t k = c.k == 0 || c.k > n ? n : c.k;
        std::vector<double> p(n, 0.0);
        double z = 0;
        for (uint32_t j = 0; j < k; ++j)
            z += p[order[j]] = std::exp((logits[order[j]] - 2.0) / c.t);
        std::vector<int> count(n, 0);
        uint32_t state = 12345;
        const int draws = 40000;
        for (int d = 0; d < draws; ++d) {
            state += kPrngStep;
            count[sample_bits(x.data(), n, bits(c.t), c.k, mix32(state))]++;
        }
        for (uint32_t i = 0; i < n; ++i) {
            const double want = p[i] / z, got = double(count[i]) / draws;
            CHECK(std::abs(got - want) < 0.015); // > 5 sigma at 40000 draws
            if (want == 0) CHECK(count[i] == 0);
        }
    }
    for (uint32_t z : {0u, 1u, 0x80000000u, 0xFFFFFFFFu}) {
        CHECK(sample_bits(x.data(), n, 0, 0, z) == 1);          // T = 0: argmax (the first 2.0)
        CHECK(sample_bits(x.data(), n, bits(3.0f), 1, z) == 1); // top-1: argmax
    }
}

TEST_CASE("sample: the top-k set is §13.5's (k largest keys, ties to the lower index) on rows full of ties") {
    // The spec's words, literally: a stable sort of the whole row by key, the first k, and step 6's
    // scan over every index. sample_weights selects the k-th key instead and sums and scans only the
    // set's blocks; its weights, their sum and the token drawn must be these, bit for bit.
    std::mt19937 g{1305};
    const uint32_t pool[] = {bits(1.0f), bits(2.0f), bits(2.0f),  bits(-3.0f),
                             bits(0.5f), fm::kNaN,   fm::kNegInf, 0u};
    // Trials 300 on have vocabularies' lengths and small k: the k-th key's search among the
    // blocks that reach the k-th largest block maximum, and the exponentials in vectors (k = 0).
    for (int trial = 0; trial < 360; ++trial) {
        const bool long_row = trial >= 300;
        const uint32_t n = long_row ? 1000 + g() % 4200 : 1 + g() % 300;
        std::vector<uint32_t> x(n);
        for (uint32_t& v : x) // few distinct values (ties at the cut), or any canonical float
            v = trial % 3 ? pool[g() % 8] : fm::canon_bits(g() & 0xBFFFFFFFu);
        x[g() % n] = bits(4.0f); // a finite largest logit, so the draw is not greedy
        const uint32_t small_k[] = {1, 1, 2, 3, 16, 40, 64, n / 16, n / 16 + 1, 1 + uint32_t(g() % 80)};
        const uint32_t k = trial % 5 == 0 ? 0 : long_row ? small_k[trial % 10] : 1 + g() % (n + 2);
        const float temperature = 0.25f + float(g() % 8) / 4.0f;
        std::vector<uint32_t> order(n);
        for (uint32_t i = 0; i < n; ++i)
            order[i] = i;
        std::stable_sort(order.begin(), order.end(),
                         [&](uint32_t a, uint32_t b) { return logit_key(x[a]) > logit_key(x[b]); });
        const uint32_t kk = k == 0 || k > n ? n : k;
        std::vector<float> want(n, 0.0f);
        const float r = fm::recip(temperature);
        for (uint32_t j = 0; j < kk; ++j)
            if (logit_key(x[order[j]]) != 0)
                want[order[j]] = fm::exp(fm::mul(fm::sub(fm::from_bits(x[order[j]]), 4.0f), r));
        const SampleWeights w = sample_weights(x.data(), n, bits(temperature), k);
        REQUIRE_FALSE(w.greedy);
        INFO("trial " << trial << " n " << n << " k " << k);
        for (uint32_t i = 0; i < n; ++i)
            if (bits(w.e[i]) != bits(want[i]))
                FAIL_CHECK("item " << i << ": weight " << w.e[i] << ", want " << want[i]);
        const float total = fm::sum(want.data(), n);
        CHECK(bits(w.total) == bits(total));
        for (int draw = 0; draw < 8; ++draw) { // step 6, literally: the running sums over every index
            const uint32_t z = g();
            const float t = fm::mul(float(z >> 8) * 0x1p-24f, total);
            uint32_t token = argmax_bits(x.data(), n);
            float c = 0.0f;
            for (uint32_t i = 0; i < n; ++i)
                if (c = fm::add(c, want[i]); t < c) {
                    token = i;
                    break;
                }
            CHECK(sample_bits(x.data(), n, bits(temperature), k, z) == token);
        }
    }
}

TEST_CASE("sample: weights and scratch kept from call to call give what fresh ones give") {
    // The optimized CPU executor keeps one SampleWeights and one SampleScratch: rows of every
    // length (GPT-2's vocabulary, then short ones, then long again), greedy calls in between, sets
    // from top-1 to the whole row. Nothing a call leaves behind may change the next call's result.
    std::mt19937 g{2311};
    SampleWeights kept;
    SampleScratch scratch;
    for (int call = 0; call < 40; ++call) {
        const uint32_t n = call % 4 == 0 ? 50257 : call % 4 == 1 ? 1 + g() % 40 : 300 + g() % 5000;
        std::vector<uint32_t> x(n);
        for (uint32_t& v : x)
            v = call % 3 ? bits(float(int(g() % 2001) - 1000) / 100.0f) : fm::canon_bits(g() & 0xBFFFFFFFu);
        const uint32_t ks[] = {0, 1, 40, n / 2, n + 3};
        const uint32_t k = ks[g() % 5];
        const uint32_t temperature = call % 5 == 0 ? 0u : bits(0.25f + float(g() % 8) / 4.0f);
        const uint32_t z = g();
        INFO("call " << call << " n " << n << " k " << k);
        const uint32_t token = sample_bits(kept, scratch, x.data(), n, temperature, k, z);
        const SampleWeights fresh = sample_weights(x.data(), n, temperature, k);
        CHECK(token == sample_bits(x.data(), n, temperature, k, z));
        CHECK(kept.top == fresh.top);
        CHECK(kept.greedy == fresh.greedy);
        CHECK(kept.members == fresh.members);
        CHECK(bits(kept.total) == bits(fresh.total));
        REQUIRE(kept.e.size() == fresh.e.size());
        for (size_t i = 0; i < fresh.e.size(); ++i)
            if (bits(kept.e[i]) != bits(fresh.e[i])) {
                FAIL_CHECK("weight " << i << ": kept " << kept.e[i] << ", fresh " << fresh.e[i]);
                break;
            }
    }
}

TEST_CASE("the validator walks loops: every iteration's headers, and the bound it cannot read") {
    auto load = [](const char* name) {
        auto v = load_vector(source_path(std::string("tests/vectors/") + name + ".json"));
        REQUIRE(v.ok());
        return v->image;
    };
    // The greedy generation loop: 4 iterations, APPEND grows seq to 4 of 6: accepted.
    Image img = load("gen_markov_argmax");
    CHECK(validate(img).ok());
    // Capacity 3 (P2 of the APPEND at x = 5): the 4th iteration would trap; the walk finds it.
    img.set_pixel(7, 0, {3, 0, 0, 0});
    ValidationReport rep = validate(img);
    CHECK_FALSE(rep.ok());
    CHECK(has_code(rep, "out-of-range"));
    // A counter written by an earlier instruction: the ARGMAX writes tok, and LOOP counts on tok.
    img = load("gen_markov_argmax");
    img.set_pixel(8, 0, {uint8_t(Opcode::LOOP), 2, 0, 0});
    rep = validate(img);
    CHECK(has_code(rep, "loop-bound-unknown"));
    // A loop that outlives the default step limit: a warning, not "no-halt".
    Image spin = make_image(4, 2);
    spin.set_pixel(0, 0, {uint8_t(Opcode::LOOP), 1, 0, 0});
    spin.set_pixel(1, 0, {3, 0, 0, 0});
    spin.set_pixel(0, 1, encode_header({1, 1}));
    spin.set_pixel(1, 1, {0xFF, 0xFF, 0xFF, 0x7F});
    rep = validate(spin);
    CHECK(has_code(rep, "step-limit"));
    CHECK_FALSE(has_code(rep, "no-halt"));
    // A forward LOOP over a trapping pixel: the walk takes the jump, as the run does.
    CHECK(validate(load("gen_loop_forward")).ok());
}

TEST_CASE("asm: labels name LOOP targets, forward and backward, and round-trip") {
    const char* src = R"(.width 16
.height 4
matrix c 1x1 @ row 1 zeros
start:
  LOOP c, [i32, 0, 0, 0], @done
  LOOP c, [i32, 0, 0, 0], @start
done:
  HALT
.rgba 1, 1, 2, 0, 0, 0
)";
    auto a = assemble(src);
    REQUIRE_MESSAGE(a.ok(), (a.ok() ? "" : a.error().message));
    const Image& img = a->image;
    CHECK(img.pixel(2, 0) == Rgba{6, 0, 0, 0}); // first LOOP's target: the HALT at x 6
    CHECK(img.pixel(5, 0) == Rgba{0, 0, 0, 0}); // second LOOP's target: x 0
    const std::string text = disassemble(img);
    CHECK(text.find("L0:") != std::string::npos);
    CHECK(text.find("L6:") != std::string::npos);
    CHECK(text.find("@L6") != std::string::npos);
    auto back = assemble(text);
    REQUIRE_MESSAGE(back.ok(), (back.ok() ? "" : back.error().message) << "\n" << text);
    CHECK(back->image.rgba == img.rgba);
    // It runs: counter 2 -> jump to done at once (1), HALT; 2 steps.
    VmState vm = make_vm(img);
    run(vm);
    CHECK(vm.status == VmStatus::Halted);
    CHECK(vm.steps == 2);
    CHECK(vm.pc == 6);

    auto undefined = assemble(".width 8\nmatrix c 1x1 zeros\nLOOP c, [i32, 0, 0, 0], @nowhere\nHALT\n");
    REQUIRE_FALSE(undefined.ok());
    CHECK(undefined.error().message.find("undefined label 'nowhere'") != std::string::npos);
    auto twice = assemble(".width 8\nx:\nx:\nHALT\n");
    REQUIRE_FALSE(twice.ok());
    CHECK(twice.error().message.find("defined twice") != std::string::npos);
}
