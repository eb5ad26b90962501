// Tests of profile.h (`pxi run --profile`): on a small hand-built program, the per-opcode counts
// (instructions, multiply-adds, elements, bytes read and written) equal the ones worked out here
// from PROTOCOL.md's layout by hand, whichever executor runs it; the bound and fraction follow
// from given peaks; a trapping instruction is counted with no work.
#include "cpu_fast.h"
#include "layout.h"
#include "profile.h"
#include "vm.h"

#include <doctest/doctest.h>

#include <map>

using namespace px;

namespace {

// width 16: x (2x3) at row 1, w (3x4) at row 2, y (2x4) at row 3, z (2x4) at row 4, DOT's result
// pixel at row 5. MATMUL x w y; ADD y y z; RELU z; MATMUL x w y; DOT y y 5; HALT. x_rows and
// width change x's rows (each matrix must fit its row).
Image small_program(uint32_t x_rows = 2, uint32_t width = 16) {
    Image img = make_image(width, 6);
    auto put = [&](uint32_t row, MatrixHeader h, uint8_t base) {
        std::vector<uint8_t> v(h.elements());
        for (size_t i = 0; i < v.size(); ++i)
            v[i] = uint8_t(base + i % 3);
        REQUIRE(write_matrix(img, row, h, v).ok());
    };
    put(1, {3, x_rows}, 1);
    put(2, {4, 3}, 2);
    uint32_t x = 0;
    auto ins = [&](Opcode op, uint8_t a, uint8_t b, uint8_t c) {
        img.set_pixel(x++, 0, {uint8_t(op), a, b, c});
    };
    ins(Opcode::MATMUL, 1, 2, 3);
    ins(Opcode::ADD, 3, 3, 4);
    ins(Opcode::RELU, 4, 0, 0);
    ins(Opcode::MATMUL, 1, 2, 3);
    ins(Opcode::DOT, 3, 3, 5);
    ins(Opcode::HALT, 0, 0, 0);
    return img;
}

std::map<std::string, OpProfile> by_name(const Profile& p) {
    std::map<std::string, OpProfile> m;
    for (const OpProfile& op : p.ops)
        m[op.name] = op;
    return m;
}

} // namespace

TEST_CASE("profile_run counts each opcode's instructions, arithmetic and bytes like a count by hand") {
    for (int e = 0; e < 2; ++e) {
        VmState vm = make_vm(small_program());
        const Profile prof = profile_run(vm, e == 0 ? PlanExecutor(execute_reference) : fast_executor());
        REQUIRE(vm.status == VmStatus::Halted);
        CHECK(prof.steps == vm.steps);
        auto ops = by_name(prof);
        REQUIRE(ops.size() == 5);
        // MATMUL 2x3 @ 3x4, twice: 24 multiply-adds each; reads x (1 header + 6) and w (1 + 12)
        // pixels, writes y's header and 8 elements.
        CHECK(ops["MATMUL"].count == 2);
        CHECK(ops["MATMUL"].work.macs == 2 * 24);
        CHECK(ops["MATMUL"].work.bytes_read == 2 * 4 * (7 + 13));
        CHECK(ops["MATMUL"].work.bytes_written == 2 * 4 * (1 + 8));
        // ADD y y -> z: 8 elements, reads y twice (1 + 8 each), writes z (1 + 8).
        CHECK(ops["ADD"].count == 1);
        CHECK(ops["ADD"].work.elements == 8);
        CHECK(ops["ADD"].work.macs == 0);
        CHECK(ops["ADD"].work.bytes_read == 4 * 18);
        CHECK(ops["ADD"].work.bytes_written == 4 * 9);
        // RELU z: checks 8 elements in place, writes nothing (u8 ReLU is the identity).
        CHECK(ops["RELU"].work.elements == 8);
        CHECK(ops["RELU"].work.bytes_read == 4 * 9);
        CHECK(ops["RELU"].work.bytes_written == 0);
        // DOT y y: 8 multiply-adds, one result pixel.
        CHECK(ops["DOT"].work.macs == 8);
        CHECK(ops["DOT"].work.bytes_read == 4 * 18);
        CHECK(ops["DOT"].work.bytes_written == 4);
        CHECK(ops["HALT"].count == 1);
        CHECK(ops["HALT"].work.bytes_read == 0);
        CHECK(prof.work.macs == 48 + 8);
        CHECK(prof.work.bytes_read == 4 * (40 + 18 + 9 + 18));
        CHECK(prof.ms >= 0);
        double sum = 0;
        for (const OpProfile& op : prof.ops)
            sum += op.ms;
        CHECK(sum == doctest::Approx(prof.ms));
    }
}

TEST_CASE("profile_run: bounds and fractions follow from the peaks") {
    VmState vm = make_vm(small_program());
    MachinePeaks peaks;
    peaks.int_gmacs = 1e-6; // 1000 multiply-adds per second: MATMUL is compute-bound (48 ms)
    peaks.float_gmacs = 1;
    peaks.read_gbs = 1e-3; // 1 MB/s: 232 bytes take 0.232 ms
    const Profile prof = profile_run(vm, fast_executor(), &peaks);
    auto ops = by_name(prof);
    CHECK(ops["MATMUL"].bound == "compute");
    CHECK(ops["MATMUL"].limit_ms == doctest::Approx(48.0));
    CHECK(ops["MATMUL"].fraction == doctest::Approx(48.0 / ops["MATMUL"].ms));
    CHECK(ops["ADD"].bound == "memory");
    CHECK(ops["ADD"].limit_ms == doctest::Approx(4.0 * 27 / 1e3));
}

TEST_CASE("profile_run: a trapping instruction is counted, with no work") {
    Image img = small_program();
    img.set_pixel(1, 0, {uint8_t(Opcode::ADD), 3, 2, 4}); // 2x4 + 3x4: SHAPE_MISMATCH
    VmState vm = make_vm(img);
    const Profile prof = profile_run(vm, fast_executor());
    REQUIRE(vm.status == VmStatus::Trapped);
    auto ops = by_name(prof);
    CHECK(ops["ADD"].count == 1);
    CHECK(ops["ADD"].work.bytes_read == 0);
    CHECK(ops["MATMUL"].count == 1);
    CHECK(prof.ops.size() == 2);
}

TEST_CASE(
    "profile_run: the optimized executor trusts a weight it checked earlier in the run, as unprofiled") {
    // MATMUL x w twice, with 8 rows of x (w is packed, kDirectMaxM = 4): an unprofiled run packs w
    // once and reuses it without reading it again; so must a profiled one, or its FMATMUL and
    // MATMUL times include a comparison that real runs never make (profile.h).
    for (bool profiled : {false, true}) {
        FastStats stats;
        FastSettings settings;
        settings.stats = &stats;
        VmState vm = make_vm(small_program(8, 64));
        if (profiled)
            profile_run(vm, fast_executor(settings));
        else
            run(vm, {.execute = fast_executor(settings)});
        REQUIRE(vm.status == VmStatus::Halted);
        INFO("profiled " << profiled);
        CHECK(stats.weights_packed == 1);
        CHECK(stats.weights_reused == 1);
        CHECK(stats.weights_trusted == 1);
    }
}
