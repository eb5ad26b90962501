// Tests of profile.h (`pxi run --profile`): on a small hand-built program, the per-opcode counts
// (instructions, multiply-adds, elements, bytes read and written) equal the ones worked out here
// from PROTOCOL.md's layout by hand, whichever executor runs it; the bound and fraction follow
// from given peaks; a trapping instruction is counted with no work.
#include "asm.h"
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
    peaks.read_gbs = 1e-3; // 1 MB/s: 1000 bytes take 1 ms
    const Profile prof = profile_run(vm, fast_executor(), &peaks);
    auto ops = by_name(prof);
    CHECK(ops["MATMUL"].bound == "compute");
    CHECK(ops["MATMUL"].limit_ms == doctest::Approx(48.0));
    CHECK(ops["MATMUL"].fraction == doctest::Approx(48.0 / ops["MATMUL"].ms));
    CHECK(ops["ADD"].bound == "memory");
    // The bound counts values: y twice and z, each a 4-byte header and 8 one-byte u8 elements
    // (27 pixels, 108 bytes, as pixels).
    CHECK(ops["ADD"].work.value_bytes_read == 2 * (4 + 8));
    CHECK(ops["ADD"].work.value_bytes_written == 4 + 8);
    CHECK(ops["ADD"].limit_ms == doctest::Approx(3.0 * 12 / 1e3));
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

TEST_CASE("plan_work: pixels and values of u8, f16, f32 and i32 operands, APPEND's rows, QRELU in place") {
    // width 16: every matrix below fits one row. By hand from PROTOCOL.md's layout: a u8 element
    // is a pixel (4 bytes) holding a 1-byte value, two f16 elements share a pixel, an i32 or f32
    // element is a whole pixel; a header is a 4-byte pixel either way.
    auto a = assemble(R"(.width 16
.height 11
matrix a 2x3 @ row 1 zeros
matrix b 3x5 @ row 2 zeros
matrix bias 1x5 i32 @ row 3 zeros
matrix c 2x5 @ row 4 zeros
matrix h 2x3 f32 @ row 5 zeros
matrix hb 3x3 f32 @ row 6 zeros
matrix hc 2x3 f32 @ row 7 zeros
matrix cache 1x3 @ row 8 zeros
matrix g16 3x3 f16 @ row 9 zeros
matrix g32 3x3 f32 @ row 10 zeros
QMATMUL a, b, c, [0, 0, 0, 31], [0, 0, 0, 64], [3, 0, 0, 255]
FMATMUL h, hb, hc, [f32, f32, f32, 0], [0, 0, none, 0]
FCONVERT g16, g32, [f16, 0, f32, 0]
APPEND a, cache, [u8, u8, u8, 0], [4, 0, 0, 0]
QRELU c, [0, 0, 0, 0]
HALT
)");
    REQUIRE_MESSAGE(a.ok(), (a.ok() ? "" : a.error().message));
    const Image& img = a->image;
    auto work_at = [&](uint32_t pc) {
        auto planned = plan_instruction(image_fetch(img), img.width, img.height, pc);
        const Plan* p = std::get_if<Plan>(&planned);
        REQUIRE_MESSAGE(p, "pc " << pc << ": " << describe_trap(std::get<Trap>(planned)));
        return plan_work(*p);
    };
    // QMATMUL (pc 0, 3 parameter pixels): a 1 + 6, b 1 + 15, the i32 bias 1 + 5 pixels; c 1 + 10.
    const PlanWork q = work_at(0);
    CHECK(q.macs == 2 * 3 * 5);
    CHECK(q.bytes_read == 4 * (7 + 16 + 6));
    CHECK(q.value_bytes_read == (4 + 6) + (4 + 15) + (4 + 4 * 5));
    CHECK(q.bytes_written == 4 * 11);
    CHECK(q.value_bytes_written == 4 + 10);
    // FMATMUL (pc 4): f32 elements are whole pixels, as many bytes as values.
    const PlanWork f = work_at(4);
    CHECK(f.macs == 2 * 3 * 3);
    CHECK(f.float_macs);
    CHECK(f.bytes_read == 4 * (7 + 10));
    CHECK(f.value_bytes_read == f.bytes_read);
    CHECK(f.bytes_written == 4 * 7);
    CHECK(f.value_bytes_written == f.bytes_written);
    // FCONVERT (pc 7): 9 f16 elements in 5 pixels (18 value bytes) to 9 f32 pixels.
    const PlanWork cv = work_at(7);
    CHECK(cv.bytes_read == 4 * (1 + 5));
    CHECK(cv.value_bytes_read == 4 + 2 * 9);
    CHECK(cv.bytes_written == 4 * (1 + 9));
    CHECK(cv.value_bytes_written == 4 + 4 * 9);
    // APPEND (pc 9): reads a and c's header; writes c's header and the 6 appended elements.
    const PlanWork ap = work_at(9);
    CHECK(ap.bytes_read == 4 * 7 + 4);
    CHECK(ap.value_bytes_read == (4 + 6) + 4);
    CHECK(ap.bytes_written == 4 * (1 + 6));
    CHECK(ap.value_bytes_written == 4 + 6);
    // QRELU (pc 12): reads c, writes its 10 element pixels in place (not the header).
    const PlanWork r = work_at(12);
    CHECK(r.bytes_read == 4 * 11);
    CHECK(r.value_bytes_read == 4 + 10);
    CHECK(r.bytes_written == 4 * 10);
    CHECK(r.value_bytes_written == 10);
}
