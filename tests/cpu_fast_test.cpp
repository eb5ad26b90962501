// Tests of the optimized CPU executor: byte-identical to execute_reference on thousands of random
// MATMUL shapes (odd sizes, block and padding edges, narrow images that wrap matrices over many
// rows, outputs overlapping an input), for every thread count, on random QMATMUL, QMATMUL32 and
// QADD instructions (zero points, biases, accumulators that wrap), and through step()/run() on
// programs that use every opcode; packed weights reused only while their pixels are unchanged,
// read once per run() call and trusted in it until the run writes their rows.
#include "cpu_fast.h"
#include "fmath.h"
#include "fmath_vec.h"
#include "quant.h"
#include "random_float_program.h"
#include "split_tuner.h"
#include "test_util.h"
#include "vm.h"

#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <utility>

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
    // An A of at least kGatherOnThreads elements is gathered on the threads, by ranges of rows
    // whose pixels start mid-row of the image.
    for (uint32_t width : {7u, 1000u}) {
        Case c = make_case(rng, 260, 257, 5, width, 0, 255);
        check_same(c, "A gathered on threads", {3, 0});
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
    const uint8_t shift = uint8_t(1 + rng() % (add ? 62 : 40)); // QADD: every shift (qadd_run's offset)
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

TEST_CASE("packed weights share one KeepArena chunk, and packing them again takes no more") {
    // Five weights of different shapes, each well under a huge page: kept one by one on the heap,
    // each was backed 4 KiB at a time (huge_pages.h, KeepArena). Packed again (new images, so the
    // bytes are compared and the same shapes repacked in place) the arena does not grow.
    FastStats stats;
    FastSettings settings{2, 0};
    settings.stats = &stats;
    const PlanExecutor fast = fast_executor(settings);
    std::mt19937 rng(77);
    for (int round = 0; round < 3; ++round)
        for (uint32_t i = 0; i < 5; ++i) {
            Case c = make_case(rng, 8, 40 + 16 * i, 24 + 8 * i, 64, 0, 255);
            Image ref = c.image, img = c.image;
            execute_reference(ref, c.plan);
            fast(img, c.plan);
            REQUIRE(img.rgba == ref.rgba);
            CHECK(stats.arena_bytes == KeepArena::kMinChunk);
        }
    CHECK(stats.weights_packed == 15);
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
        // Run 1 packs w, then w' (rewritten); run 2 starts from the original w again. In each run
        // d @ w uses w as checked by x @ w just before, without reading it (trusted in the run).
        CHECK(stats.weights_packed >= 4);
        CHECK(stats.weights_trusted == 2);
    }
}

// FMATMUL runs without per-operation canonicalization only when min|a| * min|b| >= 2^-100
// (cpu_fast.cpp): products and partial sums can then never be flushed. These put the operands'
// smallest magnitudes on both sides of that bound and far below it (products and sums that are
// subnormal, exactly 2^-126, or cancel to tiny values), with signs mixed so sums cancel, and
// check both kernels run and give the reference's bits. The decision is a row's: a third of the rows
// of a sit far above the bound, so an instruction may run its other rows on the canonicalizing
// kernel and these on the plain one, with a GELU after it in half the trials.
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
        std::vector<int> row_e(M, ea);
        for (int& e : row_e)
            if (rng() % 3 == 0) e = -10; // this row alone would run the plain kernel
        auto fill = [&](uint32_t row, const MatrixHeader& h, auto e_min_of) {
            for (uint64_t i = 0; i < h.elements(); ++i) {
                const int e_min = e_min_of(i);
                float f = 0;
                if (rng() % 6 != 0) {                                        // some zeros
                    const float mant = 1.0f + float(rng() % 1024) / 1024.0f; // few bits: sums cancel
                    f = std::ldexp(mant, e_min + int(rng() % 4)) * (rng() % 2 ? -1.0f : 1.0f);
                }
                if (i % h.cols == 0) f = std::ldexp(1.0f, e_min); // each row's minimum is present
                uint32_t bits;
                std::memcpy(&bits, &f, 4);
                img.set_pixel(element_x(i, width), uint32_t(element_y(i, row, width)), word_pixel(bits));
            }
            img.set_pixel(0, row, encode_header(h));
        };
        fill(al.rows[0], ha, [&](uint64_t i) { return row_e[i / K]; });
        fill(al.rows[1], hb, [&](uint64_t) { return eb; });
        img.set_pixel(
            0, 0, {uint8_t(Opcode::FMATMUL), uint8_t(al.rows[0]), uint8_t(al.rows[1]), uint8_t(al.rows[2])});
        FMatmulParams p;
        p.bias_row = 0;
        p.activation = uint8_t(trial % 2 ? FActivation::Gelu : FActivation::None);
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
    if (__builtin_cpu_supports("avx2")) {
        CHECK(stats.fmatmul_plain > 0);      // the kernel is there
        CHECK(stats.fmatmul_canon_rows > 0); // and some instructions split their rows
    }
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
        CHECK(stats.fweights_trusted == 2); // d @ w, right after x @ w checked w in the same run
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
// cross each of those edges (K < 16, K = 17, 255 to 257 and past 512; N off multiples of 8 and 16,
// and past the 4 strips one row takes at a time; M past 64 and off multiples of 4), with and without a bias
// and with each activation, on 1 and 3 threads, with values whose products keep full 24-bit significands, so
// that fusing a multiply into an add would give other bits (counted below, on the same values), plus the odd
// infinity, NaN, -0 and zero.
TEST_CASE("FMATMUL: the plain kernel across its tile and block edges, with bias and activations, exact") {
    std::mt19937 rng(1717);
    const uint32_t Ks[] = {1, 2, 7, 15, 16, 17, 31, 33, 255, 256, 257, 272, 513};
    const uint32_t Ms[] = {1, 2, 3, 5, 63, 64, 65, 70};
    const uint32_t Ns[] = {1, 7, 8, 9, 15, 16, 17, 33, 40, 64, 65, 100}; // 4-strip groups, whole and not
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

// FADD and FMUL run vectorized (fbinary_run in cpu_fast.cpp): canon as selects after each add or
// multiply. These cross the vector widths (1 to 40 columns), the row broadcast of b, and the
// values where canon acts: sums and products that land at or below 2^-126 (flushed to +0), -0,
// infinities that meet (NaN) and NaNs; each against the reference, element by element.
TEST_CASE("FADD and FMUL: the vectorized runs equal the reference on flushes, NaNs and row broadcasts") {
    std::mt19937 rng(2026);
    std::uniform_real_distribution<float> unit(-2.0f, 2.0f);
    const uint32_t Cs[] = {1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 40};
    int flushed = 0; // results the reference made +0 from a nonzero sum or product
    for (int trial = 0; trial < 88; ++trial) {
        const Opcode opcode = trial % 2 ? Opcode::FMUL : Opcode::FADD;
        const uint32_t cols = Cs[trial % std::size(Cs)], rows = 1 + uint32_t(rng() % 4);
        const bool broadcast = trial % 4 >= 2;
        const MatrixHeader ha{cols, rows}, hb{cols, broadcast ? 1u : rows};
        const uint32_t width = 24 + uint32_t(rng() % 20);
        Allocation al = allocate_rows({ha, hb, ha}, width);
        Image img = make_image(width, al.height);
        std::vector<float> a(ha.elements()), b(hb.elements());
        for (uint64_t i = 0; i < a.size(); ++i) {
            const uint32_t pick = rng() % 12;
            // a tiny normal value: with b's tiny values, sums that cancel to subnormals and
            // products far below 2^-126
            a[i] = pick == 0   ? 1.5e-38f * (rng() % 2 ? 1.0f : -1.0f)
                   : pick == 1 ? INFINITY
                   : pick == 2 ? NAN
                               : unit(rng);
            put_f32(img, al.rows[0], ha, i, f32_bits(fm::canon(a[i])));
        }
        for (uint64_t i = 0; i < b.size(); ++i) {
            const uint32_t pick = rng() % 12;
            b[i] = pick == 0 ? -1.4e-38f : pick == 1 ? -INFINITY : pick == 2 ? 0.0f : unit(rng);
            put_f32(img, al.rows[1], hb, i, f32_bits(fm::canon(b[i])));
        }
        img.set_pixel(0, al.rows[0], encode_header(ha));
        img.set_pixel(0, al.rows[1], encode_header(hb));
        for (uint64_t i = 0; i < a.size(); ++i) {
            const float x = fm::canon(a[i]), y = fm::canon(b[broadcast ? i % cols : i]);
            const float raw = opcode == Opcode::FMUL ? x * y : x + y;
            flushed += raw != 0.0f && std::fabs(raw) <= 1.1754944e-38f;
        }
        img.set_pixel(0, 0, {uint8_t(opcode), uint8_t(al.rows[0]), uint8_t(al.rows[1]), uint8_t(al.rows[2])});
        const std::vector<Rgba> params = encode_params(FBinaryParams{});
        for (size_t k = 0; k < params.size(); ++k)
            img.set_pixel(1 + uint32_t(k), 0, params[k]);
        VmState ref = make_vm(img);
        step(ref);
        REQUIRE(ref.status != VmStatus::Trapped);
        VmState got = make_vm(img);
        step(got, nullptr, fast_executor());
        INFO("trial " << trial << " " << (opcode == Opcode::FMUL ? "FMUL" : "FADD") << " " << rows << "x"
                      << cols << std::string(broadcast ? " b one row" : ""));
        REQUIRE(got.image.rgba == ref.image.rgba);
    }
    CHECK(flushed > 20); // the values reach the flush
}

// ---- Packed weights trusted within one run() (PackedWeight in cpu_fast.cpp) ----
//
// Within one run() call a weight checked once is used without reading its pixels again until a
// plan of the run writes one of its rows (header row to last element row). These programs use a
// weight, rewrite part or all of it (or only the row beside it) and use it again in one run, and
// compare every byte with the reference; the others change the weight between calls (run(), a
// run() resumed after a stop, step(), plans handed over directly), which the executor must still
// find by reading it.

namespace {

// The products whose b is kept packed: FMATMUL (strips) and the integer ones (gemm_u8_packed;
// M > 4, or they read b in place).
enum class WeightKind { Float, Matmul, QMatmul32 };

const char* kind_name(WeightKind k) {
    return k == WeightKind::Float ? "FMATMUL" : k == WeightKind::Matmul ? "MATMUL" : "QMATMUL32";
}

// A program around x (M x K) @ w (K x N): w followed by a 1 x 1 matrix on the row right after
// w's last (`beside`), a 1 x 1 t, d (K x K, for d @ w -> w), outputs y and y2, a LOOP counter n.
// Instructions are appended at pc.
struct WeightProgram {
    WeightKind kind;
    uint32_t M, K, N;
    Image img;
    uint32_t rx = 0, rw = 0, w_last = 0, beside = 0, rt = 0, rd = 0, ry = 0, ry2 = 0, rn = 0;
    uint32_t pc = 0;

    WeightProgram(WeightKind k, std::mt19937& rng, uint32_t m, uint32_t kk, uint32_t n, uint32_t width)
        : kind(k), M(m), K(kk), N(n) {
        const MatrixHeader x{K, M}, w{N, K}, one{1, 1}, d{K, K}, y{N, M};
        const Allocation al = allocate_rows({x, w, one, one, d, y, y, one}, width);
        img = make_image(width, al.height);
        rx = al.rows[0], rw = al.rows[1], beside = al.rows[2], rt = al.rows[3], rd = al.rows[4];
        ry = al.rows[5], ry2 = al.rows[6], rn = al.rows[7];
        w_last = beside - 1;
        REQUIRE(w_last == rw + rows_for_elements(w.elements(), width) - 1);
        REQUIRE(w_last > rw + 1); // w's elements span rows past its header row
        fill(rng, rx, x);
        fill(rng, rw, w);
        fill(rng, rd, d);
        fill(rng, beside, one);
        put_value(rt, 5, 1.5f); // t + t: a value w never holds
        img.set_pixel(0, rn, encode_header(one));
    }
    bool is_float() const { return kind == WeightKind::Float; }
    // Small values (u8: 1 in 4 nonzero, at most 3; f32: multiples of 1/4 below 1), so sums stay
    // below 255 and a stale weight shows in the bytes.
    void fill(std::mt19937& rng, uint32_t row, MatrixHeader h) {
        for (uint64_t i = 0; i < h.elements(); ++i) {
            const uint32_t x = element_x(i, img.width), y = uint32_t(element_y(i, row, img.width));
            if (is_float()) {
                img.set_pixel(x, y, word_pixel(f32_bits(float(int(rng() % 7) - 3) / 4.0f)));
            } else {
                Rgba p = img.pixel(x, y);
                p[0] = rng() % 4 == 0 ? uint8_t(1 + rng() % 3) : 0;
                img.set_pixel(x, y, p);
            }
        }
        img.set_pixel(0, row, encode_header(h));
    }
    void put_value(uint32_t row, uint8_t u8, float f32) {
        img.set_pixel(0, row, encode_header({1, 1}));
        img.set_pixel(1, row, is_float() ? word_pixel(f32_bits(f32)) : Rgba{u8, 0, 0, 0});
    }
    // a @ b -> c of this kind.
    void product(uint32_t a, uint32_t b, uint32_t c) {
        if (is_float()) {
            pc = put_fmatmul(img, pc, a, b, c);
            return;
        }
        const bool q32 = kind == WeightKind::QMatmul32;
        img.set_pixel(
            pc++, 0, {uint8_t(q32 ? Opcode::QMATMUL32 : Opcode::MATMUL), uint8_t(a), uint8_t(b), uint8_t(c)});
        if (!q32) return;
        QMatmul32Params q;
        q.za = 1, q.zb = 2; // zero points: the packed copy depends on zb
        for (const Rgba& p : encode_params(q))
            img.set_pixel(pc++, 0, p);
    }
    // A 1 x 1 result t + t at `row` (ADD or FADD: no weight of their own to count): its header at
    // column 0, its element at column 1, which is an element of w when row is one of w's rows past
    // the header row.
    void write_1x1(uint32_t row) {
        img.set_pixel(
            pc++, 0,
            {uint8_t(is_float() ? Opcode::FADD : Opcode::ADD), uint8_t(rt), uint8_t(rt), uint8_t(row)});
        if (is_float())
            for (const Rgba& p : encode_params(FBinaryParams{}))
                img.set_pixel(pc++, 0, p);
    }
    // QRELU w in place: the elements below zp become zp, the others and the header stay.
    void qrelu_w(uint8_t zp) {
        img.set_pixel(pc++, 0, {uint8_t(Opcode::QRELU), uint8_t(rw), 0, 0});
        QReluParams q;
        q.zero_point = zp;
        for (const Rgba& p : encode_params(q))
            img.set_pixel(pc++, 0, p);
    }
    // LOOP on the counter n (set to `times`), back to `target`: the loop body runs times + 1 times.
    void loop(int32_t times, uint32_t target) {
        img.set_pixel(1, rn, word_pixel(uint32_t(times)));
        img.set_pixel(pc++, 0, {uint8_t(Opcode::LOOP), uint8_t(rn), 0, 0});
        LoopParams q;
        q.target = uint16_t(target);
        for (const Rgba& p : encode_params(q))
            img.set_pixel(pc++, 0, p);
    }
    void halt() { img.set_pixel(pc++, 0, {uint8_t(Opcode::HALT), 0, 0, 0}); }
    // Changes one element of w in `image` to a value it did not hold (the kind's reading of it).
    void edit_w(Image& image, std::mt19937& rng) const {
        const uint64_t i = rng() % (uint64_t(K) * N);
        const uint32_t x = element_x(i, image.width), y = uint32_t(element_y(i, rw, image.width));
        Rgba p = image.pixel(x, y);
        if (is_float())
            p = word_pixel(f32_bits(4.0f + float(rng() % 4)));
        else
            p[0] = uint8_t(4 + rng() % 4);
        image.set_pixel(x, y, p);
    }
    // Counts of this kind's weights.
    uint64_t packed(const FastStats& s) const { return is_float() ? s.fweights_packed : s.weights_packed; }
    uint64_t reused(const FastStats& s) const { return is_float() ? s.fweights_reused : s.weights_reused; }
    uint64_t trusted(const FastStats& s) const { return is_float() ? s.fweights_trusted : s.weights_trusted; }
};

WeightProgram make_weight_program(WeightKind kind, std::mt19937& rng) {
    const uint32_t M = kind == WeightKind::Float ? 1 + rng() % 4 : 5 + rng() % 4; // integer: packed path
    const uint32_t K = 20 + rng() % 5, N = 15 + rng() % 8, width = 16 + rng() % 48;
    return WeightProgram(kind, rng, M, K, N, width);
}

constexpr WeightKind kWeightKinds[] = {WeightKind::Float, WeightKind::Matmul, WeightKind::QMatmul32};

} // namespace

TEST_CASE("packed weights in one run: a write to the weight's rows between two uses is seen, every kind") {
    std::mt19937 rng(5150);
    for (WeightKind kind : kWeightKinds) {
        for (int trial = 0; trial < 24; ++trial) {
            WeightProgram w = make_weight_program(kind, rng);
            // How the program changes w (or not) between x @ w -> y and x @ w -> y2.
            const int variant = trial % 4;
            uint32_t wrote_row = 0;
            w.product(w.rx, w.rw, w.ry);
            switch (variant) {
            case 0: // one element, on a row of w's: the last row, or one between
                wrote_row = trial % 8 < 4 ? w.w_last : w.rw + 1 + uint32_t(rng() % (w.w_last - w.rw));
                w.write_1x1(wrote_row);
                break;
            case 1: // all of it, by a product whose b is w itself: d @ w -> w
                w.product(w.rd, w.rw, w.rw);
                break;
            case 2: // in place: QRELU (integer), or the first element of the last row (float)
                if (w.is_float())
                    w.write_1x1(wrote_row = w.w_last);
                else
                    w.qrelu_w(2);
                break;
            case 3: // the row right after w's last: w is not written, and stays trusted
                w.write_1x1(w.beside);
                break;
            }
            w.product(w.rx, w.rw, w.ry2);
            w.halt();
            FastStats stats;
            FastSettings settings{2, 0};
            settings.stats = &stats;
            VmState ref = make_vm(w.img), got = make_vm(w.img);
            run(ref);
            run(got, {.execute = fast_executor(settings)});
            INFO(std::string(kind_name(kind))
                 << " trial " << trial << " variant " << variant << " M,K,N " << w.M << "," << w.K << ","
                 << w.N << " width " << w.img.width << " w rows " << w.rw << ".." << w.w_last << " wrote row "
                 << wrote_row);
            REQUIRE(ref.status == VmStatus::Halted);
            REQUIRE(got.status == ref.status);
            REQUIRE(got.image.rgba == ref.image.rgba);
            // d @ w uses w trusted (before it writes it); a write beside w leaves it trusted. A
            // write to w's rows makes the next use read w, find it changed and pack it again.
            CHECK(w.trusted(stats) == (variant == 1 || variant == 3 ? 1u : 0u));
            CHECK(w.packed(stats) == (variant == 3 ? 1u : 2u));
        }
    }
}

TEST_CASE("packed weights: an edit between run() calls, a resumed run() or step() calls is found") {
    std::mt19937 rng(5151);
    for (WeightKind kind : kWeightKinds) {
        for (int trial = 0; trial < 6; ++trial) {
            WeightProgram w = make_weight_program(kind, rng);
            w.product(w.rx, w.rw, w.ry);
            const uint32_t second = w.pc;
            w.product(w.rx, w.rw, w.ry2);
            w.halt();
            INFO(std::string(kind_name(kind))
                 << " trial " << trial << " M,K,N " << w.M << "," << w.K << "," << w.N);
            // The same edit of w in two images.
            auto edit_both = [&](Image& a, Image& b, uint32_t seed) {
                std::mt19937 edit(seed);
                w.edit_w(a, edit);
                edit.seed(seed);
                w.edit_w(b, edit);
            };
            auto restart = [](VmState& vm) { vm.pc = 0, vm.steps = 0, vm.status = VmStatus::Ready; };
            { // two run() calls on one VM, w edited in between
                FastStats stats;
                const PlanExecutor fast = fast_executor({2, 0, &stats});
                VmState ref = make_vm(w.img), got = make_vm(w.img);
                run(ref);
                run(got, {.execute = fast});
                REQUIRE(got.image.rgba == ref.image.rgba);
                edit_both(ref.image, got.image, uint32_t(trial));
                restart(ref), restart(got);
                run(ref);
                run(got, {.execute = fast});
                REQUIRE(got.status == VmStatus::Halted);
                REQUIRE(got.image.rgba == ref.image.rgba);
                CHECK(w.packed(stats) == 2);  // new; then changed, found at the second run's first use
                CHECK(w.trusted(stats) == 2); // each run's second use
            }
            { // a run() stopped before the second use, w edited, the run() resumed
                FastStats stats;
                const PlanExecutor fast = fast_executor({2, 0, &stats});
                VmState ref = make_vm(w.img), got = make_vm(w.img);
                bool stopped = false;
                auto stop_once = [&](const VmState& s) {
                    return s.pc == second && !std::exchange(stopped, true);
                };
                run(got, {.stop_before = stop_once, .execute = fast});
                REQUIRE(got.pc == second);
                REQUIRE(got.status == VmStatus::Ready);
                step(ref);
                edit_both(ref.image, got.image, uint32_t(trial));
                run(ref);
                run(got, {.execute = fast});
                REQUIRE(got.status == VmStatus::Halted);
                REQUIRE(got.image.rgba == ref.image.rgba);
                CHECK(w.packed(stats) == 2);
                CHECK(w.trusted(stats) == 0);
            }
            { // step() calls, w edited between them
                FastStats stats;
                const PlanExecutor fast = fast_executor({2, 0, &stats});
                VmState ref = make_vm(w.img), got = make_vm(w.img);
                step(ref);
                step(got, nullptr, fast);
                edit_both(ref.image, got.image, uint32_t(trial));
                while (ref.status == VmStatus::Ready)
                    step(ref);
                while (got.status == VmStatus::Ready)
                    step(got, nullptr, fast);
                REQUIRE(got.status == VmStatus::Halted);
                REQUIRE(got.image.rgba == ref.image.rgba);
                CHECK(w.packed(stats) == 2);
                CHECK(w.trusted(stats) == 0);
            }
            { // plans handed to the executor directly, numbered as if of one run
                FastStats stats;
                const PlanExecutor fast = fast_executor({2, 0, &stats});
                auto plan_at = [&](const Image& img, uint32_t pc, uint64_t seq) {
                    auto planned = plan_instruction(image_fetch(img), img.width, img.height, pc);
                    REQUIRE(std::holds_alternative<Plan>(planned));
                    Plan p = std::get<Plan>(planned);
                    p.run_seq = seq;
                    return p;
                };
                Image a = w.img;
                fast(a, plan_at(a, 0, 0));
                // The next number, on another image (a copy with w edited): w is read again.
                Image b = a, ref = a;
                edit_both(b, ref, uint32_t(trial));
                const Plan p1 = plan_at(b, second, 1);
                fast(b, p1);
                execute_reference(ref, p1);
                REQUIRE(b.rgba == ref.rgba);
                CHECK(w.trusted(stats) == 0);
                // The same image, numbered 3 after 1 (not the next plan of a run): read again.
                edit_both(b, ref, uint32_t(trial) + 100);
                const Plan p3 = plan_at(b, second, 3);
                fast(b, p3);
                execute_reference(ref, p3);
                REQUIRE(b.rgba == ref.rgba);
                CHECK(w.trusted(stats) == 0);
                CHECK(w.packed(stats) == 3);
            }
        }
    }
}

TEST_CASE("packed weights: within one run() a weight is read once, then trusted; not across calls") {
    std::mt19937 rng(5152);
    for (WeightKind kind : kWeightKinds) {
        WeightProgram w = make_weight_program(kind, rng);
        w.product(w.rx, w.rw, w.ry); // the loop body: 5 times per run (the counter's write is elsewhere)
        w.loop(4, 0);
        w.halt();
        INFO(std::string(kind_name(kind)));
        FastStats stats;
        FastSettings settings{2, 0};
        settings.stats = &stats;
        const PlanExecutor fast = fast_executor(settings);
        VmState ref = make_vm(w.img);
        run(ref);
        REQUIRE(ref.status == VmStatus::Halted);
        for (int again = 0; again < 2; ++again) {
            VmState got = make_vm(w.img);
            run(got, {.execute = fast});
            REQUIRE(got.image.rgba == ref.image.rgba);
        }
        // Run 1: packed, then trusted 4 times; run 2: checked (unchanged), then trusted 4 times.
        CHECK(w.packed(stats) == 1);
        CHECK(w.reused(stats) == 9);
        CHECK(w.trusted(stats) == 8);
        VmState stepped = make_vm(w.img); // step() calls: every use is checked
        while (stepped.status == VmStatus::Ready)
            step(stepped, nullptr, fast);
        REQUIRE(stepped.image.rgba == ref.image.rgba);
        CHECK(w.reused(stats) == 14);
        CHECK(w.trusted(stats) == 8);
    }
}

TEST_CASE(
    "split tuning: a loop's iterations are timed under both thresholds; the bytes are the reference's") {
    std::mt19937 rng(7310);
    for (WeightKind kind : kWeightKinds) {
        WeightProgram w = make_weight_program(kind, rng);
        w.product(w.rx, w.rw, w.ry);
        w.loop(40, 0); // 40 taken LOOPs: 39 iterations between them
        w.halt();
        INFO(std::string(kind_name(kind)));
        VmState ref = make_vm(w.img);
        run(ref);
        REQUIRE(ref.status == VmStatus::Halted);
        // The settings' threshold keeps every product on one thread; the eager one splits it.
        FastStats stats;
        FastSettings settings{2, uint64_t(1) << 40, &stats, 1};
        VmState got = make_vm(w.img);
        run(got, {.execute = fast_executor(settings)});
        REQUIRE(got.image.rgba == ref.image.rgba);
        CHECK(stats.split_iterations_few + stats.split_iterations_eager == 39);
        CHECK(stats.split_iterations_eager >= SplitTuner::kMinRatios); // the first ones alternate
        // A run stopped inside an iteration and resumed: that iteration is not timed.
        FastStats stopped_stats;
        settings.stats = &stopped_stats;
        const PlanExecutor fast = fast_executor(settings);
        VmState stopped = make_vm(w.img);
        uint64_t seen = 0;
        run(stopped, {.stop_before = [&](const VmState&) { return ++seen == 21; }, .execute = fast});
        REQUIRE(stopped.status == VmStatus::Ready);
        run(stopped, {.execute = fast});
        REQUIRE(stopped.image.rgba == ref.image.rgba);
        CHECK(stopped_stats.split_iterations_few + stopped_stats.split_iterations_eager == 38);
        // No eager threshold (0, or not below the other), or one thread: nothing is timed.
        for (const FastSettings& untuned : {FastSettings{2, uint64_t(1) << 40, nullptr, 0},
                                            FastSettings{2, uint64_t(1) << 40, nullptr, uint64_t(1) << 40},
                                            FastSettings{1, uint64_t(1) << 40, nullptr, 1}}) {
            FastStats none;
            FastSettings with_stats = untuned;
            with_stats.stats = &none;
            VmState plain = make_vm(w.img);
            run(plain, {.execute = fast_executor(with_stats)});
            REQUIRE(plain.image.rgba == ref.image.rgba);
            CHECK(none.split_iterations_few + none.split_iterations_eager == 0);
        }
    }
}

// The attention caches' kept copies (CacheCopy in cpu_fast.cpp): a decode loop that attends over
// its K and V caches and appends a row to each, step after step in one run() call, and sometimes
// writes one element of a cache's kept rows (or a row beside them) between the steps.
namespace {
struct AttentionLoop {
    Image img;
    uint32_t D = 0, row_k = 0;
};

// variant 0: nothing else writes; 1: one element of K's kept rows is rewritten every step; 2: the
// same in V; 3: a row beside the caches is written. tiny: float elements near 2^-63, so products
// are near 2^-126, where canonicalizing each one changes the sums: FATTENTION must not take its
// plain kernels there.
AttentionLoop make_attention_loop(std::mt19937& rng, bool f32, int variant, uint32_t steps, bool tiny) {
    const uint32_t width = 18 + uint32_t(rng() % 30), heads = 1 + uint32_t(rng() % 3);
    // Head widths of 16 and 32 (whole 16-column groups, which FATTENTION's plain weighted sum needs)
    // and any other.
    const uint32_t hd = rng() % 3 == 0 ? 16 * (1 + uint32_t(rng() % 2)) : 1 + uint32_t(rng() % 20);
    const uint32_t D = heads * hd, stride = width - 1;
    // At least two rows of pixels of kept cache rows, so variants 1 and 2 have one past the header's.
    const uint32_t L0 = std::max(2 + uint32_t(rng() % 12), 2 * stride / D + 1);
    const uint32_t cap = L0 + steps + 2;
    auto rows_for = [&](uint64_t n) { return uint32_t(std::max<uint64_t>(1, (n + stride - 1) / stride)); };
    uint32_t next = 1;
    auto place = [&](uint64_t elements) { return std::exchange(next, next + rows_for(elements)); };
    const uint32_t r_q = place(D), r_k = place(uint64_t(cap) * D), r_v = place(uint64_t(cap) * D),
                   r_out = place(D), r_one = place(1), r_counter = place(1), r_beside = place(1);
    Image img = make_image(width, next);
    for (uint8_t& b : img.rgba)
        b = uint8_t(rng());
    std::normal_distribution<float> normal(0.0f, 1.0f);
    auto put = [&](uint32_t row, uint32_t cols, uint32_t rows, auto value) {
        img.set_pixel(0, row, encode_header({cols, rows}));
        for (uint64_t i = 0; i < uint64_t(cols) * rows; ++i) {
            const uint32_t w = value();
            img.set_pixel(element_x(i, width), uint32_t(element_y(i, row, width)),
                          {uint8_t(w), uint8_t(w >> 8), uint8_t(w >> 16), uint8_t(w >> 24)});
        }
    };
    auto element = [&]() {
        return f32 ? fm::bits(std::ldexp(normal(rng), tiny ? -63 : 0)) : uint32_t(rng());
    };
    put(r_q, D, 1, element);
    put(r_k, D, L0, element);
    put(r_v, D, L0, element);
    put(r_one, 1, 1, element);
    put(r_counter, 1, 1, [&] { return steps - 1; });
    // The element rewritten in variants 1 and 2: in the cache's second row of pixels or later, so
    // the 1 x 1 result's header lands in column 0 (no element) and its element on a kept one.
    const uint32_t rows_kept = rows_for(uint64_t(L0) * D);
    const uint32_t into = variant == 1 ? r_k : r_v;
    REQUIRE(rows_kept > 1);
    const uint32_t target = variant == 3 ? r_beside : into + 1 + uint32_t(rng() % (rows_kept - 1));
    std::vector<Rgba> code;
    auto ins = [&](Opcode op, uint32_t a, uint32_t b, uint32_t c, const std::vector<Rgba>& params) {
        code.push_back({uint8_t(op), uint8_t(a), uint8_t(b), uint8_t(c)});
        code.insert(code.end(), params.begin(), params.end());
    };
    if (f32) {
        FAttentionParams p;
        // With tiny elements a huge scale makes the scores' flushed low bits decide the softmax.
        p.v_row = uint16_t(r_v), p.heads = uint16_t(heads),
        p.scale = fm::bits(tiny ? std::ldexp(1.0f, 100) : 0.37f);
        ins(Opcode::FATTENTION, r_q, r_k, r_out, encode_params(p));
    } else {
        QAttentionParams p;
        p.zq = uint8_t(rng()), p.zk = uint8_t(rng()), p.zv = uint8_t(rng()), p.zc = uint8_t(rng());
        p.v_row = uint16_t(r_v), p.heads = uint16_t(heads);
        p.ms = int32_t(1 + rng() % INT32_MAX), p.shift_s = uint8_t(30 + rng() % 10);
        p.mo = int32_t((1u << 30) + rng() % (1u << 30)), p.shift_o = uint8_t(50 + rng() % 5);
        ins(Opcode::QATTENTION, r_q, r_k, r_out, encode_params(p));
    }
    const uint8_t t = f32 ? 1 : 0;
    ins(Opcode::APPEND, r_out, 0, r_k, encode_params(AppendParams{{t, 0, t, 0}, uint16_t(cap)}));
    ins(Opcode::APPEND, r_q, 0, r_v, encode_params(AppendParams{{t, 0, t, 0}, uint16_t(cap)}));
    if (variant != 0) {
        if (f32)
            ins(Opcode::FADD, r_one, r_one, target, encode_params(FBinaryParams{}));
        else
            code.push_back({uint8_t(Opcode::ADD), uint8_t(r_one), uint8_t(r_one), uint8_t(target)});
    }
    ins(Opcode::LOOP, r_counter, 0, 0, encode_params(LoopParams{}));
    code.push_back({0, 0, 0, 0});
    REQUIRE(code.size() <= width);
    REQUIRE(next <= 255);
    for (uint32_t x = 0; x < width; ++x)
        img.set_pixel(x, 0, x < code.size() ? code[x] : Rgba{0, 0, 0, 0});
    return {std::move(img), D, r_k};
}
} // namespace

TEST_CASE("attention caches in one run: each row read from the pixels once, a write to a kept row seen") {
    std::mt19937 rng(1203);
    uint64_t units = 0, plain_units = 0; // FATTENTION's, over the trials: both kernels must run
    for (bool f32 : {true, false})
        for (int trial = 0; trial < 40; ++trial) {
            const int variant = trial % 4;
            const uint32_t steps = 2 + uint32_t(rng() % 6);
            const AttentionLoop loop = make_attention_loop(rng, f32, variant, steps, trial % 5 == 4);
            INFO((f32 ? "FATTENTION" : "QATTENTION")
                 << " trial " << trial << " variant " << variant << " steps " << steps << " width "
                 << loop.img.width << " D " << loop.D);
            VmState ref = make_vm(loop.img);
            run(ref);
            REQUIRE(ref.status == VmStatus::Halted);
            for (unsigned threads : {1u, 2u}) {
                FastStats stats;
                FastSettings settings{threads, 0};
                settings.stats = &stats;
                VmState got = make_vm(loop.img);
                run(got, {.execute = fast_executor(settings)});
                REQUIRE(got.status == VmStatus::Halted);
                REQUIRE(got.image.rgba == ref.image.rgba);
                units += stats.fattention_units, plain_units += stats.fattention_plain_units;
                // The last attention step saw all but the last appended row of each cache.
                const uint64_t seen =
                    uint64_t(decode_header(ref.image.pixel(0, loop.row_k)).rows - 1) * loop.D;
                CHECK(stats.cache_elements_used == 2 * (seen * steps - loop.D * (steps * (steps - 1) / 2)));
                if (variant == 0 || variant == 3)
                    CHECK(stats.cache_elements_read == 2 * seen); // every element once
                else
                    CHECK(stats.cache_elements_read > 2 * seen); // the rewritten one, and the rest after it
            }
            // step() calls trust nothing they kept: each step reads the whole caches again.
            FastStats stats;
            FastSettings settings{2, 0};
            settings.stats = &stats;
            const PlanExecutor fast = fast_executor(settings);
            VmState stepped = make_vm(loop.img);
            while (stepped.status == VmStatus::Ready)
                step(stepped, nullptr, fast);
            REQUIRE(stepped.image.rgba == ref.image.rgba);
            CHECK(stats.cache_elements_read == stats.cache_elements_used);
        }
    MESSAGE("FATTENTION units: " << units << ", on the plain kernels " << plain_units);
    if (fm::dot_runs_vectorized()) CHECK(plain_units > 0);
    CHECK(plain_units < units);
}

TEST_CASE("packed weights: a program whose weights pass 64 MiB keeps them all through a run") {
    // Three float32 weights of 2048 x 2048 (16 MiB of pixels, 32 MiB kept each: strips and source
    // bytes), used in turn three times in one run(). The kept copies may take twice the image's
    // bytes, so each weight is packed once and trusted after. (With a fixed 64 MiB the least
    // recently used weight was always the next one needed: 9 packings, a GPT-2-small program's
    // decode 15 times slower.)
    constexpr uint32_t K = 2048, N = 2048, width = 4096;
    const MatrixHeader x{K, 1}, w{N, K}, y{N, 1}, one{1, 1};
    const Allocation al = allocate_rows({x, y, one, w, w, w}, width); // the weights past row 255
    Image img = make_image(width, al.height);
    std::mt19937 rng(2048);
    auto fill = [&](uint32_t row, MatrixHeader h) {
        for (uint64_t i = 0; i < h.elements(); ++i)
            put_f32(img, row, h, i, f32_bits(float(int(rng() % 7) - 3) / 4.0f));
        img.set_pixel(0, row, encode_header(h));
    };
    const uint32_t rx = al.rows[0], ry = al.rows[1], rn = al.rows[2];
    fill(rx, x);
    uint32_t pc = 0;
    for (size_t i = 3; i < 6; ++i) {
        const uint32_t rw = al.rows[i];
        fill(rw, w);
        img.set_pixel(pc++, 0, {kWidePrefix, 0, uint8_t(rw >> 8), 0}); // WIDE: b's row past 255
        img.set_pixel(pc, 0, {uint8_t(Opcode::FMATMUL), uint8_t(rx), uint8_t(rw & 0xFF), uint8_t(ry)});
        const std::vector<Rgba> params = encode_params(FMatmulParams{});
        for (size_t k = 0; k < params.size(); ++k)
            img.set_pixel(pc + 1 + uint32_t(k), 0, params[k]);
        pc += 1 + uint32_t(params.size());
    }
    img.set_pixel(0, rn, encode_header(one));
    img.set_pixel(1, rn, word_pixel(2)); // the body runs 3 times
    img.set_pixel(pc++, 0, {uint8_t(Opcode::LOOP), uint8_t(rn), 0, 0});
    LoopParams lp;
    lp.target = 0;
    for (const Rgba& p : encode_params(lp))
        img.set_pixel(pc++, 0, p);
    img.set_pixel(pc++, 0, {uint8_t(Opcode::HALT), 0, 0, 0});

    FastStats stats;
    FastSettings settings{2, 0};
    settings.stats = &stats;
    VmState got = make_vm(img);
    run(got, {.execute = fast_executor(settings)});
    REQUIRE(got.status == VmStatus::Halted);
    CHECK(stats.fweights_packed == 3);
    CHECK(stats.fweights_trusted == 6);
    VmState ref = make_vm(img);
    run(ref);
    REQUIRE(ref.status == VmStatus::Halted);
    CHECK(got.image.rgba == ref.image.rgba);
}
