// Tests of the CPU reference interpreter: each opcode, every trap, overlap, undo, run hooks.
#include "random_gen_program.h"
#include "test_util.h"
#include "vm.h"

#include <doctest/doctest.h>

using namespace px;
using namespace pxtest;

TEST_CASE("MATMUL multiplies, clamps at 255 and writes the header") {
    Image img = make_image(8, 8);
    put_matrix(img, 1, 1, 2, {1, 2});
    put_matrix(img, 2, 2, 2, {3, 4, 5, 200});
    put_ins(img, 0, Opcode::MATMUL, 1, 2, 3);
    put_ins(img, 1, Opcode::HALT);
    VmState vm = make_vm(img);
    StepResult r = step(vm);
    CHECK(r.status == VmStatus::Ready);
    CHECK(vm.pc == 1);
    CHECK(decode_header(vm.image.pixel(0, 3)) == MatrixHeader{2, 1});
    CHECK(vm.image.at(1, 3)[0] == 13);  // 1*3 + 2*5
    CHECK(vm.image.at(2, 3)[0] == 255); // 1*4 + 2*200 = 404 clamps
    step(vm);
    CHECK(vm.status == VmStatus::Halted);
    CHECK(vm.steps == 2);
}

TEST_CASE("a trapping instruction leaves the image untouched") {
    Image img = make_image(8, 4);
    put_matrix(img, 1, 1, 2, {1, 2});
    put_ins(img, 0, Opcode::MATMUL, 1, 1, 2); // 1x2 @ 1x2: inner dims differ
    VmState vm = make_vm(img);
    step(vm);
    CHECK(vm.status == VmStatus::Trapped);
    CHECK(vm.trap.code == TrapCode::SHAPE_MISMATCH);
    CHECK(vm.image.rgba == img.rgba);
}

TEST_CASE("an image of width 1 holds no matrix: MATRIX_OVERFLOW, not a division by zero") {
    Image img = make_image(1, 3);
    put_ins(img, 0, Opcode::RELU, 1);
    img.set_pixel(0, 1, encode_header({1, 1}));
    VmState vm = make_vm(img);
    step(vm);
    CHECK(vm.status == VmStatus::Trapped);
    CHECK(vm.trap.code == TrapCode::MATRIX_OVERFLOW);
    CHECK(vm.trap.x == 0);
    CHECK(vm.trap.y == 1);
    CHECK(vm.trap.message.find("width 1") != std::string::npos);
    CHECK(vm.image.rgba == img.rgba);
}

TEST_CASE("step_registers drives any executor's registers exactly like step()") {
    // A program that adds, then traps (SHAPE_MISMATCH): a second image stepped through the
    // driver with the reference as its carry-out must end with the same registers and pixels.
    Image img = make_image(8, 8);
    put_matrix(img, 1, 1, 2, {1, 2});
    put_matrix(img, 2, 1, 2, {3, 250});
    put_ins(img, 0, Opcode::ADD, 1, 2, 3);
    put_ins(img, 1, Opcode::MATMUL, 1, 2, 4); // 1x2 @ 1x2
    VmState vm = make_vm(img);
    VmRegisters regs;
    Image other = img;
    uint64_t carried = 0;
    for (int i = 0; i < 4; ++i) {
        const StepResult a = step(vm);
        const StepResult b =
            step_registers(regs, other.width, other.height, image_fetch(other), [&](const Plan& plan) {
                ++carried;
                execute_reference(other, plan);
            });
        CHECK(a.status == b.status);
        CHECK(a.executed_pc == b.executed_pc);
        CHECK(a.written == b.written);
        CHECK(vm.registers() == regs);
    }
    CHECK(carried == 1); // the trapping instruction is never handed to an executor
    CHECK(vm.status == VmStatus::Trapped);
    CHECK(regs.trap.code == TrapCode::SHAPE_MISMATCH);
    CHECK(other.rgba == vm.image.rgba);
    CHECK(other.at(2, 3)[0] == 252);
    // == compares every register, the trap's message included.
    VmRegisters changed = regs;
    changed.trap.message += ".";
    CHECK_FALSE(changed == regs);
    changed = regs;
    changed.step_limit = 1;
    CHECK_FALSE(changed == regs);
    CHECK(registers_text(regs).find("SHAPE_MISMATCH") != std::string::npos);
}

namespace {
// What an executor reads of a plan, field by field (Plan has no ==); traps compare whole.
void check_same_plan(const std::variant<Plan, Trap>& got, const std::variant<Plan, Trap>& want) {
    REQUIRE(got.index() == want.index());
    if (const Trap* t = std::get_if<Trap>(&want)) {
        CHECK(std::get<Trap>(got) == *t);
        return;
    }
    const Plan& a = std::get<Plan>(got);
    const Plan& b = std::get<Plan>(want);
    CHECK(a.ins.pc == b.ins.pc);
    CHECK(a.ins.length == b.ins.length);
    CHECK(a.ins.opcode == b.ins.opcode);
    CHECK(a.ins.operand == b.ins.operand);
    CHECK(a.ins.params == b.ins.params);
    CHECK(a.shape == b.shape);
    CHECK(a.out_shape == b.out_shape);
    CHECK(a.writes == b.writes);
    CHECK(a.dtype == b.dtype);
    CHECK(a.jump == b.jump);
}
} // namespace

TEST_CASE("a remembered plan is plan_instruction's answer while the pixels it read change") {
    Image img = make_image(8, 8);
    put_matrix(img, 1, 1, 2, {1, 2});
    put_matrix(img, 2, 1, 2, {3, 4});
    put_ins(img, 0, Opcode::ADD, 1, 2, 3);
    put_ins(img, 1, Opcode::HALT);
    PlanMemo memo;
    auto both = [&](uint32_t pc, uint32_t height) {
        auto got = plan_instruction(memo, image_fetch(img), img.width, height, pc);
        check_same_plan(got, plan_instruction(image_fetch(img), img.width, height, pc));
        return got;
    };
    both(0, 8);
    CHECK(memo.misses == 1);
    both(0, 8);
    CHECK(memo.hits == 1);
    put_matrix(img, 1, 1, 2, {9, 9}); // elements planning never reads: still the same plan
    both(0, 8);
    CHECK(memo.hits == 2);
    put_matrix(img, 2, 2, 1, {3, 4}); // b's header: 1x2 @ ... now 2x1, a shape mismatch
    CHECK(std::holds_alternative<Trap>(both(0, 8)));
    CHECK(std::holds_alternative<Trap>(both(0, 8))); // a trap is never remembered
    CHECK(memo.hits == 2);
    put_matrix(img, 2, 1, 2, {3, 4});
    both(0, 8);
    both(0, 8);
    CHECK(memo.hits == 3);
    put_ins(img, 0, Opcode::RELU, 1); // the instruction pixel itself
    CHECK(std::get<Plan>(both(0, 8)).ins.opcode == uint8_t(Opcode::RELU));
    const uint64_t misses = memo.misses;
    both(0, 2); // the same pixels in a shorter image: planned again (the row checks depend on it)
    CHECK(memo.misses == misses + 1);
    both(1, 8); // each pc has its own entry
    both(1, 8);
    both(0, 2);
    CHECK(memo.hits == 5);

    // A pixel only the shape rule reads: LOOP's counter decides the jump.
    Image loop = make_image(4, 2);
    loop.set_pixel(0, 0, {uint8_t(Opcode::LOOP), 1, 0, 0});
    loop.set_pixel(1, 0, {3, 0, 0, 0}); // i32
    loop.set_pixel(2, 0, {0, 0, 0, 0}); // target x 0
    loop.set_pixel(0, 1, encode_header({1, 1}));
    loop.set_pixel(1, 1, {2, 0, 0, 0});
    PlanMemo lm;
    const auto taken = plan_instruction(lm, image_fetch(loop), 4, 2, 0);
    CHECK(std::get<Plan>(taken).jump == std::optional<uint32_t>(0));
    loop.set_pixel(1, 1, {0, 0, 0, 0});
    const auto fell = plan_instruction(lm, image_fetch(loop), 4, 2, 0);
    check_same_plan(fell, plan_instruction(image_fetch(loop), 4, 2, 0));
    CHECK_FALSE(std::get<Plan>(fell).jump);
    CHECK(lm.hits == 0);
}

TEST_CASE("run() with its remembered plans does what step() after step() does") {
    // Generation loops (APPEND grows matrices that later instructions read, LOOP counters count
    // down, traps mid-loop): every step's report, the registers and the pixels must be the same as
    // stepping, which plans every instruction afresh.
    std::mt19937 rng{20261204u};
    uint64_t reused = 0, steps = 0;
    for (int i = 0; i < 200; ++i) {
        const GenProgram p = random_gen_program(rng);
        INFO("program #" << i << " (" << p.what << ")");
        VmState stepped = make_vm(p.image, p.step_limit);
        std::vector<StepResult> want;
        while (stepped.status == VmStatus::Ready)
            want.push_back(step(stepped));
        VmState ran = make_vm(p.image, p.step_limit);
        std::vector<StepResult> got;
        const RunResult r =
            run(ran, {.after_step = [&](const VmState&, const StepResult& s) { got.push_back(s); }});
        REQUIRE(got.size() == want.size());
        for (size_t s = 0; s < got.size(); ++s) {
            INFO("step " << s);
            CHECK(got[s].status == want[s].status);
            CHECK(got[s].executed_pc == want[s].executed_pc);
            CHECK(got[s].opcode == want[s].opcode);
            CHECK(got[s].written == want[s].written);
        }
        CHECK(ran.registers() == stepped.registers());
        CHECK(ran.image.rgba == stepped.image.rgba);
        reused += r.plans_reused, steps += r.steps_run;
    }
    MESSAGE(reused << " of " << steps << " plans reused");
    // In these loops most instructions read a pixel that changes every iteration (a GATHER its index,
    // PENALIZE the sequence, APPEND and the caches their headers, LOOP its counter): 15% reused.
    CHECK(reused > steps / 8);
}
