// Tests of the optimized CPU executor: byte-identical to execute_reference on thousands of random
// MATMUL shapes (odd sizes, block and padding edges, narrow images that wrap matrices over many
// rows, outputs overlapping an input), for every thread count, on random QMATMUL, QMATMUL32 and
// QADD instructions (zero points, biases, accumulators that wrap), and through step()/run() on
// programs that use every opcode.
#include "cpu_fast.h"
#include "fmath.h"
#include "quant.h"
#include "random_float_program.h"
#include "test_util.h"
#include "vm.h"

#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <random>

using namespace px;
using namespace pxtest;

namespace {

struct Case {
    Image image;
    Plan plan;
};

// A random image (all four channels random, so untouched channels are checked too) holding
// A (MxK) and B (KxN) and a MATMUL whose output goes to a fresh row, or onto a or b.
Case make_case(std::mt19937& rng, uint32_t M, uint32_t K, uint32_t N, uint32_t width, int overlap,
               int value_max) {
    const MatrixHeader ha{K, M}, hb{N, K}, hc{N, M};
    // Enough room for C wherever it goes: reserve the larger of C and the operand it overlaps.
    Allocation al = allocate_rows({ha, hb, hc, hc}, width);
    Image img = make_image(width, al.height);
    for (uint8_t& byte : img.rgba)
        byte = uint8_t(rng());
    std::uniform_int_distribution<int> val(0, value_max);
    std::vector<uint8_t> a(ha.elements()), b(hb.elements());
    for (auto& v : a)
        v = uint8_t(val(rng));
    for (auto& v : b)
        v = uint8_t(val(rng));
    uint32_t row_a = al.rows[0], row_b = al.rows[1], row_c = al.rows[2];
    if (overlap == 1 && hc.elements() <= ha.elements()) row_c = row_a;
    if (overlap == 2 && hc.elements() <= hb.elements()) row_c = row_b;
    if (overlap == 3) row_b = row_a + uint32_t(rng() % 2); // B shares rows with A (and may be A)
    if (overlap == 3 && row_b == row_a && !(ha == hb)) row_b = al.rows[1];
    REQUIRE(write_matrix(img, row_a, ha, a).ok());
    if (row_b != row_a) REQUIRE(write_matrix(img, row_b, hb, b).ok());
    // The instruction itself is built through plan_instruction, so the plan is the real one.
    const bool wide = row_a > 255 || row_b > 255 || row_c > 255;
    uint32_t x = 0;
    if (wide)
        img.set_pixel(x++, 0, {kWidePrefix, uint8_t(row_a >> 8), uint8_t(row_b >> 8), uint8_t(row_c >> 8)});
    img.set_pixel(x, 0, {uint8_t(Opcode::MATMUL), uint8_t(row_a), uint8_t(row_b), uint8_t(row_c)});
    auto planned = plan_instruction(image_fetch(img), img.width, img.height, 0);
    REQUIRE(std::holds_alternative<Plan>(planned));
    return {std::move(img), std::get<Plan>(planned)};
}

void check_same(const Case& c, const char* what, const FastSettings& settings = {}) {
    Image ref = c.image, fast = c.image;
    execute_reference(ref, c.plan);
    fast_executor(settings)(fast, c.plan);
    const auto& s = c.plan.shape;
    INFO(what << ": " << s[0].rows << "x" << s[0].cols << " @ " << s[1].rows << "x" << s[1].cols
              << " in width " << c.image.width << ", rows a/b/c " << c.plan.ins.operand[0] << "/"
              << c.plan.ins.operand[1] << "/" << c.plan.ins.operand[2] << ", threads " << settings.threads);
    REQUIRE(fast.rgba == ref.rgba);
}

} // namespace

TEST_CASE("MATMUL: execute_fast equals execute_reference on random shapes") {
    std::mt19937 rng(12345);
    auto dim = [&](uint32_t hi) {
        // Mostly small and odd; sometimes exactly on or next to a block or padding edge.
        static const uint32_t edges[] = {1, 2, 3, 4, 5, 15, 16, 17, 31, 32, 33, 63, 64, 65};
        if (rng() % 3 == 0) return edges[rng() % std::size(edges)];
        return 1 + uint32_t(rng() % hi);
    };
    int cases = 0;
    for (int i = 0; i < 3000; ++i) {
        const uint32_t M = dim(40), K = dim(200), N = dim(200);
        const uint32_t width = rng() % 4 == 0 ? 2 + uint32_t(rng() % 16) : 2 + uint32_t(rng() % 700);
        const int overlap = int(rng() % 4);
        const int value_max = rng() % 2 ? 255 : 3; // 3: sums stay below the clamp, every bit shows
        // Alternate single- and multi-threaded runs; force threading even on small shapes.
        const FastSettings settings{1 + unsigned(i % 4), 0};
        Case c = make_case(rng, M, K, N, width, overlap, value_max);
        check_same(c, "random", settings);
        ++cases;
    }
    CHECK(cases == 3000);
}

TEST_CASE("MATMUL: the result does not depend on the thread count") {
    std::mt19937 rng(777);
    const uint32_t shapes[][3] = {{1, 128, 128},  {1, 128, 1024}, {3, 300, 517},  {5, 129, 97},
                                  {64, 256, 256}, {37, 511, 333}, {128, 1024, 65}};
    for (const auto& sh : shapes) {
        Case c = make_case(rng, sh[0], sh[1], sh[2], 1024, 0, 255);
        Image ref = c.image;
        execute_reference(ref, c.plan);
        for (unsigned t = 1; t <= 8; ++t) {
            Image fast = c.image;
            fast_executor({t, 0})(fast, c.plan);
            INFO(sh[0] << "x" << sh[1] << " @ " << sh[1] << "x" << sh[2] << " on " << t << " threads");
            REQUIRE(fast.rgba == ref.rgba);
        }
    }
}

TEST_CASE("MATMUL: long inner dimensions sum in uint32 past 2^31 exactly") {
    const FastSettings settings{2, 0};
    std::mt19937 rng(99);
    // K = 40000 crosses the int32 partial-sum chunk; all 255 gives sums of 2.6e9 (above 2^31),
    // and small values give sums that must come out below the clamp exactly.
    for (int value_max : {255, 0}) {
        for (uint32_t M : {1u, 8u}) {
            Case c = make_case(rng, M, 40000, 3, 4096, 0, value_max);
            if (value_max == 0) { // one 1 per row of A against a ramp in B: exact small sums
                for (uint32_t m = 0; m < M; ++m) {
                    const uint64_t i = uint64_t(m) * 40000 + 39999 - m;
                    c.image.at(element_x(i, 4096), uint32_t(element_y(i, c.plan.ins.operand[0], 4096)))[0] =
                        1;
                }
                for (uint64_t i = 0; i < 40000ull * 3; ++i)
                    c.image.at(element_x(i, 4096), uint32_t(element_y(i, c.plan.ins.operand[1], 4096)))[0] =
                        uint8_t(i % 200);
            }
            check_same(c, "long K", settings);
        }
    }
}

TEST_CASE("MATMUL: shapes wider than a block, in images narrower than a row of the matrix") {
    std::mt19937 rng(4242);
    for (uint32_t width : {2u, 3u, 7u, 33u, 4096u}) {
        for (unsigned t : {1u, 3u}) {
            Case c = make_case(rng, 9, 70, 45, width, 0, 255);
            check_same(c, "narrow", {t, 0});
        }
    }
}

TEST_CASE("execute_fast runs whole programs like the reference, every opcode") {
    std::mt19937 rng(5);
    for (int trial = 0; trial < 50; ++trial) {
        const uint32_t width = 16 + uint32_t(rng() % 200);
        const MatrixHeader x{24, 5}, w{13, 24}, bias{13, 1}, y{13, 5};
        Allocation al = allocate_rows({x, w, bias, y, y}, width);
        Image img = make_image(width, al.height + 1);
        for (uint8_t& byte : img.rgba)
            byte = uint8_t(rng());
        auto fill = [&](uint32_t row, MatrixHeader h) {
            std::vector<uint8_t> v(h.elements());
            for (auto& e : v)
                e = uint8_t(rng() % 8);
            REQUIRE(write_matrix(img, row, h, v).ok());
        };
        fill(al.rows[0], x);
        fill(al.rows[1], w);
        fill(al.rows[2], bias);
        uint32_t pc = 0;
        auto ins = [&](Opcode op, uint32_t a, uint32_t b, uint32_t c) {
            img.set_pixel(pc++, 0, {uint8_t(op), uint8_t(a), uint8_t(b), uint8_t(c)});
        };
        const uint32_t rx = al.rows[0], rw = al.rows[1], rb = al.rows[2], ry = al.rows[3], rz = al.rows[4];
        ins(Opcode::MATMUL, rx, rw, ry);
        ins(Opcode::ADD, ry, rb, ry);
        ins(Opcode::RELU, ry, 0, 0);
        ins(Opcode::DOT, ry, ry, al.height);
        ins(Opcode::MATMUL, rx, rw, rx); // in place over its own input
        ins(Opcode::MATMUL, ry, ry, rz); // 5x13 @ 5x13: traps SHAPE_MISMATCH in both
        ins(Opcode::HALT, 0, 0, 0);
        VmState ref = make_vm(img), fast = make_vm(img);
        run(ref);
        RunOptions opt;
        opt.execute = fast_executor({2, 0});
        run(fast, opt);
        REQUIRE(ref.status == VmStatus::Trapped);
        CHECK(fast.status == ref.status);
        CHECK(fast.pc == ref.pc);
        CHECK(fast.steps == ref.steps);
        CHECK(fast.trap.code == ref.trap.code);
        CHECK(fast.trap.message == ref.trap.message);
        REQUIRE(fast.image.rgba == ref.image.rgba);
    }
}

TEST_CASE("thread settings: counts follow the size threshold") {
    CHECK(fast_threads_for({4, 1000}, 10) == 1);
    CHECK(fast_threads_for({4, 1000}, 2500) == 2);
    CHECK(fast_threads_for({4, 1000}, 1000000) == 4);
    CHECK(fast_threads_for({3, 0}, 1) == 3);
}

namespace {

// A random quantized instruction (QMATMUL, QMATMUL32 or QADD) with random valid parameters over
// random operands; the bias, when there is one, is random whole pixels (the image is random).
Case make_quant_case(std::mt19937& rng, Opcode op, uint32_t M, uint32_t K, uint32_t N, uint32_t width,
                     bool extreme = false) {
    const bool add = op == Opcode::QADD;
    const MatrixHeader ha = add ? MatrixHeader{N, M} : MatrixHeader{K, M};
    const MatrixHeader hb = add ? (rng() % 2 ? MatrixHeader{N, 1} : MatrixHeader{N, M}) : MatrixHeader{N, K};
    const MatrixHeader hc{N, M}, hbias{N, 1};
    Allocation al = allocate_rows({ha, hb, hc, hbias}, width);
    Image img = make_image(width, al.height);
    for (uint8_t& byte : img.rgba)
        byte = uint8_t(rng());
    auto fill = [&](uint32_t row, MatrixHeader h) {
        std::vector<uint8_t> v(h.elements());
        for (auto& e : v)
            e = extreme ? 255 : uint8_t(rng());
        REQUIRE(write_matrix(img, row, h, v).ok());
    };
    fill(al.rows[0], ha);
    fill(al.rows[1], hb);
    const bool with_bias = !extreme && rng() % 2 == 0;
    if (with_bias) img.set_pixel(0, al.rows[3], encode_header(hbias));
    uint32_t row_c = al.rows[2];
    if (rng() % 4 == 0 && hc.elements() <= ha.elements()) row_c = al.rows[0]; // in place over a
    const uint8_t lo = uint8_t(rng()), hi = uint8_t(lo + rng() % (256 - lo));
    std::vector<Rgba> params;
    auto zp = [&] { return extreme ? uint8_t(0) : uint8_t(rng()); };
    const uint8_t shift = uint8_t(1 + rng() % 40);
    const int32_t mult = int32_t(rng() & 0x7FFFFFFF);
    const uint16_t bias_row = with_bias ? uint16_t(al.rows[3]) : 0;
    if (op == Opcode::QMATMUL)
        params = encode_params(QMatmulParams{zp(), zp(), zp(), shift, mult, bias_row, lo, hi});
    if (op == Opcode::QMATMUL32) params = encode_params(QMatmul32Params{zp(), zp(), bias_row});
    if (op == Opcode::QADD)
        params = encode_params(QAddParams{zp(), zp(), zp(), shift, int32_t(rng() & 0x7FFFFFFF),
                                          int32_t(rng() & 0x7FFFFFFF), lo, hi});
    const uint32_t ra = al.rows[0], rb = al.rows[1];
    uint32_t x = 0;
    if (ra > 255 || rb > 255 || row_c > 255)
        img.set_pixel(x++, 0, {kWidePrefix, uint8_t(ra >> 8), uint8_t(rb >> 8), uint8_t(row_c >> 8)});
    img.set_pixel(x++, 0, {uint8_t(op), uint8_t(ra), uint8_t(rb), uint8_t(row_c)});
    for (const Rgba& p : params)
        img.set_pixel(x++, 0, p);
    auto planned = plan_instruction(image_fetch(img), img.width, img.height, 0);
    if (auto* trap = std::get_if<Trap>(&planned)) FAIL(describe_trap(*trap));
    return {std::move(img), std::get<Plan>(planned)};
}

} // namespace

TEST_CASE("QMATMUL, QMATMUL32, QADD: execute_fast equals execute_reference on random instructions") {
    std::mt19937 rng(2024);
    const Opcode ops[] = {Opcode::QMATMUL, Opcode::QMATMUL32, Opcode::QADD};
    for (int i = 0; i < 1500; ++i) {
        const FastSettings settings{1 + unsigned(i % 3), 0};
        const Opcode op = ops[i % 3];
        const uint32_t M = 1 + uint32_t(rng() % 20), K = 1 + uint32_t(rng() % 150),
                       N = 1 + uint32_t(rng() % 150);
        const uint32_t width = 8 + uint32_t(rng() % 500);
        Case c = make_quant_case(rng, op, M, K, N, width);
        check_same(c, "quantized", settings);
    }
}

TEST_CASE("QMATMUL32: accumulators that wrap modulo 2^32 wrap the same way") {
    const FastSettings settings{2, 0};
    std::mt19937 rng(31337);
    // K = 40000 terms of 255 * 255 with zero points 0: 2.6e9, past 2^31, so the int32 result
    // wraps negative; the reference defines that as modulo 2^32 and both executors must agree.
    for (Opcode op : {Opcode::QMATMUL32, Opcode::QMATMUL}) {
        for (uint32_t M : {1u, 7u}) {
            Case c = make_quant_case(rng, op, M, 40000, 2, 4096, true);
            check_same(c, "wrapping", settings);
            if (op == Opcode::QMATMUL32) { // the wrap really happened: negative int32 in the output
                Image ref = c.image;
                execute_reference(ref, c.plan);
                const uint32_t rc = c.plan.ins.operand[2];
                CHECK(rgba_to_i32(ref.pixel(1, rc)) < 0);
            }
        }
    }
}

TEST_CASE("float opcodes: execute_fast equals execute_reference on random float programs, 1 and 3 threads") {
    std::mt19937 rng(20261202);
    int halted = 0;
    std::map<uint8_t, int> executed; // the generator must really run each float opcode
    constexpr int kPrograms = 1000;  // issue 13: at least 1000 random float programs per CI run
    for (int trial = 0; trial < kPrograms; ++trial) {
        const FloatProgram p = random_float_program(rng);
        INFO("float program #" << trial << " (" << p.what << ")");
        VmState ref = make_vm(p.image);
        while (ref.status == VmStatus::Ready) {
            const uint64_t before = ref.steps;
            const StepResult r = step(ref);
            if (ref.steps > before) ++executed[r.opcode];
        }
        halted += ref.status == VmStatus::Halted;
        for (unsigned threads : {1u, 3u}) {
            VmState fast = make_vm(p.image);
            RunOptions opt;
            opt.execute = fast_executor({threads, 0}); // 0: every thread, whatever the size
            run(fast, opt);
            CHECK(fast.registers() == ref.registers());
            REQUIRE(fast.image.rgba == ref.image.rgba);
        }
    }
    CHECK(halted > kPrograms * 2 / 5);
    std::string counts;
    for (const auto& [op, n] : executed)
        counts += " " + std::string(opcode_info(op)->name) + " " + std::to_string(n);
    MESSAGE("executed:" << counts);
    for (Opcode op :
         {Opcode::FMATMUL, Opcode::FADD, Opcode::FMUL, Opcode::DEQUANT, Opcode::QUANT, Opcode::FCONVERT,
          Opcode::LAYERNORM, Opcode::GELU, Opcode::FSOFTMAX, Opcode::FATTENTION})
        CHECK_MESSAGE(executed[uint8_t(op)] > kPrograms / 40,
                      opcode_info(uint8_t(op))->name << " ran " << executed[uint8_t(op)]);
}

// The packed-weight cache (PackedWeight in cpu_fast.cpp) is reused only while B's bytes are the
// bytes it was packed from. These run one executor across steps whose weights change in every
// way a run can change them, and compare every step with the reference.
TEST_CASE("packed weights: reused while unchanged, repacked after any write, always exact") {
    FastStats stats;
    FastSettings settings{2, 0};
    settings.stats = &stats;
    const PlanExecutor fast = fast_executor(settings);

    SUBCASE("the same step again reuses the packed weight") {
        std::mt19937 rng(31);
        Case c = make_case(rng, 20, 70, 40, 256, 0, 1);
        Image ref = c.image;
        execute_reference(ref, c.plan);
        for (int i = 0; i < 3; ++i) {
            Image img = c.image;
            fast(img, c.plan);
            REQUIRE(img.rgba == ref.rgba);
        }
        CHECK(stats.weights_packed == 1);
        CHECK(stats.weights_reused == 2);
    }
    SUBCASE("a write into B between steps (one byte, anywhere) repacks and stays exact") {
        std::mt19937 rng(32);
        Case c = make_case(rng, 9, 33, 50, 128, 0, 2); // small values: sums below 255, so any error shows
        Image img = c.image;
        const uint32_t row_b = c.plan.ins.operand[1];
        const uint64_t elements = uint64_t(c.plan.shape[1].rows) * c.plan.shape[1].cols;
        for (int edit = 0; edit < 20; ++edit) {
            if (edit > 0) { // a debugger-style edit of one weight's R channel
                const uint64_t i = rng() % elements;
                const uint32_t x = 1 + uint32_t(i % (img.width - 1)),
                               y = row_b + uint32_t(i / (img.width - 1));
                Rgba p = img.pixel(x, y);
                p[0] = uint8_t((p[0] + 1 + rng() % 2) % 3);
                img.set_pixel(x, y, p);
            }
            Image ref = img, got = img;
            execute_reference(ref, c.plan);
            fast(got, c.plan);
            INFO("edit " << edit);
            REQUIRE(got.rgba == ref.rgba);
        }
        CHECK(stats.weights_packed == 20);
        CHECK(stats.weights_reused == 0);
    }
    SUBCASE("random cases through one executor: same rows and shapes, other contents") {
        std::mt19937 rng(33);
        for (int trial = 0; trial < 60; ++trial) {
            const uint32_t M = 5 + rng() % 3, K = 16 + rng() % 3, N = 16 + rng() % 3;
            Case c = make_case(rng, M, K, N, 64, int(rng() % 4), 3);
            Image ref = c.image, got = c.image;
            execute_reference(ref, c.plan);
            fast(got, c.plan);
            REQUIRE(got.rgba == ref.rgba);
        }
        CHECK(stats.weights_packed > 0);
    }
}

TEST_CASE("packed weights: a program that rewrites its own weights between products stays exact") {
    // y = x @ w; w = d @ w (the weights overwritten in place by a product); y2 = x @ w; and the
    // loop run twice through the same executor, so the second run starts from the first's cache.
    std::mt19937 rng(34);
    for (int trial = 0; trial < 10; ++trial) {
        const uint32_t width = 32 + uint32_t(rng() % 64);
        const MatrixHeader x{24, 6}, w{20, 24}, d{24, 24}, y{20, 6};
        Allocation al = allocate_rows({x, w, d, y, y}, width);
        Image img = make_image(width, al.height);
        auto fill = [&](uint32_t row, MatrixHeader h, int hi) { // sparse: 1 in 4 nonzero
            std::vector<uint8_t> v(h.elements());
            for (auto& e : v)
                e = rng() % 4 == 0 ? uint8_t(1 + rng() % (hi - 1)) : 0;
            REQUIRE(write_matrix(img, row, h, v).ok());
        };
        fill(al.rows[0], x, 4); // small sparse values: few sums reach 255, so a stale weight shows
        fill(al.rows[1], w, 4);
        fill(al.rows[2], d, 3);
        uint32_t pc = 0;
        auto ins = [&](Opcode op, uint32_t a, uint32_t b, uint32_t c) {
            img.set_pixel(pc++, 0, {uint8_t(op), uint8_t(a), uint8_t(b), uint8_t(c)});
        };
        const uint32_t rx = al.rows[0], rw = al.rows[1], rd = al.rows[2], ry = al.rows[3], ry2 = al.rows[4];
        ins(Opcode::MATMUL, rx, rw, ry);
        ins(Opcode::MATMUL, rd, rw, rw);
        ins(Opcode::MATMUL, rx, rw, ry2);
        ins(Opcode::HALT, 0, 0, 0);
        FastStats stats;
        FastSettings settings{2, 0};
        settings.stats = &stats;
        RunOptions opt;
        opt.execute = fast_executor(settings);
        for (int again = 0; again < 2; ++again) {
            VmState ref = make_vm(img), got = make_vm(img);
            run(ref);
            run(got, opt);
            REQUIRE(ref.status == VmStatus::Halted);
            REQUIRE(got.status == ref.status);
            REQUIRE(got.image.rgba == ref.image.rgba);
        }
        // Run 1 packs w, then w' (rewritten); run 2 starts from the original w again.
        CHECK(stats.weights_packed >= 4);
    }
}

// FMATMUL runs without per-operation canonicalization only when min|a| * min|b| >= 2^-100
// (cpu_fast.cpp): products and partial sums can then never be flushed. These put the operands'
// smallest magnitudes on both sides of that bound and far below it (products and sums that are
// subnormal, exactly 2^-126, or cancel to tiny values), with signs mixed so sums cancel, and
// check both kernels run and give the reference's bits.
TEST_CASE(
    "FMATMUL: the plain kernel and the canonicalizing one agree with the reference at the flush bound") {
    std::mt19937 rng(2026);
    FastStats stats;
    FastSettings settings{2, 0};
    settings.stats = &stats;
    const PlanExecutor fast = fast_executor(settings);
    for (int trial = 0; trial < 120; ++trial) {
        const uint32_t M = 1 + rng() % 9, K = 1 + rng() % 40, N = 1 + rng() % 37, width = 64;
        const MatrixHeader ha{K, M}, hb{N, K}, hc{N, M};
        Allocation al = allocate_rows({ha, hb, hc}, width);
        Image img = make_image(width, al.height);
        // Smallest exponents: their sum straddles -100 (plain allowed iff >= -100) or sits near -126.
        const int ea = -50 + int(rng() % 8) - 4, eb = (trial % 3 == 2 ? -76 : -50) + int(rng() % 8) - 4;
        auto fill = [&](uint32_t row, const MatrixHeader& h, int e_min) {
            for (uint64_t i = 0; i < h.elements(); ++i) {
                float f = 0;
                if (rng() % 6 != 0) {                                        // some zeros
                    const float mant = 1.0f + float(rng() % 1024) / 1024.0f; // few bits: sums cancel
                    f = std::ldexp(mant, e_min + int(rng() % 4)) * (rng() % 2 ? -1.0f : 1.0f);
                }
                if (i == 0) f = std::ldexp(1.0f, e_min); // the minimum itself is present
                uint32_t bits;
                std::memcpy(&bits, &f, 4);
                img.set_pixel(element_x(i, width), uint32_t(element_y(i, row, width)), word_pixel(bits));
            }
            img.set_pixel(0, row, encode_header(h));
        };
        fill(al.rows[0], ha, ea);
        fill(al.rows[1], hb, eb);
        img.set_pixel(
            0, 0, {uint8_t(Opcode::FMATMUL), uint8_t(al.rows[0]), uint8_t(al.rows[1]), uint8_t(al.rows[2])});
        FMatmulParams p;
        p.bias_row = 0;
        const std::vector<Rgba> params = encode_params(p);
        for (size_t k = 0; k < params.size(); ++k)
            img.set_pixel(1 + uint32_t(k), 0, params[k]);
        VmState ref = make_vm(img), got = make_vm(img);
        step(ref);
        REQUIRE(ref.status != VmStatus::Trapped);
        step(got, nullptr, fast);
        INFO("trial " << trial << " M,K,N " << M << "," << K << "," << N << " exponents " << ea << " " << eb);
        REQUIRE(got.image.rgba == ref.image.rgba);
    }
    CHECK(stats.fmatmul_plain + stats.fmatmul_canon == 120);
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (__builtin_cpu_supports("avx512f")) CHECK(stats.fmatmul_plain > 0); // the kernel is there
#endif
    CHECK(stats.fmatmul_canon > 0);
}

namespace {

// An FMATMUL a @ b -> c at pixel 0 of row 0 (parameters after it); returns the next pc.
uint32_t put_fmatmul(Image& img, uint32_t pc, uint32_t ra, uint32_t rb, uint32_t rc) {
    img.set_pixel(pc, 0, {uint8_t(Opcode::FMATMUL), uint8_t(ra), uint8_t(rb), uint8_t(rc)});
    FMatmulParams p;
    const std::vector<Rgba> params = encode_params(p);
    for (size_t k = 0; k < params.size(); ++k)
        img.set_pixel(pc + 1 + uint32_t(k), 0, params[k]);
    return pc + 1 + uint32_t(params.size());
}

void put_f32(Image& img, uint32_t row, const MatrixHeader& h, uint64_t i, uint32_t bits) {
    img.set_pixel(element_x(i, img.width), uint32_t(element_y(i, row, img.width)), word_pixel(bits));
}

uint32_t f32_bits(float f) {
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    return bits;
}

} // namespace

// FMATMUL's b is kept packed between steps (PackedFloatWeight in cpu_fast.cpp) and used only while
// b's canonical words are the ones it was packed from. One executor per trial runs the same step
// again and again while single words of b change (to other values, to -0, a subnormal or another
// NaN, which canonicalize to words it may already hold, and to tiny values that rule out the plain
// kernel); every step is compared with the reference and the reuse counted exactly.
TEST_CASE("FMATMUL: packed b reused while its words are unchanged, refreshed after any write, exact") {
    std::mt19937 rng(4242);
    for (int trial = 0; trial < 40; ++trial) {
        const uint32_t M = trial % 3 == 0 ? 1 : 1 + rng() % 6, K = 1 + rng() % 50, N = 1 + rng() % 40;
        const uint32_t width = 16 + rng() % 50; // narrow: rows of b wrap over image rows
        const MatrixHeader ha{K, M}, hb{N, K}, hc{N, M};
        Allocation al = allocate_rows({ha, hb, hc}, width);
        Image img = make_image(width, al.height);
        auto value = [&] {
            return rng() % 5 == 0
                       ? 0u
                       : f32_bits(std::ldexp(1.0f + float(rng() % 256) / 256.0f, int(rng() % 20) - 10) *
                                  (rng() % 2 ? -1.0f : 1.0f));
        };
        for (uint64_t i = 0; i < ha.elements(); ++i)
            put_f32(img, al.rows[0], ha, i, value());
        for (uint64_t i = 0; i < hb.elements(); ++i)
            put_f32(img, al.rows[1], hb, i, value());
        img.set_pixel(0, al.rows[0], encode_header(ha));
        img.set_pixel(0, al.rows[1], encode_header(hb));
        put_fmatmul(img, 0, al.rows[0], al.rows[1], al.rows[2]);

        FastStats stats;
        FastSettings settings{2, 0};
        settings.stats = &stats;
        const PlanExecutor fast = fast_executor(settings);
        uint64_t packed = 0, reused = 0;
        std::vector<uint32_t> canon_b; // what the executor's copy should hold
        for (uint64_t i = 0; i < hb.elements(); ++i) {
            const Rgba p = img.pixel(element_x(i, width), uint32_t(element_y(i, al.rows[1], width)));
            canon_b.push_back(fm::canon_bits(uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 |
                                             uint32_t(p[3]) << 24));
        }
        for (int edit = 0; edit < 12; ++edit) {
            bool changed = edit == 0;
            if (edit > 0) {
                const uint64_t i = rng() % hb.elements();
                const uint32_t choices[] = {value(),
                                            0x80000000u,
                                            0x00000001u,
                                            0x807FFFFFu,
                                            0x7FC00001u,
                                            0xFF800001u,
                                            f32_bits(std::ldexp(1.0f, -120)),
                                            canon_b[i]};
                const uint32_t w = choices[rng() % std::size(choices)];
                put_f32(img, al.rows[1], hb, i, w);
                changed = fm::canon_bits(w) != canon_b[i];
                canon_b[i] = fm::canon_bits(w);
            }
            (changed ? packed : reused) += 1;
            VmState ref = make_vm(img), got = make_vm(img);
            step(ref);
            REQUIRE(ref.status != VmStatus::Trapped);
            step(got, nullptr, fast);
            INFO("trial " << trial << " edit " << edit << " M,K,N " << M << "," << K << "," << N);
            REQUIRE(got.image.rgba == ref.image.rgba);
            CHECK(stats.fweights_packed == packed);
            CHECK(stats.fweights_reused == reused);
        }
    }
}

TEST_CASE("FMATMUL: a program that rewrites its own b between products stays exact") {
    // y = x @ w; w = d @ w (w overwritten in place by a product whose b is w); y2 = x @ w; run
    // twice through one executor, so the second run starts from the first's packed copies.
    std::mt19937 rng(4343);
    for (int trial = 0; trial < 10; ++trial) {
        const uint32_t width = 24 + uint32_t(rng() % 64), M = 1 + trial % 3, K = 20, N = 1 + rng() % 30;
        const MatrixHeader x{K, M}, w{N, K}, d{K, K}, y{N, M};
        Allocation al = allocate_rows({x, w, d, y, y}, width);
        Image img = make_image(width, al.height);
        for (int m = 0; m < 3; ++m) {
            const MatrixHeader h = m == 0 ? x : m == 1 ? w : d;
            for (uint64_t i = 0; i < h.elements(); ++i)
                put_f32(img, al.rows[m], h, i, f32_bits(float(int(rng() % 7) - 3) / 4.0f));
            img.set_pixel(0, al.rows[m], encode_header(h));
        }
        const uint32_t rx = al.rows[0], rw = al.rows[1], rd = al.rows[2];
        uint32_t pc = put_fmatmul(img, 0, rx, rw, al.rows[3]);
        pc = put_fmatmul(img, pc, rd, rw, rw);
        pc = put_fmatmul(img, pc, rx, rw, al.rows[4]);
        img.set_pixel(pc, 0, {uint8_t(Opcode::HALT), 0, 0, 0});
        FastStats stats;
        FastSettings settings{2, 0};
        settings.stats = &stats;
        RunOptions opt;
        opt.execute = fast_executor(settings);
        for (int again = 0; again < 2; ++again) {
            VmState ref = make_vm(img), got = make_vm(img);
            run(ref);
            run(got, opt);
            REQUIRE(ref.status == VmStatus::Halted);
            REQUIRE(got.status == ref.status);
            REQUIRE(got.image.rgba == ref.image.rgba);
        }
        // Each run: w packed (first run: new; second: w again after w'), reused by d @ w, then w'
        // packed. (w' == w only if d @ w == w, which these random values never give.)
        CHECK(stats.fweights_packed == 4);
        CHECK(stats.fweights_reused == 2);
    }
}

namespace {

// One output of a @ b in the F.5 order (blocks of 16, the halving tree, block sums in order), with
// each product rounded on its own, or fused into the tree's first addition (what an fma kernel
// would compute). Both operands are finite here; no canonicalization is needed to compare them.
float f5_dot(const std::vector<float>& a, const std::vector<float>& b, uint32_t m, uint32_t n, uint32_t K,
             uint32_t N, bool fused) {
    float acc = 0.0f;
    for (uint32_t k0 = 0; k0 < K; k0 += 16) {
        float u[16], x[16], y[16];
        for (uint32_t i = 0; i < 16; ++i) {
            const bool in = k0 + i < K;
            x[i] = in ? a[size_t(m) * K + k0 + i] : 0.0f;
            y[i] = in ? b[size_t(k0 + i) * N + n] : 0.0f;
            u[i] = x[i] * y[i];
        }
        for (uint32_t i = 0; i < 8; ++i)
            u[i] = fused ? std::fma(x[i], y[i], u[i + 8]) : u[i] + u[i + 8];
        for (uint32_t h = 4; h >= 1; h /= 2)
            for (uint32_t i = 0; i < h; ++i)
                u[i] = u[i] + u[i + h];
        acc = acc + u[0];
    }
    return acc;
}

} // namespace

// The plain kernels (cpu_fast.cpp) run a row of a times a strip of 16 columns of b, k in chunks of
// 256, rows in blocks of 64, the last block's missing terms from a zero-padded copy of a. These
// cross each of those edges (K < 16, K = 17, 255 to 257 and past 512; N off multiples of 8 and 16;
// M past 64), with and without a bias and with each activation, on 1 and 3 threads, with values
// whose products keep full 24-bit significands, so that fusing a multiply into an add would give
// other bits (counted below, on the same values), plus the odd infinity, NaN, -0 and zero.
TEST_CASE("FMATMUL: the plain kernel across its tile and block edges, with bias and activations, exact") {
    std::mt19937 rng(1717);
    const uint32_t Ks[] = {1, 2, 7, 15, 16, 17, 31, 33, 255, 256, 257, 272, 513};
    const uint32_t Ms[] = {1, 2, 3, 5, 63, 64, 65, 70};
    const uint32_t Ns[] = {1, 7, 8, 9, 15, 16, 17, 33, 40};
    std::normal_distribution<float> normal(0.0f, 1.0f);
    FastStats stats;
    constexpr int kTrials = 52;
    int fused_differs = 0;
    for (int trial = 0; trial < kTrials; ++trial) {
        const uint32_t K = Ks[trial % std::size(Ks)], M = Ms[rng() % std::size(Ms)],
                       N = Ns[rng() % std::size(Ns)];
        const bool special = trial % 4 == 3; // infinities, NaNs, -0 and zeros among the values
        const uint64_t elements = uint64_t(M) * K + uint64_t(K) * N + uint64_t(M) * N + N;
        const uint32_t width = std::max<uint32_t>(48 + uint32_t(rng() % 40), uint32_t(elements / 200) + 2);
        const MatrixHeader ha{K, M}, hb{N, K}, hc{N, M}, hbias{N, 1}; // rows must stay below 256
        Allocation al = allocate_rows({ha, hb, hc, hbias}, width);
        Image img = make_image(width, al.height);
        auto fill = [&](uint32_t row, const MatrixHeader& h) {
            std::vector<float> v(h.elements());
            for (uint64_t i = 0; i < v.size(); ++i) {
                v[i] = normal(rng);
                if (special && rng() % 40 == 0) {
                    const float s[] = {INFINITY, -INFINITY, NAN, -0.0f, 0.0f};
                    v[i] = s[rng() % std::size(s)];
                }
                put_f32(img, row, h, i, f32_bits(v[i]));
            }
            img.set_pixel(0, row, encode_header(h));
            return v;
        };
        const std::vector<float> a = fill(al.rows[0], ha), b = fill(al.rows[1], hb);
        fill(al.rows[3], hbias);
        FMatmulParams p;
        p.bias_row = trial % 2 ? uint16_t(al.rows[3]) : 0;
        p.activation = uint8_t((trial / 2) % 3); // none, relu, gelu
        img.set_pixel(
            0, 0, {uint8_t(Opcode::FMATMUL), uint8_t(al.rows[0]), uint8_t(al.rows[1]), uint8_t(al.rows[2])});
        const std::vector<Rgba> params = encode_params(p);
        for (size_t k = 0; k < params.size(); ++k)
            img.set_pixel(1 + uint32_t(k), 0, params[k]);
        if (!special)
            for (uint32_t m = 0; m < M; ++m)
                for (uint32_t n = 0; n < N; ++n)
                    fused_differs += f5_dot(a, b, m, n, K, N, true) != f5_dot(a, b, m, n, K, N, false);

        VmState ref = make_vm(img);
        step(ref);
        REQUIRE(ref.status != VmStatus::Trapped);
        for (unsigned threads : {1u, 3u}) {
            FastSettings settings{threads, 0};
            settings.stats = &stats;
            VmState got = make_vm(img);
            step(got, nullptr, fast_executor(settings));
            INFO("trial " << trial << " M,K,N " << M << "," << K << "," << N << " bias " << p.bias_row
                          << " activation " << int(p.activation) << " threads " << threads);
            REQUIRE(got.image.rgba == ref.image.rgba);
        }
    }
    CHECK(fused_differs > 100); // the values tell a fused kernel from ours
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (__builtin_cpu_supports("avx2")) CHECK(stats.fmatmul_plain == 2 * kTrials); // the kernel ran
#endif
}
